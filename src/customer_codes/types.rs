//! Request and response bodies of customer codes.

use chrono::{DateTime, Months, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::customer_codes::code;
use crate::customer_codes::repo::{CodeRow, CodeWithCreator};
use crate::domain::date::parse_date;
use crate::error::{AppError, FieldError, FieldErrorCode};
use crate::http::PageQuery;

/// A customer code's state: `valid` until the end of its `valid_until` (Europe/Berlin),
/// then `expired`; `revoked` when a newer code replaced it or an admin revoked it
/// before it expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(example = "valid")]
pub enum CodeStatus {
    Valid,
    Expired,
    Revoked,
}

/// Who generated a code.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0b9f3c1e-5d2a-4c8e-9f7b-1a2b3c4d5e6f", "first_name": "Erika", "last_name": "Personal"}))]
pub struct CodeCreator {
    /// Account id.
    #[schema(example = "0b9f3c1e-5d2a-4c8e-9f7b-1a2b3c4d5e6f")]
    pub id: String,
    /// First name.
    #[schema(example = "Erika")]
    pub first_name: String,
    /// Last name.
    #[schema(example = "Personal")]
    pub last_name: String,
}

/// A customer code of a contract.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a6-2e3f-7a41-9b52-6c7d8e9f0a1b",
    "code": "K7QM-3XHD-9PTA",
    "valid_until": "2026-12-31",
    "status": "valid",
    "created_at": "2026-11-27T09:00:00Z",
    "created_by": {"id": "0b9f3c1e-5d2a-4c8e-9f7b-1a2b3c4d5e6f", "first_name": "Erika", "last_name": "Personal"},
    "revoked_at": null
}))]
pub struct CustomerCode {
    /// Opaque id of the code.
    #[schema(example = "0190f3a6-2e3f-7a41-9b52-6c7d8e9f0a1b")]
    pub id: String,
    /// The code, grouped for reading aloud; typing it is tolerant of case, spaces,
    /// dashes and the look-alikes `O`/`0` and `I`/`L`/`1`.
    #[schema(example = "K7QM-3XHD-9PTA")]
    pub code: String,
    /// Last day the code is valid ("Gültigkeitsdatum", inclusive, Europe/Berlin).
    #[schema(example = "2026-12-31")]
    pub valid_until: NaiveDate,
    /// State of the code today.
    pub status: CodeStatus,
    /// When the code was generated.
    #[schema(example = "2026-11-27T09:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// Who generated it; `null` when that account no longer exists.
    pub created_by: Option<CodeCreator>,
    /// When the code was revoked; `null` if never.
    #[schema(example = json!(null))]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl CustomerCode {
    pub fn new((row, creator): CodeWithCreator, today: NaiveDate) -> Self {
        CustomerCode {
            status: status_of(&row, today),
            code: code::display(&row.code),
            created_by: row
                .created_by
                .clone()
                .zip(creator)
                .map(|(id, (first_name, last_name))| CodeCreator {
                    id,
                    first_name,
                    last_name,
                }),
            id: row.id,
            valid_until: row.valid_until,
            created_at: row.created_at.and_utc(),
            revoked_at: row.revoked_at.map(|t| t.and_utc()),
        }
    }
}

/// A code revoked while it was still valid shows `revoked`; one that had expired before
/// a newer code replaced it stays `expired`.
fn status_of(row: &CodeRow, today: NaiveDate) -> CodeStatus {
    let revoked_while_valid = row
        .revoked_at
        .is_some_and(|at| crate::clock::berlin_date_of(at) <= row.valid_until);
    if revoked_while_valid {
        CodeStatus::Revoked
    } else if row.valid_until < today || row.revoked_at.is_some() {
        CodeStatus::Expired
    } else {
        CodeStatus::Valid
    }
}

/// A new customer code's validity.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"valid_until": "31.12.2026"}))]
pub struct GenerateCodeRequest {
    /// Last day the code is valid ("Gültigkeitsdatum"), `YYYY-MM-DD` or `TT.MM.JJJJ`:
    /// today or later (`date_in_past`), not after the contract's end
    /// (`after_contract_end`) and at most two years ahead (`too_far_ahead`).
    #[schema(value_type = String, required = true, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "31.12.2026")]
    pub valid_until: Option<String>,
}

/// How far ahead a code may be valid.
pub const MAX_MONTHS_AHEAD: u32 = 24;

