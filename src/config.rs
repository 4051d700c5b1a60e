//! Typed configuration, read once from the environment (and an optional `.env`) and
//! passed into the application. Every variable is listed in the README's table.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// Where the service runs; production refuses unsafe defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

/// A limit of `max` events per `window`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub app_env: AppEnv,
    pub log_format: LogFormat,
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub mail: MailConfig,
    pub tokens: TokenConfig,
    pub hashing: HashingConfig,
    pub limits: LimitsConfig,
    pub retention: RetentionConfig,
    pub ordering: OrderingConfig,
    pub bulk_upload: BulkUploadConfig,
    pub lists: ListConfig,
    pub webhooks: WebhookConfig,
    pub metrics: MetricsConfig,
    pub shutdown: ShutdownConfig,
}

/// What happens after SIGTERM.
#[derive(Debug, Clone, Copy)]
pub struct ShutdownConfig {
    /// How long the instance keeps accepting while readiness answers 503.
    pub drain: Duration,
    /// How long requests in flight may take after the drain.
    pub grace: Duration,
}

/// The Prometheus listener.
#[derive(Debug, Clone)]
pub struct MetricsConfig {
    /// Where `GET /metrics` is served; `None` (set empty or `off`) turns metrics off.
    pub bind_addr: Option<String>,
    /// How often the queue gauges (outbox, webhook deliveries) are read from the
    /// database.
    pub db_refresh: Duration,
}

/// Settings whose empty value means something (here: off), so an empty variable is
/// passed on as a value instead of being taken as unset.
const EMPTY_IS_A_VALUE: &[&str] = &["METRICS_BIND_ADDR"];

/// A variable's value as the configuration sees it: empty counts as unset, except for
/// [`EMPTY_IS_A_VALUE`].
fn set_value(name: &str, value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty() || EMPTY_IS_A_VALUE.contains(&name))
}

/// Webhook deliveries to HR systems.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Waits after each failed attempt before the next; after the last the delivery is
    /// `failed`.
    pub retry_schedule: Vec<Duration>,
    /// Plain `http://` targets allowed (tests, local development).
    pub allow_http: bool,
    /// Loopback, private, link-local, multicast and unspecified targets allowed
    /// (on-premise setups, tests).
    pub allow_private_targets: bool,
    /// How long an endpoint may fail every delivery before it is disabled.
    pub disable_after: Duration,
    /// How often the worker looks for due deliveries.
    pub poll_interval: Duration,
    /// Deliveries sent at once by one instance.
    pub concurrency: usize,
}

/// Lists and their searches.
#[derive(Debug, Clone, Copy)]
pub struct ListConfig {
    /// A free-text search (`q`) counts its matches up to this many; above it the page
    /// answers this number as a lower bound (`total_relation: gte`).
    pub search_count_limit: i64,
}

/// Limits of a staff list (Massenupload).
#[derive(Debug, Clone, Copy)]
pub struct BulkUploadConfig {
    /// Largest file accepted (`413 payload_too_large` beyond).
    pub max_bytes: usize,
    /// Most data rows accepted (`422 too_many_rows` beyond).
    pub max_rows: usize,
    /// Most bytes an Excel file's zip entries may unpack to, together (`413
    /// payload_too_large` beyond): a zip bomb stops here, however small its file.
    pub max_uncompressed_bytes: u64,
    /// Files read at once; each holds a file of up to `max_bytes` and its rows.
    pub concurrency: usize,
    /// Uploads that may wait for a reader; beyond them `503 service_busy`.
    pub queue: usize,
}

