//! Bodies of monthly statements (Abrechnungen) and the operator's month overview.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, EnumString};
use utoipa::{IntoParams, ToSchema};

use crate::contracts::types::{EmployerShareBody, SortOrder};
use crate::error::{AppError, FieldErrors};
use crate::http::{PageQuery, Paging, TotalRelation};
use crate::prices::MonthPrice;
use crate::subscriptions::types::SubscriptionStatus;
use crate::tickets::types::TicketSort;

/// Whether a statement can still change.
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
#[schema(example = "final")]
pub enum StatementStatus {
    /// The month has not ended (Europe/Berlin), or its statement was not frozen yet:
    /// computed from the tickets as they are now.
    Provisional,
    /// Frozen after the month ended: later corrections of ticket data never change it.
    Final,
}

/// The contract a statement is for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c", "contract_number": "FV-2023-0815", "company_name": "Musterfirma GmbH", "customer_number": "K-100234"}))]
pub struct StatementContract {
    /// Opaque contract id.
    #[schema(example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")]
    pub id: String,
    /// Contract number ("Vertragsnummer").
    #[schema(example = "FV-2023-0815")]
    pub contract_number: String,
    /// The company's name.
    #[schema(example = "Musterfirma GmbH")]
    pub company_name: String,
    /// The company's customer number ("Kundennummer").
    #[schema(example = "K-100234")]
    pub customer_number: String,
}

/// What one ticket's month costs and who pays what, in euros with two places.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"list_price": "63.00", "job_price": "59.85", "employer_share": "31.50", "employee_share": "28.35"}))]
pub struct StatementPrice {
    /// The month's list price.
    #[schema(example = "63.00")]
    pub list_price: String,
    /// The list price less the job discount.
    #[schema(example = "59.85")]
    pub job_price: String,
    /// What the employer pays, at most the job price.
    #[schema(example = "31.50")]
    pub employer_share: String,
    /// What the employee pays (deducted from the salary): the job price less the
    /// employer's share, never below 0.
    #[schema(example = "28.35")]
    pub employee_share: String,
}

impl From<MonthPrice> for StatementPrice {
    fn from(price: MonthPrice) -> Self {
        StatementPrice {
            list_price: price.list_price.to_string(),
            job_price: price.job_price.to_string(),
            employer_share: price.employer_share.to_string(),
            employee_share: price.employee_share.to_string(),
        }
    }
}

/// Sums over every ticket of the month, in euros with two places.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"job_price": "2513.70", "employer_share": "1323.00", "employee_share": "1190.70"}))]
pub struct StatementTotals {
    /// Sum of the job prices: what the operator invoices.
    #[schema(example = "2513.70")]
    pub job_price: String,
    /// Sum of the employer's shares.
    #[schema(example = "1323.00")]
    pub employer_share: String,
    /// Sum of the employees' shares (salary deductions).
    #[schema(example = "1190.70")]
    pub employee_share: String,
}

impl StatementTotals {
    pub fn of(price: MonthPrice, tickets: i64) -> StatementTotals {
        StatementTotals {
            job_price: price.job_price.times(tickets).to_string(),
            employer_share: price.employer_share.times(tickets).to_string(),
            employee_share: price.employee_share.times(tickets).to_string(),
        }
    }
}

/// One ticket of a month's statement. No birth date, address or phone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "subscription_id": "0190f3a5-3c4d-7e5f-8a6b-7c8d9e0f1a2b",
    "contract_number": "431177",
    "personnel_number": "P-4711",
    "first_name": "Max",
    "last_name": "Musterjobber",
    "valid_from": "2026-01-01",
    "valid_to": null,
    "status": "active",
    "job_price": "59.85",
    "employer_share": "31.50",
    "employee_share": "28.35"
}))]
pub struct StatementItem {
    /// The ticket's id.
    #[schema(example = "0190f3a5-3c4d-7e5f-8a6b-7c8d9e0f1a2b")]
    pub subscription_id: String,
    /// The ticket's contract number ("Vertragsnummer" of the subscription).
    #[schema(example = "431177")]
    pub contract_number: String,
    /// The employer's personnel number, if known.
    #[schema(example = "P-4711")]
    pub personnel_number: Option<String>,
    /// The holder's first name.
    #[schema(example = "Max")]
    pub first_name: String,
    /// The holder's last name.
    #[schema(example = "Musterjobber")]
    pub last_name: String,
    /// First day of the ticket.
    #[schema(example = "2026-01-01")]
    pub valid_from: NaiveDate,
    /// Last day of the ticket; `null`: open-ended.
    #[schema(example = json!(null))]
    pub valid_to: Option<NaiveDate>,
    /// The ticket's status (as frozen, for a final statement).
    pub status: SubscriptionStatus,
    /// The month's job price of this ticket.
    #[schema(example = "59.85")]
    pub job_price: String,
    /// The employer's share of it.
    #[schema(example = "31.50")]
    pub employer_share: String,
    /// The employee's share of it.
    #[schema(example = "28.35")]
    pub employee_share: String,
}

