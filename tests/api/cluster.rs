//! The rules that must hold across instances, on two instances of one database at once:
//! the link lockout and the code-check limit (counted in the database, so a burst spread
//! over both instances gets exactly the limit's attempts through), an idempotency key
//! (one of the instances runs the request), and the monthly freezing of statements
//! (claimed by exactly one instance). Rate limits of logins,
//! e-mail and webhook delivery once, retention and a rollout under load have their
//! two-instance tests beside their capabilities (`rate_limit`, `mail`, `webhooks`,
//! `retention`, `shutdown`).

use chrono::Datelike;
use serde_json::{Value, json};

use crate::fixtures::{self, company, contract};
use crate::helpers::{Cluster, TestApp, release_together};

/// Counts the answers' (status, problem code) pairs.
async fn tally(answers: Vec<reqwest::Response>) -> Vec<(u16, String)> {
    let mut tally = Vec::new();
    for answer in answers {
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        tally.push((status, body["code"].as_str().unwrap_or("").to_string()));
    }
    tally.sort();
    tally
}

fn expected(
    allowed: usize,
    allowed_as: (u16, &str),
    refused_as: (u16, &str),
    total: usize,
) -> Vec<(u16, String)> {
    let mut expected: Vec<(u16, String)> = (0..total)
        .map(|i| {
            let (status, code) = if i < allowed { allowed_as } else { refused_as };
            (status, code.to_string())
        })
        .collect();
    expected.sort();
    expected
}

#[tokio::test]
async fn failed_links_spread_over_two_instances_share_one_lockout() {
    let cluster = Cluster::spawn(2, || {
        TestApp::builder().set("RATE_LIMIT_LINK_PER_ACCOUNT", "3")
    })
    .await;
    let first = &cluster.instances[0];
    let account = fixtures::account().insert(first).await;
    let token = account.login(first).await.access;
    let answers = release_together(first, 8, |_| {
        cluster.next().post_later(
            "/api/v1/me/subscriptions/link",
            Some(&token),
            json!({"number": "4711", "birth_date": "1990-10-05", "last_name": "Niemand", "postal_code": "34117"}),
        )
    })
    .await;
    assert_eq!(
        tally(answers).await,
        expected(
            3,
            (422, "subscription_not_matched"),
            (429, "too_many_link_attempts"),
            8
        )
    );
}

#[tokio::test]
async fn failed_code_checks_spread_over_two_instances_share_one_limit() {
    let cluster = Cluster::spawn(2, || {
        TestApp::builder().set("RATE_LIMIT_CODE_CHECK_PER_ACCOUNT", "3")
    })
    .await;
    let first = &cluster.instances[0];
    let account = fixtures::account().insert(first).await;
    let token = account.login(first).await.access;
    let answers = release_together(first, 8, |i| {
        cluster.next().post_later(
            "/api/v1/customer-codes/check",
            Some(&token),
            json!({"code": format!("AAAA-BBBB-CC{i:02}")}),
        )
    })
    .await;
    assert_eq!(
        tally(answers).await,
        expected(
            3,
            (422, "customer_code_invalid"),
            (429, "too_many_code_attempts"),
            8
        )
    );
}

#[tokio::test]
async fn the_past_month_is_frozen_by_exactly_one_of_two_instances() {
    let cluster = Cluster::spawn(2, TestApp::builder).await;
    let first = &cluster.instances[0];
    let company = company().insert(first).await;
    contract(&company).insert(first).await;
    // Each instance's own job froze last month at its start (one of them did), by the
    // instances' clocks. A month later, by a clock of the test's, this month has ended
    // too, and the jobs of both instances reach for it at once.
    let (a, b) = (&cluster.instances[0], &cluster.instances[1]);
    let next_month = crate::helpers::today_berlin()
        .with_day(1)
        .unwrap()
        .checked_add_months(chrono::Months::new(1))
        .unwrap();
    let later = firmenportal::clock::Clock::default();
    later.set(next_month.and_hms_opt(10, 0, 0).unwrap());
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let run = |app: &TestApp| {
        let (db, clock, barrier) = (app.db.clone(), later.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            firmenportal::statements::freezing::freeze_past_month(&db, &clock)
                .await
                .unwrap()
        })
    };
    let (one, other) = (run(a), run(b));
    let claimed = [one.await.unwrap(), other.await.unwrap()];
    assert_eq!(
        claimed.iter().filter(|outcome| outcome.is_some()).count(),
        1,
        "{claimed:?}"
    );
}

#[tokio::test]
async fn one_idempotency_key_sent_to_two_instances_at_once_runs_once() {
    let cluster = Cluster::spawn(2, TestApp::builder).await;
    let email = crate::helpers::unique_email();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let app = cluster.next();
            let request = app
                .client
                .post(app.url("/api/v1/auth/register"))
                .header("Idempotency-Key", "zwei-instanzen")
                .json(&json!({
                    "email": email, "password": crate::helpers::PASSWORD,
                    "password_confirmation": crate::helpers::PASSWORD,
                    "first_name": "Max", "last_name": "Doppelt",
                }));
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                request.send().await.unwrap()
            })
        })
        .collect();
    let mut ran = 0;
    for task in tasks {
        let response = task.await.unwrap();
        match response.status().as_u16() {
            202 if response.headers().get("idempotent-replayed").is_none() => ran += 1,
            202 | 409 => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ran, 1);
    let first = &cluster.instances[0];
    assert_eq!(crate::helpers::count_rows(first, "accounts").await, 1);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let sent: usize = cluster
        .instances
        .iter()
        .map(|app| app.mail.to(&email).len())
        .sum();
    assert_eq!(sent, 1);
}
