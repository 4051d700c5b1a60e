//! The dashboard's counts over the companies in scope.

use chrono::{Days, NaiveDate};
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::contracts::repo::{STATUS_ACTIVE, is_active_on};
use crate::contracts::types::ContractStatus;
use crate::dashboard::types::{
    ApplicationCounts, CodeCounts, ContractCounts, Dashboard, SubscriptionCounts, UserCounts,
};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::memberships::types::CompanyRole;
use crate::schema::{company_contracts, company_memberships, customer_codes, subscriptions};

/// The counts over `companies` (`None`: every company), `now` being UTC.
pub fn counts(
    conn: &mut DbConnection,
    companies: Option<&[String]>,
    now: chrono::NaiveDateTime,
) -> Result<Dashboard, AppError> {
    let today = crate::clock::berlin_date_of(now);
    // Every count runs over the contracts of the companies in scope.
    let ids = companies.map(<[String]>::to_vec);
    // The contracts grouped by status and validity: for every company, the groups the
    // database keeps with each write (migration `contract_list_totals_and_search`, an
    // open end stored as 9999-12-31); for some, grouped here.
    let groups: Vec<(String, NaiveDate, Option<NaiveDate>, i64)> = match &ids {
        None => {
            use crate::schema::contract_counts as counts;
            counts::table
                .select((
                    counts::status,
                    counts::valid_from,
                    counts::valid_to.nullable(),
                    counts::contracts,
                ))
                .load(conn)?
        }
        Some(ids) => company_contracts::table
            .filter(company_contracts::company_id.eq_any(ids.clone()))
            .group_by((
                company_contracts::status,
                company_contracts::valid_from,
                company_contracts::valid_to,
            ))
            .select((
                company_contracts::status,
                company_contracts::valid_from,
                company_contracts::valid_to,
                count_star(),
            ))
            .load(conn)?,
    };
    let (mut active, mut cancelled, mut ended) = (0, 0, 0);
    for (status, valid_from, valid_to, contracts) in groups {
        if is_active_on(&status, valid_from, valid_to, today) {
            active += contracts;
        } else if status == ContractStatus::Cancelled.as_ref() {
            cancelled += contracts;
        } else {
            ended += contracts;
        }
    }
    let active_subscriptions: i64 = {
        let mut query = subscriptions::table
            .inner_join(company_contracts::table)
            .into_boxed();
        if let Some(ids) = ids.clone() {
            query = query.filter(company_contracts::company_id.eq_any(ids));
        }
        query
            .filter(subscriptions::status.eq(STATUS_ACTIVE))
            .filter(subscriptions::valid_from.le(today))
            .filter(
                subscriptions::valid_to
                    .is_null()
                    .or(subscriptions::valid_to.ge(today)),
            )
            .select(count_star())
            .get_result(conn)?
    };
    let starting: i64 = {
        let mut query = subscriptions::table
            .inner_join(company_contracts::table)
            .into_boxed();
        if let Some(ids) = ids.clone() {
            query = query.filter(company_contracts::company_id.eq_any(ids));
        }
        query
            .filter(subscriptions::status.eq(STATUS_ACTIVE))
            .filter(subscriptions::valid_from.gt(today))
            .select(count_star())
            .get_result(conn)?
    };
    let cancelled_this_month: i64 = {
        let (from, until) = berlin_month_in_utc(today);
        let mut query = subscriptions::table
            .inner_join(company_contracts::table)
            .into_boxed();
        if let Some(ids) = ids.clone() {
            query = query.filter(company_contracts::company_id.eq_any(ids));
        }
        query
            .filter(subscriptions::cancelled_at.ge(from))
            .filter(subscriptions::cancelled_at.lt(until))
            .select(count_star())
            .get_result(conn)?
    };
    let pending = crate::applications::repo::count_pending(conn, ids.as_deref())?;
    let valid_codes = || {
        let mut query = customer_codes::table
            .inner_join(company_contracts::table)
            .into_boxed();
        if let Some(ids) = ids.clone() {
            query = query.filter(company_contracts::company_id.eq_any(ids));
        }
        query
            .filter(customer_codes::revoked_at.is_null())
            .filter(customer_codes::valid_until.ge(today))
    };
    let valid: i64 = valid_codes().select(count_star()).get_result(conn)?;
    let soon = today
        .checked_add_days(Days::new(30))
        .unwrap_or(NaiveDate::MAX);
    let expiring: i64 = valid_codes()
        .filter(customer_codes::valid_until.le(soon))
        .select(count_star())
        .get_result(conn)?;
    let memberships: Vec<(String, bool)> = {
        let mut query = company_memberships::table.into_boxed();
        if let Some(ids) = ids {
            query = query.filter(company_memberships::company_id.eq_any(ids));
        }
        query
            .select((
                company_memberships::role,
                company_memberships::accepted_at.is_not_null(),
            ))
            .load(conn)?
    };
    let users = memberships.iter().fold(
        UserCounts {
            admins: 0,
            members: 0,
            invited: 0,
        },
        |mut users, (role, accepted)| {
            match (*accepted, role == CompanyRole::Admin.as_ref()) {
                (false, _) => users.invited += 1,
                (true, true) => users.admins += 1,
                (true, false) => users.members += 1,
            }
            users
        },
    );
    Ok(Dashboard {
        contracts: ContractCounts {
            active,
            cancelled,
            ended,
        },
        active_subscriptions,
        subscriptions: SubscriptionCounts {
            active: active_subscriptions,
            starting,
            cancelled_this_month,
        },
        applications: ApplicationCounts { pending },
        customer_codes: CodeCounts {
            valid,
            expiring_within_30_days: expiring,
        },
        users,
    })
}

/// The UTC bounds `[from, until)` of the Europe/Berlin calendar month holding `today`.
fn berlin_month_in_utc(today: NaiveDate) -> (chrono::NaiveDateTime, chrono::NaiveDateTime) {
    let start_of = crate::clock::berlin_midnight_utc;
    let first = crate::domain::month::first_of_month(today);
    (
        start_of(first),
        start_of(crate::domain::month::months_after(first, 1)),
    )
}
