//! Queries of applications.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::applications::types::{ApplicationFilter, ApplicationSort, ApplicationStatus};
use crate::contracts::types::SortOrder;
use crate::db::DbConnection;
use crate::domain::fold::{fold_text, like_pattern, storable};
use crate::error::AppError;
use crate::http::{Paging, Total};
use crate::schema::{
    accounts, application_counts, applications, companies, company_contracts, subscriptions,
};

/// An application's columns as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = applications)]
pub struct ApplicationRow {
    pub id: String,
    /// The account that ordered; `None` once it is deleted.
    pub account_id: Option<String>,
    pub contract_id: String,
    pub status: String,
    pub start_month: NaiveDate,
    // The holder: `None` (the names empty) once erased, see `holder_erased_at`.
    pub salutation: Option<String>,
    pub gender: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Option<NaiveDate>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub phone: Option<String>,
    pub personnel_number: Option<String>,
    pub marketing_consent: bool,
    pub search_text: String,
    pub created_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
    pub decided_by: Option<String>,
    pub rejection_reason: Option<String>,
    pub subscription_id: Option<String>,
    /// When the holder data was erased (retention, or with the account).
    pub holder_erased_at: Option<NaiveDateTime>,
}

/// The columns an employer's view of an application shows (the list and its items):
/// not the holder's address, birth date and phone, nor the search text, so a page of
/// the list reads and sends only these.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = applications)]
pub struct ApplicationSummaryRow {
    pub id: String,
    pub status: String,
    pub start_month: NaiveDate,
    pub first_name: String,
    pub last_name: String,
    pub personnel_number: Option<String>,
    pub created_at: NaiveDateTime,
    pub decided_at: Option<NaiveDateTime>,
    pub decided_by: Option<String>,
    pub rejection_reason: Option<String>,
    pub subscription_id: Option<String>,
}

impl From<ApplicationRow> for ApplicationSummaryRow {
    fn from(row: ApplicationRow) -> Self {
        ApplicationSummaryRow {
            id: row.id,
            status: row.status,
            start_month: row.start_month,
            first_name: row.first_name,
            last_name: row.last_name,
            personnel_number: row.personnel_number,
            created_at: row.created_at,
            decided_at: row.decided_at,
            decided_by: row.decided_by,
            rejection_reason: row.rejection_reason,
            subscription_id: row.subscription_id,
        }
    }
}

/// What an order says of its holder besides the names.
pub struct HolderFields<'a> {
    pub salutation: &'a str,
    pub gender: &'a str,
    pub birth_date: NaiveDate,
    pub address: crate::domain::Address,
}

impl ApplicationRow {
    /// The holder's salutation, gender, birth date and address; `None` once erased.
    pub fn holder_fields(&self) -> Option<HolderFields<'_>> {
        if self.holder_erased_at.is_some() {
            return None;
        }
        Some(HolderFields {
            salutation: self.salutation.as_deref()?,
            gender: self.gender.as_deref()?,
            birth_date: self.birth_date?,
            address: crate::domain::Address {
                street: self.street.clone()?,
                postal_code: self.postal_code.clone()?,
                city: self.city.clone()?,
                country: self.country.clone()?,
            },
        })
    }
}

/// The contract an application is for, as the employee sees it.
#[derive(Debug, Clone, Queryable)]
pub struct ContractOfApplication {
    pub contract_number: String,
    pub company_name: String,
    pub product_offering: String,
}

/// First and last name of the account that decided.
pub type DeciderName = (String, String);

/// Whether an insert was refused by `applications_one_pending_key` (see the
/// migration), the only unique index besides the random id: a second pending
/// application of the account for the contract, e.g. from two orders sent at once.
pub fn is_second_pending(error: &AppError) -> bool {
    error.violated_unique_column().is_some()
}

