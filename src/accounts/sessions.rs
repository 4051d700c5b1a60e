//! Sessions: log in, rotate the refresh token, log out (guide step 5).

use secrecy::SecretString;

use crate::accounts::input::{given_password, required_token};
use crate::accounts::limits::{self, LoginPermits};
use crate::accounts::problems::AccountProblem;
use crate::accounts::repo::{self, LoginAccount};
use crate::accounts::types::{LoginRequest, RefreshRequest, TokenResponse};
use crate::audit::{self, AuditAction, AuditContext, AuditEntry};
use crate::auth::opaque;
use crate::domain::EmailAddress;
use crate::error::{AppError, FieldError, FieldErrorCode, FieldErrors};
use crate::rate_limit;
use crate::state::AppState;

/// A login whose fields are present. The address need not be valid: a malformed one is
/// simply unknown, answered like any unknown address.
struct Credentials {
    email: String,
    password: SecretString,
}

impl TryFrom<LoginRequest> for Credentials {
    type Error = AppError;

    fn try_from(request: LoginRequest) -> Result<Self, AppError> {
        let mut errors = FieldErrors::default();
        let email = match request.email.as_deref().map(str::trim) {
            None | Some("") => {
                errors.push(FieldError::new("/email", FieldErrorCode::Required));
                None
            }
            Some(raw) => Some(
                EmailAddress::parse(raw, "/email")
                    .map(|email| email.as_str().to_string())
                    // No account has a malformed address. A NUL is replaced because
                    // PostgreSQL could not even compare it (it would answer 500).
                    .unwrap_or_else(|_| raw.to_lowercase().replace('\0', "\u{FFFD}")),
            ),
        };
        let password = errors.take(given_password(request.password, "/password"));
        errors.into_result()?;
        match (email, password) {
            (Some(email), Some(password)) => Ok(Credentials { email, password }),
            _ => unreachable!("no field errors means every field parsed"),
        }
    }
}

pub async fn login(
    state: &AppState,
    request: LoginRequest,
    context: AuditContext,
) -> Result<TokenResponse, AppError> {
    let Credentials { email, password } = Credentials::try_from(request)?;
    // A place to hash first: a request refused as busy has counted nothing.
    let slot = state.hasher.reserve()?;
    let (permits, account) = {
        let limits = limits::login_limits(state.config.limits, &email, &context);
        state
            .db
            .run(move |conn| {
                // Counted before the hash, so a burst cannot pass a check all at once.
                // On PostgreSQL one statement, outside a transaction (a login flood is
                // worth no BEGIN/COMMIT round trips): its counters are locked in key
                // order, as every statement on them does, so logins cannot deadlock.
                let (permits, account) = repo::begin_login(conn, &limits, &email)?;
                Ok((LoginPermits::from_counted(&limits, permits)?, account))
            })
            .await?
    };
    // An unknown address is verified against a dummy hash: same time, same answer.
    let verified_hash = account.as_ref().map(|a| a.password_hash.0.clone());
    let password_ok = slot.verify(password, verified_hash.clone()).await?;
    match account {
        Some(account) if password_ok => {
            if account.email_verified_at.is_none() {
                // The password was right: the attempt does not count.
                give_back(state, permits).await?;
                return Err(AccountProblem::EmailNotVerified.into());
            }
            let verified_hash = verified_hash.unwrap_or_default();
            open_session(state, account, verified_hash, permits, context).await
        }
        account => {
            let subject = account.map(|a| a.id);
            state
                .db
                .run(move |conn| record_failed_login(conn, &context, subject.as_deref()))
                .await?;
            Err(AccountProblem::InvalidCredentials.into())
        }
    }
}

fn record_failed_login(
    conn: &mut crate::db::DbConnection,
    context: &AuditContext,
    subject: Option<&str>,
) -> Result<(), AppError> {
    audit::record(
        conn,
        context,
        AuditAction::LoginFailed,
        subject,
        subject,
        None,
    )
}

async fn give_back(state: &AppState, permits: LoginPermits) -> Result<(), AppError> {
    state
        .db
        .run(move |conn| rate_limit::settle(conn, &permits.ip, &permits.account_key))
        .await
}