/// The calendar rules of job tickets, which run by calendar month.
#[derive(Debug, Clone, Copy)]
pub struct OrderingConfig {
    /// An order placed on or before this day of the month (Europe/Berlin) can start on
    /// the 1st of next month; a later one starts a month later.
    pub order_deadline_day: u32,
    /// A cancellation on or before this day ends the ticket with the current month;
    /// a later one with the next.
    pub cancellation_deadline_day: u32,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub bind_addr: String,
    /// The frontend's base URL, for links in e-mails.
    pub public_app_url: String,
    /// Browser origins allowed to call the API (CORS).
    pub cors_allowed_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Whether Swagger UI is served (the OpenAPI document always is).
    pub swagger_ui: bool,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: SecretString,
    pub pool_size: u32,
    /// How long a request waits for a database connection before answering 503.
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub smtp_url: Option<SecretString>,
    /// Development without SMTP: where each e-mail is also written as an `.eml` file
    /// (`DATA_DIR/mail`); never in production.
    pub files_dir: Option<PathBuf>,
    pub from: String,
    pub poll_interval: Duration,
    pub retry_base: Duration,
    pub max_attempts: i32,
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// Validity of e-mailed links (verification, password reset), counted from sending.
    pub email_token_ttl: Duration,
    /// Validity of a company invitation's link, counted from sending.
    pub invitation_ttl: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub signing_key_file: Option<PathBuf>,
    pub verification_key_files: Vec<PathBuf>,
    /// Where the development signing key is kept.
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Copy)]
pub struct HashingConfig {
    /// argon2 computations at once.
    pub threads: usize,
    /// Computations that may wait for a thread; beyond them requests answer 503.
    pub queue: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct LimitsConfig {
    /// Login attempts (and confirmations with the current password) per e-mail address,
    /// known or not, so the limit tells nothing.
    pub login_per_account: RateLimit,
    /// Login attempts per client IP.
    pub login_per_ip: RateLimit,
    /// Register / resend / forgot-password requests per e-mail address.
    pub email_per_address: RateLimit,
    /// Register / resend / forgot-password requests per client IP.
    pub email_per_ip: RateLimit,
    /// Password-reset attempts per client IP.
    pub password_reset_per_ip: RateLimit,
    /// Failed attempts to link a subscription, per account.
    pub link_per_account: RateLimit,
    /// Failed attempts to link a subscription, per subscription (or typed number).
    pub link_per_number: RateLimit,
    /// Failed customer-code checks per account.
    pub code_check_per_account: RateLimit,
    /// Failed customer-code checks per client IP.
    pub code_check_per_ip: RateLimit,
    /// Applications (orders) an account may submit; each e-mails the company's admins.
    pub applications_per_account: RateLimit,
    /// Data exports an account may make in an hour; each gathers all its records.
    pub export_per_account: RateLimit,
}

/// How long records are kept after they stop mattering; a background job deletes older
/// ones every `interval`.
#[derive(Debug, Clone, Copy)]
pub struct RetentionConfig {
    pub interval: Duration,
    pub sent_emails: Duration,
    pub failed_emails: Duration,
    pub email_tokens: Duration,
    pub sessions: Duration,
    pub audit_log: Duration,
    /// Delivered and failed webhook deliveries.
    pub webhook_deliveries: Duration,
    /// The holder data of rejected and withdrawn orders, after their decision.
    pub applications: Duration,
    /// Audit entries' full client addresses (then only their network).
    pub audit_addresses: Duration,
    /// Customer records, in years after their last ticket ended (or after they were
    /// recorded, without a ticket).
    pub customer_years: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} has an invalid value {value:?}: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
    #[error("APP_ENV=production needs explicit configuration; missing: {}", .0.join(", "))]
    MissingInProduction(Vec<&'static str>),
}

pub const DEFAULT_SQLITE_URL: &str = "sqlite://data/firmenportal.db";

impl Config {
    /// Reads `.env` (if present) and then the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| set_value(name, std::env::var(name).ok()))
    }

