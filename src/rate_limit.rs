//! Rate limits kept in the database, so they hold across instances and restarts:
//! fixed-window counters, each taken with one atomic conditional upsert *before* the work
//! it limits. A burst of requests therefore cannot all pass a check and be counted only
//! afterwards; once the limit is reached, further attempts are refused without counting.

use std::net::IpAddr;
use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use crate::config::RateLimit;
use crate::db::{DbConnection, PreparedSql};
use crate::error::AppError;
use crate::schema::rate_limits;

/// An attempt counted under `key`, to be given back if it turns out not to count
/// (e.g. a login that succeeded).
#[derive(Debug, Clone)]
pub struct Permit {
    key: String,
    window_start: NaiveDateTime,
}

impl Permit {
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn window_start(&self) -> NaiveDateTime {
        self.window_start
    }
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Timestamp)]
    window_start: NaiveDateTime,
}

/// Counts one attempt under `key`, or fails with `429 rate_limited` (and `Retry-After`)
/// when the window already holds `limit.max` attempts.
pub fn acquire(conn: &mut DbConnection, key: &str, limit: RateLimit) -> Result<Permit, AppError> {
    let mut permits = acquire_all(conn, &[(key.to_string(), limit)])?;
    Ok(permits.remove(0))
}

/// Counts one attempt under each key, in one statement, or none: when any key is at its
/// limit, the attempts counted for the others are given back and the answer is `429
/// rate_limited` with the `Retry-After` of the key that refused.
pub fn acquire_all(
    conn: &mut DbConnection,
    limits: &[(String, RateLimit)],
) -> Result<Vec<Permit>, AppError> {
    let now = crate::clock::now();
    let statement = acquire_statement(limits, now);
    let counted: Vec<Counted> = match conn {
        DbConnection::Postgres(pg) => statement.load(pg)?,
        DbConnection::Sqlite(sqlite) => statement.load(sqlite)?,
    };
    let counted = counted
        .into_iter()
        .map(|row| (row.key, row.window_start))
        .collect();
    permits_or_refusal(conn, limits, counted, now)
}

/// The statement of [`acquire_all`], returning `key, window_start` for every key it
/// counted, to be run alone or inside a larger statement (a PostgreSQL `WITH`). A window
/// that has ended starts afresh; a running one counts up only while under its key's
/// limit; a key at its limit returns no row.
///
/// The rows go in sorted by key: PostgreSQL locks them in that order, as every other
/// statement here does, so two requests counting the same keys wait for each other
/// instead of deadlocking.
pub fn acquire_statement(limits: &[(String, RateLimit)], now: NaiveDateTime) -> PreparedSql<'_> {
    let mut sorted: Vec<&(String, RateLimit)> = limits.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut statement =
        PreparedSql::new("INSERT INTO rate_limits (key, window_start, expires_at, hits) VALUES ");
    for (index, (key, limit)) in sorted.iter().enumerate() {
        if index > 0 {
            statement = statement.sql(", ");
        }
        statement = statement
            .sql("(")
            .text(key)
            .sql(", ")
            .timestamp(now)
            .sql(", ")
            .timestamp(now + crate::clock::duration(limit.window))
            .sql(", 1)");
    }
    statement = statement.sql(
        " ON CONFLICT (key) DO UPDATE SET \
           hits = CASE WHEN rate_limits.expires_at <= excluded.window_start \
             THEN 1 ELSE rate_limits.hits + 1 END, \
           window_start = CASE WHEN rate_limits.expires_at <= excluded.window_start \
             THEN excluded.window_start ELSE rate_limits.window_start END, \
           expires_at = CASE WHEN rate_limits.expires_at <= excluded.window_start \
             THEN excluded.expires_at ELSE rate_limits.expires_at END \
         WHERE rate_limits.expires_at <= excluded.window_start \
           OR rate_limits.hits < CASE rate_limits.key",
    );
    for (key, limit) in limits {
        statement = statement
            .sql(" WHEN ")
            .text(key)
            .sql(" THEN ")
            .integer(i32::try_from(limit.max).unwrap_or(i32::MAX));
    }
    statement.sql(" END RETURNING key, window_start")
}

