//! Request and response bodies of company contracts, and their parsing into records.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, EnumString};
use utoipa::{IntoParams, ToSchema};

use crate::contracts::repo::{ContractData, ContractRow};
use crate::domain::choice::parse_choice;
use crate::domain::date::parse_date;
use crate::domain::text::parse_line;
use crate::domain::{Cents, Percent, RecordNumber};
use crate::error::{AppError, FieldError, FieldErrorCode, FieldErrors};
use crate::http::{PageQuery, Patch};
use crate::prices::EmployerShare;
use crate::prices::pricing::ShareKind;

/// State of a company contract.
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
#[schema(example = "active")]
pub enum ContractStatus {
    Active,
    Cancelled,
    Ended,
}

/// A company contract as the operator keeps it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c",
    "contract_number": "FV-2023-0815",
    "company_id": "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b",
    "product_offering": "D-Ticket Job (Rechnung)",
    "status": "active",
    "valid_from": "2023-05-01",
    "valid_to": null,
    "employer_share": {"kind": "percent", "value": "50.00"},
    "created_at": "2024-10-01T08:00:00Z",
    "updated_at": "2024-10-01T08:00:00Z"
}))]
pub struct Contract {
    /// Opaque contract id.
    #[schema(example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")]
    pub id: String,
    /// Contract number, unique, canonical spelling.
    #[schema(example = "FV-2023-0815")]
    pub contract_number: String,
    /// The company the contract belongs to.
    #[schema(example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")]
    pub company_id: String,
    /// Product offering ("Produktangebot").
    #[schema(example = "D-Ticket Job (Rechnung)")]
    pub product_offering: String,
    /// State of the contract.
    pub status: ContractStatus,
    /// First day of validity.
    #[schema(example = "2023-05-01")]
    pub valid_from: NaiveDate,
    /// Last day of validity; `null`: open-ended ("unbefristet").
    #[schema(example = json!(null))]
    pub valid_to: Option<NaiveDate>,
    /// The employer's share (Arbeitgeberanteil); `null` while none is set.
    pub employer_share: Option<EmployerShareBody>,
    /// When the record was created.
    #[schema(example = "2024-10-01T08:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the record was last changed.
    #[schema(example = "2024-10-01T08:00:00Z")]
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<ContractRow> for Contract {
    type Error = AppError;

    fn try_from(row: ContractRow) -> Result<Self, AppError> {
        let employer_share = row.employer_share()?.map(EmployerShareBody::from);
        Ok(Contract {
            id: row.id,
            status: row.data.status.parse().map_err(|_| {
                AppError::Internal(format!("stored contract status {:?}", row.data.status))
            })?,
            contract_number: row.data.contract_number,
            company_id: row.data.company_id,
            product_offering: row.data.product_offering,
            valid_from: row.data.valid_from,
            valid_to: row.data.valid_to,
            employer_share,
            created_at: row.created_at.and_utc(),
            updated_at: row.data.updated_at.and_utc(),
        })
    }
}

/// A new company contract (operator).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "contract_number": "FV-2023-0815",
    "company_id": "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b",
    "product_offering": "D-Ticket Job (Rechnung)",
    "status": "active",
    "valid_from": "2023-05-01",
    "valid_to": null
}))]
pub struct NewContractRequest {
    /// Contract number: 1 to 40 letters, digits and `-./`; spaces dropped, letters
    /// upper-cased. Unique (`409 duplicate_key`).
    #[schema(value_type = String, required = true, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = "FV-2023-0815")]
    pub contract_number: Option<String>,
    /// Id of the company; an unknown one is `unknown_reference`.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64, example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")]
    pub company_id: Option<String>,
    /// Product offering, 1 to 200 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "D-Ticket Job (Rechnung)")]
    pub product_offering: Option<String>,
    /// State of the contract.
    #[schema(value_type = ContractStatus, required = true)]
    pub status: Option<String>,
    /// First day of validity, `YYYY-MM-DD` or `TT.MM.JJJJ`.
    #[schema(value_type = String, required = true, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "2023-05-01")]
    pub valid_from: Option<String>,
    /// Last day of validity, not before `valid_from`; `null` or absent: open-ended.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = json!(null))]
    pub valid_to: Patch<String>,
    /// The employer's share (Arbeitgeberanteil); absent or `null`: none set yet. At
    /// least 25 % of the list price (`422 employer_share_too_low`).
    #[serde(default)]
    #[schema(value_type = Option<EmployerShareInput>)]
    pub employer_share: Patch<EmployerShareInput>,
}

