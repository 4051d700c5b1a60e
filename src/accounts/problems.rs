//! Problems of the account flows.

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, ProblemSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum AccountProblem {
    InvalidCredentials,
    InvalidRefreshToken,
    EmailNotVerified,
    VerificationTokenInvalid,
    VerificationTokenExpired,
    PasswordResetTokenInvalid,
    PasswordResetTokenExpired,
}

const LINK_INVALID_DE: (&str, &str) = (
    "Ungültiger Link",
    "Der Link ist ungültig oder wurde bereits verwendet. Bitte fordern Sie einen neuen an.",
);
const LINK_INVALID_EN: (&str, &str) = (
    "Invalid link",
    "The link is invalid or has already been used. Please request a new one.",
);
const LINK_EXPIRED_DE: (&str, &str) = (
    "Link abgelaufen",
    "Der Link ist abgelaufen. Bitte fordern Sie einen neuen an.",
);
const LINK_EXPIRED_EN: (&str, &str) = (
    "Link expired",
    "The link has expired. Please request a new one.",
);

impl AccountProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            AccountProblem::InvalidCredentials => ProblemSpec::new(
                "invalid_credentials",
                StatusCode::UNAUTHORIZED,
                (
                    "Anmeldung fehlgeschlagen",
                    "E-Mail-Adresse oder Passwort ist nicht korrekt.",
                ),
                ("Login failed", "E-mail address or password is not correct."),
            ),
            AccountProblem::InvalidRefreshToken => ProblemSpec::new(
                "invalid_refresh_token",
                StatusCode::UNAUTHORIZED,
                (
                    "Ungültiges Refresh-Token",
                    "Die Sitzung ist abgelaufen oder wurde beendet. Bitte melden Sie sich erneut an.",
                ),
                (
                    "Invalid refresh token",
                    "The session has expired or was ended. Please log in again.",
                ),
            ),
            AccountProblem::EmailNotVerified => ProblemSpec::new(
                "email_not_verified",
                StatusCode::FORBIDDEN,
                (
                    "E-Mail-Adresse nicht bestätigt",
                    "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse über den Link in unserer E-Mail.",
                ),
                (
                    "E-mail address not verified",
                    "Please verify your e-mail address first using the link in our e-mail.",
                ),
            ),
            AccountProblem::VerificationTokenInvalid => ProblemSpec::new(
                "verification_token_invalid",
                StatusCode::BAD_REQUEST,
                LINK_INVALID_DE,
                LINK_INVALID_EN,
            ),
            AccountProblem::VerificationTokenExpired => ProblemSpec::new(
                "verification_token_expired",
                StatusCode::BAD_REQUEST,
                LINK_EXPIRED_DE,
                LINK_EXPIRED_EN,
            ),
            AccountProblem::PasswordResetTokenInvalid => ProblemSpec::new(
                "password_reset_token_invalid",
                StatusCode::BAD_REQUEST,
                LINK_INVALID_DE,
                LINK_INVALID_EN,
            ),
            AccountProblem::PasswordResetTokenExpired => ProblemSpec::new(
                "password_reset_token_expired",
                StatusCode::BAD_REQUEST,
                LINK_EXPIRED_DE,
                LINK_EXPIRED_EN,
            ),
        }
    }
}

impl From<AccountProblem> for AppError {
    fn from(problem: AccountProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}
