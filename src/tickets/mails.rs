//! The confirmation of a cancellation, in German: to the linked employee, or, for a
//! ticket nobody has linked, to the company's admins.

use serde_json::json;

use crate::db::DbConnection;
use crate::domain::date::german;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mail::templates::{compose, greeting};
use crate::mail::{Email, LinkSettings, Prepared, QueuedMail};
use crate::subscriptions;

pub const CANCELLED: &str = "ticket.cancelled";

/// The outbox parameters: which ticket, and whether the mail goes to its holder.
pub fn params(subscription_id: &str, to_holder: bool) -> serde_json::Value {
    json!({ "subscription_id": subscription_id, "to_holder": to_holder })
}

pub fn compose_mail(
    conn: &mut DbConnection,
    mail: &QueuedMail,
    links: &LinkSettings,
) -> Result<Prepared, AppError> {
    if mail.template != CANCELLED {
        return Err(AppError::Internal(format!(
            "unknown ticket template {}",
            mail.template
        )));
    }
    let params: serde_json::Value = serde_json::from_str(&mail.params)
        .map_err(|e| AppError::Internal(format!("ticket mail parameters: {e}")))?;
    let Some(id) = params["subscription_id"].as_str() else {
        return Err(AppError::Internal("ticket mail without ticket".into()));
    };
    let Some(ticket) = subscriptions::repo::find(conn, id)? else {
        return Ok(Prepared::Drop("the ticket no longer exists"));
    };
    let Some(holder) = crate::customers::repo::find(conn, &ticket.data.customer_id)? else {
        return Ok(Prepared::Drop("the holder no longer exists"));
    };
    let holder_name = format!("{} {}", holder.data.first_name, holder.data.last_name);
    let last_day = ticket.data.valid_to.map(german).unwrap_or_default();
    let to_holder = params["to_holder"].as_bool().unwrap_or(false);
    let (first_name, page) = match to_holder {
        true => (Some(holder.data.first_name.as_str()), "subscriptions"),
        false => (None, "contracts"),
    };
    Ok(Prepared::Send(cancelled(
        mail.language(),
        first_name,
        &holder_name,
        &ticket.data.contract_number,
        &last_day,
        &links.page(page),
    )))
}

fn cancelled(
    lang: Lang,
    first_name: Option<&str>,
    holder: &str,
    contract_number: &str,
    last_day: &str,
    link: &str,
) -> Email {
    match lang {
        Lang::De => compose(
            &format!("Kündigung Ihres Deutschlandticket Job {contract_number}"),
            &greeting(lang, first_name),
            &[
                &format!(
                    "das Deutschlandticket Job {contract_number} von {holder} ist gekündigt. Es gilt bis einschließlich {last_day}."
                ),
                "Den Stand finden Sie im Portal:",
            ],
            link,
            "Haben Sie die Kündigung nicht veranlasst, wenden Sie sich bitte an Ihren Arbeitgeber.",
        ),
        Lang::En => compose(
            &format!("Cancellation of Deutschlandticket Job {contract_number}"),
            &greeting(lang, first_name),
            &[
                &format!(
                    "the Deutschlandticket Job {contract_number} of {holder} is cancelled. It is valid up to and including {last_day}."
                ),
                "You find its state in the portal:",
            ],
            link,
            "If you did not ask for the cancellation, please contact your employer.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_confirmation_names_the_ticket_and_its_last_day() {
        let mail = cancelled(
            Lang::De,
            Some("Max"),
            "Max Musterjobber",
            "JT-00000001",
            "31.03.2027",
            "https://x/subscriptions",
        );
        assert!(mail.subject.contains("JT-00000001"));
        assert!(mail.text.contains("bis einschließlich 31.03.2027"));
    }
}
