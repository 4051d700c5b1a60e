//! `Idempotency-Key` (the IETF HTTP header draft, with Stripe's semantics): a client that
//! retries a POST with the same key gets the first answer again instead of a second
//! order, code or upload.
//!
//! - A key (1–255 printable ASCII characters, bare or as a quoted structured-field
//!   string) is scoped to the account of the bearer token, or for anonymous requests to
//!   the client IP key, and to the method and path.
//! - The first answer is stored for 24 hours: status, body, `Location`, `ETag` and
//!   content type. The same key with the same request (method, path and body; for
//!   multipart the same fields and file bytes, whatever the boundary) replays it with
//!   `Idempotent-Replayed: true` and changes nothing.
//! - The same key with another body: `422 idempotency_key_reused`; while the first
//!   request still runs: `409 idempotency_key_in_use` with `Retry-After`; a malformed
//!   key: `400 idempotency_key_invalid`.
//! - Answers that say nothing about the request's effect are not stored, so a retry runs
//!   again: 5xx, `429`, `401` (a retry with a fresh token must run).
//! - Keys live in the database (they hold across instances and restarts); a row is
//!   claimed with one `INSERT … ON CONFLICT DO NOTHING`, so of requests arriving at once
//!   exactly one runs. Retention deletes them after 24 hours.

mod key;
pub mod middleware;
pub mod repo;

use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use strum::EnumIter;

use crate::error::{AppError, ProblemSpec};

pub use middleware::idempotency;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The header on a replayed answer.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a first answer is kept.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);
/// How long a running request holds its key before another may take it over (a crashed
/// instance's claim); far beyond any request's time.
pub const RUNNING_FOR: Duration = Duration::from_secs(120);

/// POSTs where the key means nothing: sessions (a login is not a write to repeat) and
/// the customer-code check (it only reads).
pub const IGNORED_ROUTES: &[&str] = &[
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    "/api/v1/customer-codes/check",
];

/// Whether requests to `route` (a route template) with `method` honour the header:
/// every POST of the API that creates or changes something.
pub fn applies_to(method: &Method, route: &str) -> bool {
    method == Method::POST && route.starts_with("/api/v1/") && !IGNORED_ROUTES.contains(&route)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum IdempotencyProblem {
    /// The header is empty, too long, or holds characters other than printable ASCII.
    KeyInvalid,
    /// The key was used before with another request.
    KeyReused,
    /// The first request with this key is still running.
    KeyInUse,
}

impl IdempotencyProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            IdempotencyProblem::KeyInvalid => ProblemSpec::new(
                "idempotency_key_invalid",
                StatusCode::BAD_REQUEST,
                (
                    "Ungültiger Idempotency-Key",
                    "Der Header Idempotency-Key muss 1 bis 255 druckbare ASCII-Zeichen enthalten.",
                ),
                (
                    "Invalid Idempotency-Key",
                    "The Idempotency-Key header must hold 1 to 255 printable ASCII characters.",
                ),
            ),
            IdempotencyProblem::KeyReused => ProblemSpec::new(
                "idempotency_key_reused",
                StatusCode::UNPROCESSABLE_ENTITY,
                (
                    "Idempotency-Key bereits verwendet",
                    "Dieser Idempotency-Key wurde schon für eine andere Anfrage verwendet. Nehmen Sie für eine neue Anfrage einen neuen Schlüssel.",
                ),
                (
                    "Idempotency-Key already used",
                    "This Idempotency-Key was used for a different request. Use a new key for a new request.",
                ),
            ),
            IdempotencyProblem::KeyInUse => ProblemSpec::new(
                "idempotency_key_in_use",
                StatusCode::CONFLICT,
                (
                    "Anfrage läuft noch",
                    "Die erste Anfrage mit diesem Idempotency-Key läuft noch. Wiederholen Sie sie nach der in Retry-After genannten Zeit.",
                ),
                (
                    "Request still running",
                    "The first request with this Idempotency-Key is still running. Repeat it after the time in Retry-After.",
                ),
            ),
        }
    }
}

impl From<IdempotencyProblem> for AppError {
    fn from(problem: IdempotencyProblem) -> Self {
        match problem {
            IdempotencyProblem::KeyInUse => AppError::RetryLater {
                problem: problem.spec(),
                after: Duration::from_secs(1),
                limit: None,
            },
            _ => AppError::Problem(problem.spec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_honour_the_key_and_sessions_and_checks_do_not() {
        assert!(applies_to(&Method::POST, "/api/v1/me/applications"));
        assert!(applies_to(&Method::POST, "/api/v1/auth/register"));
        assert!(!applies_to(&Method::POST, "/api/v1/auth/login"));
        assert!(!applies_to(&Method::POST, "/api/v1/customer-codes/check"));
        assert!(!applies_to(&Method::PATCH, "/api/v1/admin/contracts/{id}"));
        assert!(!applies_to(&Method::POST, "/health/ready"));
    }
}