/// Changes to a company contract (operator), as a JSON merge patch.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "cancelled", "valid_to": "2026-12-31"}))]
pub struct UpdateContractRequest {
    /// Contract number; unique (`409 duplicate_key`).
    #[serde(default)]
    #[schema(value_type = String, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = "FV-2023-0815")]
    pub contract_number: Patch<String>,
    /// Id of the company.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 64, example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")]
    pub company_id: Patch<String>,
    /// Product offering, 1 to 200 characters.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "D-Ticket Job (Rechnung)")]
    pub product_offering: Patch<String>,
    /// State of the contract.
    #[serde(default)]
    #[schema(value_type = ContractStatus)]
    pub status: Patch<String>,
    /// First day of validity.
    #[serde(default)]
    #[schema(value_type = String, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "2023-05-01")]
    pub valid_from: Patch<String>,
    /// Last day of validity; `null`: open-ended.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "2026-12-31")]
    pub valid_to: Patch<String>,
    /// The employer's share (Arbeitgeberanteil); `null` removes it. At least 25 % of
    /// the list price in force today, or of the newest price when none is in force yet
    /// (`422 employer_share_too_low` at `/employer_share`).
    #[serde(default)]
    #[schema(value_type = Option<EmployerShareInput>)]
    pub employer_share: Patch<EmployerShareInput>,
}

/// The employer's share of a contract as a request gives it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "percent", "value": "50.00"}))]
pub struct EmployerShareInput {
    /// `percent`: a percentage of the list price; `amount`: euros a month.
    #[schema(value_type = ShareKind, required = true)]
    pub kind: Option<String>,
    /// A percentage from 0 to 100 (`invalid_percent`, `out_of_range`) or an amount in
    /// euros (`invalid_amount`), with a point and at most two places.
    #[schema(value_type = String, required = true, pattern = r"^ *[0-9]{1,6}(\.[0-9]{1,2})? *$", example = "50.00")]
    pub value: Option<String>,
}

impl EmployerShareInput {
    /// The share, or the first invalid field of it.
    pub fn parse(self) -> Result<EmployerShare, FieldError> {
        let kind = parse_choice::<ShareKind>(self.kind.as_deref(), "/employer_share/kind")?;
        let value = self
            .value
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| FieldError::new("/employer_share/value", FieldErrorCode::Required))?;
        Ok(match kind {
            ShareKind::Percent => {
                EmployerShare::Percent(Percent::parse(&value, "/employer_share/value")?)
            }
            ShareKind::Amount => {
                EmployerShare::Amount(Cents::parse(&value, "/employer_share/value")?)
            }
        })
    }
}

/// A contract's employer share as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"kind": "percent", "value": "50.00"}))]
pub struct EmployerShareBody {
    /// `percent`: a percentage of the list price; `amount`: euros a month.
    pub kind: ShareKind,
    /// The percentage or the amount in euros, two decimal places.
    #[schema(example = "50.00")]
    pub value: String,
}

impl From<EmployerShare> for EmployerShareBody {
    fn from(share: EmployerShare) -> Self {
        EmployerShareBody {
            kind: share.kind(),
            value: share.value_text(),
        }
    }
}

/// What a request does to a contract's employer share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareChange {
    Keep,
    Set(Option<EmployerShare>),
}

