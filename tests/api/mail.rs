//! The outbox: e-mails survive a mail-server outage and are delivered later.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, unique_email};
use crate::smtp::MailSink;

#[tokio::test]
async fn smtp_down_then_up_delivers_the_mail_later() {
    // Reserve a port with nothing listening on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::builder().smtp_port(port).spawn().await;
    let email = unique_email();
    assert_eq!(app.register(&email).await.status(), StatusCode::ACCEPTED);

    // Delivery fails and is kept for retry with the error recorded.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (status, attempts, error) = app
        .with_db(|conn| {
            use diesel::prelude::*;
            use firmenportal::schema::email_outbox::dsl::*;
            email_outbox
                .select((status, attempts, last_error))
                .first::<(String, i32, Option<String>)>(conn)
                .unwrap()
        })
        .await;
    assert_eq!(status, "pending");
    assert!(attempts >= 1);
    assert!(error.is_some());

    let sink = MailSink::start_on(port).await;
    let mail = sink.wait_for(&email, 1).await;
    assert!(mail.text.contains("/verify-email?token="));
    let token = mail.token_for("verify-email");
    assert_eq!(
        app.post("/api/v1/auth/verify-email", json!({ "token": token }))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn no_usable_token_rests_in_the_outbox_and_a_delayed_link_is_valid_from_sending() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::builder()
        .smtp_port(port)
        .set("EMAIL_TOKEN_TTL_SECS", "2")
        .spawn()
        .await;
    let email = unique_email();
    assert_eq!(app.register(&email).await.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(800)).await;

    // The mail server is down: the queued row says what to send, never a link.
    let rows = app
        .with_db({
            let email = email.clone();
            move |conn| {
                use diesel::prelude::*;
                use firmenportal::schema::email_outbox::dsl::*;
                email_outbox
                    .filter(recipient.eq(email))
                    .select((status, template, params, subject, last_error))
                    .load::<(String, String, String, String, Option<String>)>(conn)
                    .unwrap()
            }
        })
        .await;
    assert_eq!(rows.len(), 1);
    let (status, template, params, subject, error) = &rows[0];
    assert_eq!(
        (status.as_str(), template.as_str()),
        ("pending", "account.verification")
    );
    assert!(error.is_some(), "the failed attempt is recorded");
    for column in [params, subject] {
        assert!(!column.contains("token"), "{column}");
    }

    // Delivered long after the request, the link still has its full validity.
    tokio::time::sleep(Duration::from_millis(1700)).await;
    let sink = MailSink::start_on(port).await;
    let token = sink.wait_for(&email, 1).await.token_for("verify-email");
    assert_eq!(
        app.post("/api/v1/auth/verify-email", json!({ "token": token }))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_mail_that_is_no_longer_needed_is_dropped_not_sent() {
    let app = TestApp::spawn().await;
    let unknown = unique_email();
    let verified = crate::fixtures::account().insert(&app).await;
    for email in [&unknown, &verified.email] {
        let path = if *email == unknown {
            "/api/v1/auth/password/forgot"
        } else {
            "/api/v1/auth/verify-email/resend"
        };
        assert_eq!(
            app.post(path, json!({ "email": email })).await.status(),
            StatusCode::ACCEPTED
        );
    }
    let mut statuses = Vec::new();
    for _ in 0..50 {
        statuses = app
            .with_db(|conn| {
                use diesel::prelude::*;
                use firmenportal::schema::email_outbox::dsl::*;
                email_outbox.select(status).load::<String>(conn).unwrap()
            })
            .await;
        if statuses.iter().all(|s| s == "dropped") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(statuses, ["dropped", "dropped"]);
    assert!(app.mail.all().is_empty());
}

#[tokio::test]
async fn two_instances_deliver_each_mail_once() {
    let first = TestApp::spawn().await;
    let second = TestApp::builder()
        .database(first.database.clone())
        .spawn()
        .await;
    let emails: Vec<String> = (0..6).map(|_| unique_email()).collect();
    for (i, email) in emails.iter().enumerate() {
        let app = if i % 2 == 0 { &first } else { &second };
        assert_eq!(app.register(email).await.status(), StatusCode::ACCEPTED);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for email in &emails {
        let delivered = first.mail.to(email).len() + second.mail.to(email).len();
        assert_eq!(delivered, 1, "{email} delivered once");
    }
}

#[tokio::test]
async fn mails_follow_the_requested_language() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("accept-language", "en")
        .json(&json!({
            "email": email,
            "password": crate::helpers::PASSWORD,
            "password_confirmation": crate::helpers::PASSWORD,
            "first_name": "Max",
            "last_name": "Muster",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("If the details")
    );
    let mail = app.mail.wait_for(&email, 1).await;
    assert_eq!(mail.subject, "Please verify your e-mail address");
    assert!(mail.text.contains("valid for 30 minutes"));
}

#[tokio::test]
async fn undeliverable_mail_is_kept_as_failed_for_inspection() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::builder()
        .smtp_port(port)
        .set("OUTBOX_MAX_ATTEMPTS", "2")
        .spawn()
        .await;
    let email = unique_email();
    assert_eq!(app.register(&email).await.status(), StatusCode::ACCEPTED);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, attempts, error) = app
            .with_db(|conn| {
                use diesel::prelude::*;
                use firmenportal::schema::email_outbox::dsl::*;
                email_outbox
                    .select((status, attempts, last_error))
                    .first::<(String, i32, Option<String>)>(conn)
                    .unwrap()
            })
            .await;
        if status == "failed" {
            assert_eq!(attempts, 2);
            assert!(error.is_some_and(|e| !e.is_empty()));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {status} after {attempts} attempts"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
