//! Anträge: an employee orders with the customer code, the employer approves or rejects,
//! the ticket shows in the employee's Aboverwaltung; the deadline rule, the code's
//! attempt limits, every conflict, the races and tenant isolation.

use crate::helpers::today_berlin;
use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{
    CompanyUser, InsertedAccount, InsertedCompany, company, company_user, contract, subscription,
};
use crate::helpers::{
    TestApp, Tokens, assert_problem, count_where, pointers, release_together, retry_after, sample,
};

/// A company with an active contract, its admin and the contract's current code.
pub(crate) struct Employer {
    pub(crate) contract_id: String,
    pub(crate) admin: CompanyUser,
    pub(crate) code: String,
}

pub(crate) async fn employer(app: &TestApp) -> Employer {
    employer_of(app, company().insert(app).await).await
}

async fn employer_of(app: &TestApp, company: InsertedCompany) -> Employer {
    let contract_id = contract(&company).insert(app).await;
    let admin = company_user(app, &company, "admin").await;
    let until = today_berlin() + Days::new(90);
    let generated = app
        .request(
            Method::POST,
            &format!("/api/v1/contracts/{contract_id}/customer-codes"),
            Some(admin.access()),
            Some(json!({ "valid_until": until.to_string() })),
        )
        .await;
    assert_eq!(generated.status(), StatusCode::CREATED);
    let code = generated.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string();
    Employer {
        contract_id,
        admin,
        code,
    }
}

pub(crate) async fn employee(app: &TestApp) -> (InsertedAccount, Tokens) {
    let account = crate::fixtures::account().insert(app).await;
    let tokens = account.login(app).await;
    (account, tokens)
}

/// The 1st of the month `months` after today's (Europe/Berlin), as `YYYY-MM`.
pub(crate) fn month_ahead(months: u32) -> String {
    let first = today_berlin().with_day(1).unwrap() + Months::new(months);
    first.format("%Y-%m").to_string()
}

pub(crate) fn order(code: &str, start_month: &str) -> Value {
    json!({
        "customer_code": code,
        "start_month": start_month,
        "holder": {
            "salutation": "mr",
            "gender": "male",
            "first_name": "Jörg",
            "last_name": "Müller",
            "birth_date": "05.10.1990",
            "address": {"street": "Königsplatz 1", "postal_code": "34117", "city": "Kassel", "country": "de"},
            "phone": "0561 1234567"
        },
        "personnel_number": "p 4711",
        "marketing_consent": true
    })
}

async fn submit(app: &TestApp, token: &str, body: Value) -> Response {
    app.request(
        Method::POST,
        "/api/v1/me/applications",
        Some(token),
        Some(body),
    )
    .await
}

