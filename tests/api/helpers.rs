//! `TestApp`: the real service on a random port with its own fresh database (SQLite by
//! default, PostgreSQL when `TEST_DATABASE_URL` is set) and a real SMTP listener.

use std::collections::HashMap;
use std::time::Duration;

use diesel::prelude::*;
use firmenportal::config::Config;
use firmenportal::db::{DbConnection, DbPool};
use firmenportal::startup::Application;
use firmenportal::state::AppState;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::smtp::{MailSink, ReceivedMail};

pub const PASSWORD: &str = "Kassel-Tram-2024!";

/// A database of its own for one test; dropped with the test.
pub struct TestDatabase {
    pub url: String,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub fn create() -> TestDatabase {
        match std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            Some(admin_url) => {
                let name = format!("fp_test_{}", uuid::Uuid::new_v4().simple());
                let template = migrated_template(&admin_url);
                let mut admin = diesel::PgConnection::establish(&admin_url)
                    .expect("connect to TEST_DATABASE_URL");
                diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
                    .execute(&mut admin)
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                TestDatabase {
                    url: format!("{base}/{name}"),
                    postgres: Some((admin_url.clone(), name)),
                    _dir: None,
                }
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                TestDatabase {
                    url: format!("sqlite://{}", dir.path().join("test.db").display()),
                    postgres: None,
                    _dir: Some(dir),
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Runs SQL as the PostgreSQL superuser (to simulate outages).
    pub fn admin_sql(&self, sql: &str) {
        let (admin_url, _) = self.postgres.as_ref().expect("PostgreSQL only");
        let mut admin = diesel::PgConnection::establish(admin_url).expect("admin connection");
        diesel::sql_query(sql)
            .execute(&mut admin)
            .expect("admin SQL");
    }

    pub fn name(&self) -> &str {
        &self.postgres.as_ref().expect("PostgreSQL only").1
    }
}

/// The PostgreSQL database every test database is copied from: empty but for the
/// migrations, made once per set of migrations. A copy takes ~0.1 s, the 16 migrations
/// ~0.3 s of every test. The name carries a hash of `migrations/postgres`, so a changed
/// or added migration makes a new template (an old one stays, ~8 MB, as a checkout of
/// that older code may still use it). SQLite test databases still migrate from nothing
/// in every test, as a new installation does.
fn migrated_template(admin_url: &str) -> &'static str {
    static TEMPLATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        use sha2::Digest;
        let mut files: Vec<std::path::PathBuf> = Vec::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
        for dir in std::fs::read_dir(&root).expect("migrations/postgres") {
            for file in std::fs::read_dir(dir.expect("migration").path()).expect("migration") {
                files.push(file.expect("migration file").path());
            }
        }
        files.sort();
        let mut hash = sha2::Sha256::new();
        for file in &files {
            hash.update(
                file.strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .as_bytes(),
            );
            hash.update(std::fs::read(file).expect("migration file"));
        }
        let hash: String = hash.finalize()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let name = format!("fp_template_{hash}");

        let mut admin =
            diesel::PgConnection::establish(admin_url).expect("connect to TEST_DATABASE_URL");
        let exists = |admin: &mut diesel::PgConnection| {
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}')"
            )))
            .get_result::<bool>(admin)
            .expect("look for the template")
        };
        if !exists(&mut admin) {
            // Built under a name of its own, then renamed: a test process that starts
            // meanwhile finds no half-migrated template, and of two the second rename
            // fails and its copy is dropped.
            let building = format!("fp_template_building_{}", uuid::Uuid::new_v4().simple());
            diesel::sql_query(format!("CREATE DATABASE {building}"))
                .execute(&mut admin)
                .expect("create the template");
            let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
            {
                let mut conn = DbConnection::Postgres(
                    diesel::PgConnection::establish(&format!("{base}/{building}"))
                        .expect("connect to the template"),
                );
                firmenportal::db::run_migrations(&mut conn).expect("migrate the template");
            }
            // The migrating connection's server process may still be leaving, and a
            // database in use cannot be renamed: try again for a while.
            for _ in 0..100 {
                let renamed =
                    diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
                        .execute(&mut admin)
                        .is_ok();
                if renamed {
                    break;
                }
                if exists(&mut admin) {
                    let _ = diesel::sql_query(format!("DROP DATABASE {building} WITH (FORCE)"))
                        .execute(&mut admin);
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(exists(&mut admin), "the template {name} was made");
        }
        name
    })
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres
            && let Ok(mut admin) = diesel::PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

pub struct TestApp {
    pub address: String,
    /// Where `GET /metrics` answers, unless metrics are off.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub mail: MailSink,
    pub db: DbPool,
    /// What the handlers share (e.g. the password hasher and its metrics).
    pub state: actix_web::web::Data<AppState>,
    pub data_dir: tempfile::TempDir,
    /// The running server, until [`TestApp::stopped`] takes it.
    server: std::sync::Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
    // Dropped last: the database outlives the server's use of it.
    pub database: std::sync::Arc<TestDatabase>,
}

