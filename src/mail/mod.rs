//! E-mail: the transactional outbox (rows written in the caller's transaction), the
//! layout every e-mail shares, and the background worker that delivers them.
//!
//! A queued row says *what* to send (a template, a language, non-secret parameters), not
//! the finished text. The capability that owns the template composes it when the worker
//! sends (see `api::compose_mail`): it looks the recipient up again, creates a
//! single-use link only then, and may decide that the mail is no longer needed. So no
//! usable token ever rests in the outbox, a link is valid for its full time however long
//! delivery was delayed, and a request for an unknown address writes exactly what one
//! for a known address writes.

pub mod files;
pub mod outbox;
pub mod templates;
pub mod worker;

use std::time::Duration;

use crate::db::DbConnection;
use crate::error::AppError;

pub use outbox::{OutboxWaker, QueuedMail, enqueue};
pub use templates::Email;

/// What the owner of a template makes of a queued mail at send time.
#[derive(Debug)]
pub enum Prepared {
    Send(Email),
    /// Not needed any more; the reason is kept on the row.
    Drop(&'static str),
}

/// Settings the composers need for links.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// The frontend's base URL; links open its pages.
    pub public_app_url: String,
    /// Validity of a single-use link, from sending.
    pub token_ttl: Duration,
    /// Validity of a company invitation's link, from sending.
    pub invitation_ttl: Duration,
}

impl LinkSettings {
    /// `{public_app_url}/{page}?token={token}`.
    pub fn link(&self, page: &str, token: &str) -> String {
        format!("{}/{page}?token={token}", self.public_app_url)
    }

    pub fn page(&self, page: &str) -> String {
        format!("{}/{page}", self.public_app_url)
    }

    pub fn ttl_minutes(&self) -> u64 {
        self.token_ttl.as_secs().div_ceil(60)
    }
}

/// Composes a queued mail at send time, in the worker's transaction.
pub type Composer = fn(&mut DbConnection, &QueuedMail, &LinkSettings) -> Result<Prepared, AppError>;
