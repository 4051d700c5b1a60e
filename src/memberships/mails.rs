//! The invitation e-mail, composed when the worker sends it: only then is the link's
//! single-use token created (its hash replaces any earlier one on the membership), so a
//! link is valid for its full time however long delivery took, and an invitation that
//! was accepted or withdrawn in the meantime sends nothing.

use serde_json::json;

use crate::auth::opaque;
use crate::clock;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mail::templates::{compose, greeting};
use crate::mail::{Email, LinkSettings, Prepared, QueuedMail, outbox};
use crate::memberships::repo;

pub const INVITATION: &str = "membership.invitation";

/// The outbox parameters of an invitation: which membership it is for.
pub fn invitation_params(membership_id: &str) -> serde_json::Value {
    json!({ "membership_id": membership_id })
}

pub fn compose_mail(
    conn: &mut DbConnection,
    mail: &QueuedMail,
    links: &LinkSettings,
) -> Result<Prepared, AppError> {
    if mail.template != INVITATION {
        return Err(AppError::Internal(format!(
            "unknown membership template {}",
            mail.template
        )));
    }
    let params: serde_json::Value = serde_json::from_str(&mail.params)
        .map_err(|e| AppError::Internal(format!("invitation parameters: {e}")))?;
    let Some(id) = params["membership_id"].as_str() else {
        return Err(AppError::Internal("invitation without membership".into()));
    };
    let Some(membership) = repo::find_by_id(conn, id)? else {
        return Ok(Prepared::Drop("the invitation was withdrawn"));
    };
    if membership.accepted_at.is_some() {
        return Ok(Prepared::Drop("the invitation was accepted already"));
    }
    if membership.email != mail.recipient {
        return Ok(Prepared::Drop("the invitation is for another address"));
    }
    let token = opaque::generate();
    repo::set_invitation_token(
        conn,
        &membership.id,
        &opaque::hash(&token),
        clock::now() + clock::duration(links.invitation_ttl),
    )?;
    outbox::mark_link_issued(conn, &mail.id)?;
    let company = repo::company_name(conn, &membership.company_id)?;
    let days = links.invitation_ttl.as_secs().div_ceil(24 * 3600);
    Ok(Prepared::Send(invitation(
        mail.language(),
        &membership.first_name,
        &company,
        &links.link("accept-invitation", &token),
        days,
    )))
}

/// The invitation names the invited person: the inviter typed the name for this very
/// address, unlike a name typed at a self-registration.
fn invitation(lang: Lang, first_name: &str, company: &str, link: &str, days: u64) -> Email {
    match lang {
        Lang::De => compose(
            &format!("Einladung zum Firmenportal von {company}"),
            &greeting(lang, Some(first_name)),
            &[
                &format!(
                    "Sie wurden eingeladen, das Firmenportal (Deutschlandticket Job) für {company} zu nutzen."
                ),
                "Nehmen Sie die Einladung mit diesem Link an. Haben Sie noch kein Konto, legen Sie dabei Ihr Passwort fest; sonst bestätigen Sie mit Ihrem Passwort:",
            ],
            link,
            &format!(
                "Der Link ist {days} Tage gültig und kann nur einmal verwendet werden. \
                 Falls Sie keine Einladung erwartet haben, können Sie diese E-Mail ignorieren."
            ),
        ),
        Lang::En => compose(
            &format!("Invitation to the company portal of {company}"),
            &greeting(lang, Some(first_name)),
            &[
                &format!(
                    "You have been invited to use the Firmenportal (Deutschlandticket Job) for {company}."
                ),
                "Accept the invitation with this link. Without an account you choose your password there; with one you confirm with your password:",
            ],
            link,
            &format!(
                "The link is valid for {days} days and can be used once. \
                 If you did not expect an invitation, you can ignore this e-mail."
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_names_the_company_the_link_and_its_validity() {
        let mail = invitation(
            Lang::De,
            "Erika",
            "Musterfirma GmbH",
            "https://x/accept-invitation?token=a",
            7,
        );
        assert!(mail.subject.contains("Musterfirma GmbH"));
        assert!(mail.text.starts_with("Hallo Erika,"));
        assert!(mail.text.contains("https://x/accept-invitation?token=a"));
        assert!(mail.text.contains("7 Tage"));
    }
}
