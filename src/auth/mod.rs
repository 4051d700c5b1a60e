//! Authentication and authorisation infrastructure: password hashing, signed access
//! tokens, opaque tokens, and the principal extractors (`Subscriber`, `Operator`). The
//! account flows (routes) live in `accounts`.

pub mod jwt;
pub mod opaque;
pub mod password;
pub mod principal;
pub mod problems;
pub mod repo;

pub use principal::{Operator, SignedInAccount, Subscriber};
pub use problems::TokenProblem;
