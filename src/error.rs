//! The one error type of the service and its RFC 9457 problem+json rendering.
//!
//! Every failure a client can see is an [`AppError`]. What a problem answers — its stable
//! `code`, its HTTP status and its German and English texts — is declared once, in a
//! [`ProblemSpec`]: the general problems here, the HTTP layer's in `http::problems`, a
//! capability's own as an enum in its folder (e.g. `accounts::problems`). `api.rs` lists
//! them all for the OpenAPI examples and the catalogue test.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use strum::EnumIter;
use utoipa::ToSchema;

use crate::http::problems::HttpProblem;
use crate::i18n::Lang;

/// Base of every problem `type` URI; the code is appended.
pub const PROBLEM_TYPE_BASE: &str = "https://firmenportal.example/problems/";

/// How long a client should wait after a `503` that names no time of its own.
const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The title and detail of a problem in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemText {
    pub title: &'static str,
    pub detail: &'static str,
}

/// Everything a problem answers, declared in one place: code, status and texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemSpec {
    /// Stable and machine-readable; frontends switch on it.
    pub code: &'static str,
    pub status: StatusCode,
    pub de: ProblemText,
    pub en: ProblemText,
}

impl ProblemSpec {
    /// `de` and `en` are `(title, detail)`.
    pub const fn new(
        code: &'static str,
        status: StatusCode,
        de: (&'static str, &'static str),
        en: (&'static str, &'static str),
    ) -> Self {
        ProblemSpec {
            code,
            status,
            de: ProblemText {
                title: de.0,
                detail: de.1,
            },
            en: ProblemText {
                title: en.0,
                detail: en.1,
            },
        }
    }

    pub fn text(&self, lang: Lang) -> ProblemText {
        match lang {
            Lang::De => self.de,
            Lang::En => self.en,
        }
    }
}

/// Problems any capability can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum GeneralProblem {
    ValidationFailed,
    NotFound,
    Forbidden,
    DuplicateKey,
    RateLimited,
    ServiceUnavailable,
    ServiceBusy,
    ShuttingDown,
    InternalError,
}

