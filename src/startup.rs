//! Builds the application: database, keys, background jobs (mail, webhooks, retention) and HTTP
//! server. `main` and the tests both start the service through [`Application::build`].

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use lettre::message::Mailbox;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::jwt::KeyRing;
use crate::auth::password::PasswordHasher;
use crate::config::Config;
use crate::config::ShutdownConfig;
use crate::db::DbPool;
use crate::http::context::TrustedProxies;
use crate::http::fallback::{RouteTable, unmatched_route};
use crate::http::middleware::{REQUEST_ID_HEADER, request_context};
use crate::http::{OPENAPI_PATH, SWAGGER_UI_BARE_PATH, SWAGGER_UI_PATH};
use crate::mail::worker::{Transport, Worker};
use crate::mail::{LinkSettings, OutboxWaker};
use crate::shutdown::Shutdown;
use crate::state::AppState;
use crate::telemetry::metrics::{Metrics, refresh_queue_gauges};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

/// Browsers on the configured frontend origins may call the API with a bearer token,
/// send every header the contract asks them to send (DESIGN §6) and read every header
/// it asks them to read: without `ETag` and `If-Match`, a browser could not use the
/// optimistic locking of `PATCH …/customer`; without `Content-Disposition`, it could not
/// name a download.
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static(crate::idempotency::HEADER),
            REQUEST_ID_HEADER,
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::CONTENT_DISPOSITION,
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            header::CONTENT_LANGUAGE,
            header::HeaderName::from_static(crate::idempotency::REPLAYED_HEADER),
            REQUEST_ID_HEADER,
        ])
        .max_age(3600)
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// The e-mail and webhook workers: they finish the item in hand when stopping.
    workers: Vec<tokio::task::JoinHandle<()>>,
    /// Jobs that can stop anywhere (retention, gauges).
    background: Vec<tokio::task::JoinHandle<()>>,
    metrics_server: Option<Server>,
    metrics_port: Option<u16>,
    shutdown: Shutdown,
    settings: ShutdownConfig,
}

