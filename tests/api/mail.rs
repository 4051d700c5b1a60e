//! The outbox: e-mails survive a mail-server outage and are delivered later.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, sample, unique_email};
use crate::metrics::scrape_until;
use crate::smtp::MailSink;

#[tokio::test]
async fn smtp_down_then_up_delivers_the_mail_later() {
    // Reserve a port with nothing listening on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = TestApp::builder()
        .smtp_port(port)
        .set("METRICS_DB_REFRESH_SECS", "1")
        .spawn()
        .await;
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
    // The metrics see it waiting (read from the database each second here) and failing.
    let metrics = scrape_until(
        &app,
        "firmenportal_outbox_oldest_pending_age_seconds",
        &[],
        0.5,
    )
    .await;
    assert_eq!(
        sample(&metrics, "firmenportal_outbox_pending", &[]),
        Some(1.0)
    );
    assert!(sample(&metrics, "firmenportal_outbox_failed_total", &[]).unwrap() >= 1.0);
    assert_eq!(
        sample(&metrics, "firmenportal_outbox_sent_total", &[]),
        Some(0.0)
    );

    let sink = MailSink::start_on(port).await;
    let mail = sink.wait_for(&email, 1).await;
    let metrics = scrape_until(&app, "firmenportal_outbox_sent_total", &[], 1.0).await;
    assert_eq!(
        sample(&metrics, "firmenportal_outbox_sent_total", &[]),
        Some(1.0)
    );
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

/// `firmenportal mail last` on the test's data directory: (exit code, stdout, stderr).
/// Run off the test's runtime, whose mail worker writes the files meanwhile.
async fn mail_last(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_firmenportal"));
    command
        .args(["mail", "last"])
        .args(args)
        .env("DATABASE_URL", &app.database.url)
        .env("DATA_DIR", app.data_dir.path())
        .env_remove("SMTP_URL")
        .env_remove("APP_ENV");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("run firmenportal");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test]
async fn without_smtp_each_mail_is_a_file_and_mail_last_prints_its_link_and_token() {
    let app = TestApp::builder().without_smtp().spawn().await;
    let (max, jana) = (unique_email(), unique_email());
    for email in [&max, &jana] {
        assert_eq!(app.register(email).await.status(), StatusCode::ACCEPTED);
    }
    // Each address gets its own link, picked out of a folder that holds both.
    let (code, link, stderr) = mail_last(&app, &["--to", &jana.to_uppercase(), "--link"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        link.starts_with("https://portal.test/verify-email?token="),
        "{link}"
    );
    let (code, token, _) = mail_last(&app, &["--to", &jana, "--token"]).await;
    assert_eq!(code, 0);
    assert_eq!(
        format!("https://portal.test/verify-email?token={token}"),
        link
    );
    let verified = app
        .post(
            "/api/v1/auth/verify-email",
            json!({ "token": token.trim() }),
        )
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    let (_, max_token, _) = mail_last(&app, &["--to", &max, "--token"]).await;
    assert_ne!(max_token, token);
    // Without a flag: the whole mail, as a developer reads it.
    let (code, whole, _) = mail_last(&app, &["--to", &max]).await;
    assert_eq!(code, 0);
    assert!(whole.contains("Subject: "), "{whole}");
    assert!(whole.contains(max_token.trim()), "{whole}");
    let files = std::fs::read_dir(app.data_dir.path().join("mail"))
        .unwrap()
        .filter(|f| {
            f.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "eml")
        })
        .count();
    assert_eq!(files, 2);

    // Nobody wrote to this address: a clear message and exit 1 after the wait.
    let (code, stdout, stderr) =
        mail_last(&app, &["--to", "nobody@example.de", "--wait", "0"]).await;
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("no e-mail to nobody@example.de"),
        "{stderr}"
    );
}

#[tokio::test]
async fn with_smtp_no_mail_file_is_written_and_mail_last_says_where_the_mails_went() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    app.signed_up_user(&email).await;
    assert!(!app.data_dir.path().join("mail").exists());
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_firmenportal"));
    command
        .args(["mail", "last", "--to", &email])
        .env("DATA_DIR", app.data_dir.path())
        .env("SMTP_URL", "smtp://127.0.0.1:2525")
        .env_remove("APP_ENV");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("go to the SMTP server"), "{stderr}");
}