    /// Builds the configuration from any lookup (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let app_env = match get("APP_ENV").as_deref() {
            None | Some("development") | Some("dev") | Some("test") => AppEnv::Development,
            Some("production") | Some("prod") => AppEnv::Production,
            Some(other) => return Err(invalid("APP_ENV", other, "use development or production")),
        };

        if app_env == AppEnv::Production {
            let missing: Vec<&'static str> = [
                "DATABASE_URL",
                "JWT_SIGNING_KEY_FILE",
                "SMTP_URL",
                "PUBLIC_APP_URL",
            ]
            .into_iter()
            .filter(|name| get(name).is_none())
            .collect();
            if !missing.is_empty() {
                return Err(ConfigError::MissingInProduction(missing));
            }
        }

        let secs = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            parse_or(&get, name, default).map(Duration::from_secs)
        };
        let millis = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            parse_or(&get, name, default).map(Duration::from_millis)
        };
        let days = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            parse_or(&get, name, default).map(|days: u64| Duration::from_secs(days * 86_400))
        };
        let limit =
            |name: &'static str, max: u32, window_secs: u64| -> Result<RateLimit, ConfigError> {
                Ok(RateLimit {
                    max: parse_or(&get, name, max)?,
                    window: Duration::from_secs(window_secs),
                })
            };

        let day_of_month = |name: &'static str| -> Result<u32, ConfigError> {
            let day: u32 = parse_or(&get, name, 10)?;
            if !(1..=28).contains(&day) {
                return Err(invalid(
                    name,
                    &day.to_string(),
                    "must be a day between 1 and 28, which every month has",
                ));
            }
            Ok(day)
        };

        let access_token_ttl = secs("ACCESS_TOKEN_TTL_SECS", 900)?;
        if access_token_ttl.is_zero() || access_token_ttl > Duration::from_secs(900) {
            return Err(invalid(
                "ACCESS_TOKEN_TTL_SECS",
                &access_token_ttl.as_secs().to_string(),
                "must be between 1 and 900 seconds",
            ));
        }

        let trusted_proxies = match get("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<IpAddr>()
                        .map(|ip| ip.to_canonical())
                        .map_err(|_| invalid("TRUSTED_PROXIES", s, "not an IP address"))
                })
                .collect::<Result<_, _>>()?,
        };

        let public_app_url = get("PUBLIC_APP_URL")
            .unwrap_or_else(|| "http://localhost:3000".into())
            .trim_end_matches('/')
            .to_string();
        let cors_allowed_origins =
            match get("CORS_ALLOWED_ORIGINS") {
                None => vec![origin_of(&public_app_url).ok_or_else(|| {
                    invalid("PUBLIC_APP_URL", &public_app_url, "not an http(s) URL")
                })?],
                Some(list) => list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|origin| match origin_of(origin) {
                        Some(parsed) if parsed == origin => Ok(parsed),
                        _ => Err(invalid(
                            "CORS_ALLOWED_ORIGINS",
                            origin,
                            "each entry must be an origin like https://portal.example.de",
                        )),
                    })
                    .collect::<Result<_, _>>()?,
            };

        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let at_least_one = |name: &'static str, default: usize| -> Result<usize, ConfigError> {
            match parse_or(&get, name, default)? {
                0 => Err(invalid(name, "0", "must be at least 1")),
                n => Ok(n),
            }
        };
        // Every core hashes: a login flood is what the cores are there for, and the
        // hashing threads run at a lower priority, so other requests still come first.
        let hashing_threads: usize = parse_or(&get, "PASSWORD_HASHING_THREADS", cores)?;
        if hashing_threads == 0 {
            return Err(invalid(
                "PASSWORD_HASHING_THREADS",
                "0",
                "must be at least 1",
            ));
        }

        let database_url = database_url(&get)?;
        // PostgreSQL's own rule of thumb (cores × 2 + 1) for a database on its own
        // machine: more connections than that only add context switches and queueing
        // between them. Where the database runs on the server's cores, its busy backends
        // preempt request threads that hold the pool's lock, and the waiters spin and
        // yield: one connection a core and one more. Measured on 2 cores with PostgreSQL
        // beside the server (bench/orders.sh, the application search at 8 connections):
        // p99 0.93–1.10 × pgbench's with 3 connections, 1.36–1.71 × with 5, 3–6 × with 8,
        // at the same throughput.
        let default_pool_size = if crate::db::shares_the_cores(database_url.expose_secret()) {
            cores + 1
        } else {
            cores * 2 + 1
        };

        Ok(Config {
            app_env,
            log_format: match get("LOG_FORMAT").as_deref() {
                None if app_env == AppEnv::Production => LogFormat::Json,
                None | Some("pretty") => LogFormat::Pretty,
                Some("json") => LogFormat::Json,
                Some(other) => return Err(invalid("LOG_FORMAT", other, "use pretty or json")),
            },
            http: HttpConfig {
                bind_addr: get("BIND_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into()),
                public_app_url,
                cors_allowed_origins,
                trusted_proxies,
                swagger_ui: parse_bool(&get, "SWAGGER_UI", true)?,
            },
            database: DatabaseConfig {
                url: database_url,
                pool_size: parse_or(&get, "DATABASE_POOL_SIZE", default_pool_size as u32)?,
                timeout: millis("DATABASE_TIMEOUT_MS", 1500)?,
            },
            mail: MailConfig {
                smtp_url: get("SMTP_URL").map(Into::into),
                files_dir: (app_env == AppEnv::Development && get("SMTP_URL").is_none())
                    .then(|| data_dir(&get).join("mail")),
                from: get("MAIL_FROM")
                    .unwrap_or_else(|| "Firmenportal <no-reply@firmenportal.example>".into()),
                poll_interval: millis("OUTBOX_POLL_INTERVAL_MS", 1000)?,
                retry_base: millis("OUTBOX_RETRY_BASE_MS", 2000)?,
                max_attempts: parse_or(&get, "OUTBOX_MAX_ATTEMPTS", 10)?,
            },
            tokens: TokenConfig {
                email_token_ttl: secs("EMAIL_TOKEN_TTL_SECS", 1800)?,
                invitation_ttl: secs("INVITATION_TTL_SECS", 7 * 24 * 3600)?,
                access_token_ttl,
                refresh_token_ttl: secs("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 3600)?,
                jwt_issuer: get("JWT_ISSUER").unwrap_or_else(|| "firmenportal".into()),
                jwt_audience: get("JWT_AUDIENCE").unwrap_or_else(|| "firmenportal-api".into()),
                signing_key_file: get("JWT_SIGNING_KEY_FILE").map(PathBuf::from),
                verification_key_files: get("JWT_VERIFICATION_KEY_FILES")
                    .map(|list| {
                        list.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(PathBuf::from)
                            .collect()
                    })
                    .unwrap_or_default(),
                data_dir: data_dir(&get),
            },
            hashing: HashingConfig {
                threads: hashing_threads,
                queue: parse_or(&get, "PASSWORD_HASHING_QUEUE", 64)?,
            },
            limits: LimitsConfig {
                login_per_account: limit("RATE_LIMIT_LOGIN_PER_ACCOUNT", 10, 900)?,
                login_per_ip: limit("RATE_LIMIT_LOGIN_PER_IP", 100, 900)?,
                email_per_address: limit("RATE_LIMIT_EMAIL_PER_ADDRESS", 5, 3600)?,
                email_per_ip: limit("RATE_LIMIT_EMAIL_PER_IP", 50, 3600)?,
                password_reset_per_ip: limit("RATE_LIMIT_PASSWORD_RESET_PER_IP", 30, 3600)?,
                link_per_account: limit("RATE_LIMIT_LINK_PER_ACCOUNT", 5, 900)?,
                link_per_number: limit("RATE_LIMIT_LINK_PER_NUMBER", 5, 900)?,
                code_check_per_account: limit("RATE_LIMIT_CODE_CHECK_PER_ACCOUNT", 10, 900)?,
                code_check_per_ip: limit("RATE_LIMIT_CODE_CHECK_PER_IP", 50, 900)?,
                applications_per_account: limit(
                    "RATE_LIMIT_APPLICATIONS_PER_ACCOUNT",
                    5,
                    24 * 3600,
                )?,
                export_per_account: limit("RATE_LIMIT_EXPORT_PER_ACCOUNT", 5, 3600)?,
            },
            retention: RetentionConfig {
                interval: secs("RETENTION_INTERVAL_SECS", 3600)?,
                sent_emails: days("RETENTION_SENT_EMAILS_DAYS", 30)?,
                failed_emails: days("RETENTION_FAILED_EMAILS_DAYS", 90)?,
                email_tokens: days("RETENTION_EMAIL_TOKENS_DAYS", 7)?,
                sessions: days("RETENTION_SESSIONS_DAYS", 30)?,
                audit_log: days("RETENTION_AUDIT_LOG_DAYS", 400)?,
                webhook_deliveries: days("RETENTION_WEBHOOK_DELIVERIES_DAYS", 30)?,
                applications: days("APPLICATION_RETENTION_DAYS", 180)?,
                audit_addresses: days("AUDIT_IP_RETENTION_DAYS", 90)?,
                customer_years: parse_or(&get, "CUSTOMER_RETENTION_YEARS", 10)?,
            },
            ordering: OrderingConfig {
                order_deadline_day: day_of_month("ORDER_DEADLINE_DAY")?,
                cancellation_deadline_day: day_of_month("CANCELLATION_DEADLINE_DAY")?,
            },
            bulk_upload: BulkUploadConfig {
                max_bytes: parse_or(&get, "BULK_UPLOAD_MAX_BYTES", 5 * 1024 * 1024)?,
                max_rows: parse_or(&get, "BULK_UPLOAD_MAX_ROWS", 10_000)?,
                max_uncompressed_bytes: parse_or(
                    &get,
                    "BULK_UPLOAD_MAX_UNCOMPRESSED_BYTES",
                    50 * 1024 * 1024,
                )?,
                concurrency: at_least_one("BULK_UPLOAD_CONCURRENCY", cores)?,
                queue: parse_or(&get, "BULK_UPLOAD_QUEUE", 4)?,
            },
            lists: ListConfig {
                search_count_limit: search_count_limit(&get)?,
            },
            webhooks: WebhookConfig {
                retry_schedule: retry_schedule(&get)?,
                allow_http: parse_bool(&get, "WEBHOOK_ALLOW_HTTP", false)?,
                allow_private_targets: parse_bool(&get, "WEBHOOK_ALLOW_PRIVATE_TARGETS", false)?,
                disable_after: days("WEBHOOK_DISABLE_AFTER_DAYS", 5)?,
                poll_interval: millis("WEBHOOK_POLL_INTERVAL_MS", 500)?,
                concurrency: at_least_one("WEBHOOK_CONCURRENCY", 64)?,
            },
            metrics: MetricsConfig {
                bind_addr: match get("METRICS_BIND_ADDR").as_deref().map(str::trim) {
                    None => Some("127.0.0.1:9464".into()),
                    Some("" | "off") => None,
                    Some(address) => Some(address.to_string()),
                },
                db_refresh: Duration::from_secs(at_least_one("METRICS_DB_REFRESH_SECS", 15)? as u64),
            },
            shutdown: ShutdownConfig {
                drain: secs("SHUTDOWN_DRAIN_SECS", 5)?,
                grace: secs("SHUTDOWN_GRACE_SECS", 30)?,
            },
        })
    }

    /// What an operator should know at start: settings that are allowed but unwise.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.app_env == AppEnv::Production && self.http.trusted_proxies.is_empty() {
            warnings.push(
                "TRUSTED_PROXIES is empty: behind a load balancer every client shares its \
                 address, so per-IP rate limits count all clients together"
                    .to_string(),
            );
        }
        warnings
    }
}

