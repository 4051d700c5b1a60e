//! Request and response bodies of subscriptions, and their parsing into records.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, EnumString};
use utoipa::{IntoParams, ToSchema};

use crate::contracts::types::{parse_validity, reference};
use crate::domain::RecordNumber;
use crate::domain::choice::parse_choice;
use crate::domain::text::parse_line;
use crate::error::{AppError, FieldErrors};
use crate::http::{PageQuery, Patch};
use crate::subscriptions::repo::{SubscriptionData, SubscriptionRow, SubscriptionView};

/// State of a subscription ("Vertragsstatus").
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
pub enum SubscriptionStatus {
    Requested,
    /// In force: running, or starting on `valid_from` when that lies ahead (the
    /// dashboard counts those as `starting`); a cancelled one is `cancelled`.
    Active,
    Paused,
    /// Cancelled; runs until `valid_to`.
    Cancelled,
    Blocked,
    Ended,
}

/// The company contract a subscription runs under.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"contract_number": "FV-2023-0815", "company_name": "Musterfirma GmbH", "product_offering": "D-Ticket Job (Rechnung)"}))]
pub struct CompanyContractSummary {
    /// The company contract's number.
    #[schema(example = "FV-2023-0815")]
    pub contract_number: String,
    /// The company's name.
    #[schema(example = "Musterfirma GmbH")]
    pub company_name: String,
    /// The contract's product offering.
    #[schema(example = "D-Ticket Job (Rechnung)")]
    pub product_offering: String,
}

/// A subscription linked to the account ("Aboverwaltung").
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e",
    "contract_number": "431177",
    "subscription_number": null,
    "chip_card_number": null,
    "product": "Deutschlandticket Job",
    "valid_from": "2023-05-01",
    "valid_to": null,
    "status": "active",
    "expired": false,
    "company_contract": {"contract_number": "FV-2023-0815", "company_name": "Musterfirma GmbH", "product_offering": "D-Ticket Job (Rechnung)"},
    "linked_at": "2024-10-22T09:30:00Z"
}))]
pub struct Subscription {
    /// Opaque subscription id.
    #[schema(example = "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e")]
    pub id: String,
    /// Contract number of the subscription ("Vertragsnummer").
    #[schema(example = "431177")]
    pub contract_number: String,
    /// Subscription number ("Abo Nr."), if any.
    #[schema(example = json!(null))]
    pub subscription_number: Option<String>,
    /// Chip-card number, if any.
    #[schema(example = json!(null))]
    pub chip_card_number: Option<String>,
    /// The ticket's product, what its holder rides on: `Deutschlandticket Job` for
    /// every ticket an order or a staff list makes; an imported ticket carries what the
    /// operator's data names. How the employer is billed is the contract's
    /// `product_offering` (e.g. `D-Ticket Job (Rechnung)`), not this.
    #[schema(example = "Deutschlandticket Job")]
    pub product: String,
    /// First day of validity ("Gültig ab").
    #[schema(example = "2023-05-01")]
    pub valid_from: NaiveDate,
    /// Last day of validity ("Gültig bis"); `null`: "unbefristet".
    #[schema(example = json!(null))]
    pub valid_to: Option<NaiveDate>,
    /// State ("Vertragsstatus").
    pub status: SubscriptionStatus,
    /// Whether it is expired: `valid_to` before today (Europe/Berlin) or `ended`. The
    /// guide's tabs "Verknüpfte Verträge" and "Abgelaufene Abos/Verträge".
    #[schema(example = false)]
    pub expired: bool,
    /// The company contract it runs under, if any.
    pub company_contract: Option<CompanyContractSummary>,
    /// When it was linked to this account.
    #[schema(example = "2024-10-22T09:30:00Z")]
    pub linked_at: Option<DateTime<Utc>>,
}

fn stored_status(value: &str) -> Result<SubscriptionStatus, AppError> {
    value
        .parse()
        .map_err(|_| AppError::Internal(format!("stored subscription status {value:?}")))
}

/// Whether a subscription is expired on `today`.
pub fn is_expired(
    status: SubscriptionStatus,
    valid_to: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    status == SubscriptionStatus::Ended || valid_to.is_some_and(|to| to < today)
}

