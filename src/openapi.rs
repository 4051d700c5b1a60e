//! The OpenAPI document, generated from the same registrations that serve the routes.

use std::collections::BTreeMap;

use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Object, Ref, RefOr, ResponseBuilder, Type};
use utoipa::openapi::{ObjectBuilder, Required};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::{AppError, Problem, ProblemFieldError, ProblemSpec};
use crate::i18n::Lang;

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
    components(schemas(
        Problem,
        ProblemFieldError,
        crate::subscriptions::types::LinkedStateParam
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, e-mail verification, login and sessions"),
        (name = "account", description = "The signed-in account (Self-Service)"),
        (name = "subscriptions", description = "Aboverwaltung: link, list and unlink subscriptions; the holder's customer data and the Abo-Übersicht (Self-Service)"),
        (name = "applications", description = "Anträge: an employee orders a job ticket with the employer's customer code, follows and withdraws the order (Self-Service)"),
        (name = "company", description = "The company portal: Vertragsverwaltung, contract infos, customer codes, Anwender, Anträge and the dashboard (company users and operators)"),
        (name = "admin", description = "The operator's data: companies, contracts, customers and subscriptions (operator rights)"),
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

const PROBLEM_JSON: &str = "application/problem+json";

/// Completes the error answers of every operation in one place, so no route can forget
/// one and annotations list only what is particular to them: the failures any JSON body
/// can cause (400, 413, 415, 422), 401 on every secured operation, the generic 500 and
/// 503, the headers that come with 401, 429 and 503, and a problem example for every
/// `code` the response's description names in backticks (or the usual code of its
/// status).
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let examples: BTreeMap<&'static str, ProblemSpec> = crate::api::problem_catalogue()
            .into_iter()
            .map(|spec| (spec.code, spec))
            .collect();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let idempotent = crate::idempotency::applies_to(&actix_web::http::Method::POST, path);
            let operations = [
                (&mut item.get, false),
                (&mut item.put, false),
                (&mut item.post, idempotent),
                (&mut item.patch, false),
                (&mut item.delete, false),
            ];
            for (operation, idempotent) in operations {
                if let Some(operation) = operation {
                    complete_operation(operation, idempotent, &examples);
                }
            }
        }
    }
}

fn complete_operation(
    operation: &mut Operation,
    idempotent: bool,
    examples: &BTreeMap<&'static str, ProblemSpec>,
) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let responses = &mut operation.responses.responses;
    if secured {
        responses.entry("401".into()).or_insert_with(|| {
            problem_response("`missing_token`, `invalid_token` or `token_expired`")
        });
    }
    if operation.request_body.is_some() {
        for (status, description) in [
            ("400", "Malformed JSON (`malformed_json`)"),
            ("413", "Body over 64 KiB (`payload_too_large`)"),
            ("415", "Not `application/json` (`unsupported_media_type`)"),
            (
                "422",
                "Invalid fields, all listed in `errors` (`validation_failed`)",
            ),
        ] {
            responses
                .entry(status.into())
                .or_insert_with(|| problem_response(description));
        }
    }
    responses.entry("500".into()).or_insert_with(|| {
        problem_response("Unexpected error (`internal_error`); the cause is only logged")
    });
    responses.entry("503".into()).or_insert_with(|| {
        problem_response("Database unavailable (`service_unavailable`); see `Retry-After`")
    });
    if idempotent {
        take_idempotency_key(operation);
    }
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            describe_problem(status, response, examples);
        }
    }
}