/// `WEBHOOK_RETRY_SCHEDULE`: comma-separated seconds between attempts.
fn retry_schedule(get: &impl Fn(&str) -> Option<String>) -> Result<Vec<Duration>, ConfigError> {
    const DEFAULT: [u64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];
    match get("WEBHOOK_RETRY_SCHEDULE") {
        None => Ok(DEFAULT.map(Duration::from_secs).to_vec()),
        // Empty: no retries, the first failure is final.
        Some(list) if list.trim().is_empty() => Ok(Vec::new()),
        Some(list) => list
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| {
                        invalid(
                            "WEBHOOK_RETRY_SCHEDULE",
                            &list,
                            "comma-separated seconds, e.g. 5,300,1800",
                        )
                    })
            })
            .collect(),
    }
}

/// `SEARCH_COUNT_LIMIT`: at least 1.
fn search_count_limit(get: &impl Fn(&str) -> Option<String>) -> Result<i64, ConfigError> {
    let limit: i64 = parse_or(get, "SEARCH_COUNT_LIMIT", 1000)?;
    if limit < 1 {
        return Err(invalid(
            "SEARCH_COUNT_LIMIT",
            &limit.to_string(),
            "must be at least 1",
        ));
    }
    Ok(limit)
}

/// `DATA_DIR`: the development signing key and e-mail files.
fn data_dir(get: &impl Fn(&str) -> Option<String>) -> PathBuf {
    get("DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from)
}

/// `DATABASE_URL`, refusing a scheme neither backend speaks: a typo such as
/// `postgress://` must not quietly become a SQLite file of that name.
fn database_url(get: &impl Fn(&str) -> Option<String>) -> Result<SecretString, ConfigError> {
    let url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_SQLITE_URL.into());
    if let Some((scheme, _)) = url.split_once("://")
        && !matches!(scheme, "postgres" | "postgresql" | "sqlite")
    {
        // Only the scheme is echoed: the rest may hold a password.
        return Err(invalid(
            "DATABASE_URL",
            &format!("{scheme}://…"),
            "use postgres://user:pass@host:5432/db or sqlite://path",
        ));
    }
    Ok(url.into())
}

