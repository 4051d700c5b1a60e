//! Erasure with legal retention: what a deleted account leaves, what the retention
//! periods erase, and the operator's erasure of a customer record. Customer records and
//! tickets are the operator's contract data, kept under the commercial and tax retention
//! periods; everything else about a person goes when it is no longer needed.

use std::net::IpAddr;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::{exists, not};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::{applications, audit_log, customers, statement_items, subscriptions};

/// How an erased ticket reads in a final statement: the amounts and the ticket's number
/// stay (the statement still adds up), the person goes.
pub const ERASED_NAME: &str = "(gelöscht)";

/// How many rows one retention step changes at most; the next run takes the rest.
const RETENTION_BATCH: i64 = 1_000;

/// What `DELETE /me` does to the account's records before the account row goes (its
/// sessions, memberships and e-mail tokens go with the row): linked subscriptions are
/// unlinked, pending orders withdrawn, and the holder data of every order erased —
/// except the names of an approved order whose ticket exists, which are the customer
/// record's business.
pub fn erase_account_records(
    conn: &mut DbConnection,
    account_id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(subscriptions::table.filter(subscriptions::account_id.eq(account_id)))
        .set((
            subscriptions::account_id.eq(None::<String>),
            subscriptions::linked_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    diesel::update(
        applications::table
            .filter(applications::account_id.eq(account_id))
            .filter(applications::status.eq("pending")),
    )
    .set((
        applications::status.eq("withdrawn"),
        applications::decided_at.eq(now),
    ))
    .execute(conn)?;
    let orders: Vec<(String, String, Option<String>)> = applications::table
        .filter(applications::account_id.eq(account_id))
        .filter(applications::holder_erased_at.is_null())
        .select((
            applications::id,
            applications::status,
            applications::subscription_id,
        ))
        .load(conn)?;
    let (with_ticket, without): (Vec<_>, Vec<_>) = orders
        .into_iter()
        .partition(|(_, status, ticket)| status == "approved" && ticket.is_some());
    let ids = |orders: Vec<(String, String, Option<String>)>| {
        orders.into_iter().map(|(id, ..)| id).collect::<Vec<_>>()
    };
    erase_holders(conn, &ids(with_ticket), Names::Keep, now)?;
    erase_holders(conn, &ids(without), Names::Erase, now)?;
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Names {
    Keep,
    Erase,
}

/// Erases the holder data of the orders `ids`: every holder field but the names becomes
/// NULL, and the names empty unless they are kept.
fn erase_holders(
    conn: &mut DbConnection,
    ids: &[String],
    names: Names,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let target = applications::table.filter(applications::id.eq_any(ids));
    let holder = (
        applications::salutation.eq(None::<String>),
        applications::gender.eq(None::<String>),
        applications::birth_date.eq(None::<NaiveDate>),
        applications::street.eq(None::<String>),
        applications::postal_code.eq(None::<String>),
        applications::city.eq(None::<String>),
        applications::country.eq(None::<String>),
        applications::phone.eq(None::<String>),
        applications::personnel_number.eq(None::<String>),
        applications::holder_erased_at.eq(now),
    );
    Ok(match names {
        Names::Keep => diesel::update(target).set(holder).execute(conn)?,
        Names::Erase => diesel::update(target)
            .set((
                holder,
                applications::first_name.eq(""),
                applications::last_name.eq(""),
                applications::search_text.eq(""),
            ))
            .execute(conn)?,
    })
}

/// Erases the holder data of rejected and withdrawn orders decided before `before`
/// (`APPLICATION_RETENTION_DAYS`); names included, as no ticket came of them.
pub fn erase_old_applications(
    conn: &mut DbConnection,
    before: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let ids: Vec<String> = applications::table
        .filter(applications::status.eq_any(["rejected", "withdrawn"]))
        .filter(applications::decided_at.lt(before))
        .filter(applications::holder_erased_at.is_null())
        .select(applications::id)
        .limit(RETENTION_BATCH)
        .load(conn)?;
    erase_holders(conn, &ids, Names::Erase, now)
}

/// Truncates the client addresses of audit entries made before `before`
/// (`AUDIT_IP_RETENTION_DAYS`) to their network: `/24` of IPv4, `/48` of IPv6.
pub fn truncate_old_audit_addresses(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> Result<usize, AppError> {
    let entries: Vec<(String, String)> = audit_log::table
        .filter(audit_log::occurred_at.lt(before))
        .filter(audit_log::client_ip.is_not_null())
        .filter(audit_log::client_ip.not_like("%/%"))
        .select((audit_log::id, audit_log::client_ip.assume_not_null()))
        .limit(RETENTION_BATCH)
        .load(conn)?;
    let mut truncated = 0;
    for (id, address) in entries {
        let network = truncated_address(&address);
        truncated += diesel::update(audit_log::table.find(id))
            .set(audit_log::client_ip.eq(network))
            .execute(conn)?;
    }
    Ok(truncated)
}

/// An address's network: the first three octets of IPv4 (`203.0.113.0/24`), the first
/// 48 bits of IPv6 (`2001:db8:1::/48`); anything else is dropped.
pub fn truncated_address(address: &str) -> Option<String> {
    match address.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(format!("{a}.{b}.{c}.0/24"))
        }
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let network =
                std::net::Ipv6Addr::new(segments[0], segments[1], segments[2], 0, 0, 0, 0, 0);
            Some(format!("{network}/48"))
        }
    }
}

/// Erases the customer records whose last ticket ended before `ended_before`
/// (`CUSTOMER_RETENTION_YEARS`), or that never had one and were recorded before it,
/// with their tickets.
pub fn erase_old_customers(
    conn: &mut DbConnection,
    ended_before: NaiveDate,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    // Correlated `EXISTS`, which both backends run as a (hashed) anti- or semi-join; a
    // `NOT IN`/`!= ALL` over the tickets is one pass over them per record on PostgreSQL
    // (over half an hour at 200,000 records with 1,000,000 tickets).
    let tickets = || subscriptions::table.filter(subscriptions::customer_id.eq(customers::id));
    // Not erased: a record with an open-ended ticket or one that ended since.
    let kept = tickets().filter(
        subscriptions::valid_to
            .is_null()
            .or(subscriptions::valid_to.ge(ended_before).assume_not_null()),
    );
    let ids: Vec<String> = customers::table
        .filter(not(exists(kept)))
        .filter(
            customers::recorded_at
                .lt(ended_before)
                .or(exists(tickets())),
        )
        .select(customers::id)
        .limit(RETENTION_BATCH)
        .load(conn)?;
    for id in &ids {
        erase_customer(conn, id, now)?;
    }
    Ok(ids.len())
}

/// Erases a customer record with its tickets: frozen statement lines keep their amounts
/// and ticket numbers and lose the names and personnel numbers; the orders that became
/// its tickets lose their holder data; the record's consents go with it. Whether it may
/// be erased is the caller's to check.
pub fn erase_customer(
    conn: &mut DbConnection,
    customer_id: &str,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    let tickets = subscriptions::table
        .filter(subscriptions::customer_id.eq(customer_id))
        .select(subscriptions::id);
    diesel::update(statement_items::table.filter(statement_items::subscription_id.eq_any(tickets)))
        .set((
            statement_items::first_name.eq(""),
            statement_items::last_name.eq(ERASED_NAME),
            statement_items::personnel_number.eq(None::<String>),
        ))
        .execute(conn)?;
    let orders: Vec<String> = applications::table
        .filter(applications::subscription_id.eq_any(tickets.select(subscriptions::id.nullable())))
        .select(applications::id)
        .load(conn)?;
    erase_holders(conn, &orders, Names::Erase, now)?;
    let erased =
        diesel::delete(subscriptions::table.filter(subscriptions::customer_id.eq(customer_id)))
            .execute(conn)?;
    diesel::delete(customers::table.find(customer_id)).execute(conn)?;
    Ok(erased)
}

/// Whether the customer record has a ticket that has not expired (DESIGN §3): not
/// ended, and valid until today or later, or open-ended; tickets that start later count.
pub fn has_current_ticket(
    conn: &mut DbConnection,
    customer_id: &str,
    today: NaiveDate,
) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        subscriptions::table
            .filter(subscriptions::customer_id.eq(customer_id))
            .filter(subscriptions::status.ne("ended"))
            .filter(
                subscriptions::valid_to
                    .is_null()
                    .or(subscriptions::valid_to.ge(today).assume_not_null()),
            ),
    ))
    .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_keep_their_network() {
        assert_eq!(
            truncated_address("203.0.113.77").as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            truncated_address("2001:db8:abcd:12:1:2:3:4").as_deref(),
            Some("2001:db8:abcd::/48")
        );
        assert_eq!(truncated_address("kaputt"), None);
    }
}
