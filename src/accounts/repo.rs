//! Database access of the account capability: accounts, e-mailed tokens, sessions and
//! refresh tokens. Every function takes the caller's connection, so callers decide what
//! commits together.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::{accounts, email_tokens, refresh_tokens, sessions};

pub const ROLE_SUBSCRIBER: &str = "subscriber";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::VerifyEmail => "verify_email",
            TokenPurpose::ResetPassword => "reset_password",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub email_verified_at: Option<NaiveDateTime>,
    pub tokens_valid_after: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub role: &'a str,
    pub tokens_valid_after: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

pub fn insert_account(conn: &mut DbConnection, account: &NewAccount) -> Result<(), AppError> {
    diesel::insert_into(accounts::table)
        .values(account)
        .execute(conn)?;
    Ok(())
}

pub fn find_by_email(conn: &mut DbConnection, email: &str) -> Result<Option<Account>, AppError> {
    Ok(accounts::table
        .filter(accounts::email.eq(email))
        .select(Account::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_id(conn: &mut DbConnection, id: &str) -> Result<Option<Account>, AppError> {
    Ok(accounts::table
        .find(id)
        .select(Account::as_select())
        .first(conn)
        .optional()?)
}

pub fn mark_email_verified(conn: &mut DbConnection, account_id: &str) -> Result<(), AppError> {
    let now = now();
    diesel::update(
        accounts::table
            .find(account_id)
            .filter(accounts::email_verified_at.is_null()),
    )
    .set((
        accounts::email_verified_at.eq(now),
        accounts::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn update_names(
    conn: &mut DbConnection,
    account_id: &str,
    first_name: Option<&str>,
    last_name: Option<&str>,
) -> Result<(), AppError> {
    let now = now();
    if let Some(first_name) = first_name {
        diesel::update(accounts::table.find(account_id))
            .set((
                accounts::first_name.eq(first_name),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    if let Some(last_name) = last_name {
        diesel::update(accounts::table.find(account_id))
            .set((
                accounts::last_name.eq(last_name),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Stores a new password hash (sessions are ended separately by the caller).
pub fn set_password(
    conn: &mut DbConnection,
    account_id: &str,
    password_hash: &str,
) -> Result<(), AppError> {
    let now = now();
    diesel::update(accounts::table.find(account_id))
        .set((
            accounts::password_hash.eq(password_hash),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends every session of the account and invalidates every access token issued before
/// now (`tokens_valid_after`).
pub fn revoke_all_sessions(conn: &mut DbConnection, account_id: &str) -> Result<(), AppError> {
    let now = now();
    diesel::update(accounts::table.find(account_id))
        .set(accounts::tokens_valid_after.eq(now))
        .execute(conn)?;
    diesel::update(
        sessions::table
            .filter(sessions::account_id.eq(account_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

pub fn revoke_other_sessions(
    conn: &mut DbConnection,
    account_id: &str,
    keep_session_id: &str,
) -> Result<(), AppError> {
    diesel::update(
        sessions::table
            .filter(sessions::account_id.eq(account_id))
            .filter(sessions::id.ne(keep_session_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now()))
    .execute(conn)?;
    Ok(())
}

pub fn delete_account(conn: &mut DbConnection, account_id: &str) -> Result<(), AppError> {
    diesel::delete(accounts::table.find(account_id)).execute(conn)?;
    Ok(())
}

// ---- e-mailed single-use tokens -------------------------------------------------------

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = email_tokens)]
pub struct EmailToken {
    pub id: String,
    pub account_id: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// Creates a token for the account; earlier unused tokens of the same purpose die.
pub fn replace_email_token(
    conn: &mut DbConnection,
    account_id: &str,
    purpose: TokenPurpose,
    token_hash: &str,
    ttl: std::time::Duration,
) -> Result<(), AppError> {
    let now = now();
    diesel::delete(
        email_tokens::table
            .filter(email_tokens::account_id.eq(account_id))
            .filter(email_tokens::purpose.eq(purpose.as_str())),
    )
    .execute(conn)?;
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::id.eq(uuid::Uuid::new_v4().to_string()),
            email_tokens::account_id.eq(account_id),
            email_tokens::purpose.eq(purpose.as_str()),
            email_tokens::token_hash.eq(token_hash),
            email_tokens::expires_at.eq(now + chrono::Duration::from_std(ttl).unwrap_or_default()),
            email_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_email_token(
    conn: &mut DbConnection,
    purpose: TokenPurpose,
    token_hash: &str,
) -> Result<Option<EmailToken>, AppError> {
    Ok(email_tokens::table
        .filter(email_tokens::token_hash.eq(token_hash))
        .filter(email_tokens::purpose.eq(purpose.as_str()))
        .select(EmailToken::as_select())
        .first(conn)
        .optional()?)
}

/// When the account's newest token of this purpose was created.
pub fn latest_email_token_at(
    conn: &mut DbConnection,
    account_id: &str,
    purpose: TokenPurpose,
) -> Result<Option<NaiveDateTime>, AppError> {
    Ok(email_tokens::table
        .filter(email_tokens::account_id.eq(account_id))
        .filter(email_tokens::purpose.eq(purpose.as_str()))
        .select(diesel::dsl::max(email_tokens::created_at))
        .first(conn)?)
}

/// Marks the token used; false when another request consumed it first.
pub fn consume_email_token(conn: &mut DbConnection, token_id: &str) -> Result<bool, AppError> {
    let updated = diesel::update(
        email_tokens::table
            .find(token_id)
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(now()))
    .execute(conn)?;
    Ok(updated == 1)
}

// ---- sessions and refresh tokens ------------------------------------------------------

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: String,
    pub account_id: String,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn create_session(
    conn: &mut DbConnection,
    account_id: &str,
    ttl: std::time::Duration,
) -> Result<String, AppError> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = now();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&id),
            sessions::account_id.eq(account_id),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(now + chrono::Duration::from_std(ttl).unwrap_or_default()),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn revoke_session(conn: &mut DbConnection, session_id: &str) -> Result<(), AppError> {
    diesel::update(
        sessions::table
            .find(session_id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now()))
    .execute(conn)?;
    Ok(())
}

pub fn insert_refresh_token(
    conn: &mut DbConnection,
    session_id: &str,
    token_hash: &str,
) -> Result<(), AppError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(uuid::Uuid::new_v4().to_string()),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: String,
    pub rotated_at: Option<NaiveDateTime>,
}

pub fn find_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<(RefreshToken, Session)>, AppError> {
    Ok(refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((RefreshToken::as_select(), Session::as_select()))
        .first(conn)
        .optional()?)
}

/// Marks a refresh token rotated; false when it already was (a replay).
pub fn rotate_refresh_token(conn: &mut DbConnection, token_id: &str) -> Result<bool, AppError> {
    let updated = diesel::update(
        refresh_tokens::table
            .find(token_id)
            .filter(refresh_tokens::rotated_at.is_null()),
    )
    .set(refresh_tokens::rotated_at.eq(now()))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The account behind an access token, if its session is still open.
pub fn find_active_session_account(
    conn: &mut DbConnection,
    account_id: &str,
    session_id: &str,
) -> Result<Option<Account>, AppError> {
    Ok(accounts::table
        .inner_join(sessions::table)
        .filter(accounts::id.eq(account_id))
        .filter(sessions::id.eq(session_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now()))
        .select(Account::as_select())
        .first(conn)
        .optional()?)
}
