//! Passwords: the new-password rules, forgot and reset by e-mailed link, change, and the
//! confirmation with the current password that guards sensitive changes.

use secrecy::SecretString;

use crate::accounts::input::{given_password, new_password, required_token};
use crate::accounts::links::{consume_token, request_link_mail, usable_token};
use crate::accounts::repo::{self, TokenPurpose};
use crate::accounts::types::{ChangePasswordRequest, EmailRequest, ResetPasswordRequest};
use crate::accounts::{limits, mails};
use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::SignedInAccount;
use crate::domain::SessionId;
use crate::error::{AppError, FieldErrorCode, FieldErrors};
use crate::i18n::Lang;
use crate::mail::outbox;
use crate::rate_limit;
use crate::state::AppState;

pub async fn forgot_password(
    state: &AppState,
    request: EmailRequest,
    lang: Lang,
    context: AuditContext,
) -> Result<(), AppError> {
    request_link_mail(
        state,
        request,
        mails::PASSWORD_RESET,
        AuditAction::PasswordResetRequested,
        lang,
        context,
    )
    .await
}

pub async fn reset_password(
    state: &AppState,
    request: ResetPasswordRequest,
    context: AuditContext,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::default();
    let token = errors.take(required_token(request.token, "/token"));
    let password = new_password(&mut errors, request.password, request.password_confirmation);
    errors.into_result()?;
    let (Some(token), Some(password)) = (token, password) else {
        unreachable!("no field errors means every field parsed");
    };
    let slot = state.hasher.reserve()?;
    limits::limit_password_reset(state, &context).await?;
    // The token first: a wrong one must not cost a hash.
    {
        let token = token.clone();
        state
            .db
            .run(move |conn| usable_token(conn, TokenPurpose::ResetPassword, &token).map(drop))
            .await?;
    }
    let password_hash = slot.hash(password).await?;
    state
        .db
        .transaction(move |conn| {
            let account_id = consume_token(conn, TokenPurpose::ResetPassword, &token)?;
            repo::set_password(conn, &account_id, &password_hash)?;
            // The reset link proves the mailbox, so the address counts as verified.
            repo::mark_email_verified(conn, &account_id)?;
            repo::revoke_all_sessions(conn, &account_id)?;
            audit::record_for_account(conn, &context, AuditAction::PasswordReset, &account_id)
        })
        .await
}

/// Confirms the signed-in account's password. Each attempt is counted against the
/// account's password allowance before the hash is computed and given back when it was
/// right; wrong ones are audited.
pub async fn require_password(
    state: &AppState,
    account: &SignedInAccount,
    password: SecretString,
    pointer: &'static str,
    context: &AuditContext,
) -> Result<(), AppError> {
    confirm_password(
        state,
        &account.id,
        &account.email,
        password,
        pointer,
        context,
    )
    .await
}

/// [`require_password`] for an account known by id and address rather than by a
/// session (accepting a company invitation).
pub async fn confirm_password(
    state: &AppState,
    account_id: &str,
    email: &str,
    password: SecretString,
    pointer: &'static str,
    context: &AuditContext,
) -> Result<(), AppError> {
    let slot = state.hasher.reserve()?;
    let limit = state.config.limits.login_per_account;
    let key = limits::password_key(email);
    let account_id = account_id.to_string();
    let lookup_id = account_id.clone();
    let (permit, stored) = state
        .db
        .run(move |conn| {
            let permit = rate_limit::acquire(conn, &key, limit)?;
            let stored = repo::find_by_id(conn, &lookup_id)?.ok_or_else(AppError::not_found)?;
            Ok((permit, stored.password_hash.0))
        })
        .await?;
    let right = slot.verify(password, Some(stored)).await?;
    let context = context.clone();
    state
        .db
        .run(move |conn| {
            if right {
                rate_limit::release(conn, &permit)
            } else {
                audit::record_for_account(
                    conn,
                    &context,
                    AuditAction::PasswordCheckFailed,
                    &account_id,
                )
            }
        })
        .await?;
    if right {
        Ok(())
    } else {
        Err(AppError::field(pointer, FieldErrorCode::PasswordIncorrect))
    }
}

pub async fn change_password(
    state: &AppState,
    account: SignedInAccount,
    session_id: SessionId,
    request: ChangePasswordRequest,
    context: AuditContext,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::default();
    let current = errors.take(given_password(
        request.current_password,
        "/current_password",
    ));
    let password = new_password(&mut errors, request.password, request.password_confirmation);
    errors.into_result()?;
    let (Some(current), Some(password)) = (current, password) else {
        unreachable!("no field errors means every field parsed");
    };
    require_password(state, &account, current, "/current_password", &context).await?;
    let password_hash = state.hasher.hash(password).await?;
    state
        .db
        .transaction(move |conn| {
            repo::set_password(conn, &account.id, &password_hash)?;
            repo::revoke_other_sessions(conn, &account.id, session_id.as_str())?;
            // An outstanding reset link would undo the change; it dies with it.
            repo::revoke_email_token(conn, &account.id, TokenPurpose::ResetPassword)?;
            outbox::withdraw_pending(conn, &account.email, mails::PASSWORD_RESET)?;
            audit::record_for_account(conn, &context, AuditAction::PasswordChanged, &account.id)
        })
        .await
}
