//! The account flows of the Self-Service: register, verify, log in, refresh, log out,
//! reset and change the password, update and delete the account.

use std::time::Duration;

use secrecy::SecretString;

use crate::accounts::domain::{EmailAddress, FieldErrors, PersonName};
use crate::accounts::repo::{self, Account, NewAccount, TokenPurpose};
use crate::accounts::types::*;
use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{opaque, password};
use crate::error::{AppError, EmailTokenKind, FieldError, FieldErrorCode};
use crate::i18n::Lang;
use crate::mail::{self, templates};
use crate::rate_limit;
use crate::state::AppState;

/// A resend within this time of the last link sends nothing.
const RESEND_INTERVAL: Duration = Duration::from_secs(60);

pub fn accepted(lang: Lang) -> AcceptedResponse {
    AcceptedResponse {
        message: match lang {
            Lang::De => "Falls die Angaben stimmen, erhalten Sie in Kürze eine E-Mail.".into(),
            Lang::En => "If the details are correct, you will receive an e-mail shortly.".into(),
        },
    }
}

fn new_password(errors: &mut FieldErrors, password: &str, confirmation: &str) {
    if errors
        .take(password::check_policy(password, "/password"))
        .is_some()
        && password != confirmation
    {
        errors.push(FieldError::new(
            "/password_confirmation",
            FieldErrorCode::ConfirmationMismatch,
        ));
    }
}

/// Register, resend and forgot-password share one allowance: each sends an e-mail.
const EMAIL_REQUEST_SCOPE: &str = "mail";

/// Wrong passwords share one allowance per account, whether given at login or to
/// confirm a password change or an account deletion: a stolen access token must not
/// become an unlimited password oracle.
const PASSWORD_FAILURE_SCOPE: &str = "login";

/// Counts an e-mail-sending request against the per-address and per-IP limits. Runs in
/// its own transaction so the count survives a failing request.
async fn limit_email_request(
    state: &AppState,
    email: &EmailAddress,
    context: &AuditContext,
) -> Result<(), AppError> {
    let limits = state.config.rate_limits.clone();
    let email_key = rate_limit::email_key(EMAIL_REQUEST_SCOPE, email.as_str());
    let ip_key = rate_limit::ip_key(EMAIL_REQUEST_SCOPE, context.client_ip.0);
    state
        .db
        .run(move |conn| {
            rate_limit::hit(conn, &ip_key, limits.email_requests_per_ip)?;
            rate_limit::hit(conn, &email_key, limits.email_requests_per_email)
        })
        .await
}

/// Sends single-use links (verification, password reset) to the frontend's pages.
#[derive(Clone)]
struct LinkMailer {
    public_app_url: String,
    ttl: Duration,
}

impl LinkMailer {
    fn new(state: &AppState) -> Self {
        LinkMailer {
            public_app_url: state.config.public_app_url.clone(),
            ttl: state.config.email_token_ttl,
        }
    }

    fn ttl_minutes(&self) -> u64 {
        self.ttl.as_secs().div_ceil(60)
    }

    /// Creates a fresh token for the account (earlier ones of the purpose die) and
    /// queues the e-mail carrying its link, in the caller's transaction.
    fn send(
        &self,
        conn: &mut crate::db::DbConnection,
        account_id: &str,
        recipient: &str,
        purpose: TokenPurpose,
        compose: impl FnOnce(&str, u64) -> mail::Email,
    ) -> Result<(), AppError> {
        let token = opaque::generate();
        repo::replace_email_token(conn, account_id, purpose, &opaque::hash(&token), self.ttl)?;
        let page = match purpose {
            TokenPurpose::VerifyEmail => "verify-email",
            TokenPurpose::ResetPassword => "reset-password",
        };
        let link = format!("{}/{page}?token={token}", self.public_app_url);
        mail::enqueue(conn, recipient, &compose(&link, self.ttl_minutes()))
    }
}

