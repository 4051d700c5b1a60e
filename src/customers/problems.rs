//! Problems of the customer capability.

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, ProblemSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum CustomerProblem {
    /// `If-Match` named a version that is no longer current.
    PreconditionFailed,
}

impl CustomerProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            CustomerProblem::PreconditionFailed => ProblemSpec::new(
                "precondition_failed",
                StatusCode::PRECONDITION_FAILED,
                (
                    "Daten zwischenzeitlich geändert",
                    "Die Daten wurden inzwischen geändert. Bitte laden Sie sie neu und versuchen Sie es erneut.",
                ),
                (
                    "Data changed in the meantime",
                    "The data has changed in the meantime. Please reload it and try again.",
                ),
            ),
        }
    }
}

impl From<CustomerProblem> for AppError {
    fn from(problem: CustomerProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}
