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

/// Where the OpenAPI document is served (also with Swagger UI off).
pub const OPENAPI_PATH: &str = "/api-docs/openapi.json";
/// Where Swagger UI is served, when it is on; its answers get their own
/// Content-Security-Policy.
pub const SWAGGER_UI_PATH: &str = "/swagger-ui/";
/// The UI's address typed without the slash; redirects to [`SWAGGER_UI_PATH`].
pub const SWAGGER_UI_BARE_PATH: &str = "/swagger-ui";
