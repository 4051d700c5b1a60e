//! The company portal's statement routes: a contract's month as a page, as CSV and as
//! Excel, for the contract's company users and operators.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, get, web};
use chrono::NaiveDate;

use crate::auth::{Bearer, Subscriber};
use crate::contracts::portal::visible_contract;
use crate::db::DbConnection;
use crate::domain::month::{MAX_MONTHS_AHEAD, format_month, months_after, parse_month};
use crate::error::{AppError, FieldError, FieldErrorCode, Problem};
use crate::http::{ApiQuery, PageQuery, RecordId, TotalRelation};
use crate::state::AppState;
use crate::statements::files;
use crate::statements::freezing::{self, StatementHead};
use crate::statements::repo::{self, ItemRow};
use crate::statements::types::*;

/// The `{month}` of a statement's path, `YYYY-MM`.
#[derive(Debug, Clone)]
pub struct StatementMonth(String);

impl FromRequest for StatementMonth {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(StatementMonth(
            req.match_info()
                .get("month")
                .unwrap_or_default()
                .to_string(),
        )))
    }
}

impl StatementMonth {
    /// The month's 1st: `invalid_month` unless `YYYY-MM`, `too_far_ahead` beyond 12
    /// months after today's.
    pub fn checked(&self, today: NaiveDate) -> Result<NaiveDate, AppError> {
        let raw = self.0.as_str();
        if raw.len() != 7 || raw.as_bytes().get(4) != Some(&b'-') {
            return Err(FieldError::new("/month", FieldErrorCode::InvalidMonth).into());
        }
        let month = parse_month(raw, "/month")?;
        if month > months_after(today, MAX_MONTHS_AHEAD) {
            return Err(FieldError::new("/month", FieldErrorCode::TooFarAhead).into());
        }
        Ok(month)
    }
}

/// The contract's statement head for `month`, frozen first when the month has ended, and
/// what `with_head` reads for it. The principal's session, the head and `with_head` share
/// one connection, except on the first request after a month has ended, which freezes
/// the statement in a transaction of its own first.
async fn head<T, F>(
    state: &AppState,
    bearer: Bearer<Subscriber>,
    id: String,
    month: NaiveDate,
    with_head: F,
) -> Result<(StatementHead, T), AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, &StatementHead) -> Result<T, AppError> + Send + 'static,
{
    let today = state.clock.today_berlin();
    let now = state.clock.now();
    let id_for_read = id.clone();
    let read = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            let (contract, _) = visible_contract(conn, &subscriber.account, &id_for_read)?;
            match freezing::read_statement(conn, &contract, month, today)? {
                Some(head) => {
                    let read = with_head(conn, &head)?;
                    Ok(Ok((head, read)))
                }
                None => Ok(Err((subscriber.account, with_head))),
            }
        })
        .await?;
    let (account, with_head) = match read {
        Ok(found) => return Ok(found),
        Err(to_freeze) => to_freeze,
    };
    let head = state
        .db
        .transaction(move |conn| {
            let (contract, _) = visible_contract(conn, &account, &id)?;
            freezing::statement(conn, &contract, month, today, now)
        })
        .await?;
    state
        .db
        .read(move |conn| {
            let read = with_head(conn, &head)?;
            Ok((head, read))
        })
        .await
}

fn item(head: &StatementHead, row: ItemRow) -> Result<StatementItem, AppError> {
    let (job_price, employer_share, employee_share) = item_amounts(head.price);
    Ok(StatementItem {
        status: row
            .status
            .parse()
            .map_err(|_| AppError::Internal(format!("stored status {}", row.status)))?,
        subscription_id: row.subscription_id,
        contract_number: row.contract_number,
        personnel_number: row.personnel_number,
        first_name: row.first_name,
        last_name: row.last_name,
        valid_from: row.valid_from,
        valid_to: row.valid_to,
        job_price,
        employer_share,
        employee_share,
    })
}

/// A contract's monthly statement (Abrechnung).
///
/// Every ticket whose validity overlaps the month, whatever its status except
/// `requested`, with the month's price and the employer's and employee's shares — no
/// birth date, address or phone. `provisional` until the month has ended (Europe/Berlin);
/// the first request after that freezes it (`final`), and later corrections of tickets
/// never change it. `items` are paged and sorted like the contract's ticket list (default
/// `last_name`, then `first_name`); `tickets` and `totals` cover the whole month. Months
/// up to 12 ahead answer as `provisional`. For the contract's company users and
/// operators.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"),
        ("month" = String, Path, description = "The month, `YYYY-MM`", pattern = r"^[0-9]{4}-[0-9]{2}$", example = "2026-11"),
        StatementQuery,
        PageQuery
    ),
    responses(
        (status = 200, description = "The statement with one page of its tickets", body = Statement),
        (status = 404, description = "No such contract, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No price holds for the contract's product in the month (`price_missing`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed month (`invalid_month`), one more than 12 months ahead (`too_far_ahead`), an unknown `sort` or `order`, or invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{id}/statements/{month}")]
