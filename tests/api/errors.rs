//! Every failure the service can produce answers RFC 9457 problem+json.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, pointers};

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    let body = assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
    assert!(
        !body["detail"].as_str().unwrap().contains("line"),
        "no parser internals"
    );
}

#[tokio::test]
async fn a_wrongly_typed_field_is_named_by_pointer() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/v1/auth/login",
            json!({ "email": 42, "password": "x" }),
        )
        .await;
    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&body),
        vec![("/email".to_string(), "invalid_type".to_string())]
    );
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("email=a")
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let missing = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(
        missing,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn body_over_64_kib_is_413() {
    let app = TestApp::spawn().await;
    let big = json!({ "email": "a@example.de", "password": "x".repeat(70 * 1024) });
    let response = app.post("/api/v1/auth/login", big).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    assert_problem(
        app.get("/api/v1/nothing-here", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(app.get("/", None).await, StatusCode::NOT_FOUND, "not_found").await;

    let wrong = app
        .request(Method::GET, "/api/v1/auth/login", None, None)
        .await;
    assert_eq!(wrong.headers()["allow"], "POST");
    assert_problem(wrong, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

    let put_me = app.request(Method::PUT, "/api/v1/me", None, None).await;
    assert_eq!(put_me.headers()["allow"], "DELETE, GET, PATCH");
    assert_problem(put_me, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

#[tokio::test]
async fn problems_are_german_by_default_and_english_on_request() {
    let app = TestApp::spawn().await;
    let german = app.get("/api/v1/unknown", None).await;
    assert_eq!(german.headers()["content-language"], "de");
    let body = assert_problem(german, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(body["title"], "Nicht gefunden");

    let english = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("accept-language", "en-GB,en;q=0.9,de;q=0.5")
        .json(&json!({ "email": "not-an-address" }))
        .send()
        .await
        .unwrap();
    assert_eq!(english.headers()["content-language"], "en");
    let body = assert_problem(
        english,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["title"], "Invalid input");
    assert_eq!(
        body["errors"][0]["detail"],
        "Please enter a valid e-mail address."
    );

    let preferring_german = app
        .client
        .get(app.url("/api/v1/me"))
        .header("accept-language", "fr, de;q=0.8, en;q=0.5")
        .send()
        .await
        .unwrap();
    let body = assert_problem(preferring_german, StatusCode::UNAUTHORIZED, "missing_token").await;
    assert_eq!(body["title"], "Anmeldung erforderlich");
}

#[tokio::test]
async fn missing_invalid_and_expired_tokens_are_401_with_www_authenticate() {
    let app = TestApp::builder()
        .set("ACCESS_TOKEN_TTL_SECS", "1")
        .spawn()
        .await;
    let missing = app.get("/api/v1/me", None).await;
    assert!(
        missing.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    assert_problem(missing, StatusCode::UNAUTHORIZED, "missing_token").await;

    let garbage = app.get("/api/v1/me", Some("not.a.jwt")).await;
    assert!(
        garbage.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_problem(garbage, StatusCode::UNAUTHORIZED, "invalid_token").await;

    let tokens = app.signed_up_user("expiry@example.de").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&tokens.access)).await.status(),
        StatusCode::OK
    );

    // A token signed with another algorithm or tampered with is refused.
    let mut tampered = tokens.access.clone();
    tampered.pop();
    tampered.push(if tokens.access.ends_with('A') {
        'B'
    } else {
        'A'
    });
    assert_problem(
        app.get("/api/v1/me", Some(&tampered)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "x", "exp": 9999999999u64}),
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    assert_problem(
        app.get("/api/v1/me", Some(&hs256)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;

    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let expired = app.get("/api/v1/me", Some(&tokens.access)).await;
    assert!(
        expired.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert_problem(expired, StatusCode::UNAUTHORIZED, "token_expired").await;
}
