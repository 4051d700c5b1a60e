//! The one error type of the service and its RFC 9457 problem+json rendering.
//!
//! Every failure a client can see is an [`AppError`]. Its `code` is stable and
//! machine-readable; `title` and `detail` are German by default and English when the
//! request prefers it (the language middleware re-renders, see `http::problem`).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::i18n::Lang;

/// Base of every problem `type` URI; the code is appended.
pub const PROBLEM_TYPE_BASE: &str = "https://firmenportal.example/problems/";

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the offending field, e.g. `/email`.
    pub pointer: String,
    pub code: FieldErrorCode,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, code: FieldErrorCode) -> Self {
        FieldError {
            pointer: pointer.into(),
            code,
        }
    }
}

/// Stable codes of field errors; frontends switch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorCode {
    Required,
    InvalidEmail,
    TooShort { min: usize },
    TooLong { max: usize },
    CommonPassword,
    ConfirmationMismatch,
    PasswordIncorrect,
    InvalidType,
    UnknownField,
}

impl FieldErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldErrorCode::Required => "required",
            FieldErrorCode::InvalidEmail => "invalid_email",
            FieldErrorCode::TooShort { .. } => "too_short",
            FieldErrorCode::TooLong { .. } => "too_long",
            FieldErrorCode::CommonPassword => "common_password",
            FieldErrorCode::ConfirmationMismatch => "confirmation_mismatch",
            FieldErrorCode::PasswordIncorrect => "password_incorrect",
            FieldErrorCode::InvalidType => "invalid_type",
            FieldErrorCode::UnknownField => "unknown_field",
        }
    }

    fn detail(self, lang: Lang) -> String {
        use FieldErrorCode::*;
        match (self, lang) {
            (Required, Lang::De) => "Das Feld darf nicht leer bleiben.".into(),
            (Required, Lang::En) => "This field must not be empty.".into(),
            (InvalidEmail, Lang::De) => "Bitte geben Sie eine gültige E-Mail-Adresse ein.".into(),
            (InvalidEmail, Lang::En) => "Please enter a valid e-mail address.".into(),
            (TooShort { min }, Lang::De) => format!("Mindestens {min} Zeichen."),
            (TooShort { min }, Lang::En) => format!("At least {min} characters."),
            (TooLong { max }, Lang::De) => format!("Höchstens {max} Zeichen."),
            (TooLong { max }, Lang::En) => format!("At most {max} characters."),
            (CommonPassword, Lang::De) => {
                "Dieses Passwort ist zu verbreitet. Bitte wählen Sie ein anderes.".into()
            }
            (CommonPassword, Lang::En) => {
                "This password is too common. Please choose another one.".into()
            }
            (ConfirmationMismatch, Lang::De) => "Die Passwörter stimmen nicht überein.".into(),
            (ConfirmationMismatch, Lang::En) => "The passwords do not match.".into(),
            (PasswordIncorrect, Lang::De) => "Das Passwort ist nicht korrekt.".into(),
            (PasswordIncorrect, Lang::En) => "The password is not correct.".into(),
            (InvalidType, Lang::De) => "Der Wert hat den falschen Typ.".into(),
            (InvalidType, Lang::En) => "The value has the wrong type.".into(),
            (UnknownField, Lang::De) => "Dieses Feld ist unbekannt.".into(),
            (UnknownField, Lang::En) => "This field is unknown.".into(),
        }
    }
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Missing,
    Invalid,
    Expired,
}

/// Which single-use e-mailed token failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTokenKind {
    Verification,
    PasswordReset,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    #[error("bad request")]
    BadRequest,
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allowed: Vec<String> },
    #[error("bearer token refused: {0:?}")]
    Token(TokenProblem),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    #[error("e-mail not verified")]
    EmailNotVerified,
    #[error("forbidden")]
    Forbidden,
    #[error("e-mailed token invalid: {0:?}")]
    EmailTokenInvalid(EmailTokenKind),
    #[error("e-mailed token expired: {0:?}")]
    EmailTokenExpired(EmailTokenKind),
    #[error("rate limited for {0:?}")]
    RateLimited(Duration),
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(#[from] diesel::r2d2::PoolError),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<FieldError> for AppError {
    fn from(error: FieldError) -> Self {
        AppError::Validation(vec![error])
    }
}