async fn submitted(app: &TestApp, token: &str, body: Value) -> Value {
    let response = submit(app, token, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn decide(
    app: &TestApp,
    token: &str,
    contract_id: &str,
    application_id: &str,
    decision: &str,
    body: Option<Value>,
) -> Response {
    app.request(
        Method::POST,
        &format!("/api/v1/contracts/{contract_id}/applications/{application_id}/{decision}"),
        Some(token),
        body,
    )
    .await
}

async fn approve(app: &TestApp, token: &str, contract_id: &str, application_id: &str) -> Response {
    decide(app, token, contract_id, application_id, "approve", None).await
}

async fn withdraw(app: &TestApp, token: &str, application_id: &str) -> Response {
    app.request(
        Method::DELETE,
        &format!("/api/v1/me/applications/{application_id}"),
        Some(token),
        None,
    )
    .await
}

async fn json_of(app: &TestApp, path: &str, token: &str) -> Value {
    let response = app.get(path, Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn an_order_with_the_code_approved_by_the_admin_shows_in_the_employees_aboverwaltung() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let (account, tokens) = employee(&app).await;
    let start = month_ahead(2);
    // The code as an employee types it: lower case, spaces instead of dashes.
    let typed = employer.code.to_lowercase().replace('-', " ");
    let response = submit(&app, &tokens.access, order(&typed, &start)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/api/v1/me/applications/{id}"));
    assert_eq!(created["status"], "pending");
    assert_eq!(created["start_month"], start);
    assert_eq!(created["contract"]["id"], employer.contract_id);
    assert_eq!(created["contract"]["company_name"], "Musterfirma GmbH");
    assert_eq!(created["holder"]["last_name"], "Müller");
    assert_eq!(created["holder"]["birth_date"], "1990-10-05");
    assert_eq!(created["holder"]["address"]["country"], "DE");
    assert_eq!(created["holder"]["phone"], "+495611234567");
    assert_eq!(created["personnel_number"], "P4711");
    assert_eq!(created["marketing_consent"], true);
    for field in [
        "decided_at",
        "decided_by",
        "rejection_reason",
        "subscription_id",
    ] {
        assert_eq!(created[field], Value::Null, "{field}");
    }

    // The admin hears of it, in German, and sees it without private data.
    let notice = app.mail.wait_for(&employer.admin.account.email, 1).await;
    assert!(
        notice.subject.contains("Neuer Antrag"),
        "{}",
        notice.subject
    );
    assert!(notice.text.contains("Jörg Müller"));
    let list = json_of(
        &app,
        &format!("/api/v1/contracts/{}/applications", employer.contract_id),
        employer.admin.access(),
    )
    .await;
    assert_eq!(list["total"], 1);
    let item = &list["items"][0];
    let mut keys: Vec<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "decided_at",
            "decided_by",
            "first_name",
            "id",
            "last_name",
            "personnel_number",
            "rejection_reason",
            "start_month",
            "status",
            "subscription_id"
        ]
    );

    let dashboard = json_of(&app, "/api/v1/dashboard", employer.admin.access()).await;
    assert_eq!(dashboard["applications"]["pending"], 1);

    let approved = approve(&app, employer.admin.access(), &employer.contract_id, &id).await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved: Value = approved.json().await.unwrap();
    assert_eq!(approved["status"], "approved");
    let dashboard = json_of(&app, "/api/v1/dashboard", employer.admin.access()).await;
    assert_eq!(dashboard["applications"]["pending"], 0);
    assert_eq!(approved["decided_by"]["id"], employer.admin.account.id);
    let subscription_id = approved["subscription_id"].as_str().unwrap().to_string();

    // At once in the employee's Aboverwaltung, under the contract, from the 1st.
    let linked = json_of(
        &app,
        "/api/v1/me/subscriptions?state=linked",
        &tokens.access,
    )
    .await;
    assert_eq!(linked["total"], 1);
    let ticket = &linked["items"][0];
    assert_eq!(ticket["id"], subscription_id);
    assert_eq!(ticket["status"], "active");
    assert_eq!(ticket["valid_from"], format!("{start}-01"));
    assert_eq!(ticket["valid_to"], Value::Null);
    // The ticket's product, not the contract's billing offering.
    assert_eq!(ticket["product"], "Deutschlandticket Job");
    assert_eq!(
        ticket["company_contract"]["product_offering"],
        "D-Ticket Job (Rechnung)"
    );
    let contract_number = ticket["contract_number"].as_str().unwrap().to_string();
    assert!(contract_number.starts_with("JT-"), "{contract_number}");
    let customer = json_of(
        &app,
        &format!("/api/v1/me/subscriptions/{subscription_id}/customer"),
        &tokens.access,
    )
    .await;
    assert_eq!(customer["last_name"], "Müller");
    assert_eq!(customer["marketing_consent"], true);
    assert_eq!(
        count_where(&app, "consent_changes", "source = 'application'").await,
        1
    );
    assert_eq!(
        count_where(
            &app,
            "subscriptions",
            &format!("personnel_number = 'P4711' AND id = '{subscription_id}'")
        )
        .await,
        1
    );

    // The applicant's e-mail names the contract number and the subscriptions page.
    let mail = app.mail.wait_for(&account.email, 1).await;
    assert!(mail.text.contains(&contract_number), "{}", mail.text);
    assert!(mail.text.contains("https://portal.test/subscriptions"));
    let mine = json_of(
        &app,
        &format!("/api/v1/me/applications/{id}"),
        &tokens.access,
    )
    .await;
    assert_eq!(mine["status"], "approved");
    assert_eq!(mine["subscription_id"], subscription_id);
    let listed = json_of(&app, "/api/v1/me/applications", &tokens.access).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["id"], id);
    assert_eq!(
        app.audit_actions(&id).await,
        ["application.submitted", "application.approved"]
    );
    let metrics = app.scrape().await;
    for (name, labels, value) in [
        ("firmenportal_customer_codes_generated_total", &[][..], 1.0),
        ("firmenportal_applications_submitted_total", &[], 1.0),
        (
            "firmenportal_applications_decided_total",
            &[("decision", "approved")],
            1.0,
        ),
        (
            "firmenportal_applications_decided_total",
            &[("decision", "rejected")],
            0.0,
        ),
    ] {
        assert_eq!(
            sample(&metrics, name, labels),
            Some(value),
            "{name}{labels:?}"
        );
    }
}

/// The customer record as stored: name, street, phone and consent.
async fn customer_record(
    app: &TestApp,
    customer_id: &str,
) -> (String, String, Option<String>, bool) {
    let customer_id = customer_id.to_string();
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use firmenportal::schema::customers;
        customers::table
            .find(customer_id)
            .select((
                customers::first_name,
                customers::street,
                customers::phone,
                customers::marketing_consent,
            ))
            .first(conn)
            .unwrap()
    })
    .await
}

/// Details of the approval's audit entry.
async fn approval_audit(app: &TestApp, application_id: &str) -> Value {
    let subject = application_id.to_string();
    let details: Option<String> = app
        .with_db(move |conn| {
            use diesel::prelude::*;
            use firmenportal::schema::audit_log;
            audit_log::table
                .filter(audit_log::subject_id.eq(subject))
                .filter(audit_log::action.eq("application.approved"))
                .select(audit_log::details)
                .first(conn)
                .unwrap()
        })
        .await;
    serde_json::from_str(&details.expect("details")).unwrap()
}

