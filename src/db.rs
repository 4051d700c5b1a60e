//! Database access: one connection enum over PostgreSQL and bundled SQLite, an r2d2 pool
//! that picks the variant from the URL scheme, embedded migrations, and `DbPool::run`
//! (and `DbPool::read` for work that only reads), which move blocking diesel work onto
//! the blocking thread pool.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::r2d2::{self, ManageConnection};
use diesel::serialize::ToSql;
use diesel::sql_types;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use scheduled_thread_pool::ScheduledThreadPool;
use secrecy::ExposeSecret;

use crate::config::Config;
use crate::error::AppError;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// A connection to either backend. Backend-specific SQL matches on the variant.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs diesel work on the connection's own backend instead of through the enum:
/// `on_backend!(conn, |c| query.load(c))`. diesel's `MultiConnection` renders a query's
/// SQL text again on every execution, prepared and cached or not: its wrapper builds the
/// text in every pass over the query, the one that only collects the bind values
/// included (~9 µs of a `GET /me`'s ~110 µs of server CPU). The backend's own connection
/// finds a query whose type says what it is (diesel's DSL, not boxed) in its statement
/// cache by that type. For the statements every request runs; `$body` is compiled once
/// for each backend, with `$c` that backend's connection.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The backend named by a database URL; anything that is not a PostgreSQL URL is a
/// SQLite file (`sqlite://path`, `sqlite:path` or a plain path).
pub fn backend_of(url: &str) -> Backend {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// Whether the database runs on this machine and so competes with the server for its
/// cores: SQLite always (it runs in the server's threads), PostgreSQL at a loopback
/// address or over a Unix socket (no host, a socket path, `localhost`).
pub fn shares_the_cores(url: &str) -> bool {
    if backend_of(url) == Backend::Sqlite {
        return true;
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    // libpq lets `?host=` name the host (or a socket directory) instead of the authority.
    let host = parsed
        .query_pairs()
        .find(|(key, _)| key == "host")
        .map(|(_, value)| value.into_owned())
        .or_else(|| parsed.host_str().map(str::to_owned))
        .unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.is_empty()
        || host.starts_with('/')
        || host.starts_with("%2F")
        || host.starts_with("%2f")
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The file path of a SQLite URL.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// A pooled connection with what the pool needs to know about it.
pub struct PooledConnection {
    conn: DbConnection,
    last_used: Instant,
    broken: bool,
}

/// A connection used this recently is handed out without a test query. Like HikariCP's
/// `aliveBypassWindowMs`: under load every connection is busy and the test would double
/// the round trips of each request; an idle one is still tested, and one that failed
/// with a lost connection is dropped at once (`has_broken`).
const VALIDATION_BYPASS: Duration = Duration::from_millis(500);

/// Opens connections of the variant the URL names. diesel's derived `establish` would
/// try every variant in turn and open a SQLite file named after a Postgres URL, hiding
/// the real error; this manager surfaces it.
#[derive(Debug)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
    read_only: bool,
}

impl ConnectionManager {
    pub fn new(url: &str, connect_timeout: Duration) -> Self {
        let backend = backend_of(url);
        let url = match backend {
            // Without a connect timeout libpq can hang for minutes on an unreachable host;
            // the service must answer 503 quickly instead.
            Backend::Postgres if !url.contains("connect_timeout") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                let secs = connect_timeout.as_secs().max(1);
                format!("{url}{separator}connect_timeout={secs}")
            }
            _ => url.to_string(),
        };
        ConnectionManager {
            url,
            backend,
            read_only: false,
        }
    }

    /// Connections that refuse every write (SQLite's `query_only`).
    fn read_only(self) -> Self {
        ConnectionManager {
            read_only: true,
            ..self
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = PooledConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<PooledConnection, r2d2::Error> {
        let conn = self.establish()?;
        Ok(PooledConnection {
            conn,
            last_used: Instant::now(),
            broken: false,
        })
    }

    fn is_valid(&self, pooled: &mut PooledConnection) -> Result<(), r2d2::Error> {
        if pooled.last_used.elapsed() < VALIDATION_BYPASS {
            return Ok(());
        }
        pooled
            .conn
            .batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)?;
        pooled.last_used = Instant::now();
        Ok(())
    }

    fn has_broken(&self, pooled: &mut PooledConnection) -> bool {
        pooled.broken
    }
}

impl ConnectionManager {
    fn establish(&self) -> Result<DbConnection, r2d2::Error> {
        match self.backend {
            Backend::Postgres => diesel::PgConnection::establish(&self.url)
                .map(DbConnection::Postgres)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let path = sqlite_path(&self.url);
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(r2d2::Error::ConnectionError)?;
                // WAL lets readers run beside the writer; the busy timeout waits for a
                // lock instead of failing at once.
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                )
                .map_err(r2d2::Error::QueryError)?;
                if self.read_only {
                    conn.batch_execute("PRAGMA query_only = ON;")
                        .map_err(r2d2::Error::QueryError)?;
                }
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// The shared connection pool.
#[derive(Clone)]
pub struct DbPool {
    pool: r2d2::Pool<ConnectionManager>,
    /// SQLite only: connections that only read, beside its one writer. WAL lets readers
    /// run while the writer writes, so reads use every core instead of queueing on one
    /// connection.
    readers: Option<r2d2::Pool<ConnectionManager>>,
    backend: Backend,
    /// How long callers waited for a connection (`db_client_connection_wait_time_seconds`).
    wait_time: prometheus::Histogram,
}

/// Observes how long each checkout waited for a connection, a timeout included.
#[derive(Debug)]
struct WaitTimes(prometheus::Histogram);

impl r2d2::HandleEvent for WaitTimes {
    fn handle_checkout(&self, event: r2d2::event::CheckoutEvent) {
        self.0.observe(event.duration().as_secs_f64());
    }

    fn handle_timeout(&self, event: r2d2::event::TimeoutEvent) {
        self.0.observe(event.timeout().as_secs_f64());
    }
}

impl DbPool {
    /// Builds the pool without connecting: the server starts (and answers 503) even when
    /// the database is down, and recovers by itself when it returns.
    pub fn new(config: &Config) -> Result<Self, std::io::Error> {
        let settings = &config.database;
        let url = settings.url.expose_secret();
        let manager = ConnectionManager::new(url, settings.timeout);
        let backend = manager.backend();
        let max_size = match backend {
            Backend::Postgres => settings.pool_size.max(1),
            // SQLite has one writer; one connection avoids SQLITE_BUSY on lock upgrades.
            Backend::Sqlite => {
                if let Some(parent) = std::path::Path::new(sqlite_path(url)).parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent)?;
                }
                1
            }
        };
        let wait_time = crate::telemetry::metrics::seconds_histogram(
            "db_client_connection_wait_time_seconds",
            "Time waited for a database connection from the pool",
        );
        // r2d2 gives every pool three threads of its own to open connections in the
        // background and close broken ones; they sleep nearly always. One, shared by the
        // pools, is enough, and each thread at rest holds a stack and a malloc arena.
        let helper = Arc::new(
            ScheduledThreadPool::builder()
                .num_threads(1)
                .thread_name_pattern("r2d2-{}")
                .build(),
        );
        let pool_of = |manager, max_size| {
            r2d2::Pool::builder()
                .thread_pool(helper.clone())
                .event_handler(Box::new(WaitTimes(wait_time.clone())))
                .max_size(max_size)
                .min_idle(Some(0))
                .connection_timeout(settings.timeout)
                .build_unchecked(manager)
        };
        let readers = (backend == Backend::Sqlite).then(|| {
            pool_of(
                ConnectionManager::new(url, settings.timeout).read_only(),
                settings.pool_size.max(1),
            )
        });
        Ok(DbPool {
            pool: pool_of(manager, max_size),
            readers,
            backend,
            wait_time,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The most connections the pools open together.
    pub fn max_size(&self) -> u32 {
        self.pool.max_size()
            + self
                .readers
                .as_ref()
                .map_or(0, |readers| readers.max_size())
    }

    /// The connections of both pools now: checked out, and open but idle.
    pub fn connections_in_use_and_idle(&self) -> (u32, u32) {
        [Some(&self.pool), self.readers.as_ref()]
            .into_iter()
            .flatten()
            .map(r2d2::Pool::state)
            .fold((0, 0), |(used, idle), state| {
                (
                    used + state.connections - state.idle_connections,
                    idle + state.idle_connections,
                )
            })
    }

    /// The wait-time histogram, for the metrics registry.
    pub fn wait_time_histogram(&self) -> prometheus::Histogram {
        self.wait_time.clone()
    }

    /// Runs blocking database work on the blocking pool, never on an actix worker.
    pub async fn run<F, R>(&self, work: F) -> Result<R, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<R, AppError> + Send + 'static,
        R: Send + 'static,
    {
        run_on(self.pool.clone(), self.span("db.run"), work).await
    }

    /// The span of one unit of database work, when spans are exported.
    fn span(&self, name: &'static str) -> tracing::Span {
        // Only inside a traced operation (a request, an e-mail, a delivery): the
        // workers' polls would otherwise each start a trace of their own.
        if !crate::telemetry::traces::exporting() || tracing::Span::current().is_none() {
            return tracing::Span::none();
        }
        let system = match self.backend {
            Backend::Postgres => "postgresql",
            Backend::Sqlite => "sqlite",
        };
        tracing::info_span!(
            "db",
            otel.name = name,
            otel.kind = "client",
            db.system.name = system
        )
    }

    /// Runs work that only reads: on SQLite on a read connection, so that it runs beside
    /// the writer and other reads (a write there fails); on PostgreSQL as `run`.
    pub async fn read<F, R>(&self, work: F) -> Result<R, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<R, AppError> + Send + 'static,
        R: Send + 'static,
    {
        run_on(
            self.readers.as_ref().unwrap_or(&self.pool).clone(),
            self.span("db.read"),
            work,
        )
        .await
    }

    /// Runs work in one write transaction (see [`write_transaction`]). A transaction the
    /// database aborts for contention (a deadlock, a serialization failure, a lock that
    /// could not be had in time) has changed nothing, so it runs again, a bounded number
    /// of times after a short random pause: see [`retry_on_contention`]. `work` may
    /// therefore run more than once, and must do nothing outside the transaction.
    pub async fn transaction<F, R>(&self, mut work: F) -> Result<R, AppError>
    where
        F: FnMut(&mut DbConnection) -> Result<R, AppError> + Send + 'static,
        R: Send + 'static,
    {
        run_on(
            self.pool.clone(),
            self.span("db.transaction"),
            move |conn| retry_on_contention(|| write_transaction(conn, &mut work)),
        )
        .await
    }

    /// Applies pending migrations; returns how many ran.
    pub fn migrate(&self) -> Result<usize, AppError> {
        let mut pooled = self.pool.get().map_err(AppError::DatabaseUnavailable)?;
        run_migrations(&mut pooled.conn)
    }
}

/// Runs blocking database work with a connection of `pool` on the blocking pool.
async fn run_on<F, R>(
    pool: r2d2::Pool<ConnectionManager>,
    span: tracing::Span,
    work: F,
) -> Result<R, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<R, AppError> + Send + 'static,
    R: Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        // Entered on the blocking thread: what the work logs or queues (an e-mail's
        // trace context) belongs to the request.
        let _entered = span.enter();
        let mut pooled = pool.get().map_err(AppError::DatabaseUnavailable)?;
        let outcome = work(&mut pooled.conn);
        pooled.last_used = Instant::now();
        if let Err(error) = &outcome
            && error.is_connection_failure()
        {
            pooled.broken = true;
        }
        outcome
    })
    .await
    .map_err(|join| AppError::Internal(format!("database task failed: {join}")))?
}

/// How often a transaction is tried before contention answers `503 service_busy`.
const CONTENTION_ATTEMPTS: u32 = 5;

/// Runs `attempt` until it ends in anything but contention ([`AppError::is_contention`]),
/// at most [`CONTENTION_ATTEMPTS`] times. Between tries it sleeps a random time that
/// doubles each try (up to 5, 10, 20, 40 ms), so that transactions that collided do not
/// collide again in lockstep. Each try must be a whole transaction: contention aborts
/// it, and only then is a new try clean. The last contention answers `503
/// service_busy` with `Retry-After`, never `500`.
pub fn retry_on_contention<R>(
    mut attempt: impl FnMut() -> Result<R, AppError>,
) -> Result<R, AppError> {
    use rand::Rng;
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt() {
            Err(error) if error.is_contention() => {
                if tries == CONTENTION_ATTEMPTS {
                    tracing::warn!(%error, tries, "transaction lost to contention every time");
                    return Err(AppError::busy(Duration::from_secs(1)));
                }
                tracing::debug!(%error, tries, "transaction lost to contention; retrying");
                let ceiling = 5u64 << (tries - 1);
                let pause = rand::thread_rng().gen_range(0..=ceiling * 1000);
                std::thread::sleep(Duration::from_micros(pause));
            }
            outcome => return outcome,
        }
    }
}

/// Runs `work` in a transaction that may write. On SQLite it begins `IMMEDIATE`, taking
/// the write lock up front: a deferred transaction that reads first and writes later
/// fails at once with `SQLITE_BUSY` when another connection (a second instance, the
/// `migrate` command) wrote in between, and the busy timeout cannot help it. Waiting
/// for the lock at the start can. PostgreSQL locks rows and needs nothing special.
pub fn write_transaction<F, R>(conn: &mut DbConnection, work: F) -> Result<R, AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<R, AppError>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(work);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    // The same ending as diesel's own `transaction`; the enum's transaction manager
    // delegates to the SQLite connection's, which now holds this transaction.
    match work(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            match <DbConnection as Connection>::TransactionManager::rollback_transaction(conn) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
                Err(rollback_error) => Err(rollback_error.into()),
            }
        }
    }
}