impl Subscription {
    pub fn from_view(
        (row, contract): SubscriptionView,
        today: NaiveDate,
    ) -> Result<Self, AppError> {
        let status = stored_status(&row.data.status)?;
        Ok(Subscription {
            id: row.id,
            expired: is_expired(status, row.data.valid_to, today),
            status,
            contract_number: row.data.contract_number,
            subscription_number: row.data.subscription_number,
            chip_card_number: row.data.chip_card_number,
            product: row.data.product,
            valid_from: row.data.valid_from,
            valid_to: row.data.valid_to,
            company_contract: contract.map(|c| CompanyContractSummary {
                contract_number: c.contract_number,
                company_name: c.company_name,
                product_offering: c.product_offering,
            }),
            linked_at: row.linked_at.map(|at| at.and_utc()),
        })
    }
}

/// A subscription as the operator keeps it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e",
    "contract_number": "431177",
    "subscription_number": null,
    "chip_card_number": null,
    "product": "Deutschlandticket Job",
    "valid_from": "2023-05-01",
    "valid_to": null,
    "status": "active",
    "customer_id": "0190f3a4-9d3e-7f40-8b12-5e6f7a8b9c0d",
    "company_contract_id": "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c",
    "linked": true,
    "bulk_upload_id": null,
    "created_at": "2024-10-22T09:00:00Z",
    "updated_at": "2024-10-22T09:00:00Z"
}))]
pub struct SubscriptionRecord {
    /// Opaque subscription id.
    #[schema(example = "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e")]
    pub id: String,
    /// Contract number, unique, canonical spelling.
    #[schema(example = "431177")]
    pub contract_number: String,
    /// Subscription number, unique when present.
    #[schema(example = json!(null))]
    pub subscription_number: Option<String>,
    /// Chip-card number, unique when present.
    #[schema(example = json!(null))]
    pub chip_card_number: Option<String>,
    /// The ticket's product, what its holder rides on: `Deutschlandticket Job` for
    /// every ticket an order or a staff list makes; an imported ticket carries what the
    /// operator's data names. How the employer is billed is the contract's
    /// `product_offering` (e.g. `D-Ticket Job (Rechnung)`), not this.
    #[schema(example = "Deutschlandticket Job")]
    pub product: String,
    /// First day of validity.
    #[schema(example = "2023-05-01")]
    pub valid_from: NaiveDate,
    /// Last day of validity; `null`: open-ended.
    #[schema(example = json!(null))]
    pub valid_to: Option<NaiveDate>,
    /// State.
    pub status: SubscriptionStatus,
    /// The holder.
    #[schema(example = "0190f3a4-9d3e-7f40-8b12-5e6f7a8b9c0d")]
    pub customer_id: String,
    /// The company contract it runs under, if any.
    #[schema(example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")]
    pub company_contract_id: Option<String>,
    /// Whether a Self-Service account has linked it.
    #[schema(example = true)]
    pub linked: bool,
    /// The employer's staff list (Massenupload) that made the ticket, if one did: its
    /// report is `GET /contracts/{company_contract_id}/bulk-uploads/{bulk_upload_id}`.
    #[schema(example = json!(null))]
    pub bulk_upload_id: Option<String>,
    /// When the record was created.
    #[schema(example = "2024-10-22T09:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the record was last changed.
    #[schema(example = "2024-10-22T09:00:00Z")]
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<SubscriptionRow> for SubscriptionRecord {
    type Error = AppError;

    fn try_from(row: SubscriptionRow) -> Result<Self, AppError> {
        Ok(SubscriptionRecord {
            id: row.id,
            status: stored_status(&row.data.status)?,
            contract_number: row.data.contract_number,
            subscription_number: row.data.subscription_number,
            chip_card_number: row.data.chip_card_number,
            product: row.data.product,
            valid_from: row.data.valid_from,
            valid_to: row.data.valid_to,
            customer_id: row.data.customer_id,
            company_contract_id: row.data.company_contract_id,
            linked: row.account_id.is_some(),
            bulk_upload_id: row.bulk_upload_id,
            created_at: row.created_at.and_utc(),
            updated_at: row.data.updated_at.and_utc(),
        })
    }
}

/// A new subscription (operator).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "contract_number": "431177",
    "subscription_number": null,
    "chip_card_number": null,
    "product": "Deutschlandticket Job",
    "valid_from": "2023-05-01",
    "valid_to": null,
    "status": "active",
    "customer_id": "0190f3a4-9d3e-7f40-8b12-5e6f7a8b9c0d",
    "company_contract_id": "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"
}))]
pub struct NewSubscriptionRequest {
    /// Contract number: 1 to 40 letters, digits and `-./`; spaces dropped, letters
    /// upper-cased. Unique (`409 duplicate_key`).
    #[schema(value_type = String, required = true, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = "431177")]
    pub contract_number: Option<String>,
    /// Subscription number, the same rules, unique when present.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = json!(null))]
    pub subscription_number: Patch<String>,
    /// Chip-card number, the same rules, unique when present.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = json!(null))]
    pub chip_card_number: Patch<String>,
    /// Product, 1 to 200 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "Deutschlandticket Job")]
    pub product: Option<String>,
    /// First day of validity, `YYYY-MM-DD` or `TT.MM.JJJJ`; any day.
    #[schema(value_type = String, required = true, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "2023-05-01")]
    pub valid_from: Option<String>,
    /// Last day of validity, not before `valid_from`; `null` or absent: open-ended.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = json!(null))]
    pub valid_to: Patch<String>,
    /// State.
    #[schema(value_type = SubscriptionStatus, required = true)]
    pub status: Option<String>,
    /// The holder's customer id (`unknown_reference` if none has it).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64, example = "0190f3a4-9d3e-7f40-8b12-5e6f7a8b9c0d")]
    pub customer_id: Option<String>,
    /// The company contract's id, if it runs under one (`unknown_reference` if none has
    /// it).
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64, example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")]
    pub company_contract_id: Patch<String>,
}

