//! The account capability's e-mails, composed when the worker sends them: the account is
//! looked up again, a single-use link is created only now, and a mail that is no longer
//! needed (no such account, already verified, a link sent a moment ago) is dropped.

use std::time::Duration;

use crate::accounts::repo::{self, Account, TokenPurpose};
use crate::auth::opaque;
use crate::clock;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mail::templates::{compose, greeting};
use crate::mail::{Email, LinkSettings, Prepared, QueuedMail, outbox};

pub const VERIFICATION: &str = "account.verification";
pub const PASSWORD_RESET: &str = "account.password_reset";
pub const ACCOUNT_EXISTS: &str = "account.exists";
/// The confirmation of a deleted account: sent when the account is gone already.
pub const ACCOUNT_DELETED: &str = "account.deleted";

/// At most one link of a purpose a minute: a second request within it (a double click,
/// two tabs) sends nothing, and the first link stays the valid one.
const LINK_INTERVAL: Duration = Duration::from_secs(60);

pub fn compose_mail(
    conn: &mut DbConnection,
    mail: &QueuedMail,
    links: &LinkSettings,
) -> Result<Prepared, AppError> {
    if mail.template == ACCOUNT_DELETED {
        return Ok(Prepared::Send(account_deleted(mail.language(), links)));
    }
    let Some(account) = repo::find_by_email(conn, &mail.recipient)? else {
        return Ok(Prepared::Drop("no account with this address"));
    };
    let lang = mail.language();
    // A name typed at registration reaches only an address its owner confirmed.
    let name = account
        .email_verified_at
        .is_some()
        .then_some(account.first_name.as_str());
    let email = match mail.template.as_str() {
        VERIFICATION => {
            if account.email_verified_at.is_some() {
                return Ok(Prepared::Drop("the address is already verified"));
            }
            let Some(link) = issue_link(conn, mail, &account, TokenPurpose::VerifyEmail, links)?
            else {
                return Ok(Prepared::Drop("a link was sent less than a minute ago"));
            };
            verification(lang, &link, links.ttl_minutes())
        }
        PASSWORD_RESET => {
            let Some(link) = issue_link(conn, mail, &account, TokenPurpose::ResetPassword, links)?
            else {
                return Ok(Prepared::Drop("a link was sent less than a minute ago"));
            };
            password_reset(lang, name, &link, links.ttl_minutes())
        }
        ACCOUNT_EXISTS => account_exists(lang, name, &links.page("forgot-password")),
        other => {
            return Err(AppError::Internal(format!(
                "unknown account template {other}"
            )));
        }
    };
    Ok(Prepared::Send(email))
}

/// Creates the account's new token of the purpose and its link, unless another link of
/// the purpose went out within the last minute. A retry of this very mail always gets a
/// fresh link: the one of its failed attempt never arrived.
fn issue_link(
    conn: &mut DbConnection,
    mail: &QueuedMail,
    account: &Account,
    purpose: TokenPurpose,
    links: &LinkSettings,
) -> Result<Option<String>, AppError> {
    if mail.link_issued_at.is_none()
        && let Some(created) = repo::email_token_created_at(conn, &account.id, purpose)?
        && clock::now() - created < clock::duration(LINK_INTERVAL)
    {
        return Ok(None);
    }
    let token = opaque::generate();
    repo::issue_email_token(
        conn,
        &account.id,
        purpose,
        &opaque::hash(&token),
        links.token_ttl,
    )?;
    outbox::mark_link_issued(conn, &mail.id)?;
    let page = match purpose {
        TokenPurpose::VerifyEmail => "verify-email",
        TokenPurpose::ResetPassword => "reset-password",
    };
    Ok(Some(links.link(page, &token)))
}

/// The link in a verification e-mail opens the frontend, which POSTs the token; a mail
/// scanner following the link therefore cannot consume it. The address is not verified
/// yet, so the greeting names nobody.
fn verification(lang: Lang, link: &str, ttl_minutes: u64) -> Email {
    match lang {
        Lang::De => compose(
            "Bitte bestätigen Sie Ihre E-Mail-Adresse",
            &greeting(lang, None),
            &[
                "vielen Dank für Ihre Registrierung im Firmenportal (Deutschlandticket Job).",
                "Bitte bestätigen Sie Ihre E-Mail-Adresse mit einem Klick auf diesen Link:",
            ],
            link,
            &format!(
                "Der Link ist {ttl_minutes} Minuten gültig und kann nur einmal verwendet werden. \
                 Falls Sie sich nicht registriert haben, können Sie diese E-Mail ignorieren."
            ),
        ),
        Lang::En => compose(
            "Please verify your e-mail address",
            &greeting(lang, None),
            &[
                "thank you for registering with the Firmenportal (Deutschlandticket Job).",
                "Please verify your e-mail address by clicking this link:",
            ],
            link,
            &format!(
                "The link is valid for {ttl_minutes} minutes and can be used once. \
                 If you did not register, you can ignore this e-mail."
            ),
        ),
    }
}