impl AppError {
    pub fn field(pointer: &str, code: FieldErrorCode) -> Self {
        AppError::Validation(vec![FieldError::new(pointer, code)])
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::BadRequest => "bad_request",
            AppError::MalformedJson(_) => "malformed_json",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::NotFound => "not_found",
            AppError::MethodNotAllowed { .. } => "method_not_allowed",
            AppError::Token(TokenProblem::Missing) => "missing_token",
            AppError::Token(TokenProblem::Invalid) => "invalid_token",
            AppError::Token(TokenProblem::Expired) => "token_expired",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::InvalidRefreshToken => "invalid_refresh_token",
            AppError::EmailNotVerified => "email_not_verified",
            AppError::Forbidden => "forbidden",
            AppError::EmailTokenInvalid(EmailTokenKind::Verification) => {
                "verification_token_invalid"
            }
            AppError::EmailTokenExpired(EmailTokenKind::Verification) => {
                "verification_token_expired"
            }
            AppError::EmailTokenInvalid(EmailTokenKind::PasswordReset) => {
                "password_reset_token_invalid"
            }
            AppError::EmailTokenExpired(EmailTokenKind::PasswordReset) => {
                "password_reset_token_expired"
            }
            AppError::RateLimited(_) => "rate_limited",
            AppError::DatabaseUnavailable(_) => "service_unavailable",
            AppError::Database(e) if is_connection_failure(e) => "service_unavailable",
            AppError::Database(diesel::result::Error::NotFound) => "not_found",
            AppError::Database(_) | AppError::Internal(_) => "internal_error",
        }
    }

    fn texts(&self, lang: Lang) -> (&'static str, String) {
        let de = lang == Lang::De;
        let pick =
            |de_text: &'static str, en_text: &'static str| if de { de_text } else { en_text };
        match self.code() {
            "validation_failed" => (
                pick("Ungültige Eingabe", "Invalid input"),
                pick(
                    "Mindestens ein Feld ist ungültig. Details stehen in errors.",
                    "At least one field is invalid. See errors for details.",
                )
                .into(),
            ),
            "bad_request" => (
                pick("Ungültige Anfrage", "Bad request"),
                pick(
                    "Die Anfrage kann nicht verarbeitet werden.",
                    "The request cannot be processed.",
                )
                .into(),
            ),
            "malformed_json" => (
                pick("Ungültiges JSON", "Malformed JSON"),
                pick(
                    "Der Anfragekörper ist kein gültiges JSON.",
                    "The request body is not valid JSON.",
                )
                .into(),
            ),
            "unsupported_media_type" => (
                pick("Nicht unterstützter Inhaltstyp", "Unsupported media type"),
                pick(
                    "Bitte senden Sie den Anfragekörper als application/json.",
                    "Please send the request body as application/json.",
                )
                .into(),
            ),
            "payload_too_large" => (
                pick("Anfrage zu groß", "Payload too large"),
                pick(
                    "Der Anfragekörper darf höchstens 64 KiB groß sein.",
                    "The request body must not exceed 64 KiB.",
                )
                .into(),
            ),
            "not_found" => (
                pick("Nicht gefunden", "Not found"),
                pick(
                    "Die angefragte Ressource existiert nicht.",
                    "The requested resource does not exist.",
                )
                .into(),
            ),
            "method_not_allowed" => (
                pick("Methode nicht erlaubt", "Method not allowed"),
                pick(
                    "Diese Methode wird für diese Adresse nicht unterstützt.",
                    "This method is not supported for this address.",
                )
                .into(),
            ),
            "missing_token" => (
                pick("Anmeldung erforderlich", "Authentication required"),
                pick(
                    "Bitte melden Sie sich an (Authorization: Bearer).",
                    "Please log in (Authorization: Bearer).",
                )
                .into(),
            ),
            "invalid_token" => (
                pick("Ungültiges Token", "Invalid token"),
                pick(
                    "Das Zugangstoken ist ungültig oder wurde widerrufen.",
                    "The access token is invalid or has been revoked.",
                )
                .into(),
            ),
            "token_expired" => (
                pick("Token abgelaufen", "Token expired"),
                pick(
                    "Das Zugangstoken ist abgelaufen. Bitte erneuern Sie es.",
                    "The access token has expired. Please refresh it.",
                )
                .into(),
            ),
            "invalid_credentials" => (
                pick("Anmeldung fehlgeschlagen", "Login failed"),
                pick(
                    "E-Mail-Adresse oder Passwort ist nicht korrekt.",
                    "E-mail address or password is not correct.",
                )
                .into(),
            ),
            "invalid_refresh_token" => (
                pick("Ungültiges Refresh-Token", "Invalid refresh token"),
                pick(
                    "Die Sitzung ist abgelaufen oder wurde beendet. Bitte melden Sie sich erneut an.",
                    "The session has expired or was ended. Please log in again.",
                )
                .into(),
            ),
            "email_not_verified" => (
                pick("E-Mail-Adresse nicht bestätigt", "E-mail address not verified"),
                pick(
                    "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse über den Link in unserer E-Mail.",
                    "Please verify your e-mail address first using the link in our e-mail.",
                )
                .into(),
            ),
            "forbidden" => (
                pick("Keine Berechtigung", "Forbidden"),
                pick(
                    "Sie haben keine Berechtigung für diese Aktion.",
                    "You are not allowed to do this.",
                )
                .into(),
            ),
            "verification_token_invalid" | "password_reset_token_invalid" => (
                pick("Ungültiger Link", "Invalid link"),
                pick(
                    "Der Link ist ungültig oder wurde bereits verwendet. Bitte fordern Sie einen neuen an.",
                    "The link is invalid or has already been used. Please request a new one.",
                )
                .into(),
            ),
            "verification_token_expired" | "password_reset_token_expired" => (
                pick("Link abgelaufen", "Link expired"),
                pick(
                    "Der Link ist abgelaufen. Bitte fordern Sie einen neuen an.",
                    "The link has expired. Please request a new one.",
                )
                .into(),
            ),
            "rate_limited" => (
                pick("Zu viele Anfragen", "Too many requests"),
                pick(
                    "Bitte warten Sie einen Moment und versuchen Sie es erneut.",
                    "Please wait a moment and try again.",
                )
                .into(),
            ),
            "service_unavailable" => (
                pick("Dienst vorübergehend nicht verfügbar", "Service temporarily unavailable"),
                pick(
                    "Bitte versuchen Sie es in Kürze erneut.",
                    "Please try again shortly.",
                )
                .into(),
            ),
            _ => (
                pick("Interner Fehler", "Internal error"),
                pick(
                    "Ein unerwarteter Fehler ist aufgetreten.",
                    "An unexpected error occurred.",
                )
                .into(),
            ),
        }
    }

    /// One error of every code, for the examples of the OpenAPI document and for tests.
    pub fn one_of_each_code() -> Vec<AppError> {
        use diesel::result::Error as DieselError;
        vec![
            AppError::Validation(vec![FieldError::new(
                "/email",
                FieldErrorCode::InvalidEmail,
            )]),
            AppError::BadRequest,
            AppError::MalformedJson(String::new()),
            AppError::UnsupportedMediaType,
            AppError::PayloadTooLarge,
            AppError::NotFound,
            AppError::MethodNotAllowed {
                allowed: vec!["POST".into()],
            },
            AppError::Token(TokenProblem::Missing),
            AppError::Token(TokenProblem::Invalid),
            AppError::Token(TokenProblem::Expired),
            AppError::InvalidCredentials,
            AppError::InvalidRefreshToken,
            AppError::EmailNotVerified,
            AppError::Forbidden,
            AppError::EmailTokenInvalid(EmailTokenKind::Verification),
            AppError::EmailTokenExpired(EmailTokenKind::Verification),
            AppError::EmailTokenInvalid(EmailTokenKind::PasswordReset),
            AppError::EmailTokenExpired(EmailTokenKind::PasswordReset),
            AppError::RateLimited(Duration::from_secs(60)),
            // A lost connection stands for every way the database can be unreachable.
            AppError::Database(DieselError::BrokenTransactionManager),
            AppError::Internal(String::new()),
        ]
    }

    /// The problem document in the given language.
    pub fn problem(&self, lang: Lang) -> Problem {
        let (title, detail) = self.texts(lang);
        let code = self.code();
        let errors = match self {
            AppError::Validation(fields) => fields
                .iter()
                .map(|f| ProblemFieldError {
                    pointer: f.pointer.clone(),
                    code: f.code.as_str().to_string(),
                    detail: f.code.detail(lang),
                })
                .collect(),
            _ => Vec::new(),
        };
        Problem {
            problem_type: format!("{PROBLEM_TYPE_BASE}{code}"),
            title: title.to_string(),
            status: self.status_code().as_u16(),
            detail,
            code: code.to_string(),
            errors,
        }
    }

    /// Renders the problem document in the given language, with the headers its status
    /// calls for.
    pub fn render(&self, lang: Lang) -> HttpResponse {
        let status = self.status_code();
        if status.is_server_error() {
            // The cause goes to the log only, never to the client.
            tracing::error!(error = %self, "request failed");
        }
        let problem = self.problem(lang);
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        response.insert_header((header::CONTENT_LANGUAGE, lang.as_str()));
        match self {
            AppError::Token(problem) => {
                let description = match problem {
                    TokenProblem::Missing => "no bearer token",
                    TokenProblem::Invalid => "the token is invalid",
                    TokenProblem::Expired => "the token expired",
                };
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    format!(
                        "Bearer realm=\"firmenportal\", error=\"invalid_token\", error_description=\"{description}\""
                    ),
                ));
            }
            AppError::InvalidCredentials | AppError::InvalidRefreshToken => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"firmenportal\", error=\"invalid_token\"",
                ));
            }
            AppError::RateLimited(retry_after) => {
                let secs = retry_after.as_secs().max(1);
                response.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
            }
            AppError::MethodNotAllowed { allowed } => {
                response.insert_header((header::ALLOW, allowed.join(", ")));
            }
            // A lost connection answers 503 like an exhausted pool, and both may retry.
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from(5u32)));
            }
            _ => {}
        }
        response.json(problem)
    }
}