impl GeneralProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            GeneralProblem::ValidationFailed => ProblemSpec::new(
                "validation_failed",
                StatusCode::UNPROCESSABLE_ENTITY,
                (
                    "Ungültige Eingabe",
                    "Mindestens ein Feld ist ungültig. Details stehen in errors.",
                ),
                (
                    "Invalid input",
                    "At least one field is invalid. See errors for details.",
                ),
            ),
            GeneralProblem::NotFound => ProblemSpec::new(
                "not_found",
                StatusCode::NOT_FOUND,
                (
                    "Nicht gefunden",
                    "Die angefragte Ressource existiert nicht.",
                ),
                ("Not found", "The requested resource does not exist."),
            ),
            GeneralProblem::Forbidden => ProblemSpec::new(
                "forbidden",
                StatusCode::FORBIDDEN,
                (
                    "Keine Berechtigung",
                    "Sie haben keine Berechtigung für diese Aktion.",
                ),
                ("Forbidden", "You are not allowed to do this."),
            ),
            GeneralProblem::DuplicateKey => ProblemSpec::new(
                "duplicate_key",
                StatusCode::CONFLICT,
                (
                    "Bereits vorhanden",
                    "Ein anderer Datensatz hat bereits diesen Schlüssel. Das Feld steht in errors.",
                ),
                (
                    "Already exists",
                    "Another record already has this key. See errors for the field.",
                ),
            ),
            GeneralProblem::RateLimited => ProblemSpec::new(
                "rate_limited",
                StatusCode::TOO_MANY_REQUESTS,
                (
                    "Zu viele Anfragen",
                    "Bitte warten Sie einen Moment und versuchen Sie es erneut.",
                ),
                ("Too many requests", "Please wait a moment and try again."),
            ),
            GeneralProblem::ServiceUnavailable => ProblemSpec::new(
                "service_unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                (
                    "Dienst vorübergehend nicht verfügbar",
                    "Bitte versuchen Sie es in Kürze erneut.",
                ),
                (
                    "Service temporarily unavailable",
                    "Please try again shortly.",
                ),
            ),
            GeneralProblem::ServiceBusy => ProblemSpec::new(
                "service_busy",
                StatusCode::SERVICE_UNAVAILABLE,
                (
                    "Dienst ausgelastet",
                    "Der Dienst ist gerade stark ausgelastet. Bitte versuchen Sie es in wenigen Sekunden erneut.",
                ),
                (
                    "Service busy",
                    "The service is very busy right now. Please try again in a few seconds.",
                ),
            ),
            GeneralProblem::ShuttingDown => ProblemSpec::new(
                "shutting_down",
                StatusCode::SERVICE_UNAVAILABLE,
                (
                    "Instanz wird beendet",
                    "Diese Instanz wird gerade beendet; eine andere beantwortet die Anfrage.",
                ),
                (
                    "Shutting down",
                    "This instance is shutting down; another one answers the request.",
                ),
            ),
            GeneralProblem::InternalError => ProblemSpec::new(
                "internal_error",
                StatusCode::INTERNAL_SERVER_ERROR,
                (
                    "Interner Fehler",
                    "Ein unerwarteter Fehler ist aufgetreten.",
                ),
                ("Internal error", "An unexpected error occurred."),
            ),
        }
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the offending field, e.g. `/email`; for a query
    /// parameter, its name as a pointer (`/per_page`).
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum FieldErrorCode {
    Required,
    InvalidEmail,
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    /// A name with a character other than letters, marks, spaces and `'-.`.
    InvalidCharacters,
    CommonPassword,
    ConfirmationMismatch,
    PasswordIncorrect,
    InvalidDate,
    InvalidPostalCode,
    /// A number outside its allowed range (e.g. `per_page` over 100).
    OutOfRange {
        min: i64,
        max: i64,
    },
    InvalidType,
    UnknownField,
    /// Not an ISO 3166-1 alpha-2 country code.
    InvalidCountry,
    /// Neither E.164 nor a German national telephone number.
    InvalidPhone,
    /// A value outside the field's list of allowed values (an enum), which the detail
    /// names.
    InvalidChoice {
        allowed: &'static [&'static str],
    },
    /// A natural key another record already holds (`409 duplicate_key`).
    Duplicate,
    /// An id or number that names no record.
    UnknownReference,
    /// A field that cannot be changed here, sent with a different value.
    ReadOnly,
    /// An end date before the start date.
    EndsBeforeStart,
    /// A date before today (Europe/Berlin) where only today or later is allowed.
    DateInPast,
    /// A date after the end of the contract it belongs to.
    AfterContractEnd,
    /// A date further ahead than allowed (e.g. a customer code beyond two years).
    TooFarAhead,
    /// Not a month as `YYYY-MM` (or, in a staff list, `MM.JJJJ`).
    InvalidMonth,
    /// A month before the earliest one the deadline allows (a ticket's start, or the
    /// end of a cancellation).
    MonthTooEarly,
    /// A column a file must have (the pointer names it, e.g. `/file/last_name`).
    MissingColumn,
    /// Not an amount in euros with at most two decimal places (`"63.00"`).
    InvalidAmount,
    /// Not a percentage with at most two decimal places (`"5.00"`).
    InvalidPercent,
    /// A date that must be the 1st of a month (a price's `valid_from`).
    NotFirstOfMonth,
    /// A URL the service will not call: not `https`, or a target in a private network.
    UrlNotAllowed,
    /// An employer's share below the D-Ticket Job minimum of 25 % of the list price.
    EmployerShareTooLow,
}