#[tokio::test]
async fn an_order_with_a_strangers_name_birth_date_and_postal_code_gets_a_record_of_its_own() {
    let app = TestApp::spawn().await;
    // Max's subscription: Musterjobber, 2000-10-05, 34117, no consent, linked to nobody.
    let max = subscription().insert(&app).await;
    let max_before = customer_record(&app, &max.customer_id).await;
    let consents_of_max = format!("customer_id = '{}'", max.customer_id);
    assert_eq!(
        count_where(&app, "consent_changes", &consents_of_max).await,
        1
    );
    let employer = employer(&app).await;
    // Eve knows Max's last name, birth date and postal code, as anyone may.
    let (_, eve) = employee(&app).await;
    let mut body = order(&employer.code, &month_ahead(2));
    body["holder"]["first_name"] = json!("Eve");
    body["holder"]["last_name"] = json!("  MUSTERJOBBER ");
    body["holder"]["birth_date"] = json!("2000-10-05");
    body["holder"]["address"]["street"] = json!("Evastraße 7");
    body["holder"]["address"]["postal_code"] = json!("34117");
    body["holder"]["phone"] = json!("0561 999888");
    body["marketing_consent"] = json!(true);
    let created = submitted(&app, &eve.access, body).await;
    let id = created["id"].as_str().unwrap();
    let approved = approve(&app, employer.admin.access(), &employer.contract_id, id).await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved: Value = approved.json().await.unwrap();
    let ticket = approved["subscription_id"].as_str().unwrap();

    // Eve's ticket carries a record of her own: her data, not Max's.
    let customer = json_of(
        &app,
        &format!("/api/v1/me/subscriptions/{ticket}/customer"),
        &eve.access,
    )
    .await;
    assert_eq!(customer["first_name"], "Eve");
    assert_eq!(customer["address"]["street"], "Evastraße 7");
    assert_eq!(customer["phone"], "+49561999888");
    assert_eq!(customer["marketing_consent"], true);
    assert_ne!(customer["customer_number"], Value::Null);
    assert_eq!(
        count_where(
            &app,
            "subscriptions",
            &format!("id = '{ticket}' AND customer_id <> '{}'", max.customer_id)
        )
        .await,
        1
    );
    // Max's record is untouched: data and consent history.
    assert_eq!(customer_record(&app, &max.customer_id).await, max_before);
    assert_eq!(
        count_where(&app, "consent_changes", &consents_of_max).await,
        1
    );
    // The employer's ticket list shows Eve.
    let listed = json_of(
        &app,
        &format!("/api/v1/contracts/{}/subscriptions", employer.contract_id),
        employer.admin.access(),
    )
    .await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["first_name"], "Eve");
    assert_eq!(approval_audit(&app, id).await["customer"], "created");
}

#[tokio::test]
async fn an_applicant_who_linked_her_own_subscription_keeps_one_record() {
    let app = TestApp::spawn().await;
    let own = subscription().insert(&app).await; // Musterjobber, 2000-10-05, 34117
    let before = customer_record(&app, &own.customer_id).await;
    let employer = employer(&app).await;
    let (_, tokens) = employee(&app).await;
    let linked = app
        .request(
            Method::POST,
            "/api/v1/me/subscriptions/link",
            Some(&tokens.access),
            Some(json!({
                "number": own.contract_number,
                "birth_date": "05.10.2000",
                "last_name": "Musterjobber",
                "postal_code": "34117"
            })),
        )
        .await;
    assert_eq!(linked.status(), StatusCode::CREATED);
    let consents = format!("customer_id = '{}'", own.customer_id);

    // Her order names a new street and phone, and gives consent (her record has none).
    let mut body = order(&employer.code, &month_ahead(2));
    body["holder"]["first_name"] = json!("Max");
    body["holder"]["last_name"] = json!("musterjobber");
    body["holder"]["birth_date"] = json!("2000-10-05");
    body["holder"]["address"]["street"] = json!("Neue Straße 1");
    body["marketing_consent"] = json!(true);
    let created = submitted(&app, &tokens.access, body).await;
    let id = created["id"].as_str().unwrap().to_string();
    let approved = approve(&app, employer.admin.access(), &employer.contract_id, &id).await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved: Value = approved.json().await.unwrap();
    let ticket = approved["subscription_id"].as_str().unwrap();

    // One record: the new ticket is on it, its data unchanged, the consent recorded.
    assert_eq!(count_where(&app, "customers", "1 = 1").await, 1);
    assert_eq!(
        count_where(
            &app,
            "subscriptions",
            &format!("id = '{ticket}' AND customer_id = '{}'", own.customer_id)
        )
        .await,
        1
    );
    let after = customer_record(&app, &own.customer_id).await;
    assert_eq!(
        (&after.0, &after.1, &after.2),
        (&before.0, &before.1, &before.2)
    );
    assert!(after.3, "the order's consent is the latest word");
    assert_eq!(
        count_where(
            &app,
            "consent_changes",
            &format!("{consents} AND source = 'application'")
        )
        .await,
        1
    );
    assert_eq!(approval_audit(&app, &id).await["customer"], "reused");

    // A second order under another contract with the same consent adds no entry.
    let other = employer_of(&app, company().named("Andere Firma AG").insert(&app).await).await;
    let mut body = order(&other.code, &month_ahead(2));
    body["holder"]["last_name"] = json!("Musterjobber");
    body["holder"]["birth_date"] = json!("2000-10-05");
    body["marketing_consent"] = json!(true);
    let created = submitted(&app, &tokens.access, body).await;
    let approved = approve(
        &app,
        other.admin.access(),
        &other.contract_id,
        created["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(approved.status(), StatusCode::OK);
    assert_eq!(count_where(&app, "customers", "1 = 1").await, 1);
    assert_eq!(count_where(&app, "consent_changes", &consents).await, 2);
}

/// 12:00 Berlin on `day` of next month (after any code's creation, before its expiry).
fn next_month_day(day: u32) -> chrono::NaiveDateTime {
    let date = today_berlin().with_day(1).unwrap() + Months::new(1);
    let date = NaiveDate::from_ymd_opt(date.year(), date.month(), day).unwrap();
    // 12:00 in Berlin is 10:00 or 11:00 UTC; 10:30 UTC is the same Berlin day either way.
    date.and_time(NaiveTime::from_hms_opt(10, 30, 0).unwrap())
}

#[tokio::test]
async fn an_order_on_the_10th_can_start_next_month_and_one_on_the_11th_the_month_after() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let (_, tokens) = employee(&app).await;
    let month = |at: chrono::NaiveDateTime, ahead: u32| {
        (at.date().with_day(1).unwrap() + Months::new(ahead))
            .format("%Y-%m")
            .to_string()
    };

    let tenth = next_month_day(10);
    app.state.clock.set(tenth);
    let created = submitted(
        &app,
        &tokens.access,
        order(&employer.code, &month(tenth, 1)),
    )
    .await;
    assert_eq!(
        withdraw(&app, &tokens.access, created["id"].as_str().unwrap())
            .await
            .status(),
        StatusCode::NO_CONTENT
    );

    let eleventh = next_month_day(11);
    app.state.clock.set(eleventh);
    let late = submit(
        &app,
        &tokens.access,
        order(&employer.code, &month(eleventh, 1)),
    )
    .await;
    let problem = assert_problem(late, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&problem),
        [("/start_month".to_string(), "month_too_early".to_string())]
    );
    submitted(
        &app,
        &tokens.access,
        order(&employer.code, &month(eleventh, 2)),
    )
    .await;
}

