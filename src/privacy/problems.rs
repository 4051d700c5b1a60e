//! Problems of the data-protection rights.

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, ProblemSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum PrivacyProblem {
    /// The account exported its data `RATE_LIMIT_EXPORT_PER_ACCOUNT` times within the
    /// window (`429`, with `Retry-After`).
    TooManyExports,
    /// A customer record to be erased has a ticket that has not expired.
    CustomerHasCurrentTicket,
}

impl PrivacyProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            PrivacyProblem::TooManyExports => ProblemSpec::new(
                "too_many_exports",
                StatusCode::TOO_MANY_REQUESTS,
                (
                    "Zu viele Datenexporte",
                    "Sie haben Ihre Daten in der letzten Stunde so oft exportiert, wie möglich ist. Bitte versuchen Sie es später erneut.",
                ),
                (
                    "Too many exports",
                    "You have exported your data as often in the last hour as allowed. Please try again later.",
                ),
            ),
            PrivacyProblem::CustomerHasCurrentTicket => ProblemSpec::new(
                "customer_has_current_ticket",
                StatusCode::CONFLICT,
                (
                    "Laufendes Ticket",
                    "Der Kundendatensatz hat ein Ticket, das noch nicht abgelaufen ist; er kann erst danach gelöscht werden.",
                ),
                (
                    "Current ticket",
                    "The customer record has a ticket that has not expired; it can be erased only afterwards.",
                ),
            ),
        }
    }
}

impl From<PrivacyProblem> for AppError {
    fn from(problem: PrivacyProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}
