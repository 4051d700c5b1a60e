//! Fields with a fixed list of values (statuses, salutation, gender).

use std::str::FromStr;

use crate::error::{FieldError, FieldErrorCode};

/// One of an enum's values, spelled as the API spells it (`snake_case`); anything else
/// is `invalid_choice` at `pointer`, a missing one `required`.
pub fn parse_choice<E: FromStr>(value: Option<&str>, pointer: &str) -> Result<E, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Err(FieldError::new(pointer, FieldErrorCode::Required)),
        Some(text) => text
            .parse()
            .map_err(|_| FieldError::new(pointer, FieldErrorCode::InvalidChoice)),
    }
}
