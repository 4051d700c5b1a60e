//! Request and response bodies of customers, and their parsing into records.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, EnumString};
use utoipa::{IntoParams, ToSchema};

use crate::customers::repo::{ConsentRow, CustomerData, CustomerRow};
use crate::domain::choice::parse_choice;
use crate::domain::date::parse_date;
use crate::domain::fold::search_text;
use crate::domain::text::parse_line;
use crate::domain::{Address, AddressInput, BirthDate, PersonName, PhoneNumber, RecordNumber};
use crate::error::{AppError, FieldError, FieldErrorCode, FieldErrors};
use crate::http::{PageQuery, Patch};

/// Salutation ("Anrede"): `mr` Herr, `ms` Frau, `none` without.
#[derive(
    strum::VariantNames,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    EnumString,
    AsRefStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schema(example = "mr")]
pub enum Salutation {
    Mr,
    Ms,
    None,
}

/// Gender ("Geschlecht").
#[derive(
    strum::VariantNames,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    EnumString,
    AsRefStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schema(example = "male")]
pub enum Gender {
    Male,
    Female,
    Diverse,
    Unspecified,
}

/// What files written by people may say for a salutation: German or the API's values.
pub const SPOKEN_SALUTATIONS: &[&str] = &["Herr", "Frau", "keine Angabe", "mr", "ms", "none"];
/// The same for a gender.
pub const SPOKEN_GENDERS: &[&str] = &[
    "männlich",
    "weiblich",
    "divers",
    "keine Angabe",
    "male",
    "female",
    "diverse",
    "unspecified",
];

impl Salutation {
    /// A salutation as a staff list or an import file may write it: `Herr`, `Frau`,
    /// `keine Angabe` (and short forms) or the API's values, in any case.
    pub fn from_spoken(raw: &str) -> Option<Salutation> {
        match crate::domain::fold::fold_text(raw).as_str() {
            "mr" | "herr" | "hr" | "hr." => Some(Salutation::Mr),
            "ms" | "frau" | "fr" | "fr." => Some(Salutation::Ms),
            "none" | "ohne" | "keine" | "keine angabe" => Some(Salutation::None),
            _ => None,
        }
    }
}

impl Gender {
    /// A gender as a staff list or an import file may write it: `männlich`, `weiblich`,
    /// `divers`, `keine Angabe` (and `m`, `w`, `d`) or the API's values, in any case.
    pub fn from_spoken(raw: &str) -> Option<Gender> {
        match crate::domain::fold::fold_text(raw).as_str() {
            "male" | "maennlich" | "m" => Some(Gender::Male),
            "female" | "weiblich" | "w" => Some(Gender::Female),
            "diverse" | "divers" | "d" => Some(Gender::Diverse),
            "unspecified" | "keine angabe" | "unbestimmt" | "ohne angabe" => {
                Some(Gender::Unspecified)
            }
            _ => None,
        }
    }
}

/// A customer's data as the holder sees it in the Self-Service ("Kundenverwaltung").
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "customer_number": "KD-4711",
    "salutation": "mr",
    "gender": "male",
    "first_name": "Max",
    "last_name": "Musterjobber",
    "birth_date": "2000-10-05",
    "marketing_consent": false,
    "address": {"street": "Artilleriestr. 39", "postal_code": "34117", "city": "Kassel", "country": "DE"},
    "recipient": null,
    "recorded_at": "2024-10-22",
    "phone": null,
    "phone_work": null
}))]
pub struct CustomerDetails {
    /// Customer number (read-only).
    #[schema(example = "KD-4711")]
    pub customer_number: String,
    /// Salutation ("Anrede").
    pub salutation: Salutation,
    /// Gender ("Geschlecht").
    pub gender: Gender,
    /// First name (read-only).
    #[schema(example = "Max")]
    pub first_name: String,
    /// Last name (read-only).
    #[schema(example = "Musterjobber")]
    pub last_name: String,
    /// Birth date ("Geburtsdatum", read-only).
    #[schema(example = "2000-10-05")]
    pub birth_date: NaiveDate,
    /// Marketing consent ("Werbe-Einwilligung"); every change is kept in the history.
    #[schema(example = false)]
    pub marketing_consent: bool,
    /// Postal address.
    pub address: Address,
    /// c/o line of the address ("Empfänger").
    #[schema(example = json!(null))]
    pub recipient: Option<String>,
    /// When the operator recorded the customer ("Erfasst am", read-only).
    #[schema(example = "2024-10-22")]
    pub recorded_at: NaiveDate,
    /// Telephone number in E.164.
    #[schema(example = json!(null))]
    pub phone: Option<String>,
    /// Work telephone number in E.164 ("Telefon (Dienst)").
    #[schema(example = json!(null))]
    pub phone_work: Option<String>,
}