/// Changes to a subscription (operator), as a JSON merge patch.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "cancelled", "valid_to": "2026-12-31"}))]
pub struct UpdateSubscriptionRequest {
    /// Contract number; unique (`409 duplicate_key`).
    #[serde(default)]
    #[schema(value_type = String, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = "431177")]
    pub contract_number: Patch<String>,
    /// Subscription number; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = "A-998877")]
    pub subscription_number: Patch<String>,
    /// Chip-card number; `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = json!(null))]
    pub chip_card_number: Patch<String>,
    /// Product.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "Deutschlandticket Job")]
    pub product: Patch<String>,
    /// First day of validity.
    #[serde(default)]
    #[schema(value_type = String, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "2023-05-01")]
    pub valid_from: Patch<String>,
    /// Last day of validity; `null`: open-ended.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "2026-12-31")]
    pub valid_to: Patch<String>,
    /// State.
    #[serde(default)]
    #[schema(value_type = SubscriptionStatus)]
    pub status: Patch<String>,
    /// The holder's customer id.
    #[serde(default)]
    #[schema(value_type = String, min_length = 1, max_length = 64, example = "0190f3a4-9d3e-7f40-8b12-5e6f7a8b9c0d")]
    pub customer_id: Patch<String>,
    /// The company contract's id; `null`: runs under none.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64, example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")]
    pub company_contract_id: Patch<String>,
}

impl NewSubscriptionRequest {
    pub fn parse(self, now: NaiveDateTime) -> Result<SubscriptionData, AppError> {
        UpdateSubscriptionRequest {
            contract_number: self.contract_number.into(),
            subscription_number: self.subscription_number,
            chip_card_number: self.chip_card_number,
            product: self.product.into(),
            valid_from: self.valid_from.into(),
            valid_to: self.valid_to,
            status: self.status.into(),
            customer_id: self.customer_id.into(),
            company_contract_id: self.company_contract_id,
        }
        .merged_onto(None, now)
    }
}

