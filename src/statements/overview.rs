//! The operator's side of statements: a month's overview, one line per contract, as a
//! page or as CSV for the billing system, and re-opening a month's final statements.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use diesel::prelude::*;

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::Operator;
use crate::contracts::types::SortOrder;
use crate::db::DbConnection;
use crate::domain::Cents;
use crate::domain::fold::{fold_number, storable};
use crate::domain::month::{format_month, last_of_month};
use crate::error::{AppError, Problem};
use crate::http::{ApiQuery, Page, PageQuery};
use crate::prices::{EmployerShare, MonthPrice};
use crate::schema::{companies, company_contracts};
use crate::state::AppState;
use crate::statements::files;
use crate::statements::freezing::StatementHead;
use crate::statements::repo;
use crate::statements::routes::StatementMonth;
use crate::statements::types::*;

/// One contract's month, as the overview lists it.
#[derive(Debug, Clone)]
pub struct OverviewRow {
    pub contract_id: String,
    pub contract_number: String,
    pub company_name: String,
    pub customer_number: String,
    pub tickets: i64,
    /// `None`: no price holds for the contract's product in the month.
    pub price: Option<MonthPrice>,
    pub status: StatementStatus,
}

impl OverviewRow {
    fn total(&self) -> Cents {
        job_price_total(self.price, self.tickets)
    }
}

impl From<OverviewRow> for OverviewLine {
    fn from(row: OverviewRow) -> Self {
        OverviewLine {
            totals: row
                .price
                .map(|price| StatementTotals::of(price, row.tickets)),
            contract_id: row.contract_id,
            contract_number: row.contract_number,
            company_name: row.company_name,
            customer_number: row.customer_number,
            tickets: row.tickets,
            status: row.status,
        }
    }
}

/// A contract as the overview needs it.
#[derive(Debug, Queryable)]
struct ContractLine {
    id: String,
    contract_number: String,
    company_name: String,
    customer_number: String,
    product_offering: String,
    employer_share_kind: Option<String>,
    employer_share_value: Option<i64>,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
}

/// Every contract's line of `month`: the final statement where one was frozen, else
/// the month as its tickets and prices stand now. Listed are the contracts whose
/// validity overlaps the month and those with a counted ticket or a final statement.
pub fn lines(
    conn: &mut DbConnection,
    month: NaiveDate,
    customer_number: Option<&str>,
) -> Result<Vec<OverviewRow>, AppError> {
    if customer_number.is_some_and(|c| !storable(c)) {
        return Ok(Vec::new());
    }
    let folded = customer_number.map(fold_number);
    let mut frozen: HashMap<String, OverviewRow> = repo::of_month(conn, month)?
        .into_iter()
        .filter(|row| folded.as_ref().is_none_or(|c| *c == row.customer_number))
        .map(|row| {
            let head = StatementHead::of_frozen(row)?;
            Ok((
                head.contract.id.clone(),
                OverviewRow {
                    contract_id: head.contract.id,
                    contract_number: head.contract.contract_number,
                    company_name: head.contract.company_name,
                    customer_number: head.contract.customer_number,
                    tickets: head.tickets,
                    price: Some(head.price),
                    status: StatementStatus::Final,
                },
            ))
        })
        .collect::<Result<_, AppError>>()?;
    let mut query = company_contracts::table
        .inner_join(companies::table)
        .select((
            company_contracts::id,
            company_contracts::contract_number,
            companies::name,
            companies::customer_number,
            company_contracts::product_offering,
            company_contracts::employer_share_kind,
            company_contracts::employer_share_value,
            company_contracts::valid_from,
            company_contracts::valid_to,
        ))
        .into_boxed();
    if let Some(number) = &folded {
        query = query.filter(companies::customer_number.eq(number.clone()));
    }
    let contracts: Vec<ContractLine> = query.load(conn)?;
    let counts: HashMap<String, i64> = repo::count_live_per_contract(conn, month)?
        .into_iter()
        .collect();
    let prices = crate::prices::repo::all_in_force(conn, month)?;
    let mut lines = Vec::with_capacity(contracts.len());
    for contract in contracts {
        if let Some(final_line) = frozen.remove(&contract.id) {
            lines.push(final_line);
            continue;
        }
        let tickets = counts.get(&contract.id).copied().unwrap_or(0);
        let overlaps = contract.valid_from <= last_of_month(month)
            && contract.valid_to.is_none_or(|to| to >= month);
        if tickets == 0 && !overlaps {
            continue;
        }
        let share = EmployerShare::from_columns(
            contract.employer_share_kind.as_deref(),
            contract.employer_share_value,
        )?;
        lines.push(OverviewRow {
            price: prices
                .get(&contract.product_offering)
                .map(|price| price.entry().month(share)),
            contract_id: contract.id,
            contract_number: contract.contract_number,
            company_name: contract.company_name,
            customer_number: contract.customer_number,
            tickets,
            status: StatementStatus::Provisional,
        });
    }
    // A final statement of a contract deleted since (none is: contracts stay).
    lines.extend(frozen.into_values());
    Ok(lines)
}

