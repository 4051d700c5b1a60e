//! Postal addresses of companies and customers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::PostalCode;
use crate::domain::text::parse_line;
use crate::error::{FieldError, FieldErrorCode, FieldErrors};
use crate::http::Patch;

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"street": "Artilleriestr. 39", "postal_code": "34117", "city": "Kassel", "country": "DE"}))]
pub struct Address {
    /// Street and house number.
    #[schema(example = "Artilleriestr. 39")]
    pub street: String,
    /// Postal code ("PLZ"); five digits in Germany.
    #[schema(example = "34117")]
    pub postal_code: String,
    /// City.
    #[schema(example = "Kassel")]
    pub city: String,
    /// Country, ISO 3166-1 alpha-2 (upper case).
    #[schema(example = "DE")]
    pub country: String,
}

/// An address as sent: on creation every field is required (`required` at the missing
/// one); in a `PATCH` an absent field keeps its value and `null` (which would remove it)
/// is `required`, as it is on creation.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"street": "Artilleriestr. 39", "postal_code": "34117", "city": "Kassel", "country": "DE"}))]
pub struct AddressInput {
    /// Street and house number, 1 to 100 characters.
    #[schema(value_type = String, required = false, min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "Artilleriestr. 39")]
    #[serde(default)]
    pub street: Patch<String>,
    /// Postal code: five digits when `country` is `DE`, otherwise 2 to 10 letters,
    /// digits, spaces or dashes.
    #[schema(value_type = String, required = false, min_length = 2, max_length = 10, pattern = r"^ *[0-9A-Za-z][0-9A-Za-z -]*$", example = "34117")]
    #[serde(default)]
    pub postal_code: Patch<String>,
    /// City, 1 to 100 characters.
    #[schema(value_type = String, required = false, min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "Kassel")]
    #[serde(default)]
    pub city: Patch<String>,
    /// Country, ISO 3166-1 alpha-2, e.g. `DE` (case-insensitive).
    #[schema(value_type = String, required = false, min_length = 2, max_length = 2, pattern = "^[A-Za-z]{2}$", example = "DE")]
    #[serde(default)]
    pub country: Patch<String>,
}

impl AddressInput {
    /// The address these fields give on their own (creation), or field errors under
    /// `pointer` (e.g. `/address`).
    pub fn parse(self, errors: &mut FieldErrors, pointer: &str) -> Option<Address> {
        self.merged_onto(None, errors, pointer)
    }

    /// The address after this patch of `current` (absent fields keep their value), or
    /// field errors under `pointer`.
    pub fn merged_onto(
        self,
        current: Option<&Address>,
        errors: &mut FieldErrors,
        pointer: &str,
    ) -> Option<Address> {
        let at = |field: &str| format!("{pointer}/{field}");
        let pick = |sent: Patch<String>, kept: Option<&String>| match sent {
            Patch::Absent => kept.cloned(),
            Patch::Null => None,
            Patch::Value(value) => Some(value),
        };
        let street = pick(self.street, current.map(|a| &a.street));
        let postal_code = pick(self.postal_code, current.map(|a| &a.postal_code));
        let city = pick(self.city, current.map(|a| &a.city));
        let country = pick(self.country, current.map(|a| &a.country));
        let street = errors.take(required_line(street, 100, &at("street")));
        let city = errors.take(required_line(city, 100, &at("city")));
        let country = errors.take(country_code(country, &at("country")));
        let postal_code = match (&country, postal_code) {
            (_, None) => {
                errors.push(FieldError::new(at("postal_code"), FieldErrorCode::Required));
                None
            }
            // Without a valid country the postal code is checked as a German one.
            (country, Some(raw)) => errors.take(
                PostalCode::parse(&raw, country.as_deref().unwrap_or("DE"), &at("postal_code"))
                    .map(|code| code.as_str().to_string()),
            ),
        };
        Some(Address {
            street: street?,
            postal_code: postal_code?,
            city: city?,
            country: country?,
        })
    }
}

fn required_line(value: Option<String>, max: usize, pointer: &str) -> Result<String, FieldError> {
    parse_line(value.as_deref().unwrap_or_default(), max, pointer)
}

/// An ISO 3166-1 alpha-2 country code, upper case.
pub fn country_code(value: Option<String>, pointer: &str) -> Result<String, FieldError> {
    let code = value.unwrap_or_default().trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err(FieldError::new(pointer, FieldErrorCode::Required));
    }
    isocountry::CountryCode::for_alpha2(&code)
        .map(|_| code)
        .map_err(|_| FieldError::new(pointer, FieldErrorCode::InvalidCountry))
}

/// The country's name in German (the guides print "Deutschland") or English.
pub fn country_name(code: &str, lang: crate::i18n::Lang) -> String {
    match (code, lang) {
        ("DE", crate::i18n::Lang::De) => "Deutschland".into(),
        ("AT", crate::i18n::Lang::De) => "Österreich".into(),
        ("CH", crate::i18n::Lang::De) => "Schweiz".into(),
        _ => isocountry::CountryCode::for_alpha2(code)
            .map(|c| c.name().to_string())
            .unwrap_or_else(|_| code.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(street: &str, postal_code: &str, city: &str, country: &str) -> AddressInput {
        AddressInput {
            street: Patch::Value(street.into()),
            postal_code: Patch::Value(postal_code.into()),
            city: Patch::Value(city.into()),
            country: Patch::Value(country.into()),
        }
    }

    #[test]
    fn a_complete_address_parses_and_a_patch_keeps_the_rest() {
        let mut errors = FieldErrors::default();
        let address = input("Artilleriestr. 39", "34117", "Kassel", "de")
            .parse(&mut errors, "/address")
            .unwrap();
        assert_eq!(address.country, "DE");
        let patch = AddressInput {
            city: Patch::Value("Kassel-Wilhelmshöhe".into()),
            ..Default::default()
        };
        let patched = patch
            .merged_onto(Some(&address), &mut errors, "/address")
            .unwrap();
        assert_eq!(patched.street, "Artilleriestr. 39");
        assert_eq!(patched.city, "Kassel-Wilhelmshöhe");
        errors.into_result().unwrap();
    }

    #[test]
    fn null_in_a_patch_would_remove_a_required_field_and_is_refused() {
        let mut errors = FieldErrors::default();
        let address = input("Artilleriestr. 39", "34117", "Kassel", "DE")
            .parse(&mut errors, "/address")
            .unwrap();
        let patch: AddressInput = serde_json::from_str(r#"{"street": null}"#).unwrap();
        assert!(
            patch
                .merged_onto(Some(&address), &mut errors, "/address")
                .is_none()
        );
        let crate::error::AppError::Validation(fields) = errors.into_result().unwrap_err() else {
            panic!()
        };
        assert_eq!(fields[0].pointer, "/address/street");
        assert_eq!(fields[0].code.as_str(), "required");
    }

    #[test]
    fn every_wrong_field_is_reported_with_its_pointer() {
        let mut errors = FieldErrors::default();
        let parsed = input(" ", "3411", "Kassel", "XX").parse(&mut errors, "/address");
        assert!(parsed.is_none());
        let crate::error::AppError::Validation(fields) = errors.into_result().unwrap_err() else {
            panic!()
        };
        let found: Vec<_> = fields
            .iter()
            .map(|f| (f.pointer.as_str(), f.code.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("/address/street", "required"),
                ("/address/country", "invalid_country"),
                ("/address/postal_code", "invalid_postal_code"),
            ]
        );
    }
}