impl ShareChange {
    /// The change a request's `employer_share` asks for, or its invalid field.
    pub fn parse(patch: Patch<EmployerShareInput>) -> Result<ShareChange, AppError> {
        Ok(match patch {
            Patch::Absent => ShareChange::Keep,
            Patch::Null => ShareChange::Set(None),
            Patch::Value(input) => ShareChange::Set(Some(input.parse()?)),
        })
    }
}

/// Both results, or every field error of both at once.
pub fn both<A, B>(a: Result<A, AppError>, b: Result<B, AppError>) -> Result<(A, B), AppError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(AppError::Validation(mut first)), Err(AppError::Validation(second))) => {
            first.extend(second);
            Err(AppError::Validation(first))
        }
        (Err(error), _) | (_, Err(error)) => Err(error),
    }
}

/// Filters of the operator's contract list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContractListQuery {
    /// Only contracts of this company.
    #[param(example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")]
    pub company_id: Option<String>,
    /// Exact contract number (spaces and case do not matter).
    #[param(example = "FV-2023-0815")]
    pub contract_number: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}

impl NewContractRequest {
    /// The contract's columns; its `employer_share` is the caller's ([`ShareChange`]).
    pub fn parse(self, now: NaiveDateTime) -> Result<ContractData, AppError> {
        UpdateContractRequest {
            contract_number: self.contract_number.into(),
            company_id: self.company_id.into(),
            product_offering: self.product_offering.into(),
            status: self.status.into(),
            valid_from: self.valid_from.into(),
            valid_to: self.valid_to,
            employer_share: Patch::Absent,
        }
        .merged_onto(None, now)
    }
}

impl UpdateContractRequest {
    /// The contract's columns after this patch of `current` (`None`: a new contract).
    /// Whether `company_id` names a company is the caller's check; the employer share is
    /// parsed on its own ([`ShareChange`]).
    pub fn merged_onto(
        self,
        current: Option<&ContractData>,
        now: NaiveDateTime,
    ) -> Result<ContractData, AppError> {
        let mut errors = FieldErrors::default();
        let contract_number = self.contract_number.required(
            current.map(|c| c.contract_number.clone()),
            "/contract_number",
            &mut errors,
            |raw| RecordNumber::parse(&raw, "/contract_number").map(RecordNumber::into_string),
        );
        let company_id = self.company_id.required(
            current.map(|c| c.company_id.clone()),
            "/company_id",
            &mut errors,
            |raw| reference(&raw, "/company_id"),
        );
        let product_offering = self.product_offering.required(
            current.map(|c| c.product_offering.clone()),
            "/product_offering",
            &mut errors,
            |raw| parse_line(&raw, 200, "/product_offering"),
        );
        let status = self.status.required(
            current.map(|c| c.status.clone()),
            "/status",
            &mut errors,
            |raw| {
                parse_choice::<ContractStatus>(Some(&raw), "/status")
                    .map(|s| s.as_ref().to_string())
            },
        );
        let validity = parse_validity(
            self.valid_from,
            self.valid_to,
            current.map(|c| (c.valid_from, c.valid_to)),
            &mut errors,
        );
        errors.into_result()?;
        let (
            Some(contract_number),
            Some(company_id),
            Some(product_offering),
            Some(status),
            Some((valid_from, valid_to)),
        ) = (
            contract_number,
            company_id,
            product_offering,
            status,
            validity,
        )
        else {
            return Err(AppError::Internal(
                "contract fields parsed without errors are complete".into(),
            ));
        };
        Ok(ContractData {
            contract_number,
            company_id,
            product_offering,
            status,
            valid_from,
            valid_to,
            updated_at: now,
        })
    }
}

/// An id naming another record: present, at most 64 characters. Whether the record
/// exists is the caller's check (`unknown_reference`).
pub fn reference(raw: &str, pointer: &str) -> Result<String, FieldError> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(FieldError::new(pointer, FieldErrorCode::Required));
    }
    // No record has such an id; a NUL could not even be compared by PostgreSQL.
    if id.chars().count() > 64 || id.chars().any(char::is_control) {
        return Err(FieldError::new(pointer, FieldErrorCode::UnknownReference));
    }
    Ok(id.to_string())
}

