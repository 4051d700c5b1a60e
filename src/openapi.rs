//! The OpenAPI document, generated from the same registrations that serve the routes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{Problem, ProblemFieldError};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Firmenportal API",
        description = "Backend of the Deutschlandticket Job portal: the Self-Service of subscribers, \
the company portal of employers and the operator's administration. Errors are RFC 9457 \
`application/problem+json` with a stable `code`; texts are German by default and English \
with `Accept-Language: en`.",
        version = "1.0.0",
        license(name = "Proprietary")
    ),
    components(schemas(Problem, ProblemFieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, e-mail verification, login and sessions"),
        (name = "account", description = "The signed-in account (Self-Service)"),
        (name = "system", description = "Health checks and public keys"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer_auth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Access token from `POST /api/v1/auth/login`"))
                    .build(),
            ),
        );
    }
}

/// The document the code serves (and `firmenportal openapi` prints).
pub fn document() -> utoipa::openapi::OpenApi {
    actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::startup::configure_api)
        .split_for_parts()
        .1
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    json.push('\n');
    json
}
