//! Queries of subscriptions.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::fold::fold_number;
use crate::domain::fold::storable;
use crate::error::AppError;
use crate::http::Paging;
use crate::schema::{companies, company_contracts, customers, subscriptions};

/// The columns of a subscription that a create or update writes.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = subscriptions, treat_none_as_null = true)]
pub struct SubscriptionData {
    pub contract_number: String,
    pub subscription_number: Option<String>,
    pub chip_card_number: Option<String>,
    pub product: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub status: String,
    pub customer_id: String,
    pub company_contract_id: Option<String>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = subscriptions)]
pub struct SubscriptionRow {
    pub id: String,
    #[diesel(embed)]
    pub data: SubscriptionData,
    pub account_id: Option<String>,
    pub linked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// The employer's personnel number, given with an order.
    pub personnel_number: Option<String>,
    /// The staff list (Massenupload) that made the ticket.
    pub bulk_upload_id: Option<String>,
}

/// The company contract a subscription runs under, as the holder sees it.
#[derive(Debug, Clone, Queryable)]
pub struct ContractSummary {
    pub contract_number: String,
    pub company_name: String,
    pub product_offering: String,
}

/// A subscription with its company contract.
pub type SubscriptionView = (SubscriptionRow, Option<ContractSummary>);

/// The identity data a link attempt is checked against.
#[derive(Debug, Clone, Queryable)]
pub struct HolderIdentity {
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub postal_code: String,
}

/// The pointer of a subscription field whose unique index refused a value.
pub fn duplicate_pointer(error: &AppError) -> Option<&'static str> {
    match error.violated_unique_column()?.as_str() {
        "contract_number" => Some("/contract_number"),
        "subscription_number" => Some("/subscription_number"),
        "chip_card_number" => Some("/chip_card_number"),
        _ => None,
    }
}

pub fn insert(conn: &mut DbConnection, id: &str, data: &SubscriptionData) -> Result<(), AppError> {
    diesel::insert_into(subscriptions::table)
        .values((
            subscriptions::id.eq(id),
            subscriptions::created_at.eq(data.updated_at),
            data,
        ))
        .execute(conn)?;
    Ok(())
}

/// Inserts a ticket an order created, with the employer's personnel number and, for an
/// employee's own order, linked to their account at once.
pub fn insert_ordered(
    conn: &mut DbConnection,
    id: &str,
    data: &SubscriptionData,
    personnel_number: Option<&str>,
    account_id: Option<&str>,
) -> Result<(), AppError> {
    diesel::insert_into(subscriptions::table)
        .values((
            subscriptions::id.eq(id),
            subscriptions::created_at.eq(data.updated_at),
            subscriptions::personnel_number.eq(personnel_number),
            subscriptions::account_id.eq(account_id),
            subscriptions::linked_at.eq(account_id.map(|_| data.updated_at)),
            data,
        ))
        .execute(conn)?;
    Ok(())
}

/// A subscription to insert with [`insert_many`].
pub struct NewSubscription<'a> {
    pub id: &'a str,
    pub data: &'a SubscriptionData,
    /// The employer's personnel number, given with an order.
    pub personnel_number: Option<&'a str>,
    /// The staff list the ticket was made by.
    pub bulk_upload_id: Option<&'a str>,
}

/// Inserts many new subscriptions: on PostgreSQL as one binary `COPY` (no statement of
/// thousands of parameters to parse and plan), on SQLite, which runs in-process, row by
/// row.
pub fn insert_many(conn: &mut DbConnection, rows: &[NewSubscription<'_>]) -> Result<(), AppError> {
    let copied: Vec<_> = rows.iter().map(CopiedSubscription::new).collect();
    match conn {
        DbConnection::Postgres(pg) => {
            diesel::copy_from(subscriptions::table)
                .from_insertable(copied)
                .execute(pg)?;
        }
        DbConnection::Sqlite(sqlite) => {
            for row in copied {
                diesel::insert_into(subscriptions::table)
                    .values(row)
                    .execute(sqlite)?;
            }
        }
    }
    Ok(())
}

/// A new subscription as `COPY` writes it: every column it sets, none left to a default
/// (`COPY` names its columns once for all rows).
#[derive(Insertable)]
#[diesel(table_name = subscriptions, treat_none_as_default_value = false)]
struct CopiedSubscription<'a> {
    id: &'a str,
    contract_number: &'a str,
    subscription_number: Option<&'a str>,
    chip_card_number: Option<&'a str>,
    product: &'a str,
    valid_from: chrono::NaiveDate,
    valid_to: Option<chrono::NaiveDate>,
    status: &'a str,
    customer_id: &'a str,
    company_contract_id: Option<&'a str>,
    personnel_number: Option<&'a str>,
    bulk_upload_id: Option<&'a str>,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl<'a> CopiedSubscription<'a> {
    fn new(row: &NewSubscription<'a>) -> Self {
        let data = row.data;
        CopiedSubscription {
            id: row.id,
            contract_number: &data.contract_number,
            subscription_number: data.subscription_number.as_deref(),
            chip_card_number: data.chip_card_number.as_deref(),
            product: &data.product,
            valid_from: data.valid_from,
            valid_to: data.valid_to,
            status: &data.status,
            customer_id: &data.customer_id,
            company_contract_id: data.company_contract_id.as_deref(),
            personnel_number: row.personnel_number,
            bulk_upload_id: row.bulk_upload_id,
            created_at: data.updated_at,
            updated_at: data.updated_at,
        }
    }
}