pub async fn get_statement(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
    month: StatementMonth,
    ApiQuery(query): ApiQuery<StatementQuery>,
) -> Result<HttpResponse, AppError> {
    let month = month.checked(state.clock.today_berlin())?;
    let (order, paging) = query.parse()?;
    let (head, rows) = head(&state, bearer, id.into_inner(), month, move |conn, head| {
        if paging.offset() >= head.tickets {
            return Ok(Vec::new());
        }
        repo::items(conn, &head.items, order, paging)
    })
    .await?;
    let items = rows
        .into_iter()
        .map(|row| item(&head, row))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(Statement {
        contract: head.contract.clone(),
        month: format_month(head.month),
        price: head.price.into(),
        employer_share_set: head
            .employer_share
            .map(crate::contracts::types::EmployerShareBody::from),
        share_below_minimum: head.price.share_below_minimum,
        tickets: head.tickets,
        totals: StatementTotals::of(head.price, head.tickets),
        status: head.status,
        final_at: head.final_at.map(|at| at.and_utc()),
        items,
        total: head.tickets,
        page: paging.page,
        per_page: paging.per_page,
        total_relation: TotalRelation::Eq,
    }))
}

fn attachment(file_name: &str) -> (&'static str, String) {
    (
        "Content-Disposition",
        format!("attachment; filename=\"{file_name}\""),
    )
}

/// A contract's monthly statement as CSV.
///
/// As German spreadsheets read it: UTF-8 with BOM, `;`-separated, decimal comma, German
/// headers (`Vertragsnummer;Personalnummer;Vorname;Nachname;Gültig ab;Gültig bis;Status;Jobticketpreis;Arbeitgeberanteil;Arbeitnehmeranteil`),
/// sorted by name, and a totals line. A text cell that a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) starts with `'`.
/// Streamed; `Content-Disposition` names the contract and the month. Freezes an ended
/// month like the statement itself.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"),
        ("month" = String, Path, description = "The month, `YYYY-MM`", pattern = r"^[0-9]{4}-[0-9]{2}$", example = "2026-11"),
    ),
    responses(
        (status = 200, description = "The statement as CSV", content_type = "text/csv", body = String, example = "\u{feff}Vertragsnummer;Personalnummer;Vorname;Nachname;Gültig ab;Gültig bis;Status;Jobticketpreis;Arbeitgeberanteil;Arbeitnehmeranteil\r\n431177;P-4711;Max;Musterjobber;01.01.2026;;aktiv;59,85;31,50;28,35\r\nSumme (1 Tickets);;;;;;;59,85;31,50;28,35\r\n"),
        (status = 404, description = "No such contract, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No price holds for the contract's product in the month (`price_missing`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed month (`invalid_month`) or one more than 12 months ahead (`too_far_ahead`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{id}/statements/{month}.csv")]
pub async fn get_statement_csv(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
    month: StatementMonth,
) -> Result<HttpResponse, AppError> {
    let month = month.checked(state.clock.today_berlin())?;
    let (head, ()) = head(&state, bearer, id.into_inner(), month, |_, _| Ok(())).await?;
    let name = files::file_name("Abrechnung", &head.contract.contract_number, month, "csv");
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(attachment(&name))
        .streaming(files::statement_csv(state.db.clone(), head)))
}

/// A contract's monthly statement as Excel.
///
/// One sheet with German headers, sorted by name: amounts as numbers in a euro currency
/// format, dates as dates, a totals row. A text cell that looks like a formula is
/// stored as text with Excel's quote prefix. `Content-Disposition` names the contract
/// and the month. Freezes an ended month like the statement itself.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"),
        ("month" = String, Path, description = "The month, `YYYY-MM`", pattern = r"^[0-9]{4}-[0-9]{2}$", example = "2026-11"),
    ),
    responses(
        (status = 200, description = "The statement as an Excel workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 404, description = "No such contract, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No price holds for the contract's product in the month (`price_missing`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed month (`invalid_month`) or one more than 12 months ahead (`too_far_ahead`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{id}/statements/{month}.xlsx")]
pub async fn get_statement_xlsx(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
    month: StatementMonth,
) -> Result<HttpResponse, AppError> {
    let month = month.checked(state.clock.today_berlin())?;
    let (head, body) = head(&state, bearer, id.into_inner(), month, |conn, head| {
        files::statement_xlsx(conn, head)
    })
    .await?;
    let name = files::file_name("Abrechnung", &head.contract.contract_number, month, "xlsx");
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header(attachment(&name))
        .body(body))
}
