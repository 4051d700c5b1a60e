//! The own account: change the names, delete the account.

use crate::accounts::input::{given_password, parse_required};
use crate::accounts::passwords::require_password;
use crate::accounts::repo::{self, ProfileChanges};
use crate::accounts::types::{DeleteAccountRequest, UpdateAccountRequest};
use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::SignedInAccount;
use crate::auth::repo::{SessionKey, find_signed_in};
use crate::clock;
use crate::domain::{PersonName, SessionId};
use crate::error::{AppError, FieldErrors};
use crate::mail::outbox;
use crate::memberships::{self, problems::MembershipProblem};
use crate::state::AppState;

pub async fn update_account(
    state: &AppState,
    account: SignedInAccount,
    session_id: SessionId,
    request: UpdateAccountRequest,
    context: AuditContext,
) -> Result<SignedInAccount, AppError> {
    let mut errors = FieldErrors::default();
    let first_name = request
        .first_name
        .map(|raw| errors.take(parse_required(Some(raw), "/first_name", PersonName::parse)));
    let last_name = request
        .last_name
        .map(|raw| errors.take(parse_required(Some(raw), "/last_name", PersonName::parse)));
    errors.into_result()?;
    let (first_name, last_name) = (first_name.flatten(), last_name.flatten());
    state
        .db
        .transaction(move |conn| {
            let now = clock::now();
            repo::update_profile(
                conn,
                &account.id,
                &ProfileChanges {
                    first_name: first_name.as_ref().map(PersonName::as_str),
                    last_name: last_name.as_ref().map(PersonName::as_str),
                    updated_at: now,
                },
            )?;
            let changed: Vec<&str> = [
                ("first_name", first_name.is_some()),
                ("last_name", last_name.is_some()),
            ]
            .into_iter()
            .filter_map(|(field, changed)| changed.then_some(field))
            .collect();
            audit::record(
                conn,
                &context,
                AuditAction::AccountUpdated,
                Some(&account.id),
                Some(&account.id),
                Some(serde_json::json!({ "fields": changed })),
            )?;
            let key = SessionKey {
                account_id: &account.id,
                session_id: session_id.as_str(),
                now,
            };
            find_signed_in(conn, key)?.ok_or_else(AppError::not_found)
        })
        .await
}

pub async fn delete_account(
    state: &AppState,
    account: SignedInAccount,
    request: DeleteAccountRequest,
    context: AuditContext,
) -> Result<(), AppError> {
    let password = given_password(request.password, "/password")?;
    require_password(state, &account, password, "/password", &context).await?;
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            // Its memberships go with the account: a company's last admin must hand over
            // first, as when leaving through the company's user list.
            if !memberships::repo::account_can_leave_its_companies(conn, &account.id)? {
                return Err(MembershipProblem::LastAdmin.into());
            }
            // The audit entry keeps only the opaque id; sessions and tokens go with the row.
            audit::record_for_account(conn, &context, AuditAction::AccountDeleted, &account.id)?;
            audit::repo::pseudonymise_account(conn, &account.id)?;
            crate::privacy::erasure::erase_account_records(conn, &account.id, now)?;
            let lang = repo::language_of(conn, &account.id)?;
            outbox::forget_recipient(conn, &account.email)?;
            // The confirmation is the one mail the address still gets.
            crate::mail::enqueue(
                conn,
                &account.email,
                super::mails::ACCOUNT_DELETED,
                lang,
                serde_json::json!({}),
            )?;
            repo::delete_account(conn, &account.id)
        })
        .await?;
    state.outbox.wake();
    Ok(())
}
