//! The holder's own customer data ("Kundenverwaltung", guide step 11): read with an
//! `ETag`, changed with `If-Match`, consent changes kept as history.

use sha2::{Digest, Sha256};

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::Subscriber;
use crate::clock;
use crate::customers::repo::{self, ConsentSource, CustomerData};
use crate::customers::types::{CustomerDetails, UpdateHolderRequest};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::subscriptions;

/// The customer data of the holder of one of the account's subscriptions, with its
/// entity tag.
pub fn details_of(
    conn: &mut DbConnection,
    subscriber: &Subscriber,
    subscription_id: &str,
) -> Result<(CustomerDetails, String), AppError> {
    let customer_id = holder_id(conn, subscriber, subscription_id)?;
    let row = repo::find(conn, &customer_id)?.ok_or_else(AppError::not_found)?;
    with_tag(row.data)
}

/// The customer id behind one of the account's subscriptions; someone else's or an
/// unknown subscription is `404`.
pub fn holder_id(
    conn: &mut DbConnection,
    subscriber: &Subscriber,
    subscription_id: &str,
) -> Result<String, AppError> {
    subscriptions::repo::find_of_account(conn, &subscriber.account.id, subscription_id)?
        .map(|row| row.data.customer_id)
        .ok_or_else(AppError::not_found)
}

fn with_tag(data: CustomerData) -> Result<(CustomerDetails, String), AppError> {
    let details = CustomerDetails::try_from(data)?;
    let tag = entity_tag(&details)?;
    Ok((details, tag))
}

/// A strong entity tag of what the holder sees: it changes exactly when the answer does.
fn entity_tag(details: &CustomerDetails) -> Result<String, AppError> {
    let json = serde_json::to_vec(details).map_err(|e| AppError::Internal(e.to_string()))?;
    let digest = Sha256::digest(&json);
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("\"{hex}\""))
}

/// Applies the holder's patch. With `if_match`, the data must still carry that tag
/// (checked under the row lock, so two edits cannot both pass it); otherwise `412`. An
/// invalid patch answers its field errors first.
pub fn update(
    conn: &mut DbConnection,
    subscriber: &Subscriber,
    subscription_id: &str,
    request: UpdateHolderRequest,
    if_match: Option<Vec<String>>,
    context: &AuditContext,
    now: chrono::NaiveDateTime,
) -> Result<(CustomerDetails, String), AppError> {
    let customer_id = holder_id(conn, subscriber, subscription_id)?;
    let current = repo::find_for_update(conn, &customer_id)?.ok_or_else(AppError::not_found)?;
    let today = clock::berlin_date_of(now);
    let holder = request.check_read_only(&current.data, today)?;
    let mut errors = crate::error::FieldErrors::default();
    let values = holder.merged_onto(Some(&current.data), &mut errors);
    errors.into_result()?;
    let values = values.ok_or_else(|| AppError::Internal("holder fields incomplete".into()))?;
    // A request that fails anyway answers its own problem; only a valid change is
    // measured against the tag (RFC 9110, 13.2.1).
    if let Some(tags) = if_match {
        let (_, current_tag) = with_tag(current.data.clone())?;
        if !tags.iter().any(|tag| tag == "*" || *tag == current_tag) {
            return Err(crate::customers::CustomerProblem::PreconditionFailed.into());
        }
    }
    let mut data = current.data.clone();
    data.salutation = values.salutation;
    data.gender = values.gender;
    data.marketing_consent = values.marketing_consent;
    data.set_address(values.address);
    data.recipient = values.recipient;
    data.phone = values.phone;
    data.phone_work = values.phone_work;
    data.updated_at = now;
    let changed_fields = changed_fields(&current.data, &data);
    if !changed_fields.is_empty() {
        repo::update(
            conn,
            &customer_id,
            &current.data,
            &data,
            ConsentSource::SelfService,
        )?;
        let account = Some(subscriber.account.id.as_str());
        audit::record(
            conn,
            context,
            AuditAction::CustomerDataChanged,
            account,
            Some(&customer_id),
            Some(serde_json::json!({ "fields": changed_fields })),
        )?;
        if data.marketing_consent != current.data.marketing_consent {
            audit::record(
                conn,
                context,
                AuditAction::ConsentChanged,
                account,
                Some(&customer_id),
                None,
            )?;
        }
    } else {
        data = current.data;
    }
    with_tag(data)
}

/// The names of the holder's fields that differ (for the audit log, never the values).
fn changed_fields(before: &CustomerData, after: &CustomerData) -> Vec<&'static str> {
    [
        ("salutation", before.salutation != after.salutation),
        ("gender", before.gender != after.gender),
        (
            "marketing_consent",
            before.marketing_consent != after.marketing_consent,
        ),
        ("address", before.address() != after.address()),
        ("recipient", before.recipient != after.recipient),
        ("phone", before.phone != after.phone),
        ("phone_work", before.phone_work != after.phone_work),
    ]
    .into_iter()
    .filter_map(|(name, changed)| changed.then_some(name))
    .collect()
}
