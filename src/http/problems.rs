//! Problems of the HTTP layer: requests that cannot be read or routed.

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, ProblemSpec};
use crate::http::json::MAX_BODY_BYTES;

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum HttpProblem {
    BadRequest,
    MalformedJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    MethodNotAllowed,
}

// The 413 text names the limit; keep them together.
const _: () = assert!(MAX_BODY_BYTES == 64 * 1024);

impl HttpProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            HttpProblem::BadRequest => ProblemSpec::new(
                "bad_request",
                StatusCode::BAD_REQUEST,
                (
                    "Ungültige Anfrage",
                    "Die Anfrage kann nicht verarbeitet werden.",
                ),
                ("Bad request", "The request cannot be processed."),
            ),
            HttpProblem::MalformedJson => ProblemSpec::new(
                "malformed_json",
                StatusCode::BAD_REQUEST,
                (
                    "Ungültiges JSON",
                    "Der Anfragekörper ist kein gültiges JSON.",
                ),
                ("Malformed JSON", "The request body is not valid JSON."),
            ),
            HttpProblem::UnsupportedMediaType => ProblemSpec::new(
                "unsupported_media_type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                (
                    "Nicht unterstützter Inhaltstyp",
                    "Bitte senden Sie den Anfragekörper als application/json.",
                ),
                (
                    "Unsupported media type",
                    "Please send the request body as application/json.",
                ),
            ),
            HttpProblem::PayloadTooLarge => ProblemSpec::new(
                "payload_too_large",
                StatusCode::PAYLOAD_TOO_LARGE,
                (
                    "Anfrage zu groß",
                    "Der Anfragekörper darf höchstens 64 KiB groß sein.",
                ),
                (
                    "Payload too large",
                    "The request body must not exceed 64 KiB.",
                ),
            ),
            HttpProblem::MethodNotAllowed => ProblemSpec::new(
                "method_not_allowed",
                StatusCode::METHOD_NOT_ALLOWED,
                (
                    "Methode nicht erlaubt",
                    "Diese Methode wird für diese Adresse nicht unterstützt.",
                ),
                (
                    "Method not allowed",
                    "This method is not supported for this address.",
                ),
            ),
        }
    }
}

impl From<HttpProblem> for AppError {
    fn from(problem: HttpProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}
