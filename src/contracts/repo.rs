//! Queries of company contracts.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use crate::contract_columns::{self, ContractScope};
use crate::contracts::types::{ContractSort, PortalContractFilter, SortOrder};
use crate::db::{DbConnection, PreparedSql};
use crate::domain::fold::fold_number;
use crate::domain::fold::{fold_text, like_pattern, storable};
use crate::error::AppError;
use crate::http::{Paging, Total};
use crate::prices::EmployerShare;
use crate::schema::{companies, company_contracts};

/// The columns of a contract that a create or update writes.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = company_contracts, treat_none_as_null = true)]
pub struct ContractData {
    pub contract_number: String,
    pub company_id: String,
    pub product_offering: String,
    pub status: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = company_contracts)]
pub struct ContractRow {
    pub id: String,
    #[diesel(embed)]
    pub data: ContractData,
    pub created_at: NaiveDateTime,
    pub employer_share_kind: Option<String>,
    pub employer_share_value: Option<i64>,
}

impl ContractRow {
    pub fn employer_share(&self) -> Result<Option<EmployerShare>, AppError> {
        EmployerShare::from_columns(
            self.employer_share_kind.as_deref(),
            self.employer_share_value,
        )
    }
}

/// Sets (or with `None` removes) a contract's employer share.
pub fn set_employer_share(
    conn: &mut DbConnection,
    id: &str,
    share: Option<EmployerShare>,
) -> Result<(), AppError> {
    let (kind, value) = share.map(EmployerShare::to_columns).unzip();
    diesel::update(company_contracts::table.find(id))
        .set((
            company_contracts::employer_share_kind.eq(kind),
            company_contracts::employer_share_value.eq(value),
        ))
        .execute(conn)?;
    Ok(())
}

/// The pointer of a contract field whose unique index refused a value.
pub fn duplicate_pointer(error: &AppError) -> Option<&'static str> {
    error
        .violated_unique_column()
        .filter(|column| column == "contract_number")
        .map(|_| "/contract_number")
}

/// Serialises the writes that must see each other per contract: generating a customer
/// code (revoking the current one and inserting the next) and applying a staff list
/// (which decides "unchanged" by the tickets there are). PostgreSQL locks the contract's
/// row until the transaction ends; SQLite's write transactions already run one at a time.
pub fn lock(conn: &mut DbConnection, contract_id: &str) -> Result<(), AppError> {
    if let DbConnection::Postgres(pg) = conn {
        company_contracts::table
            .find(contract_id)
            .select(company_contracts::id)
            .for_update()
            .first::<String>(pg)
            .optional()?;
    }
    Ok(())
}

pub fn insert(conn: &mut DbConnection, id: &str, data: &ContractData) -> Result<(), AppError> {
    diesel::insert_into(company_contracts::table)
        .values((
            company_contracts::id.eq(id),
            company_contracts::created_at.eq(data.updated_at),
            data,
        ))
        .execute(conn)?;
    contract_columns::refresh(conn, ContractScope::Contracts(&[id.to_string()]))
}

