//! Database access of the account capability: accounts, e-mailed tokens, sessions and
//! refresh tokens. Every function takes the caller's connection, so callers decide what
//! commits together.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use crate::clock;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::{accounts, email_tokens, refresh_tokens, sessions};

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

/// An argon2id hash in PHC form. Not a secret like a password, but nothing to print.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredHash(pub String);

impl From<String> for StoredHash {
    fn from(hash: String) -> Self {
        StoredHash(hash)
    }
}

impl std::fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: String,
    pub email: String,
    #[diesel(deserialize_as = String)]
    pub password_hash: StoredHash,
    pub first_name: String,
    pub last_name: String,
    pub operator: bool,
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
    pub operator: bool,
    pub tokens_valid_after: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A change of the own account's names; `None` leaves a name as it is.
#[derive(AsChangeset)]
#[diesel(table_name = accounts)]
pub struct ProfileChanges<'a> {
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub updated_at: NaiveDateTime,
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

/// The account's current password hash, its row locked until the transaction ends (on
/// PostgreSQL; SQLite write transactions hold the whole database): a password reset or
/// change waits for, or is seen by, whoever holds it.
pub fn lock_password_hash(
    conn: &mut DbConnection,
    account_id: &str,
) -> Result<Option<String>, AppError> {
    let query = accounts::table
        .find(account_id)
        .select(accounts::password_hash);
    Ok(match conn {
        DbConnection::Postgres(pg) => query.for_update().first(pg).optional()?,
        DbConnection::Sqlite(sqlite) => query.first(sqlite).optional()?,
    })
}

pub fn mark_email_verified(conn: &mut DbConnection, account_id: &str) -> Result<(), AppError> {
    let now = clock::now();
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

pub fn update_profile(
    conn: &mut DbConnection,
    account_id: &str,
    changes: &ProfileChanges,
) -> Result<(), AppError> {
    diesel::update(accounts::table.find(account_id))
        .set(changes)
        .execute(conn)?;
    Ok(())
}

/// Stores a new password hash (sessions are ended separately by the caller).
pub fn set_password(
    conn: &mut DbConnection,
    account_id: &str,
    password_hash: &str,
) -> Result<(), AppError> {
    diesel::update(accounts::table.find(account_id))
        .set((
            accounts::password_hash.eq(password_hash),
            accounts::updated_at.eq(clock::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends every session of the account and invalidates every access token issued before
/// now (`tokens_valid_after`).
pub fn revoke_all_sessions(conn: &mut DbConnection, account_id: &str) -> Result<(), AppError> {
    let now = clock::now();
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
    .set(sessions::revoked_at.eq(clock::now()))
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

// One row per account and purpose (a unique index): a new token replaces the previous
// one in a single statement, so concurrent requests never leave two valid tokens.
const ISSUE_TOKEN_SQL: &str = "INSERT INTO email_tokens \
       (id, account_id, purpose, token_hash, expires_at, used_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, NULL, $6) \
     ON CONFLICT (account_id, purpose) DO UPDATE SET \
       token_hash = excluded.token_hash, expires_at = excluded.expires_at, \
       used_at = NULL, created_at = excluded.created_at";

/// Stores the hash of a new token for the account; the previous one of the purpose dies.
pub fn issue_email_token(
    conn: &mut DbConnection,
    account_id: &str,
    purpose: TokenPurpose,
    token_hash: &str,
    ttl: std::time::Duration,
) -> Result<(), AppError> {
    let now = clock::now();
    let id = uuid::Uuid::new_v4().to_string();
    let expires_at = now + clock::duration(ttl);
    let query = diesel::sql_query(crate::db::numbered_params(conn, ISSUE_TOKEN_SQL))
        .bind::<Text, _>(&id)
        .bind::<Text, _>(account_id)
        .bind::<Text, _>(purpose.as_str())
        .bind::<Text, _>(token_hash)
        .bind::<Timestamp, _>(expires_at)
        .bind::<Timestamp, _>(now);
    match conn {
        DbConnection::Postgres(pg) => query.execute(pg)?,
        DbConnection::Sqlite(sqlite) => query.execute(sqlite)?,
    };
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

/// When the account's token of this purpose was created, if it has one.
pub fn email_token_created_at(
    conn: &mut DbConnection,
    account_id: &str,
    purpose: TokenPurpose,
) -> Result<Option<NaiveDateTime>, AppError> {
    Ok(email_tokens::table
        .filter(email_tokens::account_id.eq(account_id))
        .filter(email_tokens::purpose.eq(purpose.as_str()))
        .select(email_tokens::created_at)
        .first(conn)
        .optional()?)
}

/// Marks the token used; false when another request consumed it first.
pub fn consume_email_token(conn: &mut DbConnection, token_id: &str) -> Result<bool, AppError> {
    let updated = diesel::update(
        email_tokens::table
            .find(token_id)
            .filter(email_tokens::used_at.is_null()),
    )
    .set(email_tokens::used_at.eq(clock::now()))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Ends the account's outstanding token of a purpose (e.g. a reset link once the
/// password was changed another way).
pub fn revoke_email_token(
    conn: &mut DbConnection,
    account_id: &str,
    purpose: TokenPurpose,
) -> Result<(), AppError> {
    diesel::delete(
        email_tokens::table
            .filter(email_tokens::account_id.eq(account_id))
            .filter(email_tokens::purpose.eq(purpose.as_str())),
    )
    .execute(conn)?;
    Ok(())
}

/// Deletes tokens used or expired before `before` (retention).
pub fn delete_spent_email_tokens(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> Result<usize, AppError> {
    Ok(diesel::delete(
        email_tokens::table.filter(
            email_tokens::used_at
                .lt(before)
                .or(email_tokens::expires_at.lt(before)),
        ),
    )
    .execute(conn)?)
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
    let now = clock::now();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&id),
            sessions::account_id.eq(account_id),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(now + clock::duration(ttl)),
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
    .set(sessions::revoked_at.eq(clock::now()))
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
            refresh_tokens::created_at.eq(clock::now()),
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
    .set(refresh_tokens::rotated_at.eq(clock::now()))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Deletes sessions that ended (expired or revoked) before `before`, with their refresh
/// tokens (retention). A session that still lives keeps every rotated token, so a
/// replayed one is still recognised.
pub fn delete_ended_sessions(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> Result<usize, AppError> {
    let ended = sessions::table
        .filter(
            sessions::expires_at
                .lt(before)
                .or(sessions::revoked_at.lt(before)),
        )
        .select(sessions::id);
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::session_id.eq_any(ended)))
        .execute(conn)?;
    Ok(diesel::delete(
        sessions::table.filter(
            sessions::expires_at
                .lt(before)
                .or(sessions::revoked_at.lt(before)),
        ),
    )
    .execute(conn)?)
}
