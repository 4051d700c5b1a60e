//! Problems of the subscription capability.

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, ProblemSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum SubscriptionProblem {
    /// Any mismatch of a link attempt, and an unknown number: one answer for all.
    NotMatched,
    /// Over the link attempt limits of the account or the subscription.
    TooManyLinkAttempts,
    /// All data matched, but another account holds the subscription.
    AlreadyLinked,
}

impl SubscriptionProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            SubscriptionProblem::NotMatched => ProblemSpec::new(
                "subscription_not_matched",
                StatusCode::UNPROCESSABLE_ENTITY,
                (
                    "Abo nicht gefunden",
                    "Zu diesen Angaben wurde kein Abo gefunden. Bitte prüfen Sie Nummer, Geburtsdatum, Nachname und Postleitzahl.",
                ),
                (
                    "Subscription not found",
                    "No subscription matches these details. Please check the number, birth date, last name and postal code.",
                ),
            ),
            SubscriptionProblem::TooManyLinkAttempts => ProblemSpec::new(
                "too_many_link_attempts",
                StatusCode::TOO_MANY_REQUESTS,
                (
                    "Zu viele Versuche",
                    "Es gab zu viele erfolglose Versuche, ein Abo zu verknüpfen. Bitte versuchen Sie es später erneut.",
                ),
                (
                    "Too many attempts",
                    "There were too many unsuccessful attempts to link a subscription. Please try again later.",
                ),
            ),
            SubscriptionProblem::AlreadyLinked => ProblemSpec::new(
                "subscription_already_linked",
                StatusCode::CONFLICT,
                (
                    "Abo bereits verknüpft",
                    "Dieses Abo ist bereits mit einem anderen Konto verknüpft. Bitte wenden Sie sich an den Kundenservice.",
                ),
                (
                    "Subscription already linked",
                    "This subscription is already linked to another account. Please contact customer service.",
                ),
            ),
        }
    }
}

impl From<SubscriptionProblem> for AppError {
    fn from(problem: SubscriptionProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}
