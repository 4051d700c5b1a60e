//! Who may see and change a company's records: its active members (admins change,
//! members read) and operators (everything). Checked in the handler's own database work,
//! so a removed user's next request already answers `404`.

use diesel::prelude::*;

use crate::auth::SignedInAccount;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::memberships::types::CompanyRole;
use crate::schema::{companies, company_memberships};

/// What the signed-in account may do with one company.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanyAccess {
    Operator,
    Admin,
    Member,
}

impl CompanyAccess {
    /// Admins and operators change; a member's change answers `403 forbidden`.
    pub fn require_admin(self) -> Result<(), AppError> {
        match self {
            CompanyAccess::Operator | CompanyAccess::Admin => Ok(()),
            CompanyAccess::Member => Err(AppError::forbidden()),
        }
    }
}

/// The account's access to a company, or `404` for a company that does not exist or
/// that the account does not belong to (the two look alike).
pub fn access_to_company(
    conn: &mut DbConnection,
    account: &SignedInAccount,
    company_id: &str,
) -> Result<CompanyAccess, AppError> {
    if account.operator {
        let exists = companies::table
            .find(company_id)
            .select(companies::id)
            .first::<String>(conn)
            .optional()?
            .is_some();
        return if exists {
            Ok(CompanyAccess::Operator)
        } else {
            Err(AppError::not_found())
        };
    }
    let role: Option<String> = company_memberships::table
        .filter(company_memberships::company_id.eq(company_id))
        .filter(company_memberships::account_id.eq(&account.id))
        .filter(company_memberships::accepted_at.is_not_null())
        .select(company_memberships::role)
        .first(conn)
        .optional()?;
    match role.as_deref().map(str::parse::<CompanyRole>) {
        Some(Ok(CompanyRole::Admin)) => Ok(CompanyAccess::Admin),
        Some(Ok(CompanyRole::Member)) => Ok(CompanyAccess::Member),
        Some(Err(_)) => Err(AppError::Internal(format!("stored role {role:?}"))),
        None => Err(AppError::not_found()),
    }
}

/// That the account is an admin of the company (or an operator), read under the
/// company's lock (`repo::lock_company`), which every change of a role or membership
/// takes: an admin demoted or removed at the same moment is seen as such, and cannot
/// finish one more invitation or removal. `404` and `403` as [`access_to_company`] and
/// [`CompanyAccess::require_admin`].
pub fn require_admin_under_lock(
    conn: &mut DbConnection,
    account: &SignedInAccount,
    company_id: &str,
) -> Result<(), AppError> {
    super::repo::lock_company(conn, company_id)?;
    access_to_company(conn, account, company_id)?.require_admin()
}

/// The companies whose records the account sees: `None` for an operator (all of them),
/// else the ids of its active memberships.
pub fn visible_companies(
    conn: &mut DbConnection,
    account: &SignedInAccount,
) -> Result<Option<Vec<String>>, AppError> {
    if account.operator {
        return Ok(None);
    }
    Ok(Some(
        company_memberships::table
            .filter(company_memberships::account_id.eq(&account.id))
            .filter(company_memberships::accepted_at.is_not_null())
            .select(company_memberships::company_id)
            .load(conn)?,
    ))
}

/// The companies the account acts for, with its role in each (for `GET /me`).
pub fn companies_of(
    conn: &mut DbConnection,
    account_id: &str,
) -> Result<Vec<crate::memberships::types::MyCompany>, AppError> {
    my_companies(crate::memberships::repo::companies_of_account(
        conn, account_id,
    )?)
}

/// The companies of `companies_of` as `GET /me` shows them.
pub fn my_companies(
    companies: Vec<crate::memberships::repo::AccountCompany>,
) -> Result<Vec<crate::memberships::types::MyCompany>, AppError> {
    companies
        .into_iter()
        .map(|company| {
            Ok(crate::memberships::types::MyCompany {
                role: crate::memberships::types::parse_role(&company.role)?,
                id: company.id,
                name: company.name,
                customer_number: company.customer_number,
            })
        })
        .collect()
}
