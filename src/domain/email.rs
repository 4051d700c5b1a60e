//! E-mail addresses in one canonical spelling, so one mailbox is one account and one
//! rate-limit key.

use validator::ValidateEmail;

use crate::error::{FieldError, FieldErrorCode};

/// An e-mail address in canonical form: the local part lower-cased (ASCII, as HTML forms
/// accept it), the domain as ASCII after IDNA processing, so that Unicode, full-width,
/// NFD and punycode spellings of one domain are one address. Address literals
/// (`user@[10.0.0.5]`) are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_CHARS: usize = 254;

    pub fn parse(raw: &str, pointer: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new(pointer, FieldErrorCode::InvalidEmail);
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(pointer, FieldErrorCode::Required));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                pointer,
                FieldErrorCode::TooLong {
                    max: Self::MAX_CHARS,
                },
            ));
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or_else(invalid)?;
        if domain.starts_with('[') {
            return Err(invalid());
        }
        // UTS #46: maps case, width and compatibility forms, normalises to NFC and
        // encodes non-ASCII labels as punycode.
        let domain = idna::domain_to_ascii(domain).map_err(|_| invalid())?;
        let canonical = format!("{}@{domain}", local.to_lowercase());
        if !domain.contains('.')
            || canonical.chars().count() > Self::MAX_CHARS
            || !canonical.as_str().validate_email()
        {
            return Err(invalid());
        }
        Ok(EmailAddress(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(raw: &str) -> String {
        EmailAddress::parse(raw, "/email").unwrap().0
    }

    #[test]
    fn case_and_surrounding_space_do_not_matter() {
        assert_eq!(
            canonical("  Max.Muster@Example.DE "),
            "max.muster@example.de"
        );
    }

    #[test]
    fn unicode_full_width_nfd_and_punycode_domains_are_one_address() {
        let expected = "max@xn--mller-kva.de";
        for spelling in [
            "max@müller.de",
            "max@mu\u{308}ller.de",
            "max@MÜLLER.DE",
            "max@xn--mller-kva.de",
            "max@XN--MLLER-KVA.de",
            "max@ｍüｌｌｅｒ．ｄｅ",
        ] {
            assert_eq!(canonical(spelling), expected, "{spelling}");
        }
    }

    #[test]
    fn literals_and_malformed_addresses_are_refused() {
        for raw in [
            "u@[10.0.0.5]",
            "u@[IPv6:::1]",
            "no-at-sign",
            "a@localhost",
            "a b@example.de",
            "ｍａｘ@example.de",
            "a@exa mple.de",
        ] {
            let error = EmailAddress::parse(raw, "/email").unwrap_err();
            assert_eq!(error.code, FieldErrorCode::InvalidEmail, "{raw}");
        }
        assert_eq!(
            EmailAddress::parse(" ", "/email").unwrap_err().code,
            FieldErrorCode::Required
        );
        let long = format!("{}@example.de", "a".repeat(250));
        assert!(matches!(
            EmailAddress::parse(&long, "/email").unwrap_err().code,
            FieldErrorCode::TooLong { .. }
        ));
    }
}