/// What a deleted account leaves, in plain words: the customer records and tickets stay
/// with the operator under the retention periods of commercial and tax law.
fn account_deleted(lang: Lang, links: &LinkSettings) -> Email {
    match lang {
        Lang::De => compose(
            "Ihr Konto im Firmenportal wurde gelöscht",
            &greeting(lang, None),
            &[
                "Ihr Konto im Firmenportal (Deutschlandticket Job) ist gelöscht. Ihre Anmeldungen \
                 sind beendet, Ihre Abonnements sind nicht mehr mit dem Konto verknüpft, offene \
                 Anträge sind zurückgezogen, und die Angaben in Ihren Anträgen sind gelöscht.",
                "Was bleibt: Ihre Kundendaten und Tickets beim Verkehrsunternehmen. Sie sind \
                 Vertragsdaten und werden so lange aufbewahrt, wie es das Handels- und \
                 Steuerrecht verlangt (bis zu zehn Jahre nach dem Ende des letzten Tickets), \
                 und danach gelöscht. Ihre Tickets gelten weiter, bis sie gekündigt werden. \
                 Protokolleinträge bleiben ohne Bezug zu Ihrer Person.",
                "Ein neues Konto können Sie jederzeit wieder anlegen:",
            ],
            &links.page("register"),
            "Falls Sie Ihr Konto nicht selbst gelöscht haben, wenden Sie sich bitte an den Kundenservice.",
        ),
        Lang::En => compose(
            "Your Firmenportal account has been deleted",
            &greeting(lang, None),
            &[
                "Your Firmenportal (Deutschlandticket Job) account is deleted. Your sessions have \
                 ended, your subscriptions are no longer linked to it, pending orders are \
                 withdrawn, and the data in your orders is erased.",
                "What stays: your customer data and tickets with the transport operator. They \
                 are contract data, kept as long as commercial and tax law require (up to ten \
                 years after your last ticket ended), and erased afterwards. Your tickets stay \
                 valid until they are cancelled. Audit entries stay without reference to you.",
                "You can create a new account at any time:",
            ],
            &links.page("register"),
            "If you did not delete your account yourself, please contact customer service.",
        ),
    }
}

/// Sent instead of a verification when someone registers an address that already has an
/// account, so the answer to the registration reveals nothing.
fn account_exists(lang: Lang, name: Option<&str>, forgot_link: &str) -> Email {
    match lang {
        Lang::De => compose(
            "Sie haben bereits ein Konto",
            &greeting(lang, name),
            &[
                "jemand hat versucht, mit dieser E-Mail-Adresse ein neues Konto im Firmenportal anzulegen.",
                "Sie haben bereits ein Konto. Falls Sie Ihr Passwort vergessen haben, können Sie es hier zurücksetzen:",
            ],
            forgot_link,
            "Falls Sie das nicht waren, können Sie diese E-Mail ignorieren; Ihr Konto bleibt unverändert.",
        ),
        Lang::En => compose(
            "You already have an account",
            &greeting(lang, name),
            &[
                "someone tried to create a new Firmenportal account with this e-mail address.",
                "You already have an account. If you forgot your password, you can reset it here:",
            ],
            forgot_link,
            "If this was not you, you can ignore this e-mail; your account is unchanged.",
        ),
    }
}

fn password_reset(lang: Lang, name: Option<&str>, link: &str, ttl_minutes: u64) -> Email {
    match lang {
        Lang::De => compose(
            "Passwort zurücksetzen",
            &greeting(lang, name),
            &[
                "Sie haben angefordert, Ihr Passwort zurückzusetzen. Wählen Sie hier ein neues Passwort:",
            ],
            link,
            &format!(
                "Der Link ist {ttl_minutes} Minuten gültig und kann nur einmal verwendet werden. \
                 Danach sind Sie auf allen Geräten abgemeldet. Falls Sie das nicht angefordert haben, \
                 können Sie diese E-Mail ignorieren."
            ),
        ),
        Lang::En => compose(
            "Reset your password",
            &greeting(lang, name),
            &["You asked to reset your password. Choose a new password here:"],
            link,
            &format!(
                "The link is valid for {ttl_minutes} minutes and can be used once. Afterwards you \
                 are logged out on all devices. If you did not ask for this, you can ignore this e-mail."
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verification_mail_names_nobody() {
        let mail = verification(Lang::De, "https://x/verify-email?token=a", 30);
        assert!(mail.text.starts_with("Guten Tag,"));
        assert!(mail.text.contains("30 Minuten"));
        assert!(mail.text.contains("https://x/verify-email?token=a"));
    }
}
