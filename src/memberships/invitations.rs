//! Accepting a company invitation: the link's token and a password. An address without
//! an account gets a verified account with that password (the link proves the mailbox);
//! an address with one confirms it with that account's password. Either way the
//! membership becomes active in one conditional update, so a token is used once.

use secrecy::SecretString;

use crate::accounts::input::{given_password, new_password, required_token};
use crate::accounts::passwords::confirm_password;
use crate::accounts::repo::{self as accounts, NewAccount};
use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::opaque;
use crate::error::{AppError, FieldErrors};
use crate::memberships::MembershipProblem;
use crate::memberships::repo::{self, MembershipRow};
use crate::memberships::types::{
    AcceptInvitationRequest, AcceptedInvitation, MyCompany, parse_role,
};
use crate::state::AppState;

pub async fn accept_invitation(
    state: &AppState,
    request: AcceptInvitationRequest,
    lang: crate::i18n::Lang,
    context: AuditContext,
) -> Result<AcceptedInvitation, AppError> {
    let clock = state.clock.clone();
    let now = clock.now();
    let token = {
        let mut errors = FieldErrors::default();
        let token = errors.take(required_token(request.token.clone(), "/token"));
        let password = errors.take(given_password(request.password.clone(), "/password"));
        errors.into_result()?;
        drop(password);
        token.ok_or_else(|| AppError::Internal("token parsed without errors".into()))?
    };
    let token_hash = opaque::hash(&token);
    let (membership, account) = {
        let token_hash = token_hash.clone();
        state
            .db
            .run(move |conn| {
                let membership =
                    open_invitation(repo::find_by_token_hash(conn, &token_hash)?, now)?;
                let account = accounts::find_by_email(conn, &membership.email)?;
                Ok((membership, account))
            })
            .await?
    };
    let new_account = match &account {
        Some(account) => {
            let password = request
                .password
                .ok_or_else(|| AppError::Internal("password checked above".into()))?;
            confirm_password(
                state,
                &account.id,
                &account.email,
                password,
                "/password",
                &context,
            )
            .await?;
            None
        }
        None => Some(new_account_password(state, request).await?),
    };
    let account_created = new_account.is_some();
    let email = membership.email.clone();
    let company = state
        .db
        .transaction(move |conn| {
            let now = clock.now();
            let account_id = match (&account, &new_account) {
                (Some(account), _) => {
                    // The invitation reached this mailbox: the address is confirmed.
                    accounts::mark_email_verified(conn, &account.id)?;
                    account.id.clone()
                }
                (None, Some(password_hash)) => {
                    let id = uuid::Uuid::new_v4().to_string();
                    accounts::insert_account(
                        conn,
                        &NewAccount {
                            id: &id,
                            email: &membership.email,
                            password_hash,
                            first_name: &membership.first_name,
                            last_name: &membership.last_name,
                            operator: false,
                            tokens_valid_after: now,
                            created_at: now,
                            updated_at: now,
                            language: lang.as_str(),
                        },
                    )
                    // A parallel acceptance of this invitation created the account.
                    .map_err(|e| match e.violated_unique_column() {
                        Some(_) => MembershipProblem::InvitationTokenInvalid.into(),
                        None => e,
                    })?;
                    accounts::mark_email_verified(conn, &id)?;
                    audit::record_for_account(conn, &context, AuditAction::Registered, &id)?;
                    id
                }
                (None, None) => return Err(AppError::Internal("no account to accept".into())),
            };
            if !repo::accept(conn, &token_hash, &account_id, now)? {
                return Err(MembershipProblem::InvitationTokenInvalid.into());
            }
            audit::record(
                conn,
                &context,
                AuditAction::MembershipAccepted,
                Some(&account_id),
                Some(&membership.id),
                None,
            )?;
            let company = crate::companies::repo::find(conn, &membership.company_id)?
                .ok_or_else(AppError::not_found)?;
            Ok(MyCompany {
                id: company.id,
                name: company.data.name,
                customer_number: company.data.customer_number,
                role: parse_role(&membership.role)?,
            })
        })
        .await?;
    Ok(AcceptedInvitation {
        email,
        account_created,
        company,
    })
}

/// The membership of a token that is still open, or the problem to answer.
fn open_invitation(
    found: Option<MembershipRow>,
    now: chrono::NaiveDateTime,
) -> Result<MembershipRow, AppError> {
    let membership = found.ok_or(MembershipProblem::InvitationTokenInvalid)?;
    if membership.accepted_at.is_some() {
        return Err(MembershipProblem::InvitationTokenInvalid.into());
    }
    match membership.invitation_expires_at {
        Some(expires) if expires > now => Ok(membership),
        _ => Err(MembershipProblem::InvitationTokenExpired.into()),
    }
}

/// The new account's password, checked as at registration and hashed.
async fn new_account_password(
    state: &AppState,
    request: AcceptInvitationRequest,
) -> Result<String, AppError> {
    let mut errors = FieldErrors::default();
    let password: Option<SecretString> =
        new_password(&mut errors, request.password, request.password_confirmation);
    errors.into_result()?;
    let password =
        password.ok_or_else(|| AppError::Internal("password parsed without errors".into()))?;
    state.hasher.reserve()?.hash(password).await
}
