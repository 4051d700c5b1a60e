//! The texts of every e-mail the service sends, as plain text and HTML, in German or
//! English.

use crate::i18n::Lang;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The link in a verification e-mail opens the frontend, which POSTs the token; a mail
/// scanner following the link therefore cannot consume it.
pub fn verification(lang: Lang, first_name: &str, link: &str, ttl_minutes: u64) -> Email {
    match lang {
        Lang::De => compose(
            "Bitte bestätigen Sie Ihre E-Mail-Adresse",
            &format!("Hallo {first_name},"),
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
            &format!("Hello {first_name},"),
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

/// Sent instead of a verification when someone registers an address that already has an
/// account, so the answer to the registration reveals nothing.
pub fn account_exists(lang: Lang, first_name: &str, reset_link: &str) -> Email {
    match lang {
        Lang::De => compose(
            "Sie haben bereits ein Konto",
            &format!("Hallo {first_name},"),
            &[
                "jemand hat versucht, mit dieser E-Mail-Adresse ein neues Konto im Firmenportal anzulegen.",
                "Sie haben bereits ein Konto. Falls Sie Ihr Passwort vergessen haben, können Sie es hier zurücksetzen:",
            ],
            reset_link,
            "Falls Sie das nicht waren, können Sie diese E-Mail ignorieren; Ihr Konto bleibt unverändert.",
        ),
        Lang::En => compose(
            "You already have an account",
            &format!("Hello {first_name},"),
            &[
                "someone tried to create a new Firmenportal account with this e-mail address.",
                "You already have an account. If you forgot your password, you can reset it here:",
            ],
            reset_link,
            "If this was not you, you can ignore this e-mail; your account is unchanged.",
        ),
    }
}

pub fn password_reset(lang: Lang, first_name: &str, link: &str, ttl_minutes: u64) -> Email {
    match lang {
        Lang::De => compose(
            "Passwort zurücksetzen",
            &format!("Hallo {first_name},"),
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
            &format!("Hello {first_name},"),
            &["You asked to reset your password. Choose a new password here:"],
            link,
            &format!(
                "The link is valid for {ttl_minutes} minutes and can be used once. Afterwards you \
                 are logged out on all devices. If you did not ask for this, you can ignore this e-mail."
            ),
        ),
    }
}

fn compose(subject: &str, greeting: &str, paragraphs: &[&str], link: &str, footer: &str) -> Email {
    let mut text = format!("{greeting}\n\n");
    for paragraph in paragraphs {
        text.push_str(paragraph);
        text.push_str("\n\n");
    }
    text.push_str(link);
    text.push_str("\n\n");
    text.push_str(footer);
    text.push_str("\n\n-- \nFirmenportal Deutschlandticket Job\n");

    let mut html = format!(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\"><p>{}</p>",
        escape_html(greeting)
    );
    for paragraph in paragraphs {
        html.push_str(&format!("<p>{}</p>", escape_html(paragraph)));
    }
    let link = escape_html(link);
    html.push_str(&format!("<p><a href=\"{link}\">{link}</a></p>"));
    html.push_str(&format!(
        "<p>{}</p><p>Firmenportal Deutschlandticket Job</p></body></html>",
        escape_html(footer)
    ));
    Email {
        subject: subject.to_string(),
        text,
        html,
    }
}

fn escape_html(raw: &str) -> String {
    let mut escaped = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_in_html() {
        let mail = verification(Lang::De, "<b>Max</b>", "https://x/verify-email?token=a", 30);
        assert!(mail.html.contains("&lt;b&gt;Max&lt;/b&gt;"));
        assert!(mail.text.contains("https://x/verify-email?token=a"));
        assert!(mail.text.contains("30 Minuten"));
    }
}