/// Sorts the lines as asked; ties by contract id.
fn sort(lines: &mut [OverviewRow], filter: &OverviewFilter) {
    lines.sort_by(|a, b| {
        let by = match filter.sort {
            OverviewSort::ContractNumber => a.contract_number.cmp(&b.contract_number),
            OverviewSort::CompanyName => a.company_name.cmp(&b.company_name),
            OverviewSort::Tickets => a.tickets.cmp(&b.tickets),
            OverviewSort::Total => a.total().cmp(&b.total()),
        }
        .then_with(|| a.contract_id.cmp(&b.contract_id));
        match filter.order {
            SortOrder::Asc => by,
            SortOrder::Desc => by.reverse(),
        }
    });
}

/// A month's statements, one line per contract (operator).
///
/// Every contract whose validity overlaps the month or that has tickets in it, with its
/// tickets, totals and whether its statement is final. Lines of an ended month that
/// were not frozen yet show the month as it stands (`provisional`); `totals` is `null`
/// where no price holds. Filter by customer number; sort by `contract_number`,
/// `company_name`, `tickets` or `total`; paged.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(
        ("month" = String, Path, description = "The month, `YYYY-MM`", pattern = r"^[0-9]{4}-[0-9]{2}$", example = "2026-11"),
        OverviewQuery,
        PageQuery
    ),
    responses(
        (status = 200, description = "One page of the month's lines", body = Page<OverviewLine>),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed month, more than 12 months ahead, an unknown `sort` or `order`, or invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/statements/{month}")]
pub async fn month_overview(
    state: web::Data<AppState>,
    _operator: Operator,
    month: StatementMonth,
    ApiQuery(query): ApiQuery<OverviewQuery>,
) -> Result<HttpResponse, AppError> {
    let month = month.checked(state.clock.today_berlin())?;
    let (filter, paging) = query.parse()?;
    let number = filter.customer_number.clone();
    let mut rows = state
        .db
        .read(move |conn| lines(conn, month, number.as_deref()))
        .await?;
    sort(&mut rows, &filter);
    let total = rows.len() as i64;
    let items = rows
        .into_iter()
        .skip(usize::try_from(paging.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(paging.limit()).unwrap_or(0))
        .map(OverviewLine::from)
        .collect();
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// A month's statements as CSV for the billing system (operator).
///
/// Every line of the overview, sorted by contract number, with German headers
/// (`Vertragsnummer;Firma;Kundennummer;Tickets;Jobticketpreis;Arbeitgeberanteil;Arbeitnehmeranteil;Status`),
/// `;`-separated, decimal comma, UTF-8 with BOM, and a totals line.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(
        ("month" = String, Path, description = "The month, `YYYY-MM`", pattern = r"^[0-9]{4}-[0-9]{2}$", example = "2026-11"),
        OverviewFileQuery
    ),
    responses(
        (status = 200, description = "The month as CSV; `Content-Disposition` names the month", content_type = "text/csv", body = String, example = "\u{feff}Vertragsnummer;Firma;Kundennummer;Tickets;Jobticketpreis;Arbeitgeberanteil;Arbeitnehmeranteil;Status\r\nFV-2023-0815;Musterfirma GmbH;K-100234;42;2513,70;1323,00;1190,70;abgeschlossen\r\nSumme;;;42;2513,70;1323,00;1190,70;\r\n"),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed month or one more than 12 months ahead (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/statements/{month}.csv")]
pub async fn month_overview_csv(
    state: web::Data<AppState>,
    _operator: Operator,
    month: StatementMonth,
    ApiQuery(query): ApiQuery<OverviewFileQuery>,
) -> Result<HttpResponse, AppError> {
    let month = month.checked(state.clock.today_berlin())?;
    let number = query.customer_number.filter(|c| !c.trim().is_empty());
    let mut rows = state
        .db
        .read(move |conn| lines(conn, month, number.as_deref()))
        .await?;
    sort(
        &mut rows,
        &OverviewFilter {
            customer_number: None,
            sort: OverviewSort::ContractNumber,
            order: SortOrder::Asc,
        },
    );
    let body = files::overview_csv(&rows)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"Abrechnungen_{}.csv\"",
                format_month(month)
            ),
        ))
        .body(body))
}

/// Re-open a month (operator).
///
/// Every final statement of the month becomes provisional again, so that corrections
/// of tickets or prices reach it; each is frozen anew on its next read (or by the
/// maintenance job). Audited with the number re-opened.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(("month" = String, Path, description = "The month, `YYYY-MM`", pattern = r"^[0-9]{4}-[0-9]{2}$", example = "2026-11")),
    responses(
        (status = 200, description = "The month was re-opened", body = ReopenedMonth),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed month or one more than 12 months ahead (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/statements/{month}/reopen")]
pub async fn reopen_month(
    state: web::Data<AppState>,
    operator: Operator,
    month: StatementMonth,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let month = month.checked(state.clock.today_berlin())?;
    let reopened = state
        .db
        .transaction(move |conn| {
            let reopened = repo::reopen(conn, month)?;
            audit::record(
                conn,
                &context,
                AuditAction::StatementsReopened,
                Some(&operator.account.id),
                None,
                Some(serde_json::json!({"month": format_month(month), "statements": reopened})),
            )?;
            Ok(reopened)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ReopenedMonth {
        month: format_month(month),
        reopened,
    }))
}