#[tokio::test]
async fn start_months_beyond_twelve_months_malformed_ones_and_bad_holders_are_field_errors() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let (_, tokens) = employee(&app).await;
    let far = submit(
        &app,
        &tokens.access,
        order(&employer.code, &month_ahead(13)),
    )
    .await;
    let problem = assert_problem(far, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&problem),
        [("/start_month".to_string(), "too_far_ahead".to_string())]
    );
    let mut body = order(&employer.code, "2027-1");
    body["holder"]["address"]["postal_code"] = json!("3411");
    body["holder"]["phone"] = json!("call me");
    body["holder"]["first_name"] = json!("");
    body.as_object_mut().unwrap().remove("marketing_consent");
    let bad = submit(&app, &tokens.access, body).await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let mut found = pointers(&problem);
    found.sort();
    assert_eq!(
        found,
        [
            (
                "/holder/address/postal_code".to_string(),
                "invalid_postal_code".to_string()
            ),
            ("/holder/first_name".to_string(), "required".to_string()),
            ("/holder/phone".to_string(), "invalid_phone".to_string()),
            ("/marketing_consent".to_string(), "required".to_string()),
            ("/start_month".to_string(), "invalid_month".to_string()),
        ]
    );
    // Field errors are not code attempts, and nothing was stored.
    assert_eq!(count_where(&app, "applications", "1 = 1").await, 0);
    assert_eq!(
        count_where(&app, "rate_limits", "key LIKE 'code_check%'").await,
        0
    );
}

#[tokio::test]
async fn invalid_and_expired_codes_answer_one_problem_and_count_towards_the_limit() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_CODE_CHECK_PER_ACCOUNT", "2")
        .spawn()
        .await;
    let employer = employer(&app).await;
    let (_, tokens) = employee(&app).await;
    let start = month_ahead(2);
    let unknown = submit(&app, &tokens.access, order("AAAA-BBBB-CCCC", &start)).await;
    assert_problem(
        unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_code_invalid",
    )
    .await;
    // The code expires: its last day lies before today.
    let contract_id = employer.contract_id.clone();
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use firmenportal::schema::customer_codes;
        diesel::update(customer_codes::table.filter(customer_codes::contract_id.eq(contract_id)))
            .set(customer_codes::valid_until.eq(today_berlin() - Days::new(1)))
            .execute(conn)
            .unwrap();
    })
    .await;
    let expired = submit(&app, &tokens.access, order(&employer.code, &start)).await;
    assert_problem(
        expired,
        StatusCode::UNPROCESSABLE_ENTITY,
        "customer_code_invalid",
    )
    .await;
    let limited = submit(&app, &tokens.access, order(&employer.code, &start)).await;
    assert!(retry_after(&limited) > 0);
    assert_problem(
        limited,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_code_attempts",
    )
    .await;
    // The check endpoint shares the counter.
    let check = app
        .request(
            Method::POST,
            "/api/v1/customer-codes/check",
            Some(&tokens.access),
            Some(json!({"code": employer.code})),
        )
        .await;
    assert_problem(
        check,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_code_attempts",
    )
    .await;
    assert_eq!(count_where(&app, "applications", "1 = 1").await, 0);
    assert_eq!(
        count_where(&app, "audit_log", "action = 'customer_code.check_failed'").await,
        2
    );
}

