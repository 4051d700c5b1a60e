//! Fields with a fixed list of values (statuses, salutation, gender).

use std::str::FromStr;

use strum::VariantNames;

use crate::error::{FieldError, FieldErrorCode};

/// One of an enum's values, spelled as the API spells it (`snake_case`); anything else
/// is `invalid_choice` at `pointer`, naming the values, a missing one `required`.
pub fn parse_choice<E: FromStr + VariantNames>(
    value: Option<&str>,
    pointer: &str,
) -> Result<E, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Err(FieldError::new(pointer, FieldErrorCode::Required)),
        Some(text) => parse_given(text, pointer),
    }
}

/// A given value (even an empty one) that must be one of the enum's values.
pub fn parse_given<E: FromStr + VariantNames>(text: &str, pointer: &str) -> Result<E, FieldError> {
    text.trim()
        .parse()
        .map_err(|_| invalid_choice::<E>(pointer))
}

/// `invalid_choice` at `pointer`, naming the enum's values.
fn invalid_choice<E: VariantNames>(pointer: &str) -> FieldError {
    FieldError::new(
        pointer,
        FieldErrorCode::InvalidChoice {
            allowed: E::VARIANTS,
        },
    )
}
