//! A contract's tickets and their cancellation (Kündigung): the employer's list without
//! private data, the deadline on both sides of the 10th, later months, tickets that never
//! start, every refusal, a parallel burst, tenant isolation and the dashboard's counts.

use crate::helpers::today_berlin;
use chrono::{Datelike, Months, NaiveDate, NaiveTime};
use diesel::prelude::*;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{
    CompanyUser, InsertedAccount, InsertedCompany, InsertedSubscription, company, company_user,
    subscription,
};
use crate::helpers::{
    TestApp, Tokens, assert_problem, count_where, pointers, release_together, sample,
};

/// A ticket under a contract, linked to an employee, and the company's admin.
struct Setup {
    ticket: InsertedSubscription,
    holder: InsertedAccount,
    holder_tokens: Tokens,
    admin: CompanyUser,
}

async fn setup(app: &TestApp) -> Setup {
    let ticket = subscription().insert(app).await;
    let holder = crate::fixtures::account().insert(app).await;
    link(app, &ticket.id, Some(&holder.id)).await;
    let holder_tokens = holder.login(app).await;
    let admin = company_user(app, &company_of(&ticket), "admin").await;
    Setup {
        ticket,
        holder,
        holder_tokens,
        admin,
    }
}

fn company_of(ticket: &InsertedSubscription) -> InsertedCompany {
    InsertedCompany {
        id: ticket.company_id.clone(),
        customer_number: String::new(),
    }
}

async fn link(app: &TestApp, subscription_id: &str, account_id: Option<&str>) {
    use firmenportal::schema::subscriptions;
    let (id, account) = (subscription_id.to_string(), account_id.map(str::to_string));
    app.with_db(move |conn| {
        diesel::update(subscriptions::table.find(id))
            .set(subscriptions::account_id.eq(account))
            .execute(conn)
            .unwrap();
    })
    .await;
}

async fn set_ticket(
    app: &TestApp,
    subscription_id: &str,
    status: &str,
    valid_from: &str,
    valid_to: Option<&str>,
) {
    use firmenportal::schema::subscriptions;
    let id = subscription_id.to_string();
    let status = status.to_string();
    let from = NaiveDate::parse_from_str(valid_from, "%Y-%m-%d").unwrap();
    let to = valid_to.map(|to| NaiveDate::parse_from_str(to, "%Y-%m-%d").unwrap());
    app.with_db(move |conn| {
        diesel::update(subscriptions::table.find(id))
            .set((
                subscriptions::status.eq(status),
                subscriptions::valid_from.eq(from),
                subscriptions::valid_to.eq(to),
            ))
            .execute(conn)
            .unwrap();
    })
    .await;
}

async fn cancel_mine(app: &TestApp, token: &str, id: &str, body: Option<Value>) -> Response {
    app.request(
        Method::POST,
        &format!("/api/v1/me/subscriptions/{id}/cancellation"),
        Some(token),
        body,
    )
    .await
}

async fn cancel_as_employer(
    app: &TestApp,
    token: &str,
    contract_id: &str,
    id: &str,
    body: Option<Value>,
) -> Response {
    app.request(
        Method::POST,
        &format!("/api/v1/contracts/{contract_id}/subscriptions/{id}/cancellation"),
        Some(token),
        body,
    )
    .await
}

/// 12:00 Berlin on `day` of the month `ahead` months after the current one.
fn berlin_noon(ahead: u32, day: u32) -> chrono::NaiveDateTime {
    let month = today_berlin().with_day(1).unwrap() + Months::new(ahead);
    NaiveDate::from_ymd_opt(month.year(), month.month(), day)
        .unwrap()
        .and_time(NaiveTime::from_hms_opt(10, 30, 0).unwrap())
}

fn last_day_of(month_start: NaiveDate) -> String {
    ((month_start + Months::new(1)).pred_opt().unwrap()).to_string()
}

