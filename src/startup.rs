//! Builds the application: database, keys, mail worker and HTTP server. `main` and the
//! tests both start the service through [`Application::build`].

use std::net::TcpListener;
use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use lettre::message::Mailbox;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::jwt::KeyRing;
use crate::auth::password::PasswordHasher;
use crate::config::Config;
use crate::db::DbPool;
use crate::http::context::TrustedProxies;
use crate::http::fallback::{RouteTable, unmatched_route};
use crate::http::middleware::{REQUEST_ID_HEADER, request_context};
use crate::mail::OutboxWaker;
use crate::mail::worker::{Transport, Worker};
use crate::state::AppState;

pub const OPENAPI_PATH: &str = "/api-docs/openapi.json";
pub const SWAGGER_UI_PATH: &str = "/swagger-ui/";

/// Every documented route; used for serving and for the OpenAPI document alike.
pub fn configure_api(cfg: &mut ServiceConfig) {
    crate::system::configure(cfg);
    cfg.service(utoipa_actix_web::scope("/api/v1").configure(crate::accounts::configure));
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(pub String);

/// Browsers on the configured frontend origins may call the API with a bearer token.
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
            REQUEST_ID_HEADER,
        ])
        .expose_headers([
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            header::CONTENT_LANGUAGE,
            REQUEST_ID_HEADER,
        ])
        .max_age(3600)
}

pub struct Application {
    port: u16,
    server: Server,
    worker: tokio::task::JoinHandle<()>,
}

impl Application {
    /// Connects, migrates, loads keys, binds `config.bind_addr` and spawns the outbox
    /// worker. The server runs once [`Application::run_until_stopped`] is awaited.
    pub async fn build(config: Config) -> Result<Application, StartupError> {
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
        let transport = Transport::from_config(&config).map_err(StartupError)?;
        let from: Mailbox = config
            .mail_from
            .parse()
            .map_err(|e| StartupError(format!("MAIL_FROM is not a valid address: {e}")))?;
        let hasher = {
            let threads = config.hashing_threads;
            tokio::task::spawn_blocking(move || PasswordHasher::new(threads))
                .await
                .map_err(|e| StartupError(format!("hasher: {e}")))?
        };
        tracing::debug!(
            threads = hasher.threads(),
            "password hashing threads started"
        );
        let outbox = OutboxWaker::default();

        let worker = tokio::spawn(
            Worker {
                db: db.clone(),
                transport,
                from,
                waker: outbox.clone(),
                poll_interval: config.outbox_poll_interval,
                retry_base: config.outbox_retry_base,
                max_attempts: config.outbox_max_attempts,
            }
            .run(),
        );

        let listener = TcpListener::bind(&config.bind_addr)
            .map_err(|e| StartupError(format!("cannot bind {}: {e}", config.bind_addr)))?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError(e.to_string()))?
            .port();

        let document = crate::openapi::document();
        let routes = web::Data::new(RouteTable::from_openapi(
            &document,
            &[OPENAPI_PATH, SWAGGER_UI_PATH],
        ));
        let state = web::Data::new(AppState {
            config: config.clone(),
            db,
            keys: Arc::new(keys),
            hasher,
            outbox,
        });
        let trusted = web::Data::new(TrustedProxies(config.trusted_proxies.clone()));
        let cors_origins = config.cors_allowed_origins.clone();

        let server = HttpServer::new(move || {
            App::new()
                .into_utoipa_app()
                .configure(configure_api)
                .into_app()
                .app_data(state.clone())
                .app_data(routes.clone())
                .app_data(trusted.clone())
                .service(
                    SwaggerUi::new(format!("{SWAGGER_UI_PATH}{{_:.*}}"))
                        .url(OPENAPI_PATH, document.clone()),
                )
                .default_service(web::to(unmatched_route))
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
        .listen(listener)
        .map_err(|e| StartupError(e.to_string()))?
        .shutdown_timeout(10)
        .run();

        tracing::info!(
            address = %format!("http://127.0.0.1:{port}"),
            swagger_ui = %format!("http://127.0.0.1:{port}{SWAGGER_UI_PATH}"),
            "Firmenportal listening"
        );
        Ok(Application {
            port,
            server,
            worker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.worker.abort();
        result
    }
}
