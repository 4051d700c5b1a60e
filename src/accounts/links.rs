//! Single-use links sent by e-mail (verification, password reset): asking for one, and
//! checking and consuming its token. The mails themselves are composed in `mails`.

use serde_json::json;

use crate::accounts::input::parse_required;
use crate::accounts::limits;
use crate::accounts::problems::AccountProblem;
use crate::accounts::repo::{self, TokenPurpose};
use crate::accounts::types::EmailRequest;
use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::opaque;
use crate::clock;
use crate::db::DbConnection;
use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mail;
use crate::state::AppState;

/// Queues a mail of `template` to the address and audits the request: exactly the same
/// writes whether or not the address has an account, so neither the answer nor its
/// timing tells. The worker decides at send time whether there is anything to send.
pub async fn request_link_mail(
    state: &AppState,
    request: EmailRequest,
    template: &'static str,
    action: AuditAction,
    lang: Lang,
    context: AuditContext,
) -> Result<(), AppError> {
    let email = parse_required(request.email, "/email", EmailAddress::parse)?;
    limits::limit_email_request(state, email.as_str(), &context).await?;
    state
        .db
        .transaction(move |conn| {
            let subject = repo::find_by_email(conn, email.as_str())?.map(|a| a.id);
            mail::enqueue(conn, email.as_str(), template, lang, json!({}))?;
            audit::record(
                conn,
                &context,
                action,
                subject.as_deref(),
                subject.as_deref(),
                None,
            )
        })
        .await?;
    state.outbox.wake();
    Ok(())
}

/// Consumes a single-use e-mailed token, or explains why it cannot be used; returns
/// the account it belongs to.
pub fn consume_token(
    conn: &mut DbConnection,
    purpose: TokenPurpose,
    token: &str,
) -> Result<String, AppError> {
    let stored = usable_token(conn, purpose, token)?;
    if !repo::consume_email_token(conn, &stored.id)? {
        return Err(token_problems(purpose).0.into());
    }
    Ok(stored.account_id)
}

/// The stored token if it is unused and unexpired; consumes nothing.
pub fn usable_token(
    conn: &mut DbConnection,
    purpose: TokenPurpose,
    token: &str,
) -> Result<repo::EmailToken, AppError> {
    let (invalid, expired) = token_problems(purpose);
    let stored = repo::find_email_token(conn, purpose, &opaque::hash(token))?.ok_or(invalid)?;
    if stored.used_at.is_some() {
        return Err(invalid.into());
    }
    if stored.expires_at <= clock::now() {
        return Err(expired.into());
    }
    Ok(stored)
}

fn token_problems(purpose: TokenPurpose) -> (AccountProblem, AccountProblem) {
    match purpose {
        TokenPurpose::VerifyEmail => (
            AccountProblem::VerificationTokenInvalid,
            AccountProblem::VerificationTokenExpired,
        ),
        TokenPurpose::ResetPassword => (
            AccountProblem::PasswordResetTokenInvalid,
            AccountProblem::PasswordResetTokenExpired,
        ),
    }
}