#[tokio::test]
async fn cancelled_on_the_10th_a_ticket_ends_with_the_month_and_on_the_11th_with_the_next() {
    let app = TestApp::spawn().await;
    let on_time = setup(&app).await;
    let tenth = berlin_noon(1, 10);
    app.state.clock.set(tenth);
    // No body at all: the earliest end the deadline allows.
    let response = app
        .client
        .post(app.url(&format!(
            "/api/v1/me/subscriptions/{}/cancellation",
            on_time.ticket.id
        )))
        .bearer_auth(&on_time.holder_tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cancelled: Value = response.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["valid_to"],
        last_day_of(tenth.date().with_day(1).unwrap())
    );
    let mail = app.mail.wait_for(&on_time.holder.email, 1).await;
    assert!(mail.subject.contains(&on_time.ticket.contract_number));

    let late = setup(&app).await;
    let eleventh = berlin_noon(1, 11);
    app.state.clock.set(eleventh);
    let response = cancel_mine(
        &app,
        &late.holder_tokens.access,
        &late.ticket.id,
        Some(json!({})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cancelled: Value = response.json().await.unwrap();
    let next_month = eleventh.date().with_day(1).unwrap() + Months::new(1);
    assert_eq!(cancelled["valid_to"], last_day_of(next_month));
    // The subscription shows the new state in the Aboverwaltung.
    let detail = app
        .get(
            &format!("/api/v1/me/subscriptions/{}", late.ticket.id),
            Some(&late.holder_tokens.access),
        )
        .await;
    let detail: Value = detail.json().await.unwrap();
    assert_eq!(detail["status"], "cancelled");
    assert_eq!(detail["valid_to"], last_day_of(next_month));
    // A second cancellation is refused, and counts nothing.
    let again = cancel_mine(&app, &late.holder_tokens.access, &late.ticket.id, None).await;
    assert_problem(again, StatusCode::CONFLICT, "subscription_not_cancellable").await;
    assert_eq!(
        sample(
            &app.scrape().await,
            "firmenportal_tickets_cancelled_total",
            &[]
        ),
        Some(2.0)
    );
}

#[tokio::test]
async fn a_later_effective_month_is_taken_and_an_earlier_or_malformed_one_refused() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    let eleventh = berlin_noon(1, 11);
    app.state.clock.set(eleventh);
    let this_month = eleventh.date().with_day(1).unwrap();
    for (month, code) in [
        (this_month.format("%Y-%m").to_string(), "month_too_early"),
        ("2027/03".to_string(), "invalid_month"),
    ] {
        let response = cancel_mine(
            &app,
            &setup.holder_tokens.access,
            &setup.ticket.id,
            Some(json!({ "effective_month": month })),
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
            [("/effective_month".to_string(), code.to_string())]
        );
    }
    let later = this_month + Months::new(4);
    let response = cancel_mine(
        &app,
        &setup.holder_tokens.access,
        &setup.ticket.id,
        Some(json!({ "effective_month": later.format("%Y-%m").to_string() })),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cancelled: Value = response.json().await.unwrap();
    assert_eq!(cancelled["valid_to"], last_day_of(later));
}

#[tokio::test]
async fn a_ticket_that_would_not_have_started_never_runs_and_is_expired_at_once() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    let start = today_berlin().with_day(1).unwrap() + Months::new(3);
    set_ticket(&app, &setup.ticket.id, "active", &start.to_string(), None).await;
    let response = cancel_mine(&app, &setup.holder_tokens.access, &setup.ticket.id, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cancelled: Value = response.json().await.unwrap();
    assert_eq!(cancelled["status"], "ended");
    assert_eq!(cancelled["valid_to"], start.pred_opt().unwrap().to_string());
    let expired = app
        .get(
            "/api/v1/me/subscriptions?state=expired",
            Some(&setup.holder_tokens.access),
        )
        .await;
    let expired: Value = expired.json().await.unwrap();
    assert_eq!(expired["total"], 1);
    assert_eq!(expired["items"][0]["id"], setup.ticket.id);
}

#[tokio::test]
async fn ended_blocked_and_expired_tickets_cannot_be_cancelled_and_others_are_not_found() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    for (status, to) in [
        ("ended", None),
        ("blocked", None),
        ("active", Some("2024-01-31")),
    ] {
        set_ticket(&app, &setup.ticket.id, status, "2023-05-01", to).await;
        let response = cancel_mine(&app, &setup.holder_tokens.access, &setup.ticket.id, None).await;
        assert_problem(
            response,
            StatusCode::CONFLICT,
            "subscription_not_cancellable",
        )
        .await;
    }
    // Someone else's ticket, by the employee or by another company's admin.
    let other = crate::fixtures::account()
        .insert(&app)
        .await
        .login(&app)
        .await;
    let response = cancel_mine(&app, &other.access, &setup.ticket.id, None).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    let stranger = company_user(&app, &company().insert(&app).await, "admin").await;
    let response = cancel_as_employer(
        &app,
        stranger.access(),
        &setup.ticket.contract_id,
        &setup.ticket.id,
        None,
    )
    .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    // A ticket of another contract, named under this one.
    let elsewhere = subscription().insert(&app).await;
    let response = cancel_as_employer(
        &app,
        setup.admin.access(),
        &setup.ticket.contract_id,
        &elsewhere.id,
        None,
    )
    .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        count_where(&app, "subscriptions", "cancelled_at IS NOT NULL").await,
        0
    );
}

