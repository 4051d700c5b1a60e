//! The Aboverwaltung: the linked and expired tabs, detail, unlink, and 404 for what is
//! not the account's.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{account, subscription};
use crate::helpers::{TestApp, assert_problem, pointers};

async fn link(app: &TestApp, token: &str, number: &str) {
    let response = app
        .request(
            Method::POST,
            "/api/v1/me/subscriptions/link",
            Some(token),
            Some(json!({"number": number, "birth_date": "2000-10-05", "last_name": "Musterjobber", "postal_code": "34117"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "link {number}");
}

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let response = app
        .get(&format!("/api/v1/me/subscriptions{query}"), Some(token))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn current_and_expired_subscriptions_show_in_their_tabs() {
    let app = TestApp::spawn().await;
    let tokens = account().insert(&app).await.login(&app).await;
    let current = subscription().insert(&app).await;
    let newer = subscription()
        .valid("2025-01-01", Some("2999-12-31"), "cancelled")
        .insert(&app)
        .await;
    let lapsed = subscription()
        .valid("2022-01-01", Some("2022-12-31"), "active")
        .insert(&app)
        .await;
    let ended = subscription()
        .valid("2021-01-01", None, "ended")
        .insert(&app)
        .await;
    for inserted in [&current, &newer, &lapsed, &ended] {
        link(&app, &tokens.access, &inserted.contract_number).await;
    }

    let linked = list(&app, &tokens.access, "").await;
    assert_eq!(linked["total"], 2);
    let ids: Vec<&str> = linked["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [newer.id.as_str(), current.id.as_str()],
        "newest valid_from first"
    );
    assert!(
        linked["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["expired"] == false)
    );
    assert_eq!(
        list(&app, &tokens.access, "?state=linked").await["total"],
        2
    );

    let expired = list(&app, &tokens.access, "?state=expired").await;
    assert_eq!(expired["total"], 2);
    assert_eq!(expired["items"][0]["id"], lapsed.id.as_str());
    assert_eq!(expired["items"][1]["id"], ended.id.as_str());
    assert!(
        expired["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["expired"] == true)
    );

    let paged = list(&app, &tokens.access, "?state=expired&per_page=1&page=2").await;
    assert_eq!(
        (
            paged["total"].as_i64(),
            paged["items"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    assert_eq!(paged["items"][0]["id"], ended.id.as_str());

    let wrong = app
        .get("/api/v1/me/subscriptions?state=alle", Some(&tokens.access))
        .await;
    let problem =
        assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&problem),
        [("/state".to_string(), "invalid_choice".to_string())]
    );
}

#[tokio::test]
async fn someone_elses_or_an_unknown_subscription_is_404_on_every_path() {
    let app = TestApp::spawn().await;
    let holder = account().insert(&app).await.login(&app).await;
    let other = account().insert(&app).await.login(&app).await;
    let inserted = subscription().insert(&app).await;
    link(&app, &holder.access, &inserted.contract_number).await;
    for id in [inserted.id.as_str(), "0190f3a4-0000-7000-8000-000000000000"] {
        let base = format!("/api/v1/me/subscriptions/{id}");
        for (method, path, body) in [
            (Method::GET, base.clone(), None),
            (Method::DELETE, base.clone(), None),
            (Method::GET, format!("{base}/customer"), None),
            (
                Method::PATCH,
                format!("{base}/customer"),
                Some(json!({"marketing_consent": true})),
            ),
            (Method::GET, format!("{base}/customer/consents"), None),
            (Method::GET, format!("{base}/overview.pdf"), None),
        ] {
            let response = app
                .request(method.clone(), &path, Some(&other.access), body)
                .await;
            assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
        }
    }
    // The holder still has it, unchanged.
    let detail = app
        .get(
            &format!("/api/v1/me/subscriptions/{}", inserted.id),
            Some(&holder.access),
        )
        .await;
    assert_eq!(detail.status(), StatusCode::OK);
    let customer: Value = app
        .get(
            &format!("/api/v1/me/subscriptions/{}/customer", inserted.id),
            Some(&holder.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(customer["marketing_consent"], false);
}

#[tokio::test]
async fn unlinking_removes_the_subscription_from_the_account_only() {
    let app = TestApp::spawn().await;
    let tokens = account().insert(&app).await.login(&app).await;
    let inserted = subscription().insert(&app).await;
    link(&app, &tokens.access, &inserted.contract_number).await;
    let path = format!("/api/v1/me/subscriptions/{}", inserted.id);
    assert_eq!(
        app.request(Method::DELETE, &path, Some(&tokens.access), None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(list(&app, &tokens.access, "").await["total"], 0);
    assert_problem(
        app.get(&path, Some(&tokens.access)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // It can be linked again.
    link(&app, &tokens.access, &inserted.contract_number).await;
}

#[tokio::test]
async fn deleting_the_account_frees_its_subscriptions() {
    let app = TestApp::spawn().await;
    let inserted = subscription().insert(&app).await;
    let holder = account().insert(&app).await.login(&app).await;
    link(&app, &holder.access, &inserted.contract_number).await;
    let deleted = app
        .request(
            Method::DELETE,
            "/api/v1/me",
            Some(&holder.access),
            Some(json!({"password": crate::helpers::PASSWORD})),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    // The subscription stays with the operator and can be linked by its next account.
    let next = account().insert(&app).await.login(&app).await;
    link(&app, &next.access, &inserted.contract_number).await;
}