impl AppError {
    /// The closest problem for an error answer that did not come from an `AppError`.
    pub fn from_status(status: StatusCode) -> AppError {
        match status {
            StatusCode::NOT_FOUND => AppError::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed { allowed: vec![] },
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
            StatusCode::UNAUTHORIZED => AppError::Token(TokenProblem::Invalid),
            StatusCode::FORBIDDEN => AppError::Forbidden,
            s if s.is_client_error() => AppError::BadRequest,
            s => AppError::Internal(format!("unexpected status {s}")),
        }
    }
}

fn is_connection_failure(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error,
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
            | Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _)
            | Error::BrokenTransactionManager
    )
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self.code() {
            "validation_failed" => StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request"
            | "malformed_json"
            | "verification_token_invalid"
            | "verification_token_expired"
            | "password_reset_token_invalid"
            | "password_reset_token_expired" => StatusCode::BAD_REQUEST,
            "unsupported_media_type" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "payload_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
            "not_found" => StatusCode::NOT_FOUND,
            "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
            "missing_token"
            | "invalid_token"
            | "token_expired"
            | "invalid_credentials"
            | "invalid_refresh_token" => StatusCode::UNAUTHORIZED,
            "email_not_verified" | "forbidden" => StatusCode::FORBIDDEN,
            "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
            "service_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.render(Lang::De)
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://firmenportal.example/problems/validation_failed",
    "title": "Ungültige Eingabe",
    "status": 422,
    "detail": "Mindestens ein Feld ist ungültig. Details stehen in errors.",
    "code": "validation_failed",
    "errors": [{"pointer": "/email", "code": "invalid_email", "detail": "Bitte geben Sie eine gültige E-Mail-Adresse ein."}]
}))]
pub struct Problem {
    /// URI identifying the problem type; ends with `code`.
    #[serde(rename = "type")]
    #[schema(example = "https://firmenportal.example/problems/validation_failed")]
    pub problem_type: String,
    /// Short, human-readable summary (German by default, English on `Accept-Language: en`).
    #[schema(example = "Ungültige Eingabe")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 422)]
    pub status: u16,
    /// Human-readable explanation of this occurrence.
    #[schema(example = "Mindestens ein Feld ist ungültig. Details stehen in errors.")]
    pub detail: String,
    /// Stable machine-readable code; frontends switch on it.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// Field errors (only for `validation_failed`), all at once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemFieldError>,
}

