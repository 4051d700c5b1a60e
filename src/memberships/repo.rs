//! Queries of company memberships and their invitations.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::SignedInAccount;
use crate::auth::repo::{SessionKey, session_is_open};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::http::Paging;
use crate::memberships::types::CompanyRole;
use crate::schema::{accounts, companies, company_memberships, sessions};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = company_memberships)]
pub struct MembershipRow {
    pub id: String,
    pub company_id: String,
    pub email: String,
    pub account_id: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub invited_at: NaiveDateTime,
    pub accepted_at: Option<NaiveDateTime>,
    pub invitation_expires_at: Option<NaiveDateTime>,
}

impl MembershipRow {
    fn is_active_admin(&self) -> bool {
        self.accepted_at.is_some() && self.role == CompanyRole::Admin.as_ref()
    }
}

/// A membership as the account sees it in `GET /me`.
#[derive(Debug, Queryable)]
pub struct AccountCompany {
    pub id: String,
    pub name: String,
    pub customer_number: String,
    pub role: String,
}

/// The signed-in account of an open session with the companies it acts for, in one
/// statement: `GET /me` on one round trip (`None` when the session is not open).
pub fn signed_in_with_companies(
    conn: &mut DbConnection,
    key: SessionKey<'_>,
) -> Result<Option<(SignedInAccount, Vec<AccountCompany>)>, AppError> {
    // The statement of every `GET /me`: on the backend's own connection.
    let rows: Vec<(SignedInAccount, Option<AccountCompany>)> =
        crate::db::on_backend!(conn, |conn| accounts::table
            .inner_join(sessions::table)
            .left_join(
                company_memberships::table.on(company_memberships::account_id
                    .eq(accounts::id.nullable())
                    .and(company_memberships::accepted_at.is_not_null())),
            )
            .left_join(companies::table.on(companies::id.eq(company_memberships::company_id)))
            .filter(session_is_open(key))
            .order((companies::name.asc(), companies::id.asc()))
            .select((
                SignedInAccount::as_select(),
                (
                    companies::id,
                    companies::name,
                    companies::customer_number,
                    company_memberships::role,
                )
                    .nullable(),
            ))
            .load(conn))?;
    let mut rows = rows.into_iter();
    let Some((account, first)) = rows.next() else {
        return Ok(None);
    };
    let companies = first
        .into_iter()
        .chain(rows.filter_map(|(_, company)| company))
        .collect();
    Ok(Some((account, companies)))
}

pub fn companies_of_account(
    conn: &mut DbConnection,
    account_id: &str,
) -> Result<Vec<AccountCompany>, AppError> {
    Ok(company_memberships::table
        .inner_join(companies::table)
        .filter(company_memberships::account_id.eq(account_id))
        .filter(company_memberships::accepted_at.is_not_null())
        .order((companies::name.asc(), companies::id.asc()))
        .select((
            companies::id,
            companies::name,
            companies::customer_number,
            company_memberships::role,
        ))
        .load(conn)?)
}

/// The e-mail addresses of the company's active admins (their accounts' current ones).
pub fn admin_addresses(conn: &mut DbConnection, company_id: &str) -> Result<Vec<String>, AppError> {
    Ok(company_memberships::table
        .inner_join(accounts::table)
        .filter(company_memberships::company_id.eq(company_id))
        .filter(company_memberships::role.eq(CompanyRole::Admin.as_ref()))
        .filter(company_memberships::accepted_at.is_not_null())
        .order(accounts::email.asc())
        .select(accounts::email)
        .load(conn)?)
}

