//! The operator's side of statements: a month's overview, one line per contract, as a
//! page or as CSV for the billing system, and re-opening a month's final statements.

use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Operator};
use crate::contracts::types::SortOrder;
use crate::db::{DbConnection, PreparedSql};
use crate::domain::Cents;
use crate::domain::fold::{fold_number, storable};
use crate::domain::month::{format_month, last_of_month};
use crate::error::{AppError, Problem};
use crate::http::{ApiQuery, Page, PageQuery, Paging};
use crate::prices::{EmployerShare, MonthPrice};
use crate::state::AppState;
use crate::statements::files;
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

/// One line as the database gives it: a final statement (`final_line` 1), or a
/// contract's month as it stands, with the price that holds for its product.
#[derive(Debug, QueryableByName)]
struct LineRow {
    #[diesel(sql_type = Text)]
    contract_id: String,
    #[diesel(sql_type = Text)]
    contract_number: String,
    #[diesel(sql_type = Text)]
    company_name: String,
    #[diesel(sql_type = Text)]
    customer_number: String,
    #[diesel(sql_type = BigInt)]
    tickets: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    list_price: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    job_price: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    employer_cents: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    share_kind: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    share_value: Option<i64>,
    #[diesel(sql_type = Integer)]
    final_line: i32,
}

impl LineRow {
    fn into_row(self) -> Result<OverviewRow, AppError> {
        let share = EmployerShare::from_columns(self.share_kind.as_deref(), self.share_value)?;
        let price = match (self.list_price, self.job_price) {
            (Some(list), Some(job)) => {
                let mut price = MonthPrice::of(Cents(list), Cents(job), share);
                // A final statement keeps the amounts it was frozen with.
                if let Some(employer) = self.employer_cents {
                    price.employer_share = Cents(employer);
                    price.employee_share = Cents(job - employer);
                }
                Some(price)
            }
            _ => None,
        };
        Ok(OverviewRow {
            contract_id: self.contract_id,
            contract_number: self.contract_number,
            company_name: self.company_name,
            customer_number: self.customer_number,
            tickets: self.tickets,
            price,
            status: match self.final_line {
                0 => StatementStatus::Provisional,
                _ => StatementStatus::Final,
            },
        })
    }
}

/// The lines of a month in SQL: every final statement of the month, and every other
/// contract whose validity overlaps it, its tickets counted and with the price that
/// holds for its product. The database sorts and pages, so a page in the default order
/// costs its own rows rather than the whole list.
fn lines_sql(
    month: NaiveDate,
    customer_number: Option<&str>,
    order: (OverviewSort, SortOrder),
    paging: Option<Paging>,
) -> PreparedSql<'_> {
    let last = last_of_month(month);
    let mut sql = PreparedSql::new(
        "SELECT * FROM (SELECT c.id AS contract_id, c.contract_number, co.name AS company_name, \
         co.customer_number, (SELECT count(*) FROM subscriptions s \
         WHERE s.company_contract_id = c.id AND s.status <> 'requested' AND s.valid_from <= ",
    )
    .date(last)
    .sql(" AND (s.valid_to IS NULL OR s.valid_to >= ")
    .date(month)
    .sql(
        ")) AS tickets, p.list_price_cents AS list_price, \
         p.list_price_cents - (p.list_price_cents * p.job_discount_bp + 5000) / 10000 AS job_price, \
         NULL AS employer_cents, c.employer_share_kind AS share_kind, \
         c.employer_share_value AS share_value, 0 AS final_line \
         FROM company_contracts c JOIN companies co ON co.id = c.company_id \
         LEFT JOIN prices p ON p.product_offering = c.product_offering AND p.valid_from = \
         (SELECT max(p2.valid_from) FROM prices p2 \
         WHERE p2.product_offering = c.product_offering AND p2.valid_from <= ",
    )
    .date(month)
    .sql(") WHERE c.valid_from <= ")
    .date(last)
    .sql(" AND (c.valid_to IS NULL OR c.valid_to >= ")
    .date(month)
    .sql(") AND NOT EXISTS (SELECT 1 FROM statements f WHERE f.contract_id = c.id AND f.month = ")
    .date(month)
    .sql(")");
    if let Some(number) = customer_number {
        sql = sql.sql(" AND co.customer_number = ").text(number);
    }
    sql = sql
        .sql(
            " UNION ALL SELECT st.contract_id, st.contract_number, st.company_name, \
             st.customer_number, st.tickets, st.list_price_cents, st.job_price_cents, \
             st.employer_share_cents, st.employer_share_kind, st.employer_share_value, 1 \
             FROM statements st WHERE st.month = ",
        )
        .date(month);
    if let Some(number) = customer_number {
        sql = sql.sql(" AND st.customer_number = ").text(number);
    }
    let order_by = match order {
        (OverviewSort::ContractNumber, SortOrder::Asc) => {
            ") lines ORDER BY contract_number ASC, contract_id ASC"
        }
        (OverviewSort::ContractNumber, SortOrder::Desc) => {
            ") lines ORDER BY contract_number DESC, contract_id DESC"
        }
        (OverviewSort::CompanyName, SortOrder::Asc) => {
            ") lines ORDER BY company_name ASC, contract_id ASC"
        }
        (OverviewSort::CompanyName, SortOrder::Desc) => {
            ") lines ORDER BY company_name DESC, contract_id DESC"
        }
        (OverviewSort::Tickets, SortOrder::Asc) => ") lines ORDER BY tickets ASC, contract_id ASC",
        (OverviewSort::Tickets, SortOrder::Desc) => {
            ") lines ORDER BY tickets DESC, contract_id DESC"
        }
        (OverviewSort::Total, SortOrder::Asc) => {
            ") lines ORDER BY COALESCE(tickets * job_price, 0) ASC, contract_id ASC"
        }
        (OverviewSort::Total, SortOrder::Desc) => {
            ") lines ORDER BY COALESCE(tickets * job_price, 0) DESC, contract_id DESC"
        }
    };
    sql = sql.sql(order_by);
    if let Some(paging) = paging {
        sql = sql
            .sql(" LIMIT ")
            .big_integer(paging.limit())
            .sql(" OFFSET ")
            .big_integer(paging.offset());
    }
    sql
}

