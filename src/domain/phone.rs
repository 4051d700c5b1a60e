//! Telephone numbers, stored in E.164 (`+495611234567`).

use crate::error::{FieldError, FieldErrorCode};

/// A telephone number given in E.164 (`+49 561 1234567`) or in German national format
/// (`0561 1234567`, `0561/123 45-67`, `(0561) 1234567`), stored as E.164. Only the
/// format is checked (a country code, then 6 to 14 further digits), not whether the
/// number is assigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// The schema's pattern: what a number may hold as sent.
    pub const PATTERN: &'static str = r"^\+?[0-9 ()/.-]{6,30}$";

    pub fn parse(raw: &str, pointer: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new(pointer, FieldErrorCode::InvalidPhone);
        let text = raw.trim();
        if text.is_empty() {
            return Err(FieldError::new(pointer, FieldErrorCode::Required));
        }
        if text.chars().count() > 30 {
            return Err(invalid());
        }
        let (international, rest) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => match text.strip_prefix("00") {
                Some(rest) => (true, rest),
                None => (false, text),
            },
        };
        if !rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '/' | '-' | '.'))
        {
            return Err(invalid());
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        let e164 = if international {
            // E.164: at most 15 digits, no leading zero in the country code.
            if digits.starts_with('0') || !(8..=15).contains(&digits.len()) {
                return Err(invalid());
            }
            format!("+{digits}")
        } else {
            // German national format: trunk prefix 0, then area code and number.
            let Some(national) = digits.strip_prefix('0') else {
                return Err(invalid());
            };
            if national.starts_with('0') || !(6..=13).contains(&national.len()) {
                return Err(invalid());
            }
            format!("+49{national}")
        };
        Ok(PhoneNumber(e164))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_and_german_national_numbers_become_e164() {
        for (raw, expected) in [
            ("+49 561 1234567", "+495611234567"),
            ("0561 1234567", "+495611234567"),
            ("0561/123 45-67", "+495611234567"),
            ("(0561) 1234567", "+495611234567"),
            ("0049 561 1234567", "+495611234567"),
            ("+43 1 2345678", "+4312345678"),
            ("0171 2345678", "+491712345678"),
        ] {
            assert_eq!(
                PhoneNumber::parse(raw, "/phone").unwrap().as_str(),
                expected,
                "{raw}"
            );
        }
        for wrong in [
            "12345",
            "561 1234567",
            "+0 123 456789",
            "0561 12a4567",
            "00",
            "+49",
        ] {
            assert_eq!(
                PhoneNumber::parse(wrong, "/phone").unwrap_err().code,
                FieldErrorCode::InvalidPhone,
                "{wrong}"
            );
        }
    }
}
