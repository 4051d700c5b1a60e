//! Database access of the account capability: accounts, e-mailed tokens, sessions and
//! refresh tokens. Every function takes the caller's connection, so callers decide what
//! commits together.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::audit::AuditEntry;
use crate::clock;
use crate::config::RateLimit;
use crate::db::{ASYNC_COMMIT, DbConnection, PreparedSql};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::rate_limit::{self, Permit};
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
    /// The language the account was made in (`de`, `en`).
    pub language: &'a str,
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

/// What a login needs of the account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct LoginAccount {
    pub id: String,
    #[diesel(deserialize_as = String)]
    pub password_hash: StoredHash,
    pub email_verified_at: Option<NaiveDateTime>,
}

#[derive(QueryableByName)]
struct CountedLogin {
    #[diesel(sql_type = Text)]
    counted_key: String,
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    counted_window: NaiveDateTime,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    password_hash: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    email_verified_at: Option<NaiveDateTime>,
}

/// Counts a login's attempts under `limits` (see `rate_limit::acquire_all`) and reads
/// the account of the address. On PostgreSQL one statement does both: under a login
/// flood every round trip to the database is taken from the cores that hash. It commits
/// asynchronously ([`ASYNC_COMMIT`]): a crash that lost the count would hand back a few
/// attempts, not worth a disk flush a login.
pub fn begin_login(
    conn: &mut DbConnection,
    limits: &[(String, RateLimit)],
    email: &str,
) -> Result<(Vec<Permit>, Option<LoginAccount>), AppError> {
    let DbConnection::Postgres(pg) = conn else {
        let permits = rate_limit::acquire_all(conn, limits)?;
        let account = accounts::table
            .filter(accounts::email.eq(email))
            .select(LoginAccount::as_select())
            .first(conn)
            .optional()?;
        return Ok((permits, account));
    };
    let now = clock::now();
    let rows: Vec<CountedLogin> = PreparedSql::new("WITH ")
        .sql(ASYNC_COMMIT)
        .sql(", counted AS (")
        .nest(rate_limit::acquire_statement(limits, now))
        .sql(
            ") SELECT counted.key AS counted_key, counted.window_start AS counted_window, \
             accounts.id, accounts.password_hash, accounts.email_verified_at \
             FROM counted CROSS JOIN async_commit LEFT JOIN accounts ON accounts.email = ",
        )
        .text(email)
        .load(pg)?;
    let account = rows.first().and_then(|row| {
        Some(LoginAccount {
            id: row.id.clone()?,
            password_hash: StoredHash(row.password_hash.clone()?),
            email_verified_at: row.email_verified_at,
        })
    });
    let counted = rows
        .into_iter()
        .map(|row| (row.counted_key, row.counted_window))
        .collect();
    let permits = rate_limit::permits_or_refusal(conn, limits, counted, now)?;
    Ok((permits, account))
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
fn lock_password_hash(
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

/// Gives the account operator rights.
pub fn grant_operator(conn: &mut DbConnection, account_id: &str) -> Result<(), AppError> {
    diesel::update(accounts::table.find(account_id))
        .set((
            accounts::operator.eq(true),
            accounts::updated_at.eq(crate::clock::now()),
        ))
        .execute(conn)?;
    Ok(())
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

/// The language the account was made in.
pub fn language_of(conn: &mut DbConnection, account_id: &str) -> Result<Lang, AppError> {
    let language: String = accounts::table
        .find(account_id)
        .select(accounts::language)
        .first(conn)?;
    Ok(if language == Lang::En.as_str() {
        Lang::En
    } else {
        Lang::De
    })
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

/// Stores the hash of a new token for the account; the previous one of the purpose dies.
/// One row per account and purpose (a unique index) and one statement, so concurrent
/// requests never leave two valid tokens.
pub fn issue_email_token(
    conn: &mut DbConnection,
    account_id: &str,
    purpose: TokenPurpose,
    token_hash: &str,
    ttl: std::time::Duration,
) -> Result<(), AppError> {
    let now = clock::now();
    let id = uuid::Uuid::new_v4().to_string();
    let statement = PreparedSql::new(
        "INSERT INTO email_tokens \
           (id, account_id, purpose, token_hash, expires_at, used_at, created_at) VALUES (",
    )
    .text(&id)
    .sql(", ")
    .text(account_id)
    .sql(", ")
    .text(purpose.as_str())
    .sql(", ")
    .text(token_hash)
    .sql(", ")
    .timestamp(now + clock::duration(ttl))
    .sql(", NULL, ")
    .timestamp(now)
    .sql(
        ") ON CONFLICT (account_id, purpose) DO UPDATE SET \
           token_hash = excluded.token_hash, expires_at = excluded.expires_at, \
           used_at = NULL, created_at = excluded.created_at",
    );
    match conn {
        DbConnection::Postgres(pg) => statement.execute(pg)?,
        DbConnection::Sqlite(sqlite) => statement.execute(sqlite)?,
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

/// What a successful login writes: a session, its first refresh token and the audit
/// entry, and it gives back the attempt it counted — if the password hash is still the
/// one the password was verified against.
pub struct SessionOpening<'a> {
    pub session_id: &'a str,
    pub account_id: &'a str,
    pub verified_hash: &'a str,
    /// The client that logs in (its `User-Agent`), kept with the session.
    pub user_agent: Option<&'a str>,
    pub ttl: std::time::Duration,
    pub refresh_hash: &'a str,
    pub audit: &'a AuditEntry,
    /// The client's counted attempt, given back.
    pub attempt: &'a Permit,
    /// The address's failed attempts, forgotten.
    pub failures_key: &'a str,
}

#[derive(QueryableByName)]
struct Written {
    #[allow(dead_code)]
    #[diesel(sql_type = Text)]
    id: String,
}

/// Opens the session; false when the password changed since it was verified.
///
/// PostgreSQL does it in one statement: a login is worth one round trip, not seven
/// (under a login flood the database's share of the cores is the logins' shortfall).
/// The account row is locked (`FOR UPDATE`) and compared with the hash that was
/// verified; a reset that committed in between changed it, and nothing is written. The
/// rate-limit update is `rate_limit::settle`'s, inlined. It commits asynchronously
/// ([`ASYNC_COMMIT`]): a crash that lost the session, its audit entry and the counters'
/// settling with it would only make the user log in again.
pub fn open_session(conn: &mut DbConnection, opening: &SessionOpening) -> Result<bool, AppError> {
    let now = clock::now();
    let expires_at = now + clock::duration(opening.ttl);
    let DbConnection::Postgres(pg) = conn else {
        return crate::db::write_transaction(conn, |conn| {
            if lock_password_hash(conn, opening.account_id)?.as_deref()
                != Some(opening.verified_hash)
            {
                return Ok(false);
            }
            create_session(conn, opening, now, expires_at)?;
            insert_refresh_token(conn, opening.session_id, opening.refresh_hash)?;
            opening.audit.insert(conn)?;
            rate_limit::settle(conn, opening.attempt, opening.failures_key)?;
            Ok(true)
        });
    };
    let audit = opening.audit;
    let refresh_id = uuid::Uuid::new_v4().to_string();
    let written: Option<Written> =
        PreparedSql::new("WITH ")
            .sql(ASYNC_COMMIT)
            .sql(", current AS (SELECT id FROM accounts WHERE id = ")
            .text(opening.account_id)
            .sql(" AND password_hash = ")
            .text(opening.verified_hash)
            .sql(
                " FOR UPDATE), session AS (\
                 INSERT INTO sessions (id, account_id, created_at, expires_at, last_used_at, \
                 user_agent, client_ip) SELECT ",
            )
            .text(opening.session_id)
            .sql(", id, ")
            .timestamp(now)
            .sql(", ")
            .timestamp(expires_at)
            .sql(", ")
            .timestamp(now)
            .sql(", ")
            .optional_text(opening.user_agent)
            .sql(", ")
            .optional_text(audit.client_ip.as_deref())
            .sql(
                " FROM current RETURNING id), refresh AS (\
                 INSERT INTO refresh_tokens (id, session_id, token_hash, created_at) SELECT ",
            )
            .text(&refresh_id)
            .sql(", id, ")
            .text(opening.refresh_hash)
            .sql(", ")
            .timestamp(now)
            // The two counters are locked in key order, as `rate_limit::acquire_all`
            // takes them; an `UPDATE … WHERE key = a OR key = b` would lock them in
            // whatever order its plan visits them, and deadlock with a login counting.
            .sql(
                " FROM session), locked AS (SELECT key FROM rate_limits \
                 WHERE EXISTS (SELECT 1 FROM session) AND key IN (",
            )
            .text(opening.failures_key)
            .sql(", ")
            .text(opening.attempt.key())
            .sql(
                ") ORDER BY key FOR UPDATE), settled AS (UPDATE rate_limits \
                 SET hits = CASE WHEN rate_limits.key = ",
            )
            .text(opening.failures_key)
            .sql(" THEN 0 ELSE rate_limits.hits - 1 END FROM locked WHERE rate_limits.key = locked.key AND (rate_limits.key = ")
            .text(opening.failures_key)
            .sql(" OR (rate_limits.window_start = ")
            .timestamp(opening.attempt.window_start())
            .sql(
                " AND rate_limits.hits > 0))) INSERT INTO audit_log \
                 (id, occurred_at, actor_id, action, subject_id, client_ip, request_id, details) \
                 SELECT ",
            )
            .text(&audit.id)
            .sql(", ")
            .timestamp(audit.occurred_at)
            .sql(", ")
            .optional_text(audit.actor_id.as_deref())
            .sql(", ")
            .text(audit.action)
            .sql(", ")
            .optional_text(audit.subject_id.as_deref())
            .sql(", ")
            .optional_text(audit.client_ip.as_deref())
            .sql(", ")
            .optional_text(audit.request_id.as_deref())
            .sql(", ")
            .optional_text(audit.details.as_deref())
            .sql(" FROM session CROSS JOIN async_commit RETURNING id")
            .get_result(pg)
            .optional()?;
    Ok(written.is_some())
}

fn create_session(
    conn: &mut DbConnection,
    opening: &SessionOpening,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(opening.session_id),
            sessions::account_id.eq(opening.account_id),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(expires_at),
            sessions::last_used_at.eq(now),
            sessions::user_agent.eq(opening.user_agent),
            sessions::client_ip.eq(opening.audit.client_ip.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A session's refresh: when, by which client, from where (its holder's export shows it).
pub fn touch_session(
    conn: &mut DbConnection,
    session_id: &str,
    user_agent: Option<&str>,
    client_ip: &str,
) -> Result<(), AppError> {
    diesel::update(sessions::table.find(session_id))
        .set((
            sessions::last_used_at.eq(clock::now()),
            sessions::user_agent.eq(user_agent),
            sessions::client_ip.eq(client_ip),
        ))
        .execute(conn)?;
    Ok(())
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