pub fn update(conn: &mut DbConnection, id: &str, data: &ContractData) -> Result<(), AppError> {
    diesel::update(company_contracts::table.find(id))
        .set(data)
        .execute(conn)?;
    contract_columns::refresh(conn, ContractScope::Contracts(&[id.to_string()]))
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<ContractRow>, AppError> {
    Ok(company_contracts::table
        .find(id)
        .select(ContractRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_number(
    conn: &mut DbConnection,
    contract_number: &str,
) -> Result<Option<ContractRow>, AppError> {
    Ok(company_contracts::table
        .filter(company_contracts::contract_number.eq(contract_number))
        .select(ContractRow::as_select())
        .first(conn)
        .optional()?)
}

/// What the operator's contract list is filtered by.
#[derive(Debug, Default)]
pub struct ContractFilter {
    pub company_id: Option<String>,
    pub contract_number: Option<String>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &ContractFilter,
    paging: Paging,
) -> Result<(Vec<ContractRow>, i64), AppError> {
    if filter.company_id.as_deref().is_some_and(|v| !storable(v))
        || filter
            .contract_number
            .as_deref()
            .is_some_and(|v| !storable(v))
    {
        // No record holds such a value.
        return Ok((Vec::new(), 0));
    }
    let query = || {
        let mut query = company_contracts::table.into_boxed();
        if let Some(company_id) = &filter.company_id {
            query = query.filter(company_contracts::company_id.eq(company_id.clone()));
        }
        if let Some(number) = &filter.contract_number {
            query = query.filter(company_contracts::contract_number.eq(fold_number(number)));
        }
        query
    };
    let total = query().count().get_result(conn)?;
    let rows = query()
        .order((
            company_contracts::contract_number.asc(),
            company_contracts::id.asc(),
        ))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(ContractRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

// ---- the company portal's contract list ------------------------------------------------

/// A contract with the company columns the portal's list shows.
#[derive(Debug, Clone, Queryable)]
pub struct ListedContract {
    pub id: String,
    pub contract_number: String,
    pub company_id: String,
    pub company_name: String,
    pub customer_number: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub product_offering: String,
    pub status: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
}

/// The portal's contract list: over `visible` companies (`None`: all, for operators),
/// filtered, sorted with the id as the last key, one page and the total.
pub fn list_for_portal(
    conn: &mut DbConnection,
    visible: Option<&[String]>,
    filter: &PortalContractFilter,
    today: NaiveDate,
    paging: Paging,
    search_count_limit: i64,
) -> Result<(Vec<ListedContract>, Total), AppError> {
    let values = [
        filter.customer_number.as_deref(),
        filter.q.as_deref(),
        filter.company_id.as_deref(),
    ];
    if values.into_iter().flatten().any(|v| !storable(v)) {
        // No record holds such a value.
        return Ok((Vec::new(), Total::exact(0)));
    }
    let sqlite = matches!(conn, DbConnection::Sqlite(_));
    let folded_q = filter.q.as_deref().map(fold_text);
    // SQLite's trigram index (see the migration `contract_list_totals_and_search`)
    // serves phrases of three characters or more.
    let search_phrase = folded_q
        .as_deref()
        .filter(|folded| sqlite && folded.chars().count() >= 3)
        .map(fts_phrase);
    // The filtered query, for the backend at hand: used inside `db::on_backend!`, where
    // diesel renders a boxed query's SQL once instead of in every pass `MultiConnection`
    // makes over it. A left join the databases drop when no company column is used, as in
    // the count: every contract has its company (a foreign key), so it is the inner join's
    // rows. `through_search_index`: SQLite finds the `q` candidates through its trigram
    // index.
    macro_rules! filtered {
        ($through_search_index:expr) => {{
            let through_search_index: bool = $through_search_index;
            let mut query = company_contracts::table
                .left_join(companies::table)
                .into_boxed();
            if let Some(visible) = visible {
                query = query.filter(company_contracts::company_id.eq_any(visible.to_vec()));
            }
            if let Some(company_id) = &filter.company_id {
                query = query.filter(company_contracts::company_id.eq(company_id.clone()));
            }
            if let Some(number) = &filter.customer_number {
                // A subquery, not the joined company's column: the count needs no join.
                let by_number = diesel::alias!(companies as by_number);
                query = query.filter(
                    company_contracts::company_id.eq_any(
                        by_number
                            .filter(
                                by_number
                                    .field(companies::customer_number)
                                    .eq(fold_number(number)),
                            )
                            .select(by_number.field(companies::id)),
                    ),
                );
            }
            if let Some(folded) = &folded_q {
                if let Some(phrase) = search_phrase.as_ref().filter(|_| through_search_index) {
                    query = query.filter(
                        sql::<Bool>(
                            "company_contracts.id IN (SELECT contract_id FROM contract_search \
                             WHERE contract_search MATCH ",
                        )
                        .bind::<Text, _>(phrase.clone())
                        .sql(")"),
                    );
                }
                // The rule itself on both databases; after the index, a cheap recheck.
                query = query.filter(
                    company_contracts::search_text
                        .like(like_pattern(folded))
                        .escape('\\'),
                );
            }
            match filter.active {
                Some(true) if sqlite => {
                    // The unary `+` keeps SQLite from reading the status index for most of
                    // the contracts and sorting them all: walking the sort column's index
                    // finds a page of active ones at once.
                    query = query.filter(
                        sql::<Bool>("+company_contracts.status = ")
                            .bind::<Text, _>(STATUS_ACTIVE)
                            .and(company_contracts::valid_from.le(today))
                            .and(
                                company_contracts::valid_to
                                    .is_null()
                                    .or(company_contracts::valid_to.ge(today)),
                            ),
                    );
                }
                Some(true) => {
                    query = query.filter(
                        company_contracts::status
                            .eq(STATUS_ACTIVE)
                            .and(company_contracts::valid_from.le(today))
                            .and(
                                company_contracts::valid_to
                                    .is_null()
                                    .or(company_contracts::valid_to.ge(today)),
                            ),
                    );
                }
                Some(false) => {
                    // `valid_to < today` is NULL for an open-ended contract, which the other
                    // two terms then decide.
                    query = query.filter(
                        company_contracts::status
                            .ne(STATUS_ACTIVE)
                            .or(company_contracts::valid_from.gt(today))
                            .or(company_contracts::valid_to.lt(today).assume_not_null()),
                    );
                }
                None => {}
            }
            query
        }};
    }
    let over_all_contracts = visible.is_none()
        && filter.company_id.is_none()
        && filter.customer_number.is_none()
        && filter.q.is_none();
    let only_q = visible.is_none()
        && filter.company_id.is_none()
        && filter.customer_number.is_none()
        && filter.active.is_none();
    let total = match &search_phrase {
        _ if over_all_contracts => Total::exact(count_all(conn, filter.active, today)?),
        // The trigram index's phrase match is the substring rule itself: its count is
        // the total without reading a contract.
        Some(phrase) if only_q => contract_search_count(conn, phrase, search_count_limit)?,
        _ => crate::db::on_backend!(conn, |conn| match folded_q {
            Some(_) => {
                Total::count_up_to_planned(
                    conn,
                    filtered!(search_phrase.is_some()),
                    search_count_limit,
                )?
            }
            None => Total::exact(filtered!(false).count().get_result(conn)?),
        }),
    };
    let (offset, limit) = (paging.offset(), paging.limit());
    if total.ends_before(offset) {
        return Ok((Vec::new(), total));
    }
    // A page in the back half is read from the other end: an OFFSET walks every row it
    // skips, so the last page would cost a walk through the whole list. The same rows
    // in the opposite order, turned around, are the same page. Only an exact total says
    // where that end is.
    let from_the_end = total.is_exact() && offset > total.count / 2;
    let (order, offset, limit) = if from_the_end {
        let total = total.count;
        let end = (offset + limit).min(total);
        let reversed = match filter.order {
            SortOrder::Asc => SortOrder::Desc,
            SortOrder::Desc => SortOrder::Asc,
        };
        (reversed, total - end, end - offset)
    } else {
        (filter.order, offset, limit)
    };
    // A common `q` fills a page soonest by walking the sort column's index and checking
    // each contract (about 2 µs each); a rare one through the trigram index, which
    // looks up and sorts every match (about 7 µs each). Walking reads about
    // window × all / total contracts.
    // A total counted only up to the limit means matches too common for the index.
    let through_search_index = search_phrase.is_some() && total.is_exact() && {
        let all = count_all(conn, None, today)?;
        7 * total.count * total.count < 2 * (offset + limit) * all
    };
    let mut rows: Vec<ListedContract> = crate::db::on_backend!(conn, |conn| {
        let query = filtered!(through_search_index);
        let query = match (filter.sort, order) {
            (ContractSort::ContractNumber, SortOrder::Asc) => {
                query.order(company_contracts::contract_number.asc())
            }
            (ContractSort::ContractNumber, SortOrder::Desc) => {
                query.order(company_contracts::contract_number.desc())
            }
            (ContractSort::CompanyName, SortOrder::Asc) => {
                query.order(company_contracts::company_name.asc())
            }
            (ContractSort::CompanyName, SortOrder::Desc) => {
                query.order(company_contracts::company_name.desc())
            }
            (ContractSort::Street, SortOrder::Asc) => {
                query.order(company_contracts::company_street.asc())
            }
            (ContractSort::Street, SortOrder::Desc) => {
                query.order(company_contracts::company_street.desc())
            }
            (ContractSort::PostalCode, SortOrder::Asc) => {
                query.order(company_contracts::company_postal_code.asc())
            }
            (ContractSort::PostalCode, SortOrder::Desc) => {
                query.order(company_contracts::company_postal_code.desc())
            }
            (ContractSort::City, SortOrder::Asc) => {
                query.order(company_contracts::company_city.asc())
            }
            (ContractSort::City, SortOrder::Desc) => {
                query.order(company_contracts::company_city.desc())
            }
            (ContractSort::ProductOffering, SortOrder::Asc) => {
                query.order(company_contracts::product_offering.asc())
            }
            (ContractSort::ProductOffering, SortOrder::Desc) => {
                query.order(company_contracts::product_offering.desc())
            }
            (ContractSort::Status, SortOrder::Asc) => query.order(company_contracts::status.asc()),
            (ContractSort::Status, SortOrder::Desc) => {
                query.order(company_contracts::status.desc())
            }
            (ContractSort::ValidFrom, SortOrder::Asc) => {
                query.order(company_contracts::valid_from.asc())
            }
            (ContractSort::ValidFrom, SortOrder::Desc) => {
                query.order(company_contracts::valid_from.desc())
            }
        };
        // Equal sort values keep one order on every page: the id decides, in the same
        // direction.
        let query = match order {
            SortOrder::Asc => query.then_order_by(company_contracts::id.asc()),
            SortOrder::Desc => query.then_order_by(company_contracts::id.desc()),
        };
        query
            .select((
                company_contracts::id,
                company_contracts::contract_number,
                company_contracts::company_id,
                company_contracts::company_name,
                companies::customer_number.nullable().assume_not_null(),
                company_contracts::company_street,
                company_contracts::company_postal_code,
                company_contracts::company_city,
                company_contracts::product_offering,
                company_contracts::status,
                company_contracts::valid_from,
                company_contracts::valid_to,
            ))
            .limit(limit)
            .offset(offset)
            .load(conn)?
    });
    if from_the_end {
        rows.reverse();
    }
    Ok((rows, total))
}

/// How many contracts SQLite's trigram index finds for `phrase`, up to `cap + 1`.
fn contract_search_count(
    conn: &mut DbConnection,
    phrase: &str,
    cap: i64,
) -> Result<Total, AppError> {
    let found = PreparedSql::new(
        "SELECT count(*) AS count FROM \
         (SELECT 1 FROM contract_search WHERE contract_search MATCH ",
    )
    .text(phrase)
    .sql(" LIMIT ")
    .big_integer(cap.saturating_add(1))
    .sql(")")
    .get_result::<SearchCount>(conn)?
    .count;
    Ok(Total::capped(found, cap))
}

#[derive(QueryableByName)]
struct SearchCount {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// An FTS5 phrase that matches `folded` as it is: quoted, with its quotes doubled.
fn fts_phrase(folded: &str) -> String {
    format!("\"{}\"", folded.replace('"', "\"\""))
}

/// The number of all contracts (with `active`: of the active ones, or of the others),
/// summed from the counts per status and validity that the database keeps with every
/// write (migration `contract_counts`), instead of a walk through every contract.
fn count_all(
    conn: &mut DbConnection,
    active: Option<bool>,
    today: NaiveDate,
) -> Result<i64, AppError> {
    // Hand-written to be prepared (diesel never prepares a statement with `sql()` in it):
    // every first page of the list asks. PostgreSQL sums BIGINT to NUMERIC; the cast
    // gives both databases one type.
    let sum = PreparedSql::new(
        "SELECT CAST(COALESCE(SUM(contracts), 0) AS BIGINT) AS count FROM contract_counts",
    );
    // An open end is stored as 9999-12-31, so it is never before today.
    let is_active = |statement: PreparedSql<'static>| {
        statement
            .sql("status = ")
            .text(STATUS_ACTIVE)
            .sql(" AND valid_from <= ")
            .date(today)
            .sql(" AND valid_to >= ")
            .date(today)
    };
    let statement = match active {
        Some(true) => is_active(sum.sql(" WHERE ")),
        Some(false) => is_active(sum.sql(" WHERE NOT (")).sql(")"),
        None => sum,
    };
    Ok(statement.get_result::<SearchCount>(conn)?.count)
}

/// How many subscriptions under the contract are active today: status `active` and
/// today within their validity.
pub fn count_active_subscriptions(
    conn: &mut DbConnection,
    contract_id: &str,
    today: NaiveDate,
) -> Result<i64, AppError> {
    use crate::schema::subscriptions;
    Ok(subscriptions::table
        .filter(subscriptions::company_contract_id.eq(contract_id))
        .filter(subscriptions::status.eq(STATUS_ACTIVE))
        .filter(subscriptions::valid_from.le(today))
        .filter(
            subscriptions::valid_to
                .is_null()
                .or(subscriptions::valid_to.ge(today)),
        )
        .count()
        .get_result(conn)?)
}

/// The stored spelling of an active contract's (and subscription's) status.
pub const STATUS_ACTIVE: &str = "active";

/// Whether a contract is active on `today`: status `active` and `today` within its
/// validity.
pub fn is_active(data: &ContractData, today: NaiveDate) -> bool {
    is_active_on(&data.status, data.valid_from, data.valid_to, today)
}

/// The rule of [`is_active`] on the columns it reads (`valid_to`: `None` is open-ended).
pub fn is_active_on(
    status: &str,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    status == STATUS_ACTIVE && valid_from <= today && valid_to.is_none_or(|to| to >= today)
}