pub fn find(
    conn: &mut DbConnection,
    company_id: &str,
    id: &str,
) -> Result<Option<MembershipRow>, AppError> {
    Ok(company_memberships::table
        .find(id)
        .filter(company_memberships::company_id.eq(company_id))
        .select(MembershipRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_id(conn: &mut DbConnection, id: &str) -> Result<Option<MembershipRow>, AppError> {
    Ok(company_memberships::table
        .find(id)
        .select(MembershipRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_token_hash(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<Option<MembershipRow>, AppError> {
    Ok(company_memberships::table
        .filter(company_memberships::invitation_token_hash.eq(token_hash))
        .select(MembershipRow::as_select())
        .first(conn)
        .optional()?)
}

/// The company's users, by last name, first name and id.
pub fn list(
    conn: &mut DbConnection,
    company_id: &str,
    paging: Paging,
) -> Result<(Vec<MembershipRow>, i64), AppError> {
    let total = company_memberships::table
        .filter(company_memberships::company_id.eq(company_id))
        .count()
        .get_result(conn)?;
    let rows = company_memberships::table
        .filter(company_memberships::company_id.eq(company_id))
        .order((
            company_memberships::last_name.asc(),
            company_memberships::first_name.asc(),
            company_memberships::id.asc(),
        ))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(MembershipRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Serialises changes of one company's memberships: the last-admin rule reads the
/// company's admins and then changes one of them, and two admins demoting each other at
/// once must not both pass. PostgreSQL locks the company's row until the transaction
/// ends; SQLite's write transactions (`BEGIN IMMEDIATE`) already run one at a time.
pub fn lock_company(conn: &mut DbConnection, company_id: &str) -> Result<(), AppError> {
    if let DbConnection::Postgres(pg) = conn {
        companies::table
            .find(company_id)
            .select(companies::id)
            .for_update()
            .first::<String>(pg)
            .optional()?;
    }
    Ok(())
}

/// Whether the company has an active admin other than membership `except`. Call under
/// [`lock_company`].
pub fn has_other_active_admin(
    conn: &mut DbConnection,
    company_id: &str,
    except: &str,
) -> Result<bool, AppError> {
    let others: i64 = company_memberships::table
        .filter(company_memberships::company_id.eq(company_id))
        .filter(company_memberships::id.ne(except))
        .filter(company_memberships::role.eq(CompanyRole::Admin.as_ref()))
        .filter(company_memberships::accepted_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok(others > 0)
}

/// Whether every company the account is an active admin of has another active admin,
/// so that deleting the account (its memberships go with it) leaves none of them without
/// one. Locks those companies ([`lock_company`]) until the transaction ends, so two
/// admins deleting their accounts at once cannot both leave.
pub fn account_can_leave_its_companies(
    conn: &mut DbConnection,
    account_id: &str,
) -> Result<bool, AppError> {
    let administered: Vec<MembershipRow> = company_memberships::table
        .filter(company_memberships::account_id.eq(account_id))
        .filter(company_memberships::role.eq(CompanyRole::Admin.as_ref()))
        .filter(company_memberships::accepted_at.is_not_null())
        .order(company_memberships::company_id.asc())
        .select(MembershipRow::as_select())
        .load(conn)?;
    for membership in administered {
        lock_company(conn, &membership.company_id)?;
        if !has_other_active_admin(conn, &membership.company_id, &membership.id)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether changing `row` to `new_role` (or removing it, `None`) leaves the company an
/// active admin. Call under [`lock_company`].
pub fn keeps_an_admin(
    conn: &mut DbConnection,
    row: &MembershipRow,
    new_role: Option<CompanyRole>,
) -> Result<bool, AppError> {
    if !row.is_active_admin() || new_role == Some(CompanyRole::Admin) {
        return Ok(true);
    }
    has_other_active_admin(conn, &row.company_id, &row.id)
}

/// Invites `email` to the company: a new membership, or, for a pending one, the new
/// names, role and time, with the earlier link's token dropped. `Ok(None)` when the
/// address is an active user already. Call under [`lock_company`].
#[allow(clippy::too_many_arguments)]
pub fn invite(
    conn: &mut DbConnection,
    company_id: &str,
    email: &str,
    first_name: &str,
    last_name: &str,
    role: CompanyRole,
    invited_by: &str,
    now: NaiveDateTime,
) -> Result<Option<MembershipRow>, AppError> {
    let existing: Option<MembershipRow> = company_memberships::table
        .filter(company_memberships::company_id.eq(company_id))
        .filter(company_memberships::email.eq(email))
        .select(MembershipRow::as_select())
        .first(conn)
        .optional()?;
    let id = match existing {
        Some(row) if row.accepted_at.is_some() => return Ok(None),
        Some(row) => {
            diesel::update(company_memberships::table.find(&row.id))
                .set((
                    company_memberships::first_name.eq(first_name),
                    company_memberships::last_name.eq(last_name),
                    company_memberships::role.eq(role.as_ref()),
                    company_memberships::invited_at.eq(now),
                    company_memberships::invited_by.eq(invited_by),
                    company_memberships::invitation_token_hash.eq(None::<String>),
                    company_memberships::invitation_expires_at.eq(None::<NaiveDateTime>),
                    company_memberships::updated_at.eq(now),
                ))
                .execute(conn)?;
            row.id
        }
        None => {
            let id = uuid::Uuid::now_v7().to_string();
            diesel::insert_into(company_memberships::table)
                .values((
                    company_memberships::id.eq(&id),
                    company_memberships::company_id.eq(company_id),
                    company_memberships::email.eq(email),
                    company_memberships::first_name.eq(first_name),
                    company_memberships::last_name.eq(last_name),
                    company_memberships::role.eq(role.as_ref()),
                    company_memberships::invited_at.eq(now),
                    company_memberships::invited_by.eq(invited_by),
                    company_memberships::updated_at.eq(now),
                ))
                .execute(conn)?;
            id
        }
    };
    find_by_id(conn, &id)
}

/// An accepted membership without an invitation (the demo data's company admin).
pub fn insert_active(
    conn: &mut DbConnection,
    company_id: &str,
    account_id: &str,
    email: &str,
    (first_name, last_name): (&str, &str),
    role: CompanyRole,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(company_memberships::table)
        .values((
            company_memberships::id.eq(uuid::Uuid::now_v7().to_string()),
            company_memberships::company_id.eq(company_id),
            company_memberships::email.eq(email),
            company_memberships::account_id.eq(account_id),
            company_memberships::first_name.eq(first_name),
            company_memberships::last_name.eq(last_name),
            company_memberships::role.eq(role.as_ref()),
            company_memberships::invited_at.eq(now),
            company_memberships::accepted_at.eq(now),
            company_memberships::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_role(
    conn: &mut DbConnection,
    id: &str,
    role: CompanyRole,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(company_memberships::table.find(id))
        .set((
            company_memberships::role.eq(role.as_ref()),
            company_memberships::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    diesel::delete(company_memberships::table.find(id)).execute(conn)?;
    Ok(())
}

/// Stores the hash of the invitation's new link token; the earlier link dies.
pub fn set_invitation_token(
    conn: &mut DbConnection,
    id: &str,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(
        company_memberships::table
            .find(id)
            .filter(company_memberships::accepted_at.is_null()),
    )
    .set((
        company_memberships::invitation_token_hash.eq(token_hash),
        company_memberships::invitation_expires_at.eq(expires_at),
    ))
    .execute(conn)?;
    Ok(())
}

/// Accepts the invitation whose token hash this is, for `account_id`, if it is still
/// open and unexpired. One statement, so a token is accepted at most once.
pub fn accept(
    conn: &mut DbConnection,
    token_hash: &str,
    account_id: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let accepted = diesel::update(
        company_memberships::table
            .filter(company_memberships::invitation_token_hash.eq(token_hash))
            .filter(company_memberships::accepted_at.is_null())
            .filter(company_memberships::invitation_expires_at.gt(now)),
    )
    .set((
        company_memberships::account_id.eq(account_id),
        company_memberships::accepted_at.eq(now),
        company_memberships::invitation_token_hash.eq(None::<String>),
        company_memberships::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(accepted == 1)
}

/// The company's name, for the invitation e-mail.
pub fn company_name(conn: &mut DbConnection, company_id: &str) -> Result<String, AppError> {
    Ok(companies::table
        .find(company_id)
        .select(companies::name)
        .first(conn)?)
}
