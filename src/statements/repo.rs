//! Queries of monthly statements: the tickets a month counts, the frozen statements and
//! their items.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::contracts::types::SortOrder;
use crate::db::DbConnection;
use crate::domain::month::last_of_month;
use crate::error::AppError;
use crate::http::Paging;
use crate::schema::{customers, statement_items, statements, subscriptions};
use crate::statements::types::ItemOrder;
use crate::subscriptions::types::SubscriptionStatus;
use crate::tickets::types::TicketSort;

/// A ticket as a statement lists it.
#[derive(Debug, Clone, Queryable)]
pub struct ItemRow {
    pub subscription_id: String,
    pub contract_number: String,
    pub personnel_number: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub status: String,
}

/// A frozen statement.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = statements)]
pub struct StatementRow {
    pub id: String,
    pub contract_id: String,
    pub month: NaiveDate,
    pub contract_number: String,
    pub company_name: String,
    pub customer_number: String,
    pub list_price_cents: i64,
    pub job_price_cents: i64,
    pub employer_share_kind: Option<String>,
    pub employer_share_value: Option<i64>,
    pub employer_share_cents: i64,
    pub employee_share_cents: i64,
    pub share_below_minimum: bool,
    pub tickets: i64,
    pub final_at: NaiveDateTime,
}

/// Where a statement's items come from.
#[derive(Debug, Clone)]
pub enum ItemSource {
    /// The contract's tickets as they are now (a provisional statement).
    Live {
        contract_id: String,
        month: NaiveDate,
    },
    /// The items frozen with a final statement.
    Frozen { statement_id: String },
}

/// The tickets of a contract a month counts: validity overlapping the month, any status
/// but `requested`.
macro_rules! counted_tickets {
    ($contract_id:expr, $month:expr) => {
        subscriptions::table
            .inner_join(customers::table)
            .filter(subscriptions::company_contract_id.eq($contract_id))
            .filter(subscriptions::status.ne(SubscriptionStatus::Requested.as_ref()))
            .filter(subscriptions::valid_from.le(last_of_month($month)))
            .filter(
                subscriptions::valid_to
                    .is_null()
                    .or(subscriptions::valid_to.ge($month)),
            )
    };
}

/// How many tickets the contract's month counts now.
pub fn count_live(
    conn: &mut DbConnection,
    contract_id: &str,
    month: NaiveDate,
) -> Result<i64, AppError> {
    Ok(counted_tickets!(contract_id, month)
        .count()
        .get_result(conn)?)
}

/// Per contract, how many tickets the month counts now (contracts without any are
/// absent).
pub fn count_live_per_contract(
    conn: &mut DbConnection,
    month: NaiveDate,
) -> Result<Vec<(String, i64)>, AppError> {
    let rows: Vec<(Option<String>, i64)> = subscriptions::table
        .filter(subscriptions::company_contract_id.is_not_null())
        .filter(subscriptions::status.ne(SubscriptionStatus::Requested.as_ref()))
        .filter(subscriptions::valid_from.le(last_of_month(month)))
        .filter(
            subscriptions::valid_to
                .is_null()
                .or(subscriptions::valid_to.ge(month)),
        )
        .group_by(subscriptions::company_contract_id)
        .select((
            subscriptions::company_contract_id,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, count)| id.map(|id| (id, count)))
        .collect())
}

