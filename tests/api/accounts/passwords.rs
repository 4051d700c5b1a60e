//! Passwords: forgot and reset by e-mailed link, change, and the confirmations with the
//! current password.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures;
use crate::helpers::{
    PASSWORD, TestApp, Tokens, assert_problem, count_audited, pointers, release_together,
    retry_after, unique_email,
};

#[tokio::test]
async fn password_reset_by_mailed_link_ends_every_session() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    let tokens = app.signed_up_user(&email).await;

    let forgot = app
        .post("/api/v1/auth/password/forgot", json!({ "email": email }))
        .await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let mail = app.mail.wait_for(&email, 2).await;
    assert_eq!(mail.subject, "Passwort zurücksetzen");
    let token = mail.token_for("reset-password");

    let invalid = app
        .post(
            "/api/v1/auth/password/reset",
            json!({ "token": token, "password": "kurz", "password_confirmation": "kurz" }),
        )
        .await;
    let problem = assert_problem(
        invalid,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        vec![("/password".into(), "too_short".into())]
    );

    let reset = app
        .post(
            "/api/v1/auth/password/reset",
            json!({ "token": token, "password": "Neues-Passwort-2025", "password_confirmation": "Neues-Passwort-2025" }),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);

    app.assert_session_ended(&tokens).await;
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let fresh = app.login(&email, "Neues-Passwort-2025").await;
    assert_eq!(fresh.status(), StatusCode::OK);
    let fresh: Tokens = fresh.json::<Value>().await.unwrap().into();
    let me: Value = app
        .get("/api/v1/me", Some(&fresh.access))
        .await
        .json()
        .await
        .unwrap();
    let actions = app.audit_actions(me["id"].as_str().unwrap()).await;
    for expected in ["account.password_reset_requested", "account.password_reset"] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }

    let reused = app
        .post(
            "/api/v1/auth/password/reset",
            json!({ "token": token, "password": "Noch-ein-Passwort-9", "password_confirmation": "Noch-ein-Passwort-9" }),
        )
        .await;
    assert_problem(
        reused,
        StatusCode::BAD_REQUEST,
        "password_reset_token_invalid",
    )
    .await;
    assert_eq!(
        app.login(&email, "Neues-Passwort-2025").await.status(),
        StatusCode::OK,
        "nothing changed"
    );
}

#[tokio::test]
async fn an_expired_reset_link_is_refused() {
    let app = TestApp::builder()
        .set("EMAIL_TOKEN_TTL_SECS", "1")
        .spawn()
        .await;
    let email = unique_email();
    app.register(&email).await;
    app.mail.wait_for(&email, 1).await;
    app.post("/api/v1/auth/password/forgot", json!({ "email": email }))
        .await;
    let token = app
        .mail
        .wait_for(&email, 2)
        .await
        .token_for("reset-password");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let expired = app
        .post(
            "/api/v1/auth/password/reset",
            json!({ "token": token, "password": "Neues-Passwort-2025", "password_confirmation": "Neues-Passwort-2025" }),
        )
        .await;
    assert_problem(
        expired,
        StatusCode::BAD_REQUEST,
        "password_reset_token_expired",
    )
    .await;
}

#[tokio::test]
async fn a_reset_link_verifies_an_unverified_address() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    app.register(&email).await;
    app.mail.wait_for(&email, 1).await;
    app.post("/api/v1/auth/password/forgot", json!({ "email": email }))
        .await;
    let token = app
        .mail
        .wait_for(&email, 2)
        .await
        .token_for("reset-password");
    let reset = app
        .request(
            Method::POST,
            "/api/v1/auth/password/reset",
            None,
            Some(json!({ "token": token, "password": "Neues-Passwort-2025", "password_confirmation": "Neues-Passwort-2025" })),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.login(&email, "Neues-Passwort-2025").await.status(),
        StatusCode::OK
    );
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
    app.assert_session_ended(&other).await;
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
async fn a_reset_with_a_wrong_token_costs_no_hash() {
    let app = TestApp::spawn().await;
    let before = app.state.hasher.computations();
    for token in [
        "not-a-real-token",
        "q3VnZbq4t8Zr0kqjv3q8P1Q0S5m7yJbH0mW8u2c4x6E",
    ] {
        let answer = app
            .post(
                "/api/v1/auth/password/reset",
                json!({ "token": token, "password": "Neues-Passwort-2025", "password_confirmation": "Neues-Passwort-2025" }),
            )
            .await;
        assert_problem(
            answer,
            StatusCode::BAD_REQUEST,
            "password_reset_token_invalid",
        )
        .await;
    }
    assert_eq!(
        app.state.hasher.computations(),
        before,
        "the token is checked before the new password is hashed"
    );
}

