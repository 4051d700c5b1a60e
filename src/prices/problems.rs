//! Problems of prices and shares.

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, FieldError, FieldErrorCode, ProblemSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum PriceProblem {
    /// A contract's employer share below 25 % of the list price.
    EmployerShareTooLow,
    /// No price holds for the month of a statement.
    PriceMissing,
}

impl PriceProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            PriceProblem::EmployerShareTooLow => ProblemSpec::new(
                "employer_share_too_low",
                StatusCode::UNPROCESSABLE_ENTITY,
                (
                    "Arbeitgeberanteil zu niedrig",
                    "Beim D-Ticket Job trägt der Arbeitgeber mindestens 25 % des Listenpreises.",
                ),
                (
                    "Employer's share too low",
                    "With the D-Ticket Job the employer pays at least 25 % of the list price.",
                ),
            ),
            PriceProblem::PriceMissing => ProblemSpec::new(
                "price_missing",
                StatusCode::CONFLICT,
                (
                    "Kein Preis hinterlegt",
                    "Für das Produktangebot dieses Vertrags gilt in diesem Monat kein Preis. Die Preisliste pflegt der Verkehrsbetrieb.",
                ),
                (
                    "No price",
                    "No price holds for this contract's product offering in this month. The operator keeps the price list.",
                ),
            ),
        }
    }
}

impl From<PriceProblem> for AppError {
    fn from(problem: PriceProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}

/// `422 employer_share_too_low` at `/employer_share`.
pub fn employer_share_too_low() -> AppError {
    AppError::ProblemAt {
        problem: PriceProblem::EmployerShareTooLow.spec(),
        fields: vec![FieldError::new(
            "/employer_share",
            FieldErrorCode::EmployerShareTooLow,
        )],
    }
}
