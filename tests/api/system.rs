//! Operations: health, the OpenAPI document and Swagger UI, database outages.

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
    // Typed without the slash, the address leads there.
    let bare = app.get("/swagger-ui", None).await;
    assert_eq!(bare.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(bare.headers()["location"], "/swagger-ui/");
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
async fn swagger_ui_can_be_switched_off_while_the_document_stays() {
    let app = TestApp::builder().set("SWAGGER_UI", "false").spawn().await;
    for path in ["/swagger-ui/", "/swagger-ui"] {
        assert_problem(
            app.get(path, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let document = app.get("/api-docs/openapi.json", None).await;
    assert_eq!(document.status(), StatusCode::OK);
    let document = document.text().await.unwrap();
    // The committed document is served; it is the code's own to the byte.
    assert_eq!(document, firmenportal::openapi::document_json());
    let document: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(document["info"]["title"], "Firmenportal API");
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
