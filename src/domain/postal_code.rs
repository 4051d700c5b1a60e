//! Postal codes: five digits in Germany, a plausible code elsewhere.

use crate::error::{FieldError, FieldErrorCode};

/// A postal code, stored as entered without surrounding spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalCode(String);

impl PostalCode {
    /// `country` is an ISO 3166-1 alpha-2 code; `DE` takes exactly five digits, any
    /// other country 2 to 10 letters, digits, spaces or dashes.
    pub fn parse(raw: &str, country: &str, pointer: &str) -> Result<Self, FieldError> {
        let code = raw.trim();
        if code.is_empty() {
            return Err(FieldError::new(pointer, FieldErrorCode::Required));
        }
        let valid = if country.eq_ignore_ascii_case("DE") {
            code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit())
        } else {
            (2..=10).contains(&code.len())
                && code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
        };
        if !valid {
            return Err(FieldError::new(pointer, FieldErrorCode::InvalidPostalCode));
        }
        Ok(PostalCode(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_codes_have_five_digits() {
        assert_eq!(
            PostalCode::parse(" 34117 ", "DE", "/postal_code")
                .unwrap()
                .as_str(),
            "34117"
        );
        for wrong in ["3411", "341170", "34l17", "34 117"] {
            assert_eq!(
                PostalCode::parse(wrong, "DE", "/postal_code")
                    .unwrap_err()
                    .code,
                FieldErrorCode::InvalidPostalCode,
                "{wrong}"
            );
        }
        assert!(PostalCode::parse("1010", "AT", "/postal_code").is_ok());
        assert!(PostalCode::parse("SW1A 1AA", "GB", "/postal_code").is_ok());
    }
}
