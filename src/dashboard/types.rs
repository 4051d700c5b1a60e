//! The dashboard's response and query.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Contracts by state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"active": 3, "cancelled": 1, "ended": 2}))]
pub struct ContractCounts {
    /// Status `active` and today (Europe/Berlin) within the validity.
    #[schema(example = 3)]
    pub active: i64,
    /// Status `cancelled`.
    #[schema(example = 1)]
    pub cancelled: i64,
    /// All others: status `ended`, or `active` outside the validity.
    #[schema(example = 2)]
    pub ended: i64,
}

/// Customer codes by state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"valid": 3, "expiring_within_30_days": 1}))]
pub struct CodeCounts {
    /// Codes valid today (including those expiring within 30 days).
    #[schema(example = 3)]
    pub valid: i64,
    /// Valid codes whose last day lies within the next 30 days.
    #[schema(example = 1)]
    pub expiring_within_30_days: i64,
}

/// Portal users by role and state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"admins": 1, "members": 2, "invited": 1}))]
pub struct UserCounts {
    /// Active admins.
    #[schema(example = 1)]
    pub admins: i64,
    /// Active members.
    #[schema(example = 2)]
    pub members: i64,
    /// Invitations not accepted yet.
    #[schema(example = 1)]
    pub invited: i64,
}

/// Applications (Anträge) by state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"pending": 4}))]
pub struct ApplicationCounts {
    /// Applications waiting for the employer's decision.
    #[schema(example = 4)]
    pub pending: i64,
}

/// Tickets under the contracts.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"active": 128, "starting": 5, "cancelled_this_month": 3}))]
pub struct SubscriptionCounts {
    /// Running today: status `active` and today (Europe/Berlin) within the validity, as
    /// the contract list counts "active". Tickets that have not begun yet are in
    /// `starting`.
    #[schema(example = 128)]
    pub active: i64,
    /// Starting later: status `active` with `valid_from` after today (an approved order
    /// or a staff-list row for next month). The ticket list shows them with status
    /// `active`.
    #[schema(example = 5)]
    pub starting: i64,
    /// Cancellations made in the current calendar month (Europe/Berlin).
    #[schema(example = 3)]
    pub cancelled_this_month: i64,
}

/// The dashboard's counts.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "contracts": {"active": 3, "cancelled": 1, "ended": 2},
    "active_subscriptions": 128,
    "subscriptions": {"active": 128, "starting": 5, "cancelled_this_month": 3},
    "applications": {"pending": 4},
    "customer_codes": {"valid": 3, "expiring_within_30_days": 1},
    "users": {"admins": 1, "members": 2, "invited": 1}
}))]
pub struct Dashboard {
    /// Contracts by state.
    pub contracts: ContractCounts,
    /// Subscriptions under these contracts that are active today (the same number as
    /// `subscriptions.active`, kept for earlier clients).
    #[schema(example = 128)]
    pub active_subscriptions: i64,
    /// Tickets under these contracts.
    pub subscriptions: SubscriptionCounts,
    /// Applications under these contracts.
    pub applications: ApplicationCounts,
    /// Customer codes by state.
    pub customer_codes: CodeCounts,
    /// Portal users by role and state.
    pub users: UserCounts,
}

/// Which company the dashboard counts.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// One company (one of the account's, or any for operators); absent: all of the
    /// account's companies (operators: all companies).
    #[param(example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")]
    pub company_id: Option<String>,
}
