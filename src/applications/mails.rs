//! The e-mails of applications, in German: the company's admins hear of a new one, the
//! applicant of the decision. Each is composed at send time from the application, so an
//! application withdrawn (or an account deleted) before delivery sends nothing stale.

use serde_json::json;

use crate::applications::repo;
use crate::applications::types::ApplicationStatus;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mail::templates::{compose, greeting};
use crate::mail::{Email, LinkSettings, Prepared, QueuedMail};
use crate::subscriptions;

pub const SUBMITTED: &str = "application.submitted";
pub const APPROVED: &str = "application.approved";
pub const REJECTED: &str = "application.rejected";

/// The outbox parameters of every application e-mail: which application it is about.
pub fn params(application_id: &str) -> serde_json::Value {
    json!({ "application_id": application_id })
}

pub fn compose_mail(
    conn: &mut DbConnection,
    mail: &QueuedMail,
    links: &LinkSettings,
) -> Result<Prepared, AppError> {
    let params: serde_json::Value = serde_json::from_str(&mail.params)
        .map_err(|e| AppError::Internal(format!("application mail parameters: {e}")))?;
    let Some(id) = params["application_id"].as_str() else {
        return Err(AppError::Internal(
            "application mail without application".into(),
        ));
    };
    let Some(application) = repo::find(conn, id)? else {
        return Ok(Prepared::Drop("the application no longer exists"));
    };
    let contract = repo::contract_of(conn, &application.contract_id)?;
    let applicant = format!("{} {}", application.first_name, application.last_name);
    let month = application.start_month.format("%m.%Y").to_string();
    let lang = mail.language();
    match mail.template.as_str() {
        SUBMITTED => {
            if application.status != ApplicationStatus::Pending.as_ref() {
                return Ok(Prepared::Drop("the application was decided or withdrawn"));
            }
            let link = links.page(&format!(
                "contracts/{}/applications",
                application.contract_id
            ));
            Ok(Prepared::Send(submitted(
                lang,
                &applicant,
                &contract.company_name,
                &contract.contract_number,
                &month,
                &link,
            )))
        }
        APPROVED => {
            let Some(subscription) = application
                .subscription_id
                .as_deref()
                .map(|id| subscriptions::repo::find(conn, id))
                .transpose()?
                .flatten()
            else {
                return Ok(Prepared::Drop("the ticket no longer exists"));
            };
            // The ticket's real start: an approval after the asked month's deadline
            // moves it to the earliest month still open.
            let start = subscription.data.valid_from.format("%m.%Y").to_string();
            Ok(Prepared::Send(approved(
                lang,
                &application.first_name,
                &contract.company_name,
                &subscription.data.contract_number,
                &start,
                &links.page("subscriptions"),
            )))
        }
        REJECTED => Ok(Prepared::Send(rejected(
            lang,
            &application.first_name,
            &contract.company_name,
            application.rejection_reason.as_deref().unwrap_or_default(),
            &links.page("applications"),
        ))),
        other => Err(AppError::Internal(format!(
            "unknown application template {other}"
        ))),
    }
}

fn submitted(
    lang: Lang,
    applicant: &str,
    company: &str,
    contract_number: &str,
    month: &str,
    link: &str,
) -> Email {
    match lang {
        Lang::De => compose(
            &format!("Neuer Antrag auf ein Deutschlandticket Job: {applicant}"),
            &greeting(lang, None),
            &[
                &format!(
                    "{applicant} hat unter dem Vertrag {contract_number} von {company} ein Deutschlandticket Job ab {month} beantragt."
                ),
                "Bitte prüfen Sie den Antrag im Firmenportal und genehmigen oder lehnen Sie ihn ab:",
            ],
            link,
            "Sie erhalten diese E-Mail als Administrator Ihres Unternehmens im Firmenportal.",
        ),
        Lang::En => compose(
            &format!("New application for a Deutschlandticket Job: {applicant}"),
            &greeting(lang, None),
            &[
                &format!(
                    "{applicant} has applied for a Deutschlandticket Job from {month} under contract {contract_number} of {company}."
                ),
                "Please review the application in the company portal and approve or reject it:",
            ],
            link,
            "You receive this e-mail as an administrator of your company in the company portal.",
        ),
    }
}

fn approved(
    lang: Lang,
    first_name: &str,
    company: &str,
    contract_number: &str,
    month: &str,
    link: &str,
) -> Email {
    match lang {
        Lang::De => compose(
            "Ihr Deutschlandticket Job ist genehmigt",
            &greeting(lang, Some(first_name)),
            &[
                &format!(
                    "{company} hat Ihren Antrag genehmigt. Ihr Deutschlandticket Job gilt ab {month}; die Vertragsnummer ist {contract_number}."
                ),
                "Sie finden das Ticket in Ihrer Aboverwaltung:",
            ],
            link,
            "Bei Fragen zu Ihrem Ticket wenden Sie sich bitte an Ihren Arbeitgeber.",
        ),
        Lang::En => compose(
            "Your Deutschlandticket Job is approved",
            &greeting(lang, Some(first_name)),
            &[
                &format!(
                    "{company} has approved your application. Your Deutschlandticket Job is valid from {month}; its contract number is {contract_number}."
                ),
                "You find the ticket in your subscriptions:",
            ],
            link,
            "If you have questions about your ticket, please ask your employer.",
        ),
    }
}

fn rejected(lang: Lang, first_name: &str, company: &str, reason: &str, link: &str) -> Email {
    match lang {
        Lang::De => compose(
            "Ihr Antrag auf ein Deutschlandticket Job wurde abgelehnt",
            &greeting(lang, Some(first_name)),
            &[
                &format!("{company} hat Ihren Antrag auf ein Deutschlandticket Job abgelehnt."),
                &format!("Begründung: {reason}"),
                "Ihre Anträge finden Sie im Firmenportal:",
            ],
            link,
            "Bei Fragen wenden Sie sich bitte an Ihren Arbeitgeber.",
        ),
        Lang::En => compose(
            "Your application for a Deutschlandticket Job was rejected",
            &greeting(lang, Some(first_name)),
            &[
                &format!("{company} has rejected your application for a Deutschlandticket Job."),
                &format!("Reason: {reason}"),
                "You find your applications in the portal:",
            ],
            link,
            "If you have questions, please ask your employer.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_approval_names_the_contract_number_and_the_subscriptions_page() {
        let mail = approved(
            Lang::De,
            "Max",
            "Musterfirma GmbH",
            "JT-00000001",
            "01.2027",
            "https://x/subscriptions",
        );
        assert!(mail.text.starts_with("Hallo Max,"));
        assert!(mail.text.contains("JT-00000001"));
        assert!(mail.text.contains("https://x/subscriptions"));
    }

    #[test]
    fn the_rejection_gives_the_reason() {
        let mail = rejected(
            Lang::De,
            "Max",
            "Musterfirma GmbH",
            "Vertrag endet",
            "https://x/a",
        );
        assert!(mail.text.contains("Begründung: Vertrag endet"));
    }
}
