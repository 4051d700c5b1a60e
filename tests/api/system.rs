use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, TestDatabase, assert_problem};

#[tokio::test]
async fn health_endpoints_answer_and_every_response_has_a_request_id() {
    let app = TestApp::spawn().await;
    let live = app.get("/health/live", None).await;
    assert_eq!(live.status(), StatusCode::OK);
    assert!(live.headers().contains_key("x-request-id"));

    let ready = app.get("/health/ready", None).await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ok");

    let echoed = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-abc-123");

    // A hostile id is replaced, not echoed.
    let replaced = app
        .client
        .get(app.url("/nope"))
        .header("x-request-id", "bad id\twith spaces")
        .send()
        .await
        .unwrap();
    let id = replaced.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(id, "bad id\twith spaces");
    assert_eq!(id.len(), 36);
}

#[tokio::test]
async fn swagger_ui_and_the_openapi_document_are_served() {
    let app = TestApp::spawn().await;
    let ui = app.get("/swagger-ui/", None).await;
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(ui.text().await.unwrap().contains("swagger"));
    let doc: Value = app
        .get("/api-docs/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/auth/register"]["post"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer_auth"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn jwks_publishes_the_key_that_signs_access_tokens() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_up_user("jwks@example.de").await;
    let jwks: Value = app
        .get("/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&tokens.access).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let kid = header.kid.expect("kid");
    let key = &jwks["keys"][0];
    assert_eq!(key["kid"], kid.as_str());
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");

    // Another service can verify the token with the published key alone.
    let decoding =
        jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["firmenportal-api"]);
    validation.set_issuer(&["firmenportal"]);
    let claims = jsonwebtoken::decode::<Value>(&tokens.access, &decoding, &validation)
        .expect("verifies with the JWKS key")
        .claims;
    for claim in ["iss", "aud", "sub", "exp", "nbf", "iat", "jti", "typ"] {
        assert!(claims.get(claim).is_some(), "claim {claim}");
    }
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 900);
}

#[tokio::test]
async fn generated_development_key_survives_a_restart() {
    let first = TestApp::spawn().await;
    let tokens = first.signed_up_user("restart@example.de").await;
    let data_dir = tempfile::tempdir().unwrap();
    // Same data directory and database: a restarted instance.
    for entry in std::fs::read_dir(first.data_dir.path()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), data_dir.path().join(entry.file_name())).unwrap();
    }
    let second = TestApp::builder()
        .database(first.database.clone())
        .data_dir(data_dir)
        .spawn()
        .await;
    let me = second.get("/api/v1/me", Some(&tokens.access)).await;
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn rotated_keys_still_verify_until_removed() {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let dir = tempfile::tempdir().unwrap();
    let old_key = dir.path().join("old.pem");
    let new_key = dir.path().join("new.pem");
    for path in [&old_key, &new_key] {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        std::fs::write(
            path,
            key.to_pkcs8_pem(Default::default()).unwrap().as_bytes(),
        )
        .unwrap();
    }
    let old_app = TestApp::builder()
        .set("JWT_SIGNING_KEY_FILE", old_key.to_str().unwrap())
        .spawn()
        .await;
    let tokens = old_app.signed_up_user("rotate@example.de").await;

    let rotated = TestApp::builder()
        .database(old_app.database.clone())
        .set("JWT_SIGNING_KEY_FILE", new_key.to_str().unwrap())
        .set("JWT_VERIFICATION_KEY_FILES", old_key.to_str().unwrap())
        .spawn()
        .await;
    assert_eq!(
        rotated
            .get("/api/v1/me", Some(&tokens.access))
            .await
            .status(),
        StatusCode::OK
    );
    let jwks: Value = rotated
        .get("/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);

    let removed = TestApp::builder()
        .database(old_app.database.clone())
        .set("JWT_SIGNING_KEY_FILE", new_key.to_str().unwrap())
        .spawn()
        .await;
    let refused = removed.get("/api/v1/me", Some(&tokens.access)).await;
    assert_problem(refused, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn database_outage_answers_503_quickly_and_recovers() {
    let database = std::sync::Arc::new(TestDatabase::create());
    if !database.is_postgres() {
        // An embedded SQLite file cannot go away underneath the server; the outage is
        // exercised on PostgreSQL (TEST_DATABASE_URL).
        return;
    }
    let app = TestApp::builder().database(database.clone()).spawn().await;
    assert_eq!(
        app.get("/health/ready", None).await.status(),
        StatusCode::OK
    );
    let name = database.name().to_string();
    database.admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"));
    database.admin_sql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ));

    let started = Instant::now();
    let down = app.get("/health/ready", None).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(down.headers()["retry-after"], "5");
    let body = assert_problem(down, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable").await;
    assert!(
        !body.to_string().to_lowercase().contains("postgres"),
        "no internal cause: {body}"
    );

    let register = app.register("outage@example.de").await;
    assert_problem(
        register,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;

    database.admin_sql(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if app.get("/health/ready", None).await.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        app.register("outage@example.de").await.status(),
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn browsers_on_the_frontend_origin_may_call_the_api() {
    let app = TestApp::spawn().await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
        .header("origin", "https://portal.test")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::OK);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://portal.test"
    );

    let answer = app
        .client
        .get(app.url("/api/v1/me"))
        .header("origin", "https://portal.test")
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://portal.test"
    );
    let exposed = answer.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("x-request-id") && exposed.contains("retry-after"),
        "{exposed}"
    );
    assert_eq!(answer.headers()["cache-control"], "no-store");
    assert_eq!(answer.headers()["x-content-type-options"], "nosniff");

    let foreign = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(
        !foreign
            .headers()
            .contains_key("access-control-allow-origin")
    );
    assert_problem(foreign, StatusCode::BAD_REQUEST, "bad_request").await;
}
