//! Development without SMTP: besides the log line, every e-mail is written as an `.eml`
//! file to `DATA_DIR/mail`, which any mail program opens, and `firmenportal mail last`
//! reads the newest one to an address back, with its link, so a developer (or the
//! README walk) never copies a token out of a log line. Never used in production,
//! which requires `SMTP_URL`.

use std::path::{Path, PathBuf};

use lettre::Message;

/// The folder the development e-mails are written to.
#[derive(Debug, Clone)]
pub struct MailFiles {
    dir: PathBuf,
}

impl MailFiles {
    pub fn new(dir: PathBuf) -> Self {
        MailFiles { dir }
    }

    /// Writes the message as `{uuid v7}.eml`: the names sort in the order the mails
    /// were written (v7 ids are monotonic within the process).
    pub async fn write(&self, message: &Message) -> std::io::Result<PathBuf> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let path = self
            .dir
            .join(format!("{}.eml", uuid::Uuid::now_v7().simple()));
        // Written under a temporary name and renamed, so a reader never sees half a mail.
        let partial = path.with_extension("eml.partial");
        tokio::fs::write(&partial, message.formatted()).await?;
        tokio::fs::rename(&partial, &path).await?;
        Ok(path)
    }
}

/// A mail read back from the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFile {
    pub path: PathBuf,
    pub subject: String,
    /// The plain-text part, decoded.
    pub text: String,
}

impl MailFile {
    /// The first `http://` or `https://` link of the text.
    pub fn link(&self) -> Option<&str> {
        self.links().next()
    }

    /// The `token` parameter of the first link that has one.
    pub fn token(&self) -> Option<String> {
        self.links().find_map(|link| {
            let (_, query) = link.split_once('?')?;
            form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "token")
                .map(|(_, value)| value.into_owned())
        })
    }

    fn links(&self) -> impl Iterator<Item = &str> {
        self.text
            .split_whitespace()
            .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
            .map(|word| word.trim_end_matches(['.', ',', ')', '>', '"']))
    }
}

/// The newest mail in `dir` whose `To` names `address` (case does not matter).
pub fn newest_to(dir: &Path, address: &str) -> Result<Option<MailFile>, String> {
    let mut names: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("{}: {error}", dir.display())),
    };
    names.sort();
    let wanted = address.trim().to_lowercase();
    for path in names.into_iter().rev() {
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mail = mailparse::parse_mail(&bytes)
            .map_err(|e| format!("{}: not an e-mail: {e}", path.display()))?;
        let to_wanted = mail
            .headers
            .iter()
            .filter(|header| header.get_key_ref().eq_ignore_ascii_case("to"))
            .filter_map(|header| mailparse::addrparse_header(header).ok())
            .any(|list| {
                list.iter().any(|entry| match entry {
                    mailparse::MailAddr::Single(one) => one.addr.to_lowercase() == wanted,
                    mailparse::MailAddr::Group(group) => group
                        .addrs
                        .iter()
                        .any(|one| one.addr.to_lowercase() == wanted),
                })
            });
        if !to_wanted {
            continue;
        }
        let subject = mail
            .headers
            .iter()
            .find(|header| header.get_key_ref().eq_ignore_ascii_case("subject"))
            .map(|header| header.get_value())
            .unwrap_or_default();
        let text = plain_text(&mail)
            .ok_or_else(|| format!("{}: no text part", path.display()))?
            .map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(Some(MailFile {
            path,
            subject,
            text,
        }));
    }
    Ok(None)
}

/// The first `text/plain` part, decoded.
fn plain_text(
    mail: &mailparse::ParsedMail<'_>,
) -> Option<Result<String, mailparse::MailParseError>> {
    if mail.subparts.is_empty() {
        return (mail.ctype.mimetype == "text/plain").then(|| mail.get_body());
    }
    mail.subparts.iter().find_map(plain_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(text: &str) -> MailFile {
        MailFile {
            path: PathBuf::new(),
            subject: String::new(),
            text: text.into(),
        }
    }

    #[test]
    fn the_first_link_and_its_token() {
        let found = mail(
            "Hallo,\n\nbitte bestätigen Sie: https://portal.test/verify-email?token=ab_C-9.\n\
             Oder: https://portal.test/forgot-password\n",
        );
        assert_eq!(
            found.link(),
            Some("https://portal.test/verify-email?token=ab_C-9")
        );
        assert_eq!(found.token().as_deref(), Some("ab_C-9"));
        let without = mail("Registrieren Sie sich: https://portal.test/register");
        assert_eq!(without.link(), Some("https://portal.test/register"));
        assert_eq!(without.token(), None);
        assert_eq!(mail("no link here").link(), None);
    }
}
