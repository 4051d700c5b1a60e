//! Account domain types, built only from validated input.

use validator::ValidateEmail;

use crate::error::{FieldError, FieldErrorCode};

pub const MAX_NAME_CHARS: usize = 100;
const MAX_EMAIL_CHARS: usize = 254;

/// A syntactically valid e-mail address, trimmed and lower-cased (addresses are unique
/// case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str, pointer: &str) -> Result<Self, FieldError> {
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() {
            return Err(FieldError::new(pointer, FieldErrorCode::Required));
        }
        if normalised.chars().count() > MAX_EMAIL_CHARS {
            return Err(FieldError::new(
                pointer,
                FieldErrorCode::TooLong {
                    max: MAX_EMAIL_CHARS,
                },
            ));
        }
        if !normalised.validate_email() || !normalised.contains('.') {
            return Err(FieldError::new(pointer, FieldErrorCode::InvalidEmail));
        }
        Ok(EmailAddress(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A first or last name: 1 to 100 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str, pointer: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err(FieldError::new(pointer, FieldErrorCode::Required));
        }
        if chars > MAX_NAME_CHARS {
            return Err(FieldError::new(
                pointer,
                FieldErrorCode::TooLong {
                    max: MAX_NAME_CHARS,
                },
            ));
        }
        Ok(PersonName(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Collects every field error of a request, so the client sees them all at once.
#[derive(Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps the value or remembers the error.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn into_result(self) -> Result<(), crate::error::AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::error::AppError::Validation(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised() {
        let email = EmailAddress::parse("  Max.Muster@Example.DE ", "/email").unwrap();
        assert_eq!(email.as_str(), "max.muster@example.de");
        assert!(EmailAddress::parse("no-at-sign", "/email").is_err());
        assert!(EmailAddress::parse("", "/email").is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("  Max ", "/first_name").unwrap().as_str(),
            "Max"
        );
        assert!(PersonName::parse("   ", "/first_name").is_err());
        assert!(PersonName::parse(&"a".repeat(101), "/first_name").is_err());
        assert!(PersonName::parse(&"ö".repeat(100), "/first_name").is_ok());
    }
}
