//! The holder's customer data ("Kundenverwaltung", guide step 11): read-only fields,
//! ETag and If-Match, phones, consent history.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{InsertedSubscription, account, subscription};
use crate::helpers::{TestApp, Tokens, assert_problem, count_audited, pointers};

async fn linked(app: &TestApp) -> (Tokens, InsertedSubscription) {
    let tokens = account().insert(app).await.login(app).await;
    let inserted = subscription().insert(app).await;
    let response = app
        .request(
            Method::POST,
            "/api/v1/me/subscriptions/link",
            Some(&tokens.access),
            Some(json!({"number": inserted.contract_number, "birth_date": "05.10.2000", "last_name": "Musterjobber", "postal_code": "34117"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    (tokens, inserted)
}

async fn patch(
    app: &TestApp,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = app
        .client
        .patch(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/merge-patch+json")
        .body(body.to_string());
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_holder_reads_and_changes_their_customer_data() {
    let app = TestApp::spawn().await;
    let (tokens, inserted) = linked(&app).await;
    let path = format!("/api/v1/me/subscriptions/{}/customer", inserted.id);
    let response = app.get(&path, Some(&tokens.access)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tag = response.headers()["etag"].to_str().unwrap().to_string();
    let customer: Value = response.json().await.unwrap();
    assert_eq!(customer["salutation"], "mr");
    assert_eq!(customer["gender"], "male");
    assert_eq!(customer["first_name"], "Max");
    assert_eq!(customer["last_name"], "Musterjobber");
    assert_eq!(customer["birth_date"], "2000-10-05");
    assert_eq!(customer["recorded_at"], "2024-10-22");
    assert_eq!(customer["address"]["street"], "Artilleriestr. 39");
    assert_eq!(customer["address"]["country"], "DE");
    assert_eq!(customer["phone"], Value::Null);

    let response = patch(
        &app,
        &path,
        &tokens.access,
        Some(&tag),
        json!({
            "salutation": "none",
            "gender": "diverse",
            "marketing_consent": true,
            "phone": "0561 123 45-67",
            "phone_work": "+49 561 7001234",
            "recipient": "c/o Musterfirma GmbH",
            "address": {"street": "Friedrichsplatz 8"},
            "first_name": "Max"
        }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let new_tag = response.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(new_tag, tag);
    let changed: Value = response.json().await.unwrap();
    assert_eq!(changed["salutation"], "none");
    assert_eq!(changed["gender"], "diverse");
    assert_eq!(changed["marketing_consent"], true);
    assert_eq!(changed["phone"], "+495611234567");
    assert_eq!(changed["phone_work"], "+495617001234");
    assert_eq!(changed["recipient"], "c/o Musterfirma GmbH");
    assert_eq!(changed["address"]["street"], "Friedrichsplatz 8");
    assert_eq!(changed["address"]["postal_code"], "34117");

    // `null` clears an optional field; the answer is what a fresh read shows.
    let cleared = patch(
        &app,
        &path,
        &tokens.access,
        Some(&new_tag),
        json!({"phone": null}),
    )
    .await;
    assert_eq!(cleared.status(), StatusCode::OK);
    let reread: Value = app
        .get(&path, Some(&tokens.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reread["phone"], Value::Null);
    assert_eq!(reread["phone_work"], "+495617001234");

    // The audit names the changed fields, never their values.
    let details = app
        .with_db(|conn| {
            use diesel::prelude::*;
            use firmenportal::schema::audit_log;
            audit_log::table
                .filter(audit_log::action.eq("customer.changed_by_holder"))
                .order(audit_log::occurred_at.asc())
                .select(audit_log::details)
                .load::<Option<String>>(conn)
                .unwrap()
        })
        .await;
    let first: Value = serde_json::from_str(details[0].as_deref().unwrap()).unwrap();
    assert_eq!(
        first["fields"],
        json!([
            "salutation",
            "gender",
            "marketing_consent",
            "address",
            "recipient",
            "phone",
            "phone_work"
        ])
    );
    assert!(
        !details
            .iter()
            .flatten()
            .any(|d| d.contains("4956") || d.contains("Friedrich"))
    );
    assert_eq!(count_audited(&app, "customer.consent_changed").await, 1);
}

#[tokio::test]
async fn every_consent_change_is_kept_as_history() {
    let app = TestApp::spawn().await;
    let (tokens, inserted) = linked(&app).await;
    let path = format!("/api/v1/me/subscriptions/{}/customer", inserted.id);
    for consent in [true, true, false] {
        let response = patch(
            &app,
            &path,
            &tokens.access,
            None,
            json!({"marketing_consent": consent}),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let history: Value = app
        .get(&format!("{path}/consents"), Some(&tokens.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["total"], 3, "{history}");
    let values: Vec<(bool, &str)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["marketing_consent"].as_bool().unwrap(),
                i["source"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        values,
        [
            (false, "self_service"),
            (true, "self_service"),
            (false, "operator")
        ]
    );
}

#[tokio::test]
async fn read_only_fields_with_another_value_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let (tokens, inserted) = linked(&app).await;
    let path = format!("/api/v1/me/subscriptions/{}/customer", inserted.id);
    let response = patch(
        &app,
        &path,
        &tokens.access,
        None,
        json!({
            "first_name": "Moritz",
            "last_name": "Musterjobber",
            "birth_date": "06.10.2000",
            "customer_number": "X-1",
            "recorded_at": null,
            "marketing_consent": true
        }),
    )
    .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [
            (
                "/customer_number".to_string(),
                "field_read_only".to_string()
            ),
            ("/first_name".to_string(), "field_read_only".to_string()),
            ("/birth_date".to_string(), "field_read_only".to_string()),
            ("/recorded_at".to_string(), "field_read_only".to_string()),
        ]
    );
    let invalid = patch(
        &app,
        &path,
        &tokens.access,
        None,
        json!({"phone": "12345", "salutation": "dr", "address": {"street": null, "postal_code": "3411"}, "gender": null}),
    )
    .await;
    let problem = assert_problem(
        invalid,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [
            ("/salutation".to_string(), "invalid_choice".to_string()),
            ("/gender".to_string(), "required".to_string()),
            ("/address/street".to_string(), "required".to_string()),
            (
                "/address/postal_code".to_string(),
                "invalid_postal_code".to_string()
            ),
            ("/phone".to_string(), "invalid_phone".to_string()),
        ]
    );
    let customer: Value = app
        .get(&path, Some(&tokens.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(customer["marketing_consent"], false);
    assert_eq!(customer["salutation"], "mr");
}

#[tokio::test]
async fn a_stale_if_match_answers_412_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (tokens, inserted) = linked(&app).await;
    let path = format!("/api/v1/me/subscriptions/{}/customer", inserted.id);
    let tag = app.get(&path, Some(&tokens.access)).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let first = patch(
        &app,
        &path,
        &tokens.access,
        Some(&tag),
        json!({"gender": "unspecified"}),
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    let stale = patch(
        &app,
        &path,
        &tokens.access,
        Some(&tag),
        json!({"gender": "female"}),
    )
    .await;
    assert_problem(
        stale,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    )
    .await;
    // An invalid change answers its field errors, whatever the tag.
    let invalid = patch(
        &app,
        &path,
        &tokens.access,
        Some(&tag),
        json!({"gender": "anders"}),
    )
    .await;
    assert_problem(
        invalid,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let customer: Value = app
        .get(&path, Some(&tokens.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(customer["gender"], "unspecified");
}
