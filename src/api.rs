//! Every capability of the API in one place: its routes, its problems and its e-mails. A
//! new capability adds one line to each list; everything else lives in its folder.

use strum::IntoEnumIterator;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::accounts::{self, AccountProblem};
use crate::auth::TokenProblem;
use crate::db::DbConnection;
use crate::error::{AppError, GeneralProblem, ProblemSpec};
use crate::http::problems::HttpProblem;
use crate::mail::{LinkSettings, Prepared, QueuedMail};

/// Every documented route; used for serving and for the OpenAPI document alike.
pub fn configure(cfg: &mut ServiceConfig) {
    crate::system::configure(cfg);
    cfg.service(
        utoipa_actix_web::scope("/api/v1")
            .configure(accounts::configure)
            .configure(crate::companies::configure)
            .configure(crate::contracts::configure)
            .configure(crate::prices::configure)
            .configure(crate::statements::configure)
            .configure(crate::customers::configure)
            .configure(crate::memberships::configure)
            .configure(crate::customer_codes::configure)
            .configure(crate::applications::configure)
            .configure(crate::tickets::configure)
            .configure(crate::bulk_uploads::configure)
            .configure(crate::dashboard::configure)
            .configure(crate::webhooks::configure)
            .configure(crate::subscriptions::configure)
            .configure(crate::audit::configure)
            .configure(crate::privacy::configure),
    );
}

/// Every problem the API can answer, for the OpenAPI examples and the catalogue test.
pub fn problem_catalogue() -> Vec<ProblemSpec> {
    GeneralProblem::iter()
        .map(GeneralProblem::spec)
        .chain(HttpProblem::iter().map(HttpProblem::spec))
        .chain(TokenProblem::iter().map(TokenProblem::spec))
        .chain(AccountProblem::iter().map(AccountProblem::spec))
        .chain(
            crate::customers::CustomerProblem::iter().map(crate::customers::CustomerProblem::spec),
        )
        .chain(
            crate::subscriptions::SubscriptionProblem::iter()
                .map(crate::subscriptions::SubscriptionProblem::spec),
        )
        .chain(
            crate::customer_codes::CustomerCodeProblem::iter()
                .map(crate::customer_codes::CustomerCodeProblem::spec),
        )
        .chain(
            crate::applications::ApplicationProblem::iter()
                .map(crate::applications::ApplicationProblem::spec),
        )
        .chain(crate::tickets::TicketProblem::iter().map(crate::tickets::TicketProblem::spec))
        .chain(
            crate::bulk_uploads::BulkUploadProblem::iter()
                .map(crate::bulk_uploads::BulkUploadProblem::spec),
        )
        .chain(
            crate::memberships::MembershipProblem::iter()
                .map(crate::memberships::MembershipProblem::spec),
        )
        .chain(crate::prices::PriceProblem::iter().map(crate::prices::PriceProblem::spec))
        .chain(crate::privacy::PrivacyProblem::iter().map(crate::privacy::PrivacyProblem::spec))
        .chain(crate::webhooks::WebhookProblem::iter().map(crate::webhooks::WebhookProblem::spec))
        .chain(
            crate::idempotency::IdempotencyProblem::iter()
                .map(crate::idempotency::IdempotencyProblem::spec),
        )
        .collect()
}

/// Composes a queued e-mail at send time, by the capability that owns its template.
pub fn compose_mail(
    conn: &mut DbConnection,
    mail: &QueuedMail,
    links: &LinkSettings,
) -> Result<Prepared, AppError> {
    match mail.template.split_once('.').map(|(owner, _)| owner) {
        Some("account") => accounts::mails::compose_mail(conn, mail, links),
        Some("membership") => crate::memberships::mails::compose_mail(conn, mail, links),
        Some("bulk_upload") => crate::bulk_uploads::mails::compose_mail(conn, mail, links),
        Some("ticket") => crate::tickets::mails::compose_mail(conn, mail, links),
        Some("application") => crate::applications::mails::compose_mail(conn, mail, links),
        Some("webhook") => crate::webhooks::mails::compose_mail(conn, mail, links),
        _ => Err(AppError::Internal(format!(
            "no composer for template {:?}",
            mail.template
        ))),
    }
}
