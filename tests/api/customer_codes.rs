//! Customer codes: generation and its validity rules, revocation on regeneration and
//! under a race, the list, and checking a code with its attempt limits.

use crate::helpers::today_berlin;
use chrono::{Datelike, Days, Months};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{CompanyUser, company, company_user, contract, operator};
use crate::helpers::{
    TestApp, assert_problem, count_audited, count_where, pointers, release_together, retry_after,
};

async fn generate(app: &TestApp, token: &str, contract_id: &str, valid_until: &str) -> Response {
    app.request(
        Method::POST,
        &format!("/api/v1/contracts/{contract_id}/customer-codes"),
        Some(token),
        Some(json!({ "valid_until": valid_until })),
    )
    .await
}

async fn check(app: &TestApp, token: &str, code: &str) -> Response {
    app.request(
        Method::POST,
        "/api/v1/customer-codes/check",
        Some(token),
        Some(json!({ "code": code })),
    )
    .await
}

/// A company with an active, open-ended contract and its admin.
async fn contract_with_admin(app: &TestApp) -> (String, CompanyUser) {
    let company = company().insert(app).await;
    let contract_id = contract(&company).insert(app).await;
    let admin = company_user(app, &company, "admin").await;
    (contract_id, admin)
}

#[tokio::test]
async fn a_new_code_replaces_the_previous_one_and_is_checked_however_it_is_typed() {
    let app = TestApp::spawn().await;
    let (contract_id, admin) = contract_with_admin(&app).await;
    let until = today_berlin() + Days::new(40);
    let first = generate(
        &app,
        admin.access(),
        &contract_id,
        &until.format("%d.%m.%Y").to_string(),
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let code = first["code"].as_str().unwrap().to_string();
    let pattern = regex_like(&code);
    assert!(pattern, "grouped Crockford code: {code}");
    assert_eq!(first["valid_until"], until.to_string());
    assert_eq!(first["status"], "valid");
    assert_eq!(first["created_by"]["id"], admin.account.id);

    // Checked by any signed-in account, typed in lower case with spaces for dashes.
    let employee = crate::fixtures::account()
        .insert(&app)
        .await
        .login(&app)
        .await;
    let typed = code.to_lowercase().replace('-', " ");
    let checked = check(&app, &employee.access, &typed).await;
    assert_eq!(checked.status(), StatusCode::OK);
    let checked: Value = checked.json().await.unwrap();
    assert_eq!(checked["company_name"], "Musterfirma GmbH");
    assert_eq!(checked["product_offering"], "D-Ticket Job (Rechnung)");
    assert_eq!(checked["contract_id"], contract_id);
    assert_eq!(checked["valid_until"], until.to_string());
    // The order form's first month: next month up to the 10th (Europe/Berlin), else the
    // month after.
    let today = today_berlin();
    let first_of_this = today - Days::new(u64::from(today.day0()));
    let earliest = first_of_this + Months::new(if today.day() <= 10 { 1 } else { 2 });
    assert_eq!(
        checked["earliest_start_month"],
        earliest.format("%Y-%m").to_string()
    );

    let second: Value = generate(&app, admin.access(), &contract_id, &until.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(second["code"], first["code"]);
    assert_problem(
        check(&app, &employee.access, &code).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_code_invalid",
    )
    .await;
    let list: Value = app
        .get(
            &format!("/api/v1/contracts/{contract_id}/customer-codes"),
            Some(admin.access()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["id"], second["id"], "newest first");
    assert_eq!(list["items"][0]["status"], "valid");
    assert_eq!(list["items"][1]["status"], "revoked");

    // Revoking the current code ends it at once.
    let revoke = app
        .request(
            Method::DELETE,
            &format!(
                "/api/v1/contracts/{contract_id}/customer-codes/{}",
                second["id"].as_str().unwrap()
            ),
            Some(admin.access()),
            None,
        )
        .await;
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    let history: Value = app
        .get(
            &format!("/api/v1/contracts/{contract_id}/customer-codes"),
            Some(admin.access()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["items"][0]["status"], "revoked");
    assert!(history["items"][0]["revoked_at"].is_string());
    assert_problem(
        check(&app, &employee.access, second["code"].as_str().unwrap()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_code_invalid",
    )
    .await;
    assert_eq!(count_audited(&app, "customer_code.generated").await, 2);
    assert_eq!(count_audited(&app, "customer_code.revoked").await, 1);
}

/// `XXXX-XXXX-XXXX` of Crockford's base32.
fn regex_like(code: &str) -> bool {
    let groups: Vec<&str> = code.split('-').collect();
    groups.len() == 3
        && groups.iter().all(|g| {
            g.len() == 4
                && g.bytes()
                    .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
        })
}

#[tokio::test]
async fn the_validity_may_run_from_today_to_the_contract_end_and_at_most_two_years() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let today = today_berlin();
    let contract_end = today + Days::new(100);
    let ending = contract(&company)
        .valid_dates(today - Days::new(365), Some(contract_end), "active")
        .insert(&app)
        .await;
    let open_ended = contract(&company).insert(&app).await;
    let admin = company_user(&app, &company, "admin").await;
    let two_years = today.checked_add_months(Months::new(24)).unwrap();
    for (contract_id, valid_until, expected) in [
        (&ending, today.to_string(), None),
        (&ending, contract_end.to_string(), None),
        (&open_ended, two_years.to_string(), None),
        (
            &ending,
            (today - Days::new(1)).to_string(),
            Some("date_in_past"),
        ),
        (
            &ending,
            (contract_end + Days::new(1)).to_string(),
            Some("after_contract_end"),
        ),
        (
            &open_ended,
            (two_years + Days::new(1)).to_string(),
            Some("too_far_ahead"),
        ),
        (&open_ended, "31.02.2027".to_string(), Some("invalid_date")),
        (&open_ended, "bald".to_string(), Some("invalid_date")),
        (&open_ended, "".to_string(), Some("required")),
    ] {
        let response = generate(&app, admin.access(), contract_id, &valid_until).await;
        match expected {
            None => assert_eq!(response.status(), StatusCode::CREATED, "{valid_until}"),
            Some(code) => {
                let problem = assert_problem(
                    response,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                )
                .await;
                assert_eq!(
                    pointers(&problem),
                    [("/valid_until".to_string(), code.to_string())],
                    "{valid_until}"
                );
            }
        }
    }
}

#[tokio::test]
async fn only_an_admin_of_an_active_contract_generates_codes() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let today = today_berlin();
    let ended = contract(&company)
        .valid_dates(today - Days::new(400), Some(today - Days::new(1)), "active")
        .insert(&app)
        .await;
    let cancelled = contract(&company)
        .valid("2023-01-01", None, "cancelled")
        .insert(&app)
        .await;
    let active = contract(&company).insert(&app).await;
    let admin = company_user(&app, &company, "admin").await;
    let member = company_user(&app, &company, "member").await;
    let until = today.to_string();
    assert_problem(
        generate(&app, admin.access(), &ended, &until).await,
        StatusCode::CONFLICT,
        "contract_not_active",
    )
    .await;
    assert_problem(
        generate(&app, admin.access(), &cancelled, &until).await,
        StatusCode::CONFLICT,
        "contract_not_active",
    )
    .await;
    assert_problem(
        generate(&app, member.access(), &active, &until).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(crate::helpers::count_rows(&app, "customer_codes").await, 0);
    // Members read the codes; an operator generates for any company.
    let (_, operator) = operator(&app).await;
    assert_eq!(
        generate(&app, &operator.access, &active, &until)
            .await
            .status(),
        StatusCode::CREATED
    );
    let list = app
        .get(
            &format!("/api/v1/contracts/{active}/customer-codes"),
            Some(member.access()),
        )
        .await;
    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(list.json::<Value>().await.unwrap()["total"], 1);
}

#[tokio::test]
async fn admins_generating_at_once_leave_exactly_one_valid_code() {
    let app = TestApp::spawn().await;
    let (contract_id, admin) = contract_with_admin(&app).await;
    let until = today_berlin().to_string();
    let path = format!("/api/v1/contracts/{contract_id}/customer-codes");
    let answers = release_together(&app, 8, |_| {
        app.post_later(&path, Some(admin.access()), json!({ "valid_until": until }))
    })
    .await;
    for answer in &answers {
        assert_eq!(answer.status(), StatusCode::CREATED);
    }
    assert_eq!(
        count_where(&app, "customer_codes", "revoked_at IS NULL").await,
        1
    );
    assert_eq!(crate::helpers::count_rows(&app, "customer_codes").await, 8);
}

#[tokio::test]
async fn an_expired_code_is_listed_as_expired_and_no_longer_checks() {
    let app = TestApp::spawn().await;
    let (contract_id, admin) = contract_with_admin(&app).await;
    let code: Value = generate(
        &app,
        admin.access(),
        &contract_id,
        &today_berlin().to_string(),
    )
    .await
    .json()
    .await
    .unwrap();
    // Valid through the whole of its last day; the next day it has expired.
    assert_eq!(
        check(&app, admin.access(), code["code"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    // The next day, by the app's clock: the check, the list and the contract infos all
    // read the date from it.
    let tomorrow = today_berlin() + Days::new(1);
    app.state.clock.set(tomorrow.and_hms_opt(11, 0, 0).unwrap());
    assert_problem(
        check(&app, admin.access(), code["code"].as_str().unwrap()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_code_invalid",
    )
    .await;
    let list: Value = app
        .get(
            &format!("/api/v1/contracts/{contract_id}/customer-codes"),
            Some(admin.access()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["status"], "expired");
    let info: Value = app
        .get(
            &format!("/api/v1/contracts/{contract_id}"),
            Some(admin.access()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["current_customer_code"], Value::Null);
}

#[tokio::test]
async fn failed_checks_are_limited_per_account_even_in_a_burst() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_CODE_CHECK_PER_ACCOUNT", "3")
        .spawn()
        .await;
    let (contract_id, admin) = contract_with_admin(&app).await;
    let valid: Value = generate(
        &app,
        admin.access(),
        &contract_id,
        &today_berlin().to_string(),
    )
    .await
    .json()
    .await
    .unwrap();
    let employee = crate::fixtures::account()
        .insert(&app)
        .await
        .login(&app)
        .await;
    // A valid code costs nothing.
    assert_eq!(
        check(&app, &employee.access, valid["code"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    let answers = release_together(&app, 10, |i| {
        app.post_later(
            "/api/v1/customer-codes/check",
            Some(&employee.access),
            json!({ "code": format!("AAAA-BBBB-{i:04}") }),
        )
    })
    .await;
    let invalid = answers
        .iter()
        .filter(|r| r.status() == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let limited: Vec<&Response> = answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!((invalid, limited.len()), (3, 7));
    assert!(retry_after(limited[0]) > 0);
    let refused = check(&app, &employee.access, valid["code"].as_str().unwrap()).await;
    assert_problem(
        refused,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_code_attempts",
    )
    .await;
    // Another account is not affected.
    assert_eq!(
        check(&app, admin.access(), valid["code"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(count_audited(&app, "customer_code.check_failed").await, 3);
    // A code no record could hold (a NUL) is just another invalid one.
    assert_problem(
        check(&app, admin.access(), "K7QM\u{0}3XHD").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_code_invalid",
    )
    .await;
    let missing = app
        .request(
            Method::POST,
            "/api/v1/customer-codes/check",
            Some(admin.access()),
            Some(json!({})),
        )
        .await;
    let problem = assert_problem(
        missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [("/code".to_string(), "required".to_string())]
    );
}
