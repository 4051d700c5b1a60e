//! Authentication infrastructure: password hashing, signed access tokens, opaque tokens
//! and the bearer-token extractor. The account capability (routes) lives in `accounts`.

pub mod bearer;
pub mod jwt;
pub mod opaque;
pub mod password;

pub use bearer::AuthenticatedAccount;