pub fn insert(conn: &mut DbConnection, row: &ApplicationRow) -> Result<(), AppError> {
    diesel::insert_into(applications::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<ApplicationRow>, AppError> {
    if !storable(id) {
        return Ok(None);
    }
    Ok(applications::table
        .find(id)
        .select(ApplicationRow::as_select())
        .first(conn)
        .optional()?)
}

/// One of the account's applications; someone else's is `None` like an unknown one.
pub fn find_of_account(
    conn: &mut DbConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<ApplicationRow>, AppError> {
    Ok(find(conn, id)?.filter(|row| row.account_id.as_deref() == Some(account_id)))
}

/// One of the contract's applications; another contract's is `None`.
pub fn find_of_contract(
    conn: &mut DbConnection,
    contract_id: &str,
    id: &str,
) -> Result<Option<ApplicationRow>, AppError> {
    Ok(find(conn, id)?.filter(|row| row.contract_id == contract_id))
}

/// Whether the account has a pending application for the contract.
pub fn has_pending(
    conn: &mut DbConnection,
    account_id: &str,
    contract_id: &str,
) -> Result<bool, AppError> {
    let pending: i64 = applications::table
        .filter(applications::account_id.eq(account_id))
        .filter(applications::contract_id.eq(contract_id))
        .filter(applications::status.eq(ApplicationStatus::Pending.as_ref()))
        .count()
        .get_result(conn)?;
    Ok(pending > 0)
}

/// Whether the account holds a subscription under the contract that has not expired.
pub fn holds_current_subscription(
    conn: &mut DbConnection,
    account_id: &str,
    contract_id: &str,
    today: NaiveDate,
) -> Result<bool, AppError> {
    let held: i64 = subscriptions::table
        .filter(subscriptions::account_id.eq(account_id))
        .filter(subscriptions::company_contract_id.eq(contract_id))
        .filter(subscriptions::status.ne("ended"))
        .filter(
            subscriptions::valid_to
                .is_null()
                .or(subscriptions::valid_to.ge(today).assume_not_null()),
        )
        .count()
        .get_result(conn)?;
    Ok(held > 0)
}

/// The contract's number, company and product, for the employee's view.
pub fn contract_of(
    conn: &mut DbConnection,
    contract_id: &str,
) -> Result<ContractOfApplication, AppError> {
    Ok(company_contracts::table
        .inner_join(companies::table)
        .filter(company_contracts::id.eq(contract_id))
        .select((
            company_contracts::contract_number,
            companies::name,
            company_contracts::product_offering,
        ))
        .first(conn)?)
}

/// The names of the accounts that decided applications (their `decided_by`), by
/// account id.
pub fn decider_names<'a>(
    conn: &mut DbConnection,
    decided_by: impl IntoIterator<Item = Option<&'a str>>,
) -> Result<std::collections::HashMap<String, DeciderName>, AppError> {
    let mut ids: Vec<&str> = decided_by.into_iter().flatten().collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let names: Vec<(String, String, String)> = accounts::table
        .filter(accounts::id.eq_any(ids))
        .select((accounts::id, accounts::first_name, accounts::last_name))
        .load(conn)?;
    Ok(names
        .into_iter()
        .map(|(id, first, last)| (id, (first, last)))
        .collect())
}

/// The account's applications, newest first.
pub fn list_of_account(
    conn: &mut DbConnection,
    account_id: &str,
    paging: Paging,
) -> Result<(Vec<ApplicationRow>, i64), AppError> {
    let total = applications::table
        .filter(applications::account_id.eq(account_id))
        .count()
        .get_result(conn)?;
    let rows = applications::table
        .filter(applications::account_id.eq(account_id))
        .order((applications::created_at.desc(), applications::id.desc()))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(ApplicationRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// A contract's applications, filtered, searched, sorted and paged.
///
/// Without `q` the total is the sum of the kept counts (`application_counts`), and a page
/// in the list's second half is read from its other end (the order reversed, the rows
/// turned back), so that no page skips more than half the list. With `q` the matches
/// are counted up to `search_count_limit` ([`Total::count_up_to`]).
pub fn list_of_contract(
    conn: &mut DbConnection,
    contract_id: &str,
    filter: &ApplicationFilter,
    paging: Paging,
    search_count_limit: i64,
) -> Result<(Vec<ApplicationSummaryRow>, Total), AppError> {
    let folded = filter.q.as_deref().map(fold_text);
    if folded.as_deref().is_some_and(|q| !storable(q)) {
        return Ok((Vec::new(), Total::exact(0)));
    }
    // The backend's own boxed queries (`db::on_backend!`): diesel renders each one's SQL
    // once, where `MultiConnection` renders it again in every pass over the query.
    crate::db::on_backend!(conn, |conn| {
        let query = || {
            let mut query = applications::table
                .filter(applications::contract_id.eq(contract_id.to_string()))
                .into_boxed();
            if let Some(status) = filter.status {
                query = query.filter(applications::status.eq(status.as_ref().to_string()));
            }
            if let Some(q) = &folded {
                query = query.filter(applications::search_text.like(like_pattern(q)).escape('\\'));
            }
            query
        };
        let total = match &folded {
            Some(_) => Total::count_up_to(conn, query(), search_count_limit)?,
            None => Total::exact({
                let mut counts = application_counts::table
                    .filter(application_counts::contract_id.eq(contract_id.to_string()))
                    .into_boxed();
                if let Some(status) = filter.status {
                    counts =
                        counts.filter(application_counts::status.eq(status.as_ref().to_string()));
                }
                counts
                    .select(application_counts::applications)
                    .load::<i64>(conn)?
                    .into_iter()
                    .sum()
            }),
        };
        let (offset, limit) = (paging.offset(), paging.limit());
        if total.ends_before(offset) {
            return Ok((Vec::new(), total));
        }
        // Only an exact total says where the other end is.
        let from_the_end =
            folded.is_none() && total.is_exact() && offset + limit / 2 > total.count / 2;
        let (order, offset, limit) = match from_the_end {
            false => (filter.order, offset, limit),
            true => {
                let rows = limit.min(total.count - offset);
                let order = match filter.order {
                    SortOrder::Asc => SortOrder::Desc,
                    SortOrder::Desc => SortOrder::Asc,
                };
                (order, total.count - offset - rows, rows)
            }
        };
        let query = query();
        let query = match (filter.sort, order) {
            (ApplicationSort::CreatedAt, SortOrder::Asc) => {
                query.order((applications::created_at.asc(), applications::id.asc()))
            }
            (ApplicationSort::CreatedAt, SortOrder::Desc) => {
                query.order((applications::created_at.desc(), applications::id.desc()))
            }
            (ApplicationSort::LastName, SortOrder::Asc) => {
                query.order((applications::last_name.asc(), applications::id.asc()))
            }
            (ApplicationSort::LastName, SortOrder::Desc) => {
                query.order((applications::last_name.desc(), applications::id.desc()))
            }
            (ApplicationSort::StartMonth, SortOrder::Asc) => {
                query.order((applications::start_month.asc(), applications::id.asc()))
            }
            (ApplicationSort::StartMonth, SortOrder::Desc) => {
                query.order((applications::start_month.desc(), applications::id.desc()))
            }
        };
        let mut rows = query
            .limit(limit)
            .offset(offset)
            .select(ApplicationSummaryRow::as_select())
            .load(conn)?;
        if from_the_end {
            rows.reverse();
        }
        Ok((rows, total))
    })
}

/// Ends a pending application as `status` if it is still pending; whether it was.
/// The condition makes the decision atomic: of two at once, one changes the row.
pub fn decide(
    conn: &mut DbConnection,
    id: &str,
    status: ApplicationStatus,
    decided_by: Option<&str>,
    rejection_reason: Option<&str>,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let changed = diesel::update(
        applications::table
            .find(id)
            .filter(applications::status.eq(ApplicationStatus::Pending.as_ref())),
    )
    .set((
        applications::status.eq(status.as_ref()),
        applications::decided_at.eq(now),
        applications::decided_by.eq(decided_by),
        applications::rejection_reason.eq(rejection_reason),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn set_subscription(
    conn: &mut DbConnection,
    id: &str,
    subscription_id: &str,
) -> Result<(), AppError> {
    diesel::update(applications::table.find(id))
        .set(applications::subscription_id.eq(subscription_id))
        .execute(conn)?;
    Ok(())
}

/// Pending applications under the contracts of these companies (all when `None`), for
/// the dashboard.
pub fn count_pending(
    conn: &mut DbConnection,
    companies: Option<&[String]>,
) -> Result<i64, AppError> {
    let mut query = applications::table
        .filter(applications::status.eq(ApplicationStatus::Pending.as_ref()))
        .into_boxed();
    if let Some(companies) = companies {
        query = query.filter(
            applications::contract_id.eq_any(
                company_contracts::table
                    .filter(company_contracts::company_id.eq_any(companies.to_vec()))
                    .select(company_contracts::id),
            ),
        );
    }
    Ok(query.count().get_result(conn)?)
}
