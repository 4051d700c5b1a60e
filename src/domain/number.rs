//! Numbers of records (customer, contract, subscription and chip-card numbers).

use crate::domain::fold::fold_number;
use crate::error::{FieldError, FieldErrorCode};

/// A record number in its canonical spelling: without spaces, upper case, 1 to 40
/// letters, digits and `-./` as sent (spaces included). Stored so, a unique index refuses one number typed twice
/// in different spellings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordNumber(String);

impl RecordNumber {
    pub const MAX_CHARS: usize = 40;
    /// The schema's pattern: what a number may hold as sent (spaces are dropped).
    pub const PATTERN: &'static str = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$";

    /// Exactly what the schema's pattern and length allow is accepted: ASCII letters,
    /// digits, `-./` and spaces, at most 40 characters as sent.
    pub fn parse(raw: &str, pointer: &str) -> Result<Self, FieldError> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                pointer,
                FieldErrorCode::TooLong {
                    max: Self::MAX_CHARS,
                },
            ));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'/' | b' '))
        {
            return Err(FieldError::new(pointer, FieldErrorCode::InvalidCharacters));
        }
        let number = fold_number(raw);
        if !number.bytes().any(|b| b.is_ascii_alphanumeric()) {
            return Err(FieldError::new(pointer, FieldErrorCode::Required));
        }
        Ok(RecordNumber(number))
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
    fn numbers_are_canonical() {
        assert_eq!(
            RecordNumber::parse(" 431 177 ", "/n").unwrap().as_str(),
            "431177"
        );
        assert_eq!(
            RecordNumber::parse("k-1001", "/n").unwrap().as_str(),
            "K-1001"
        );
        assert_eq!(
            RecordNumber::parse("  ", "/n").unwrap_err().code,
            FieldErrorCode::Required
        );
        assert_eq!(
            RecordNumber::parse("43<1", "/n").unwrap_err().code,
            FieldErrorCode::InvalidCharacters
        );
    }
}