#[tokio::test]
async fn the_employer_cancels_members_may_not_and_an_unlinked_tickets_confirmation_goes_to_the_admins()
 {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    let member = company_user(&app, &company_of(&setup.ticket), "member").await;
    let response = cancel_as_employer(
        &app,
        member.access(),
        &setup.ticket.contract_id,
        &setup.ticket.id,
        None,
    )
    .await;
    assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    link(&app, &setup.ticket.id, None).await;
    let response = cancel_as_employer(
        &app,
        setup.admin.access(),
        &setup.ticket.contract_id,
        &setup.ticket.id,
        Some(json!({})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mail = app.mail.wait_for(&setup.admin.account.email, 1).await;
    assert!(mail.text.contains("ist gekündigt"), "{}", mail.text);
    assert!(app.mail.to(&setup.holder.email).is_empty());
    assert_eq!(
        app.audit_actions(&setup.ticket.id).await,
        ["subscription.cancelled"]
    );
}

#[tokio::test]
async fn two_cancellations_at_once_cancel_once() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    let answers = release_together(&app, 2, |i| {
        let request = match i {
            0 => app
                .client
                .post(app.url(&format!(
                    "/api/v1/me/subscriptions/{}/cancellation",
                    setup.ticket.id
                )))
                .bearer_auth(&setup.holder_tokens.access),
            _ => app
                .client
                .post(app.url(&format!(
                    "/api/v1/contracts/{}/subscriptions/{}/cancellation",
                    setup.ticket.contract_id, setup.ticket.id
                )))
                .bearer_auth(setup.admin.access()),
        };
        async move { request.send().await.unwrap() }
    })
    .await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(
        count_where(&app, "audit_log", "action = 'subscription.cancelled'").await,
        1
    );
}

#[tokio::test]
async fn the_contracts_ticket_list_shows_no_private_data_and_filters_searches_sorts() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    let contract_id = setup.ticket.contract_id.clone();
    // Two more tickets under the same contract: one unlinked, one cancelled.
    let more = ["Zacharias", "Ähnlich"];
    for (i, last_name) in more.iter().enumerate() {
        let mut fixture = subscription().holder(last_name, "34119");
        fixture.contract_number = format!("9{i}0000");
        let inserted = fixture.insert(&app).await;
        let (id, contract) = (inserted.id.clone(), contract_id.clone());
        let personnel = format!("P-{i}");
        app.with_db(move |conn| {
            use firmenportal::schema::subscriptions;
            diesel::update(subscriptions::table.find(id))
                .set((
                    subscriptions::company_contract_id.eq(contract),
                    subscriptions::personnel_number.eq(personnel),
                ))
                .execute(conn)
                .unwrap();
        })
        .await;
        if i == 1 {
            set_ticket(
                &app,
                &inserted.id,
                "cancelled",
                "2023-05-01",
                Some("2099-12-31"),
            )
            .await;
        }
    }
    let list = |query: &str| {
        let path = format!("/api/v1/contracts/{contract_id}/subscriptions?{query}");
        let token = setup.admin.access().to_string();
        let app = &app;
        async move {
            let response = app.get(&path, Some(&token)).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };
    let all = list("").await;
    assert_eq!(all["total"], 3);
    let mut keys: Vec<&str> = all["items"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "contract_number",
            "first_name",
            "id",
            "last_name",
            "linked",
            "personnel_number",
            "status",
            "valid_from",
            "valid_to"
        ]
    );
    let linked: Vec<bool> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["linked"].as_bool().unwrap())
        .collect();
    assert_eq!(linked.iter().filter(|l| **l).count(), 1);
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["last_name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&list("sort=last_name").await),
        ["Musterjobber", "Zacharias", "Ähnlich"]
    );
    assert_eq!(
        names(&list("sort=last_name&order=desc").await),
        ["Ähnlich", "Zacharias", "Musterjobber"]
    );
    assert_eq!(names(&list("status=cancelled").await), ["Ähnlich"]);
    assert_eq!(names(&list("q=AEHNLICH").await), ["Ähnlich"]);
    assert_eq!(names(&list("q=p-0").await), ["Zacharias"]);
    assert_eq!(
        names(&list(&format!("q={}", setup.ticket.contract_number)).await),
        ["Musterjobber"]
    );
    for (query, pointer) in [
        ("status=gone", "/status"),
        ("sort=birth_date", "/sort"),
        ("order=sideways", "/order"),
    ] {
        let response = app
            .get(
                &format!("/api/v1/contracts/{contract_id}/subscriptions?{query}"),
                Some(setup.admin.access()),
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
    let stranger = company_user(&app, &company().insert(&app).await, "admin").await;
    let response = app
        .get(
            &format!("/api/v1/contracts/{contract_id}/subscriptions"),
            Some(stranger.access()),
        )
        .await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn the_dashboard_counts_pending_applications_active_tickets_and_this_months_cancellations() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    let second = subscription().insert(&app).await;
    let (id, contract) = (second.id.clone(), setup.ticket.contract_id.clone());
    app.with_db(move |conn| {
        use firmenportal::schema::subscriptions;
        diesel::update(subscriptions::table.find(id))
            .set(subscriptions::company_contract_id.eq(contract))
            .execute(conn)
            .unwrap();
    })
    .await;
    let path = format!("/api/v1/dashboard?company_id={}", setup.ticket.company_id);
    let dashboard = || async {
        app.get(&path, Some(setup.admin.access()))
            .await
            .json::<Value>()
            .await
            .unwrap()
    };
    let before = dashboard().await;
    assert_eq!(
        before["subscriptions"],
        json!({"active": 2, "starting": 0, "cancelled_this_month": 0})
    );
    assert_eq!(before["applications"], json!({"pending": 0}));
    let response = cancel_mine(&app, &setup.holder_tokens.access, &setup.ticket.id, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let after = dashboard().await;
    // Cancelled, it runs to the month's end but no longer counts as active.
    assert_eq!(after["subscriptions"]["cancelled_this_month"], 1);
    assert_eq!(after["subscriptions"]["active"], 1);
    // Next month, this month's cancellation is no longer counted.
    app.state.clock.set(berlin_noon(1, 2));
    let next_month = dashboard().await;
    assert_eq!(next_month["subscriptions"]["cancelled_this_month"], 0);
}
