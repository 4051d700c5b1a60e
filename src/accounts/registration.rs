//! Registration and e-mail verification (guide steps 1–4).

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::accounts::passwords::new_password;
use crate::accounts::problems::AccountProblem;
use crate::accounts::repo::{self, NewAccount, TokenPurpose};
use crate::accounts::types::{EmailRequest, RegisterRequest, VerifyEmailRequest};
use crate::accounts::{limits, mails};
use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::opaque;
use crate::clock;
use crate::db::DbConnection;
use crate::domain::{EmailAddress, PersonName};
use crate::error::{AppError, FieldError, FieldErrorCode, FieldErrors};
use crate::i18n::Lang;
use crate::mail;
use crate::state::AppState;

/// A registration whose every field is valid.
pub struct Registration {
    pub email: EmailAddress,
    pub password: SecretString,
    pub first_name: PersonName,
    pub last_name: PersonName,
}

impl TryFrom<RegisterRequest> for Registration {
    type Error = AppError;

    fn try_from(request: RegisterRequest) -> Result<Self, AppError> {
        let mut errors = FieldErrors::default();
        let email = errors.take(parse_required(request.email, "/email", EmailAddress::parse));
        let first_name = errors.take(parse_required(
            request.first_name,
            "/first_name",
            PersonName::parse,
        ));
        let last_name = errors.take(parse_required(
            request.last_name,
            "/last_name",
            PersonName::parse,
        ));
        let password = new_password(&mut errors, request.password, request.password_confirmation);
        errors.into_result()?;
        match (email, password, first_name, last_name) {
            (Some(email), Some(password), Some(first_name), Some(last_name)) => Ok(Registration {
                email,
                password,
                first_name,
                last_name,
            }),
            _ => unreachable!("no field errors means every field parsed"),
        }
    }
}

/// A required text field, parsed; a missing one is `required` at its pointer.
pub fn parse_required<T>(
    value: Option<String>,
    pointer: &str,
    parse: fn(&str, &str) -> Result<T, FieldError>,
) -> Result<T, FieldError> {
    match value {
        None => Err(FieldError::new(pointer, FieldErrorCode::Required)),
        Some(raw) => parse(&raw, pointer),
    }
}

/// A single-use token from a request: present and of a plausible length. Surrounding
/// ASCII whitespace (from copying) is dropped — exactly the characters the schema's
/// pattern `[^\t\n\f\r ]` does not count.
pub fn required_token(value: Option<SecretString>, pointer: &str) -> Result<String, FieldError> {
    let token = value
        .as_ref()
        .map(|t| {
            t.expose_secret()
                .trim_matches(|c: char| c.is_ascii_whitespace())
        })
        .unwrap_or_default();
    if token.is_empty() {
        return Err(FieldError::new(pointer, FieldErrorCode::Required));
    }
    if token.chars().count() > opaque::MAX_PRESENTED_CHARS {
        return Err(FieldError::new(
            pointer,
            FieldErrorCode::TooLong {
                max: opaque::MAX_PRESENTED_CHARS,
            },
        ));
    }
    Ok(token.to_string())
}

pub async fn register(
    state: &AppState,
    request: RegisterRequest,
    lang: Lang,
    context: AuditContext,
) -> Result<(), AppError> {
    let registration = Registration::try_from(request)?;
    let slot = state.hasher.reserve()?;
    limits::limit_email_request(state, registration.email.as_str(), &context).await?;
    // Hash before looking the address up, so known and unknown addresses cost the same.
    let password_hash = slot.hash(registration.password).await?;

    let Registration {
        email,
        first_name,
        last_name,
        ..
    } = registration;
    let outcome = {
        let (email, context) = (email.clone(), context.clone());
        state
            .db
            .transaction(move |conn| {
                if notify_existing_account(conn, &email, lang, &context)? {
                    return Ok(());
                }
                let now = clock::now();
                let id = uuid::Uuid::new_v4().to_string();
                repo::insert_account(
                    conn,
                    &NewAccount {
                        id: &id,
                        email: email.as_str(),
                        password_hash: &password_hash,
                        first_name: first_name.as_str(),
                        last_name: last_name.as_str(),
                        operator: false,
                        tokens_valid_after: now,
                        created_at: now,
                        updated_at: now,
                    },
                )?;
                mail::enqueue(conn, email.as_str(), mails::VERIFICATION, lang, json!({}))?;
                audit::record_for_account(conn, &context, AuditAction::Registered, &id)
            })
            .await
    };
    match outcome {
        Ok(()) => {}
        // A concurrent registration of the same address won the unique index.
        Err(AppError::Database(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ))) => {
            state
                .db
                .transaction(move |conn| {
                    notify_existing_account(conn, &email, lang, &context).map(drop)
                })
                .await?
        }
        Err(other) => return Err(other),
    }
    state.outbox.wake();
    Ok(())
}

/// Tells an address that already has an account so by e-mail, instead of telling the
/// one who registered it. False when there is no such account.
fn notify_existing_account(
    conn: &mut DbConnection,
    email: &EmailAddress,
    lang: Lang,
    context: &AuditContext,
) -> Result<bool, AppError> {
    let Some(account) = repo::find_by_email(conn, email.as_str())? else {
        return Ok(false);
    };
    mail::enqueue(conn, &account.email, mails::ACCOUNT_EXISTS, lang, json!({}))?;
    audit::record(
        conn,
        context,
        AuditAction::RegisterForExistingAccount,
        None,
        Some(&account.id),
        None,
    )?;
    Ok(true)
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

pub async fn verify_email(
    state: &AppState,
    request: VerifyEmailRequest,
    context: AuditContext,
) -> Result<(), AppError> {
    let token = required_token(request.token, "/token")?;
    state
        .db
        .transaction(move |conn| {
            let account_id = consume_token(conn, TokenPurpose::VerifyEmail, &token)?;
            repo::mark_email_verified(conn, &account_id)?;
            audit::record_for_account(conn, &context, AuditAction::EmailVerified, &account_id)
        })
        .await
}

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

pub async fn resend_verification(
    state: &AppState,
    request: EmailRequest,
    lang: Lang,
    context: AuditContext,
) -> Result<(), AppError> {
    request_link_mail(
        state,
        request,
        mails::VERIFICATION,
        AuditAction::VerificationResent,
        lang,
        context,
    )
    .await
}