#[tokio::test]
async fn a_second_pending_order_and_an_order_beside_a_current_ticket_conflict() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let (_, tokens) = employee(&app).await;
    let first = submitted(&app, &tokens.access, order(&employer.code, &month_ahead(2))).await;
    let again = submit(&app, &tokens.access, order(&employer.code, &month_ahead(3))).await;
    assert_problem(again, StatusCode::CONFLICT, "application_pending").await;
    let id = first["id"].as_str().unwrap();
    assert_eq!(
        approve(&app, employer.admin.access(), &employer.contract_id, id)
            .await
            .status(),
        StatusCode::OK
    );
    let beside = submit(&app, &tokens.access, order(&employer.code, &month_ahead(3))).await;
    assert_problem(beside, StatusCode::CONFLICT, "already_subscribed").await;
    // Decided: neither withdrawn, nor decided again.
    assert_problem(
        withdraw(&app, &tokens.access, id).await,
        StatusCode::CONFLICT,
        "application_decided",
    )
    .await;
    assert_problem(
        decide(
            &app,
            employer.admin.access(),
            &employer.contract_id,
            id,
            "reject",
            Some(json!({"reason": "Zu spät"})),
        )
        .await,
        StatusCode::CONFLICT,
        "application_decided",
    )
    .await;
    assert_problem(
        approve(&app, employer.admin.access(), &employer.contract_id, id).await,
        StatusCode::CONFLICT,
        "application_decided",
    )
    .await;
    assert_eq!(count_where(&app, "subscriptions", "1 = 1").await, 1);
}

#[tokio::test]
async fn a_rejection_needs_a_reason_which_the_applicant_reads() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let (account, tokens) = employee(&app).await;
    let created = submitted(&app, &tokens.access, order(&employer.code, &month_ahead(2))).await;
    let id = created["id"].as_str().unwrap();
    for body in [
        json!({}),
        json!({"reason": "  "}),
        json!({"reason": "x".repeat(501)}),
    ] {
        let response = decide(
            &app,
            employer.admin.access(),
            &employer.contract_id,
            id,
            "reject",
            Some(body),
        )
        .await;
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(pointers(&problem)[0].0, "/reason");
    }
    let rejected = decide(
        &app,
        employer.admin.access(),
        &employer.contract_id,
        id,
        "reject",
        Some(json!({"reason": "Beschäftigung endet vor dem Startmonat."})),
    )
    .await;
    assert_eq!(rejected.status(), StatusCode::OK);
    let rejected: Value = rejected.json().await.unwrap();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["subscription_id"], Value::Null);
    let mine = json_of(
        &app,
        &format!("/api/v1/me/applications/{id}"),
        &tokens.access,
    )
    .await;
    assert_eq!(
        mine["rejection_reason"],
        "Beschäftigung endet vor dem Startmonat."
    );
    let mail = app.mail.wait_for(&account.email, 1).await;
    assert!(
        mail.text
            .contains("Begründung: Beschäftigung endet vor dem Startmonat.")
    );
    assert_problem(
        withdraw(&app, &tokens.access, id).await,
        StatusCode::CONFLICT,
        "application_decided",
    )
    .await;
    assert_eq!(count_where(&app, "subscriptions", "1 = 1").await, 0);
    // After a decision the employee may order again.
    submitted(&app, &tokens.access, order(&employer.code, &month_ahead(2))).await;
    let metrics = app.scrape().await;
    let decided = |decision| {
        sample(
            &metrics,
            "firmenportal_applications_decided_total",
            &[("decision", decision)],
        )
    };
    assert_eq!(
        (decided("rejected"), decided("approved")),
        (Some(1.0), Some(0.0))
    );
    assert_eq!(
        sample(&metrics, "firmenportal_applications_submitted_total", &[]),
        Some(2.0)
    );
}

#[tokio::test]
async fn approving_under_a_contract_that_ended_conflicts_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let (_, tokens) = employee(&app).await;
    let created = submitted(&app, &tokens.access, order(&employer.code, &month_ahead(2))).await;
    let contract_id = employer.contract_id.clone();
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use firmenportal::schema::company_contracts;
        diesel::update(company_contracts::table.find(contract_id))
            .set(company_contracts::status.eq("ended"))
            .execute(conn)
            .unwrap();
    })
    .await;
    let id = created["id"].as_str().unwrap();
    assert_problem(
        approve(&app, employer.admin.access(), &employer.contract_id, id).await,
        StatusCode::CONFLICT,
        "contract_not_active",
    )
    .await;
    let mine = json_of(
        &app,
        &format!("/api/v1/me/applications/{id}"),
        &tokens.access,
    )
    .await;
    assert_eq!(mine["status"], "pending");
    assert_eq!(count_where(&app, "subscriptions", "1 = 1").await, 0);
}

