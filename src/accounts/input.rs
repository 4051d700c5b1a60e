//! Request fields turned into values, shared by the account flows: every field error is
//! collected with its pointer, so the client sees them all at once.

use secrecy::{ExposeSecret, SecretString};

use crate::auth::opaque;
use crate::auth::password::{check_length, check_policy};
use crate::error::{FieldError, FieldErrorCode, FieldErrors};

/// A required text field, parsed; a missing one is `required` at its pointer.
pub fn parse_required<T>(
    value: Option<String>,
    pointer: &str,
    parse: fn(&str, &str) -> Result<T, FieldError>,
) -> Result<T, FieldError> {
    match value {
        None => Err(FieldError::new(pointer, FieldErrorCode::Required)),
        Some(raw) => parse(&raw, pointer),
    }
}

/// A single-use token from a request: present and of a plausible length. Surrounding
/// ASCII whitespace (from copying) is dropped — exactly the characters the schema's
/// pattern `[^\t\n\f\r ]` does not count.
pub fn required_token(value: Option<SecretString>, pointer: &str) -> Result<String, FieldError> {
    let token = value
        .as_ref()
        .map(|t| {
            t.expose_secret()
                .trim_matches(|c: char| c.is_ascii_whitespace())
        })
        .unwrap_or_default();
    if token.is_empty() {
        return Err(FieldError::new(pointer, FieldErrorCode::Required));
    }
    if token.chars().count() > opaque::MAX_PRESENTED_CHARS {
        return Err(FieldError::new(
            pointer,
            FieldErrorCode::TooLong {
                max: opaque::MAX_PRESENTED_CHARS,
            },
        ));
    }
    Ok(token.to_string())
}

/// A new password and its confirmation: the policy, then equality. Errors go to
/// `errors`; the password comes back when both hold.
pub fn new_password(
    errors: &mut FieldErrors,
    password: Option<SecretString>,
    confirmation: Option<SecretString>,
) -> Option<SecretString> {
    let password = errors.require(password, "/password")?;
    errors.take(check_policy(password.expose_secret(), "/password"))?;
    match confirmation {
        None => {
            errors.push(FieldError::new(
                "/password_confirmation",
                FieldErrorCode::Required,
            ));
            None
        }
        Some(confirmation) if confirmation.expose_secret() != password.expose_secret() => {
            errors.push(FieldError::new(
                "/password_confirmation",
                FieldErrorCode::ConfirmationMismatch,
            ));
            None
        }
        Some(_) => Some(password),
    }
}

/// A password given for checking: present and at most 128 characters.
pub fn given_password(
    value: Option<SecretString>,
    pointer: &str,
) -> Result<SecretString, FieldError> {
    let password = value.ok_or_else(|| FieldError::new(pointer, FieldErrorCode::Required))?;
    check_length(password.expose_secret(), pointer)?;
    Ok(password)
}