/// `valid_from` and `valid_to` after a patch of `current`: each a date in either
/// spelling, the end not before the start (`ends_before_start` at `/valid_to`).
pub fn parse_validity(
    valid_from: Patch<String>,
    valid_to: Patch<String>,
    current: Option<(NaiveDate, Option<NaiveDate>)>,
    errors: &mut FieldErrors,
) -> Option<(NaiveDate, Option<NaiveDate>)> {
    let from = valid_from.required(
        current.map(|(from, _)| from),
        "/valid_from",
        errors,
        |raw| parse_date(&raw, "/valid_from"),
    );
    let to = valid_to.optional(current.and_then(|(_, to)| to), errors, |raw| {
        parse_date(&raw, "/valid_to")
    });
    let (from, to) = (from?, to?);
    if to.is_some_and(|to| to < from) {
        errors.push(FieldError::new(
            "/valid_to",
            FieldErrorCode::EndsBeforeStart,
        ));
        return None;
    }
    Some((from, to))
}

/// A row of the company portal's contract list (Vertragsverwaltung): the contract with
/// its company's name, customer number and address — the guide's columns.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c",
    "contract_number": "FV-2023-0815",
    "company_id": "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b",
    "company_name": "Musterfirma GmbH",
    "customer_number": "K-100234",
    "street": "Königsplatz 1",
    "postal_code": "34117",
    "city": "Kassel",
    "product_offering": "D-Ticket Job (Rechnung)",
    "status": "active",
    "valid_from": "2023-05-01",
    "valid_to": null
}))]
pub struct ContractListItem {
    /// Opaque contract id.
    #[schema(example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")]
    pub id: String,
    /// Contract number ("Vertragsnummer").
    #[schema(example = "FV-2023-0815")]
    pub contract_number: String,
    /// The company's id.
    #[schema(example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")]
    pub company_id: String,
    /// The company's name ("Firma").
    #[schema(example = "Musterfirma GmbH")]
    pub company_name: String,
    /// The company's customer number ("Kundennummer").
    #[schema(example = "K-100234")]
    pub customer_number: String,
    /// The company's street ("Straße").
    #[schema(example = "Königsplatz 1")]
    pub street: String,
    /// The company's postal code ("Plz.").
    #[schema(example = "34117")]
    pub postal_code: String,
    /// The company's city ("Ort").
    #[schema(example = "Kassel")]
    pub city: String,
    /// Product offering ("Produktangebot").
    #[schema(example = "D-Ticket Job (Rechnung)")]
    pub product_offering: String,
    /// State of the contract ("Status").
    pub status: ContractStatus,
    /// First day of validity.
    #[schema(example = "2023-05-01")]
    pub valid_from: NaiveDate,
    /// Last day of validity; `null`: open-ended.
    #[schema(example = json!(null))]
    pub valid_to: Option<NaiveDate>,
}

/// What the contract list can be sorted by.
#[derive(
    strum::VariantNames,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Deserialize,
    ToSchema,
    EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schema(example = "contract_number")]
pub enum ContractSort {
    #[default]
    ContractNumber,
    CompanyName,
    Street,
    PostalCode,
    City,
    ProductOffering,
    Status,
    ValidFrom,
}

/// Sort direction.
#[derive(
    strum::VariantNames,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Deserialize,
    ToSchema,
    EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schema(example = "asc")]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