#[tokio::test]
async fn two_admins_approving_at_once_create_one_ticket() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let company_id = {
        let contract_id = employer.contract_id.clone();
        app.with_db(move |conn| {
            use diesel::prelude::*;
            use firmenportal::schema::company_contracts;
            company_contracts::table
                .find(contract_id)
                .select(company_contracts::company_id)
                .first::<String>(conn)
                .unwrap()
        })
        .await
    };
    let second = company_user(
        &app,
        &crate::fixtures::InsertedCompany {
            id: company_id,
            customer_number: String::new(),
        },
        "admin",
    )
    .await;
    let (_, tokens) = employee(&app).await;
    let created = submitted(&app, &tokens.access, order(&employer.code, &month_ahead(2))).await;
    let id = created["id"].as_str().unwrap().to_string();
    let admins = [
        employer.admin.access().to_string(),
        second.access().to_string(),
    ];
    let answers = release_together(&app, 2, |i| {
        let request = app
            .client
            .post(app.url(&format!(
                "/api/v1/contracts/{}/applications/{id}/approve",
                employer.contract_id
            )))
            .bearer_auth(&admins[i]);
        async move { request.send().await.unwrap() }
    })
    .await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(count_where(&app, "subscriptions", "1 = 1").await, 1);
    assert_eq!(count_where(&app, "customers", "1 = 1").await, 1);
}

#[tokio::test]
async fn an_approval_racing_the_withdrawal_has_one_winner() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let (_, tokens) = employee(&app).await;
    let created = submitted(&app, &tokens.access, order(&employer.code, &month_ahead(2))).await;
    let id = created["id"].as_str().unwrap().to_string();
    let answers = release_together(&app, 2, |i| {
        let request = match i {
            0 => app
                .client
                .post(app.url(&format!(
                    "/api/v1/contracts/{}/applications/{id}/approve",
                    employer.contract_id
                )))
                .bearer_auth(employer.admin.access()),
            _ => app
                .client
                .delete(app.url(&format!("/api/v1/me/applications/{id}")))
                .bearer_auth(&tokens.access),
        };
        async move { request.send().await.unwrap() }
    })
    .await;
    let approved = answers[0].status() == StatusCode::OK;
    let withdrawn = answers[1].status() == StatusCode::NO_CONTENT;
    assert!(approved != withdrawn, "exactly one wins: {answers:?}");
    let loser = if approved { &answers[1] } else { &answers[0] };
    assert_eq!(loser.status(), StatusCode::CONFLICT);
    let mine = json_of(
        &app,
        &format!("/api/v1/me/applications/{id}"),
        &tokens.access,
    )
    .await;
    assert_eq!(
        mine["status"],
        if approved { "approved" } else { "withdrawn" }
    );
    assert_eq!(
        count_where(&app, "subscriptions", "1 = 1").await,
        i64::from(approved)
    );
}

#[tokio::test]
async fn two_orders_sent_at_once_leave_one_pending_application() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let (_, tokens) = employee(&app).await;
    let body = order(&employer.code, &month_ahead(2));
    let answers = release_together(&app, 3, |_| {
        let request = app
            .client
            .post(app.url("/api/v1/me/applications"))
            .bearer_auth(&tokens.access)
            .json(&body);
        async move { request.send().await.unwrap() }
    })
    .await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409]);
    assert_eq!(count_where(&app, "applications", "1 = 1").await, 1);
}

