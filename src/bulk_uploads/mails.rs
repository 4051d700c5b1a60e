//! The e-mail to each employee a staff list ordered a ticket for, in German: the ticket
//! is ordered, with its contract number and the link to register and link it.

use serde_json::json;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mail::templates::{compose, greeting};
use crate::mail::{Email, LinkSettings, Prepared, QueuedMail};

pub const ORDERED: &str = "bulk_upload.ordered";

/// The outbox parameters: which ticket was ordered.
pub fn params(subscription_id: &str) -> serde_json::Value {
    json!({ "subscription_id": subscription_id })
}

pub fn compose_mail(
    conn: &mut DbConnection,
    mail: &QueuedMail,
    links: &LinkSettings,
) -> Result<Prepared, AppError> {
    if mail.template != ORDERED {
        return Err(AppError::Internal(format!(
            "unknown bulk upload template {}",
            mail.template
        )));
    }
    let params: serde_json::Value = serde_json::from_str(&mail.params)
        .map_err(|e| AppError::Internal(format!("bulk upload mail parameters: {e}")))?;
    let Some(id) = params["subscription_id"].as_str() else {
        return Err(AppError::Internal("bulk upload mail without ticket".into()));
    };
    let Some(ticket) = crate::subscriptions::repo::find(conn, id)? else {
        return Ok(Prepared::Drop("the ticket no longer exists"));
    };
    let Some(contract_id) = ticket.data.company_contract_id.as_deref() else {
        return Ok(Prepared::Drop("the ticket is no longer under a contract"));
    };
    let contract = crate::applications::repo::contract_of(conn, contract_id)?;
    let month = ticket.data.valid_from.format("%m.%Y").to_string();
    Ok(Prepared::Send(ordered(
        mail.language(),
        &contract.company_name,
        &ticket.data.contract_number,
        &month,
        &links.page("register"),
    )))
}

/// The greeting names nobody: the address came from a staff list, not from its owner.
fn ordered(lang: Lang, company: &str, contract_number: &str, month: &str, link: &str) -> Email {
    match lang {
        Lang::De => compose(
            "Ihr Deutschlandticket Job ist bestellt",
            &greeting(lang, None),
            &[
                &format!(
                    "{company} hat für Sie ein Deutschlandticket Job ab {month} bestellt. Die Vertragsnummer ist {contract_number}."
                ),
                "Registrieren Sie sich im Portal und verknüpfen Sie das Ticket mit dieser Vertragsnummer, Ihrem Nachnamen, Geburtsdatum und Ihrer Postleitzahl:",
            ],
            link,
            "Bei Fragen zu Ihrem Ticket wenden Sie sich bitte an Ihren Arbeitgeber.",
        ),
        Lang::En => compose(
            "Your Deutschlandticket Job is ordered",
            &greeting(lang, None),
            &[
                &format!(
                    "{company} has ordered a Deutschlandticket Job for you from {month}. Its contract number is {contract_number}."
                ),
                "Register in the portal and link the ticket with this contract number, your last name, birth date and postal code:",
            ],
            link,
            "If you have questions about your ticket, please ask your employer.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_mail_names_the_contract_number_and_the_register_link() {
        let mail = ordered(
            Lang::De,
            "Musterfirma GmbH",
            "JT-00000007",
            "01.2027",
            "https://x/register",
        );
        assert!(mail.text.contains("JT-00000007"));
        assert!(mail.text.contains("https://x/register"));
    }
}
