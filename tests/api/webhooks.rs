//! Webhooks for HR systems: a local receiver checks every event's payload and Standard
//! Webhooks signature; a receiver that is down or answers 500 gets the event later with
//! the same `webhook-id`; SSRF refusals at registration and at delivery; secret rotation;
//! two instances deliver each event once; disabling after days of failures; tenant
//! isolation and the admin-only changes.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::today_berlin;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Datelike, Days, Months};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::fixtures::{CompanyUser, InsertedCompany, company, company_user, contract, operator};
use crate::helpers::{
    TestApp, TestAppBuilder, assert_problem, count_audited, pointers, sample, unique_email,
};
use crate::metrics::scrape_until;

/// What the receiver got: headers (lower-case names) and the raw body.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap().to_string()
    }
}

/// An HR system's endpoint on a local port: records every request and answers the
/// queued statuses, then 200.
pub(crate) struct Receiver {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
    server: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        Receiver::start_on(std::net::TcpListener::bind("127.0.0.1:0").unwrap())
    }

    fn start_on(listener: std::net::TcpListener) -> Receiver {
        use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
        let port = listener.local_addr().unwrap().port();
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let statuses: Arc<Mutex<VecDeque<u16>>> = Arc::default();
        let (record, answer) = (received.clone(), statuses.clone());
        let server = HttpServer::new(move || {
            let (record, answer) = (record.clone(), answer.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (record, answer) = (record.clone(), answer.clone());
                async move {
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(name, value)| {
                            (
                                name.as_str().to_string(),
                                value.to_str().unwrap_or("").to_string(),
                            )
                        })
                        .collect();
                    record.lock().unwrap().push(Received {
                        headers,
                        body: body.to_vec(),
                    });
                    let status = answer.lock().unwrap().pop_front().unwrap_or(200);
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .finish()
                }
            }))
        })
        .workers(2)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            port,
            received,
            statuses,
            server: handle,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn answer(&self, statuses: &[u16]) {
        self.statuses.lock().unwrap().extend(statuses);
    }

    /// Forgets the statuses still queued: from now on every request gets a 200.
    fn answer_ok_from_now(&self) {
        self.statuses.lock().unwrap().clear();
    }

    pub(crate) fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits up to 20 s until `count` requests arrived.
    pub(crate) async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..400 {
            if self.received.lock().unwrap().len() >= count {
                return self.all();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} requests, got {}", self.all().len());
    }

    pub(crate) async fn stop(self) {
        self.server.stop(false).await;
    }
}

