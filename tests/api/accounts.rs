//! Registration, verification, login and the own account (guide steps 1–5).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, pointers, unique_email};

#[tokio::test]
async fn seed_flow_register_verify_login_me() {
    let app = TestApp::spawn().await;
    let email = "Max.Musterjobber@Example.de";
    let registered = app.register(email).await;
    assert_eq!(registered.status(), StatusCode::ACCEPTED);

    let mail = app
        .verification_mail("max.musterjobber@example.de", 1)
        .await;
    assert_eq!(mail.subject, "Bitte bestätigen Sie Ihre E-Mail-Adresse");
    assert!(mail.text.contains("30 Minuten"));
    assert!(
        mail.text
            .contains("https://portal.test/verify-email?token=")
    );
    assert!(
        mail.html
            .contains("https://portal.test/verify-email?token=")
    );
    let token = mail.token_for("verify-email");
    assert!(token.len() >= 22, "at least 128 bits");

    // Before verification the password is right but the account may not log in.
    let early = app.login(email, PASSWORD).await;
    assert_problem(early, StatusCode::FORBIDDEN, "email_not_verified").await;

    let verified = app
        .post("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);

    let login = app.login("max.musterjobber@example.de", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let access = body["access_token"].as_str().unwrap();

    let me: Value = app
        .get("/api/v1/me", Some(access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "max.musterjobber@example.de");
    assert_eq!(me["first_name"], "Max");
    assert_eq!(me["last_name"], "Musterjobber");
    assert_eq!(me["role"], "subscriber");
    assert!(me["email_verified_at"].is_string());

    let id = me["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "opaque UUID id");
    let actions = app.audit_actions(id).await;
    for expected in [
        "account.registered",
        "account.email_verified",
        "auth.login_succeeded",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn registration_reports_every_invalid_field_at_once() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/v1/auth/register",
            json!({
                "email": "kein-at-zeichen",
                "password": "kurz",
                "password_confirmation": "anders",
                "first_name": "   ",
                "last_name": "x".repeat(101),
            }),
        )
        .await;
    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let mut found = pointers(&body);
    found.sort();
    assert_eq!(
        found,
        vec![
            ("/email".to_string(), "invalid_email".to_string()),
            ("/first_name".to_string(), "required".to_string()),
            ("/last_name".to_string(), "too_long".to_string()),
            ("/password".to_string(), "too_short".to_string()),
        ]
    );
    assert!(!body["errors"][0]["detail"].as_str().unwrap().is_empty());

    let empty = app.post("/api/v1/auth/register", json!({})).await;
    let body = assert_problem(empty, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(pointers(&body).len(), 4, "{body}");
    assert!(
        app.mail.all().is_empty(),
        "nothing was sent for invalid input"
    );
}

#[tokio::test]
async fn password_policy_common_passwords_and_confirmation() {
    let app = TestApp::spawn().await;
    let register = |password: &str, confirmation: &str| {
        json!({
            "email": unique_email(),
            "password": password,
            "password_confirmation": confirmation,
            "first_name": "Max",
            "last_name": "Muster",
        })
    };
    let common = app
        .post(
            "/api/v1/auth/register",
            register("1234567890", "1234567890"),
        )
        .await;
    let body = assert_problem(
        common,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&body),
        vec![("/password".into(), "common_password".into())]
    );

    let mismatch = app
        .post(
            "/api/v1/auth/register",
            register(PASSWORD, "Kassel-Tram-2025!"),
        )
        .await;
    let body = assert_problem(
        mismatch,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&body),
        vec![(
            "/password_confirmation".into(),
            "confirmation_mismatch".into()
        )]
    );

    let too_long = "x".repeat(129);
    let long = app
        .post("/api/v1/auth/register", register(&too_long, &too_long))
        .await;
    let body = assert_problem(long, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&body),
        vec![("/password".into(), "too_long".into())]
    );

    // 128 characters are accepted in full: never truncated.
    let longest = "Straßenbahn-".repeat(10) + "Kassel12";
    assert_eq!(longest.chars().count(), 128);
    let email = unique_email();
    let mut body = register(&longest, &longest);
    body["email"] = json!(email);
    assert_eq!(
        app.post("/api/v1/auth/register", body).await.status(),
        StatusCode::ACCEPTED
    );
    let token = app
        .verification_mail(&email, 1)
        .await
        .token_for("verify-email");
    app.post("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(app.login(&email, &longest).await.status(), StatusCode::OK);
    let truncated = &longest[..longest.len() - 1];
    assert_eq!(
        app.login(&email, truncated).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn verification_tokens_are_single_use_and_unknown_ones_change_nothing() {
    let app = TestApp::spawn().await;
    let unknown = app
        .post(
            "/api/v1/auth/verify-email",
            json!({ "token": "not-a-real-token" }),
        )
        .await;
    assert_problem(
        unknown,
        StatusCode::BAD_REQUEST,
        "verification_token_invalid",
    )
    .await;

    let email = unique_email();
    app.register(&email).await;
    let token = app
        .verification_mail(&email, 1)
        .await
        .token_for("verify-email");
    assert_eq!(
        app.post("/api/v1/auth/verify-email", json!({ "token": token }))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let again = app
        .post("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_problem(again, StatusCode::BAD_REQUEST, "verification_token_invalid").await;
    assert_eq!(app.login(&email, PASSWORD).await.status(), StatusCode::OK);

    let missing = app.post("/api/v1/auth/verify-email", json!({})).await;
    let body = assert_problem(
        missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&body), vec![("/token".into(), "required".into())]);
}

#[tokio::test]
async fn an_expired_verification_link_is_refused_and_changes_nothing() {
    let app = TestApp::builder()
        .set("EMAIL_TOKEN_TTL_SECS", "1")
        .spawn()
        .await;
    let email = unique_email();
    app.register(&email).await;
    let mail = app.verification_mail(&email, 1).await;
    assert!(mail.text.contains("1 Minuten") || mail.text.contains("Minuten"));
    let token = mail.token_for("verify-email");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let expired = app
        .post("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_problem(
        expired,
        StatusCode::BAD_REQUEST,
        "verification_token_expired",
    )
    .await;
    assert_problem(
        app.login(&email, PASSWORD).await,
        StatusCode::FORBIDDEN,
        "email_not_verified",
    )
    .await;
}

#[tokio::test]
async fn resend_sends_a_fresh_link_at_most_once_a_minute_and_old_links_die() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    app.register(&email).await;
    let first = app
        .verification_mail(&email, 1)
        .await
        .token_for("verify-email");

    // Within the minute: accepted, but nothing is sent.
    let resend = app
        .post(
            "/api/v1/auth/verify-email/resend",
            json!({ "email": email }),
        )
        .await;
    assert_eq!(resend.status(), StatusCode::ACCEPTED);
    app.mail.assert_count_settles(&email, 1).await;

    // A minute later (moved back in the database): a new link, and the old one dies.
    app.with_db(|conn| {
        use diesel::prelude::*;
        use firmenportal::schema::email_tokens::dsl::*;
        let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(2);
        diesel::update(email_tokens)
            .set(created_at.eq(long_ago))
            .execute(conn)
            .unwrap();
    })
    .await;
    let resend = app
        .post(
            "/api/v1/auth/verify-email/resend",
            json!({ "email": email }),
        )
        .await;
    assert_eq!(resend.status(), StatusCode::ACCEPTED);
    let second = app
        .verification_mail(&email, 2)
        .await
        .token_for("verify-email");
    assert_ne!(first, second);
    let old = app
        .post("/api/v1/auth/verify-email", json!({ "token": first }))
        .await;
    assert_problem(old, StatusCode::BAD_REQUEST, "verification_token_invalid").await;
    assert_eq!(
        app.post("/api/v1/auth/verify-email", json!({ "token": second }))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answers() {
    let app = TestApp::spawn().await;
    let known = unique_email();
    app.register(&known).await;
    app.verification_mail(&known, 1).await;
    let unknown = unique_email();

    for path in [
        "/api/v1/auth/verify-email/resend",
        "/api/v1/auth/password/forgot",
    ] {
        let a = app.post(path, json!({ "email": known })).await;
        let b = app.post(path, json!({ "email": unknown })).await;
        assert_eq!(a.status(), StatusCode::ACCEPTED);
        assert_eq!(a.status(), b.status());
        assert_eq!(a.text().await.unwrap(), b.text().await.unwrap(), "{path}");
    }

    let again = app.register(&known).await;
    let fresh = app.register(&unknown).await;
    assert_eq!(again.status(), fresh.status());
    assert_eq!(again.text().await.unwrap(), fresh.text().await.unwrap());

    // The known address learns about it by e-mail instead.
    let mails = app.mail.to(&known);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut exists = None;
    while exists.is_none() && std::time::Instant::now() < deadline {
        exists = app
            .mail
            .to(&known)
            .into_iter()
            .find(|m| m.subject == "Sie haben bereits ein Konto");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exists = exists.unwrap_or_else(|| panic!("account-exists mail, got {mails:?}"));
    assert!(exists.text.contains("https://portal.test/forgot-password"));

    // Login: a wrong password and an unknown address look the same.
    let wrong = app.login(&known, "Falsches-Passwort-1").await;
    let nobody = app.login(&unknown, "Falsches-Passwort-1").await;
    assert_eq!(
        wrong.headers()["www-authenticate"],
        nobody.headers()["www-authenticate"]
    );
    let wrong = assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let nobody = assert_problem(nobody, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(wrong, nobody);
}

#[tokio::test]
async fn unknown_addresses_take_about_as_long_as_known_ones() {
    let app = TestApp::spawn().await;
    let known = unique_email();
    app.register(&known).await;
    let unknown = unique_email();
    let mut known_ms = Vec::new();
    let mut unknown_ms = Vec::new();
    for _ in 0..5 {
        let started = std::time::Instant::now();
        app.login(&known, "Falsches-Passwort-1").await;
        known_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = std::time::Instant::now();
        app.login(&unknown, "Falsches-Passwort-1").await;
        unknown_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (known, unknown) = (median(&mut known_ms), median(&mut unknown_ms));
    // Both verify one argon2 hash; without the dummy hash an unknown address would
    // answer several times faster.
    assert!(
        unknown > known / 3.0,
        "unknown {unknown:.1} ms vs known {known:.1} ms"
    );
}

#[tokio::test]
async fn concurrent_registrations_of_one_address_create_one_account() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_EMAIL_PER_ADDRESS", "100")
        .spawn()
        .await;
    let email = unique_email();
    let attempts = (0..6).map(|_| app.register(&email));
    let responses = futures_util::future::join_all(attempts).await;
    assert!(responses.iter().all(|r| r.status() == StatusCode::ACCEPTED));

    let accounts = app
        .with_db({
            let email = email.clone();
            move |conn| {
                use diesel::prelude::*;
                use firmenportal::schema::accounts::dsl;
                dsl::accounts
                    .filter(dsl::email.eq(email))
                    .count()
                    .get_result::<i64>(conn)
                    .unwrap()
            }
        })
        .await;
    assert_eq!(accounts, 1);
    let mails = {
        app.mail.wait_for(&email, 6).await;
        app.mail.to(&email)
    };
    let verifications = mails
        .iter()
        .filter(|m| m.subject.contains("bestätigen"))
        .count();
    assert_eq!(
        verifications, 1,
        "one verification mail, the others 'account exists'"
    );
}

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
async fn changing_the_password_ends_other_sessions_but_keeps_this_one() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    let this = app.signed_up_user(&email).await;
    let other: crate::helpers::Tokens = app
        .login(&email, PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap()
        .into();

    let wrong = app
        .request(
            Method::POST,
            "/api/v1/me/password",
            Some(&this.access),
            Some(json!({ "current_password": "Falsches-Passwort", "password": "Neues-Passwort-2025", "password_confirmation": "Neues-Passwort-2025" })),
        )
        .await;
    let problem =
        assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&problem),
        vec![("/current_password".into(), "password_incorrect".into())]
    );

    let changed = app
        .request(
            Method::POST,
            "/api/v1/me/password",
            Some(&this.access),
            Some(json!({ "current_password": PASSWORD, "password": "Neues-Passwort-2025", "password_confirmation": "Neues-Passwort-2025" })),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", Some(&this.access)).await.status(),
        StatusCode::OK
    );
    assert_problem(
        app.get("/api/v1/me", Some(&other.access)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": other.refresh }),
        )
        .await;
    assert_problem(refresh, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&email, "Neues-Passwort-2025").await.status(),
        StatusCode::OK
    );

    let me: Value = app
        .get("/api/v1/me", Some(&this.access))
        .await
        .json()
        .await
        .unwrap();
    let actions = app.audit_actions(me["id"].as_str().unwrap()).await;
    assert!(
        actions.contains(&"account.password_changed".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"auth.login_failed".to_string()),
        "{actions:?}"
    );
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

    let actions = app.audit_actions(&id).await;
    assert!(
        actions.contains(&"account.deleted".to_string()),
        "{actions:?}"
    );
    let leaked = app
        .with_db({
            let email = email.clone();
            let id = id.clone();
            move |conn| {
                use diesel::prelude::*;
                use firmenportal::schema::{audit_log, email_outbox};
                let audit: Vec<Option<String>> = audit_log::table
                    .select(audit_log::details)
                    .load(conn)
                    .unwrap();
                let entries_with_ip: i64 = audit_log::table
                    .filter(audit_log::subject_id.eq(&id))
                    .filter(audit_log::client_ip.is_not_null())
                    .count()
                    .get_result(conn)
                    .unwrap();
                assert_eq!(
                    entries_with_ip, 0,
                    "client IPs of the deleted account are gone"
                );
                let outbox: i64 = email_outbox::table
                    .filter(email_outbox::recipient.eq(&email))
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
