//! Problems of company memberships and invitations.

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, ProblemSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum MembershipProblem {
    /// The change would leave the company without an active admin.
    LastAdmin,
    /// The address already belongs to an active user of the company.
    AlreadyMember,
    /// No open invitation has this token (unknown, used or replaced by a newer one).
    InvitationTokenInvalid,
    /// The invitation's link is older than its validity.
    InvitationTokenExpired,
}

impl MembershipProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            MembershipProblem::LastAdmin => ProblemSpec::new(
                "last_admin",
                StatusCode::CONFLICT,
                (
                    "Letzter Administrator",
                    "Die Firma braucht mindestens einen aktiven Administrator. Ernennen Sie zuerst einen weiteren.",
                ),
                (
                    "Last admin",
                    "The company needs at least one active admin. Make another user an admin first.",
                ),
            ),
            MembershipProblem::AlreadyMember => ProblemSpec::new(
                "already_member",
                StatusCode::CONFLICT,
                (
                    "Bereits Anwender",
                    "Diese E-Mail-Adresse gehört bereits zu einem aktiven Anwender der Firma.",
                ),
                (
                    "Already a user",
                    "This e-mail address already belongs to an active user of the company.",
                ),
            ),
            MembershipProblem::InvitationTokenInvalid => ProblemSpec::new(
                "invitation_token_invalid",
                StatusCode::BAD_REQUEST,
                (
                    "Ungültige Einladung",
                    "Der Einladungslink ist ungültig, wurde bereits verwendet oder durch eine neuere Einladung ersetzt.",
                ),
                (
                    "Invalid invitation",
                    "The invitation link is invalid, has been used already or was replaced by a newer invitation.",
                ),
            ),
            MembershipProblem::InvitationTokenExpired => ProblemSpec::new(
                "invitation_token_expired",
                StatusCode::BAD_REQUEST,
                (
                    "Einladung abgelaufen",
                    "Der Einladungslink ist abgelaufen. Bitten Sie um eine neue Einladung.",
                ),
                (
                    "Invitation expired",
                    "The invitation link has expired. Please ask for a new invitation.",
                ),
            ),
        }
    }
}

impl From<MembershipProblem> for AppError {
    fn from(problem: MembershipProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}
