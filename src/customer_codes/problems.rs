//! Problems of customer codes.

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, ProblemSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum CustomerCodeProblem {
    /// Codes are generated and orders approved only under a contract that is active
    /// today.
    ContractNotActive,
    /// An unknown, expired or revoked code: one answer for all.
    Invalid,
    /// Over the failed-check limits of the account or the client IP.
    TooManyAttempts,
}

impl CustomerCodeProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            CustomerCodeProblem::ContractNotActive => ProblemSpec::new(
                "contract_not_active",
                StatusCode::CONFLICT,
                (
                    "Vertrag nicht aktiv",
                    "Dieser Vertrag ist heute nicht aktiv; es können weder Kundencodes erzeugt noch Anträge genehmigt werden.",
                ),
                (
                    "Contract not active",
                    "This contract is not active today, so neither customer codes can be generated nor applications approved.",
                ),
            ),
            CustomerCodeProblem::Invalid => ProblemSpec::new(
                "customer_code_invalid",
                StatusCode::UNPROCESSABLE_ENTITY,
                (
                    "Kundencode ungültig",
                    "Dieser Kundencode ist nicht gültig. Bitte prüfen Sie die Eingabe oder fragen Sie Ihren Arbeitgeber nach dem aktuellen Code.",
                ),
                (
                    "Customer code invalid",
                    "This customer code is not valid. Please check it or ask your employer for the current code.",
                ),
            ),
            CustomerCodeProblem::TooManyAttempts => ProblemSpec::new(
                "too_many_code_attempts",
                StatusCode::TOO_MANY_REQUESTS,
                (
                    "Zu viele Versuche",
                    "Zu viele ungültige Kundencodes. Bitte versuchen Sie es später erneut.",
                ),
                (
                    "Too many attempts",
                    "Too many invalid customer codes. Please try again later.",
                ),
            ),
        }
    }
}

impl From<CustomerCodeProblem> for AppError {
    fn from(problem: CustomerCodeProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}