/// A customer as the operator keeps it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a4-9d3e-7f40-8b12-5e6f7a8b9c0d",
    "customer_number": "KD-4711",
    "salutation": "mr",
    "gender": "male",
    "first_name": "Max",
    "last_name": "Musterjobber",
    "birth_date": "2000-10-05",
    "address": {"street": "Artilleriestr. 39", "postal_code": "34117", "city": "Kassel", "country": "DE"},
    "recipient": null,
    "phone": null,
    "phone_work": null,
    "marketing_consent": false,
    "recorded_at": "2024-10-22",
    "created_at": "2024-10-22T09:00:00Z",
    "updated_at": "2024-10-22T09:00:00Z"
}))]
pub struct Customer {
    /// Opaque customer id.
    #[schema(example = "0190f3a4-9d3e-7f40-8b12-5e6f7a8b9c0d")]
    pub id: String,
    /// Customer number, unique, canonical spelling.
    #[schema(example = "KD-4711")]
    pub customer_number: String,
    /// Salutation.
    pub salutation: Salutation,
    /// Gender.
    pub gender: Gender,
    /// First name.
    #[schema(example = "Max")]
    pub first_name: String,
    /// Last name.
    #[schema(example = "Musterjobber")]
    pub last_name: String,
    /// Birth date.
    #[schema(example = "2000-10-05")]
    pub birth_date: NaiveDate,
    /// Postal address.
    pub address: Address,
    /// c/o line of the address.
    #[schema(example = json!(null))]
    pub recipient: Option<String>,
    /// Telephone number in E.164.
    #[schema(example = json!(null))]
    pub phone: Option<String>,
    /// Work telephone number in E.164.
    #[schema(example = json!(null))]
    pub phone_work: Option<String>,
    /// Marketing consent.
    #[schema(example = false)]
    pub marketing_consent: bool,
    /// When the operator recorded the customer.
    #[schema(example = "2024-10-22")]
    pub recorded_at: NaiveDate,
    /// When the record was created.
    #[schema(example = "2024-10-22T09:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the record was last changed.
    #[schema(example = "2024-10-22T09:00:00Z")]
    pub updated_at: DateTime<Utc>,
}

fn stored<E: std::str::FromStr>(value: &str, what: &str) -> Result<E, AppError> {
    value
        .parse()
        .map_err(|_| AppError::Internal(format!("stored {what} {value:?}")))
}

impl TryFrom<CustomerRow> for Customer {
    type Error = AppError;

    fn try_from(row: CustomerRow) -> Result<Self, AppError> {
        let data = row.data;
        Ok(Customer {
            id: row.id,
            salutation: stored(&data.salutation, "salutation")?,
            gender: stored(&data.gender, "gender")?,
            address: data.address(),
            customer_number: data.customer_number,
            first_name: data.first_name,
            last_name: data.last_name,
            birth_date: data.birth_date,
            recipient: data.recipient,
            phone: data.phone,
            phone_work: data.phone_work,
            marketing_consent: data.marketing_consent,
            recorded_at: data.recorded_at,
            created_at: row.created_at.and_utc(),
            updated_at: data.updated_at.and_utc(),
        })
    }
}

impl TryFrom<CustomerData> for CustomerDetails {
    type Error = AppError;