pub struct TestAppBuilder {
    settings: HashMap<String, String>,
    database: Option<std::sync::Arc<TestDatabase>>,
    data_dir: Option<tempfile::TempDir>,
    smtp_port: Option<u16>,
    without_smtp: bool,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::builder().spawn().await
    }

    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            settings: HashMap::new(),
            database: None,
            data_dir: None,
            smtp_port: None,
            without_smtp: false,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.request(Method::POST, path, None, Some(body)).await
    }

    /// A request that can be sent later, e.g. from a task of [`release_together`].
    pub fn post_later(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> impl std::future::Future<Output = Response> + Send + 'static {
        let mut request = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.expect("request") }
    }

    /// Asserts that a session is over: its access token (on `/me`, which checks the
    /// session in the statement that reads the account, and on a list, which checks it
    /// on the connection of its own query) and its refresh token are all refused.
    pub async fn assert_session_ended(&self, tokens: &Tokens) {
        for path in ["/api/v1/me", "/api/v1/me/subscriptions"] {
            assert_problem(
                self.get(path, Some(&tokens.access)).await,
                StatusCode::UNAUTHORIZED,
                "invalid_token",
            )
            .await;
        }
        let refresh = self
            .post(
                "/api/v1/auth/refresh",
                json!({ "refresh_token": tokens.refresh }),
            )
            .await;
        assert_problem(refresh, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    }

    pub async fn me(&self, access: &str) -> Value {
        let response = self.get("/api/v1/me", Some(access)).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn register(&self, email: &str) -> Response {
        self.post(
            "/api/v1/auth/register",
            json!({
                "email": email,
                "password": PASSWORD,
                "password_confirmation": PASSWORD,
                "first_name": "Max",
                "last_name": "Musterjobber",
            }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/login",
            json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Registers, verifies through the e-mailed link and logs in; returns the tokens.
    pub async fn signed_up_user(&self, email: &str) -> Tokens {
        assert_eq!(self.register(email).await.status(), StatusCode::ACCEPTED);
        let mail = self.mail.wait_for(email, 1).await;
        let token = mail.token_for("verify-email");
        let verified = self
            .post("/api/v1/auth/verify-email", json!({ "token": token }))
            .await;
        assert_eq!(verified.status(), StatusCode::NO_CONTENT);
        let login = self.login(email, PASSWORD).await;
        assert_eq!(login.status(), StatusCode::OK);
        Tokens::from(login.json::<Value>().await.unwrap())
    }

    pub async fn verification_mail(&self, email: &str, nth: usize) -> ReceivedMail {
        self.mail.wait_for(email, nth).await
    }

    /// Audit actions recorded for a subject id.
    pub async fn audit_actions(&self, subject: &str) -> Vec<String> {
        let subject = subject.to_string();
        self.db
            .run(move |conn| firmenportal::audit::actions_for(conn, &subject))
            .await
            .unwrap()
    }

    /// Waits until the server has stopped (after a shutdown) and returns how it ended.
    pub async fn stopped(&self) -> std::io::Result<()> {
        let server = self
            .server
            .lock()
            .unwrap()
            .take()
            .expect("not awaited before");
        server.await.expect("the server task")
    }

    /// The text of `GET /metrics` on the metrics listener.
    pub async fn scrape(&self) -> String {
        let address = self.metrics_address.as_ref().expect("metrics are on");
        let response = self
            .client
            .get(format!("{address}/metrics"))
            .send()
            .await
            .expect("scrape");
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    }

    /// Runs a query against the test database.
    pub async fn with_db<R: Send + 'static>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> R + Send + 'static,
    ) -> R {
        self.db.run(move |conn| Ok(work(conn))).await.unwrap()
    }
}

impl TestAppBuilder {
    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.settings.insert(name.to_string(), value.to_string());
        self
    }

    /// Shares the database of another app (two instances behind a load balancer).
    /// Another instance of `first`'s deployment: its database and its signing key (the
    /// same `DATA_DIR`).
    pub fn beside(self, first: &TestApp) -> Self {
        self.database(first.database.clone())
            .set("DATA_DIR", &first.data_dir.path().display().to_string())
    }

    pub fn database(mut self, database: std::sync::Arc<TestDatabase>) -> Self {
        self.database = Some(database);
        self
    }

    pub fn data_dir(mut self, dir: tempfile::TempDir) -> Self {
        self.data_dir = Some(dir);
        self
    }

    /// No `SMTP_URL`, as `cargo run` on a fresh machine: e-mails go to the log and to
    /// files in the data directory.
    pub fn without_smtp(mut self) -> Self {
        self.without_smtp = true;
        self
    }

    /// Points SMTP at a port where nothing may be listening yet.
    pub fn smtp_port(mut self, port: u16) -> Self {
        self.smtp_port = Some(port);
        self
    }

    pub async fn spawn(self) -> TestApp {
        let database = self
            .database
            .unwrap_or_else(|| std::sync::Arc::new(TestDatabase::create()));
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| tempfile::tempdir().expect("data dir"));
        let mail = MailSink::start().await;
        let smtp_port = self.smtp_port.unwrap_or(mail.port);
        let mut settings: HashMap<String, String> = [
            ("BIND_ADDR", "127.0.0.1:0".to_string()),
            ("DATABASE_URL", database.url.clone()),
            ("SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}")),
            ("DATA_DIR", data_dir.path().display().to_string()),
            ("PUBLIC_APP_URL", "https://portal.test".to_string()),
            ("OUTBOX_POLL_INTERVAL_MS", "100".to_string()),
            ("OUTBOX_RETRY_BASE_MS", "200".to_string()),
            ("PASSWORD_HASHING_THREADS", "2".to_string()),
            // Every app its own metrics port, so that parallel tests never collide.
            ("METRICS_BIND_ADDR", "127.0.0.1:0".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        settings.extend(self.settings);
        if self.without_smtp {
            settings.remove("SMTP_URL");
        }
        let config = Config::from_lookup(|name| settings.get(name).cloned()).expect("test config");
        let app = Application::build(config.clone()).await.expect("build app");
        let port = app.port();
        let metrics_port = app.metrics_port();
        let state = app.state();
        let server = tokio::spawn(app.run_until_stopped());
        let db = DbPool::new(&config).expect("test pool");
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            metrics_address: metrics_port.map(|port| format!("http://127.0.0.1:{port}")),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            mail,
            db,
            state,
            data_dir,
            server: std::sync::Mutex::new(Some(server)),
            database,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl From<Value> for Tokens {
    fn from(body: Value) -> Self {
        Tokens {
            access: body["access_token"]
                .as_str()
                .expect("access_token")
                .to_string(),
            refresh: body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_string(),
        }
    }
}

/// Asserts an RFC 9457 answer with the given status and code; returns the body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("application/problem+json"),
        "content type {content_type}"
    );
    let body: Value = response.json().await.expect("problem body is JSON");
    assert_eq!(body["code"], code, "body {body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["type"].as_str().unwrap().ends_with(code));
    assert!(!body["title"].as_str().unwrap().is_empty());
    assert!(!body["detail"].as_str().unwrap().is_empty());
    // Every problem names its request's trace; the id differs per request, so it is
    // checked here and left out of what the tests compare.
    let mut body = body;
    let trace_id = body
        .as_object_mut()
        .and_then(|fields| fields.remove("trace_id"));
    let trace_id = trace_id
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(
        trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "trace_id {trace_id:?}"
    );
    body
}

/// The JSON pointers of a validation problem's field errors.
pub fn pointers(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["pointer"].as_str().unwrap().to_string(),
                        e["code"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Held for a whole test that keeps the cores busy by itself (a burst of password
/// hashes, a burst of writers): no other such test runs beside it. The suite runs
/// eight tests at a time (`.cargo/config.toml`) because most of them wait; two bursts
/// at once on two cores would each take so long that their answers reach the client's
/// timeout (a burst of 240 logins did, beside the other bursts of `contention`).
pub async fn cores_to_itself() -> tokio::sync::SemaphorePermit<'static> {
    static BURSTING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    BURSTING.acquire().await.expect("never closed")
}

pub fn unique_email() -> String {
    format!("user-{}@example.de", uuid::Uuid::new_v4().simple())
}

/// Sends `count` requests at once: every task first opens its connection (a request to
/// `/health/live`, whose connection goes back to the client's pool), then waits at a
/// barrier until all are ready, so the requests reach the server together rather than
/// spread over connection set-up. Returns the answers in the order of `make`'s index.
pub async fn release_together<F, Fut>(app: &TestApp, count: usize, make: F) -> Vec<Response>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Response> + Send + 'static,
{
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(count));
    let tasks: Vec<_> = (0..count)
        .map(|index| {
            let barrier = barrier.clone();
            let warm_up = app.client.get(app.url("/health/live")).send();
            let request = make(index);
            tokio::spawn(async move {
                warm_up.await.expect("warm-up request");
                barrier.wait().await;
                request.await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(count);
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }
    answers
}

/// The `Retry-After` of an answer, in seconds.
pub fn retry_after(response: &Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// How many rows a table holds (for checks of what a request wrote).
pub async fn count_rows(app: &TestApp, table: &'static str) -> i64 {
    count_where(app, table, "1 = 1").await
}

/// How many audit entries of an action there are, whoever they concern.
pub async fn count_audited(app: &TestApp, action: &str) -> i64 {
    count_where(app, "audit_log", &format!("action = '{action}'")).await
}

pub async fn count_where(app: &TestApp, table: &'static str, condition: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rows: i64,
    }
    let condition = condition.to_string();
    app.with_db(move |conn| {
        diesel::sql_query(format!(
            "SELECT COUNT(*) AS rows FROM {table} WHERE {condition}"
        ))
        .get_result::<Count>(conn)
        .unwrap()
        .rows
    })
    .await
}

/// Today in Europe/Berlin by the system clock, as an app's unmoved `state.clock` reads it.
pub fn today_berlin() -> chrono::NaiveDate {
    firmenportal::clock::Clock::default().today_berlin()
}

/// The value of the sample `name` whose labels include all of `labels`, in a Prometheus
/// text exposition; `None` when there is no such sample.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(series, _)| {
            let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
            series_name == name
                && labels
                    .iter()
                    .all(|(label, value)| series_labels.contains(&format!("{label}=\"{value}\"")))
        })
        .map(|(_, value)| value.parse::<f64>().expect("a sample value"))
        .next()
}

/// How many samples the exposition holds (each series once per line).
pub fn series_count(text: &str) -> usize {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .count()
}

/// A small load balancer for tests of several instances: a TCP proxy that hands each new
/// connection to the next instance, round robin, among those whose `/health/ready`
/// answered 200 at the last check (every 50 ms), as a real one routes by readiness.
pub struct LoadBalancer {
    pub address: String,
    backends: std::sync::Arc<std::sync::Mutex<Vec<Backend>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

#[derive(Clone)]
struct Backend {
    address: std::net::SocketAddr,
    ready: bool,
}

impl LoadBalancer {
    pub async fn start(instances: &[&TestApp]) -> LoadBalancer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let backends = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let balancer = LoadBalancer {
            address,
            backends: backends.clone(),
            tasks: vec![
                tokio::spawn(Self::check_health(backends.clone())),
                tokio::spawn(Self::accept(listener, backends)),
            ],
        };
        for instance in instances {
            balancer.add(instance);
        }
        balancer
    }

    /// Routes to one more instance (ready once its first check passes).
    pub fn add(&self, instance: &TestApp) {
        let address = instance
            .address
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        self.backends.lock().unwrap().push(Backend {
            address,
            ready: false,
        });
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    async fn check_health(backends: std::sync::Arc<std::sync::Mutex<Vec<Backend>>>) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap();
        loop {
            let addresses: Vec<_> = backends.lock().unwrap().iter().map(|b| b.address).collect();
            for address in addresses {
                // A check that times out leaves the instance as it was: it is busy (the
                // suite runs tests side by side on few cores), not gone. A 503 or a
                // refused connection takes it out at once, as readiness intends.
                let ready = match client
                    .get(format!("http://{address}/health/ready"))
                    .send()
                    .await
                {
                    Err(error) if error.is_timeout() => continue,
                    answer => answer.is_ok_and(|response| response.status() == StatusCode::OK),
                };
                if let Some(backend) = backends
                    .lock()
                    .unwrap()
                    .iter_mut()
                    .find(|b| b.address == address)
                {
                    backend.ready = ready;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn accept(
        listener: tokio::net::TcpListener,
        backends: std::sync::Arc<std::sync::Mutex<Vec<Backend>>>,
    ) {
        let mut next = 0usize;
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                continue;
            };
            let ready: Vec<std::net::SocketAddr> = backends
                .lock()
                .unwrap()
                .iter()
                .filter(|b| b.ready)
                .map(|b| b.address)
                .collect();
            next = next.wrapping_add(1);
            // No retry on another instance: like kube-proxy, a connection to an instance
            // that no longer accepts fails, so only readiness keeps clients away from it.
            tokio::spawn(async move {
                if ready.is_empty() {
                    return;
                }
                let address = ready[next % ready.len()];
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(address).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    }
}

impl Drop for LoadBalancer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Several instances of the service on one database, sharing their signing key (the
/// same `DATA_DIR`), as one deployment runs them. [`Cluster::next`] hands out the
/// instances round robin, so that consecutive requests land on different ones.
pub struct Cluster {
    pub instances: Vec<TestApp>,
    turn: std::sync::atomic::AtomicUsize,
}

impl Cluster {
    /// `count` instances, each built by `builder`.
    pub async fn spawn(count: usize, builder: impl Fn() -> TestAppBuilder) -> Cluster {
        let mut instances = vec![builder().spawn().await];
        for _ in 1..count {
            instances.push(builder().beside(&instances[0]).spawn().await);
        }
        Cluster {
            instances,
            turn: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// The next instance, round robin.
    pub fn next(&self) -> &TestApp {
        let turn = self.turn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        &self.instances[turn % self.instances.len()]
    }
}
