//! Problems of applications.

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, ProblemSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum ApplicationProblem {
    /// The account has a pending application for this contract already.
    Pending,
    /// The account holds a ticket under this contract that has not expired.
    AlreadySubscribed,
    /// The application was approved, rejected or withdrawn already.
    Decided,
    /// The account submitted `RATE_LIMIT_APPLICATIONS_PER_ACCOUNT` applications in the
    /// last 24 hours (`429`, with `Retry-After`).
    TooManyApplications,
}

impl ApplicationProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            ApplicationProblem::Pending => ProblemSpec::new(
                "application_pending",
                StatusCode::CONFLICT,
                (
                    "Antrag liegt bereits vor",
                    "Für diesen Vertrag liegt von Ihnen bereits ein Antrag vor, über den Ihr Arbeitgeber noch nicht entschieden hat.",
                ),
                (
                    "Application pending",
                    "You have an application for this contract already that your employer has not decided yet.",
                ),
            ),
            ApplicationProblem::AlreadySubscribed => ProblemSpec::new(
                "already_subscribed",
                StatusCode::CONFLICT,
                (
                    "Ticket bereits vorhanden",
                    "Sie haben unter diesem Vertrag bereits ein laufendes Deutschlandticket Job.",
                ),
                (
                    "Already subscribed",
                    "You already hold a current Deutschlandticket Job under this contract.",
                ),
            ),
            ApplicationProblem::Decided => ProblemSpec::new(
                "application_decided",
                StatusCode::CONFLICT,
                (
                    "Antrag bereits entschieden",
                    "Über diesen Antrag wurde bereits entschieden, oder er wurde zurückgezogen.",
                ),
                (
                    "Application decided",
                    "This application has been decided or withdrawn already.",
                ),
            ),
            ApplicationProblem::TooManyApplications => ProblemSpec::new(
                "too_many_applications",
                StatusCode::TOO_MANY_REQUESTS,
                (
                    "Zu viele Anträge",
                    "Sie haben in den letzten 24 Stunden so viele Anträge gestellt, wie möglich sind. Bitte versuchen Sie es später erneut.",
                ),
                (
                    "Too many applications",
                    "You have submitted as many applications in the last 24 hours as allowed. Please try again later.",
                ),
            ),
        }
    }
}

impl From<ApplicationProblem> for AppError {
    fn from(problem: ApplicationProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}
