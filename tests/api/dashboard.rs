//! The dashboard's counts, for a company user and for an operator.

use crate::helpers::today_berlin;
use chrono::{Datelike, Days};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{company, company_user, contract, operator};
use crate::helpers::{TestApp, assert_problem};

#[tokio::test]
async fn the_dashboard_counts_contracts_subscriptions_codes_and_users() {
    let app = TestApp::spawn().await;
    let today = today_berlin();
    let subscription = crate::fixtures::subscription().insert(&app).await;
    let own = crate::fixtures::InsertedCompany {
        id: subscription.company_id.clone(),
        customer_number: String::new(),
    };
    contract(&own)
        .valid("2023-01-01", None, "cancelled")
        .insert(&app)
        .await;
    contract(&own)
        .valid("2020-01-01", Some("2021-12-31"), "ended")
        .insert(&app)
        .await;
    let expiring_soon = contract(&own).insert(&app).await;
    let admin = company_user(&app, &own, "admin").await;
    company_user(&app, &own, "member").await;
    let invited = app
        .request(
            Method::POST,
            &format!("/api/v1/companies/{}/users", own.id),
            Some(admin.access()),
            Some(json!({"email": crate::helpers::unique_email(), "first_name": "Eva", "last_name": "Neu"})),
        )
        .await;
    assert_eq!(invited.status(), StatusCode::CREATED);
    for (contract_id, until) in [
        (&subscription.contract_id, today + Days::new(90)),
        (&expiring_soon, today + Days::new(30)),
    ] {
        let generated = app
            .request(
                Method::POST,
                &format!("/api/v1/contracts/{contract_id}/customer-codes"),
                Some(admin.access()),
                Some(json!({"valid_until": until.to_string()})),
            )
            .await;
        assert_eq!(generated.status(), StatusCode::CREATED);
    }
    // A ticket that starts next month is `active` in the ticket list, and `starting`
    // here, not running.
    let (_, loader) = operator(&app).await;
    let customer = app
        .request(
            Method::POST,
            "/api/v1/admin/customers",
            Some(&loader.access),
            Some(json!({
                "customer_number": "KD-START", "salutation": "ms", "gender": "female",
                "first_name": "Nora", "last_name": "Neubeginn", "birth_date": "1990-01-01",
                "address": {"street": "Am Anfang 1", "postal_code": "34117", "city": "Kassel", "country": "DE"},
                "marketing_consent": false
            })),
        )
        .await;
    assert_eq!(customer.status(), StatusCode::CREATED);
    let customer: Value = customer.json().await.unwrap();
    let next_month = today.with_day(1).unwrap() + chrono::Months::new(1);
    let starting = app
        .request(
            Method::POST,
            "/api/v1/admin/subscriptions",
            Some(&loader.access),
            Some(json!({
                "contract_number": "JT-START-1", "product": "Deutschlandticket Job",
                "valid_from": next_month.to_string(), "status": "active",
                "customer_id": customer["id"], "company_contract_id": subscription.contract_id
            })),
        )
        .await;
    assert_eq!(starting.status(), StatusCode::CREATED);
    // Another company's records count only for operators.
    let other = company().insert(&app).await;
    contract(&other).insert(&app).await;
    // Active by status, but not yet begun: it counts as ended.
    contract(&other)
        .valid_dates(today + Days::new(40), None, "active")
        .insert(&app)
        .await;
    company_user(&app, &other, "admin").await;

    let expected = json!({
        "contracts": {"active": 2, "cancelled": 1, "ended": 1},
        "active_subscriptions": 1,
        "subscriptions": {"active": 1, "starting": 1, "cancelled_this_month": 0},
        "applications": {"pending": 0},
        "customer_codes": {"valid": 2, "expiring_within_30_days": 1},
        "users": {"admins": 1, "members": 1, "invited": 1}
    });
    let mine: Value = app
        .get("/api/v1/dashboard", Some(admin.access()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine, expected);
    let one: Value = app
        .get(
            &format!("/api/v1/dashboard?company_id={}", own.id),
            Some(admin.access()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one, expected);
    assert_problem(
        app.get(
            &format!("/api/v1/dashboard?company_id={}", other.id),
            Some(admin.access()),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let (_, operator) = operator(&app).await;
    let all: Value = app
        .get("/api/v1/dashboard", Some(&operator.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        all["contracts"],
        json!({"active": 3, "cancelled": 1, "ended": 2})
    );
    assert_eq!(all["users"]["admins"], 2);
    let theirs: Value = app
        .get(
            &format!("/api/v1/dashboard?company_id={}", other.id),
            Some(&operator.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        theirs["contracts"],
        json!({"active": 1, "cancelled": 0, "ended": 1})
    );
}
