//! Queries of a contract's tickets and their cancellation.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::contracts::types::SortOrder;
use crate::db::DbConnection;
use crate::domain::fold::{fold_number, fold_text, like_pattern, storable};
use crate::error::AppError;
use crate::http::{Paging, Total};
use crate::schema::{customers, subscriptions};
use crate::subscriptions::types::SubscriptionStatus;
use crate::tickets::types::{TicketFilter, TicketSort};

/// A ticket row with its holder's name.
#[derive(Debug, Clone, Queryable)]
pub struct TicketRow {
    pub id: String,
    pub contract_number: String,
    pub personnel_number: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub status: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub linked: bool,
}

type TicketColumns = (
    subscriptions::id,
    subscriptions::contract_number,
    subscriptions::personnel_number,
    customers::first_name,
    customers::last_name,
    subscriptions::status,
    subscriptions::valid_from,
    subscriptions::valid_to,
    diesel::dsl::IsNotNull<subscriptions::account_id>,
);

fn columns() -> TicketColumns {
    (
        subscriptions::id,
        subscriptions::contract_number,
        subscriptions::personnel_number,
        customers::first_name,
        customers::last_name,
        subscriptions::status,
        subscriptions::valid_from,
        subscriptions::valid_to,
        subscriptions::account_id.is_not_null(),
    )
}

/// The contract's tickets, filtered, searched, sorted and paged.
pub fn list_of_contract(
    conn: &mut DbConnection,
    contract_id: &str,
    filter: &TicketFilter,
    paging: Paging,
    search_count_limit: i64,
) -> Result<(Vec<TicketRow>, Total), AppError> {
    let text = filter.q.as_deref().map(fold_text);
    let number = filter.q.as_deref().map(fold_number);
    if text.as_deref().is_some_and(|q| !storable(q)) {
        return Ok((Vec::new(), Total::exact(0)));
    }
    let query = || {
        let mut query = subscriptions::table
            .inner_join(customers::table)
            .filter(subscriptions::company_contract_id.eq(contract_id.to_string()))
            .into_boxed();
        if let Some(status) = filter.status {
            query = query.filter(subscriptions::status.eq(status.as_ref().to_string()));
        }
        if let (Some(text), Some(number)) = (&text, &number) {
            let number = like_pattern(number);
            query = query.filter(
                customers::search_text
                    .like(like_pattern(text))
                    .escape('\\')
                    .or(subscriptions::contract_number
                        .like(number.clone())
                        .escape('\\'))
                    .or(subscriptions::personnel_number
                        .like(number)
                        .escape('\\')
                        .assume_not_null()),
            );
        }
        query
    };
    let total = match text {
        Some(_) => Total::count_up_to(conn, query(), search_count_limit)?,
        None => Total::exact(query().count().get_result(conn)?),
    };
    if total.ends_before(paging.offset()) {
        return Ok((Vec::new(), total));
    }
    let query = query();
    let desc = filter.order == SortOrder::Desc;
    macro_rules! sorted {
        ($column:expr) => {
            match desc {
                false => query.order(($column.asc(), subscriptions::id.asc())),
                true => query.order(($column.desc(), subscriptions::id.desc())),
            }
        };
    }
    let query = match filter.sort {
        TicketSort::ContractNumber => sorted!(subscriptions::contract_number),
        TicketSort::PersonnelNumber => sorted!(subscriptions::personnel_number),
        TicketSort::LastName => sorted!(customers::last_name),
        TicketSort::Status => sorted!(subscriptions::status),
        TicketSort::ValidFrom => sorted!(subscriptions::valid_from),
        TicketSort::ValidTo => sorted!(subscriptions::valid_to),
    };
    let rows = query
        .limit(paging.limit())
        .offset(paging.offset())
        .select(columns())
        .load(conn)?;
    Ok((rows, total))
}

/// Whether a ticket in this state may be cancelled today: not cancelled, ended or
/// blocked already, and not expired.
pub fn is_cancellable(status: &str, valid_to: Option<NaiveDate>, today: NaiveDate) -> bool {
    let final_state = [
        SubscriptionStatus::Cancelled,
        SubscriptionStatus::Ended,
        SubscriptionStatus::Blocked,
    ]
    .iter()
    .any(|s| s.as_ref() == status);
    !final_state && valid_to.is_none_or(|to| to >= today)
}

/// Cancels the ticket if it still has the status it was read with; whether it did. The
/// condition makes a cancellation atomic: of two at once, one changes the row.
pub fn cancel(
    conn: &mut DbConnection,
    id: &str,
    read_status: &str,
    status: SubscriptionStatus,
    valid_to: NaiveDate,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let changed = diesel::update(
        subscriptions::table
            .find(id)
            .filter(subscriptions::status.eq(read_status)),
    )
    .set((
        subscriptions::status.eq(status.as_ref()),
        subscriptions::valid_to.eq(valid_to),
        subscriptions::cancelled_at.eq(now),
        subscriptions::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}
