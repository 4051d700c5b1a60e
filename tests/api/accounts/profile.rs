//! The own account: names, deletion.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, count_where, pointers, unique_email};

#[tokio::test]
async fn me_updates_names_and_validates_them() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_up_user(&unique_email()).await;
    let patched = app
        .request(
            Method::PATCH,
            "/api/v1/me",
            Some(&tokens.access),
            Some(json!({ "first_name": "  Maximilian " })),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let body: Value = patched.json().await.unwrap();
    assert_eq!(body["first_name"], "Maximilian");
    assert_eq!(body["last_name"], "Musterjobber");

    let invalid = app
        .request(
            Method::PATCH,
            "/api/v1/me",
            Some(&tokens.access),
            Some(json!({ "first_name": "", "last_name": "y".repeat(101) })),
        )
        .await;
    let problem = assert_problem(
        invalid,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&problem).len(), 2);
    let me: Value = app
        .get("/api/v1/me", Some(&tokens.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["first_name"], "Maximilian",
        "nothing stored on bad input"
    );

    let unknown_field = app
        .request(
            Method::PATCH,
            "/api/v1/me",
            Some(&tokens.access),
            Some(json!({ "email": "x@example.de" })),
        )
        .await;
    let problem = assert_problem(
        unknown_field,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&problem)[0].1, "unknown_field");

    let unauthenticated = app
        .request(
            Method::PATCH,
            "/api/v1/me",
            None,
            Some(json!({ "first_name": "X" })),
        )
        .await;
    assert_problem(unauthenticated, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn deleting_the_account_ends_it_at_once_and_keeps_an_anonymous_audit_trail() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    let tokens = app.signed_up_user(&email).await;
    let me: Value = app
        .get("/api/v1/me", Some(&tokens.access))
        .await
        .json()
        .await
        .unwrap();
    let id = me["id"].as_str().unwrap().to_string();

    let wrong = app
        .request(
            Method::DELETE,
            "/api/v1/me",
            Some(&tokens.access),
            Some(json!({ "password": "Falsches-Passwort" })),
        )
        .await;
    assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&tokens.access)).await.status(),
        StatusCode::OK
    );

    let deleted = app
        .request(
            Method::DELETE,
            "/api/v1/me",
            Some(&tokens.access),
            Some(json!({ "password": PASSWORD })),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get("/api/v1/me", Some(&tokens.access)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    assert_problem(
        app.login(&email, PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": tokens.refresh }),
        )
        .await;
    assert_problem(refresh, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;

    // The trail keeps the deletion and the account's actions, without its id.
    let naming_it = format!("actor_id = '{id}' OR subject_id = '{id}'");
    assert_eq!(count_where(&app, "audit_log", &naming_it).await, 0);
    let deletion = "action = 'account.deleted' AND actor_id = 'deleted-account'";
    assert_eq!(count_where(&app, "audit_log", deletion).await, 1);
    let leaked = app
        .with_db({
            let email = email.clone();
            move |conn| {
                use diesel::prelude::*;
                use firmenportal::schema::{audit_log, email_outbox};
                let audit: Vec<Option<String>> = audit_log::table
                    .select(audit_log::details)
                    .load(conn)
                    .unwrap();
                let entries_with_ip: i64 = audit_log::table
                    .filter(audit_log::actor_id.eq("deleted-account"))
                    .filter(audit_log::client_ip.is_not_null())
                    .count()
                    .get_result(conn)
                    .unwrap();
                assert_eq!(
                    entries_with_ip, 0,
                    "client IPs of the deleted account are gone"
                );
                // Only the confirmation of the deletion is still addressed to it.
                let outbox: i64 = email_outbox::table
                    .filter(email_outbox::recipient.eq(&email))
                    .filter(email_outbox::template.ne("account.deleted"))
                    .count()
                    .get_result(conn)
                    .unwrap();
                audit.into_iter().flatten().any(|d| d.contains(&email)) || outbox > 0
            }
        })
        .await;
    assert!(!leaked, "no personal data left behind");

    // The address is free again.
    assert_eq!(app.register(&email).await.status(), StatusCode::ACCEPTED);
}
