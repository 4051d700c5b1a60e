//! Rate limits live in the database: they hold across instances. Client IPs come from
//! trusted proxies only; IPv6 clients count by their /64.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_problem, retry_after, unique_email};

#[tokio::test]
async fn failed_logins_per_account_are_limited_with_retry_after() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_ACCOUNT", "3")
        .spawn()
        .await;
    let email = unique_email();
    app.signed_up_user(&email).await;
    for _ in 0..3 {
        assert_eq!(
            app.login(&email, "Falsches-Passwort-1").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = app.login(&email, PASSWORD).await;
    let seconds = retry_after(&limited);
    assert!((1..=900).contains(&seconds), "Retry-After {seconds}");
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    // Unknown addresses are limited the same way (no enumeration through the limit).
    let unknown = unique_email();
    for _ in 0..3 {
        app.login(&unknown, "Falsches-Passwort-1").await;
    }
    assert_problem(
        app.login(&unknown, "x").await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn wrong_current_passwords_count_against_the_login_allowance() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_ACCOUNT", "3")
        .spawn()
        .await;
    let email = unique_email();
    let tokens = app.signed_up_user(&email).await;
    let change = |current: &str| {
        json!({
            "current_password": current,
            "password": "Neues-Passwort-2025",
            "password_confirmation": "Neues-Passwort-2025",
        })
    };
    for _ in 0..2 {
        let wrong = app
            .request(
                Method::POST,
                "/api/v1/me/password",
                Some(&tokens.access),
                Some(change("Falsches-Passwort-1")),
            )
            .await;
        assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let wrong_delete = app
        .request(
            Method::DELETE,
            "/api/v1/me",
            Some(&tokens.access),
            Some(json!({ "password": "Falsches-Passwort-1" })),
        )
        .await;
    assert_problem(
        wrong_delete,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    // The allowance is used up: even the right password waits, here and at login.
    let limited = app
        .request(
            Method::POST,
            "/api/v1/me/password",
            Some(&tokens.access),
            Some(change(PASSWORD)),
        )
        .await;
    assert!((1..=900).contains(&retry_after(&limited)));
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_problem(
        app.login(&email, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    // Nothing changed: the account is still there with its password.
    assert_eq!(
        app.get("/api/v1/me", Some(&tokens.access)).await.status(),
        StatusCode::OK
    );

    let me: serde_json::Value = app
        .get("/api/v1/me", Some(&tokens.access))
        .await
        .json()
        .await
        .unwrap();
    let actions = app.audit_actions(me["id"].as_str().unwrap()).await;
    let failures = actions
        .iter()
        .filter(|a| *a == "account.password_check_failed")
        .count();
    assert_eq!(failures, 3, "{actions:?}");
}

#[tokio::test]
async fn a_successful_login_clears_the_account_counter() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_ACCOUNT", "3")
        .spawn()
        .await;
    let email = unique_email();
    app.signed_up_user(&email).await;
    for _ in 0..2 {
        app.login(&email, "Falsches-Passwort-1").await;
    }
    assert_eq!(app.login(&email, PASSWORD).await.status(), StatusCode::OK);
    for _ in 0..2 {
        assert_eq!(
            app.login(&email, "Falsches-Passwort-1").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn failed_logins_per_ip_are_limited() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_IP", "3")
        .spawn()
        .await;
    for _ in 0..3 {
        assert_eq!(
            app.login(&unique_email(), "Falsches-Passwort-1")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_problem(
        app.login(&unique_email(), "x").await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn registration_resend_and_forgot_are_limited_per_address_and_ip() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_EMAIL_PER_ADDRESS", "2")
        .set("RATE_LIMIT_EMAIL_PER_IP", "6")
        .spawn()
        .await;
    let email = unique_email();
    for _ in 0..2 {
        assert_eq!(app.register(&email).await.status(), StatusCode::ACCEPTED);
    }
    let limited = app.register(&email).await;
    assert!(retry_after(&limited) > 0);
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    // Every request that sends mail to the address shares its allowance.
    let limited = app
        .post("/api/v1/auth/password/forgot", json!({ "email": email }))
        .await;
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    // Per IP: the two accepted requests counted, the two refused ones did not; four more
    // addresses use up the allowance of six.
    for _ in 0..4 {
        let other = app
            .post(
                "/api/v1/auth/verify-email/resend",
                json!({ "email": unique_email() }),
            )
            .await;
        assert_eq!(other.status(), StatusCode::ACCEPTED);
    }
    let limited = app
        .post(
            "/api/v1/auth/verify-email/resend",
            json!({ "email": unique_email() }),
        )
        .await;
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn two_instances_on_one_database_share_one_limit() {
    let first = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_ACCOUNT", "4")
        .spawn()
        .await;
    // Its mail goes to the first's inbox: either instance's worker may send the
    // verification mail the sign-up below waits for.
    let second = TestApp::builder()
        .database(first.database.clone())
        .smtp_port(first.mail.port)
        .set("RATE_LIMIT_LOGIN_PER_ACCOUNT", "4")
        .spawn()
        .await;
    let email = unique_email();
    first.signed_up_user(&email).await;
    for app in [&first, &second, &first, &second] {
        assert_eq!(
            app.login(&email, "Falsches-Passwort-1").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_problem(
        second.login(&email, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    assert_problem(
        first.login(&email, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;

    // A restart keeps the count: a fresh instance on the same database still refuses.
    let restarted = TestApp::builder()
        .database(first.database.clone())
        .set("RATE_LIMIT_LOGIN_PER_ACCOUNT", "4")
        .spawn()
        .await;
    assert_problem(
        restarted.login(&email, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn forwarded_client_ips_count_only_behind_a_trusted_proxy() {
    let behind_proxy = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_IP", "2")
        .set("TRUSTED_PROXIES", "127.0.0.1")
        .spawn()
        .await;
    for _ in 0..2 {
        login_from(&behind_proxy, "203.0.113.7").await;
    }
    assert_eq!(
        login_from(&behind_proxy, "203.0.113.7").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_from(&behind_proxy, "203.0.113.8").await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Without a trusted proxy the header is ignored: the socket address counts.
    let direct = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_IP", "2")
        .spawn()
        .await;
    login_from(&direct, "203.0.113.7").await;
    login_from(&direct, "203.0.113.8").await;
    assert_eq!(
        login_from(&direct, "203.0.113.9").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

fn login_from(
    app: &TestApp,
    forwarded_for: &str,
) -> impl std::future::Future<Output = reqwest::Response> {
    let request = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "email": unique_email(), "password": "Falsches-Passwort-1" }));
    async move { request.send().await.unwrap() }
}

#[tokio::test]
async fn ipv6_clients_of_one_64_share_an_allowance() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_IP", "2")
        .set("TRUSTED_PROXIES", "127.0.0.1")
        .spawn()
        .await;
    for ip in ["2001:db8:1:2::1", "2001:db8:1:2::2"] {
        assert_eq!(
            login_from(&app, ip).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Another address of the same /64 gains nothing; another /64 is another client.
    assert_eq!(
        login_from(&app, "2001:db8:1:2:ffff:ffff:ffff:ffff")
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_from(&app, "2001:db8:1:3::1").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_unparseable_forwarded_hop_ends_the_walk_instead_of_being_skipped() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_IP", "2")
        .set("TRUSTED_PROXIES", "127.0.0.1")
        .spawn()
        .await;
    // What lies beyond a hop that does not parse cannot be trusted: every one of these
    // counts as the nearest trusted hop, however the client varies its made-up address.
    for forged in ["203.0.113.7, unbekannt", "203.0.113.8, unbekannt"] {
        assert_eq!(
            login_from(&app, forged).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        login_from(&app, "203.0.113.9, unbekannt").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}
