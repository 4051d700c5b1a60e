//! HTTP infrastructure shared by every capability: the JSON extractor, request context
//! (request id, client IP, language), the problem+json middleware and the fallback for
//! unknown routes.

pub mod context;
pub mod fallback;
pub mod json;
pub mod middleware;

pub use context::{ClientIp, RequestId};
pub use json::ApiJson;