#[tokio::test]
async fn password_resets_are_limited_per_client() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_PASSWORD_RESET_PER_IP", "3")
        .spawn()
        .await;
    let attempt = || {
        app.post(
            "/api/v1/auth/password/reset",
            json!({ "token": "erraten", "password": "Neues-Passwort-2025", "password_confirmation": "Neues-Passwort-2025" }),
        )
    };
    for _ in 0..3 {
        assert_eq!(attempt().await.status(), StatusCode::BAD_REQUEST);
    }
    let limited = attempt().await;
    assert!((1..=3600).contains(&retry_after(&limited)));
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn a_password_change_ends_an_outstanding_reset_link() {
    let app = TestApp::spawn().await;
    let account = fixtures::account().insert(&app).await;
    let tokens = account.login(&app).await;
    app.post(
        "/api/v1/auth/password/forgot",
        json!({ "email": account.email }),
    )
    .await;
    let link = app
        .mail
        .wait_for(&account.email, 1)
        .await
        .token_for("reset-password");

    let changed = app
        .request(
            Method::POST,
            "/api/v1/me/password",
            Some(&tokens.access),
            Some(json!({ "current_password": PASSWORD, "password": "Neues-Passwort-2025", "password_confirmation": "Neues-Passwort-2025" })),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);

    let reset = app
        .post(
            "/api/v1/auth/password/reset",
            json!({ "token": link, "password": "Boeses-Passwort-2025", "password_confirmation": "Boeses-Passwort-2025" }),
        )
        .await;
    assert_problem(
        reset,
        StatusCode::BAD_REQUEST,
        "password_reset_token_invalid",
    )
    .await;
    assert_eq!(
        app.login(&account.email, "Neues-Passwort-2025")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_current_passwords_checks_no_more_than_the_account_allows() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_ACCOUNT", "5")
        .set("PASSWORD_HASHING_QUEUE", "100")
        .spawn()
        .await;
    let account = fixtures::account().insert(&app).await;
    let tokens = account.login(&app).await;
    let before = app.state.hasher.computations();
    let answers = release_together(&app, 30, |i| {
        let change = app.post_later(
            "/api/v1/me/password",
            Some(&tokens.access),
            json!({ "current_password": format!("Falsch-{i}-Passwort"), "password": "Neues-Passwort-2025", "password_confirmation": "Neues-Passwort-2025" }),
        );
        let client = app.client.clone();
        let (url, access) = (app.url("/api/v1/me"), tokens.access.clone());
        async move {
            if i % 2 == 0 {
                change.await
            } else {
                client
                    .delete(url)
                    .bearer_auth(access)
                    .json(&json!({ "password": format!("Falsch-{i}-Passwort") }))
                    .send()
                    .await
                    .unwrap()
            }
        }
    })
    .await;
    let checked = answers
        .iter()
        .filter(|a| a.status() == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let limited = answers
        .iter()
        .filter(|a| a.status() == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, limited), (5, 25));
    assert_eq!(
        count_audited(&app, "account.password_check_failed").await,
        5,
        "only the allowed attempts were checked"
    );
    assert_eq!(app.state.hasher.computations() - before, 5);
    assert_eq!(
        app.me(&tokens.access).await["email"],
        account.email.as_str()
    );
}

#[tokio::test]
async fn a_right_current_password_gives_its_attempt_back() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_ACCOUNT", "2")
        .spawn()
        .await;
    let account = fixtures::account().insert(&app).await;
    let tokens = account.login(&app).await;
    let change = |current: &str, new: &str| {
        app.request(
            Method::POST,
            "/api/v1/me/password",
            Some(&tokens.access),
            Some(json!({ "current_password": current, "password": new, "password_confirmation": new })),
        )
    };
    // Three right confirmations in a row stay within an allowance of two.
    assert_eq!(
        change(PASSWORD, "Zweites-Passwort-22").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        change("Zweites-Passwort-22", "Drittes-Passwort-33")
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        change("Drittes-Passwort-33", "Viertes-Passwort-44")
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}
