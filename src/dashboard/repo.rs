//! The dashboard's counts, each one query over the companies in scope.

use chrono::{Days, NaiveDate};
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::contracts::repo::STATUS_ACTIVE;
use crate::dashboard::types::{CodeCounts, ContractCounts, Dashboard, UserCounts};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::memberships::types::CompanyRole;
use crate::schema::{company_contracts, company_memberships, customer_codes, subscriptions};

/// The counts over `companies` (`None`: every company).
pub fn counts(
    conn: &mut DbConnection,
    companies: Option<&[String]>,
    today: NaiveDate,
) -> Result<Dashboard, AppError> {
    // Every count runs over the contracts of the companies in scope.
    let ids = companies.map(<[String]>::to_vec);
    let contracts = || {
        let mut query = company_contracts::table.into_boxed();
        if let Some(ids) = ids.clone() {
            query = query.filter(company_contracts::company_id.eq_any(ids));
        }
        query
    };
    let total: i64 = contracts().select(count_star()).get_result(conn)?;
    let active: i64 = contracts()
        .filter(company_contracts::status.eq(STATUS_ACTIVE))
        .filter(company_contracts::valid_from.le(today))
        .filter(
            company_contracts::valid_to
                .is_null()
                .or(company_contracts::valid_to.ge(today)),
        )
        .select(count_star())
        .get_result(conn)?;
    let cancelled: i64 = contracts()
        .filter(company_contracts::status.eq("cancelled"))
        .select(count_star())
        .get_result(conn)?;
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
            ended: total - active - cancelled,
        },
        active_subscriptions,
        customer_codes: CodeCounts {
            valid,
            expiring_within_30_days: expiring,
        },
        users,
    })
}