/// `scheme://host[:port]` of an http(s) URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty() && !authority.contains(char::is_whitespace))
        .then(|| format!("{scheme}://{authority}"))
}

fn parse_or<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| invalid(name, &raw, "not a valid number")),
    }
}

fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::trim) {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(invalid(name, other, "use true or false")),
    }
}

fn invalid(name: &'static str, value: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn metrics_listen_locally_by_default_and_empty_or_off_turns_them_off() {
        let bind = |pairs: &[(&str, &str)]| {
            Config::from_lookup(lookup(pairs))
                .unwrap()
                .metrics
                .bind_addr
        };
        assert_eq!(bind(&[]).as_deref(), Some("127.0.0.1:9464"));
        assert_eq!(bind(&[("METRICS_BIND_ADDR", "")]), None);
        assert_eq!(bind(&[("METRICS_BIND_ADDR", "off")]), None);
        assert_eq!(
            bind(&[("METRICS_BIND_ADDR", "0.0.0.0:9100")]).as_deref(),
            Some("0.0.0.0:9100")
        );
        assert!(Config::from_lookup(lookup(&[("METRICS_DB_REFRESH_SECS", "0")])).is_err());
        // From the environment, an empty value is kept for the metrics address only.
        assert_eq!(
            set_value("METRICS_BIND_ADDR", Some(String::new())),
            Some(String::new())
        );
        assert_eq!(set_value("SMTP_URL", Some(String::new())), None);
    }

    #[test]
    fn defaults_serve_sqlite_on_localhost() {
        let config = Config::from_lookup(lookup(&[])).unwrap();
        assert_eq!(config.http.bind_addr, "127.0.0.1:8080");
        assert_eq!(config.tokens.email_token_ttl, Duration::from_secs(1800));
        assert_eq!(config.app_env, AppEnv::Development);
        assert!(config.http.swagger_ui);
        assert_eq!(
            config.hashing.threads,
            std::thread::available_parallelism().unwrap().get(),
            "every core hashes"
        );
        assert_eq!(
            config.database.pool_size as usize,
            std::thread::available_parallelism().unwrap().get() + 1,
            "SQLite runs on the server's cores: one connection a core and one more"
        );
        assert_eq!(
            config.retention.audit_log,
            Duration::from_secs(400 * 86_400)
        );
    }

    #[test]
    fn production_names_every_missing_setting() {
        let err = Config::from_lookup(lookup(&[("APP_ENV", "production")])).unwrap_err();
        let message = err.to_string();
        for name in ["DATABASE_URL", "JWT_SIGNING_KEY_FILE", "SMTP_URL"] {
            assert!(message.contains(name), "{message}");
        }
    }

    #[test]
    fn cors_defaults_to_the_frontend_origin() {
        let config =
            Config::from_lookup(lookup(&[("PUBLIC_APP_URL", "https://portal.kvg.de/app/")]))
                .unwrap();
        assert_eq!(
            config.http.cors_allowed_origins,
            vec!["https://portal.kvg.de"]
        );
        let err = Config::from_lookup(lookup(&[("CORS_ALLOWED_ORIGINS", "https://a.de/path")]))
            .unwrap_err();
        assert!(err.to_string().contains("CORS_ALLOWED_ORIGINS"));
    }

    #[test]
    fn database_url_needs_a_known_scheme_and_never_echoes_the_password() {
        for url in [
            "postgres://u:p@db:5432/x",
            "postgresql://db/x",
            "sqlite://data/x.db",
            "data/x.db",
        ] {
            assert!(
                Config::from_lookup(lookup(&[("DATABASE_URL", url)])).is_ok(),
                "{url}"
            );
        }
        let err = Config::from_lookup(lookup(&[("DATABASE_URL", "postgress://u:geheim@db/x")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("DATABASE_URL") && err.contains("postgress"),
            "{err}"
        );
        assert!(!err.contains("geheim"), "{err}");
    }

    #[test]
    fn the_pool_leaves_room_for_a_database_on_the_same_cores() {
        let cores = std::thread::available_parallelism().unwrap().get() as u32;
        for (url, pool_size) in [
            ("postgres://u:p@db.internal:5432/x", cores * 2 + 1),
            ("postgresql://10.0.0.7/x", cores * 2 + 1),
            ("postgres://u@[2001:db8::1]:5432/x", cores * 2 + 1),
            ("postgres://u:p@127.0.0.1:5432/x", cores + 1),
            ("postgres://u:p@localhost/x", cores + 1),
            ("postgres://u@[::1]:5432/x", cores + 1),
            ("postgres:///x", cores + 1),
            ("postgres://%2Fvar%2Frun%2Fpostgresql/x", cores + 1),
            (
                "postgres://u@db.internal/x?host=/var/run/postgresql",
                cores + 1,
            ),
            ("sqlite://data/x.db", cores + 1),
        ] {
            let config = Config::from_lookup(lookup(&[("DATABASE_URL", url)])).unwrap();
            assert_eq!(config.database.pool_size, pool_size, "{url}");
        }
        let config = Config::from_lookup(lookup(&[
            ("DATABASE_URL", "postgres://u:p@127.0.0.1/x"),
            ("DATABASE_POOL_SIZE", "12"),
        ]))
        .unwrap();
        assert_eq!(config.database.pool_size, 12, "the setting wins");
    }

    #[test]
    fn production_without_trusted_proxies_warns() {
        let production = [
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://db/x"),
            ("JWT_SIGNING_KEY_FILE", "/keys/jwt.pem"),
            ("SMTP_URL", "smtp://mail:25"),
            ("PUBLIC_APP_URL", "https://portal.kvg.de"),
        ];
        let warnings = Config::from_lookup(lookup(&production)).unwrap().warnings();
        assert!(
            warnings.iter().any(|w| w.contains("TRUSTED_PROXIES")),
            "{warnings:?}"
        );
        let mut behind_proxy = production.to_vec();
        behind_proxy.push(("TRUSTED_PROXIES", "10.0.0.2"));
        assert!(
            Config::from_lookup(lookup(&behind_proxy))
                .unwrap()
                .warnings()
                .is_empty()
        );
        assert!(
            Config::from_lookup(lookup(&[]))
                .unwrap()
                .warnings()
                .is_empty()
        );
    }

    #[test]
    fn swagger_ui_can_be_switched_off() {
        let config = Config::from_lookup(lookup(&[("SWAGGER_UI", "false")])).unwrap();
        assert!(!config.http.swagger_ui);
        assert!(Config::from_lookup(lookup(&[("SWAGGER_UI", "vielleicht")])).is_err());
    }

    #[test]
    fn rejects_an_access_token_ttl_over_fifteen_minutes() {
        let err = Config::from_lookup(lookup(&[("ACCESS_TOKEN_TTL_SECS", "3600")])).unwrap_err();
        assert!(err.to_string().contains("ACCESS_TOKEN_TTL_SECS"));
    }
}