/// The `Idempotency-Key` header of a POST that honours it, and the answers it adds.
fn take_idempotency_key(operation: &mut Operation) {
    let parameter = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes a retry safe: the first answer to this key (scoped to the account, or \
             without a token to the client's address, and to method and path) is kept for \
             24 hours and replayed to the same request with `Idempotent-Replayed: true`, \
             changing nothing. 1 to 255 printable ASCII characters, bare or as a quoted \
             string. Not kept: 5xx, `429` and `401` answers, so a retry runs again.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                // A bare key; the quoted form (a structured-field string) is accepted too.
                .pattern(Some("^[!#-~]([ -~]*[!-~])?$")),
        ))
        .example(Some(serde_json::json!(
            "8e03978e-40d5-43e8-bc93-6894a57f9324"
        )))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::T(parameter));
    let responses = &mut operation.responses.responses;
    for (status, added) in [
        (
            "400",
            "A malformed `Idempotency-Key` (`idempotency_key_invalid`)",
        ),
        (
            "409",
            "The first request with this `Idempotency-Key` is still running \
             (`idempotency_key_in_use`); see `Retry-After`",
        ),
        (
            "422",
            "The `Idempotency-Key` was used before with another request \
             (`idempotency_key_reused`)",
        ),
    ] {
        match responses.get_mut(status) {
            Some(RefOr::T(response)) => {
                response.description = format!("{}; or: {added}", response.description);
            }
            _ => {
                responses.insert(status.into(), problem_response(added));
            }
        }
    }
}

fn problem_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}

/// The code a status answers with when the description names none.
fn usual_code(status: &str) -> Option<&'static str> {
    Some(match status {
        "400" => "malformed_json",
        "401" => "invalid_token",
        "403" => "forbidden",
        "404" => "not_found",
        "413" => "payload_too_large",
        "415" => "unsupported_media_type",
        "422" => "validation_failed",
        "429" => "rate_limited",
        "500" => "internal_error",
        "503" => "service_unavailable",
        _ => return None,
    })
}

fn describe_problem(
    status: &str,
    response: &mut Response,
    examples: &BTreeMap<&'static str, ProblemSpec>,
) {
    let Some(RefOr::T(content)) = response.content.get_mut(PROBLEM_JSON) else {
        return;
    };
    let mut codes: Vec<&'static str> = response
        .description
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|word| examples.get_key_value(word).map(|(code, _)| *code))
        .filter(|code| examples[code].status.as_str() == status)
        .collect();
    if codes.is_empty() {
        codes.extend(usual_code(status));
    }
    content.examples = codes
        .into_iter()
        .map(|code| {
            let problem =
                serde_json::to_value(AppError::example_of(examples[code]).problem(Lang::De))
                    .expect("a problem serialises");
            let example = ExampleBuilder::new()
                .summary(code)
                .value(Some(problem))
                .build();
            (code.to_string(), RefOr::T(example))
        })
        .collect();
    let header = |description: &str, kind: Type| {
        HeaderBuilder::new()
            .schema(Some(Object::with_type(kind)))
            .description(Some(description))
            .build()
    };
    match status {
        "401" => {
            response.headers.insert(
                "WWW-Authenticate".into(),
                RefOr::T(header(
                    "`Bearer realm=\"firmenportal\", error=\"invalid_token\"` (RFC 6750)",
                    Type::String,
                )),
            );
        }
        "409" if response.description.contains("`idempotency_key_in_use`") => {
            response.headers.insert(
                "Retry-After".into(),
                RefOr::T(header("Seconds to wait before trying again", Type::Integer)),
            );
        }
        "429" | "503" => {
            response.headers.insert(
                "Retry-After".into(),
                RefOr::T(header("Seconds to wait before trying again", Type::Integer)),
            );
        }
        _ => {}
    }
}

/// The document `firmenportal openapi` prints and the tests compare with
/// [`COMMITTED_DOCUMENT`].
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::api::configure)
        .split_for_parts()
        .1;
    // After the routes are in: `ApiDoc`'s own modifiers run before they are.
    ProblemResponses.modify(&mut document);
    document
}

/// The document as committed in `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = document()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    json.push('\n');
    json
}

/// The document the server serves: `openapi/openapi.json` as committed, compiled into the
/// binary. The suite fails when it differs from [`document_json`] by a byte, so it is the
/// code's own; served from the binary, it is neither built at start nor held on the heap
/// (1.1 MB) nor copied per request.
pub const COMMITTED_DOCUMENT: &str = include_str!("../openapi/openapi.json");