/// How many lines the month has: the contracts that overlap it without a final
/// statement, and the final statements.
fn count_lines(
    conn: &mut DbConnection,
    month: NaiveDate,
    customer_number: Option<&str>,
) -> Result<i64, AppError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        lines: i64,
    }
    let last = last_of_month(month);
    let mut sql = PreparedSql::new(
        "SELECT (SELECT count(*) FROM company_contracts c JOIN companies co \
         ON co.id = c.company_id WHERE c.valid_from <= ",
    )
    .date(last)
    .sql(" AND (c.valid_to IS NULL OR c.valid_to >= ")
    .date(month)
    .sql(") AND NOT EXISTS (SELECT 1 FROM statements f WHERE f.contract_id = c.id AND f.month = ")
    .date(month)
    .sql(")");
    if let Some(number) = customer_number {
        sql = sql.sql(" AND co.customer_number = ").text(number);
    }
    sql = sql
        .sql(") + (SELECT count(*) FROM statements st WHERE st.month = ")
        .date(month);
    if let Some(number) = customer_number {
        sql = sql.sql(" AND st.customer_number = ").text(number);
    }
    sql = sql.sql(") AS lines");
    let counted: Vec<Count> = match conn {
        DbConnection::Postgres(pg) => sql.load(pg)?,
        DbConnection::Sqlite(sqlite) => sql.load(sqlite)?,
    };
    Ok(counted.first().map_or(0, |c| c.lines))
}

/// The month's lines in the asked order, one page (`paging`) or all, and how many
/// there are.
pub fn lines(
    conn: &mut DbConnection,
    month: NaiveDate,
    customer_number: Option<&str>,
    order: (OverviewSort, SortOrder),
    paging: Option<Paging>,
) -> Result<(Vec<OverviewRow>, i64), AppError> {
    if customer_number.is_some_and(|c| !storable(c)) {
        return Ok((Vec::new(), 0));
    }
    let folded = customer_number.map(fold_number);
    let total = count_lines(conn, month, folded.as_deref())?;
    if paging.is_some_and(|p| p.offset() >= total) {
        return Ok((Vec::new(), total));
    }
    let sql = lines_sql(month, folded.as_deref(), order, paging);
    let rows: Vec<LineRow> = match conn {
        DbConnection::Postgres(pg) => sql.load(pg)?,
        DbConnection::Sqlite(sqlite) => sql.load(sqlite)?,
    };
    let rows = rows
        .into_iter()
        .map(LineRow::into_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, total))
}

/// A month's statements, one line per contract (operator).
///
/// Every contract whose validity overlaps the month, and every contract with a final
/// statement of it, with its tickets, totals and whether its statement is final. Lines of an ended month that
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
    bearer: Bearer<Operator>,
    month: StatementMonth,
    ApiQuery(query): ApiQuery<OverviewQuery>,
) -> Result<HttpResponse, AppError> {
    let month = month.checked(state.clock.today_berlin())?;
    let (filter, paging) = query.parse()?;
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, _operator| {
            lines(
                conn,
                month,
                filter.customer_number.as_deref(),
                (filter.sort, filter.order),
                Some(paging),
            )
        })
        .await?;
    let items = rows.into_iter().map(OverviewLine::from).collect();
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
    bearer: Bearer<Operator>,
    month: StatementMonth,
    ApiQuery(query): ApiQuery<OverviewFileQuery>,
) -> Result<HttpResponse, AppError> {
    let month = month.checked(state.clock.today_berlin())?;
    let number = query.customer_number.filter(|c| !c.trim().is_empty());
    let (rows, _) = state
        .db
        .read_as(bearer, move |conn, _operator| {
            lines(
                conn,
                month,
                number.as_deref(),
                (OverviewSort::ContractNumber, SortOrder::Asc),
                None,
            )
        })
        .await?;
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
