//! Why a bearer token was refused: `401` with `WWW-Authenticate` (RFC 6750).

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, ProblemSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum TokenProblem {
    Missing,
    Invalid,
    Expired,
}

impl TokenProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            TokenProblem::Missing => ProblemSpec::new(
                "missing_token",
                StatusCode::UNAUTHORIZED,
                (
                    "Anmeldung erforderlich",
                    "Bitte melden Sie sich an (Authorization: Bearer).",
                ),
                (
                    "Authentication required",
                    "Please log in (Authorization: Bearer).",
                ),
            ),
            TokenProblem::Invalid => ProblemSpec::new(
                "invalid_token",
                StatusCode::UNAUTHORIZED,
                (
                    "Ungültiges Token",
                    "Das Zugangstoken ist ungültig oder wurde widerrufen.",
                ),
                (
                    "Invalid token",
                    "The access token is invalid or has been revoked.",
                ),
            ),
            TokenProblem::Expired => ProblemSpec::new(
                "token_expired",
                StatusCode::UNAUTHORIZED,
                (
                    "Token abgelaufen",
                    "Das Zugangstoken ist abgelaufen. Bitte erneuern Sie es.",
                ),
                (
                    "Token expired",
                    "The access token has expired. Please refresh it.",
                ),
            ),
        }
    }
}

impl From<TokenProblem> for AppError {
    fn from(problem: TokenProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}
