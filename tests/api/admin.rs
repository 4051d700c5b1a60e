//! The operator's data API: rights, creation and correction, natural keys and
//! references.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::account;
use crate::helpers::{TestApp, assert_problem, pointers};

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    app.request(method, path, Some(token), body).await
}

async fn created(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    let response = send(app, Method::POST, path, token, Some(body)).await;
    assert_eq!(response.status(), StatusCode::CREATED, "{path}");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let record: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("{path}/{}", record["id"].as_str().unwrap())
    );
    record
}

fn company(customer_number: &str) -> Value {
    json!({
        "customer_number": customer_number,
        "name": "Musterfirma GmbH",
        "address": {"street": "Königsplatz 1", "postal_code": "34117", "city": "Kassel", "country": "de"},
        "contact": {"name": "Erika Personal", "phone": "0561 7001234"}
    })
}

#[tokio::test]
async fn operator_endpoints_refuse_accounts_without_operator_rights() {
    let app = TestApp::spawn().await;
    let tokens = account().insert(&app).await.login(&app).await;
    for kind in ["companies", "contracts", "customers", "subscriptions"] {
        let list = format!("/api/v1/admin/{kind}");
        let one = format!("{list}/0190f3a4-0000-7000-8000-000000000000");
        for (method, path, body) in [
            (Method::GET, list.clone(), None),
            (Method::POST, list.clone(), Some(json!({}))),
            (Method::GET, one.clone(), None),
            (Method::PATCH, one.clone(), Some(json!({}))),
        ] {
            let response = send(&app, method, &path, &tokens.access, body).await;
            assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
        }
    }
}

#[tokio::test]
async fn an_operator_loads_the_data_a_subscriber_then_links() {
    let app = TestApp::spawn().await;
    let operator = account().operator().insert(&app).await.login(&app).await;
    let token = operator.access.as_str();
    let company = created(
        &app,
        "/api/v1/admin/companies",
        token,
        company(" k 100 234 "),
    )
    .await;
    assert_eq!(company["customer_number"], "K100234");
    assert_eq!(company["address"]["country"], "DE");
    assert_eq!(company["contact"]["phone"], "+495617001234");
    assert_eq!(company["contact"]["email"], Value::Null);
    let contract = created(
        &app,
        "/api/v1/admin/contracts",
        token,
        json!({"contract_number": "FV-1", "company_id": company["id"], "product_offering": "D-Ticket Job (Rechnung)", "status": "active", "valid_from": "01.01.2024"}),
    )
    .await;
    assert_eq!(contract["valid_from"], "2024-01-01");
    assert_eq!(contract["valid_to"], Value::Null);
    let customer = created(
        &app,
        "/api/v1/admin/customers",
        token,
        json!({
            "customer_number": "KD-4711", "salutation": "mr", "gender": "male",
            "first_name": "Max", "last_name": "Müller", "birth_date": "05.10.2000",
            "address": {"street": "Artilleriestr. 39", "postal_code": "34117", "city": "Kassel", "country": "DE"},
            "marketing_consent": true
        }),
    )
    .await;
    assert_eq!(
        customer["recorded_at"].as_str().unwrap().len(),
        10,
        "defaults to today"
    );
    let subscription = created(
        &app,
        "/api/v1/admin/subscriptions",
        token,
        json!({
            "contract_number": "431177", "product": "Deutschlandticket Job", "valid_from": "2023-05-01",
            "status": "active", "customer_id": customer["id"], "company_contract_id": contract["id"]
        }),
    )
    .await;
    assert_eq!(subscription["linked"], false);

    // Lists filter by natural key and search case- and umlaut-tolerantly.
    for (path, total) in [
        ("/api/v1/admin/companies?q=MUSTERFIRMA", 1),
        ("/api/v1/admin/companies?customer_number=k100234", 1),
        ("/api/v1/admin/companies?q=nirgendwo", 0),
        ("/api/v1/admin/customers?q=mueller", 1),
        ("/api/v1/admin/customers?q=MÜL", 1),
        ("/api/v1/admin/customers?customer_number=kd-4711", 1),
        ("/api/v1/admin/contracts?contract_number=fv-1", 1),
        (
            &format!(
                "/api/v1/admin/contracts?company_id={}",
                company["id"].as_str().unwrap()
            ),
            1,
        ),
        (
            &format!(
                "/api/v1/admin/subscriptions?customer_id={}",
                customer["id"].as_str().unwrap()
            ),
            1,
        ),
        ("/api/v1/admin/subscriptions?contract_number=431177", 1),
    ] {
        let page: Value = send(&app, Method::GET, path, token, None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["total"], total, "{path}");
    }

    // A correction by merge patch keeps what it does not name.
    let path = format!(
        "/api/v1/admin/companies/{}",
        company["id"].as_str().unwrap()
    );
    let patched = send(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(json!({"name": "Musterfirma AG", "contact": {"phone": null}})),
    )
    .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let patched: Value = patched.json().await.unwrap();
    assert_eq!(patched["name"], "Musterfirma AG");
    assert_eq!(patched["contact"]["name"], "Erika Personal");
    assert_eq!(patched["contact"]["phone"], Value::Null);
    let fetched: Value = send(&app, Method::GET, &path, token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, patched);
    let moved = send(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(json!({"address": {"street": "Königstor 3"}})),
    )
    .await;
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(
        moved["address"],
        json!({"street": "Königstor 3", "postal_code": "34117", "city": "Kassel", "country": "DE"})
    );

    // The subscriber links what the operator loaded, with folded spellings.
    let subscriber = account().insert(&app).await.login(&app).await;
    let linked = send(
        &app,
        Method::POST,
        "/api/v1/me/subscriptions/link",
        &subscriber.access,
        Some(json!({"number": "431 177", "birth_date": "2000-10-05", "last_name": "MUELLER", "postal_code": "34117"})),
    )
    .await;
    assert_eq!(linked.status(), StatusCode::CREATED);
    let linked: Value = linked.json().await.unwrap();
    assert_eq!(linked["company_contract"]["company_name"], "Musterfirma AG");
    assert_eq!(linked["company_contract"]["contract_number"], "FV-1");
}

