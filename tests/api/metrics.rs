//! Prometheus metrics on their own listener: route templates, never raw paths; a fixed
//! set of series however many unknown paths are asked for; the API serves on when the
//! listener is off or cannot bind.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::fixtures;
use crate::helpers::{TestApp, sample, series_count};

const DURATION_COUNT: &str = "http_server_request_duration_seconds_count";

/// Scrapes until `name{labels}` reaches `at_least` (counters of work that finishes just
/// after its answer, such as a sent e-mail), or panics after 10 s.
pub async fn scrape_until(
    app: &TestApp,
    name: &str,
    labels: &[(&str, &str)],
    at_least: f64,
) -> String {
    for _ in 0..100 {
        let text = app.scrape().await;
        if sample(&text, name, labels).is_some_and(|value| value >= at_least) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name}{labels:?} never reached {at_least}");
}

#[tokio::test]
async fn requests_are_counted_by_route_template_on_the_metrics_listener_only() {
    let app = TestApp::spawn().await;
    let account = fixtures::account().insert(&app).await;
    let tokens = account.login(&app).await;
    app.me(&tokens.access).await;
    let id = uuid::Uuid::new_v4().to_string();
    let missing = app
        .get(
            &format!("/api/v1/me/applications/{id}"),
            Some(&tokens.access),
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let link = app
        .request(
            Method::POST,
            "/api/v1/me/subscriptions/link",
            Some(&tokens.access),
            Some(json!({"number": "999999", "birth_date": "1990-10-05", "last_name": "Niemand", "postal_code": "34117"})),
        )
        .await;
    assert_eq!(link.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Never on the public port.
    let public = app.get("/metrics", None).await;
    assert_eq!(public.status(), StatusCode::NOT_FOUND);

    let address = app.metrics_address.clone().unwrap();
    let scraped = app
        .client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        scraped.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let text = scraped.text().await.unwrap();
    let requests = |method: &str, route: &str, status: &str| {
        sample(
            &text,
            DURATION_COUNT,
            &[
                ("http_request_method", method),
                ("http_route", route),
                ("http_response_status_code", status),
            ],
        )
    };
    assert_eq!(requests("GET", "/api/v1/me", "200"), Some(1.0));
    assert_eq!(requests("POST", "/api/v1/auth/login", "200"), Some(1.0));
    assert_eq!(
        requests("GET", "/api/v1/me/applications/{id}", "404"),
        Some(1.0)
    );
    assert_eq!(requests("GET", "unmatched", "404"), Some(1.0));
    assert!(!text.contains(&id), "a raw path leaked into a label");
    // The conventions' bucket bounds, from 5 ms to 10 s.
    for bound in ["0.005", "0.075", "10"] {
        assert!(
            sample(
                &text,
                "http_server_request_duration_seconds_bucket",
                &[("http_route", "/api/v1/me"), ("le", bound)]
            )
            .is_some(),
            "no bucket le={bound}"
        );
    }
    assert_eq!(
        sample(
            &text,
            "firmenportal_links_total",
            &[("outcome", "not_matched")]
        ),
        Some(1.0)
    );
    // The login verified one password on a hashing thread.
    assert!(
        sample(
            &text,
            "firmenportal_password_hash_duration_seconds_count",
            &[]
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(
        sample(&text, "firmenportal_password_hash_queue_depth", &[]),
        Some(0.0)
    );
    assert!(sample(&text, "db_client_connection_max", &[]).unwrap() >= 1.0);
    assert!(sample(&text, "db_client_connection_count", &[("state", "idle")]).is_some());
    assert!(sample(&text, "db_client_connection_count", &[("state", "used")]).is_some());
    assert!(sample(&text, "db_client_connection_wait_time_seconds_count", &[]).unwrap() >= 1.0);
    assert_eq!(
        sample(&text, "firmenportal_spans_dropped_total", &[]),
        Some(0.0)
    );
    for name in [
        "firmenportal_outbox_pending",
        "firmenportal_outbox_oldest_pending_age_seconds",
        "firmenportal_outbox_sent_total",
        "firmenportal_outbox_failed_total",
        "firmenportal_webhook_deliveries_pending",
        "firmenportal_webhook_deliveries_oldest_pending_age_seconds",
        "firmenportal_webhook_deliveries_delivered_total",
        "firmenportal_webhook_deliveries_failed_total",
        "firmenportal_applications_submitted_total",
        "firmenportal_customer_codes_generated_total",
        "firmenportal_tickets_cancelled_total",
        "process_cpu_seconds_total",
        "process_open_fds",
    ] {
        assert!(sample(&text, name, &[]).is_some(), "{name} missing");
    }
    assert!(sample(&text, "process_resident_memory_bytes", &[]).unwrap() > 1e6);
    // Every known label value is there from the start, at 0.
    assert_eq!(
        sample(
            &text,
            "firmenportal_rate_limit_refusals_total",
            &[("limit", "code_check_per_ip")]
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "firmenportal_applications_decided_total",
            &[("decision", "rejected")]
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "firmenportal_links_total", &[("outcome", "linked")]),
        Some(0.0)
    );
}

#[tokio::test]
async fn a_thousand_requests_to_unknown_paths_add_no_series() {
    let app = TestApp::spawn().await;
    let methods = [
        Method::GET,
        Method::POST,
        Method::from_bytes(b"BREW").unwrap(),
    ];
    for method in &methods {
        app.client
            .request(method.clone(), app.url("/first-unknown"))
            .send()
            .await
            .unwrap();
    }
    let before = app.scrape().await;
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let method = methods[i % methods.len()].clone();
            let path = match i % 4 {
                0 => format!("/{}", uuid::Uuid::new_v4()),
                1 => format!("/api/v1/{}", uuid::Uuid::new_v4()),
                2 => format!("/api/v1/contracts/{}/nothing/{i}", uuid::Uuid::new_v4()),
                _ => format!("/swagger-u{i}/x?y={i}"),
            };
            let request = app.client.request(method, app.url(&path)).send();
            tokio::spawn(async move { request.await.unwrap().status() })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_client_error());
    }
    let after = app.scrape().await;
    assert_eq!(
        series_count(&after),
        series_count(&before),
        "new series appeared"
    );
    let unmatched: f64 = after
        .lines()
        .filter(|line| {
            line.starts_with(DURATION_COUNT) && line.contains("http_route=\"unmatched\"")
        })
        .map(|line| line.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
        .sum();
    assert_eq!(unmatched, 1003.0);
}

#[tokio::test]
async fn metrics_turned_off_or_unable_to_bind_leave_the_api_serving() {
    for off in ["off", ""] {
        let app = TestApp::builder()
            .set("METRICS_BIND_ADDR", off)
            .spawn()
            .await;
        assert_eq!(app.metrics_address, None, "METRICS_BIND_ADDR={off:?}");
        assert_eq!(app.get("/health/live", None).await.status(), StatusCode::OK);
    }
    // Another instance on the same host holds the port.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let app = TestApp::builder()
        .set("METRICS_BIND_ADDR", &format!("127.0.0.1:{port}"))
        .spawn()
        .await;
    assert_eq!(app.metrics_address, None);
    assert_eq!(
        app.get("/health/ready", None).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn refused_logins_are_counted_by_their_limit() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_ACCOUNT", "2")
        .spawn()
        .await;
    let account = fixtures::account().insert(&app).await;
    let mut refused = 0;
    for _ in 0..4 {
        if app
            .login(&account.email, "Falsches-Passwort-1")
            .await
            .status()
            == StatusCode::TOO_MANY_REQUESTS
        {
            refused += 1;
        }
    }
    assert_eq!(refused, 2);
    let text = scrape_until(
        &app,
        "firmenportal_rate_limit_refusals_total",
        &[("limit", "login_per_account")],
        2.0,
    )
    .await;
    assert_eq!(
        sample(
            &text,
            "firmenportal_rate_limit_refusals_total",
            &[("limit", "login_per_account")]
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "firmenportal_rate_limit_refusals_total",
            &[("limit", "login_per_ip")]
        ),
        Some(0.0)
    );
}
