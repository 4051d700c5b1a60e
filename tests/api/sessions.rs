//! Refresh-token rotation, reuse detection, logout and password reset.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, Tokens, assert_problem, pointers, unique_email};

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_revokes_the_family() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    let first = app.signed_up_user(&email).await;

    let rotated = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": first.refresh }),
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let second: Tokens = rotated.json::<Value>().await.unwrap().into();
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(
        app.get("/api/v1/me", Some(&second.access)).await.status(),
        StatusCode::OK
    );

    // The old refresh token shows up again: someone copied it. End the whole session.
    let replay = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": first.refresh }),
        )
        .await;
    assert_problem(replay, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    let after = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": second.refresh }),
        )
        .await;
    assert_problem(after, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    assert_problem(
        app.get("/api/v1/me", Some(&second.access)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;

    // Other sessions of the account are untouched.
    let other = app.login(&email, PASSWORD).await;
    assert_eq!(other.status(), StatusCode::OK);

    let me: Value = app
        .get(
            "/api/v1/me",
            Some(&Tokens::from(other.json::<Value>().await.unwrap()).access),
        )
        .await
        .json()
        .await
        .unwrap();
    let actions = app.audit_actions(me["id"].as_str().unwrap()).await;
    assert!(
        actions.contains(&"auth.refresh_token_reused".to_string()),
        "{actions:?}"
    );

    let unknown = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": "made-up" }),
        )
        .await;
    assert_problem(unknown, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn logout_ends_the_session_and_its_access_tokens_at_once() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    let tokens = app.signed_up_user(&email).await;
    let other: Tokens = app
        .login(&email, PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap()
        .into();

    let logout = app
        .post(
            "/api/v1/auth/logout",
            json!({ "refresh_token": tokens.refresh }),
        )
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get("/api/v1/me", Some(&tokens.access)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": tokens.refresh }),
        )
        .await;
    assert_problem(refresh, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&other.access)).await.status(),
        StatusCode::OK,
        "other session lives"
    );

    // Logging out twice is harmless.
    let again = app
        .post(
            "/api/v1/auth/logout",
            json!({ "refresh_token": tokens.refresh }),
        )
        .await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
}

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

    assert_problem(
        app.get("/api/v1/me", Some(&tokens.access)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let refresh = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": tokens.refresh }),
        )
        .await;
    assert_problem(refresh, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
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
async fn refresh_and_logout_name_a_missing_refresh_token() {
    let app = TestApp::spawn().await;
    for path in ["/api/v1/auth/refresh", "/api/v1/auth/logout"] {
        for body in [json!({}), json!({ "refresh_token": "  " })] {
            let response = app.post(path, body).await;
            let problem = assert_problem(
                response,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            )
            .await;
            assert_eq!(
                pointers(&problem),
                vec![("/refresh_token".to_string(), "required".to_string())],
                "{path}"
            );
        }
    }
}