/// Opens a session after a successful login, gives the attempt back and forgets the
/// address's failed attempts. Nothing is written unless the password hash is still the
/// one verified: a reset or change that replaced it while this login was hashing makes
/// the login fail — otherwise it would outlive the reset that was meant to end every
/// session.
async fn open_session(
    state: &AppState,
    account: LoginAccount,
    verified_hash: String,
    permits: LoginPermits,
    context: AuditContext,
) -> Result<TokenResponse, AppError> {
    let refresh_token = opaque::generate();
    let refresh_hash = opaque::hash(&refresh_token);
    let ttl = state.config.tokens.refresh_token_ttl;
    let session_id = uuid::Uuid::new_v4().to_string();
    let account_id = account.id.clone();
    let opened = {
        let session_id = session_id.clone();
        state
            .db
            .run(move |conn| {
                let audit = AuditEntry::new(
                    &context,
                    AuditAction::LoginSucceeded,
                    Some(&account_id),
                    Some(&account_id),
                    Some(serde_json::json!({ "session_id": session_id })),
                );
                let opening = repo::SessionOpening {
                    session_id: &session_id,
                    account_id: &account_id,
                    verified_hash: &verified_hash,
                    user_agent: context.user_agent.as_deref(),
                    ttl,
                    refresh_hash: &refresh_hash,
                    audit: &audit,
                    attempt: &permits.ip,
                    failures_key: &permits.account_key,
                };
                let opened = repo::open_session(conn, &opening)?;
                if !opened {
                    record_failed_login(conn, &context, Some(&account_id))?;
                }
                Ok(opened)
            })
            .await?
    };
    if !opened {
        return Err(AccountProblem::InvalidCredentials.into());
    }
    token_pair(state, &account.id, &session_id, refresh_token)
}

fn token_pair(
    state: &AppState,
    account_id: &str,
    session_id: &str,
    refresh_token: String,
) -> Result<TokenResponse, AppError> {
    Ok(TokenResponse {
        access_token: state.keys.issue(account_id, session_id)?,
        token_type: "Bearer".into(),
        expires_in: state.keys.ttl().as_secs(),
        refresh_token,
    })
}

/// The stored form of the presented refresh token; a missing one is a field error.
fn presented_refresh_token(request: RefreshRequest) -> Result<String, AppError> {
    let token = required_token(request.refresh_token, "/refresh_token")?;
    Ok(opaque::hash(&token))
}

pub async fn refresh(
    state: &AppState,
    request: RefreshRequest,
    context: AuditContext,
) -> Result<TokenResponse, AppError> {
    let presented = presented_refresh_token(request)?;
    let new_token = opaque::generate();
    let new_hash = opaque::hash(&new_token);
    let outcome = state
        .db
        .transaction(move |conn| {
            let Some((token, session)) = repo::find_refresh_token(conn, &presented)? else {
                return Ok(None);
            };
            if session.revoked_at.is_some() || session.expires_at <= crate::clock::now() {
                return Ok(None);
            }
            // A rotated token presented again means it was copied: end the whole family.
            if token.rotated_at.is_some() || !repo::rotate_refresh_token(conn, &token.id)? {
                repo::revoke_session(conn, &session.id)?;
                audit::record(
                    conn,
                    &context,
                    AuditAction::RefreshTokenReused,
                    Some(&session.account_id),
                    Some(&session.account_id),
                    Some(serde_json::json!({ "session_id": session.id })),
                )?;
                return Ok(None);
            }
            repo::insert_refresh_token(conn, &session.id, &new_hash)?;
            repo::touch_session(
                conn,
                &session.id,
                context.user_agent.as_deref(),
                &context.client_ip.0.to_string(),
            )?;
            audit::record_for_account(
                conn,
                &context,
                AuditAction::TokenRefreshed,
                &session.account_id,
            )?;
            Ok(Some((session.account_id, session.id)))
        })
        .await?;
    // Unknown, expired, logged out and replayed tokens all get the same answer.
    let (account_id, session_id) =
        outcome.ok_or(AppError::from(AccountProblem::InvalidRefreshToken))?;
    token_pair(state, &account_id, &session_id, new_token)
}

pub async fn logout(
    state: &AppState,
    request: RefreshRequest,
    context: AuditContext,
) -> Result<(), AppError> {
    let presented = presented_refresh_token(request)?;
    state
        .db
        .transaction(move |conn| {
            if let Some((_, session)) = repo::find_refresh_token(conn, &presented)?
                && session.revoked_at.is_none()
            {
                repo::revoke_session(conn, &session.id)?;
                audit::record_for_account(
                    conn,
                    &context,
                    AuditAction::LoggedOut,
                    &session.account_id,
                )?;
            }
            Ok(())
        })
        .await
}