/// A contract's monthly statement (Abrechnung): the tickets that ran in the month, with
/// prices, shares and totals. `items` are paged; `tickets` and `totals` cover the whole
/// month.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "contract": {"id": "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c", "contract_number": "FV-2023-0815", "company_name": "Musterfirma GmbH", "customer_number": "K-100234"},
    "month": "2026-11",
    "price": {"list_price": "63.00", "job_price": "59.85", "employer_share": "31.50", "employee_share": "28.35"},
    "employer_share_set": {"kind": "percent", "value": "50.00"},
    "share_below_minimum": false,
    "tickets": 42,
    "totals": {"job_price": "2513.70", "employer_share": "1323.00", "employee_share": "1190.70"},
    "status": "final",
    "final_at": "2026-12-01T02:00:00Z",
    "items": [{
        "subscription_id": "0190f3a5-3c4d-7e5f-8a6b-7c8d9e0f1a2b",
        "contract_number": "431177",
        "personnel_number": "P-4711",
        "first_name": "Max",
        "last_name": "Musterjobber",
        "valid_from": "2026-01-01",
        "valid_to": null,
        "status": "active",
        "job_price": "59.85",
        "employer_share": "31.50",
        "employee_share": "28.35"
    }],
    "total": 42,
    "page": 1,
    "per_page": 25,
    "total_relation": "eq"
}))]
pub struct Statement {
    pub contract: StatementContract,
    /// The month, `YYYY-MM`.
    #[schema(example = "2026-11")]
    pub month: String,
    /// One ticket's month: list price, job price and the two shares.
    pub price: StatementPrice,
    /// The employer's share as set on the contract (as frozen, for a final statement);
    /// `null`: none set, so the employer pays nothing.
    pub employer_share_set: Option<EmployerShareBody>,
    /// The share as set is below 25 % of this month's list price (or none is set).
    #[schema(example = false)]
    pub share_below_minimum: bool,
    /// Tickets counted in the month: every ticket whose validity overlaps it, whatever
    /// its status except `requested`. No ticket counts pro rata.
    #[schema(example = 42)]
    pub tickets: i64,
    /// Sums over all tickets of the month.
    pub totals: StatementTotals,
    /// `provisional` until the month has ended and the statement was frozen.
    pub status: StatementStatus,
    /// When the statement was frozen; `null` while provisional.
    #[schema(example = "2026-12-01T02:00:00Z")]
    pub final_at: Option<DateTime<Utc>>,
    /// One page of the month's tickets.
    pub items: Vec<StatementItem>,
    /// How many items the month has (equals `tickets`).
    #[schema(example = 42)]
    pub total: i64,
    /// This page's number, from 1.
    #[schema(example = 1)]
    pub page: i64,
    /// Items per page.
    #[schema(example = 25)]
    pub per_page: i64,
    /// Always `eq`: a statement's items are counted exactly.
    pub total_relation: TotalRelation,
}

/// Sorting and paging of a statement's items.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// Column to sort by (default `last_name`, then `first_name`); ties are broken by
    /// the ticket's id.
    #[param(value_type = Option<TicketSort>, inline, example = "last_name")]
    pub sort: Option<String>,
    /// Sort direction (default `asc`).
    #[param(value_type = Option<SortOrder>, inline, example = "asc")]
    pub order: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}

/// Checked sorting of a statement's items.
#[derive(Debug, Clone, Copy)]
pub struct ItemOrder {
    pub sort: TicketSort,
    pub order: SortOrder,
}

impl ItemOrder {
    /// The files' order: by name.
    pub const BY_NAME: ItemOrder = ItemOrder {
        sort: TicketSort::LastName,
        order: SortOrder::Asc,
    };
}