#[tokio::test]
async fn duplicate_natural_keys_answer_409_naming_the_field() {
    let app = TestApp::spawn().await;
    let operator = account().operator().insert(&app).await.login(&app).await;
    let token = operator.access.as_str();
    let first = created(&app, "/api/v1/admin/companies", token, company("K-1001")).await;
    let duplicate = send(
        &app,
        Method::POST,
        "/api/v1/admin/companies",
        token,
        Some(company("k-1 001")),
    )
    .await;
    let problem = assert_problem(duplicate, StatusCode::CONFLICT, "duplicate_key").await;
    assert_eq!(
        pointers(&problem),
        [("/customer_number".to_string(), "duplicate".to_string())]
    );

    let second = created(&app, "/api/v1/admin/companies", token, company("K-1002")).await;
    let path = format!("/api/v1/admin/companies/{}", second["id"].as_str().unwrap());
    let renamed = send(
        &app,
        Method::PATCH,
        &path,
        token,
        Some(json!({"customer_number": "K-1001"})),
    )
    .await;
    assert_problem(renamed, StatusCode::CONFLICT, "duplicate_key").await;
    let unchanged: Value = send(&app, Method::GET, &path, token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unchanged["customer_number"], "K-1002");
    assert_ne!(first["id"], second["id"]);
}

#[tokio::test]
async fn unknown_references_reversed_validity_and_bad_addresses_are_field_errors() {
    let app = TestApp::spawn().await;
    let operator = account().operator().insert(&app).await.login(&app).await;
    let token = operator.access.as_str();
    let contract = send(
        &app,
        Method::POST,
        "/api/v1/admin/contracts",
        token,
        Some(json!({"contract_number": "FV-9", "company_id": "0190f3a4-0000-7000-8000-000000000000", "product_offering": "D-Ticket Job", "status": "active", "valid_from": "2024-01-01"})),
    )
    .await;
    let problem = assert_problem(
        contract,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [("/company_id".to_string(), "unknown_reference".to_string())]
    );

    let reversed = send(
        &app,
        Method::POST,
        "/api/v1/admin/contracts",
        token,
        Some(json!({"contract_number": "FV-9", "company_id": "x", "product_offering": "D-Ticket Job", "status": "paused", "valid_from": "2024-01-01", "valid_to": "31.12.2023"})),
    )
    .await;
    let problem = assert_problem(
        reversed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [
            ("/status".to_string(), "invalid_choice".to_string()),
            ("/valid_to".to_string(), "ends_before_start".to_string()),
        ]
    );

    let mut bad = company("K-7");
    bad["address"] =
        json!({"street": "Königsplatz 1", "postal_code": "3411", "city": "", "country": "XX"});
    bad["contact"] = json!({"email": "kein-at"});
    let response = send(
        &app,
        Method::POST,
        "/api/v1/admin/companies",
        token,
        Some(bad),
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
            ("/address/city".to_string(), "required".to_string()),
            (
                "/address/country".to_string(),
                "invalid_country".to_string()
            ),
            (
                "/address/postal_code".to_string(),
                "invalid_postal_code".to_string()
            ),
            ("/contact/email".to_string(), "invalid_email".to_string()),
        ]
    );
    let missing = send(
        &app,
        Method::POST,
        "/api/v1/admin/subscriptions",
        token,
        Some(json!({})),
    )
    .await;
    let problem = assert_problem(
        missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let missing: Vec<String> = pointers(&problem).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        missing,
        [
            "/contract_number",
            "/product",
            "/valid_from",
            "/status",
            "/customer_id"
        ]
    );
    let page: Value = send(&app, Method::GET, "/api/v1/admin/companies", token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0, "nothing was stored");
}
