//! Traces over OTLP/HTTP, checked on the binary (the tracer is the process's) against a
//! collector of the test's own that decodes the protobuf it receives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, unique_email};

/// One received span.
#[derive(Debug, Clone)]
struct ReceivedSpan {
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    attributes: HashMap<String, String>,
    /// The exporting process's `service.name`, from the resource the span came with.
    service_name: String,
}

/// An OTLP/HTTP endpoint on a local port that keeps every span it is sent.
struct Collector {
    port: u16,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    server: actix_web::dev::ServerHandle,
}

impl Collector {
    fn start() -> Collector {
        use actix_web::{App, HttpResponse, HttpServer, web};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let spans: Arc<Mutex<Vec<ReceivedSpan>>> = Arc::default();
        let kept = spans.clone();
        let server = HttpServer::new(move || {
            let kept = kept.clone();
            App::new().route(
                "/v1/traces",
                web::post().to(move |body: web::Bytes| {
                    let kept = kept.clone();
                    async move {
                        let request = ExportTraceServiceRequest::decode(body).unwrap();
                        let mut kept = kept.lock().unwrap();
                        for resource_spans in &request.resource_spans {
                            let service_name = resource_spans
                                .resource
                                .iter()
                                .flat_map(|r| &r.attributes)
                                .find(|kv| kv.key == "service.name")
                                .and_then(|kv| kv.value.as_ref()?.value.clone())
                                .map(|v| match v {
                                    AnyValue::StringValue(s) => s,
                                    other => format!("{other:?}"),
                                })
                                .unwrap_or_default();
                            for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
                                kept.push(ReceivedSpan {
                                    service_name: service_name.clone(),
                                    name: span.name.clone(),
                                    trace_id: hex(&span.trace_id),
                                    span_id: hex(&span.span_id),
                                    parent_span_id: hex(&span.parent_span_id),
                                    attributes: span
                                        .attributes
                                        .iter()
                                        .map(|kv| {
                                            let value = match kv
                                                .value
                                                .as_ref()
                                                .and_then(|v| v.value.clone())
                                            {
                                                Some(AnyValue::StringValue(s)) => s,
                                                Some(AnyValue::IntValue(i)) => i.to_string(),
                                                Some(AnyValue::BoolValue(b)) => b.to_string(),
                                                other => format!("{other:?}"),
                                            };
                                            (kv.key.clone(), value)
                                        })
                                        .collect(),
                                });
                            }
                        }
                        HttpResponse::Ok()
                            .content_type("application/x-protobuf")
                            .finish()
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Collector {
            port,
            spans,
            server: handle,
        }
    }

    fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }

    /// Waits up to 20 s for a span that `wanted` accepts.
    async fn wait_for(&self, what: &str, wanted: impl Fn(&ReceivedSpan) -> bool) -> ReceivedSpan {
        for _ in 0..200 {
            if let Some(span) = self.spans().into_iter().find(|s| wanted(s)) {
                return span;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no span {what}; got {:#?}", self.spans());
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The binary with traces sent to `endpoint`, on SQLite in `dir`, logging JSON to a file.
struct Server {
    child: std::process::Child,
    base: String,
    log: std::path::PathBuf,
}

/// The test's database (PostgreSQL when `TEST_DATABASE_URL` is set, else SQLite) and the
/// `db.system.name` its spans carry.
fn database() -> (crate::helpers::TestDatabase, &'static str) {
    let database = crate::helpers::TestDatabase::create();
    let system = if database.is_postgres() {
        "postgresql"
    } else {
        "sqlite"
    };
    (database, system)
}

impl Server {
    async fn start(
        database: &str,
        dir: &std::path::Path,
        endpoint: &str,
        metrics_port: u16,
    ) -> Server {
        Server::start_with(database, dir, endpoint, metrics_port, &[]).await
    }

    async fn start_with(
        database: &str,
        dir: &std::path::Path,
        endpoint: &str,
        metrics_port: u16,
        extra: &[(&str, &str)],
    ) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("server.log");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_firmenportal"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("DATA_DIR", dir)
            .env("METRICS_BIND_ADDR", format!("127.0.0.1:{metrics_port}"))
            .env("SHUTDOWN_DRAIN_SECS", "0")
            .env("LOG_FORMAT", "json")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env("OTEL_SERVICE_NAME", "firmenportal-test")
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .envs(extra.iter().copied())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client
                .get(format!("{base}/health/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK)
            {
                return Server { child, base, log };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not start");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn requests_continue_the_callers_trace_with_child_spans_and_name_it_in_problems_and_logs() {
    let collector = Collector::start();
    let dir = tempfile::tempdir().unwrap();
    let (database, system) = database();
    let server = Server::start(
        &database.url,
        dir.path(),
        &format!("http://127.0.0.1:{}", collector.port),
        free_port(),
    )
    .await;
    let client = reqwest::Client::new();
    let (trace, caller) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let registered = client
        .post(format!("{}/api/v1/auth/register", server.base))
        .header("traceparent", format!("00-{trace}-{caller}-01"))
        .header("user-agent", "trace-test/1.0")
        .json(&json!({
            "email": unique_email(), "password": PASSWORD, "password_confirmation": PASSWORD,
            "first_name": "Tracy", "last_name": "Spur",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::ACCEPTED);
    let id = uuid::Uuid::new_v4();
    let refused = client
        .get(format!("{}/api/v1/me/applications/{id}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let problem: Value = refused.json().await.unwrap();
    let refused_trace = problem["trace_id"]
        .as_str()
        .expect("a trace id")
        .to_string();
    assert_eq!(refused_trace.len(), 32);
    for _ in 0..5 {
        client
            .get(format!("{}/health/live", server.base))
            .send()
            .await
            .unwrap();
    }

    // The server span: named by method and route, a child of the caller's span.
    let request = collector
        .wait_for("POST /api/v1/auth/register", |s| {
            s.name == "POST /api/v1/auth/register"
        })
        .await;
    assert_eq!(
        (request.trace_id.as_str(), request.parent_span_id.as_str()),
        (trace, caller)
    );
    assert_eq!(
        request.service_name, "firmenportal-test",
        "OTEL_SERVICE_NAME"
    );
    for (key, value) in [
        ("http.route", "/api/v1/auth/register"),
        ("http.response.status_code", "202"),
        ("url.path", "/api/v1/auth/register"),
        ("user_agent.original", "trace-test/1.0"),
        ("http.request.method", "POST"),
    ] {
        assert_eq!(
            request.attributes.get(key).map(String::as_str),
            Some(value),
            "{key}"
        );
    }
    // Its children: the hash, the transaction; and, later, the e-mail's send span joins
    // the trace through the outbox.
    let hash = collector
        .wait_for("password hash", |s| {
            s.name == "password hash" && s.trace_id == trace
        })
        .await;
    assert_eq!(hash.parent_span_id, request.span_id);
    let transaction = collector
        .wait_for("db.transaction", |s| {
            s.name == "db.transaction" && s.trace_id == trace
        })
        .await;
    assert_eq!(transaction.attributes["db.system.name"], system);
    assert_eq!(transaction.parent_span_id, request.span_id);
    collector
        .wait_for("send email", |s| {
            s.name == "send email" && s.trace_id == trace
        })
        .await;
    // The refused request's trace is the one its problem names.
    let named = collector
        .wait_for("the refused request", |s| {
            s.name == "GET /api/v1/me/applications/{id}"
        })
        .await;
    assert_eq!(named.trace_id, refused_trace);
    assert!(
        collector.spans().iter().all(|s| s
            .attributes
            .get("url.path")
            .is_none_or(|p| !p.starts_with("/health"))),
        "health checks make no spans"
    );
    // The log lines of the request carry its trace id.
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.lines()
            .any(|line| line.contains(trace) && line.contains("request finished")),
        "{log}"
    );
    collector.server.stop(false).await;
}

#[tokio::test]
async fn without_export_the_access_log_line_names_route_status_request_and_the_callers_trace() {
    let dir = tempfile::tempdir().unwrap();
    let (database, _) = database();
    // No endpoint: nothing is exported, the trace id comes from the caller.
    let server = Server::start(&database.url, dir.path(), "", free_port()).await;
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let id = uuid::Uuid::new_v4();
    let refused = reqwest::Client::new()
        .get(format!("{}/api/v1/me/applications/{id}", server.base))
        .header("traceparent", format!("00-{trace}-b7ad6b7169203331-01"))
        .header("x-request-id", "access-log-test-1")
        .header("user-agent", "log-test/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["trace_id"], trace);

    // The line is written by the log's own thread, a moment later.
    let mut line = None;
    for _ in 0..50 {
        let log = std::fs::read_to_string(&server.log).unwrap();
        line = log
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| {
                line["message"] == "request finished"
                    && line["span"]["request_id"] == "access-log-test-1"
            });
        if line.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let line = line.expect("the request's access log line");
    assert_eq!(line["status"], 401, "{line}");
    assert_eq!(line["route"], "/api/v1/me/applications/{id}", "{line}");
    assert_eq!(line["span"]["trace_id"], trace, "{line}");
    assert_eq!(line["span"]["http.request.method"], "GET", "{line}");
    assert_eq!(
        line["span"]["url.path"],
        format!("/api/v1/me/applications/{id}"),
        "{line}"
    );
    assert_eq!(
        line["span"]["user_agent.original"], "log-test/1.0",
        "{line}"
    );
    // The request's fields once: no list of spans repeating them.
    assert!(line.get("spans").is_none(), "{line}");
}

#[tokio::test]
async fn a_collector_that_is_down_slows_nothing_and_its_spans_are_counted_as_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = free_port();
    let (database, _) = database();
    let server = Server::start(
        &database.url,
        dir.path(),
        &format!("http://127.0.0.1:{}", free_port()),
        metrics_port,
    )
    .await;
    let client = reqwest::Client::new();
    for _ in 0..20 {
        let answer = client
            .get(format!("{}/api/v1/me", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    let scrape = || async {
        client
            .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let mut dropped = 0.0;
    for _ in 0..200 {
        dropped = crate::helpers::sample(&scrape().await, "firmenportal_spans_dropped_total", &[])
            .unwrap();
        if dropped >= 20.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dropped >= 20.0, "dropped {dropped}");
}

#[tokio::test]
async fn a_webhook_delivery_is_a_client_span_of_its_causes_trace_and_the_receiver_gets_it() {
    let collector = Collector::start();
    let dir = tempfile::tempdir().unwrap();
    let (database, _) = database();
    // Musterfirma GmbH and its admin, as `seed-demo` makes them.
    let seeded = std::process::Command::new(env!("CARGO_BIN_EXE_firmenportal"))
        .arg("seed-demo")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &database.url)
        .env("DATA_DIR", dir.path())
        .output()
        .unwrap();
    assert!(seeded.status.success());
    let report = String::from_utf8(seeded.stdout).unwrap();
    let password = report
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .expect("the admin's password")
        .to_string();
    let server = Server::start_with(
        &database.url,
        dir.path(),
        &format!("http://127.0.0.1:{}", collector.port),
        free_port(),
        &[
            ("WEBHOOK_ALLOW_HTTP", "true"),
            ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
            ("WEBHOOK_POLL_INTERVAL_MS", "100"),
        ],
    )
    .await;
    // The HR system: keeps the headers of what it receives.
    let receiver = crate::webhooks::Receiver::start().await;

    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": firmenportal::demo::DEMO_ADMIN_EMAIL, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap().to_string();
    let me: Value = client
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let company = me["companies"][0]["id"].as_str().unwrap().to_string();
    let hook: Value = client
        .post(format!(
            "{}/api/v1/companies/{company}/webhooks",
            server.base
        ))
        .bearer_auth(&token)
        .json(&json!({
            "url": receiver.url(),
            "events": ["subscription.created"],
            "description": "HR"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let pinged = client
        .post(format!(
            "{}/api/v1/companies/{company}/webhooks/{}/ping",
            server.base,
            hook["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace}-b7ad6b7169203331-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(pinged.status(), StatusCode::ACCEPTED);

    let delivery = collector
        .wait_for("the delivery's client span", |s| {
            s.trace_id == trace
                && s.attributes.get("webhook.event_type").map(String::as_str) == Some("ping")
        })
        .await;
    assert_eq!(delivery.name, "POST ping");
    assert_eq!(delivery.attributes["http.response.status_code"], "200");
    let sent = receiver.wait_for(1).await;
    assert_eq!(
        sent[0].header("traceparent"),
        format!("00-{trace}-{}-01", delivery.span_id)
    );
    // Its parent is a span of the ping's request, in the same trace.
    assert!(
        collector
            .spans()
            .iter()
            .any(|s| s.span_id == delivery.parent_span_id && s.trace_id == trace)
    );
    receiver.stop().await;
    collector.server.stop(false).await;
}

#[tokio::test]
async fn the_standard_sampler_settings_are_honoured() {
    // A ratio of 0 behind the parent: a request of its own starts no trace, a request whose
    // caller sampled its trace continues it.
    let collector = Collector::start();
    let dir = tempfile::tempdir().unwrap();
    let (database, _) = database();
    let server = Server::start_with(
        &database.url,
        dir.path(),
        &format!("http://127.0.0.1:{}", collector.port),
        free_port(),
        &[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let alone = client
        .get(format!("{}/api/v1/me", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(alone.status(), StatusCode::UNAUTHORIZED);
    let trace = "5b8efff798038103d269b633813fc60c";
    let continued = client
        .get(format!(
            "{}/api/v1/me/applications/{}",
            server.base,
            uuid::Uuid::new_v4()
        ))
        .header("traceparent", format!("00-{trace}-eee19b7ec3c1b174-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(continued.status(), StatusCode::UNAUTHORIZED);

    // Spans leave in the order they end: once the later request's span is in, the earlier
    // one would be too had it been sampled.
    collector
        .wait_for("the caller's sampled trace", |s| s.trace_id == trace)
        .await;
    let names: Vec<String> = collector.spans().into_iter().map(|s| s.name).collect();
    assert!(
        !names.iter().any(|name| name == "GET /api/v1/me"),
        "{names:?}"
    );
    collector.server.stop(false).await;
}