/// The permits of what [`acquire_statement`] counted (`key, window_start` rows), or, if
/// a key refused, the others given back and `429 rate_limited` with its `Retry-After`.
pub fn permits_or_refusal(
    conn: &mut DbConnection,
    limits: &[(String, RateLimit)],
    counted: Vec<(String, NaiveDateTime)>,
    now: NaiveDateTime,
) -> Result<Vec<Permit>, AppError> {
    let permits: Vec<Permit> = counted
        .into_iter()
        .map(|(key, window_start)| Permit { key, window_start })
        .collect();
    let Some((refused, _)) = limits
        .iter()
        .find(|(key, _)| !permits.iter().any(|permit| &permit.key == key))
    else {
        return Ok(permits);
    };
    // In key order, as they were taken.
    let mut given_back: Vec<&Permit> = permits.iter().collect();
    given_back.sort_by(|a, b| a.key.cmp(&b.key));
    for permit in given_back {
        release(conn, permit)?;
    }
    let ends: NaiveDateTime = rate_limits::table
        .find(refused)
        .select(rate_limits::expires_at)
        .first(conn)?;
    let retry_after = (ends - now).to_std().unwrap_or(Duration::ZERO);
    Err(AppError::rate_limited(retry_after, limit_name(refused)))
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

/// After a success: gives `permit` back and forgets every attempt under `clear`. One
/// statement per key, in key order: a single `UPDATE … WHERE key = a OR key = b` would
/// lock the two rows in whatever order its plan visits them, against the sorted order
/// in which [`acquire_all`] takes them, and two requests could deadlock.
pub fn settle(conn: &mut DbConnection, permit: &Permit, clear: &str) -> Result<(), AppError> {
    let give_back = |conn: &mut DbConnection| release(conn, permit);
    let forget = |conn: &mut DbConnection| -> Result<(), AppError> {
        diesel::update(rate_limits::table.find(clear))
            .set(rate_limits::hits.eq(0))
            .execute(conn)?;
        Ok(())
    };
    if permit.key.as_str() < clear {
        give_back(conn)?;
        forget(conn)
    } else if permit.key.as_str() > clear {
        forget(conn)?;
        give_back(conn)
    } else {
        forget(conn)
    }
}

/// Deletes counters whose window has ended (retention).
pub fn delete_ended(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, AppError> {
    Ok(diesel::delete(rate_limits::table.filter(rate_limits::expires_at.le(now))).execute(conn)?)
}

/// Every name [`limit_name`] gives.
pub const LIMIT_NAMES: &[&str] = &[
    "login_per_account",
    "login_per_ip",
    "email_per_address",
    "email_per_ip",
    "password_reset_per_ip",
    "link_per_account",
    "link_per_number",
    "code_check_per_account",
    "code_check_per_ip",
    "applications_per_account",
    "export_per_account",
    "other",
];

/// The name of the limit a key counts for, as its setting names it (`RATE_LIMIT_<NAME>`
/// in lower case): the `limit` label of the refusal metric, a fixed set whatever the
/// keys hold.
pub fn limit_name(key: &str) -> &'static str {
    let mut parts = key.splitn(3, ':');
    match (parts.next(), parts.next()) {
        (Some("login"), Some("email")) => "login_per_account",
        (Some("login"), Some("ip" | "ip6")) => "login_per_ip",
        (Some("mail"), Some("email")) => "email_per_address",
        (Some("mail"), Some("ip" | "ip6")) => "email_per_ip",
        (Some("reset"), Some("ip" | "ip6")) => "password_reset_per_ip",
        (Some("link"), Some("account")) => "link_per_account",
        (Some("link"), Some("subscription" | "number")) => "link_per_number",
        (Some("code_check"), Some("account")) => "code_check_per_account",
        (Some("code_check"), Some("ip" | "ip6")) => "code_check_per_ip",
        (Some("application"), Some("account")) => "applications_per_account",
        (Some("export"), Some("account")) => "export_per_account",
        _ => "other",
    }
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
    fn every_key_counts_for_a_named_limit() {
        assert_eq!(limit_name("login:email:abc"), "login_per_account");
        assert_eq!(limit_name("login:ip6:2001:db8:0:0::/64"), "login_per_ip");
        assert_eq!(limit_name("link:subscription:42"), "link_per_number");
        assert_eq!(
            limit_name("application:account:7"),
            "applications_per_account"
        );
        assert_eq!(limit_name("nonsense"), "other");
        assert!(LIMIT_NAMES.contains(&limit_name("code_check:ip:10.0.0.1")));
    }

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
