//! Free text of records (street, city, company name, product): one line, trimmed.

use unicode_normalization::UnicodeNormalization;

use crate::error::{FieldError, FieldErrorCode};

/// One line of text, 1 to `max` characters after trimming, stored in NFC. Control and
/// format characters (line breaks, bidi overrides) are refused: the text ends up in
/// e-mails, PDFs and CSV exports.
pub fn parse_line(raw: &str, max: usize, pointer: &str) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldError::new(pointer, FieldErrorCode::Required));
    }
    if text.chars().count() > max {
        return Err(FieldError::new(pointer, FieldErrorCode::TooLong { max }));
    }
    if text.chars().any(|c| c.is_control() || is_format(c)) {
        return Err(FieldError::new(pointer, FieldErrorCode::InvalidCharacters));
    }
    Ok(text.nfc().collect())
}

/// Unicode's format characters that matter here: bidi controls, zero-width characters
/// and the byte-order mark.
fn is_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

/// The schema's pattern of such a line: no control characters, something besides spaces.
pub const LINE_PATTERN: &str = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_trimmed_bounded_and_single() {
        assert_eq!(
            parse_line("  Artilleriestr. 39 ", 100, "/s").unwrap(),
            "Artilleriestr. 39"
        );
        assert_eq!(
            parse_line(" ", 100, "/s").unwrap_err().code,
            FieldErrorCode::Required
        );
        assert_eq!(
            parse_line("a\nb", 100, "/s").unwrap_err().code,
            FieldErrorCode::InvalidCharacters
        );
        assert_eq!(
            parse_line("a\u{202E}b", 100, "/s").unwrap_err().code,
            FieldErrorCode::InvalidCharacters
        );
        assert!(matches!(
            parse_line("abc", 2, "/s").unwrap_err().code,
            FieldErrorCode::TooLong { max: 2 }
        ));
    }
}
