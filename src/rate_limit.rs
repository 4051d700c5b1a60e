//! Rate limits kept in the database, so they hold across instances and restarts:
//! fixed-window counters, each taken with one atomic conditional upsert *before* the work
//! it limits. A burst of requests therefore cannot all pass a check and be counted only
//! afterwards; once the limit is reached, further attempts are refused without counting.

use std::net::IpAddr;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};

use crate::config::RateLimit;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::rate_limits;

/// An attempt counted under `key`, to be given back if it turns out not to count
/// (e.g. a login that succeeded).
#[derive(Debug, Clone)]
pub struct Permit {
    key: String,
    window_start: NaiveDateTime,
}

#[derive(QueryableByName)]
struct Window {
    #[diesel(sql_type = Timestamp)]
    window_start: NaiveDateTime,
}

// One statement for both backends (see `db::numbered_params`). A window that has ended
// starts afresh; a running one counts up only while under the limit, and otherwise
// returns no row.
const ACQUIRE_SQL: &str = "INSERT INTO rate_limits (key, window_start, expires_at, hits) \
     VALUES ($1, $2, $3, 1) \
     ON CONFLICT (key) DO UPDATE SET \
       hits = CASE WHEN rate_limits.expires_at <= $2 THEN 1 ELSE rate_limits.hits + 1 END, \
       window_start = CASE WHEN rate_limits.expires_at <= $2 THEN $2 ELSE rate_limits.window_start END, \
       expires_at = CASE WHEN rate_limits.expires_at <= $2 THEN $3 ELSE rate_limits.expires_at END \
     WHERE rate_limits.expires_at <= $2 OR rate_limits.hits < $4 \
     RETURNING window_start";

/// Counts one attempt under `key`, or fails with `429 rate_limited` (and `Retry-After`)
/// when the window already holds `limit.max` attempts.
pub fn acquire(conn: &mut DbConnection, key: &str, limit: RateLimit) -> Result<Permit, AppError> {
    let now = crate::clock::now();
    let expires_at = now + crate::clock::duration(limit.window);
    let max = i32::try_from(limit.max).unwrap_or(i32::MAX);
    let query = diesel::sql_query(crate::db::numbered_params(conn, ACQUIRE_SQL))
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(now)
        .bind::<Timestamp, _>(expires_at)
        .bind::<Integer, _>(max);
    let counted: Option<Window> = match conn {
        DbConnection::Postgres(pg) => query.get_result(pg).optional()?,
        DbConnection::Sqlite(sqlite) => query.get_result(sqlite).optional()?,
    };
    match counted {
        Some(window) => Ok(Permit {
            key: key.to_string(),
            window_start: window.window_start,
        }),
        None => {
            let ends: NaiveDateTime = rate_limits::table
                .find(key)
                .select(rate_limits::expires_at)
                .first(conn)?;
            let retry_after = (ends - now).to_std().unwrap_or(Duration::ZERO);
            Err(AppError::rate_limited(retry_after))
        }
    }
}

/// Gives a counted attempt back, if its window is still the current one.
pub fn release(conn: &mut DbConnection, permit: &Permit) -> Result<(), AppError> {
    diesel::update(
        rate_limits::table
            .find(&permit.key)
            .filter(rate_limits::window_start.eq(permit.window_start))
            .filter(rate_limits::hits.gt(0)),
    )
    .set(rate_limits::hits.eq(rate_limits::hits - 1))
    .execute(conn)?;
    Ok(())
}

/// Forgets every attempt under `key` (e.g. an account's failed logins after a success).
pub fn clear(conn: &mut DbConnection, key: &str) -> Result<(), AppError> {
    diesel::delete(rate_limits::table.find(key)).execute(conn)?;
    Ok(())
}

/// Deletes counters whose window has ended (retention).
pub fn delete_ended(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    Ok(diesel::delete(rate_limits::table.filter(rate_limits::expires_at.le(now))).execute(conn)?)
}

/// Keys never hold an e-mail address in clear text.
pub fn email_key(scope: &str, email: &str) -> String {
    format!("{scope}:email:{}", crate::auth::opaque::hash(email))
}

/// IPv4 clients by address; IPv6 clients by their /64, the smallest block a home or
/// office line gets, so rotating through one's own addresses gains nothing.
pub fn ip_key(scope: &str, ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("{scope}:ip:{v4}"),
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            format!(
                "{scope}:ip6:{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_share_their_64_and_mapped_ipv4_is_ipv4() {
        let key = |ip: &str| ip_key("login", ip.parse().unwrap());
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_eq!(key("203.0.113.7"), "login:ip:203.0.113.7");
    }
}