    fn try_from(data: CustomerData) -> Result<Self, AppError> {
        Ok(CustomerDetails {
            salutation: stored(&data.salutation, "salutation")?,
            gender: stored(&data.gender, "gender")?,
            address: data.address(),
            customer_number: data.customer_number,
            first_name: data.first_name,
            last_name: data.last_name,
            birth_date: data.birth_date,
            marketing_consent: data.marketing_consent,
            recipient: data.recipient,
            recorded_at: data.recorded_at,
            phone: data.phone,
            phone_work: data.phone_work,
        })
    }
}

/// A new customer (operator). The initial marketing consent starts the consent history
/// (source `operator`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "customer_number": "KD-4711",
    "salutation": "mr",
    "gender": "male",
    "first_name": "Max",
    "last_name": "Musterjobber",
    "birth_date": "2000-10-05",
    "address": {"street": "Artilleriestr. 39", "postal_code": "34117", "city": "Kassel", "country": "DE"},
    "recipient": null,
    "phone": null,
    "phone_work": null,
    "marketing_consent": false,
    "recorded_at": "2024-10-22"
}))]
pub struct NewCustomerRequest {
    /// Customer number: 1 to 40 letters, digits and `-./`; spaces dropped, letters
    /// upper-cased. Unique (`409 duplicate_key`).
    #[schema(value_type = String, required = true, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = "KD-4711")]
    pub customer_number: Option<String>,
    /// Salutation.
    #[schema(value_type = Salutation, required = true)]
    pub salutation: Option<String>,
    /// Gender.
    #[schema(value_type = Gender, required = true)]
    pub gender: Option<String>,
    /// First name: 1 to 100 letters, spaces and `'-.`.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Max")]
    pub first_name: Option<String>,
    /// Last name, the same rules.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Musterjobber")]
    pub last_name: Option<String>,
    /// Birth date, `YYYY-MM-DD` or `TT.MM.JJJJ`, from 1900 to today.
    #[schema(value_type = String, required = true, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "2000-10-05")]
    pub birth_date: Option<String>,
    /// Postal address; every field required.
    #[schema(value_type = AddressInput, required = true)]
    pub address: Option<AddressInput>,
    /// c/o line, 1 to 200 characters, or `null`.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = json!(null))]
    pub recipient: Patch<String>,
    /// Telephone: E.164 or German national format; stored as E.164.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^\+?[0-9 ()/.-]{6,30}$", example = "0561 1234567")]
    pub phone: Patch<String>,
    /// Work telephone, the same rules.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^\+?[0-9 ()/.-]{6,30}$", example = json!(null))]
    pub phone_work: Patch<String>,
    /// Marketing consent.
    #[schema(value_type = bool, required = true, example = false)]
    pub marketing_consent: Option<bool>,
    /// When the customer was recorded; default today (Europe/Berlin).
    #[schema(value_type = Option<String>, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "2024-10-22")]
    pub recorded_at: Option<String>,
}

/// Changes to a customer (operator), as a JSON merge patch. A changed consent goes into
/// the history (source `operator`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"address": {"street": "Friedrichsplatz 8"}, "phone": null}))]
pub struct UpdateCustomerRequest {
    /// Customer number; unique (`409 duplicate_key`).
    #[serde(default)]
    #[schema(value_type = String, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = "KD-4711")]
    pub customer_number: Patch<String>,
    /// First name.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 100, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Max")]
    pub first_name: Patch<String>,
    /// Last name.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 100, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Musterjobber")]
    pub last_name: Patch<String>,
    /// Birth date.
    #[serde(default)]
    #[schema(value_type = String, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "2000-10-05")]
    pub birth_date: Patch<String>,
    /// When the customer was recorded.
    #[serde(default)]
    #[schema(value_type = String, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "2024-10-22")]
    pub recorded_at: Patch<String>,
    /// Salutation.
    #[serde(default)]
    #[schema(value_type = Salutation)]
    pub salutation: Patch<String>,
    /// Gender.
    #[serde(default)]
    #[schema(value_type = Gender)]
    pub gender: Patch<String>,
    /// Marketing consent; every change is kept in the history.
    #[serde(default)]
    #[schema(value_type = bool, example = true)]
    pub marketing_consent: Patch<bool>,
    /// Address fields to change; absent ones stay.
    #[serde(default)]
    #[schema(value_type = AddressInput)]
    pub address: Patch<AddressInput>,
    /// c/o line, 1 to 200 characters; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = json!(null))]
    pub recipient: Patch<String>,
    /// Telephone: E.164 or German national format, stored as E.164; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^\+?[0-9 ()/.-]{6,30}$", example = "0561 1234567")]
    pub phone: Patch<String>,
    /// Work telephone, the same rules.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^\+?[0-9 ()/.-]{6,30}$", example = json!(null))]
    pub phone_work: Patch<String>,
}

