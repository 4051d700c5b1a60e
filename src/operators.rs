//! Operator accounts: `firmenportal create-operator` creates a verified account with
//! operator rights, or gives an existing account those rights.

use secrecy::SecretString;

use crate::accounts::repo::{self, NewAccount};
use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::password::{PasswordHasher, check_policy};
use crate::clock;
use crate::db::DbPool;
use crate::domain::{EmailAddress, PersonName};
use crate::error::{AppError, FieldErrors};

/// What `create-operator` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorOutcome {
    /// A new verified account with operator rights.
    Created,
    /// An existing account got operator rights (its password is unchanged).
    Granted,
}

/// The fields `create-operator` takes, as given on the command line.
pub struct OperatorRequest {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Read from standard input; used only for a new account.
    pub password: SecretString,
}

pub async fn create_operator(
    db: &DbPool,
    hasher: &PasswordHasher,
    request: OperatorRequest,
) -> Result<OperatorOutcome, AppError> {
    let mut errors = FieldErrors::default();
    let email = errors.take(EmailAddress::parse(&request.email, "/email"));
    let first_name = errors.take(PersonName::parse(&request.first_name, "/first_name"));
    let last_name = errors.take(PersonName::parse(&request.last_name, "/last_name"));
    errors.into_result()?;
    let (Some(email), Some(first_name), Some(last_name)) = (email, first_name, last_name) else {
        return Err(AppError::Internal(
            "operator fields parsed without errors".into(),
        ));
    };
    let context = AuditContext::for_command("create-operator");
    let existing = {
        let (email, context) = (email.clone(), context.clone());
        db.transaction(move |conn| {
            let Some(account) = repo::find_by_email(conn, email.as_str())? else {
                return Ok(false);
            };
            repo::grant_operator(conn, &account.id)?;
            audit::record(
                conn,
                &context,
                AuditAction::OperatorGranted,
                None,
                Some(&account.id),
                None,
            )?;
            Ok(true)
        })
        .await?
    };
    if existing {
        return Ok(OperatorOutcome::Granted);
    }
    {
        use secrecy::ExposeSecret;
        check_policy(request.password.expose_secret(), "/password")?;
    }
    let password_hash = hasher.hash(request.password).await?;
    db.transaction(move |conn| {
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
                operator: true,
                tokens_valid_after: now,
                created_at: now,
                updated_at: now,
                language: crate::i18n::Lang::De.as_str(),
            },
        )?;
        repo::mark_email_verified(conn, &id)?;
        audit::record(
            conn,
            &context,
            AuditAction::OperatorGranted,
            None,
            Some(&id),
            None,
        )
    })
    .await?;
    Ok(OperatorOutcome::Created)
}
