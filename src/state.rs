//! What every handler may use, built once at start-up and shared.

use std::sync::Arc;

use crate::auth::jwt::KeyRing;
use crate::auth::password::PasswordHasher;
use crate::bulk_uploads::slots::UploadSlots;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::DbPool;
use crate::mail::OutboxWaker;
use crate::shutdown::Shutdown;
use crate::telemetry::metrics::Metrics;

pub struct AppState {
    pub config: Arc<Config>,
    pub db: DbPool,
    pub keys: Arc<KeyRing>,
    pub hasher: PasswordHasher,
    /// Staff lists read at once, and waiting.
    pub uploads: UploadSlots,
    pub outbox: OutboxWaker,
    /// The time of calendar rules; tests move it.
    pub clock: Clock,
    /// This instance's metrics (counted by handlers and workers, served on their own
    /// listener).
    pub metrics: Arc<Metrics>,
    /// Set on SIGTERM: readiness answers 503 and connections close.
    pub shutdown: Shutdown,
}
