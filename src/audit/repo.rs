//! Reading the audit trail. Entries are written by [`crate::audit::record`] in the
//! transaction of their change; nothing changes or deletes one except deleting an
//! account (its id leaves its entries) and retention.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::types::{AuditEntryView, DELETED_ACCOUNT};
use crate::db::DbConnection;
use crate::domain::fold::storable;
use crate::error::AppError;
use crate::http::{Paging, Total};
use crate::schema::{accounts, audit_log};

/// An entry as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: String,
    pub occurred_at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub action: String,
    pub subject_id: Option<String>,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    pub details: Option<String>,
}

/// Whose entries: an account by its id, or by its e-mail address now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorFilter {
    Account(String),
    Email(String),
}

/// A checked filter of the trail.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<ActorFilter>,
    pub subject: Option<String>,
    pub action: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
}

/// One page of the trail, newest first; the total counted up to `count_limit`.
pub fn list(
    conn: &mut DbConnection,
    filter: &AuditFilter,
    paging: Paging,
    count_limit: i64,
) -> Result<(Vec<AuditEntryView>, Total), AppError> {
    let actor_text = match &filter.actor {
        Some(ActorFilter::Account(text) | ActorFilter::Email(text)) => Some(text.as_str()),
        None => None,
    };
    if [actor_text, filter.subject.as_deref()]
        .into_iter()
        .flatten()
        .any(|value| !storable(value))
    {
        // No entry names such an actor or subject (and PostgreSQL refuses the value).
        return Ok((Vec::new(), Total::exact(0)));
    }
    // An e-mail address names the account that has it now; none, no entries.
    let actor = match &filter.actor {
        Some(ActorFilter::Email(email)) => {
            let found: Option<String> = accounts::table
                .filter(accounts::email.eq(email))
                .select(accounts::id)
                .first(conn)
                .optional()?;
            match found {
                Some(id) => Some(id),
                None => return Ok((Vec::new(), Total::exact(0))),
            }
        }
        Some(ActorFilter::Account(id)) => Some(id.clone()),
        None => None,
    };
    let query = || {
        let mut query = audit_log::table.into_boxed();
        if let Some(actor) = &actor {
            query = query.filter(audit_log::actor_id.eq(actor.clone()));
        }
        if let Some(subject) = &filter.subject {
            query = query.filter(audit_log::subject_id.eq(subject.clone()));
        }
        if let Some(action) = &filter.action {
            query = query.filter(audit_log::action.eq(action.clone()));
        }
        if let Some(from) = filter.from {
            query = query.filter(audit_log::occurred_at.ge(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(audit_log::occurred_at.le(to));
        }
        query
    };
    let total = Total::count_up_to(conn, query(), count_limit)?;
    if total.ends_before(paging.offset()) {
        return Ok((Vec::new(), total));
    }
    let rows: Vec<AuditRow> = query()
        .order((audit_log::occurred_at.desc(), audit_log::id.desc()))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(AuditRow::as_select())
        .load(conn)?;
    Ok((views(conn, rows)?, total))
}

/// The entries of `rows` with their actors' e-mail addresses (one query for the page).
pub fn views(
    conn: &mut DbConnection,
    rows: Vec<AuditRow>,
) -> Result<Vec<AuditEntryView>, AppError> {
    let mut actors: Vec<String> = rows
        .iter()
        .filter_map(|row| row.actor_id.clone())
        .filter(|id| id != DELETED_ACCOUNT)
        .collect();
    actors.sort_unstable();
    actors.dedup();
    let emails: HashMap<String, String> = if actors.is_empty() {
        HashMap::new()
    } else {
        accounts::table
            .filter(accounts::id.eq_any(&actors))
            .select((accounts::id, accounts::email))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let email = row.actor_id.as_ref().and_then(|id| emails.get(id)).cloned();
            AuditEntryView::new(row, email)
        })
        .collect())
}

/// Takes a deleted account's id out of the trail: its entries keep their action and time,
/// name `deleted-account` as their actor and lose the client address; where the account
/// itself was the subject, the subject goes.
pub fn pseudonymise_account(conn: &mut DbConnection, account_id: &str) -> Result<(), AppError> {
    diesel::update(audit_log::table.filter(audit_log::subject_id.eq(account_id)))
        .set((
            audit_log::subject_id.eq(None::<String>),
            audit_log::client_ip.eq(None::<String>),
        ))
        .execute(conn)?;
    diesel::update(audit_log::table.filter(audit_log::actor_id.eq(account_id)))
        .set((
            audit_log::actor_id.eq(DELETED_ACCOUNT),
            audit_log::client_ip.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}
