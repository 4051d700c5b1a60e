//! Linking a subscription to the account (guide steps 7–9): a knowledge-based check,
//! so it is guarded. Inputs are folded (case, spaces, umlauts, date spellings); any
//! mismatch and an unknown number answer one generic problem; attempts are counted in
//! the database per account and per subscription (per typed number when none has it)
//! *before* the comparison, so a parallel burst cannot slip past the limit; every
//! attempt is audited without the entered values.

use chrono::NaiveDate;

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::Subscriber;
use crate::clock;
use crate::config::LimitsConfig;
use crate::db::DbConnection;
use crate::domain::date::parse_date;
use crate::domain::fold::{fold_number, fold_text};
use crate::error::{AppError, FieldError, FieldErrorCode, FieldErrors};
use crate::rate_limit;
use crate::subscriptions::SubscriptionProblem;
use crate::subscriptions::repo::{self, HolderIdentity, SubscriptionView};
use crate::subscriptions::types::LinkRequest;

const LINK_SCOPE: &str = "link";

/// A link request, parsed and folded for comparison.
#[derive(Debug, Clone)]
pub struct LinkAttempt {
    number: String,
    birth_date: NaiveDate,
    last_name: String,
    postal_code: String,
}

impl TryFrom<LinkRequest> for LinkAttempt {
    type Error = AppError;

    fn try_from(request: LinkRequest) -> Result<Self, AppError> {
        let mut errors = FieldErrors::default();
        let mut folded =
            |value: Option<String>, pointer: &str, max: usize, fold: fn(&str) -> String| {
                let raw = value.unwrap_or_default();
                let value = fold(&raw);
                if value.is_empty() {
                    errors.push(FieldError::new(pointer, FieldErrorCode::Required));
                } else if raw.chars().count() > max {
                    errors.push(FieldError::new(pointer, FieldErrorCode::TooLong { max }));
                }
                value
            };
        let number = folded(request.number, "/number", 60, fold_number);
        let last_name = folded(request.last_name, "/last_name", 100, fold_text);
        let postal_code = folded(request.postal_code, "/postal_code", 10, fold_number);
        // The number is looked up in the database, which holds no NUL.
        if !crate::domain::fold::storable(&number) {
            errors.push(FieldError::new(
                "/number",
                FieldErrorCode::InvalidCharacters,
            ));
        }
        let birth_date = errors.take(parse_date(
            request.birth_date.as_deref().unwrap_or_default(),
            "/birth_date",
        ));
        errors.into_result()?;
        Ok(LinkAttempt {
            number,
            birth_date: birth_date.ok_or_else(|| AppError::Internal("birth date".into()))?,
            last_name,
            postal_code,
        })
    }
}

impl LinkAttempt {
    /// Whether the holder's data is what was typed. Every field is compared, whatever
    /// the first one gave, so a mismatch takes the same time wherever it lies.
    fn matches(&self, holder: &HolderIdentity) -> bool {
        let birth_date = holder.birth_date == self.birth_date;
        let last_name = fold_text(&holder.last_name) == self.last_name;
        let postal_code = fold_number(&holder.postal_code) == self.postal_code;
        birth_date & last_name & postal_code
    }
}

/// How a link attempt ended.
pub enum LinkOutcome {
    /// Newly linked (`201`).
    Linked(SubscriptionView),
    /// Linked to this account already (`200`).
    AlreadyMine(SubscriptionView),
}

/// Runs one attempt in the caller's write transaction. Refusals and mismatches are
/// audited and their counts committed: they come back as `Ok(Err(problem))` so the
/// transaction still commits.
pub fn attempt_link(
    conn: &mut DbConnection,
    subscriber: &Subscriber,
    attempt: &LinkAttempt,
    limits: LimitsConfig,
    context: &AuditContext,
) -> Result<Result<LinkOutcome, AppError>, AppError> {
    let account_id = subscriber.account.id.as_str();
    let candidates = repo::candidates_by_number(conn, &attempt.number)?;
    // Rotating between a subscription's three numbers gains nothing: the count is the
    // subscription's. An unknown number is counted under itself.
    let target_key = match candidates.first() {
        Some((row, _)) => format!("{LINK_SCOPE}:subscription:{}", row.id),
        None => format!(
            "{LINK_SCOPE}:number:{}",
            crate::auth::opaque::hash(&attempt.number)
        ),
    };
    let account_key = format!("{LINK_SCOPE}:account:{account_id}");
    let keys = [
        (account_key.clone(), limits.link_per_account),
        (target_key.clone(), limits.link_per_number),
    ];
    let permits = match rate_limit::acquire_all(conn, &keys) {
        Ok(permits) => permits,
        Err(AppError::RetryLater { after, limit, .. }) => {
            audit::record(
                conn,
                context,
                AuditAction::SubscriptionLinkRefused,
                Some(account_id),
                None,
                None,
            )?;
            return Ok(Err(AppError::RetryLater {
                problem: SubscriptionProblem::TooManyLinkAttempts.spec(),
                after,
                limit,
            }));
        }
        Err(other) => return Err(other),
    };
    let matched = candidates
        .iter()
        .map(|(row, holder)| (row, attempt.matches(holder)))
        .fold(None, |found, (row, matches)| {
            found.or(matches.then_some(row))
        });
    let Some(subscription) = matched else {
        audit::record(
            conn,
            context,
            AuditAction::SubscriptionLinkFailed,
            Some(account_id),
            None,
            None,
        )?;
        return Ok(Err(SubscriptionProblem::NotMatched.into()));
    };
    // All data matched: this attempt is no failure. It is given back, and the
    // account's earlier failures are forgotten; the subscription's stay counted.
    let target_permit = permits
        .iter()
        .find(|permit| permit.key() == target_key)
        .ok_or_else(|| AppError::Internal("the subscription's attempt was not counted".into()))?;
    rate_limit::settle(conn, target_permit, &account_key)?;
    let id = subscription.id.clone();
    let newly_linked =
        subscription.account_id.is_none() && repo::link(conn, &id, account_id, clock::now())?;
    // Not linked now: this account held it already (perhaps from a parallel request),
    // or another account does.
    let Some(view) = repo::view_of_account(conn, account_id, &id)? else {
        audit::record(
            conn,
            context,
            AuditAction::SubscriptionLinkConflict,
            Some(account_id),
            Some(&id),
            None,
        )?;
        return Ok(Err(SubscriptionProblem::AlreadyLinked.into()));
    };
    if newly_linked {
        audit::record(
            conn,
            context,
            AuditAction::SubscriptionLinked,
            Some(account_id),
            Some(&id),
            None,
        )?;
        Ok(Ok(LinkOutcome::Linked(view)))
    } else {
        Ok(Ok(LinkOutcome::AlreadyMine(view)))
    }
}
