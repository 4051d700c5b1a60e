//! The read path: a request's session check and its own queries share one pooled
//! connection — one checkout and one hop to the blocking pool — and the check still runs
//! on every request.

use reqwest::StatusCode;
use serde_json::json;

use crate::fixtures;
use crate::helpers::{TestApp, sample};

/// Connections handed out by the pool so far (the wait-time histogram observes every
/// checkout).
async fn checkouts(app: &TestApp) -> f64 {
    sample(
        &app.scrape().await,
        "db_client_connection_wait_time_seconds_count",
        &[],
    )
    .expect("checkouts counted")
}

#[tokio::test]
async fn a_read_checks_its_session_on_the_connection_of_its_own_queries() {
    // The e-mail and webhook workers poll the database; here they wait a minute, so that
    // every checkout counted is a request's.
    let app = TestApp::builder()
        .set("OUTBOX_POLL_INTERVAL_MS", "60000")
        .set("WEBHOOK_POLL_INTERVAL_MS", "60000")
        .spawn()
        .await;
    let subscriber = fixtures::account().insert(&app).await.login(&app).await;
    let (_, operator) = fixtures::operator(&app).await;
    let reads = [
        ("/api/v1/me", &subscriber.access),
        ("/api/v1/me/subscriptions", &subscriber.access),
        ("/api/v1/me/applications", &subscriber.access),
        ("/api/v1/contracts", &subscriber.access),
        ("/api/v1/admin/contracts", &operator.access),
        ("/api/v1/admin/customers", &operator.access),
        ("/api/v1/admin/subscriptions", &operator.access),
        ("/api/v1/admin/audit", &operator.access),
    ];
    // The first poll of each worker and anything else of the start-up is over.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = checkouts(&app).await;
    const ROUNDS: usize = 5;
    for _ in 0..ROUNDS {
        for (path, token) in reads {
            let response = app.get(path, Some(token)).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
    }
    let taken = checkouts(&app).await - before;
    let requests = (ROUNDS * reads.len()) as f64;
    // One each; a check before the handler and its queries after it would take two.
    assert!(
        (requests..requests + 2.0).contains(&taken),
        "{requests} reads took {taken} connections"
    );
}

/// A membership of `account` in `company`, accepted or still an invitation.
async fn join(
    app: &TestApp,
    account: &fixtures::InsertedAccount,
    company: &fixtures::InsertedCompany,
    role: &str,
    accepted: bool,
) {
    use diesel::prelude::*;
    use firmenportal::schema::company_memberships;
    let values = (
        uuid::Uuid::new_v4().to_string(),
        company.id.clone(),
        account.id.clone(),
        account.email.clone(),
        role.to_string(),
    );
    app.with_db(move |conn| {
        let (id, company_id, account_id, email, role) = values;
        let now = chrono::Utc::now().naive_utc();
        diesel::insert_into(company_memberships::table)
            .values((
                company_memberships::id.eq(id),
                company_memberships::company_id.eq(company_id),
                company_memberships::email.eq(email),
                company_memberships::account_id.eq(account_id),
                company_memberships::first_name.eq("Max"),
                company_memberships::last_name.eq("Musterjobber"),
                company_memberships::role.eq(role),
                company_memberships::invited_at.eq(now),
                company_memberships::accepted_at.eq(accepted.then_some(now)),
                company_memberships::updated_at.eq(now),
            ))
            .execute(conn)
            .expect("insert membership");
    })
    .await;
}

/// `GET /me` reads the account, checks its session and collects its companies in one
/// statement: every accepted membership once, by company name, none that is only an
/// invitation, and nothing at all once the session has ended.
#[tokio::test]
async fn me_lists_the_companies_of_accepted_memberships_by_name_with_the_session_check() {
    let app = TestApp::spawn().await;
    let account = fixtures::account().insert(&app).await;
    let tokens = account.login(&app).await;
    assert_eq!(app.me(&tokens.access).await["companies"], json!([]));

    let zeta = fixtures::company()
        .named("Zeta Logistik GmbH")
        .insert(&app)
        .await;
    let alpha = fixtures::company().named("Alpha Bau AG").insert(&app).await;
    let invited = fixtures::company()
        .named("Mitte Handel KG")
        .insert(&app)
        .await;
    join(&app, &account, &zeta, "admin", true).await;
    join(&app, &account, &alpha, "member", true).await;
    join(&app, &account, &invited, "admin", false).await;
    // Someone else's membership is not the account's.
    let other = fixtures::account().insert(&app).await;
    join(&app, &other, &invited, "member", true).await;

    let me = app.me(&tokens.access).await;
    assert_eq!(me["email"], account.email.as_str());
    assert_eq!(
        me["companies"],
        json!([
            {"id": alpha.id, "name": "Alpha Bau AG", "customer_number": alpha.customer_number, "role": "member"},
            {"id": zeta.id, "name": "Zeta Logistik GmbH", "customer_number": zeta.customer_number, "role": "admin"},
        ])
    );

    let logout = app
        .post(
            "/api/v1/auth/logout",
            json!({ "refresh_token": tokens.refresh }),
        )
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    app.assert_session_ended(&tokens).await;
}
