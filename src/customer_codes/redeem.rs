//! Checking a typed customer code, shared by `POST /customer-codes/check` and an order
//! (`POST /me/applications`), so both count, answer and audit exactly alike.

use crate::audit::{self, AuditAction, AuditContext};
use crate::config::LimitsConfig;
use crate::customer_codes::CustomerCodeProblem;
use crate::customer_codes::code;
use crate::customer_codes::repo::{self, CodeTarget};
use crate::db::DbConnection;
use crate::domain::fold::storable;
use crate::error::{AppError, FieldErrorCode};
use crate::rate_limit;

const CHECK_SCOPE: &str = "code_check";

/// The typed code, normalised for the lookup; a missing or overlong one is a field error
/// at `pointer`.
pub fn parse_typed(raw: Option<String>, pointer: &str) -> Result<String, AppError> {
    let raw = raw.unwrap_or_default();
    if raw.trim().is_empty() {
        return Err(AppError::field(pointer, FieldErrorCode::Required));
    }
    if raw.chars().count() > 64 {
        return Err(AppError::field(
            pointer,
            FieldErrorCode::TooLong { max: 64 },
        ));
    }
    Ok(code::normalize(&raw))
}

/// What the normalised `code` is valid for today, in the caller's transaction.
///
/// The outer error is a failure of the database (the caller rolls back); the inner one
/// is the answer to give once the counted attempt is committed: `customer_code_invalid`
/// for an unknown, expired or revoked code or a contract not active today, and
/// `too_many_code_attempts` (with `Retry-After`) over the limits of the account or the
/// client IP. Attempts are counted before the lookup, so a parallel burst cannot pass
/// the limit; a valid code gives its attempt back.
pub fn check(
    conn: &mut DbConnection,
    account_id: &str,
    context: &AuditContext,
    limits: &LimitsConfig,
    code: &str,
    today: chrono::NaiveDate,
) -> Result<Result<CodeTarget, AppError>, AppError> {
    let keys = [
        (
            format!("{CHECK_SCOPE}:account:{account_id}"),
            limits.code_check_per_account,
        ),
        (
            rate_limit::ip_key(CHECK_SCOPE, context.client_ip.0),
            limits.code_check_per_ip,
        ),
    ];
    let permits = match rate_limit::acquire_all(conn, &keys) {
        Ok(permits) => permits,
        Err(AppError::RetryLater { after, limit, .. }) => {
            return Ok(Err(AppError::RetryLater {
                problem: CustomerCodeProblem::TooManyAttempts.spec(),
                after,
                limit,
            }));
        }
        Err(other) => return Err(other),
    };
    // A NUL could not even be compared by PostgreSQL; no code holds one.
    let found = match storable(code) {
        true => repo::find_valid(conn, code, today)?,
        false => None,
    };
    let target = found.filter(|target| {
        crate::contracts::repo::is_active_on(
            &target.contract_status,
            target.contract_valid_from,
            target.contract_valid_to,
            today,
        )
    });
    let Some(target) = target else {
        audit::record(
            conn,
            context,
            AuditAction::CustomerCodeCheckFailed,
            Some(account_id),
            None,
            None,
        )?;
        return Ok(Err(CustomerCodeProblem::Invalid.into()));
    };
    for permit in &permits {
        rate_limit::release(conn, permit)?;
    }
    Ok(Ok(target))
}