/// Search, filters and sorting of the company portal's contract list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PortalContractListQuery {
    /// Only the contracts of the company with this customer number ("Suche
    /// Kundennummer"); exact, spaces and case do not matter.
    #[param(example = "K-100234")]
    pub customer_number: Option<String>,
    /// `true`: only active contracts ("Aktive Verträge": status `active` and today,
    /// Europe/Berlin, within the validity); `false`: only the others.
    #[param(value_type = Option<bool>, example = true)]
    pub active: Option<String>,
    /// Free text: a case- and umlaut-tolerant substring of the contract number, company
    /// name, street, postal code, city or product offering. Its matches are counted up
    /// to `SEARCH_COUNT_LIMIT` (see `total_relation`).
    #[param(example = "muster")]
    pub q: Option<String>,
    /// Only the contracts of this company.
    #[param(example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")]
    pub company_id: Option<String>,
    /// Column to sort by (default `contract_number`); ties are broken by id, so pages
    /// never overlap or skip.
    #[param(value_type = Option<ContractSort>, inline, example = "contract_number")]
    pub sort: Option<String>,
    /// Sort direction (default `asc`).
    #[param(value_type = Option<SortOrder>, inline, example = "asc")]
    pub order: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}

/// The checked parameters of the contract list.
#[derive(Debug, Clone, Default)]
pub struct PortalContractFilter {
    pub customer_number: Option<String>,
    pub active: Option<bool>,
    pub q: Option<String>,
    pub company_id: Option<String>,
    pub sort: ContractSort,
    pub order: SortOrder,
}

impl PortalContractListQuery {
    /// The filter and paging, or every invalid parameter at once.
    pub fn parse(self) -> Result<(PortalContractFilter, crate::http::Paging), AppError> {
        let mut errors = FieldErrors::default();
        let paging = match self.page.paging() {
            Ok(paging) => Some(paging),
            Err(AppError::Validation(fields)) => {
                fields.into_iter().for_each(|f| errors.push(f));
                None
            }
            Err(other) => return Err(other),
        };
        let active = match self.active.as_deref().map(str::trim) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(_) => {
                errors.push(FieldError::new("/active", FieldErrorCode::InvalidType));
                None
            }
        };
        let sort = choice_or_default(self.sort.as_deref(), "/sort", &mut errors);
        let order = choice_or_default(self.order.as_deref(), "/order", &mut errors);
        errors.into_result()?;
        let blank_is_none = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        Ok((
            PortalContractFilter {
                customer_number: blank_is_none(self.customer_number),
                active,
                q: blank_is_none(self.q),
                company_id: blank_is_none(self.company_id),
                sort: sort.unwrap_or_default(),
                order: order.unwrap_or_default(),
            },
            paging.ok_or_else(|| AppError::Internal("paging parsed without errors".into()))?,
        ))
    }
}

/// An absent parameter is the default; a given one, even empty, must be one of the
/// values (`invalid_choice`).
fn choice_or_default<E: std::str::FromStr + strum::VariantNames + Default>(
    raw: Option<&str>,
    pointer: &str,
    errors: &mut FieldErrors,
) -> Option<E> {
    match raw {
        None => Some(E::default()),
        Some(raw) => errors.take(crate::domain::choice::parse_given(raw, pointer)),
    }
}

/// The current customer code of a contract, as its infos show it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0190f3a6-2e3f-7a41-9b52-6c7d8e9f0a1b", "code": "K7QM-3XHD-9PTA", "valid_until": "2026-12-31"}))]
pub struct CurrentCustomerCode {
    /// Opaque id of the code.
    #[schema(example = "0190f3a6-2e3f-7a41-9b52-6c7d8e9f0a1b")]
    pub id: String,
    /// The code, grouped for reading aloud.
    #[schema(example = "K7QM-3XHD-9PTA")]
    pub code: String,
    /// Last day the code is valid (inclusive, Europe/Berlin).
    #[schema(example = "2026-12-31")]
    pub valid_until: NaiveDate,
}