/// Whether one of the signatures in `webhook-signature` is the HMAC-SHA256 of
/// `id.timestamp.body` under `secret` — computed here from the specification, not with
/// the service's code.
fn signed_with(secret: &str, received: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    let signed = format!(
        "{}.{}.",
        received.header("webhook-id"),
        received.header("webhook-timestamp")
    );
    mac.update(signed.as_bytes());
    mac.update(&received.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    received
        .header("webhook-signature")
        .split(' ')
        .any(|signature| signature == expected)
}

pub(crate) fn webhook_app() -> TestAppBuilder {
    TestApp::builder()
        .set("WEBHOOK_ALLOW_HTTP", "true")
        .set("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
        .set("WEBHOOK_POLL_INTERVAL_MS", "50")
        .set("WEBHOOK_RETRY_SCHEDULE", "1,1,1")
}

pub(crate) struct Employer {
    pub(crate) company: InsertedCompany,
    pub(crate) contract_id: String,
    pub(crate) admin: CompanyUser,
}

pub(crate) async fn employer(app: &TestApp) -> Employer {
    let company = company().insert(app).await;
    let contract_id = contract(&company).insert(app).await;
    let admin = company_user(app, &company, "admin").await;
    Employer {
        company,
        contract_id,
        admin,
    }
}

const ALL_EVENTS: [&str; 8] = [
    "application.submitted",
    "application.approved",
    "application.rejected",
    "application.withdrawn",
    "subscription.created",
    "subscription.cancelled",
    "bulk_upload.completed",
    "statement.finalized",
];

pub(crate) async fn register(
    app: &TestApp,
    employer: &Employer,
    url: &str,
    events: &[&str],
) -> Value {
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/companies/{}/webhooks", employer.company.id),
            Some(employer.admin.access()),
            Some(json!({"url": url, "events": events, "description": "Personio"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!(
            "/api/v1/companies/{}/webhooks/{}",
            employer.company.id,
            body["id"].as_str().unwrap()
        )
    );
    body
}

pub(crate) fn hook_path(employer: &Employer, hook: &Value, rest: &str) -> String {
    format!(
        "/api/v1/companies/{}/webhooks/{}{rest}",
        employer.company.id,
        hook["id"].as_str().unwrap()
    )
}

async fn ping(app: &TestApp, employer: &Employer, hook: &Value) -> Value {
    let response = app
        .request(
            Method::POST,
            &hook_path(employer, hook, "/ping"),
            Some(employer.admin.access()),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json().await.unwrap()
}

async fn deliveries(app: &TestApp, employer: &Employer, hook: &Value) -> Vec<Value> {
    let response = app
        .get(
            &hook_path(employer, hook, "/deliveries"),
            Some(employer.admin.access()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

/// Waits until the delivery's status is `status`.
async fn delivery_reaches(
    app: &TestApp,
    employer: &Employer,
    hook: &Value,
    id: &str,
    status: &str,
) -> Value {
    for _ in 0..200 {
        let found = deliveries(app, employer, hook)
            .await
            .into_iter()
            .find(|d| d["id"] == id);
        if let Some(delivery) = found.filter(|d| d["status"] == status) {
            return delivery;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("delivery {id} never became {status}");
}

fn order(code: &str, start_month: &str, last_name: &str) -> Value {
    json!({
        "customer_code": code,
        "start_month": start_month,
        "holder": {
            "salutation": "mr", "gender": "male", "first_name": "Jörg", "last_name": last_name,
            "birth_date": "05.10.1990",
            "address": {"street": "Königsplatz 1", "postal_code": "34117", "city": "Kassel", "country": "de"},
            "phone": "0561 1234567"
        },
        "personnel_number": "P 4711",
        "marketing_consent": false
    })
}

/// An employee's order under the employer's contract; its id.
async fn order_as_new_employee(app: &TestApp, code: &str, last_name: &str) -> (String, String) {
    let employee = crate::fixtures::account()
        .insert(app)
        .await
        .login(app)
        .await;
    let month = (today_berlin().with_day(1).unwrap() + Months::new(2))
        .format("%Y-%m")
        .to_string();
    let response = app
        .request(
            Method::POST,
            "/api/v1/me/applications",
            Some(&employee.access),
            Some(order(code, &month, last_name)),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    (body["id"].as_str().unwrap().to_string(), employee.access)
}

#[tokio::test]
async fn every_event_reaches_the_receiver_signed_with_only_what_the_employer_sees() {
    let app = webhook_app().spawn().await;
    let receiver = Receiver::start().await;
    let employer = employer(&app).await;
    let hook = register(&app, &employer, &receiver.url(), &ALL_EVENTS).await;
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), 32);
    assert_eq!(hook["enabled"], true);
    assert_eq!(count_audited(&app, "webhook.created").await, 1);
    // The secret is never shown again.
    let read: Value = app
        .get(
            &hook_path(&employer, &hook, ""),
            Some(employer.admin.access()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(read.get("secret").is_none());
    assert_eq!(read["events"], json!(ALL_EVENTS));

    let code: Value = app
        .request(
            Method::POST,
            &format!("/api/v1/contracts/{}/customer-codes", employer.contract_id),
            Some(employer.admin.access()),
            Some(json!({"valid_until": (today_berlin() + Days::new(90)).to_string()})),
        )
        .await
        .json()
        .await
        .unwrap();
    let code = code["code"].as_str().unwrap();
    let contract = &employer.contract_id;
    let admin = employer.admin.access();

    // Submitted and approved: a ticket from the application.
    let (approved, _) = order_as_new_employee(&app, code, "Approved").await;
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/contracts/{contract}/applications/{approved}/approve"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let ticket_id = response.json::<Value>().await.unwrap()["subscription_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Submitted and rejected; submitted and withdrawn.
    let (rejected, _) = order_as_new_employee(&app, code, "Rejected").await;
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/contracts/{contract}/applications/{rejected}/reject"),
            Some(admin),
            Some(json!({"reason": "Beschäftigung endet"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (withdrawn, employee) = order_as_new_employee(&app, code, "Withdrawn").await;
    let response = app
        .request(
            Method::DELETE,
            &format!("/api/v1/me/applications/{withdrawn}"),
            Some(&employee),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // The approved ticket is cancelled by the employer, before it started.
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/contracts/{contract}/subscriptions/{ticket_id}/cancellation"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // A staff list with one row; a dry run first, which tells nobody.
    let month = (today_berlin().with_day(1).unwrap() + Months::new(2))
        .format("%m.%Y")
        .to_string();
    let list = format!(
        "Personalnummer;Anrede;Geschlecht;Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;Land;E-Mail;Startmonat\r\n\
         P-100;Frau;weiblich;Anna;Liste;14.02.1994;Wilhelmsstr. 2;34117;Kassel;DE;{};{month}\r\n",
        unique_email()
    );
    for query in ["?dry_run=true", ""] {
        let part =
            reqwest::multipart::Part::bytes(list.clone().into_bytes()).file_name("liste.csv");
        let response = app
            .client
            .post(app.url(&format!("/api/v1/contracts/{contract}/bulk-uploads{query}")))
            .bearer_auth(admin)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    // A ticket the operator loads.
    let (_, operator) = operator(&app).await;
    let customer: Value = app
        .request(
            Method::POST,
            "/api/v1/admin/customers",
            Some(&operator.access),
            Some(json!({
                "customer_number": "KD-9911", "salutation": "mr", "gender": "male",
                "first_name": "Otto", "last_name": "Operator", "birth_date": "05.10.1980",
                "address": {"street": "Artilleriestr. 39", "postal_code": "34117", "city": "Kassel", "country": "DE"},
                "marketing_consent": false
            })),
        )
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .request(
            Method::POST,
            "/api/v1/admin/subscriptions",
            Some(&operator.access),
            Some(json!({
                "contract_number": "991177", "product": "Deutschlandticket Job", "valid_from": "2026-01-01",
                "status": "active", "customer_id": customer["id"], "company_contract_id": contract
            })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // A statement frozen.
    let response = app
        .request(
            Method::POST,
            "/api/v1/admin/prices",
            Some(&operator.access),
            Some(json!({"product_offering": "D-Ticket Job (Rechnung)", "valid_from": "2026-01-01", "list_price": "63.00", "job_discount_percent": "5"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let statement = app
        .get(
            &format!("/api/v1/contracts/{contract}/statements/2026-02"),
            Some(admin),
        )
        .await;
    assert_eq!(statement.status(), StatusCode::OK);

    receiver.wait_for(12).await;
    // Each event once: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = receiver.all();
    let mut types: Vec<String> = received.iter().map(Received::event_type).collect();
    types.sort();
    assert_eq!(
        types,
        [
            "application.approved",
            "application.rejected",
            "application.submitted",
            "application.submitted",
            "application.submitted",
            "application.withdrawn",
            "bulk_upload.completed",
            "statement.finalized",
            "subscription.cancelled",
            "subscription.created",
            "subscription.created",
            "subscription.created",
        ]
    );
    for request in &received {
        assert!(
            signed_with(&secret, request),
            "signature of {}",
            request.event_type()
        );
        assert_eq!(request.header("content-type"), "application/json");
        assert!(request.header("webhook-id").starts_with("msg_"));
        let sent_at: i64 = request.header("webhook-timestamp").parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - sent_at).abs() < 60);
        let body = String::from_utf8(request.body.clone()).unwrap();
        for private in [
            "birth_date",
            "street",
            "postal_code",
            "phone",
            "1990-10-05",
            "Königsplatz",
        ] {
            assert!(!body.contains(private), "{private} in {body}");
        }
        assert!(request.json()["timestamp"].is_string());
    }
    let of = |event: &str| -> Vec<Value> {
        received
            .iter()
            .filter(|r| r.event_type() == event)
            .map(|r| r.json()["data"].clone())
            .collect()
    };
    let mut sources: Vec<String> = of("subscription.created")
        .iter()
        .map(|d| d["source"].as_str().unwrap().to_string())
        .collect();
    sources.sort();
    assert_eq!(sources, ["application", "bulk_upload", "operator"]);
    let created = of("subscription.created");
    let from_application = created
        .iter()
        .find(|d| d["source"] == "application")
        .unwrap();
    assert_eq!(from_application["subscription_id"], ticket_id.as_str());
    assert_eq!(from_application["last_name"], "Approved");
    assert_eq!(from_application["contract_id"], contract.as_str());
    let cancelled = &of("subscription.cancelled")[0];
    assert_eq!(cancelled["subscription_id"], ticket_id.as_str());
    assert_eq!(cancelled["cancelled_by"], "employer");
    assert_eq!(cancelled["status"], "ended", "cancelled before it started");
    assert_eq!(
        of("application.approved")[0]["application_id"],
        approved.as_str()
    );
    assert_eq!(
        of("application.rejected")[0]["rejection_reason"],
        "Beschäftigung endet"
    );
    assert_eq!(of("application.withdrawn")[0]["status"], "withdrawn");
    let upload = &of("bulk_upload.completed")[0];
    assert_eq!(
        (upload["created"].clone(), upload["total"].clone()),
        (json!(1), json!(1))
    );
    let finalized = &of("statement.finalized")[0];
    assert_eq!(finalized["month"], "2026-02");
    assert_eq!(finalized["contract_id"], contract.as_str());

    // Every delivery is listed, newest first, delivered at the first attempt.
    let listed = deliveries(&app, &employer, &hook).await;
    assert_eq!(listed.len(), 12);
    for delivery in &listed {
        assert_eq!(delivery["status"], "delivered");
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["last_status_code"], 200);
        assert_eq!(delivery["next_attempt_at"], Value::Null);
    }
    receiver.stop().await;
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_event_later_with_the_same_webhook_id() {
    let app = webhook_app().spawn().await;
    let employer = employer(&app).await;
    // A port nobody listens on yet.
    let parked = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = parked.local_addr().unwrap().port();
    drop(parked);
    let hook = register(
        &app,
        &employer,
        &format!("http://127.0.0.1:{port}/hook"),
        &["subscription.created"],
    )
    .await;
    let queued = ping(&app, &employer, &hook).await;
    assert_eq!(count_audited(&app, "webhook.pinged").await, 1);
    assert_eq!(queued["event_type"], "ping");
    assert_eq!(queued["status"], "pending");
    // Attempts fail while it is down.
    for _ in 0..100 {
        let listed = deliveries(&app, &employer, &hook).await;
        if listed[0]["attempts"].as_i64().unwrap() >= 1 {
            assert_eq!(listed[0]["last_status_code"], Value::Null);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let receiver = Receiver::start_on(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
    let received = receiver.wait_for(1).await;
    assert_eq!(
        received[0].header("webhook-id"),
        queued["message_id"].as_str().unwrap()
    );
    let delivered = delivery_reaches(
        &app,
        &employer,
        &hook,
        queued["id"].as_str().unwrap(),
        "delivered",
    )
    .await;
    assert!(delivered["attempts"].as_i64().unwrap() >= 2);
    let hook_now: Value = app
        .get(
            &hook_path(&employer, &hook, ""),
            Some(employer.admin.access()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        hook_now["failing_since"],
        Value::Null,
        "a success ends the failing"
    );
    receiver.stop().await;
}

#[tokio::test]
async fn a_500_is_retried_a_failed_delivery_can_be_redelivered_and_keeps_its_id() {
    let app = webhook_app().spawn().await;
    let receiver = Receiver::start().await;
    let employer = employer(&app).await;
    let hook = register(&app, &employer, &receiver.url(), &["subscription.created"]).await;

    receiver.answer(&[500]);
    let queued = ping(&app, &employer, &hook).await;
    let received = receiver.wait_for(2).await;
    assert_eq!(
        received[0].header("webhook-id"),
        received[1].header("webhook-id")
    );
    assert_eq!(received[0].body, received[1].body);
    let delivered = delivery_reaches(
        &app,
        &employer,
        &hook,
        queued["id"].as_str().unwrap(),
        "delivered",
    )
    .await;
    assert_eq!(delivered["attempts"], 2);
    assert_eq!(delivered["last_status_code"], 200);

    // Four 500s: the first attempt and the schedule's three retries fail.
    receiver.answer(&[500, 503, 500, 502]);
    let failing = ping(&app, &employer, &hook).await;
    let failed = delivery_reaches(
        &app,
        &employer,
        &hook,
        failing["id"].as_str().unwrap(),
        "failed",
    )
    .await;
    assert_eq!(failed["attempts"], 4);
    assert_eq!(failed["last_status_code"], 502);
    assert_eq!(failed["next_attempt_at"], Value::Null);

    let redeliver = app
        .request(
            Method::POST,
            &hook_path(
                &employer,
                &hook,
                &format!("/deliveries/{}/redeliver", failing["id"].as_str().unwrap()),
            ),
            Some(employer.admin.access()),
            None,
        )
        .await;
    assert_eq!(redeliver.status(), StatusCode::ACCEPTED);
    let again: Value = redeliver.json().await.unwrap();
    assert_ne!(again["id"], failing["id"]);
    assert_eq!(again["message_id"], failing["message_id"]);
    delivery_reaches(
        &app,
        &employer,
        &hook,
        again["id"].as_str().unwrap(),
        "delivered",
    )
    .await;
    let last = receiver.all().pop().unwrap();
    assert_eq!(
        last.header("webhook-id"),
        failing["message_id"].as_str().unwrap()
    );
    assert_eq!(count_audited(&app, "webhook.redelivered").await, 1);
    let unknown = app
        .request(
            Method::POST,
            &hook_path(&employer, &hook, "/deliveries/nope/redeliver"),
            Some(employer.admin.access()),
            None,
        )
        .await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
    receiver.stop().await;
}

#[tokio::test]
async fn plain_http_and_private_targets_are_refused_at_registration_and_at_delivery() {
    let app = TestApp::builder()
        .set("WEBHOOK_POLL_INTERVAL_MS", "50")
        .set("WEBHOOK_RETRY_SCHEDULE", "")
        .spawn()
        .await;
    let employer = employer(&app).await;
    let path = format!("/api/v1/companies/{}/webhooks", employer.company.id);
    for url in [
        "http://hr.example.com/hook",
        "https://127.0.0.1/hook",
        "https://localhost:8443/hook",
        "https://10.0.0.7/hook",
        "https://192.168.1.20/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://0.0.0.0/hook",
        "https://user:secret@hr.example.com/hook",
        "ftp://hr.example.com/hook",
    ] {
        let response = app
            .request(
                Method::POST,
                &path,
                Some(employer.admin.access()),
                Some(json!({"url": url, "events": ["subscription.created"]})),
            )
            .await;
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "webhook_url_not_allowed",
        )
        .await;
        assert_eq!(
            pointers(&problem),
            [("/url".into(), "url_not_allowed".into())],
            "{url}"
        );
    }
    assert_eq!(crate::helpers::count_rows(&app, "webhooks").await, 0);

    // A name that resolved to a public address at registration and to a private one
    // now (DNS rebinding), and a stored literal: nothing is sent, the attempt fails.
    // Plain http is allowed here, so only the address guard stands in the way.
    let app = TestApp::builder()
        .set("WEBHOOK_ALLOW_HTTP", "true")
        .set("WEBHOOK_POLL_INTERVAL_MS", "50")
        .set("WEBHOOK_RETRY_SCHEDULE", "")
        .spawn()
        .await;
    let employer = self::employer(&app).await;
    let receiver = Receiver::start().await;
    for url in [
        format!("http://localhost:{}/hook", receiver.port),
        format!("http://127.0.0.1:{}/hook", receiver.port),
    ] {
        let id = uuid::Uuid::new_v4().to_string();
        let company_id = employer.company.id.clone();
        let secret = firmenportal::webhooks::signing::new_secret();
        let hook_id = id.clone();
        app.with_db(move |conn| {
            let now = chrono::Utc::now().naive_utc();
            firmenportal::webhooks::repo::insert(
                conn,
                &firmenportal::webhooks::repo::WebhookRow {
                    id: hook_id,
                    company_id,
                    url,
                    description: String::new(),
                    events: "subscription.created".into(),
                    enabled: true,
                    secret,
                    previous_secret: None,
                    previous_secret_until: None,
                    failing_since: None,
                    disabled_at: None,
                    created_at: now,
                    updated_at: now,
                },
            )
            .unwrap();
        })
        .await;
        let hook = json!({"id": id});
        let queued = ping(&app, &employer, &hook).await;
        let failed = delivery_reaches(
            &app,
            &employer,
            &hook,
            queued["id"].as_str().unwrap(),
            "failed",
        )
        .await;
        assert_eq!(failed["last_status_code"], Value::Null);
        let error: String = {
            let delivery_id = queued["id"].as_str().unwrap().to_string();
            app.with_db(move |conn| {
                use firmenportal::schema::webhook_deliveries;
                webhook_deliveries::table
                    .find(delivery_id)
                    .select(webhook_deliveries::last_error)
                    .first::<Option<String>>(conn)
                    .unwrap()
                    .unwrap()
            })
            .await
        };
        assert!(
            error.contains("private") || error.contains("forbidden"),
            "{error}"
        );
    }
    assert!(
        receiver.all().is_empty(),
        "nothing reached the private target"
    );
    receiver.stop().await;
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign_for_a_day_and_then_the_new_one_alone() {
    let app = webhook_app().spawn().await;
    let receiver = Receiver::start().await;
    let employer = employer(&app).await;
    let hook = register(&app, &employer, &receiver.url(), &["statement.finalized"]).await;
    let old = hook["secret"].as_str().unwrap().to_string();

    let rotated = app
        .request(
            Method::POST,
            &hook_path(&employer, &hook, "/rotate-secret"),
            Some(employer.admin.access()),
            None,
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let new = rotated.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    assert_eq!(count_audited(&app, "webhook.secret_rotated").await, 1);

    // With the caller's trace, which the delivery continues.
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = app
        .client
        .post(app.url(&hook_path(&employer, &hook, "/ping")))
        .bearer_auth(employer.admin.access())
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let first = receiver.wait_for(1).await.remove(0);
    assert_eq!(first.header("webhook-signature").split(' ').count(), 2);
    assert!(signed_with(&new, &first) && signed_with(&old, &first));
    let traceparent = first.header("traceparent");
    assert!(
        traceparent.starts_with(&format!("00-{trace}-")),
        "{traceparent}"
    );
    assert!(
        !traceparent.contains("00f067aa0ba902b7"),
        "a span of its own"
    );

    // A day later the old secret no longer signs.
    app.state
        .clock
        .set(chrono::Utc::now().naive_utc() + chrono::Duration::hours(25));
    ping(&app, &employer, &hook).await;
    let second = receiver.wait_for(2).await.remove(1);
    assert_eq!(second.header("webhook-signature").split(' ').count(), 1);
    assert!(signed_with(&new, &second));
    assert!(!signed_with(&old, &second));
    assert_eq!(second.header("traceparent"), "", "no trace without one");
    receiver.stop().await;
}

#[tokio::test]
async fn two_instances_on_one_database_deliver_each_event_once() {
    let first = webhook_app().spawn().await;
    let second = webhook_app().database(first.database.clone()).spawn().await;
    let receiver = Receiver::start().await;
    let employer = employer(&first).await;
    let hook = register(
        &first,
        &employer,
        &receiver.url(),
        &["subscription.created"],
    )
    .await;
    let hook_id = hook["id"].as_str().unwrap().to_string();
    // 300 events at once, as a staff list makes them.
    first
        .with_db(move |conn| {
            use firmenportal::webhooks::repo::{DeliveryRow, insert_deliveries};
            use firmenportal::webhooks::types::EventType;
            let now = chrono::Utc::now().naive_utc();
            let rows: Vec<DeliveryRow> = (0..300)
                .map(|i| {
                    let id = format!("msg_{i:04}");
                    DeliveryRow::new(
                        &hook_id,
                        &id,
                        EventType::Ping,
                        &format!("{{\"n\":{i}}}"),
                        None,
                        now,
                    )
                })
                .collect();
            insert_deliveries(conn, &rows).unwrap();
        })
        .await;
    receiver.wait_for(300).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ids: Vec<String> = receiver
        .all()
        .iter()
        .map(|r| r.header("webhook-id").to_string())
        .collect();
    assert_eq!(ids.len(), 300, "no event twice");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 300);
    drop(second);
    receiver.stop().await;
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_disabled_and_its_admins_are_told() {
    let app = webhook_app()
        .set("WEBHOOK_RETRY_SCHEDULE", "3600")
        .set("METRICS_DB_REFRESH_SECS", "1")
        .spawn()
        .await;
    let receiver = Receiver::start().await;
    let employer = employer(&app).await;
    let hook = register(&app, &employer, &receiver.url(), &["subscription.created"]).await;
    receiver.answer(&[500, 500, 500]);
    let first = ping(&app, &employer, &hook).await;
    receiver.wait_for(1).await;
    // The receiver has answered 500; the worker records the failed attempt just after.
    let first_id = first["id"].as_str().unwrap();
    let mut attempted = Value::Null;
    for _ in 0..200 {
        attempted = deliveries(&app, &employer, &hook)
            .await
            .into_iter()
            .find(|d| d["id"] == first_id)
            .unwrap();
        if attempted["last_status_code"] == 500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        (attempted["status"].clone(), attempted["attempts"].clone()),
        (json!("pending"), json!(1))
    );
    let failing: Value = app
        .get(
            &hook_path(&employer, &hook, ""),
            Some(employer.admin.access()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(failing["failing_since"].is_string(), "{failing}");
    // The metrics count the failed attempt and, from the database, the waiting delivery.
    let metrics = scrape_until(&app, "firmenportal_webhook_deliveries_pending", &[], 1.0).await;
    assert_eq!(
        sample(
            &metrics,
            "firmenportal_webhook_deliveries_failed_total",
            &[]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            "firmenportal_webhook_deliveries_delivered_total",
            &[]
        ),
        Some(0.0)
    );
    assert_eq!(failing["enabled"], true);

    // Five days and more later, the next failure disables it.
    app.state.clock.set(
        chrono::Utc::now().naive_utc() + chrono::Duration::days(5) + chrono::Duration::minutes(1),
    );
    ping(&app, &employer, &hook).await;
    let mut disabled = Value::Null;
    for _ in 0..200 {
        disabled = app
            .get(
                &hook_path(&employer, &hook, ""),
                Some(employer.admin.access()),
            )
            .await
            .json()
            .await
            .unwrap();
        if disabled["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(disabled["enabled"], false);
    assert!(disabled["disabled_at"].is_string());
    let mail = app.mail.wait_for(&employer.admin.account.email, 1).await;
    assert_eq!(mail.subject, "Webhook deaktiviert");
    assert!(mail.text.contains(&receiver.url()), "{}", mail.text);

    // Nothing is sent while it is off; turned on again, the waiting ping goes out.
    let waiting = ping(&app, &employer, &hook).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent_before = receiver.all().len();
    // The first failure after five days may have been the first ping's retry (the worker
    // can claim it before the second ping exists); the second ping then waits too, and
    // the third queued 500 must not land on the waiting ping, whose retry is an hour off.
    receiver.answer_ok_from_now();
    let on = app
        .request(
            Method::PATCH,
            &hook_path(&employer, &hook, ""),
            Some(employer.admin.access()),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(on.status(), StatusCode::OK);
    let on: Value = on.json().await.unwrap();
    assert_eq!(
        (on["enabled"].clone(), on["failing_since"].clone()),
        (json!(true), Value::Null)
    );
    delivery_reaches(
        &app,
        &employer,
        &hook,
        waiting["id"].as_str().unwrap(),
        "delivered",
    )
    .await;
    assert!(receiver.all().len() > sent_before);
    scrape_until(
        &app,
        "firmenportal_webhook_deliveries_delivered_total",
        &[],
        1.0,
    )
    .await;
    receiver.stop().await;
}

#[tokio::test]
async fn members_read_admins_change_and_another_companys_hooks_are_not_found() {
    let app = webhook_app().spawn().await;
    let employer = employer(&app).await;
    let hook = register(
        &app,
        &employer,
        "https://hr.example.com/hook",
        &["subscription.created"],
    )
    .await;
    let member = company_user(&app, &employer.company, "member").await;
    let stranger = company_user(&app, &company().insert(&app).await, "admin").await;
    let list = format!("/api/v1/companies/{}/webhooks", employer.company.id);

    let page: Value = app
        .get(&list, Some(member.access()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
    assert!(page["items"][0].get("secret").is_none());
    let item = hook_path(&employer, &hook, "");
    assert_eq!(
        app.get(&item, Some(member.access())).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.get(
            &hook_path(&employer, &hook, "/deliveries"),
            Some(member.access())
        )
        .await
        .status(),
        StatusCode::OK
    );
    let changes: [(Method, String, Option<Value>); 5] = [
        (
            Method::POST,
            list.clone(),
            Some(json!({"url": "https://hr.example.com/x", "events": ["ping"]})),
        ),
        (
            Method::PATCH,
            item.clone(),
            Some(json!({"description": "x"})),
        ),
        (Method::DELETE, item.clone(), None),
        (
            Method::POST,
            hook_path(&employer, &hook, "/rotate-secret"),
            None,
        ),
        (Method::POST, hook_path(&employer, &hook, "/ping"), None),
    ];
    for (method, path, body) in changes.clone() {
        let response = app
            .request(method.clone(), &path, Some(member.access()), body)
            .await;
        assert_problem(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    for (method, path, body) in changes.into_iter().skip(1) {
        let response = app
            .request(method, &path, Some(stranger.access()), body)
            .await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    for path in [
        item.clone(),
        hook_path(&employer, &hook, "/deliveries"),
        list.clone(),
    ] {
        let response = app.get(&path, Some(stranger.access())).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }

    // Field errors, all at once.
    let bad = app
        .request(
            Method::POST,
            &list,
            Some(employer.admin.access()),
            Some(json!({"events": ["ping", "subscription.teleported"], "description": "x".repeat(201)})),
        )
        .await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let mut found = pointers(&problem);
    found.sort();
    assert_eq!(
        found,
        [
            ("/description".into(), "too_long".into()),
            ("/events/0".into(), "invalid_choice".into()),
            ("/events/1".into(), "invalid_choice".into()),
            ("/url".into(), "required".into()),
        ]
    );
    let none = app
        .request(
            Method::POST,
            &list,
            Some(employer.admin.access()),
            Some(json!({"url": "https://hr.example.com/x", "events": []})),
        )
        .await;
    let problem = assert_problem(none, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(pointers(&problem), [("/events".into(), "required".into())]);

    // Admins change, pause and remove.
    let changed = app
        .request(
            Method::PATCH,
            &item,
            Some(employer.admin.access()),
            Some(json!({"events": ["subscription.cancelled", "subscription.created"], "enabled": false})),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(
        changed["events"],
        json!(["subscription.cancelled", "subscription.created"])
    );
    assert_eq!(changed["enabled"], false);
    let removed = app
        .request(Method::DELETE, &item, Some(employer.admin.access()), None)
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get(&item, Some(employer.admin.access())).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(count_audited(&app, "webhook.updated").await, 1);
    assert_eq!(count_audited(&app, "webhook.deleted").await, 1);
}