/// One invalid field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemFieldError {
    /// JSON pointer (RFC 6901) to the offending field of the request body.
    #[schema(example = "/email")]
    pub pointer: String,
    /// Stable code of the field error, e.g. `required`, `invalid_email`, `too_short`,
    /// `too_long`, `common_password`, `confirmation_mismatch`, `password_incorrect`.
    #[schema(example = "invalid_email")]
    pub code: String,
    /// Human-readable explanation.
    #[schema(example = "Bitte geben Sie eine gültige E-Mail-Adresse ein.")]
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn unexpected_errors_answer_a_generic_500_without_the_cause() {
        let response =
            AppError::Internal("connection string postgres://secret".into()).render(Lang::En);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("\"code\":\"internal_error\""), "{body}");
        assert!(!body.contains("secret"), "{body}");
    }

    #[test]
    fn a_lost_database_connection_is_a_503_with_retry_after() {
        let response = AppError::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::ClosedConnection,
            Box::new(String::from("server closed the connection")),
        ))
        .render(Lang::De);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "5");
    }

    #[test]
    fn every_code_has_german_and_english_texts() {
        let errors = AppError::one_of_each_code();
        let mut codes: Vec<&str> = errors.iter().map(AppError::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), errors.len(), "one error per code");
        for error in errors {
            let (de_title, de_detail) = error.texts(Lang::De);
            let (en_title, en_detail) = error.texts(Lang::En);
            assert_ne!(de_title, en_title, "{}", error.code());
            assert_ne!(de_detail, en_detail, "{}", error.code());
            if error.code() != "internal_error" {
                assert_ne!(en_title, "Internal error", "{}", error.code());
            }
        }
    }
}