impl FieldErrorCode {
    /// The code and its German and English detail, declared together.
    fn describe(self) -> (&'static str, String, String) {
        use FieldErrorCode::*;
        let (code, de, en): (&str, String, String) = match self {
            Required => (
                "required",
                "Das Feld darf nicht leer bleiben.".into(),
                "This field must not be empty.".into(),
            ),
            InvalidEmail => (
                "invalid_email",
                "Bitte geben Sie eine gültige E-Mail-Adresse ein.".into(),
                "Please enter a valid e-mail address.".into(),
            ),
            TooShort { min } => (
                "too_short",
                format!("Mindestens {min} Zeichen."),
                format!("At least {min} characters."),
            ),
            TooLong { max } => (
                "too_long",
                format!("Höchstens {max} Zeichen."),
                format!("At most {max} characters."),
            ),
            InvalidCharacters => (
                "invalid_characters",
                "Erlaubt sind Buchstaben, Leerzeichen und die Zeichen ' - .".into(),
                "Only letters, spaces and the characters ' - . are allowed.".into(),
            ),
            CommonPassword => (
                "common_password",
                "Dieses Passwort ist zu verbreitet. Bitte wählen Sie ein anderes.".into(),
                "This password is too common. Please choose another one.".into(),
            ),
            ConfirmationMismatch => (
                "confirmation_mismatch",
                "Die Passwörter stimmen nicht überein.".into(),
                "The passwords do not match.".into(),
            ),
            PasswordIncorrect => (
                "password_incorrect",
                "Das Passwort ist nicht korrekt.".into(),
                "The password is not correct.".into(),
            ),
            InvalidDate => (
                "invalid_date",
                "Bitte geben Sie ein gültiges Datum ein (JJJJ-MM-TT oder TT.MM.JJJJ).".into(),
                "Please enter a valid date (YYYY-MM-DD or DD.MM.YYYY).".into(),
            ),
            InvalidPostalCode => (
                "invalid_postal_code",
                "Bitte geben Sie eine gültige Postleitzahl ein (in Deutschland 5 Ziffern).".into(),
                "Please enter a valid postal code (5 digits in Germany).".into(),
            ),
            OutOfRange { min, max } => (
                "out_of_range",
                format!("Erlaubt sind Werte von {min} bis {max}."),
                format!("Allowed values are {min} to {max}."),
            ),
            InvalidType => (
                "invalid_type",
                "Der Wert hat den falschen Typ.".into(),
                "The value has the wrong type.".into(),
            ),
            UnknownField => (
                "unknown_field",
                "Dieses Feld ist unbekannt.".into(),
                "This field is unknown.".into(),
            ),
            InvalidCountry => (
                "invalid_country",
                "Bitte geben Sie einen Ländercode nach ISO 3166-1 an (z. B. DE).".into(),
                "Please enter an ISO 3166-1 country code (e.g. DE).".into(),
            ),
            InvalidPhone => (
                "invalid_phone",
                "Bitte geben Sie eine Telefonnummer wie +49 561 1234567 oder 0561 1234567 ein."
                    .into(),
                "Please enter a telephone number such as +49 561 1234567 or 0561 1234567.".into(),
            ),
            InvalidChoice { allowed } if !allowed.is_empty() => (
                "invalid_choice",
                format!("Erlaubt sind: {}.", allowed.join(", ")),
                format!("Allowed values: {}.", allowed.join(", ")),
            ),
            InvalidChoice { .. } => (
                "invalid_choice",
                "Dieser Wert ist nicht zulässig.".into(),
                "This value is not allowed.".into(),
            ),
            Duplicate => (
                "duplicate",
                "Dieser Wert ist bereits vergeben.".into(),
                "This value is already taken.".into(),
            ),
            UnknownReference => (
                "unknown_reference",
                "Es gibt keinen Datensatz mit diesem Wert.".into(),
                "No record has this value.".into(),
            ),
            ReadOnly => (
                "field_read_only",
                "Dieses Feld kann hier nicht geändert werden.".into(),
                "This field cannot be changed here.".into(),
            ),
            EndsBeforeStart => (
                "ends_before_start",
                "Das Ende darf nicht vor dem Beginn liegen.".into(),
                "The end must not lie before the start.".into(),
            ),
            DateInPast => (
                "date_in_past",
                "Das Datum darf nicht in der Vergangenheit liegen.".into(),
                "The date must not lie in the past.".into(),
            ),
            AfterContractEnd => (
                "after_contract_end",
                "Das Datum darf nicht nach dem Vertragsende liegen.".into(),
                "The date must not lie after the end of the contract.".into(),
            ),
            TooFarAhead => (
                "too_far_ahead",
                "Das Datum liegt zu weit in der Zukunft.".into(),
                "The date lies too far ahead.".into(),
            ),
            InvalidMonth => (
                "invalid_month",
                "Bitte geben Sie einen Monat als JJJJ-MM ein.".into(),
                "Please enter a month as YYYY-MM.".into(),
            ),
            MonthTooEarly => (
                "month_too_early",
                "Dieser Monat ist nach dem Stichtag nicht mehr möglich; bitte wählen Sie einen späteren.".into(),
                "This month is no longer possible after the deadline; please choose a later one.".into(),
            ),
            MissingColumn => (
                "missing_column",
                "Diese Spalte fehlt in der Datei.".into(),
                "The file lacks this column.".into(),
            ),
            InvalidAmount => (
                "invalid_amount",
                "Bitte geben Sie einen Betrag in Euro mit höchstens zwei Nachkommastellen und Punkt an, z. B. \"63.00\".".into(),
                "Please give an amount in euros with at most two decimal places and a point, e.g. \"63.00\".".into(),
            ),
            InvalidPercent => (
                "invalid_percent",
                "Bitte geben Sie einen Prozentsatz mit höchstens zwei Nachkommastellen und Punkt an, z. B. \"5.00\".".into(),
                "Please give a percentage with at most two decimal places and a point, e.g. \"5.00\".".into(),
            ),
            NotFirstOfMonth => (
                "not_first_of_month",
                "Das Datum muss der 1. eines Monats sein.".into(),
                "The date must be the 1st of a month.".into(),
            ),
            UrlNotAllowed => (
                "url_not_allowed",
                "Diese Adresse wird nicht aufgerufen: nur https, und kein Ziel in einem privaten Netz.".into(),
                "This address is not called: https only, and no target in a private network.".into(),
            ),
            EmployerShareTooLow => (
                "employer_share_too_low",
                "Der Arbeitgeberanteil muss mindestens 25 % des Listenpreises betragen.".into(),
                "The employer's share must be at least 25 % of the list price.".into(),
            ),
        };
        (code, de, en)
    }

