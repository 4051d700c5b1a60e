//! A month's statement of a contract: computed from the tickets while the month runs,
//! frozen once it has ended (Europe/Berlin). The first read after the end freezes it —
//! or, early on the 1st, the maintenance job does so for every contract. The contract's
//! row lock (PostgreSQL) or the single writer (SQLite) and the unique index on contract
//! and month let exactly one freezer write it.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::clock::Clock;
use crate::contracts::repo::ContractRow;
use crate::db::{DbConnection, DbPool, PreparedSql};
use crate::domain::Cents;
use crate::domain::month::{first_of_month, months_after};
use crate::error::AppError;
use crate::prices::{EmployerShare, MonthPrice, PriceProblem};
use crate::schema::company_contracts;
use crate::statements::repo::{self, ItemSource, StatementRow};
use crate::statements::types::{StatementContract, StatementStatus, StatementTotals};
use crate::webhooks::types::EventType;
use serde_json::json;

/// A statement without its items.
#[derive(Debug, Clone)]
pub struct StatementHead {
    pub contract: StatementContract,
    pub month: NaiveDate,
    pub price: MonthPrice,
    pub employer_share: Option<EmployerShare>,
    pub tickets: i64,
    pub status: StatementStatus,
    pub final_at: Option<NaiveDateTime>,
    pub items: ItemSource,
}

impl StatementHead {
    pub fn of_frozen(row: StatementRow) -> Result<StatementHead, AppError> {
        Ok(StatementHead {
            employer_share: EmployerShare::from_columns(
                row.employer_share_kind.as_deref(),
                row.employer_share_value,
            )?,
            contract: StatementContract {
                id: row.contract_id,
                contract_number: row.contract_number,
                company_name: row.company_name,
                customer_number: row.customer_number,
            },
            month: row.month,
            price: MonthPrice {
                list_price: Cents(row.list_price_cents),
                job_price: Cents(row.job_price_cents),
                employer_share: Cents(row.employer_share_cents),
                employee_share: Cents(row.employee_share_cents),
                share_below_minimum: row.share_below_minimum,
            },
            tickets: row.tickets,
            status: StatementStatus::Final,
            final_at: Some(row.final_at),
            items: ItemSource::Frozen {
                statement_id: row.id,
            },
        })
    }
}

/// Whether the month starting `month` has ended by `today` (Europe/Berlin).
pub fn has_ended(month: NaiveDate, today: NaiveDate) -> bool {
    today >= months_after(month, 1)
}

/// The statement as far as a read can answer it: the final one, or a running month's
/// provisional one; `None` when the month has ended and must be frozen first.
pub fn read_statement(
    conn: &mut DbConnection,
    contract: &ContractRow,
    month: NaiveDate,
    today: NaiveDate,
) -> Result<Option<StatementHead>, AppError> {
    if let Some(frozen) = repo::find(conn, &contract.id, month)? {
        return StatementHead::of_frozen(frozen).map(Some);
    }
    if has_ended(month, today) {
        return Ok(None);
    }
    live(conn, contract, month).map(Some)
}

/// The contract's statement of `month` as it stands: the final one if frozen; else,
/// when the month has ended, frozen now (the caller holds a write transaction); else
/// computed from the tickets. `409 price_missing` when no price
/// holds for the contract's product in the month.
pub fn statement(
    conn: &mut DbConnection,
    contract: &ContractRow,
    month: NaiveDate,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<StatementHead, AppError> {
    if let Some(frozen) = repo::find(conn, &contract.id, month)? {
        return StatementHead::of_frozen(frozen);
    }
    let head = live(conn, contract, month)?;
    if !has_ended(month, today) {
        return Ok(head);
    }
    crate::contracts::repo::lock(conn, &contract.id)?;
    // Another request or the job may have frozen it while this one waited for the lock.
    if let Some(frozen) = repo::find(conn, &contract.id, month)? {
        return StatementHead::of_frozen(frozen);
    }
    let (kind, value) = head.employer_share.map(EmployerShare::to_columns).unzip();
    let mut row = StatementRow {
        id: uuid::Uuid::now_v7().to_string(),
        contract_id: contract.id.clone(),
        month,
        contract_number: head.contract.contract_number.clone(),
        company_name: head.contract.company_name.clone(),
        customer_number: head.contract.customer_number.clone(),
        list_price_cents: head.price.list_price.0,
        job_price_cents: head.price.job_price.0,
        employer_share_kind: kind,
        employer_share_value: value,
        employer_share_cents: head.price.employer_share.0,
        employee_share_cents: head.price.employee_share.0,
        share_below_minimum: head.price.share_below_minimum,
        tickets: 0,
        // As the databases keep it (PostgreSQL: microseconds), so that this answer and
        // every later read agree.
        final_at: chrono::SubsecRound::trunc_subsecs(now, 6),
    };
    row.tickets = repo::insert_frozen(conn, &row)?;
    let head = StatementHead::of_frozen(row)?;
    crate::webhooks::events::of_contract(
        conn,
        &contract.id,
        EventType::StatementFinalized,
        json!({
            "contract_id": head.contract.id,
            "contract_number": head.contract.contract_number,
            "month": crate::domain::month::format_month(month),
            "tickets": head.tickets,
            "totals": StatementTotals::of(head.price, head.tickets),
            "final_at": head.final_at.map(|at| at.and_utc()),
        }),
        crate::webhooks::events::Origin {
            now,
            traceparent: None,
        },
    )?;
    Ok(head)
}

/// The statement computed from the contract's tickets and price as they are now.
fn live(
    conn: &mut DbConnection,
    contract: &ContractRow,
    month: NaiveDate,
) -> Result<StatementHead, AppError> {
    let price = crate::prices::repo::in_force(conn, &contract.data.product_offering, month)?
        .ok_or(PriceProblem::PriceMissing)?;
    let company = crate::companies::repo::find(conn, &contract.data.company_id)?
        .ok_or_else(|| AppError::Internal("a contract's company is gone".into()))?;
    let employer_share = contract.employer_share()?;
    Ok(StatementHead {
        contract: StatementContract {
            id: contract.id.clone(),
            contract_number: contract.data.contract_number.clone(),
            company_name: company.data.name,
            customer_number: company.data.customer_number,
        },
        month,
        price: price.entry().month(employer_share),
        employer_share,
        tickets: repo::count_live(conn, &contract.id, month)?,
        status: StatementStatus::Provisional,
        final_at: None,
        items: ItemSource::Live {
            contract_id: contract.id.clone(),
            month,
        },
    })
}

/// How a freeze of a month went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Frozen {
    /// Statements frozen now.
    pub frozen: usize,
    /// Contracts left provisional: no price holds for their product in the month.
    pub without_price: usize,
}