pub async fn register(
    state: &AppState,
    request: RegisterRequest,
    lang: Lang,
    context: AuditContext,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::default();
    let email = errors.take(EmailAddress::parse(&request.email, "/email"));
    let first_name = errors.take(PersonName::parse(&request.first_name, "/first_name"));
    let last_name = errors.take(PersonName::parse(&request.last_name, "/last_name"));
    new_password(
        &mut errors,
        &request.password,
        &request.password_confirmation,
    );
    errors.into_result()?;
    let (Some(email), Some(first_name), Some(last_name)) = (email, first_name, last_name) else {
        unreachable!("no field errors means every field parsed");
    };

    limit_email_request(state, &email, &context).await?;
    // Hash before looking the address up, so known and unknown addresses cost the same.
    let password_hash = state
        .hasher
        .hash(SecretString::from(request.password))
        .await?;

    let links = LinkMailer::new(state);
    let created = {
        let (email, context) = (email.clone(), context.clone());
        state
            .db
            .transaction(move |conn| {
                if repo::find_by_email(conn, email.as_str())?.is_some() {
                    return Ok(false);
                }
                let now = repo::now();
                let id = uuid::Uuid::new_v4().to_string();
                repo::insert_account(
                    conn,
                    &NewAccount {
                        id: &id,
                        email: email.as_str(),
                        password_hash: &password_hash,
                        first_name: first_name.as_str(),
                        last_name: last_name.as_str(),
                        role: repo::ROLE_SUBSCRIBER,
                        tokens_valid_after: now,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
                links.send(
                    conn,
                    &id,
                    email.as_str(),
                    TokenPurpose::VerifyEmail,
                    |link, minutes| {
                        templates::verification(lang, first_name.as_str(), link, minutes)
                    },
                )?;
                audit::record_for_account(conn, &context, AuditAction::Registered, &id)?;
                Ok(true)
            })
            .await
    };
    let created = match created {
        Ok(created) => created,
        // A concurrent registration of the same address won the unique index.
        Err(AppError::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) => false,
        Err(other) => return Err(other),
    };
    if !created {
        let reset_hint = format!("{}/forgot-password", state.config.public_app_url);
        state
            .db
            .transaction(move |conn| {
                let Some(account) = repo::find_by_email(conn, email.as_str())? else {
                    return Ok(());
                };
                let notice = templates::account_exists(lang, &account.first_name, &reset_hint);
                mail::enqueue(conn, &account.email, &notice)?;
                audit::record(
                    conn,
                    &context,
                    AuditAction::RegisterForExistingAccount,
                    None,
                    Some(&account.id),
                    None,
                )
            })
            .await?;
    }
    state.outbox.wake();
    Ok(())
}

/// Consumes a single-use e-mailed token, or explains why it cannot be used.
fn consume_token(
    conn: &mut crate::db::DbConnection,
    purpose: TokenPurpose,
    token: &str,
) -> Result<String, AppError> {
    let kind = match purpose {
        TokenPurpose::VerifyEmail => EmailTokenKind::Verification,
        TokenPurpose::ResetPassword => EmailTokenKind::PasswordReset,
    };
    let stored = repo::find_email_token(conn, purpose, &opaque::hash(token))?
        .ok_or(AppError::EmailTokenInvalid(kind))?;
    if stored.used_at.is_some() {
        return Err(AppError::EmailTokenInvalid(kind));
    }
    if stored.expires_at <= repo::now() {
        return Err(AppError::EmailTokenExpired(kind));
    }
    if !repo::consume_email_token(conn, &stored.id)? {
        return Err(AppError::EmailTokenInvalid(kind));
    }
    Ok(stored.account_id)
}

pub async fn verify_email(
    state: &AppState,
    request: VerifyEmailRequest,
    context: AuditContext,
) -> Result<(), AppError> {
    if request.token.trim().is_empty() {
        return Err(AppError::field("/token", FieldErrorCode::Required));
    }
    state
        .db
        .transaction(move |conn| {
            let account_id = consume_token(conn, TokenPurpose::VerifyEmail, request.token.trim())?;
            repo::mark_email_verified(conn, &account_id)?;
            audit::record_for_account(conn, &context, AuditAction::EmailVerified, &account_id)
        })
        .await
}

pub async fn resend_verification(
    state: &AppState,
    request: EmailRequest,
    lang: Lang,
    context: AuditContext,
) -> Result<(), AppError> {
    let email = EmailAddress::parse(&request.email, "/email")?;
    limit_email_request(state, &email, &context).await?;
    let links = LinkMailer::new(state);
    state
        .db
        .transaction(move |conn| {
            let Some(account) = repo::find_by_email(conn, email.as_str())? else {
                return Ok(());
            };
            if account.email_verified_at.is_some() {
                return Ok(());
            }
            let last = repo::latest_email_token_at(conn, &account.id, TokenPurpose::VerifyEmail)?;
            let too_soon = last.is_some_and(|at| {
                repo::now() - at < chrono::Duration::from_std(RESEND_INTERVAL).unwrap_or_default()
            });
            if too_soon {
                return Ok(());
            }
            links.send(
                conn,
                &account.id,
                &account.email,
                TokenPurpose::VerifyEmail,
                |link, minutes| templates::verification(lang, &account.first_name, link, minutes),
            )?;
            audit::record_for_account(conn, &context, AuditAction::VerificationResent, &account.id)
        })
        .await?;
    state.outbox.wake();
    Ok(())
}

/// Opens a session after a successful login and forgets the address's failed attempts,
/// in one transaction.
async fn open_session(
    state: &AppState,
    account: &Account,
    failures_key: String,
    context: &AuditContext,
) -> Result<TokenResponse, AppError> {
    let refresh_token = opaque::generate();
    let refresh_hash = opaque::hash(&refresh_token);
    let ttl = state.config.refresh_token_ttl;
    let account_id = account.id.clone();
    let context = context.clone();
    let session_id = state
        .db
        .transaction(move |conn| {
            rate_limit::clear(conn, &failures_key)?;
            let session_id = repo::create_session(conn, &account_id, ttl)?;
            repo::insert_refresh_token(conn, &session_id, &refresh_hash)?;
            audit::record(
                conn,
                &context,
                AuditAction::LoginSucceeded,
                Some(&account_id),
                Some(&account_id),
                Some(serde_json::json!({ "session_id": session_id })),
            )?;
            Ok(session_id)
        })
        .await?;
    token_pair(state, account, &session_id, refresh_token)
}

fn token_pair(
    state: &AppState,
    account: &Account,
    session_id: &str,
    refresh_token: String,
) -> Result<TokenResponse, AppError> {
    Ok(TokenResponse {
        access_token: state.keys.issue(&account.id, session_id, &account.role)?,
        token_type: "Bearer".into(),
        expires_in: state.keys.ttl().as_secs(),
        refresh_token,
    })
}

pub async fn login(
    state: &AppState,
    request: LoginRequest,
    context: AuditContext,
) -> Result<TokenResponse, AppError> {
    let mut errors = FieldErrors::default();
    if request.email.trim().is_empty() {
        errors.push(FieldError::new("/email", FieldErrorCode::Required));
    }
    if request.password.is_empty() {
        errors.push(FieldError::new("/password", FieldErrorCode::Required));
    }
    errors.into_result()?;
    let email = request.email.trim().to_lowercase();
    let limits = state.config.rate_limits.clone();
    let email_key = rate_limit::email_key(PASSWORD_FAILURE_SCOPE, &email);
    let ip_key = rate_limit::ip_key(PASSWORD_FAILURE_SCOPE, context.client_ip.0);

    let account = {
        let (email, email_key, ip_key, limits) = (
            email.clone(),
            email_key.clone(),
            ip_key.clone(),
            limits.clone(),
        );
        state
            .db
            .run(move |conn| {
                rate_limit::check(conn, &ip_key, limits.login_failures_per_ip)?;
                rate_limit::check(conn, &email_key, limits.login_failures_per_account)?;
                repo::find_by_email(conn, &email)
            })
            .await?
    };
    // An unknown address is verified against a dummy hash: same time, same answer.
    let password_ok = state
        .hasher
        .verify(
            SecretString::from(request.password),
            account.as_ref().map(|a| a.password_hash.clone()),
        )
        .await?;
    let account = match account {
        Some(account) if password_ok => account,
        account => {
            let subject = account.map(|a| a.id);
            let context = context.clone();
            state
                .db
                .run(move |conn| {
                    audit::record(
                        conn,
                        &context,
                        AuditAction::LoginFailed,
                        subject.as_deref(),
                        subject.as_deref(),
                        None,
                    )?;
                    rate_limit::hit(conn, &ip_key, limits.login_failures_per_ip)?;
                    rate_limit::hit(conn, &email_key, limits.login_failures_per_account)
                })
                .await?;
            return Err(AppError::InvalidCredentials);
        }
    };
    if account.email_verified_at.is_none() {
        return Err(AppError::EmailNotVerified);
    }
    open_session(state, &account, email_key, &context).await
}

/// The stored form of the presented refresh token; a missing one is a field error.
fn presented_refresh_token(request: &RefreshRequest) -> Result<String, AppError> {
    let token = request.refresh_token.trim();
    if token.is_empty() {
        return Err(AppError::field("/refresh_token", FieldErrorCode::Required));
    }
    Ok(opaque::hash(token))
}

pub async fn refresh(
    state: &AppState,
    request: RefreshRequest,
    context: AuditContext,
) -> Result<TokenResponse, AppError> {
    let presented = presented_refresh_token(&request)?;
    let new_token = opaque::generate();
    let new_hash = opaque::hash(&new_token);
    let outcome = state
        .db
        .transaction(move |conn| {
            let Some((token, session)) = repo::find_refresh_token(conn, &presented)? else {
                return Ok(None);
            };
            if session.revoked_at.is_some() || session.expires_at <= repo::now() {
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
            let Some(account) = repo::find_by_id(conn, &session.account_id)? else {
                return Ok(None);
            };
            repo::insert_refresh_token(conn, &session.id, &new_hash)?;
            audit::record_for_account(conn, &context, AuditAction::TokenRefreshed, &account.id)?;
            Ok(Some((account, session.id)))
        })
        .await?;
    // Unknown, expired, logged out and replayed tokens all get the same answer.
    let (account, session_id) = outcome.ok_or(AppError::InvalidRefreshToken)?;
    token_pair(state, &account, &session_id, new_token)
}

pub async fn logout(
    state: &AppState,
    request: RefreshRequest,
    context: AuditContext,
) -> Result<(), AppError> {
    let presented = presented_refresh_token(&request)?;
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

pub async fn forgot_password(
    state: &AppState,
    request: EmailRequest,
    lang: Lang,
    context: AuditContext,
) -> Result<(), AppError> {
    let email = EmailAddress::parse(&request.email, "/email")?;
    limit_email_request(state, &email, &context).await?;
    let links = LinkMailer::new(state);
    state
        .db
        .transaction(move |conn| {
            let Some(account) = repo::find_by_email(conn, email.as_str())? else {
                return Ok(());
            };
            links.send(
                conn,
                &account.id,
                &account.email,
                TokenPurpose::ResetPassword,
                |link, minutes| templates::password_reset(lang, &account.first_name, link, minutes),
            )?;
            audit::record_for_account(
                conn,
                &context,
                AuditAction::PasswordResetRequested,
                &account.id,
            )
        })
        .await?;
    state.outbox.wake();
    Ok(())
}

pub async fn reset_password(
    state: &AppState,
    request: ResetPasswordRequest,
    context: AuditContext,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::default();
    if request.token.trim().is_empty() {
        errors.push(FieldError::new("/token", FieldErrorCode::Required));
    }
    new_password(
        &mut errors,
        &request.password,
        &request.password_confirmation,
    );
    errors.into_result()?;
    let password_hash = state
        .hasher
        .hash(SecretString::from(request.password))
        .await?;
    state
        .db
        .transaction(move |conn| {
            let account_id =
                consume_token(conn, TokenPurpose::ResetPassword, request.token.trim())?;
            repo::set_password(conn, &account_id, &password_hash)?;
            // The reset link proves the mailbox, so the address counts as verified.
            repo::mark_email_verified(conn, &account_id)?;
            repo::revoke_all_sessions(conn, &account_id)?;
            audit::record_for_account(conn, &context, AuditAction::PasswordReset, &account_id)
        })
        .await
}

pub async fn update_account(
    state: &AppState,
    account: Account,
    request: UpdateAccountRequest,
    context: AuditContext,
) -> Result<Account, AppError> {
    let mut errors = FieldErrors::default();
    let first_name = request
        .first_name
        .as_deref()
        .and_then(|raw| errors.take(PersonName::parse(raw, "/first_name")));
    let last_name = request
        .last_name
        .as_deref()
        .and_then(|raw| errors.take(PersonName::parse(raw, "/last_name")));
    errors.into_result()?;
    let account_id = account.id;
    state
        .db
        .transaction(move |conn| {
            repo::update_names(
                conn,
                &account_id,
                first_name.as_ref().map(PersonName::as_str),
                last_name.as_ref().map(PersonName::as_str),
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
                Some(&account_id),
                Some(&account_id),
                Some(serde_json::json!({ "fields": changed })),
            )?;
            repo::find_by_id(conn, &account_id)?.ok_or(AppError::NotFound)
        })
        .await
}

/// Confirms the signed-in account's password; wrong ones count against the account's
/// failed-login allowance and are audited.
async fn require_password(
    state: &AppState,
    account: &Account,
    password: String,
    pointer: &str,
    context: &AuditContext,
) -> Result<(), AppError> {
    if password.is_empty() {
        return Err(AppError::field(pointer, FieldErrorCode::Required));
    }
    let limit = state.config.rate_limits.login_failures_per_account;
    let failures_key = rate_limit::email_key(PASSWORD_FAILURE_SCOPE, &account.email);
    {
        let failures_key = failures_key.clone();
        state
            .db
            .run(move |conn| rate_limit::check(conn, &failures_key, limit))
            .await?;
    }
    let ok = state
        .hasher
        .verify(
            SecretString::from(password),
            Some(account.password_hash.clone()),
        )
        .await?;
    if ok {
        return Ok(());
    }
    let (account_id, context) = (account.id.clone(), context.clone());
    state
        .db
        .run(move |conn| {
            audit::record_for_account(
                conn,
                &context,
                AuditAction::PasswordCheckFailed,
                &account_id,
            )?;
            rate_limit::hit(conn, &failures_key, limit)
        })
        .await?;
    Err(AppError::field(pointer, FieldErrorCode::PasswordIncorrect))
}

pub async fn change_password(
    state: &AppState,
    account: Account,
    session_id: String,
    request: ChangePasswordRequest,
    context: AuditContext,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::default();
    if request.current_password.is_empty() {
        errors.push(FieldError::new(
            "/current_password",
            FieldErrorCode::Required,
        ));
    }
    new_password(
        &mut errors,
        &request.password,
        &request.password_confirmation,
    );
    errors.into_result()?;
    require_password(
        state,
        &account,
        request.current_password,
        "/current_password",
        &context,
    )
    .await?;
    let password_hash = state
        .hasher
        .hash(SecretString::from(request.password))
        .await?;
    let account_id = account.id;
    state
        .db
        .transaction(move |conn| {
            repo::set_password(conn, &account_id, &password_hash)?;
            repo::revoke_other_sessions(conn, &account_id, &session_id)?;
            audit::record_for_account(conn, &context, AuditAction::PasswordChanged, &account_id)
        })
        .await
}

pub async fn delete_account(
    state: &AppState,
    account: Account,
    request: DeleteAccountRequest,
    context: AuditContext,
) -> Result<(), AppError> {
    require_password(state, &account, request.password, "/password", &context).await?;
    state
        .db
        .transaction(move |conn| {
            // The audit entry keeps only the opaque id; sessions and tokens go with the row.
            audit::record_for_account(conn, &context, AuditAction::AccountDeleted, &account.id)?;
            audit::anonymise_account(conn, &account.id)?;
            mail::outbox::forget_recipient(conn, &account.email)?;
            repo::delete_account(conn, &account.id)
        })
        .await
}
