//! E-mail: the transactional outbox (rows written in the caller's transaction), the
//! texts, and the background worker that delivers them.

pub mod outbox;
pub mod templates;
pub mod worker;

pub use outbox::{OutboxWaker, enqueue};
pub use templates::Email;