    pub fn as_str(self) -> &'static str {
        self.describe().0
    }

    pub fn detail(self, lang: Lang) -> String {
        let (_, de, en) = self.describe();
        match lang {
            Lang::De => de,
            Lang::En => en,
        }
    }
}

/// Collects every field error of a request, so the client sees them all at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps the value or remembers the error.
    /// Keeps the value or remembers every field error of a validation failure; any
    /// other error is passed on.
    pub fn take_all<T>(&mut self, result: Result<T, AppError>) -> Result<Option<T>, AppError> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(AppError::Validation(fields)) => {
                self.0.extend(fields);
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    /// The value of a required field, or a `required` error at its pointer.
    pub fn require<T>(&mut self, value: Option<T>, pointer: &str) -> Option<T> {
        if value.is_none() {
            self.push(FieldError::new(pointer, FieldErrorCode::Required));
        }
        value
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// `422 validation_failed` with every invalid field.
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// Any declared problem without data of its own.
    #[error("{}", .0.code)]
    Problem(ProblemSpec),
    /// A declared problem that names the fields it concerns (e.g. `409 duplicate_key`).
    #[error("{} at {fields:?}", problem.code)]
    ProblemAt {
        problem: ProblemSpec,
        fields: Vec<FieldError>,
    },
    /// A problem the client may retry after a while (`Retry-After`): rate limits, a
    /// busy hasher.
    #[error("{} (retry after {after:?})", problem.code)]
    RetryLater {
        problem: ProblemSpec,
        after: Duration,
        /// The rate limit that refused (its name as in `RATE_LIMIT_<NAME>`, lower case);
        /// `None` for a busy service.
        limit: Option<&'static str>,
    },
    #[error("method not allowed")]
    MethodNotAllowed { allowed: Vec<String> },
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

impl From<GeneralProblem> for AppError {
    fn from(problem: GeneralProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}

impl AppError {
    pub fn field(pointer: &str, code: FieldErrorCode) -> Self {
        AppError::Validation(vec![FieldError::new(pointer, code)])
    }

    pub fn not_found() -> Self {
        GeneralProblem::NotFound.into()
    }

    pub fn forbidden() -> Self {
        GeneralProblem::Forbidden.into()
    }

    /// `409 duplicate_key`: the natural key at `pointer` belongs to another record.
    pub fn duplicate_key(pointer: &str) -> Self {
        AppError::ProblemAt {
            problem: GeneralProblem::DuplicateKey.spec(),
            fields: vec![FieldError::new(pointer, FieldErrorCode::Duplicate)],
        }
    }

    /// This error as `409 duplicate_key` when it is a unique-index violation that
    /// `pointer_of` names a field for (a record's repo knows its natural keys).
    pub fn or_duplicate_key(self, pointer_of: fn(&AppError) -> Option<&'static str>) -> AppError {
        match pointer_of(&self) {
            Some(pointer) => AppError::duplicate_key(pointer),
            None => self,
        }
    }

    /// The column of a unique index this error violated, if it is such an error.
    pub fn violated_unique_column(&self) -> Option<String> {
        use diesel::result::{DatabaseErrorKind, Error};
        let AppError::Database(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) =
            self
        else {
            return None;
        };
        // PostgreSQL: "Key (customer_number)=(K-1) already exists."; SQLite: "UNIQUE
        // constraint failed: companies.customer_number".
        if let Some(details) = info.details()
            && let Some(rest) = details.strip_prefix("Key (")
        {
            return rest.split(')').next().map(str::to_string);
        }
        info.message()
            .rsplit_once('.')
            .map(|(_, column)| column.trim().to_string())
    }

    pub fn rate_limited(after: Duration, limit: &'static str) -> Self {
        AppError::RetryLater {
            problem: GeneralProblem::RateLimited.spec(),
            after,
            limit: Some(limit),
        }
    }

    /// The rate limit that refused, if this is such a refusal.
    pub fn rate_limit(&self) -> Option<&'static str> {
        match self {
            AppError::RetryLater { limit, .. } => *limit,
            _ => None,
        }
    }

    /// Too much work already queued (e.g. password hashing); the client retries shortly.
    pub fn busy(after: Duration) -> Self {
        AppError::RetryLater {
            problem: GeneralProblem::ServiceBusy.spec(),
            after,
            limit: None,
        }
    }

    /// What this error answers.
    pub fn spec(&self) -> ProblemSpec {
        match self {
            AppError::Validation(_) => GeneralProblem::ValidationFailed.spec(),
            AppError::Problem(spec)
            | AppError::ProblemAt { problem: spec, .. }
            | AppError::RetryLater { problem: spec, .. } => *spec,
            AppError::MethodNotAllowed { .. } => HttpProblem::MethodNotAllowed.spec(),
            AppError::DatabaseUnavailable(_) => GeneralProblem::ServiceUnavailable.spec(),
            AppError::Database(e) if is_connection_failure(e) => {
                GeneralProblem::ServiceUnavailable.spec()
            }
            // Retried where it can be (`db::write_transaction`'s callers); what is left
            // is the database being busy, never a fault of the request or the server.
            AppError::Database(e) if is_contention(e) => GeneralProblem::ServiceBusy.spec(),
            AppError::Database(diesel::result::Error::NotFound) => GeneralProblem::NotFound.spec(),
            AppError::Database(_) | AppError::Internal(_) => GeneralProblem::InternalError.spec(),
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        self.spec().code
    }

    /// Whether a database failure means the connection is gone (the pool must not
    /// hand it out again).
    pub fn is_connection_failure(&self) -> bool {
        matches!(self, AppError::Database(e) if is_connection_failure(e))
    }

    /// Whether the database aborted the work only because concurrent work got in its
    /// way (see [`is_contention`]): running the whole transaction again is safe.
    pub fn is_contention(&self) -> bool {
        matches!(self, AppError::Database(e) if is_contention(e))
    }

    /// The error a documentation example shows for a problem: a field error for
    /// `validation_failed`, the bare problem otherwise.
    pub fn example_of(spec: ProblemSpec) -> AppError {
        if spec == GeneralProblem::ValidationFailed.spec() {
            AppError::field("/email", FieldErrorCode::InvalidEmail)
        } else if spec == GeneralProblem::DuplicateKey.spec() {
            AppError::duplicate_key("/customer_number")
        } else {
            AppError::Problem(spec)
        }
    }

    /// The problem document in the given language.
    pub fn problem(&self, lang: Lang) -> Problem {
        let spec = self.spec();
        let text = spec.text(lang);
        let errors = match self {
            AppError::Validation(fields) | AppError::ProblemAt { fields, .. } => fields
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
            problem_type: format!("{PROBLEM_TYPE_BASE}{}", spec.code),
            title: text.title.to_string(),
            status: spec.status.as_u16(),
            detail: text.detail.to_string(),
            code: spec.code.to_string(),
            errors,
            trace_id: crate::telemetry::traces::current_trace_id(),
        }
    }

    /// Renders the problem document in the given language, with the headers its status
    /// calls for.
    pub fn render(&self, lang: Lang) -> HttpResponse {
        let status = self.spec().status;
        if status.is_server_error() && !matches!(self, AppError::RetryLater { .. }) {
            // The cause goes to the log only, never to the client.
            tracing::error!(error = %self, "request failed");
        }
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        response.insert_header((header::CONTENT_LANGUAGE, lang.as_str()));
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750; DESIGN §4 names `invalid_token` for every 401.
            response.insert_header((
                header::WWW_AUTHENTICATE,
                "Bearer realm=\"firmenportal\", error=\"invalid_token\"",
            ));
        }
        let retry_after = match self {
            AppError::RetryLater { after, .. } => Some(*after),
            // A lost connection answers 503 like an exhausted pool, and both may retry;
            // so may a transaction that lost to contention every time it was tried.
            _ if status == StatusCode::SERVICE_UNAVAILABLE => Some(UNAVAILABLE_RETRY_AFTER),
            _ => None,
        };
        if let Some(after) = retry_after {
            let secs = after.as_secs().max(1);
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        if let AppError::MethodNotAllowed { allowed } = self {
            response.insert_header((header::ALLOW, allowed.join(", ")));
        }
        response.json(self.problem(lang))
    }

    /// The closest problem for an error answer that did not come from an `AppError`.
    pub fn from_status(status: StatusCode) -> AppError {
        match status {
            StatusCode::NOT_FOUND => AppError::not_found(),
            StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed { allowed: vec![] },
            StatusCode::PAYLOAD_TOO_LARGE => HttpProblem::PayloadTooLarge.into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => HttpProblem::UnsupportedMediaType.into(),
            StatusCode::UNAUTHORIZED => crate::auth::TokenProblem::Invalid.into(),
            StatusCode::FORBIDDEN => AppError::forbidden(),
            s if s.is_client_error() => HttpProblem::BadRequest.into(),
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

/// A transaction aborted for contention: on PostgreSQL a serialization failure
/// (SQLSTATE 40001, which diesel names) or a deadlock (40P01, which diesel reports as
/// unknown: its message, "deadlock detected", names it, as its German translation
/// "Verklemmung (Deadlock) entdeckt" does; diesel exposes no SQLSTATE beyond the ones
/// it names); on SQLite a lock that the busy timeout could not wait out.
fn is_contention(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message().to_ascii_lowercase();
            message.contains("deadlock")
                || message.starts_with("database is locked")
                || message.starts_with("database table is locked")
        }
        _ => false,
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.spec().status
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
    /// Field errors, all at once: every invalid field of a `validation_failed`, the
    /// taken natural key of a `duplicate_key`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemFieldError>,
    /// The W3C trace id of the request (32 hex digits): the caller's from its
    /// `traceparent`, else a new one; with traces exported, the trace to look up. Also in
    /// every log line of the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(
        example = "4bf92f3577b34da6a3ce929d0e0e4736",
        pattern = "^[0-9a-f]{32}$"
    )]
    pub trace_id: Option<String>,
}

/// One invalid field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemFieldError {
    /// JSON pointer (RFC 6901) to the offending field of the request body, or the
    /// name of an offending query parameter as a pointer (`/per_page`).
    #[schema(example = "/email")]
    pub pointer: String,
    /// Stable code of the field error: `required`, `invalid_email`, `too_short`,
    /// `too_long`, `invalid_characters`, `common_password`, `confirmation_mismatch`,
    /// `password_incorrect`, `invalid_date`, `invalid_postal_code`, `out_of_range`,
    /// `invalid_type`, `unknown_field`, `invalid_country`, `invalid_phone`,
    /// `invalid_choice`, `duplicate` (the key of a `duplicate_key`),
    /// `unknown_reference`, `field_read_only`, `ends_before_start`, `date_in_past`,
    /// `after_contract_end`, `too_far_ahead`, `invalid_month`, `month_too_early`,
    /// `missing_column` (at `/file/{column}` of a `missing_columns`), `invalid_amount`,
    /// `invalid_percent`, `not_first_of_month`, `url_not_allowed` (of a
    /// `webhook_url_not_allowed`) or `employer_share_too_low` (of an `employer_share_too_low`).
    #[schema(example = "invalid_email")]
    pub code: String,
    /// Human-readable explanation.
    #[schema(example = "Bitte geben Sie eine gültige E-Mail-Adresse ein.")]
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use strum::IntoEnumIterator;

    use super::*;

    fn database_error(kind: diesel::result::DatabaseErrorKind, message: &str) -> AppError {
        AppError::Database(diesel::result::Error::DatabaseError(
            kind,
            Box::new(message.to_string()),
        ))
    }

    #[test]
    fn deadlocks_serialization_failures_and_busy_locks_are_contention_answered_503() {
        use diesel::result::DatabaseErrorKind::{SerializationFailure, UniqueViolation, Unknown};
        for error in [
            database_error(Unknown, "deadlock detected"),
            database_error(Unknown, "Verklemmung (Deadlock) entdeckt"),
            database_error(
                SerializationFailure,
                "could not serialize access due to concurrent update",
            ),
            database_error(Unknown, "database is locked"),
        ] {
            assert!(error.is_contention(), "{error}");
            assert_eq!(error.code(), "service_busy");
            assert_eq!(error.spec().status, StatusCode::SERVICE_UNAVAILABLE);
        }
        for error in [
            database_error(Unknown, "syntax error at or near \"SELEC\""),
            database_error(UniqueViolation, "duplicate key value"),
        ] {
            assert!(!error.is_contention(), "{error}");
        }
    }

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
    fn only_internal_error_is_a_500_and_every_code_is_unique_with_both_languages() {
        let catalogue = crate::api::problem_catalogue();
        let mut codes = HashSet::new();
        for spec in &catalogue {
            assert!(codes.insert(spec.code), "{} declared twice", spec.code);
            assert_eq!(
                spec.status == StatusCode::INTERNAL_SERVER_ERROR,
                spec.code == "internal_error",
                "{}: only internal_error may be a 500",
                spec.code
            );
            assert!(
                spec.status.is_client_error() || spec.status.is_server_error(),
                "{}",
                spec.code
            );
            for text in [spec.de, spec.en] {
                assert!(
                    !text.title.is_empty() && !text.detail.is_empty(),
                    "{}",
                    spec.code
                );
            }
            assert_ne!(spec.de, spec.en, "{}: German and English differ", spec.code);
            // Every problem renders with its own code and status.
            let problem = AppError::example_of(*spec).problem(Lang::De);
            assert_eq!(problem.code, spec.code);
            assert_eq!(problem.status, spec.status.as_u16());
        }
        // Errors that are not declared problems map onto catalogue entries.
        for error in [
            AppError::MethodNotAllowed { allowed: vec![] },
            AppError::Internal(String::new()),
            AppError::Database(diesel::result::Error::RollbackTransaction),
            AppError::Database(diesel::result::Error::BrokenTransactionManager),
            AppError::Validation(vec![]),
            AppError::busy(Duration::from_secs(1)),
        ] {
            assert!(catalogue.contains(&error.spec()), "{error:?}");
        }
    }

    #[test]
    fn the_document_names_every_field_error_code() {
        let document = crate::openapi::document_json();
        for code in FieldErrorCode::iter() {
            let named = format!("`{}`", code.as_str());
            assert!(document.contains(&named), "{named} is not documented");
        }
    }

    #[test]
    fn every_field_error_code_is_unique_with_both_languages() {
        let mut codes = HashSet::new();
        for code in FieldErrorCode::iter() {
            assert!(codes.insert(code.as_str()), "{}", code.as_str());
            assert_ne!(code.detail(Lang::De), code.detail(Lang::En));
        }
    }
}
