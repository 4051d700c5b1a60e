//! Request and response bodies of a contract's tickets and their cancellation.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use strum::EnumString;
use utoipa::{IntoParams, ToSchema};

use crate::contracts::types::SortOrder;
use crate::domain::choice::parse_given;
use crate::domain::month::{last_of_month, parse_month};
use crate::error::{AppError, FieldErrorCode, FieldErrors};
use crate::http::{PageQuery, Paging};
use crate::subscriptions::types::SubscriptionStatus;

/// A ticket under the contract, as the employer sees it: no birth date, address or
/// phone.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3b1-4c5d-7e6f-8a9b-0c1d2e3f4a5b",
    "contract_number": "JT-00000042",
    "personnel_number": "P-1234",
    "first_name": "Max",
    "last_name": "Musterjobber",
    "status": "active",
    "valid_from": "2027-01-01",
    "valid_to": null,
    "linked": true
}))]
pub struct ContractTicket {
    /// Opaque subscription id.
    #[schema(example = "0190f3b1-4c5d-7e6f-8a9b-0c1d2e3f4a5b")]
    pub id: String,
    /// The ticket's contract number.
    #[schema(example = "JT-00000042")]
    pub contract_number: String,
    /// The employer's personnel number, or `null`.
    #[schema(example = "P-1234")]
    pub personnel_number: Option<String>,
    /// The holder's first name.
    #[schema(example = "Max")]
    pub first_name: String,
    /// The holder's last name.
    #[schema(example = "Musterjobber")]
    pub last_name: String,
    /// Status; `cancelled` runs until `valid_to`.
    pub status: SubscriptionStatus,
    /// First day.
    #[schema(example = "2027-01-01")]
    pub valid_from: NaiveDate,
    /// Last day; `null` while unbefristet.
    #[schema(example = json!(null))]
    pub valid_to: Option<NaiveDate>,
    /// Whether an employee has linked it to their account.
    #[schema(example = true)]
    pub linked: bool,
}

/// Column the contract's ticket list sorts by.
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
pub enum TicketSort {
    #[default]
    ContractNumber,
    PersonnelNumber,
    LastName,
    Status,
    ValidFrom,
    ValidTo,
}

/// Filters, search and sorting of a contract's tickets.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketListQuery {
    /// Only tickets with this status.
    #[param(value_type = Option<SubscriptionStatus>, inline, example = "active")]
    pub status: Option<String>,
    /// Free text: a case- and umlaut-tolerant substring of the holder's first or last
    /// name, or of the contract or personnel number. Its matches are counted up to
    /// `SEARCH_COUNT_LIMIT` (see `total_relation`).
    #[param(example = "musterjob")]
    pub q: Option<String>,
    /// Column to sort by (default `contract_number`); ties are broken by id.
    #[param(value_type = Option<TicketSort>, inline, example = "contract_number")]
    pub sort: Option<String>,
    /// Sort direction (default `asc`).
    #[param(value_type = Option<SortOrder>, inline, example = "asc")]
    pub order: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}

/// The checked parameters of the ticket list.
#[derive(Debug, Clone)]
pub struct TicketFilter {
    pub status: Option<SubscriptionStatus>,
    pub q: Option<String>,
    pub sort: TicketSort,
    pub order: SortOrder,
}

impl TicketListQuery {
    /// The filter and paging, or every invalid parameter at once.
    pub fn parse(self) -> Result<(TicketFilter, Paging), AppError> {
        let mut errors = FieldErrors::default();
        let paging = match self.page.paging() {
            Ok(paging) => Some(paging),
            Err(AppError::Validation(fields)) => {
                fields.into_iter().for_each(|f| errors.push(f));
                None
            }
            Err(other) => return Err(other),
        };
        let mut choice = |raw: Option<&str>, pointer: &str| -> Option<String> {
            raw.map(|raw| raw.trim().to_string()).filter(|raw| {
                let known = match pointer {
                    "/status" => parse_given::<SubscriptionStatus>(raw, pointer).map(drop),
                    "/sort" => parse_given::<TicketSort>(raw, pointer).map(drop),
                    _ => parse_given::<SortOrder>(raw, pointer).map(drop),
                };
                known.map_err(|error| errors.push(error)).is_ok()
            })
        };
        let status = choice(self.status.as_deref(), "/status");
        let sort = choice(self.sort.as_deref(), "/sort");
        let order = choice(self.order.as_deref(), "/order");
        errors.into_result()?;
        Ok((
            TicketFilter {
                status: status.and_then(|s| s.parse().ok()),
                q: self.q.filter(|q| !q.trim().is_empty()),
                sort: sort.and_then(|s| s.parse().ok()).unwrap_or_default(),
                order: order.and_then(|s| s.parse().ok()).unwrap_or_default(),
            },
            paging.ok_or_else(|| AppError::Internal("paging parsed without errors".into()))?,
        ))
    }
}

/// A cancellation (Kündigung); the body may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"effective_month": "2027-03"}))]
pub struct CancellationRequest {
    /// The last month the ticket runs, `YYYY-MM`; its last day becomes `valid_to`.
    /// Absent: the earliest the deadline allows (this month when cancelled on or
    /// before the 10th, Europe/Berlin, else next month); an earlier one is
    /// `month_too_early`.
    #[schema(value_type = Option<String>, pattern = r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$", example = "2027-03")]
    pub effective_month: Option<String>,
}

impl CancellationRequest {
    /// The last day the ticket runs, from the earliest end the deadline allows.
    pub fn last_day(self, earliest_end: NaiveDate) -> Result<NaiveDate, AppError> {
        let Some(raw) = self.effective_month else {
            return Ok(earliest_end);
        };
        let month = parse_month(&raw, "/effective_month")?;
        let last_day = last_of_month(month);
        if last_day < earliest_end {
            return Err(AppError::field(
                "/effective_month",
                FieldErrorCode::MonthTooEarly,
            ));
        }
        Ok(last_day)
    }
}

/// A ticket after its cancellation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3b1-4c5d-7e6f-8a9b-0c1d2e3f4a5b",
    "contract_number": "JT-00000042",
    "status": "cancelled",
    "valid_from": "2027-01-01",
    "valid_to": "2027-03-31",
    "cancelled_at": "2027-03-04T09:00:00Z"
}))]
pub struct Cancellation {
    /// Opaque subscription id.
    #[schema(example = "0190f3b1-4c5d-7e6f-8a9b-0c1d2e3f4a5b")]
    pub id: String,
    /// The ticket's contract number.
    #[schema(example = "JT-00000042")]
    pub contract_number: String,
    /// `cancelled` (runs until `valid_to`), or `ended` when it would not have started
    /// by then (it then shows among the expired at once).
    pub status: SubscriptionStatus,
    /// First day.
    #[schema(example = "2027-01-01")]
    pub valid_from: NaiveDate,
    /// Last day it runs (for an `ended` one that never ran: the day before
    /// `valid_from`).
    #[schema(example = "2027-03-31")]
    pub valid_to: NaiveDate,
    /// When it was cancelled.
    #[schema(example = "2027-03-04T09:00:00Z")]
    pub cancelled_at: DateTime<Utc>,
}