/// What the holder may change in the Self-Service (and the operator, too).
#[derive(Debug, Default)]
pub struct HolderFields {
    pub salutation: Patch<String>,
    pub gender: Patch<String>,
    pub marketing_consent: Patch<bool>,
    pub address: Patch<AddressInput>,
    pub recipient: Patch<String>,
    pub phone: Patch<String>,
    pub phone_work: Patch<String>,
}

/// Changes the holder makes to their customer data ("Kundenverwaltung"), as a JSON
/// merge patch. Name, birth date, customer number and `recorded_at` are read-only:
/// sent with their current value they are ignored, with another `field_read_only`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"marketing_consent": true, "phone": "0561 1234567", "address": {"street": "Friedrichsplatz 8"}}))]
pub struct UpdateHolderRequest {
    /// Read-only.
    #[serde(default)]
    #[schema(value_type = String, example = "KD-4711")]
    pub customer_number: Patch<String>,
    /// Read-only.
    #[serde(default)]
    #[schema(value_type = String, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Max")]
    pub first_name: Patch<String>,
    /// Read-only.
    #[serde(default)]
    #[schema(value_type = String, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Musterjobber")]
    pub last_name: Patch<String>,
    /// Read-only.
    #[serde(default)]
    #[schema(value_type = String, example = "2000-10-05")]
    pub birth_date: Patch<String>,
    /// Read-only.
    #[serde(default)]
    #[schema(value_type = String, example = "2024-10-22")]
    pub recorded_at: Patch<String>,
    /// Salutation.
    #[serde(default)]
    #[schema(value_type = Salutation)]
    pub salutation: Patch<String>,
    /// Gender.
    #[serde(default)]
    #[schema(value_type = Gender)]
    pub gender: Patch<String>,
    /// Marketing consent; every change is kept in the history.
    #[serde(default)]
    #[schema(value_type = bool, example = true)]
    pub marketing_consent: Patch<bool>,
    /// Address fields to change; absent ones stay.
    #[serde(default)]
    #[schema(value_type = AddressInput)]
    pub address: Patch<AddressInput>,
    /// c/o line, 1 to 200 characters; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = json!(null))]
    pub recipient: Patch<String>,
    /// Telephone: E.164 or German national format, stored as E.164; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^\+?[0-9 ()/.-]{6,30}$", example = "0561 1234567")]
    pub phone: Patch<String>,
    /// Work telephone, the same rules.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^\+?[0-9 ()/.-]{6,30}$", example = json!(null))]
    pub phone_work: Patch<String>,
}

/// Filters of the operator's customer list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerListQuery {
    /// Exact customer number (spaces and case do not matter).
    #[param(example = "KD-4711")]
    pub customer_number: Option<String>,
    /// Case- and umlaut-tolerant substring of first name, last name or customer number.
    /// Its matches are counted up to `SEARCH_COUNT_LIMIT` (see `total_relation`).
    #[param(example = "musterjob")]
    pub q: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}

/// One value the marketing consent had.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"marketing_consent": true, "changed_at": "2024-11-02T10:15:00Z", "source": "self_service"}))]
pub struct ConsentChange {
    /// The consent from then on.
    #[schema(example = true)]
    pub marketing_consent: bool,
    /// When it was given or withdrawn.
    #[schema(example = "2024-11-02T10:15:00Z")]
    pub changed_at: DateTime<Utc>,
    /// Who changed it: `self_service` (the holder), `operator` or `import`.
    #[schema(example = "self_service")]
    pub source: String,
}

