//! Totals of free-text searches: exact up to `SEARCH_COUNT_LIMIT`, a lower bound beyond
//! (`total_relation: gte`), and every match still served page by page, in order, without
//! overlap or gap. Lists without `q` count exactly (`eq`). Each list with `q` is tried.

use crate::helpers::today_berlin;
use chrono::{Datelike, Days, Months};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{account, company, company_user, contract, operator, subscription};
use crate::helpers::TestApp;

/// The search limit of these tests: seven matches are "more than three".
const LIMIT: i64 = 3;
const MATCHES: usize = 7;

async fn app() -> TestApp {
    TestApp::builder()
        .set("SEARCH_COUNT_LIMIT", &LIMIT.to_string())
        .spawn()
        .await
}

async fn page(app: &TestApp, path: &str, token: &str) -> Value {
    let answer = app.get(path, Some(token)).await;
    assert_eq!(answer.status(), StatusCode::OK, "{path}");
    answer.json().await.unwrap()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect()
}

/// Pages through `list` (filtered by a `q` with [`MATCHES`] matches) two at a time, as a
/// frontend's "weiter" does: every page says "more than LIMIT", and together the pages
/// are the whole list in its order.
async fn assert_paged_past_the_limit(app: &TestApp, list: &str, token: &str) {
    let separator = if list.contains('?') { '&' } else { '?' };
    let whole = page(app, &format!("{list}{separator}per_page=100"), token).await;
    assert_eq!(whole["total"], LIMIT, "{list}: {whole}");
    assert_eq!(whole["total_relation"], "gte", "{list}");
    let all = ids(&whole);
    assert_eq!(all.len(), MATCHES, "{list}: every match on one page");
    let mut paged = Vec::new();
    for number in 1.. {
        let body = page(
            app,
            &format!("{list}{separator}per_page=2&page={number}"),
            token,
        )
        .await;
        assert_eq!(
            (&body["total"], &body["total_relation"]),
            (&json!(LIMIT), &json!("gte")),
            "{list} page {number}"
        );
        let items = ids(&body);
        if items.is_empty() {
            break;
        }
        paged.extend(items);
        assert!(number < 10, "{list}: the pages end");
    }
    assert_eq!(
        paged, all,
        "{list}: pages past the limit, in order, no overlap or gap"
    );
}

/// A list without `q`, or with few matches, counts exactly.
async fn assert_exact(app: &TestApp, list: &str, token: &str, total: usize) {
    let body = page(app, list, token).await;
    assert_eq!(body["total"], total, "{list}");
    assert_eq!(body["total_relation"], "eq", "{list}");
}

#[tokio::test]
async fn the_contract_list_counts_a_common_search_up_to_the_limit_and_serves_every_match() {
    let app = app().await;
    let muellers = company().named("Müller Logistik GmbH").insert(&app).await;
    for _ in 0..MATCHES {
        contract(&muellers).insert(&app).await;
    }
    let others = company().named("Schmidt AG").insert(&app).await;
    contract(&others).insert(&app).await;
    let admin = company_user(&app, &muellers, "admin").await;
    let (_, operator) = operator(&app).await;
    // Operators search all contracts (SQLite: through the trigram index's count), a
    // company user their company's.
    for token in [&operator.access, &admin.tokens.access] {
        assert_paged_past_the_limit(&app, "/api/v1/contracts?q=mueller", token).await;
        assert_paged_past_the_limit(
            &app,
            "/api/v1/contracts?q=MÜLLER&sort=contract_number&order=desc",
            token,
        )
        .await;
    }
    assert_exact(&app, "/api/v1/contracts", &operator.access, MATCHES + 1).await;
    assert_exact(&app, "/api/v1/contracts?q=schmidt", &operator.access, 1).await;
    assert_exact(&app, "/api/v1/contracts?q=nirgends", &operator.access, 0).await;
}