/// A PostgreSQL `WITH` entry that lets the one statement it is part of commit without
/// waiting for its WAL to reach the disk (asynchronous commit, for this transaction
/// only): for writes whose loss in a database crash costs less than a disk flush each
/// (a login's session and attempt counters: the user logs in again). A crash can lose
/// the last few hundred milliseconds of such commits, a failover those the standby had
/// not received (they do not wait for it either), whole and in order, never one that a
/// later synchronous commit follows (the WAL is flushed in order), and nothing
/// becomes visible to others any later. The statement must read `async_commit` (an
/// entry nobody reads is never run) and be a transaction of its own: inside a larger
/// one, all of it would commit asynchronously.
pub const ASYNC_COMMIT: &str =
    "async_commit AS (SELECT set_config('synchronous_commit', 'off', true))";

/// A hand-written statement the database keeps prepared. diesel's `sql_query` marks
/// itself unsafe to cache, so PostgreSQL parses and plans it on every execution; this
/// one is cached by its SQL text like any query built with diesel's DSL. Built piece by
/// piece, its parameters are spelled as each backend wants them (`$n`, `?`).
#[derive(Debug, Default)]
pub struct PreparedSql<'a> {
    pieces: Vec<Piece<'a>>,
}

#[derive(Debug)]
enum Piece<'a> {
    Sql(&'static str),
    Text(&'a str),
    OptionalText(Option<&'a str>),
    Timestamp(chrono::NaiveDateTime),
    Integer(i32),
    BigInt(i64),
    Date(chrono::NaiveDate),
}

impl<'a> PreparedSql<'a> {
    pub fn new(sql: &'static str) -> Self {
        PreparedSql {
            pieces: vec![Piece::Sql(sql)],
        }
    }

    pub fn sql(mut self, sql: &'static str) -> Self {
        self.pieces.push(Piece::Sql(sql));
        self
    }

    /// Another statement inside this one (e.g. in a PostgreSQL `WITH`).
    pub fn nest(mut self, statement: PreparedSql<'a>) -> Self {
        self.pieces.extend(statement.pieces);
        self
    }

    pub fn text(mut self, value: &'a str) -> Self {
        self.pieces.push(Piece::Text(value));
        self
    }

    pub fn optional_text(mut self, value: Option<&'a str>) -> Self {
        self.pieces.push(Piece::OptionalText(value));
        self
    }

    pub fn timestamp(mut self, value: chrono::NaiveDateTime) -> Self {
        self.pieces.push(Piece::Timestamp(value));
        self
    }

    pub fn integer(mut self, value: i32) -> Self {
        self.pieces.push(Piece::Integer(value));
        self
    }

    pub fn big_integer(mut self, value: i64) -> Self {
        self.pieces.push(Piece::BigInt(value));
        self
    }

    pub fn date(mut self, value: chrono::NaiveDate) -> Self {
        self.pieces.push(Piece::Date(value));
        self
    }
}

impl<DB> QueryFragment<DB> for PreparedSql<'_>
where
    DB: diesel::backend::Backend,
    str: ToSql<sql_types::Text, DB>,
    chrono::NaiveDateTime: ToSql<sql_types::Timestamp, DB>,
    i32: ToSql<sql_types::Integer, DB>,
    i64: ToSql<sql_types::BigInt, DB>,
    chrono::NaiveDate: ToSql<sql_types::Date, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        for piece in &self.pieces {
            match piece {
                Piece::Sql(sql) => out.push_sql(sql),
                Piece::Text(value) => out.push_bind_param::<sql_types::Text, _>(*value)?,
                Piece::OptionalText(value) => {
                    out.push_bind_param::<sql_types::Nullable<sql_types::Text>, _>(value)?
                }
                Piece::Timestamp(value) => out.push_bind_param::<sql_types::Timestamp, _>(value)?,
                Piece::Integer(value) => out.push_bind_param::<sql_types::Integer, _>(value)?,
                Piece::BigInt(value) => out.push_bind_param::<sql_types::BigInt, _>(value)?,
                Piece::Date(value) => out.push_bind_param::<sql_types::Date, _>(value)?,
            }
        }
        Ok(())
    }
}

impl QueryId for PreparedSql<'_> {
    // No type-level id: the cache key is the SQL text.
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for PreparedSql<'_> {
    type SqlType = sql_types::Untyped;
}

impl<Conn> RunQueryDsl<Conn> for PreparedSql<'_> {}

pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, AppError> {
    let applied = match conn {
        DbConnection::Postgres(pg) => pg.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConnection::Sqlite(sqlite) => sqlite.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| AppError::Internal(format!("migration failed: {e}")))?;
    Ok(applied.len())
}
