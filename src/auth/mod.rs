//! Authentication and authorisation infrastructure: password hashing, signed access
//! tokens, opaque tokens, and the principals (`Subscriber`, `Operator`) with their
//! extractors (`Bearer<P>` for the one-checkout read path). The account flows (routes)
//! live in `accounts`.

pub mod jwt;
pub mod opaque;
pub mod password;
pub mod principal;
pub mod problems;
pub mod repo;

pub use principal::{Bearer, Operator, Principal, SignedInAccount, Subscriber};
pub use problems::TokenProblem;