#[tokio::test]
async fn the_application_list_and_the_ticket_list_count_a_search_up_to_the_limit() {
    let app = app().await;
    let company = company().insert(&app).await;
    let contract_id = contract(&company).insert(&app).await;
    let admin = company_user(&app, &company, "admin").await;
    let generated = app
        .request(
            Method::POST,
            &format!("/api/v1/contracts/{contract_id}/customer-codes"),
            Some(admin.access()),
            Some(json!({ "valid_until": (today_berlin() + Days::new(90)).to_string() })),
        )
        .await;
    let code = generated.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let start = (today_berlin().with_day(1).unwrap() + Months::new(2)).format("%Y-%m");
    for index in 0..MATCHES {
        let tokens = account().insert(&app).await.login(&app).await;
        let ordered = app
            .request(
                Method::POST,
                "/api/v1/me/applications",
                Some(&tokens.access),
                Some(json!({
                    "customer_code": code,
                    "start_month": start.to_string(),
                    "holder": {
                        "salutation": "mr", "gender": "male", "first_name": format!("Jörg {}", ["A", "B", "C", "D", "E", "F", "G"][index]),
                        "last_name": "Müller", "birth_date": "05.10.1990",
                        "address": {"street": "Königsplatz 1", "postal_code": "34117", "city": "Kassel", "country": "DE"},
                        "phone": null
                    },
                    "personnel_number": null,
                    "marketing_consent": false
                })),
            )
            .await;
        assert_eq!(ordered.status(), StatusCode::CREATED);
    }
    let applications = format!("/api/v1/contracts/{contract_id}/applications");
    assert_paged_past_the_limit(&app, &format!("{applications}?q=mueller"), admin.access()).await;
    assert_paged_past_the_limit(
        &app,
        &format!("{applications}?q=mueller&sort=last_name&status=pending"),
        admin.access(),
    )
    .await;
    assert_exact(&app, &applications, admin.access(), MATCHES).await;

    // The same people as tickets, from a staff list.
    let month = (today_berlin().with_day(1).unwrap() + Months::new(2)).format("%m.%Y");
    let mut csv =
        "Personalnummer;Anrede;Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;E-Mail;Startmonat\n"
            .to_string();
    for index in 0..MATCHES {
        csv.push_str(&format!(
            "M-{index};Herr;Jörg;Müller;05.10.1990;Königsplatz 1;34117;Kassel;j{index}@example.de;{month}\n"
        ));
    }
    let part = reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("liste.csv");
    let uploaded = app
        .client
        .post(app.url(&format!("/api/v1/contracts/{contract_id}/bulk-uploads")))
        .bearer_auth(admin.access())
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    let tickets = format!("/api/v1/contracts/{contract_id}/subscriptions");
    assert_paged_past_the_limit(&app, &format!("{tickets}?q=mueller"), admin.access()).await;
    assert_exact(&app, &tickets, admin.access(), MATCHES).await;
}

#[tokio::test]
async fn the_operators_company_and_customer_lists_count_a_search_up_to_the_limit() {
    let app = app().await;
    let (_, operator) = operator(&app).await;
    for index in 0..MATCHES {
        let created = app
            .request(
                Method::POST,
                "/api/v1/admin/companies",
                Some(&operator.access),
                Some(json!({
                    "customer_number": format!("K-M{index}"),
                    "name": format!("Müller {index} GmbH"),
                    "address": {"street": "Königsplatz 1", "postal_code": "34117", "city": "Kassel", "country": "DE"}
                })),
            )
            .await;
        assert_eq!(
            created.status(),
            StatusCode::CREATED,
            "{:?}",
            created.text().await
        );
        subscription().holder("Müller", "34117").insert(&app).await;
    }
    assert_paged_past_the_limit(&app, "/api/v1/admin/companies?q=mueller", &operator.access).await;
    assert_paged_past_the_limit(&app, "/api/v1/admin/customers?q=mueller", &operator.access).await;
    assert_exact(&app, "/api/v1/admin/customers", &operator.access, MATCHES).await;
    assert_exact(&app, "/api/v1/admin/companies?q=k-m3", &operator.access, 1).await;
}