impl Application {
    /// Connects, migrates, loads keys, binds `config.bind_addr` and spawns the outbox
    /// worker. The server runs once [`Application::run_until_stopped`] is awaited.
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        for warning in config.warnings() {
            tracing::warn!("{warning}");
        }
        let config = Arc::new(config);
        let db = DbPool::new(&config).map_err(|e| StartupError(format!("database: {e}")))?;
        {
            let db = db.clone();
            let applied = tokio::task::spawn_blocking(move || db.migrate())
                .await
                .map_err(|e| StartupError(format!("migration task: {e}")))?
                .map_err(|e| StartupError(format!("database: {e}")))?;
            if applied > 0 {
                tracing::info!(applied, "database migrations applied");
            }
        }
        let keys = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || KeyRing::load(&config))
                .await
                .map_err(|e| StartupError(format!("key task: {e}")))?
                .map_err(|e| StartupError(format!("JWT keys: {e}")))?
        };
        let transport = Transport::from_config(&config.mail).map_err(StartupError)?;
        let from: Mailbox = config
            .mail
            .from
            .parse()
            .map_err(|e| StartupError(format!("MAIL_FROM is not a valid address: {e}")))?;
        let hasher = {
            let hashing = config.hashing;
            tokio::task::spawn_blocking(move || PasswordHasher::new(hashing.threads, hashing.queue))
                .await
                .map_err(|e| StartupError(format!("hasher: {e}")))?
        };
        tracing::info!(
            threads = hasher.threads(),
            queue = config.hashing.queue,
            "password hashing threads started"
        );
        let outbox = OutboxWaker::default();
        let shutdown = Shutdown::default();
        let metrics = Arc::new(
            Metrics::new(
                db.clone(),
                hasher.clone(),
                config.metrics.bind_addr.is_some(),
            )
            .map_err(|e| StartupError(format!("metrics: {e}")))?,
        );

        let mail_worker = tokio::spawn(
            Worker {
                db: db.clone(),
                transport,
                from,
                waker: outbox.clone(),
                composer: crate::api::compose_mail,
                links: LinkSettings {
                    public_app_url: config.http.public_app_url.clone(),
                    token_ttl: config.tokens.email_token_ttl,
                    invitation_ttl: config.tokens.invitation_ttl,
                },
                poll_interval: config.mail.poll_interval,
                retry_base: config.mail.retry_base,
                max_attempts: config.mail.max_attempts,
                counts: metrics.outbox.clone(),
                shutdown: shutdown.clone(),
            }
            .run(),
        );
        let clock = crate::clock::Clock::default();
        let webhook_worker = tokio::spawn(
            crate::webhooks::worker::Worker::new(
                db.clone(),
                config.webhooks.clone(),
                clock.clone(),
                outbox.clone(),
                metrics.webhooks.clone(),
                shutdown.clone(),
            )
            .run(),
        );
        let retention = tokio::spawn(crate::retention::run(
            db.clone(),
            config.retention,
            clock.clone(),
        ));

        let mut background = vec![retention];
        let (metrics_server, metrics_port) = match &config.metrics.bind_addr {
            Some(address) => match metrics_listener(address, metrics.clone()) {
                Ok((server, port)) => {
                    background.push(tokio::spawn(refresh_queue_gauges(
                        metrics.clone(),
                        db.clone(),
                        clock.clone(),
                        config.metrics.db_refresh,
                    )));
                    (Some(server), Some(port))
                }
                // Metrics are not worth an outage, and several instances may share a host.
                Err(error) => {
                    tracing::error!(%error, address, "metrics listener not started; serving on without it");
                    (None, None)
                }
            },
            None => (None, None),
        };

        let bind_addr = &config.http.bind_addr;
        let listener = TcpListener::bind(bind_addr)
            .map_err(|e| StartupError(format!("cannot bind {bind_addr}: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError(e.to_string()))?
            .port();

        let swagger_ui = config.http.swagger_ui;
        let extra_get_paths: &[&str] = if swagger_ui {
            &[OPENAPI_PATH, SWAGGER_UI_PATH, SWAGGER_UI_BARE_PATH]
        } else {
            &[OPENAPI_PATH]
        };
        let state = web::Data::new(AppState {
            config: config.clone(),
            db,
            keys: Arc::new(keys),
            hasher,
            uploads: crate::bulk_uploads::slots::UploadSlots::new(
                config.bulk_upload.concurrency,
                config.bulk_upload.queue,
            ),
            outbox,
            clock,
            metrics,
            shutdown: shutdown.clone(),
        });
        let trusted = web::Data::new(TrustedProxies(config.http.trusted_proxies.clone()));
        let cors_origins = config.http.cors_allowed_origins.clone();

        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let db_pool_size = state.db.max_size() as usize;
        let server_state = state.clone();
        let server = HttpServer::new(move || {
            let (app, documented) = App::new()
                .into_utoipa_app()
                .configure(crate::api::configure)
                .split_for_parts();
            // The routes' documentation, collected on the way, is only needed for the
            // table of paths that answers 405 instead of 404.
            let routes = RouteTable::from_openapi(&documented, extra_get_paths);
            drop(documented);
            release_freed_memory();
            let app = app
                .app_data(server_state.clone())
                .app_data(web::Data::new(routes))
                .app_data(trusted.clone())
                .route(OPENAPI_PATH, web::get().to(openapi_document));
            let app = if swagger_ui {
                app.service(
                    SwaggerUi::new(format!("{SWAGGER_UI_PATH}{{_:.*}}"))
                        .config(utoipa_swagger_ui::Config::new([OPENAPI_PATH])),
                )
                // Typed without the slash, the address still opens the UI.
                .service(web::redirect(SWAGGER_UI_BARE_PATH, SWAGGER_UI_PATH).permanent())
            } else {
                app
            };
            app.default_service(web::to(unmatched_route))
                .wrap(from_fn(crate::idempotency::idempotency))
                .wrap(cors(&cors_origins))
                .wrap(
                    DefaultHeaders::new()
                        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                        // Answers carry tokens and personal data; only the JWKS says
                        // otherwise.
                        .add((header::CACHE_CONTROL, "no-store")),
                )
                .wrap(from_fn(request_context))
        })
        // Answers are small and written at once; Nagle's algorithm would hold a second
        // segment back until the client's delayed ACK (40–200 ms).
        .tcp_nodelay(true)
        // Database work runs on each worker's blocking threads. More of them than there
        // are pooled connections would only wait for one, and every extra thread that
        // wakes, waits and sleeps costs context switches on a busy machine: the blocking
        // threads of all workers together match the pool.
        .workers(workers)
        .worker_max_blocking_threads(db_pool_size.div_ceil(workers).max(1))
        .listen(listener)
        .map_err(|e| StartupError(e.to_string()))?
        // The drain and stop follow `Shutdown` (see `run_until_stopped`); `main` turns
        // the signals into it.
        .disable_signals()
        .shutdown_timeout(config.shutdown.grace.as_secs())
        .run();

        tracing::info!(
            address = %format!("http://127.0.0.1:{port}"),
            swagger_ui = %if swagger_ui {
                format!("http://127.0.0.1:{port}{SWAGGER_UI_PATH}")
            } else {
                "off".to_string()
            },
            "Firmenportal listening"
        );
        if let Some(port) = metrics_port {
            tracing::info!(address = %format!("http://127.0.0.1:{port}/metrics"), "metrics listening");
        }
        Ok(Application {
            port,
            server,
            state,
            workers: vec![mail_worker, webhook_worker],
            background,
            metrics_server,
            metrics_port,
            shutdown,
            settings: config.shutdown,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared state the handlers see (tests read the hasher's metrics from it).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// The port of the metrics listener, when it runs.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    /// Begins the shutdown when asked ([`crate::shutdown::Signals`] ask on SIGTERM).
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Serves until the shutdown: then drains for `SHUTDOWN_DRAIN_SECS` (readiness 503,
    /// `Connection: close`), stops accepting, lets requests in flight finish for up to
    /// `SHUTDOWN_GRACE_SECS`, and waits for the workers to finish the item in hand.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics_server.map(|server| {
            let handle = server.handle();
            tokio::spawn(server);
            handle
        });
        let server = self.server.handle();
        let (shutdown, settings) = (self.shutdown.clone(), self.settings);
        let stopper = tokio::spawn(async move {
            shutdown.requested().await;
            tracing::info!(
                drain_secs = settings.drain.as_secs(),
                "draining: readiness answers 503"
            );
            tokio::time::sleep(settings.drain).await;
            tracing::info!(
                grace_secs = settings.grace.as_secs(),
                "no longer accepting; finishing requests in flight"
            );
            server.stop(true).await;
        });
        let result = self.server.await;
        // The server may also end on its own (an error): the workers stop with it.
        self.shutdown.begin();
        stopper.abort();
        for job in self.background {
            job.abort();
        }
        let workers = futures_util::future::join_all(self.workers);
        if tokio::time::timeout(self.settings.grace, workers)
            .await
            .is_err()
        {
            tracing::warn!("the workers did not finish within the grace period");
        }
        if let Some(metrics) = metrics {
            metrics.stop(false).await;
        }
        tracing::info!("stopped");
        result
    }
}

/// Serves `GET /metrics` on its own address, with one worker and no signal handling of
/// its own (the API server's shutdown stops it).
fn metrics_listener(address: &str, metrics: Arc<Metrics>) -> std::io::Result<(Server, u16)> {
    let listener = TcpListener::bind(address)?;
    let port = listener.local_addr()?.port();
    let metrics = web::Data::from(metrics);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(metrics.clone())
            .route("/metrics", web::get().to(scrape))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((server, port))
}

/// The Prometheus text exposition (format 0.0.4).
async fn scrape(metrics: web::Data<Metrics>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(metrics.render())
}

/// The OpenAPI document, served also when Swagger UI is switched off.
async fn openapi_document() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type(mime::APPLICATION_JSON)
        .body(crate::openapi::COMMITTED_DOCUMENT)
}

/// Gives the memory freed so far back to the OS. Every worker's `App` collects its
/// routes' documentation only to drop it, which leaves megabytes free inside glibc's
/// heaps, which it keeps; trimmed once per worker at start, the instance rests smaller
/// and nothing runs slower.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release_freed_memory() {
    // SAFETY: malloc_trim only returns free pages of the allocator's heaps to the OS.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}