impl From<ConsentRow> for ConsentChange {
    fn from(row: ConsentRow) -> Self {
        ConsentChange {
            marketing_consent: row.marketing_consent,
            changed_at: row.changed_at.and_utc(),
            source: row.source,
        }
    }
}

impl NewCustomerRequest {
    pub fn parse(self, today: NaiveDate, now: NaiveDateTime) -> Result<CustomerData, AppError> {
        let recorded_at = Patch::from(self.recorded_at.or_else(|| Some(today.to_string())));
        UpdateCustomerRequest {
            customer_number: self.customer_number.into(),
            first_name: self.first_name.into(),
            last_name: self.last_name.into(),
            birth_date: self.birth_date.into(),
            recorded_at,
            salutation: self.salutation.into(),
            gender: self.gender.into(),
            marketing_consent: self.marketing_consent.into(),
            address: self.address.into(),
            recipient: self.recipient,
            phone: self.phone,
            phone_work: self.phone_work,
        }
        .merged_onto(None, today, now)
    }
}

impl UpdateCustomerRequest {
    /// The customer's columns after this patch of `current` (`None`: a new customer).
    pub fn merged_onto(
        self,
        current: Option<&CustomerData>,
        today: NaiveDate,
        now: NaiveDateTime,
    ) -> Result<CustomerData, AppError> {
        let mut errors = FieldErrors::default();
        let customer_number = self.customer_number.required(
            current.map(|c| c.customer_number.clone()),
            "/customer_number",
            &mut errors,
            |raw| RecordNumber::parse(&raw, "/customer_number").map(RecordNumber::into_string),
        );
        let first_name = self.first_name.required(
            current.map(|c| c.first_name.clone()),
            "/first_name",
            &mut errors,
            |raw| PersonName::parse(&raw, "/first_name").map(|n| n.as_str().to_string()),
        );
        let last_name = self.last_name.required(
            current.map(|c| c.last_name.clone()),
            "/last_name",
            &mut errors,
            |raw| PersonName::parse(&raw, "/last_name").map(|n| n.as_str().to_string()),
        );
        let birth_date = self.birth_date.required(
            current.map(|c| c.birth_date),
            "/birth_date",
            &mut errors,
            |raw| BirthDate::parse(&raw, today, "/birth_date").map(BirthDate::date),
        );
        let recorded_at = self.recorded_at.required(
            current.map(|c| c.recorded_at),
            "/recorded_at",
            &mut errors,
            |raw| parse_date(&raw, "/recorded_at"),
        );
        let holder = HolderFields {
            salutation: self.salutation,
            gender: self.gender,
            marketing_consent: self.marketing_consent,
            address: self.address,
            recipient: self.recipient,
            phone: self.phone,
            phone_work: self.phone_work,
        }
        .merged_onto(current, &mut errors);
        errors.into_result()?;
        let (
            Some(customer_number),
            Some(first_name),
            Some(last_name),
            Some(birth_date),
            Some(recorded_at),
            Some(holder),
        ) = (
            customer_number,
            first_name,
            last_name,
            birth_date,
            recorded_at,
            holder,
        )
        else {
            return Err(AppError::Internal(
                "customer fields parsed without errors are complete".into(),
            ));
        };
        Ok(CustomerData {
            search_text: search_text(&[&first_name, &last_name, &customer_number]),
            customer_number,
            salutation: holder.salutation,
            gender: holder.gender,
            first_name,
            last_name,
            birth_date,
            street: holder.address.street,
            postal_code: holder.address.postal_code,
            city: holder.address.city,
            country: holder.address.country,
            recipient: holder.recipient,
            phone: holder.phone,
            phone_work: holder.phone_work,
            marketing_consent: holder.marketing_consent,
            recorded_at,
            updated_at: now,
        })
    }
}

