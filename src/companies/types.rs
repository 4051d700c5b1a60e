//! Request and response bodies of companies, and their parsing into records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::companies::repo::{CompanyData, CompanyRow};
use crate::domain::fold::search_text;
use crate::domain::text::parse_line;
use crate::domain::{Address, AddressInput, EmailAddress, PhoneNumber, RecordNumber};
use crate::error::{AppError, FieldError, FieldErrorCode, FieldErrors};
use crate::http::{PageQuery, Patch};

/// A company as the operator keeps it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b",
    "customer_number": "K-100234",
    "name": "Musterfirma GmbH",
    "address": {"street": "Königsplatz 1", "postal_code": "34117", "city": "Kassel", "country": "DE"},
    "contact": {"name": "Erika Personal", "email": "personal@musterfirma.de", "phone": "+495617001234"},
    "created_at": "2024-10-01T08:00:00Z",
    "updated_at": "2024-10-01T08:00:00Z"
}))]
pub struct Company {
    /// Opaque company id.
    #[schema(example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")]
    pub id: String,
    /// The company's customer number ("Kundennummer"), unique, canonical spelling.
    #[schema(example = "K-100234")]
    pub customer_number: String,
    /// Company name.
    #[schema(example = "Musterfirma GmbH")]
    pub name: String,
    /// Postal address.
    pub address: Address,
    /// Contact person of the company; every field may be `null`.
    pub contact: Contact,
    /// When the record was created.
    #[schema(example = "2024-10-01T08:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the record was last changed.
    #[schema(example = "2024-10-01T08:00:00Z")]
    pub updated_at: DateTime<Utc>,
}

/// A company's contact person.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Erika Personal", "email": "personal@musterfirma.de", "phone": "+495617001234"}))]
pub struct Contact {
    /// Name of the contact person.
    #[schema(example = "Erika Personal")]
    pub name: Option<String>,
    /// E-mail address of the contact person.
    #[schema(example = "personal@musterfirma.de")]
    pub email: Option<String>,
    /// Telephone number in E.164.
    #[schema(example = "+495617001234")]
    pub phone: Option<String>,
}

impl From<CompanyRow> for Company {
    fn from(row: CompanyRow) -> Self {
        Company {
            id: row.id,
            customer_number: row.data.customer_number,
            name: row.data.name,
            address: Address {
                street: row.data.street,
                postal_code: row.data.postal_code,
                city: row.data.city,
                country: row.data.country,
            },
            contact: Contact {
                name: row.data.contact_name,
                email: row.data.contact_email,
                phone: row.data.contact_phone,
            },
            created_at: row.created_at.and_utc(),
            updated_at: row.data.updated_at.and_utc(),
        }
    }
}

/// A contact person as sent: absent fields keep their value (in a `PATCH`), `null`
/// clears one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Erika Personal", "email": "personal@musterfirma.de", "phone": "0561 7001234"}))]
pub struct ContactInput {
    /// Name of the contact person, 1 to 200 characters.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "Erika Personal")]
    pub name: Patch<String>,
    /// E-mail address of the contact person.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Email, max_length = 254, example = "personal@musterfirma.de")]
    pub email: Patch<String>,
    /// Telephone number: E.164 (`+49 561 7001234`) or German national format (`0561
    /// 7001234`); stored as E.164.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^\+?[0-9 ()/.-]{6,30}$", example = "0561 7001234")]
    pub phone: Patch<String>,
}

/// A new company (operator).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "customer_number": "K-100234",
    "name": "Musterfirma GmbH",
    "address": {"street": "Königsplatz 1", "postal_code": "34117", "city": "Kassel", "country": "DE"},
    "contact": {"name": "Erika Personal", "email": "personal@musterfirma.de", "phone": "0561 7001234"}
}))]
pub struct NewCompanyRequest {
    /// Customer number ("Kundennummer"): 1 to 40 letters, digits and `-./`; spaces are
    /// dropped and letters upper-cased. Unique (`409 duplicate_key`).
    #[schema(value_type = String, required = true, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = "K-100234")]
    pub customer_number: Option<String>,
    /// Company name, 1 to 200 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "Musterfirma GmbH")]
    pub name: Option<String>,
    /// Postal address; every field required.
    #[schema(value_type = AddressInput, required = true)]
    pub address: Option<AddressInput>,
    /// Contact person; optional, as is each of its fields.
    #[serde(default)]
    #[schema(value_type = Option<ContactInput>)]
    pub contact: Patch<ContactInput>,
}

