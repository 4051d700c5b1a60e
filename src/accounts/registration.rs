//! Registration and e-mail verification (guide steps 1–4).

use secrecy::SecretString;
use serde_json::json;

use crate::accounts::input::{new_password, parse_required, required_token};
use crate::accounts::links::{consume_token, request_link_mail};
use crate::accounts::repo::{self, NewAccount, TokenPurpose};
use crate::accounts::types::{EmailRequest, RegisterRequest, VerifyEmailRequest};
use crate::accounts::{limits, mails};
use crate::audit::{self, AuditAction, AuditContext};
use crate::clock;
use crate::db::DbConnection;
use crate::domain::{EmailAddress, PersonName};
use crate::error::{AppError, FieldErrors};
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
                        language: lang.as_str(),
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