/// Contract infos (the guide's "Infos"): the contract, its company's data, its current
/// customer code and how many subscriptions run under it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c",
    "contract_number": "FV-2023-0815",
    "product_offering": "D-Ticket Job (Rechnung)",
    "status": "active",
    "active": true,
    "valid_from": "2023-05-01",
    "valid_to": null,
    "company": {
        "id": "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b",
        "customer_number": "K-100234",
        "name": "Musterfirma GmbH",
        "address": {"street": "Königsplatz 1", "postal_code": "34117", "city": "Kassel", "country": "DE"},
        "contact": {"name": "Erika Personal", "email": "personal@musterfirma.de", "phone": "+495617001234"}
    },
    "current_customer_code": {"id": "0190f3a6-2e3f-7a41-9b52-6c7d8e9f0a1b", "code": "K7QM-3XHD-9PTA", "valid_until": "2026-12-31"},
    "active_subscriptions": 42,
    "employer_share": {"kind": "percent", "value": "50.00"}
}))]
pub struct ContractInfo {
    /// Opaque contract id.
    #[schema(example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")]
    pub id: String,
    /// Contract number ("Vertragsnummer").
    #[schema(example = "FV-2023-0815")]
    pub contract_number: String,
    /// Product offering ("Produktangebot").
    #[schema(example = "D-Ticket Job (Rechnung)")]
    pub product_offering: String,
    /// State of the contract.
    pub status: ContractStatus,
    /// Whether the contract is active today: status `active` and today (Europe/Berlin)
    /// within its validity. Only then can customer codes be generated.
    #[schema(example = true)]
    pub active: bool,
    /// First day of validity.
    #[schema(example = "2023-05-01")]
    pub valid_from: NaiveDate,
    /// Last day of validity; `null`: open-ended.
    #[schema(example = json!(null))]
    pub valid_to: Option<NaiveDate>,
    /// The company's data ("Firmendaten").
    pub company: PortalCompany,
    /// The valid customer code, if any; `null` when none was generated or the last one
    /// expired or was revoked.
    pub current_customer_code: Option<CurrentCustomerCode>,
    /// Subscriptions under this contract that are active today.
    #[schema(example = 42)]
    pub active_subscriptions: i64,
    /// The employer's share (Arbeitgeberanteil) of each ticket's month, as the operator
    /// set it; `null` while none is set.
    pub employer_share: Option<EmployerShareBody>,
}

/// A company's data as the contract infos show it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b",
    "customer_number": "K-100234",
    "name": "Musterfirma GmbH",
    "address": {"street": "Königsplatz 1", "postal_code": "34117", "city": "Kassel", "country": "DE"},
    "contact": {"name": "Erika Personal", "email": "personal@musterfirma.de", "phone": "+495617001234"}
}))]
pub struct PortalCompany {
    /// Opaque company id.
    #[schema(example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")]
    pub id: String,
    /// Customer number ("Kundennummer").
    #[schema(example = "K-100234")]
    pub customer_number: String,
    /// Company name.
    #[schema(example = "Musterfirma GmbH")]
    pub name: String,
    /// Postal address.
    pub address: crate::domain::Address,
    /// Contact person; every field may be `null`.
    pub contact: crate::companies::types::Contact,
}

impl From<crate::companies::repo::CompanyRow> for PortalCompany {
    fn from(row: crate::companies::repo::CompanyRow) -> Self {
        PortalCompany {
            address: row.data.address(),
            contact: row.data.contact(),
            id: row.id,
            customer_number: row.data.customer_number,
            name: row.data.name,
        }
    }
}

impl TryFrom<crate::contracts::repo::ListedContract> for ContractListItem {
    type Error = AppError;

    fn try_from(row: crate::contracts::repo::ListedContract) -> Result<Self, AppError> {
        Ok(ContractListItem {
            status: parse_status(&row.status)?,
            id: row.id,
            contract_number: row.contract_number,
            company_id: row.company_id,
            company_name: row.company_name,
            customer_number: row.customer_number,
            street: row.street,
            postal_code: row.postal_code,
            city: row.city,
            product_offering: row.product_offering,
            valid_from: row.valid_from,
            valid_to: row.valid_to,
        })
    }
}

pub fn parse_status(stored: &str) -> Result<ContractStatus, AppError> {
    stored
        .parse()
        .map_err(|_| AppError::Internal(format!("stored contract status {stored:?}")))
}
