//! The e-mail to a company's admins when one of its webhook endpoints was disabled for
//! failing.

use serde_json::json;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mail::templates::{compose, greeting};
use crate::mail::{Email, LinkSettings, Prepared, QueuedMail};
use crate::schema::webhooks;

pub const DISABLED: &str = "webhook.disabled";

pub fn params(webhook_id: &str) -> serde_json::Value {
    json!({ "webhook_id": webhook_id })
}

pub fn compose_mail(
    conn: &mut DbConnection,
    mail: &QueuedMail,
    links: &LinkSettings,
) -> Result<Prepared, AppError> {
    use diesel::prelude::*;
    if mail.template != DISABLED {
        return Err(AppError::Internal(format!(
            "unknown webhook template {}",
            mail.template
        )));
    }
    let params: serde_json::Value = serde_json::from_str(&mail.params)
        .map_err(|e| AppError::Internal(format!("webhook mail parameters: {e}")))?;
    let Some(id) = params["webhook_id"].as_str() else {
        return Err(AppError::Internal("webhook mail without webhook".into()));
    };
    let url: Option<String> = webhooks::table
        .find(id)
        .select(webhooks::url)
        .first(conn)
        .optional()?;
    let Some(url) = url else {
        return Ok(Prepared::Drop("the webhook no longer exists"));
    };
    Ok(Prepared::Send(disabled(
        mail.language(),
        &url,
        &links.page("company"),
    )))
}

fn disabled(lang: Lang, url: &str, link: &str) -> Email {
    match lang {
        Lang::De => compose(
            "Webhook deaktiviert",
            &greeting(lang, None),
            &[
                &format!(
                    "an die Adresse {url} konnte seit fünf Tagen kein Ereignis zugestellt werden. Wir haben den Webhook deshalb deaktiviert; es werden keine Ereignisse mehr gesendet."
                ),
                "Prüfen Sie den Empfänger und schalten Sie den Webhook im Portal wieder ein:",
            ],
            link,
            "Die Zustellversuche sehen Sie in der Liste der Zustellungen des Webhooks.",
        ),
        Lang::En => compose(
            "Webhook disabled",
            &greeting(lang, None),
            &[
                &format!(
                    "no event could be delivered to {url} for five days. We have therefore disabled the webhook; no more events are sent."
                ),
                "Check the receiver and turn the webhook on again in the portal:",
            ],
            link,
            "The attempts are listed among the webhook's deliveries.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_names_the_address_that_failed() {
        let mail = disabled(Lang::De, "https://hr.example.com/hook", "https://x/company");
        assert!(mail.text.contains("https://hr.example.com/hook"));
        assert_eq!(mail.subject, "Webhook deaktiviert");
    }
}