/// Changes to a company (operator), as a JSON merge patch: absent fields stay, `null`
/// clears an optional one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Musterfirma GmbH & Co. KG", "contact": {"phone": null}}))]
pub struct UpdateCompanyRequest {
    /// Customer number; unique (`409 duplicate_key`).
    #[serde(default)]
    #[schema(value_type = String, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = "K-100234")]
    pub customer_number: Patch<String>,
    /// Company name, 1 to 200 characters.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "Musterfirma GmbH & Co. KG")]
    pub name: Patch<String>,
    /// Address fields to change.
    #[serde(default)]
    #[schema(value_type = AddressInput)]
    pub address: Patch<AddressInput>,
    /// Contact fields to change; `null` clears the whole contact.
    #[serde(default)]
    #[schema(value_type = Option<ContactInput>)]
    pub contact: Patch<ContactInput>,
}

/// Filters of the company list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompanyListQuery {
    /// Exact customer number (spaces and case do not matter).
    #[param(example = "K-100234")]
    pub customer_number: Option<String>,
    /// Case- and umlaut-tolerant substring of the name or customer number. Its matches
    /// are counted up to `SEARCH_COUNT_LIMIT` (see `total_relation`).
    #[param(example = "musterfirma")]
    pub q: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}

impl NewCompanyRequest {
    /// The company's columns, or every invalid field.
    pub fn parse(self, now: chrono::NaiveDateTime) -> Result<CompanyData, AppError> {
        UpdateCompanyRequest {
            customer_number: self.customer_number.into(),
            name: self.name.into(),
            address: self.address.into(),
            contact: self.contact,
        }
        .merged_onto(None, now)
    }
}

impl UpdateCompanyRequest {
    /// The company's columns after this patch of `current` (`None`: a new company), or
    /// every invalid field.
    pub fn merged_onto(
        self,
        current: Option<&CompanyData>,
        now: chrono::NaiveDateTime,
    ) -> Result<CompanyData, AppError> {
        let mut errors = FieldErrors::default();
        let customer_number = self.customer_number.required(
            current.map(|c| c.customer_number.clone()),
            "/customer_number",
            &mut errors,
            |raw| RecordNumber::parse(&raw, "/customer_number").map(RecordNumber::into_string),
        );
        let name = self.name.required(
            current.map(|c| c.name.clone()),
            "/name",
            &mut errors,
            |raw| parse_line(&raw, 200, "/name"),
        );
        let current_address = current.map(CompanyData::address);
        let address = match self.address {
            Patch::Value(input) => {
                input.merged_onto(current_address.as_ref(), &mut errors, "/address")
            }
            Patch::Absent if current_address.is_some() => current_address,
            Patch::Absent | Patch::Null => {
                errors.push(FieldError::new("/address", FieldErrorCode::Required));
                None
            }
        };
        let kept = current.map(CompanyData::contact).unwrap_or_default();
        let contact = match self.contact {
            Patch::Absent => Some(kept),
            Patch::Null => Some(Contact::default()),
            Patch::Value(input) => parse_contact(input, kept, &mut errors),
        };
        errors.into_result()?;
        let (Some(customer_number), Some(name), Some(address), Some(contact)) =
            (customer_number, name, address, contact)
        else {
            return Err(AppError::Internal(
                "company fields parsed without errors are complete".into(),
            ));
        };
        Ok(CompanyData {
            search_text: search_text(&[&name, &customer_number]),
            customer_number,
            name,
            street: address.street,
            postal_code: address.postal_code,
            city: address.city,
            country: address.country,
            contact_name: contact.name,
            contact_email: contact.email,
            contact_phone: contact.phone,
            updated_at: now,
        })
    }
}

fn parse_contact(input: ContactInput, kept: Contact, errors: &mut FieldErrors) -> Option<Contact> {
    let name = input.name.optional(kept.name, errors, |raw| {
        parse_line(&raw, 200, "/contact/name")
    });
    let email = input.email.optional(kept.email, errors, |raw| {
        EmailAddress::parse(&raw, "/contact/email").map(|e| e.as_str().to_string())
    });
    let phone = input.phone.optional(kept.phone, errors, |raw| {
        PhoneNumber::parse(&raw, "/contact/phone").map(PhoneNumber::into_string)
    });
    Some(Contact {
        name: name?,
        email: email?,
        phone: phone?,
    })
}
