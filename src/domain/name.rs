//! Names of people, safe to print in an e-mail or a PDF.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use crate::error::{FieldError, FieldErrorCode};

/// What a name may hold: letters of the Latin, Greek and Cyrillic scripts (the letters
/// of DIN 91379, the German standard for names, and what the embedded PDF font prints),
/// combining marks, spaces and `'-.`, with at least one letter. No digits, line breaks,
/// control or format (bidi) characters, so nobody can smuggle a paragraph or a link into
/// an e-mail that greets by name. The OpenAPI document states this very pattern; it is
/// spelled with `\uXXXX` ranges rather than `\p{L}`, which JSON Schema validators of
/// the ECMA-262 and Python dialects read alike.
pub const NAME_PATTERN: &str = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$";

static NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(NAME_PATTERN).expect("valid pattern"));

/// A first or last name: 1 to 100 characters as sent, stored trimmed and in NFC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str, pointer: &str) -> Result<Self, FieldError> {
        if raw.trim().is_empty() {
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
        if !NAME.is_match(raw) {
            return Err(FieldError::new(pointer, FieldErrorCode::InvalidCharacters));
        }
        Ok(PersonName(raw.trim().nfc().collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(raw: &str) -> FieldErrorCode {
        PersonName::parse(raw, "/first_name").unwrap_err().code
    }

    #[test]
    fn names_are_trimmed_normalised_and_bounded() {
        assert_eq!(
            PersonName::parse("  Max ", "/first_name").unwrap().as_str(),
            "Max"
        );
        assert_eq!(
            PersonName::parse("Mu\u{308}ller", "/last_name")
                .unwrap()
                .as_str(),
            "Müller"
        );
        for ok in ["Zoë-Marie", "O'Neil", "Dr. Ägidius", "Σωκράτης", "Đặng Thị"] {
            assert!(PersonName::parse(ok, "/first_name").is_ok(), "{ok}");
        }
        assert_eq!(code("   "), FieldErrorCode::Required);
        assert_eq!(code(&"a".repeat(101)), FieldErrorCode::TooLong { max: 100 });
        assert!(PersonName::parse(&"ö".repeat(100), "/first_name").is_ok());
    }

    #[test]
    fn line_breaks_links_digits_control_and_bidi_characters_are_refused() {
        for raw in [
            "Max\nKlicken Sie hier",
            "Max\r",
            "Max\tMuster",
            "Max https://evil.example",
            "Max2",
            "Max\u{202E}",
            "Max\u{200B}",
            "Max\u{0}",
            "- . '",
            "王",
        ] {
            assert_eq!(code(raw), FieldErrorCode::InvalidCharacters, "{raw:?}");
        }
    }
}