impl StatementQuery {
    pub fn parse(self) -> Result<(ItemOrder, Paging), AppError> {
        let mut errors = FieldErrors::default();
        let paging = errors.take_all(self.page.paging())?;
        let sort = given(self.sort.as_deref(), "/sort", &mut errors);
        let order = given(self.order.as_deref(), "/order", &mut errors);
        errors.into_result()?;
        Ok((
            ItemOrder {
                sort: sort.flatten().unwrap_or(TicketSort::LastName),
                order: order.flatten().unwrap_or_default(),
            },
            paging.ok_or_else(|| AppError::Internal("paging parsed without errors".into()))?,
        ))
    }
}

/// An optional choice: absent is `Some(None)`, a bad one an error (then `None`).
pub fn given<E: std::str::FromStr + strum::VariantNames>(
    raw: Option<&str>,
    pointer: &str,
    errors: &mut FieldErrors,
) -> Option<Option<E>> {
    match raw {
        None => Some(None),
        Some(raw) => errors
            .take(crate::domain::choice::parse_given(raw, pointer))
            .map(Some),
    }
}

/// One contract's line of a month's overview (operator).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "contract_id": "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c",
    "contract_number": "FV-2023-0815",
    "company_name": "Musterfirma GmbH",
    "customer_number": "K-100234",
    "tickets": 42,
    "totals": {"job_price": "2513.70", "employer_share": "1323.00", "employee_share": "1190.70"},
    "status": "final"
}))]
pub struct OverviewLine {
    /// Opaque contract id.
    #[schema(example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")]
    pub contract_id: String,
    /// Contract number.
    #[schema(example = "FV-2023-0815")]
    pub contract_number: String,
    /// The company's name.
    #[schema(example = "Musterfirma GmbH")]
    pub company_name: String,
    /// The company's customer number.
    #[schema(example = "K-100234")]
    pub customer_number: String,
    /// Tickets counted in the month.
    #[schema(example = 42)]
    pub tickets: i64,
    /// Sums over the month's tickets; `null` when no price holds for the contract's
    /// product in the month (its statement answers `409 price_missing`).
    pub totals: Option<StatementTotals>,
    /// `final` once the contract's statement of the month was frozen.
    pub status: StatementStatus,
}

/// What the month overview can be sorted by.
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
pub enum OverviewSort {
    #[default]
    ContractNumber,
    CompanyName,
    Tickets,
    /// The sum of the job prices.
    Total,
}

/// Filter, sorting and paging of the month overview.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// Only the contracts of the company with this customer number (exact; spaces and
    /// case do not matter).
    #[param(example = "K-100234")]
    pub customer_number: Option<String>,
    /// Column to sort by (default `contract_number`); ties are broken by contract id.
    #[param(value_type = Option<OverviewSort>, inline, example = "contract_number")]
    pub sort: Option<String>,
    /// Sort direction (default `asc`).
    #[param(value_type = Option<SortOrder>, inline, example = "asc")]
    pub order: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}

/// The month overview's CSV filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OverviewFileQuery {
    /// Only the contracts of the company with this customer number.
    #[param(example = "K-100234")]
    pub customer_number: Option<String>,
}

/// Checked overview parameters.
#[derive(Debug, Clone)]
pub struct OverviewFilter {
    pub customer_number: Option<String>,
    pub sort: OverviewSort,
    pub order: SortOrder,
}

impl OverviewQuery {
    pub fn parse(self) -> Result<(OverviewFilter, Paging), AppError> {
        let mut errors = FieldErrors::default();
        let paging = errors.take_all(self.page.paging())?;
        let sort = given(self.sort.as_deref(), "/sort", &mut errors);
        let order = given(self.order.as_deref(), "/order", &mut errors);
        errors.into_result()?;
        Ok((
            OverviewFilter {
                customer_number: self.customer_number.filter(|c| !c.trim().is_empty()),
                sort: sort.flatten().unwrap_or_default(),
                order: order.flatten().unwrap_or_default(),
            },
            paging.ok_or_else(|| AppError::Internal("paging parsed without errors".into()))?,
        ))
    }
}

/// What re-opening a month did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"month": "2026-11", "reopened": 120}))]
pub struct ReopenedMonth {
    /// The month, `YYYY-MM`.
    #[schema(example = "2026-11")]
    pub month: String,
    /// How many final statements became provisional again; each is frozen anew on its
    /// next read.
    #[schema(example = 120)]
    pub reopened: i64,
}

/// The amounts of one ticket, repeated in every item.
pub fn item_amounts(price: MonthPrice) -> (String, String, String) {
    (
        price.job_price.to_string(),
        price.employer_share.to_string(),
        price.employee_share.to_string(),
    )
}