impl UpdateSubscriptionRequest {
    /// The subscription's columns after this patch of `current` (`None`: a new one).
    /// Whether the referenced customer and contract exist is the caller's check.
    pub fn merged_onto(
        self,
        current: Option<&SubscriptionData>,
        now: NaiveDateTime,
    ) -> Result<SubscriptionData, AppError> {
        let mut errors = FieldErrors::default();
        let number = |pointer: &'static str| {
            move |raw: String| RecordNumber::parse(&raw, pointer).map(RecordNumber::into_string)
        };
        let contract_number = self.contract_number.required(
            current.map(|c| c.contract_number.clone()),
            "/contract_number",
            &mut errors,
            number("/contract_number"),
        );
        let subscription_number = self.subscription_number.optional(
            current.and_then(|c| c.subscription_number.clone()),
            &mut errors,
            number("/subscription_number"),
        );
        let chip_card_number = self.chip_card_number.optional(
            current.and_then(|c| c.chip_card_number.clone()),
            &mut errors,
            number("/chip_card_number"),
        );
        let product = self.product.required(
            current.map(|c| c.product.clone()),
            "/product",
            &mut errors,
            |raw| parse_line(&raw, 200, "/product"),
        );
        let validity = parse_validity(
            self.valid_from,
            self.valid_to,
            current.map(|c| (c.valid_from, c.valid_to)),
            &mut errors,
        );
        let status = self.status.required(
            current.map(|c| c.status.clone()),
            "/status",
            &mut errors,
            |raw| {
                parse_choice::<SubscriptionStatus>(Some(&raw), "/status")
                    .map(|s| s.as_ref().to_string())
            },
        );
        let customer_id = self.customer_id.required(
            current.map(|c| c.customer_id.clone()),
            "/customer_id",
            &mut errors,
            |raw| reference(&raw, "/customer_id"),
        );
        let company_contract_id = self.company_contract_id.optional(
            current.and_then(|c| c.company_contract_id.clone()),
            &mut errors,
            |raw| reference(&raw, "/company_contract_id"),
        );
        errors.into_result()?;
        let (
            Some(contract_number),
            Some(subscription_number),
            Some(chip_card_number),
            Some(product),
            Some((valid_from, valid_to)),
            Some(status),
            Some(customer_id),
            Some(company_contract_id),
        ) = (
            contract_number,
            subscription_number,
            chip_card_number,
            product,
            validity,
            status,
            customer_id,
            company_contract_id,
        )
        else {
            return Err(AppError::Internal(
                "subscription fields parsed without errors are complete".into(),
            ));
        };
        Ok(SubscriptionData {
            contract_number,
            subscription_number,
            chip_card_number,
            product,
            valid_from,
            valid_to,
            status,
            customer_id,
            company_contract_id,
            updated_at: now,
        })
    }
}

/// Filters of the operator's subscription list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubscriptionListQuery {
    /// Exact contract number (spaces and case do not matter).
    #[param(example = "431177")]
    pub contract_number: Option<String>,
    /// Only subscriptions of this customer.
    #[param(example = "0190f3a4-9d3e-7f40-8b12-5e6f7a8b9c0d")]
    pub customer_id: Option<String>,
    /// Only subscriptions under this company contract.
    #[param(example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")]
    pub company_contract_id: Option<String>,
    /// Only the tickets this staff list (Massenupload) made.
    #[param(example = "0190f3c2-5d6e-7f80-9a1b-2c3d4e5f6a7b")]
    pub bulk_upload_id: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}

/// Which tab of the Aboverwaltung.
#[derive(
    strum::VariantNames,
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Deserialize,
    ToSchema,
    EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schema(example = "linked")]
pub enum LinkedStateParam {
    /// "Verknüpfte Verträge": the linked subscriptions that are not expired.
    #[default]
    Linked,
    /// "Abgelaufene Abos/Verträge".
    Expired,
}

/// The Aboverwaltung's list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MySubscriptionsQuery {
    /// `linked` (default): the non-expired ones; `expired`: the expired ones.
    #[param(value_type = Option<LinkedStateParam>, example = "linked")]
    pub state: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}

/// Link a subscription ("Neues Abo verknüpfen", guide steps 7–9). Every field is
/// required; all empty ones are reported at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"number": "431177", "birth_date": "05.10.2000", "last_name": "Musterjobber", "postal_code": "34117"}))]
pub struct LinkRequest {
    /// The subscription's contract, subscription or chip-card number
    /// ("Abo-/Vertrags-/Chipkarten-Nummer"); spaces do not matter.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 60, example = "431177")]
    pub number: Option<String>,
    /// The holder's birth date, `YYYY-MM-DD` or `TT.MM.JJJJ`.
    #[schema(value_type = String, required = true, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "05.10.2000")]
    pub birth_date: Option<String>,
    /// The holder's last name; case, umlaut spelling (`ü` = `ue`), `ß` = `ss` and
    /// spaces do not matter.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Musterjobber")]
    pub last_name: Option<String>,
    /// The postal code of the holder's address ("PLZ"); spaces do not matter.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 10, example = "34117")]
    pub postal_code: Option<String>,
}