/// Freezes the month's statement of every contract whose validity overlaps it, each in
/// a transaction of its own (a contract frozen already is left as it is).
pub async fn freeze_month(
    db: &DbPool,
    month: NaiveDate,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<Frozen, AppError> {
    let contracts: Vec<String> = db
        .run(move |conn| {
            Ok(company_contracts::table
                .filter(
                    company_contracts::valid_from.le(crate::domain::month::last_of_month(month)),
                )
                .filter(
                    company_contracts::valid_to
                        .is_null()
                        .or(company_contracts::valid_to.ge(month)),
                )
                .order(company_contracts::id)
                .select(company_contracts::id)
                .load(conn)?)
        })
        .await?;
    let mut outcome = Frozen::default();
    for id in contracts {
        let result = db
            .transaction(move |conn| {
                if repo::find(conn, &id, month)?.is_some() {
                    return Ok(false);
                }
                let contract =
                    crate::contracts::repo::find(conn, &id)?.ok_or_else(AppError::not_found)?;
                statement(conn, &contract, month, today, now).map(|_| true)
            })
            .await;
        match result {
            Ok(true) => outcome.frozen += 1,
            Ok(false) => {}
            Err(AppError::Problem(spec)) if spec == PriceProblem::PriceMissing.spec() => {
                outcome.without_price += 1
            }
            Err(error) => return Err(error),
        }
    }
    Ok(outcome)
}

/// The maintenance job's part: once the month before today (Europe/Berlin) has ended,
/// the first instance to claim it freezes it. `None`: another instance claimed it, or it
/// was done already.
pub async fn freeze_past_month(
    db: &DbPool,
    clock: &Clock,
) -> Result<Option<(NaiveDate, Frozen)>, AppError> {
    let now = clock.now();
    let today = clock.today_berlin();
    let month = first_of_month(months_after(today, 0).pred_opt().unwrap_or(today));
    let claimed = db.run(move |conn| claim_month(conn, month, now)).await?;
    if !claimed {
        return Ok(None);
    }
    freeze_month(db, month, today, now)
        .await
        .map(|frozen| Some((month, frozen)))
}

/// Whether this instance won the freeze of `month`: one row per month in
/// `maintenance_runs`, inserted once.
fn claim_month(
    conn: &mut DbConnection,
    month: NaiveDate,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let name = format!("statements:{}", crate::domain::month::format_month(month));
    let statement = PreparedSql::new("INSERT INTO maintenance_runs (name, next_run_at) VALUES (")
        .text(&name)
        .sql(", ")
        .timestamp(now)
        .sql(") ON CONFLICT (name) DO NOTHING");
    let inserted = match conn {
        DbConnection::Postgres(pg) => statement.execute(pg)?,
        DbConnection::Sqlite(sqlite) => statement.execute(sqlite)?,
    };
    Ok(inserted == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_month_ends_with_its_last_day_in_berlin() {
        assert!(!has_ended(date("2026-11-01"), date("2026-11-30")));
        assert!(has_ended(date("2026-11-01"), date("2026-12-01")));
        assert!(has_ended(date("2026-01-01"), date("2026-12-01")));
    }
}