impl GenerateCodeRequest {
    /// The validity, checked against today and the contract's end.
    pub fn parse(
        self,
        today: NaiveDate,
        contract_end: Option<NaiveDate>,
    ) -> Result<NaiveDate, AppError> {
        let pointer = "/valid_until";
        let raw = self
            .valid_until
            .filter(|raw| !raw.trim().is_empty())
            .ok_or_else(|| FieldError::new(pointer, FieldErrorCode::Required))?;
        let date = parse_date(&raw, pointer)?;
        let latest = today
            .checked_add_months(Months::new(MAX_MONTHS_AHEAD))
            .unwrap_or(NaiveDate::MAX);
        let code = if date < today {
            FieldErrorCode::DateInPast
        } else if contract_end.is_some_and(|end| date > end) {
            FieldErrorCode::AfterContractEnd
        } else if date > latest {
            FieldErrorCode::TooFarAhead
        } else {
            return Ok(date);
        };
        Err(AppError::field(pointer, code))
    }
}

/// A code to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "k7qm 3xhd 9pta"}))]
pub struct CheckCodeRequest {
    /// The code as typed: case, spaces and dashes do not matter, nor the look-alikes
    /// `O`/`0` and `I`/`L`/`1`.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64, pattern = r"[^\t\n\f\r ]", example = "k7qm 3xhd 9pta")]
    pub code: Option<String>,
}

impl CheckCodeRequest {
    /// The code in its stored spelling; a missing or absurdly long one is a field error.
    pub fn parse(self) -> Result<String, AppError> {
        crate::customer_codes::redeem::parse_typed(self.code, "/code")
    }
}

/// What a valid customer code is for.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "company_name": "Musterfirma GmbH",
    "product_offering": "D-Ticket Job (Rechnung)",
    "contract_id": "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c",
    "valid_until": "2026-12-31",
    "earliest_start_month": "2027-01"
}))]
pub struct CheckedCode {
    /// The employer's name.
    #[schema(example = "Musterfirma GmbH")]
    pub company_name: String,
    /// The product offering the code orders.
    #[schema(example = "D-Ticket Job (Rechnung)")]
    pub product_offering: String,
    /// The company contract the code belongs to.
    #[schema(example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")]
    pub contract_id: String,
    /// Last day the code is valid.
    #[schema(example = "2026-12-31")]
    pub valid_until: NaiveDate,
    /// The first month an order placed now can start in (`YYYY-MM`): next month up to
    /// the order deadline day (Europe/Berlin), else the month after. The order form's
    /// earliest `start_month`.
    #[schema(example = "2027-01", pattern = r"^[0-9]{4}-[0-9]{2}$")]
    pub earliest_start_month: String,
}

/// Paging of a contract's codes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CodeListQuery {
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}

/// The stored form of a new code.
pub fn new_code_row(
    contract_id: &str,
    valid_until: NaiveDate,
    created_by: &str,
    now: NaiveDateTime,
) -> CodeRow {
    CodeRow {
        id: uuid::Uuid::now_v7().to_string(),
        contract_id: contract_id.to_string(),
        code: code::generate(),
        valid_until,
        created_by: Some(created_by.to_string()),
        created_at: now,
        revoked_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn row(valid_until: &str, revoked_at: Option<&str>) -> CodeRow {
        CodeRow {
            id: "c".into(),
            contract_id: "k".into(),
            code: "K7QM3XHD9PTA".into(),
            valid_until: date(valid_until),
            created_by: None,
            created_at: date("2026-01-01").and_hms_opt(8, 0, 0).unwrap(),
            revoked_at: revoked_at
                .map(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M").unwrap()),
        }
    }

    #[test]
    fn a_code_is_valid_through_its_last_berlin_day() {
        assert_eq!(
            status_of(&row("2026-12-31", None), date("2026-12-31")),
            CodeStatus::Valid
        );
        assert_eq!(
            status_of(&row("2026-12-31", None), date("2027-01-01")),
            CodeStatus::Expired
        );
    }

    #[test]
    fn a_code_replaced_after_its_berlin_midnight_had_expired_not_been_revoked() {
        // 22:59 UTC on 31 December is still that day in Berlin (UTC+1); 23:00 is not.
        let before = row("2026-12-31", Some("2026-12-31 22:59"));
        let after = row("2026-12-31", Some("2026-12-31 23:00"));
        assert_eq!(status_of(&before, date("2027-01-02")), CodeStatus::Revoked);
        assert_eq!(status_of(&after, date("2027-01-02")), CodeStatus::Expired);
    }

    #[test]
    fn the_validity_accepts_both_spellings_within_its_bounds() {
        let today = date("2026-11-27");
        let parse = |raw: &str, end: Option<&str>| {
            GenerateCodeRequest {
                valid_until: Some(raw.into()),
            }
            .parse(today, end.map(date))
        };
        assert_eq!(parse("31.12.2026", None).unwrap(), date("2026-12-31"));
        assert_eq!(parse("2028-11-27", None).unwrap(), date("2028-11-27"));
        assert!(parse("2028-11-28", None).is_err());
        assert!(parse("2026-11-26", None).is_err());
        assert!(parse("2027-01-01", Some("2026-12-31")).is_err());
    }
}