/// The holder's fields after a patch.
pub struct HolderValues {
    pub salutation: String,
    pub gender: String,
    pub marketing_consent: bool,
    pub address: Address,
    pub recipient: Option<String>,
    pub phone: Option<String>,
    pub phone_work: Option<String>,
}

impl HolderFields {
    pub fn merged_onto(
        self,
        current: Option<&CustomerData>,
        errors: &mut FieldErrors,
    ) -> Option<HolderValues> {
        let salutation = self.salutation.required(
            current.map(|c| c.salutation.clone()),
            "/salutation",
            errors,
            |raw| {
                parse_choice::<Salutation>(Some(&raw), "/salutation")
                    .map(|s| s.as_ref().to_string())
            },
        );
        let gender = self.gender.required(
            current.map(|c| c.gender.clone()),
            "/gender",
            errors,
            |raw| parse_choice::<Gender>(Some(&raw), "/gender").map(|g| g.as_ref().to_string()),
        );
        let marketing_consent = self.marketing_consent.required(
            current.map(|c| c.marketing_consent),
            "/marketing_consent",
            errors,
            Ok,
        );
        let current_address = current.map(CustomerData::address);
        let address = match self.address {
            Patch::Value(input) => input.merged_onto(current_address.as_ref(), errors, "/address"),
            Patch::Absent if current_address.is_some() => current_address,
            Patch::Absent | Patch::Null => {
                errors.push(FieldError::new("/address", FieldErrorCode::Required));
                None
            }
        };
        let recipient =
            self.recipient
                .optional(current.and_then(|c| c.recipient.clone()), errors, |raw| {
                    parse_line(&raw, 200, "/recipient")
                });
        let phone = self
            .phone
            .optional(current.and_then(|c| c.phone.clone()), errors, |raw| {
                PhoneNumber::parse(&raw, "/phone").map(PhoneNumber::into_string)
            });
        let phone_work =
            self.phone_work
                .optional(current.and_then(|c| c.phone_work.clone()), errors, |raw| {
                    PhoneNumber::parse(&raw, "/phone_work").map(PhoneNumber::into_string)
                });
        Some(HolderValues {
            salutation: salutation?,
            gender: gender?,
            marketing_consent: marketing_consent?,
            address: address?,
            recipient: recipient?,
            phone: phone?,
            phone_work: phone_work?,
        })
    }
}

impl UpdateHolderRequest {
    /// The holder's patch, once the read-only fields are what they are: each sent with
    /// another value (or `null`) is `field_read_only`.
    pub fn check_read_only(
        self,
        current: &CustomerData,
        today: NaiveDate,
    ) -> Result<HolderFields, AppError> {
        let mut errors = FieldErrors::default();
        let mut check = |sent: Patch<String>, pointer: &str, same: &dyn Fn(&str) -> bool| match sent
        {
            Patch::Absent => {}
            Patch::Value(raw) if same(&raw) => {}
            _ => errors.push(FieldError::new(pointer, FieldErrorCode::ReadOnly)),
        };
        check(self.customer_number, "/customer_number", &|raw| {
            RecordNumber::parse(raw, "").is_ok_and(|n| n.as_str() == current.customer_number)
        });
        check(self.first_name, "/first_name", &|raw| {
            PersonName::parse(raw, "").is_ok_and(|n| n.as_str() == current.first_name)
        });
        check(self.last_name, "/last_name", &|raw| {
            PersonName::parse(raw, "").is_ok_and(|n| n.as_str() == current.last_name)
        });
        check(self.birth_date, "/birth_date", &|raw| {
            BirthDate::parse(raw, today, "").is_ok_and(|d| d.date() == current.birth_date)
        });
        check(self.recorded_at, "/recorded_at", &|raw| {
            parse_date(raw, "").is_ok_and(|d| d == current.recorded_at)
        });
        errors.into_result()?;
        Ok(HolderFields {
            salutation: self.salutation,
            gender: self.gender,
            marketing_consent: self.marketing_consent,
            address: self.address,
            recipient: self.recipient,
            phone: self.phone,
            phone_work: self.phone_work,
        })
    }
}
