//! Rate limits kept in the database, so they hold across instances and restarts:
//! fixed-window counters updated with one atomic upsert.

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};

use crate::config::RateLimit;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::rate_limits;

#[derive(QueryableByName)]
struct Window {
    #[diesel(sql_type = Timestamp)]
    window_start: NaiveDateTime,
    #[diesel(sql_type = Integer)]
    hits: i32,
}

// One statement for both backends: PostgreSQL numbers parameters `$n`, SQLite `?n`.
const HIT_SQL: &str = "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1) \
     ON CONFLICT (key) DO UPDATE SET \
       hits = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.hits + 1 END, \
       window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END \
     RETURNING window_start, hits";

/// Counts one event under `key`; fails with 429 once the window holds more than allowed.
pub fn hit(conn: &mut DbConnection, key: &str, limit: RateLimit) -> Result<(), AppError> {
    let now = Utc::now().naive_utc();
    let expired_before = now - chrono::Duration::from_std(limit.window).unwrap_or_default();
    let window: Window = match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(HIT_SQL)
            .bind::<Text, _>(key)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(expired_before)
            .get_result(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::sql_query(HIT_SQL.replace('$', "?"))
            .bind::<Text, _>(key)
            .bind::<Timestamp, _>(now)
            .bind::<Timestamp, _>(expired_before)
            .get_result(sqlite)?,
    };
    if window.hits > limit.max as i32 {
        return Err(AppError::RateLimited(retry_after(
            window.window_start,
            limit,
            now,
        )));
    }
    Ok(())
}

/// Fails with 429 when `key` has already reached its limit, without counting.
pub fn check(conn: &mut DbConnection, key: &str, limit: RateLimit) -> Result<(), AppError> {
    let now = Utc::now().naive_utc();
    let window: Option<(NaiveDateTime, i32)> = rate_limits::table
        .find(key)
        .select((rate_limits::window_start, rate_limits::hits))
        .first(conn)
        .optional()?;
    if let Some((window_start, hits)) = window {
        let retry = retry_after(window_start, limit, now);
        if !retry.is_zero() && hits >= limit.max as i32 {
            return Err(AppError::RateLimited(retry));
        }
    }
    Ok(())
}

/// Forgets the events under `key` (e.g. after a successful login).
pub fn clear(conn: &mut DbConnection, key: &str) -> Result<(), AppError> {
    diesel::delete(rate_limits::table.find(key)).execute(conn)?;
    Ok(())
}

fn retry_after(window_start: NaiveDateTime, limit: RateLimit, now: NaiveDateTime) -> Duration {
    let window_end = window_start + chrono::Duration::from_std(limit.window).unwrap_or_default();
    (window_end - now).to_std().unwrap_or(Duration::ZERO)
}

/// Keys never hold an e-mail address in clear text.
pub fn email_key(scope: &str, email: &str) -> String {
    format!("{scope}:email:{}", crate::auth::opaque::hash(email))
}

pub fn ip_key(scope: &str, ip: std::net::IpAddr) -> String {
    format!("{scope}:ip:{ip}")
}
