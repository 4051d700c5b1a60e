//! JSON merge patch (RFC 7396) fields: an absent field keeps its value, `null` clears
//! it, a value replaces it. A field of a `PATCH` body is a `Patch<T>` with
//! `#[serde(default)]`.

use serde::{Deserialize, Deserializer};

use crate::error::{FieldError, FieldErrorCode, FieldErrors};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not in the body: unchanged.
    #[default]
    Absent,
    /// `null`: cleared.
    Null,
    /// A new value.
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(deserializer).map(|value| value.map_or(Patch::Null, Patch::Value))
    }
}

impl<T> Patch<T> {
    /// A required field after the patch: absent keeps `kept` (none on creation is
    /// `required`), `null` is `required`, a value is parsed. Errors go to `errors`.
    pub fn required<U>(
        self,
        kept: Option<U>,
        pointer: &str,
        errors: &mut FieldErrors,
        parse: impl FnOnce(T) -> Result<U, FieldError>,
    ) -> Option<U> {
        match self {
            Patch::Absent if kept.is_some() => kept,
            Patch::Absent | Patch::Null => {
                errors.push(FieldError::new(pointer, FieldErrorCode::Required));
                None
            }
            Patch::Value(value) => errors.take(parse(value)),
        }
    }

    /// An optional field after the patch: absent keeps `kept`, `null` clears it, a
    /// value is parsed. `None` means the value had an error (in `errors`).
    pub fn optional<U>(
        self,
        kept: Option<U>,
        errors: &mut FieldErrors,
        parse: impl FnOnce(T) -> Result<U, FieldError>,
    ) -> Option<Option<U>> {
        match self {
            Patch::Absent => Some(kept),
            Patch::Null => Some(None),
            Patch::Value(value) => errors.take(parse(value)).map(Some),
        }
    }
}

impl<T> From<Option<T>> for Patch<T> {
    /// A field of a create request: a missing one (or `null`) is absent.
    fn from(value: Option<T>) -> Self {
        value.map_or(Patch::Absent, Patch::Value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default)]
        phone: Patch<String>,
    }

    #[test]
    fn absent_null_and_value_differ() {
        let parse = |json: &str| serde_json::from_str::<Body>(json).unwrap().phone;
        assert_eq!(parse("{}"), Patch::Absent);
        assert_eq!(parse(r#"{"phone": null}"#), Patch::Null);
        assert_eq!(parse(r#"{"phone": "0561"}"#), Patch::Value("0561".into()));
    }
}