pub fn update(conn: &mut DbConnection, id: &str, data: &SubscriptionData) -> Result<(), AppError> {
    diesel::update(subscriptions::table.find(id))
        .set(data)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<SubscriptionRow>, AppError> {
    Ok(subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_contract_number(
    conn: &mut DbConnection,
    contract_number: &str,
) -> Result<Option<SubscriptionRow>, AppError> {
    Ok(subscriptions::table
        .filter(subscriptions::contract_number.eq(contract_number))
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?)
}

/// One of the account's subscriptions; someone else's is `None` like an unknown one.
pub fn find_of_account(
    conn: &mut DbConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<SubscriptionRow>, AppError> {
    Ok(subscriptions::table
        .find(id)
        .filter(subscriptions::account_id.eq(account_id))
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?)
}

/// One of the account's subscriptions with its company contract.
pub fn view_of_account(
    conn: &mut DbConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<SubscriptionView>, AppError> {
    Ok(subscriptions::table
        .left_join(company_contracts::table.left_join(companies::table))
        .filter(subscriptions::id.eq(id))
        .filter(subscriptions::account_id.eq(account_id))
        .select((SubscriptionRow::as_select(), contract_summary()))
        .first::<(SubscriptionRow, Option<(String, Option<String>, String)>)>(conn)
        .optional()?
        .map(into_view))
}

type SummaryColumns = (
    company_contracts::contract_number,
    diesel::dsl::Nullable<companies::name>,
    company_contracts::product_offering,
);

fn contract_summary() -> diesel::dsl::Nullable<SummaryColumns> {
    (
        company_contracts::contract_number,
        companies::name.nullable(),
        company_contracts::product_offering,
    )
        .nullable()
}

fn into_view(
    (row, summary): (SubscriptionRow, Option<(String, Option<String>, String)>),
) -> SubscriptionView {
    let summary =
        summary.map(
            |(contract_number, company_name, product_offering)| ContractSummary {
                contract_number,
                company_name: company_name.unwrap_or_default(),
                product_offering,
            },
        );
    (row, summary)
}

/// Which of the account's subscriptions a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkedState {
    /// Not expired: `valid_to` today or later (or open), and not `ended`.
    Current,
    /// `valid_to` before today, or `ended`.
    Expired,
}

/// The account's subscriptions in one state, newest `valid_from` first.
///
/// A read every Aboverwaltung screen opens: its count and page are typed diesel queries
/// (one per state, not boxed) run on the backend's own connection, which finds them in
/// its statement cache by their type instead of rendering their SQL on every request
/// (`db::on_backend!`).
pub fn list_of_account(
    conn: &mut DbConnection,
    account_id: &str,
    state: LinkedState,
    today: NaiveDate,
    paging: Paging,
) -> Result<(Vec<SubscriptionView>, i64), AppError> {
    // The count and the page of the account's subscriptions that pass the filters.
    macro_rules! count_and_page {
        ($conn:ident, $($state_filter:expr),+) => {{
            let of_state = || {
                subscriptions::table
                    .left_join(company_contracts::table.left_join(companies::table))
                    .filter(subscriptions::account_id.eq(account_id))
                    $(.filter($state_filter))+
            };
            let total: i64 = of_state().count().get_result($conn)?;
            let rows = of_state()
                .order((subscriptions::valid_from.desc(), subscriptions::id.desc()))
                .limit(paging.limit())
                .offset(paging.offset())
                .select((SubscriptionRow::as_select(), contract_summary()))
                .load::<(SubscriptionRow, Option<(String, Option<String>, String)>)>($conn)?;
            (rows, total)
        }};
    }
    let (rows, total) = match state {
        LinkedState::Expired => crate::db::on_backend!(conn, |c| count_and_page!(
            c,
            subscriptions::valid_to
                .lt(today)
                .assume_not_null()
                .or(subscriptions::status.eq("ended"))
        )),
        LinkedState::Current => crate::db::on_backend!(conn, |c| count_and_page!(
            c,
            subscriptions::status.ne("ended"),
            subscriptions::valid_to
                .is_null()
                .or(subscriptions::valid_to.ge(today).assume_not_null())
        )),
    };
    Ok((rows.into_iter().map(into_view).collect(), total))
}

/// Subscriptions carrying `number` as contract, subscription or chip-card number, with
/// the identity data of their holders; the contract number's match first.
pub fn candidates_by_number(
    conn: &mut DbConnection,
    number: &str,
) -> Result<Vec<(SubscriptionRow, HolderIdentity)>, AppError> {
    let mut rows: Vec<(SubscriptionRow, HolderIdentity)> = subscriptions::table
        .inner_join(customers::table)
        .filter(
            subscriptions::contract_number
                .eq(number)
                .or(subscriptions::subscription_number.eq(number))
                .or(subscriptions::chip_card_number.eq(number)),
        )
        .select((
            SubscriptionRow::as_select(),
            (
                customers::last_name,
                customers::birth_date,
                customers::postal_code,
            ),
        ))
        .load(conn)?;
    rows.sort_by_key(|(row, _)| {
        if row.data.contract_number == number {
            0
        } else if row.data.subscription_number.as_deref() == Some(number) {
            1
        } else {
            2
        }
    });
    Ok(rows)
}

/// Links the subscription to the account if no account holds it yet; whether it did.
pub fn link(
    conn: &mut DbConnection,
    id: &str,
    account_id: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let linked = diesel::update(
        subscriptions::table
            .find(id)
            .filter(subscriptions::account_id.is_null()),
    )
    .set((
        subscriptions::account_id.eq(account_id),
        subscriptions::linked_at.eq(now),
    ))
    .execute(conn)?;
    Ok(linked == 1)
}

/// Unlinks one of the account's subscriptions; whether there was one.
pub fn unlink(conn: &mut DbConnection, id: &str, account_id: &str) -> Result<bool, AppError> {
    let unlinked = diesel::update(
        subscriptions::table
            .find(id)
            .filter(subscriptions::account_id.eq(account_id)),
    )
    .set((
        subscriptions::account_id.eq(None::<String>),
        subscriptions::linked_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(unlinked == 1)
}

/// What the operator's subscription list is filtered by.
#[derive(Debug, Default)]
pub struct SubscriptionFilter {
    pub contract_number: Option<String>,
    pub customer_id: Option<String>,
    pub company_contract_id: Option<String>,
    pub bulk_upload_id: Option<String>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &SubscriptionFilter,
    paging: Paging,
) -> Result<(Vec<SubscriptionRow>, i64), AppError> {
    if filter
        .contract_number
        .as_deref()
        .is_some_and(|v| !storable(v))
        || filter.customer_id.as_deref().is_some_and(|v| !storable(v))
        || filter
            .company_contract_id
            .as_deref()
            .is_some_and(|v| !storable(v))
        || filter
            .bulk_upload_id
            .as_deref()
            .is_some_and(|v| !storable(v))
    {
        // No record holds such a value.
        return Ok((Vec::new(), 0));
    }
    let query = || {
        let mut query = subscriptions::table.into_boxed();
        if let Some(number) = &filter.contract_number {
            query = query.filter(subscriptions::contract_number.eq(fold_number(number)));
        }
        if let Some(customer_id) = &filter.customer_id {
            query = query.filter(subscriptions::customer_id.eq(customer_id.clone()));
        }
        if let Some(contract_id) = &filter.company_contract_id {
            query = query.filter(subscriptions::company_contract_id.eq(contract_id.clone()));
        }
        if let Some(upload_id) = &filter.bulk_upload_id {
            query = query.filter(subscriptions::bulk_upload_id.eq(upload_id.clone()));
        }
        query
    };
    let total = query().count().get_result(conn)?;
    let rows = query()
        .order((
            subscriptions::contract_number.asc(),
            subscriptions::id.asc(),
        ))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(SubscriptionRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}
