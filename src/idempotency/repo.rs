//! The stored keys and their first answers.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::{DbConnection, PreparedSql};
use crate::error::AppError;
use crate::schema::idempotency_keys;

const RUNNING: &str = "running";
const DONE: &str = "done";

/// A first answer as stored, to be replayed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub struct StoredAnswer {
    #[diesel(column_name = response_status)]
    pub status: Option<i32>,
    #[diesel(column_name = response_body)]
    pub body: Option<Vec<u8>>,
    #[diesel(column_name = response_content_type)]
    pub content_type: Option<String>,
    #[diesel(column_name = response_location)]
    pub location: Option<String>,
    #[diesel(column_name = response_etag)]
    pub etag: Option<String>,
}

/// What a request with a key may do.
#[derive(Debug)]
pub enum Claim {
    /// Run it: this request holds the key now.
    Run,
    /// Answer what the first request answered.
    Replay(StoredAnswer),
    /// The first request with the key is still running.
    InUse,
    /// The key was used for another request.
    Reused,
}

/// Takes the key `id` for the request `request_hash`, or says why not. An expired row
/// (older than `expired_before`, not yet purged) counts as none; a running row whose
/// holder has not finished by `now` (a crashed instance) is taken over.
pub fn claim(
    conn: &mut DbConnection,
    id: &str,
    request_hash: &str,
    now: NaiveDateTime,
    lock_until: NaiveDateTime,
    expired_before: NaiveDateTime,
) -> Result<Claim, AppError> {
    crate::db::write_transaction(conn, |conn| {
        diesel::delete(
            idempotency_keys::table
                .find(id)
                .filter(idempotency_keys::created_at.lt(expired_before)),
        )
        .execute(conn)?;
        // The one statement that decides: of requests arriving at once, one inserts.
        let insert = PreparedSql::new(
            "INSERT INTO idempotency_keys (id, request_hash, status, created_at, locked_until) \
             VALUES (",
        )
        .text(id)
        .sql(", ")
        .text(request_hash)
        .sql(", 'running', ")
        .timestamp(now)
        .sql(", ")
        .timestamp(lock_until)
        .sql(") ON CONFLICT (id) DO NOTHING");
        let inserted = match conn {
            DbConnection::Postgres(pg) => insert.execute(pg)?,
            DbConnection::Sqlite(sqlite) => insert.execute(sqlite)?,
        };
        if inserted == 1 {
            return Ok(Claim::Run);
        }
        let (stored_hash, status, locked_until): (String, String, NaiveDateTime) =
            idempotency_keys::table
                .find(id)
                .select((
                    idempotency_keys::request_hash,
                    idempotency_keys::status,
                    idempotency_keys::locked_until,
                ))
                .first(conn)?;
        if stored_hash != request_hash {
            return Ok(Claim::Reused);
        }
        if status == DONE {
            return Ok(Claim::Replay(
                idempotency_keys::table
                    .find(id)
                    .select(StoredAnswer::as_select())
                    .first(conn)?,
            ));
        }
        if locked_until > now {
            return Ok(Claim::InUse);
        }
        let taken = diesel::update(
            idempotency_keys::table
                .find(id)
                .filter(idempotency_keys::status.eq(RUNNING))
                .filter(idempotency_keys::locked_until.le(now)),
        )
        .set(idempotency_keys::locked_until.eq(lock_until))
        .execute(conn)?;
        Ok(if taken == 1 { Claim::Run } else { Claim::InUse })
    })
}

/// Stores the first answer; replays come from here.
pub fn store(conn: &mut DbConnection, id: &str, answer: &StoredAnswer) -> Result<(), AppError> {
    diesel::update(idempotency_keys::table.find(id))
        .set((
            idempotency_keys::status.eq(DONE),
            idempotency_keys::response_status.eq(answer.status),
            idempotency_keys::response_body.eq(&answer.body),
            idempotency_keys::response_content_type.eq(&answer.content_type),
            idempotency_keys::response_location.eq(&answer.location),
            idempotency_keys::response_etag.eq(&answer.etag),
        ))
        .execute(conn)?;
    Ok(())
}

/// Gives the key up (an answer not to be kept): the next request with it runs.
pub fn release(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    diesel::delete(
        idempotency_keys::table
            .find(id)
            .filter(idempotency_keys::status.eq(RUNNING)),
    )
    .execute(conn)?;
    Ok(())
}

/// Deletes keys made before `before` (retention).
pub fn delete_expired(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, AppError> {
    Ok(
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
            .execute(conn)?,
    )
}
