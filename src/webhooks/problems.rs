//! Problems of webhooks.

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, FieldError, FieldErrorCode, ProblemSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum WebhookProblem {
    /// Not `https`, or a host that resolves to a private or special address.
    UrlNotAllowed,
}

impl WebhookProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            WebhookProblem::UrlNotAllowed => ProblemSpec::new(
                "webhook_url_not_allowed",
                StatusCode::UNPROCESSABLE_ENTITY,
                (
                    "Adresse nicht erlaubt",
                    "Webhooks werden nur an https-Adressen gesendet, deren Name sich auflösen lässt und nicht auf eine private, lokale, Link-Local-, Multicast- oder unbestimmte Adresse zeigt.",
                ),
                (
                    "Address not allowed",
                    "Webhooks are sent only to https addresses whose name resolves, and not to a private, loopback, link-local, multicast or unspecified address.",
                ),
            ),
        }
    }
}

/// `422 webhook_url_not_allowed` at `/url`.
pub fn url_not_allowed() -> AppError {
    AppError::ProblemAt {
        problem: WebhookProblem::UrlNotAllowed.spec(),
        fields: vec![FieldError::new("/url", FieldErrorCode::UrlNotAllowed)],
    }
}
