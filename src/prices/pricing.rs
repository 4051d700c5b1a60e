//! What a month of D-Ticket Job costs whom. The job price is the list price less the job
//! discount; the employer pays its share — a percent of the *list* price or a fixed
//! amount, at most the job price — and the employee the rest. Every amount rounds half
//! up to the cent; no ticket is counted pro rata.

use serde::{Deserialize, Serialize};
use strum::{AsRefStr, EnumString};
use utoipa::ToSchema;

use crate::domain::{Cents, Percent};
use crate::error::AppError;

/// The D-Ticket Job rules: the employer pays at least 25 % of the list price.
pub const MINIMUM_EMPLOYER_SHARE: Percent = Percent(2_500);

/// How a contract's employer share is given.
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
#[schema(example = "percent")]
pub enum ShareKind {
    /// A percentage of the list price.
    Percent,
    /// A fixed amount in euros a month.
    Amount,
}

/// A contract's employer share (Arbeitgeberanteil).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmployerShare {
    Percent(Percent),
    Amount(Cents),
}

impl EmployerShare {
    /// The share as stored: its kind and its value (hundredths of a percent, or cents).
    pub fn to_columns(self) -> (String, i64) {
        match self {
            EmployerShare::Percent(p) => (ShareKind::Percent.as_ref().to_string(), p.0),
            EmployerShare::Amount(c) => (ShareKind::Amount.as_ref().to_string(), c.0),
        }
    }

    /// The stored share, if one is set.
    pub fn from_columns(kind: Option<&str>, value: Option<i64>) -> Result<Option<Self>, AppError> {
        match (kind, value) {
            (None, None) => Ok(None),
            (Some("percent"), Some(value)) => Ok(Some(EmployerShare::Percent(Percent(value)))),
            (Some("amount"), Some(value)) => Ok(Some(EmployerShare::Amount(Cents(value)))),
            (kind, value) => Err(AppError::Internal(format!(
                "stored employer share {kind:?} {value:?}"
            ))),
        }
    }

    pub fn kind(self) -> ShareKind {
        match self {
            EmployerShare::Percent(_) => ShareKind::Percent,
            EmployerShare::Amount(_) => ShareKind::Amount,
        }
    }

    /// The value as the API writes it: `"50.00"` (percent) or `"31.50"` (euros).
    pub fn value_text(self) -> String {
        match self {
            EmployerShare::Percent(p) => p.to_string(),
            EmployerShare::Amount(c) => c.to_string(),
        }
    }

    /// The share of a month with this list price, before the cap at the job price.
    pub fn of(self, list_price: Cents) -> Cents {
        match self {
            EmployerShare::Percent(p) => list_price.percent(p),
            EmployerShare::Amount(c) => c,
        }
    }

    /// Whether the share is below the 25 % minimum of this list price. A percentage is
    /// compared as a percentage: rounding 24.99 % of a small price could reach 25 %.
    pub fn below_minimum(self, list_price: Cents) -> bool {
        match self {
            EmployerShare::Percent(p) => p < MINIMUM_EMPLOYER_SHARE,
            EmployerShare::Amount(c) => c < list_price.percent(MINIMUM_EMPLOYER_SHARE),
        }
    }
}

/// A price list entry's amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceEntry {
    pub list_price: Cents,
    pub job_discount: Percent,
}

impl PriceEntry {
    /// The list price less the discount, the discount rounded half up to the cent.
    pub fn job_price(self) -> Cents {
        Cents(self.list_price.0 - self.list_price.percent(self.job_discount).0)
    }

    /// One ticket's month under a contract with this share (none set: the employer pays
    /// nothing, and the share is below the minimum).
    pub fn month(self, share: Option<EmployerShare>) -> MonthPrice {
        MonthPrice::of(self.list_price, self.job_price(), share)
    }
}

impl MonthPrice {
    /// The shares of a month with this list and job price.
    pub fn of(list_price: Cents, job_price: Cents, share: Option<EmployerShare>) -> MonthPrice {
        let employer_share = share
            .map(|s| s.of(list_price).min(job_price))
            .unwrap_or_default();
        MonthPrice {
            list_price,
            job_price,
            employer_share,
            employee_share: Cents(job_price.0 - employer_share.0),
            share_below_minimum: share.is_none_or(|s| s.below_minimum(list_price)),
        }
    }
}

/// What one ticket's month costs, and who pays what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthPrice {
    pub list_price: Cents,
    pub job_price: Cents,
    pub employer_share: Cents,
    pub employee_share: Cents,
    /// The share as set is below 25 % of this month's list price.
    pub share_below_minimum: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const D_TICKET_2026: PriceEntry = PriceEntry {
        list_price: Cents(6300),
        job_discount: Percent(500),
    };

    #[test]
    fn the_guide_example_costs_59_85_with_a_5_percent_discount() {
        assert_eq!(D_TICKET_2026.job_price(), Cents(5985));
    }

    #[test]
    fn a_percent_share_is_of_the_list_price_and_the_employee_pays_the_rest() {
        let month = D_TICKET_2026.month(Some(EmployerShare::Percent(Percent(5000))));
        assert_eq!(month.employer_share, Cents(3150));
        assert_eq!(month.employee_share, Cents(2835));
        assert!(!month.share_below_minimum);
    }

    #[test]
    fn a_share_above_the_job_price_is_capped_so_the_employee_never_pays_below_0() {
        let month = D_TICKET_2026.month(Some(EmployerShare::Percent(Percent(10_000))));
        assert_eq!(month.employer_share, Cents(5985));
        assert_eq!(month.employee_share, Cents(0));
        let month = D_TICKET_2026.month(Some(EmployerShare::Amount(Cents(7000))));
        assert_eq!(month.employer_share, Cents(5985));
    }

    #[test]
    fn the_minimum_is_25_percent_of_the_list_price() {
        let list = Cents(6300);
        assert!(!EmployerShare::Amount(Cents(1575)).below_minimum(list));
        assert!(EmployerShare::Amount(Cents(1574)).below_minimum(list));
        assert!(!EmployerShare::Percent(Percent(2500)).below_minimum(list));
        assert!(EmployerShare::Percent(Percent(2499)).below_minimum(Cents(100)));
        assert!(D_TICKET_2026.month(None).share_below_minimum);
        assert_eq!(D_TICKET_2026.month(None).employee_share, Cents(5985));
    }

    #[test]
    fn odd_amounts_round_half_up() {
        // 12.5 % discount of 58.99 is 7.37375 → 7.37; job price 51.62. A third of the
        // list price (33.33 %) is 19.661667 → 19.66.
        let entry = PriceEntry {
            list_price: Cents(5899),
            job_discount: Percent(1250),
        };
        assert_eq!(entry.job_price(), Cents(5162));
        let month = entry.month(Some(EmployerShare::Percent(Percent(3333))));
        assert_eq!(month.employer_share, Cents(1966));
        assert_eq!(month.employee_share, Cents(3196));
    }
}
