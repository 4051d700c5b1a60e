//! Problems of tickets.

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, ProblemSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum TicketProblem {
    /// Cancelled, ended, blocked or expired already.
    NotCancellable,
}

impl TicketProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            TicketProblem::NotCancellable => ProblemSpec::new(
                "subscription_not_cancellable",
                StatusCode::CONFLICT,
                (
                    "Kündigung nicht möglich",
                    "Dieses Abo ist bereits gekündigt, beendet, gesperrt oder abgelaufen.",
                ),
                (
                    "Cannot be cancelled",
                    "This subscription is cancelled, ended, blocked or expired already.",
                ),
            ),
        }
    }
}

impl From<TicketProblem> for AppError {
    fn from(problem: TicketProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}
