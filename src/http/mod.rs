//! HTTP infrastructure shared by every capability: the JSON and query extractors, paging,
//! request context (request id, client IP, language), the problem+json middleware, the
//! HTTP layer's problems and the fallback for unknown routes.

pub mod context;
pub mod fallback;
pub mod json;
pub mod middleware;
pub mod page;
pub mod patch;
pub mod path;
pub mod problems;
pub mod query;

pub use context::{ClientIp, RequestId};
pub use json::{ApiJson, OptionalApiJson};
pub use page::{Page, PageQuery, Paging, Total, TotalRelation};
pub use patch::Patch;
pub use path::{NestedIds, RecordId};
pub use query::ApiQuery;