#[tokio::test]
async fn another_company_and_another_employee_see_nothing_and_members_only_read() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let (_, tokens) = employee(&app).await;
    let created = submitted(&app, &tokens.access, order(&employer.code, &month_ahead(2))).await;
    let id = created["id"].as_str().unwrap();
    let contract_id = &employer.contract_id;

    let other = company().insert(&app).await;
    let stranger = company_user(&app, &other, "admin").await;
    let (_, nosy) = employee(&app).await;
    for path in [
        format!("/api/v1/contracts/{contract_id}/applications"),
        format!("/api/v1/contracts/{contract_id}/applications/{id}"),
    ] {
        assert_problem(
            app.get(&path, Some(stranger.access())).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    for decision in ["approve", "reject"] {
        let body = (decision == "reject").then(|| json!({"reason": "Nein"}));
        let response = decide(&app, stranger.access(), contract_id, id, decision, body).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    // The application under another of the company's contracts is not this contract's.
    let own_company_other_contract = {
        let other_contract = contract(&other).insert(&app).await;
        format!("/api/v1/contracts/{other_contract}/applications/{id}")
    };
    let operator = crate::fixtures::operator(&app).await.1;
    assert_problem(
        app.get(&own_company_other_contract, Some(&operator.access))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get(&format!("/api/v1/me/applications/{id}"), Some(&nosy.access))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        withdraw(&app, &nosy.access, id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let listed = json_of(&app, "/api/v1/me/applications", &nosy.access).await;
    assert_eq!(listed["total"], 0);

    // A member of the company reads, but does not decide.
    let company_id = {
        let contract_id = contract_id.clone();
        app.with_db(move |conn| {
            use diesel::prelude::*;
            use firmenportal::schema::company_contracts;
            company_contracts::table
                .find(contract_id)
                .select(company_contracts::company_id)
                .first::<String>(conn)
                .unwrap()
        })
        .await
    };
    let member = company_user(
        &app,
        &crate::fixtures::InsertedCompany {
            id: company_id,
            customer_number: String::new(),
        },
        "member",
    )
    .await;
    let read = json_of(
        &app,
        &format!("/api/v1/contracts/{contract_id}/applications/{id}"),
        member.access(),
    )
    .await;
    assert_eq!(read["status"], "pending");
    assert_problem(
        approve(&app, member.access(), contract_id, id).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // The operator decides for any company.
    assert_eq!(
        approve(&app, &operator.access, contract_id, id)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_employers_list_filters_searches_and_sorts() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let names = [
        ("Zoë", "Ähren", "B-2"),
        ("Anna", "Müller", "A-1"),
        ("Emil", "Becker", "C-3"),
    ];
    let mut ids = Vec::new();
    for (first, last, personnel) in names {
        let (_, tokens) = employee(&app).await;
        let mut body = order(&employer.code, &month_ahead(2));
        body["holder"]["first_name"] = json!(first);
        body["holder"]["last_name"] = json!(last);
        body["personnel_number"] = json!(personnel);
        ids.push(submitted(&app, &tokens.access, body).await["id"].clone());
    }
    let reject = decide(
        &app,
        employer.admin.access(),
        &employer.contract_id,
        ids[2].as_str().unwrap(),
        "reject",
        Some(json!({"reason": "Kein Anspruch"})),
    )
    .await;
    assert_eq!(reject.status(), StatusCode::OK);
    let list = |query: &str| {
        let path = format!(
            "/api/v1/contracts/{}/applications?{query}",
            employer.contract_id
        );
        let token = employer.admin.access().to_string();
        let app = &app;
        async move { json_of(app, &path, &token).await }
    };
    let last_names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["last_name"].as_str().unwrap().to_string())
            .collect()
    };
    // Newest first by default.
    assert_eq!(last_names(&list("").await), ["Becker", "Müller", "Ähren"]);
    assert_eq!(
        last_names(&list("sort=last_name").await),
        ["Becker", "Müller", "Ähren"]
    );
    assert_eq!(
        last_names(&list("sort=last_name&order=desc").await),
        ["Ähren", "Müller", "Becker"]
    );
    let pending = list("status=pending").await;
    assert_eq!(pending["total"], 2);
    assert_eq!(last_names(&list("q=MUELLER").await), ["Müller"]);
    assert_eq!(last_names(&list("q=aehren").await), ["Ähren"]);
    assert_eq!(last_names(&list("q=%C3%A4hren").await), ["Ähren"]);
    assert_eq!(last_names(&list("q=a-1").await), ["Müller"]);
    // Paged one by one (the later pages are read from the list's other end), every
    // order gives the same sequence as one full page.
    for order in [
        "",
        "sort=last_name",
        "sort=last_name&order=desc",
        "sort=start_month",
        "order=asc",
        "status=pending",
    ] {
        let full = last_names(&list(order).await);
        let mut one_by_one = Vec::new();
        for page in 1..=full.len() + 1 {
            one_by_one.extend(last_names(
                &list(&format!("{order}&per_page=1&page={page}")).await,
            ));
        }
        assert_eq!(one_by_one, full, "{order}");
    }
    let paged = list("per_page=1&page=2").await;
    assert_eq!(
        (
            paged["total"].as_i64(),
            paged["items"].as_array().unwrap().len()
        ),
        (Some(3), 1)
    );
    for (query, pointer) in [
        ("status=open", "/status"),
        ("sort=birth_date", "/sort"),
        ("order=up", "/order"),
    ] {
        let response = app
            .get(
                &format!(
                    "/api/v1/contracts/{}/applications?{query}",
                    employer.contract_id
                ),
                Some(employer.admin.access()),
            )
            .await;
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(pointers(&problem)[0].0, pointer);
    }
}

#[tokio::test]
async fn an_approval_after_the_start_months_deadline_starts_the_ticket_with_the_earliest_open_month()
 {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let (account, tokens) = employee(&app).await;
    let month =
        |at: chrono::NaiveDateTime, ahead: u32| at.date().with_day(1).unwrap() + Months::new(ahead);
    // Ordered on the 10th for next month, the earliest month the deadline allows.
    let tenth = next_month_day(10);
    app.state.clock.set(tenth);
    let asked = month(tenth, 1);
    let created = submitted(
        &app,
        &tokens.access,
        order(&employer.code, &asked.format("%Y-%m").to_string()),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    // Approved on the 11th: that month can no longer start; the month after can.
    let eleventh = next_month_day(11);
    app.state.clock.set(eleventh);
    let approved = approve(&app, employer.admin.access(), &employer.contract_id, &id).await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved: Value = approved.json().await.unwrap();
    assert_eq!(approved["start_month"], asked.format("%Y-%m").to_string());
    let real = month(eleventh, 2);
    let ticket = json_of(
        &app,
        &format!(
            "/api/v1/me/subscriptions/{}",
            approved["subscription_id"].as_str().unwrap()
        ),
        &tokens.access,
    )
    .await;
    assert_eq!(ticket["valid_from"], real.to_string());
    let mine = json_of(
        &app,
        &format!("/api/v1/me/applications/{id}"),
        &tokens.access,
    )
    .await;
    assert_eq!(mine["start_month"], asked.format("%Y-%m").to_string());
    let mail = app.mail.wait_for(&account.email, 1).await;
    let said = format!("gilt ab {}", real.format("%m.%Y"));
    assert!(mail.text.contains(&said), "{said} in {}", mail.text);
    assert_eq!(
        approval_audit(&app, &id).await["valid_from"],
        real.to_string()
    );
}

#[tokio::test]
async fn an_approval_after_a_staff_list_gave_the_applicant_a_ticket_conflicts() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    // Jörg orders with his personnel number P4711; Anna without one.
    let (_, joerg) = employee(&app).await;
    let by_number = submitted(&app, &joerg.access, order(&employer.code, &month_ahead(2))).await;
    let (_, anna) = employee(&app).await;
    let mut body = order(&employer.code, &month_ahead(2));
    body["holder"]["first_name"] = json!("Anna");
    body["holder"]["last_name"] = json!("Schmidt");
    body["holder"]["birth_date"] = json!("1994-02-14");
    body["personnel_number"] = Value::Null;
    let by_name = submitted(&app, &anna.access, body).await;
    // Meanwhile the employer's staff list makes both of them a ticket.
    let month = (today_berlin().with_day(1).unwrap() + Months::new(2))
        .format("%m.%Y")
        .to_string();
    let csv = format!(
        "Personalnummer;Anrede;Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;E-Mail;Startmonat\n\
         p 4711;Herr;Jörg;Müller;05.10.1990;Königsplatz 1;34117;Kassel;joerg@example.de;{month}\n\
         ;Frau;ANNA;Schmidt;14.02.1994;Wilhelmsstr. 2;34117;Kassel;anna@example.de;{month}\n"
    );
    let part = reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("liste.csv");
    let uploaded = app
        .client
        .post(app.url(&format!(
            "/api/v1/contracts/{}/bulk-uploads",
            employer.contract_id
        )))
        .bearer_auth(employer.admin.access())
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::CREATED);
    assert_eq!(count_where(&app, "subscriptions", "1 = 1").await, 2);
    for application in [&by_number, &by_name] {
        let id = application["id"].as_str().unwrap();
        let answer = approve(&app, employer.admin.access(), &employer.contract_id, id).await;
        assert_problem(answer, StatusCode::CONFLICT, "already_subscribed").await;
        let still = json_of(
            &app,
            &format!(
                "/api/v1/contracts/{}/applications/{id}",
                employer.contract_id
            ),
            employer.admin.access(),
        )
        .await;
        assert_eq!(still["status"], "pending");
    }
    assert_eq!(count_where(&app, "subscriptions", "1 = 1").await, 2);
}

#[tokio::test]
async fn an_account_submits_at_most_the_limit_of_applications_a_day_even_all_at_once() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_APPLICATIONS_PER_ACCOUNT", "2")
        .spawn()
        .await;
    let mut employers = Vec::new();
    for name in ["Erste GmbH", "Zweite GmbH", "Dritte GmbH", "Vierte GmbH"] {
        employers.push(employer_of(&app, company().named(name).insert(&app).await).await);
    }
    let (_, tokens) = employee(&app).await;
    submitted(
        &app,
        &tokens.access,
        order(&employers[0].code, &month_ahead(2)),
    )
    .await;
    // Refused orders count nothing.
    let again = submit(
        &app,
        &tokens.access,
        order(&employers[0].code, &month_ahead(2)),
    )
    .await;
    assert_problem(again, StatusCode::CONFLICT, "application_pending").await;
    let answers = release_together(&app, 3, |i| {
        app.post_later(
            "/api/v1/me/applications",
            Some(&tokens.access),
            order(&employers[i + 1].code, &month_ahead(2)),
        )
    })
    .await;
    let mut created = 0;
    for answer in answers {
        match answer.status() {
            StatusCode::CREATED => created += 1,
            _ => {
                let after = retry_after(&answer);
                assert!((86_000..=86_400).contains(&after), "Retry-After {after}");
                assert_problem(
                    answer,
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_applications",
                )
                .await;
            }
        }
    }
    assert_eq!(created, 1, "two applications in 24 hours");
    assert_eq!(count_where(&app, "applications", "1 = 1").await, 2);
    // Another account has its own allowance.
    let (_, other) = employee(&app).await;
    submitted(
        &app,
        &other.access,
        order(&employers[3].code, &month_ahead(2)),
    )
    .await;
}

#[tokio::test]
async fn each_submission_emails_every_admin_of_the_company_and_no_member() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let employer = employer_of(&app, company.clone()).await;
    let second_admin = company_user(&app, &company, "admin").await;
    let member = company_user(&app, &company, "member").await;
    let (_, tokens) = employee(&app).await;
    submitted(&app, &tokens.access, order(&employer.code, &month_ahead(2))).await;
    for admin in [&employer.admin, &second_admin] {
        let mail = app.mail.wait_for(&admin.account.email, 1).await;
        assert!(mail.subject.contains("Neuer Antrag"), "{}", mail.subject);
    }
    app.mail
        .assert_count_settles(&member.account.email, 0)
        .await;
}
