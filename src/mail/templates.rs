//! The layout every e-mail shares, as plain text and HTML. The texts belong to the
//! capability that sends them (e.g. `accounts::mails`).

use crate::i18n::Lang;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// "Hallo Max," to a verified address; a greeting without a name otherwise, since a name
/// typed at registration must not reach an address whose owner never confirmed it.
pub fn greeting(lang: Lang, first_name: Option<&str>) -> String {
    match (lang, first_name) {
        (Lang::De, Some(name)) => format!("Hallo {name},"),
        (Lang::De, None) => "Guten Tag,".into(),
        (Lang::En, Some(name)) => format!("Hello {name},"),
        (Lang::En, None) => "Hello,".into(),
    }
}

/// An e-mail of a greeting, paragraphs, one link and a footer.
pub fn compose(
    subject: &str,
    greeting: &str,
    paragraphs: &[&str],
    link: &str,
    footer: &str,
) -> Email {
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
    fn text_is_escaped_in_html() {
        let mail = compose(
            "Betreff",
            &greeting(Lang::De, Some("<b>Max</b>")),
            &["Absatz"],
            "https://x/verify-email?token=a&b",
            "Fuß",
        );
        assert!(mail.html.contains("&lt;b&gt;Max&lt;/b&gt;"));
        assert!(mail.html.contains("token=a&amp;b"));
        assert!(mail.text.contains("https://x/verify-email?token=a&b"));
        assert_eq!(greeting(Lang::En, None), "Hello,");
    }
}