/// One page of a statement's items in the asked order.
pub fn items(
    conn: &mut DbConnection,
    source: &ItemSource,
    order: ItemOrder,
    paging: Paging,
) -> Result<Vec<ItemRow>, AppError> {
    let desc = order.order == SortOrder::Desc;
    // Sorted by the column, then by name, then by id: pages never overlap or skip.
    macro_rules! page {
        ($query:expr, $table:ident, $id:expr) => {{
            let query = $query;
            macro_rules! sorted {
                ($column:expr) => {
                    match desc {
                        false => query.order((
                            $column.asc(),
                            $table::last_name.asc(),
                            $table::first_name.asc(),
                            $id.asc(),
                        )),
                        true => query.order((
                            $column.desc(),
                            $table::last_name.desc(),
                            $table::first_name.desc(),
                            $id.desc(),
                        )),
                    }
                };
            }
            let query = match order.sort {
                TicketSort::ContractNumber => sorted!(columns_of!($table, contract_number)),
                TicketSort::PersonnelNumber => sorted!(columns_of!($table, personnel_number)),
                TicketSort::LastName => sorted!($table::last_name),
                TicketSort::Status => sorted!(columns_of!($table, status)),
                TicketSort::ValidFrom => sorted!(columns_of!($table, valid_from)),
                TicketSort::ValidTo => sorted!(columns_of!($table, valid_to)),
            };
            query.limit(paging.limit()).offset(paging.offset())
        }};
    }
    match source {
        ItemSource::Live { contract_id, month } => {
            macro_rules! columns_of {
                (customers, $column:ident) => {
                    subscriptions::$column
                };
            }
            let query = counted_tickets!(contract_id.clone(), *month).into_boxed();
            Ok(page!(query, customers, subscriptions::id)
                .select((
                    subscriptions::id,
                    subscriptions::contract_number,
                    subscriptions::personnel_number,
                    customers::first_name,
                    customers::last_name,
                    subscriptions::valid_from,
                    subscriptions::valid_to,
                    subscriptions::status,
                ))
                .load(conn)?)
        }
        ItemSource::Frozen { statement_id } => {
            macro_rules! columns_of {
                (statement_items, $column:ident) => {
                    statement_items::$column
                };
            }
            let query = statement_items::table
                .filter(statement_items::statement_id.eq(statement_id.clone()))
                .into_boxed();
            Ok(
                page!(query, statement_items, statement_items::subscription_id)
                    .select((
                        statement_items::subscription_id,
                        statement_items::contract_number,
                        statement_items::personnel_number,
                        statement_items::first_name,
                        statement_items::last_name,
                        statement_items::valid_from,
                        statement_items::valid_to,
                        statement_items::status,
                    ))
                    .load(conn)?,
            )
        }
    }
}

pub fn find(
    conn: &mut DbConnection,
    contract_id: &str,
    month: NaiveDate,
) -> Result<Option<StatementRow>, AppError> {
    Ok(statements::table
        .filter(statements::contract_id.eq(contract_id))
        .filter(statements::month.eq(month))
        .select(StatementRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every final statement of a month.
pub fn of_month(conn: &mut DbConnection, month: NaiveDate) -> Result<Vec<StatementRow>, AppError> {
    Ok(statements::table
        .filter(statements::month.eq(month))
        .select(StatementRow::as_select())
        .load(conn)?)
}

/// Writes a final statement and copies the month's tickets into its items, in one
/// statement; how many it copied.
pub fn insert_frozen(conn: &mut DbConnection, row: &StatementRow) -> Result<i64, AppError> {
    diesel::insert_into(statements::table)
        .values(row)
        .execute(conn)?;
    let copied = diesel::insert_into(statement_items::table)
        .values(
            counted_tickets!(row.contract_id.clone(), row.month).select((
                row.id.clone().into_sql::<Text>(),
                subscriptions::id,
                subscriptions::contract_number,
                subscriptions::personnel_number,
                customers::first_name,
                customers::last_name,
                subscriptions::valid_from,
                subscriptions::valid_to,
                subscriptions::status,
            )),
        )
        .into_columns((
            statement_items::statement_id,
            statement_items::subscription_id,
            statement_items::contract_number,
            statement_items::personnel_number,
            statement_items::first_name,
            statement_items::last_name,
            statement_items::valid_from,
            statement_items::valid_to,
            statement_items::status,
        ))
        .execute(conn)?;
    let copied = copied as i64;
    diesel::update(statements::table.find(&row.id))
        .set(statements::tickets.eq(copied))
        .execute(conn)?;
    Ok(copied)
}

/// Deletes a month's final statements (their items go with them); how many.
pub fn reopen(conn: &mut DbConnection, month: NaiveDate) -> Result<i64, AppError> {
    Ok(diesel::delete(statements::table.filter(statements::month.eq(month))).execute(conn)? as i64)
}
