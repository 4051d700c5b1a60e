//! Statements as files for payroll and billing: CSV as German spreadsheets read it
//! (UTF-8 with BOM, `;`, decimal comma, German headers, a totals line) and Excel (numbers
//! in a currency format, dates as dates, a totals row). No text cell can run as a
//! formula: personnel numbers and names come from staff lists.

use actix_web::web::Bytes;
use chrono::{Datelike, NaiveDate};
use futures_util::Stream;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use crate::db::DbPool;
use crate::domain::Cents;
use crate::domain::date::german;
use crate::domain::month::format_month;
use crate::error::AppError;
use crate::http::Paging;
use crate::statements::freezing::StatementHead;
use crate::statements::overview::OverviewRow;
use crate::statements::repo::{self, ItemRow};
use crate::statements::types::{ItemOrder, StatementStatus};
use crate::subscriptions::types::SubscriptionStatus;

/// Rows fetched at a time while a file streams: each fetch sorts the month's tickets
/// anew, so a contract of up to this many is one query.
const ROWS_PER_FETCH: i64 = 10_000;

const ITEM_HEADERS: [&str; 10] = [
    "Vertragsnummer",
    "Personalnummer",
    "Vorname",
    "Nachname",
    "Gültig ab",
    "Gültig bis",
    "Status",
    "Jobticketpreis",
    "Arbeitgeberanteil",
    "Arbeitnehmeranteil",
];

const OVERVIEW_HEADERS: [&str; 8] = [
    "Vertragsnummer",
    "Firma",
    "Kundennummer",
    "Tickets",
    "Jobticketpreis",
    "Arbeitgeberanteil",
    "Arbeitnehmeranteil",
    "Status",
];

/// Whether a spreadsheet would read a cell starting like this as a formula (OWASP's
/// list: `=`, `+`, `-`, `@`, tab, carriage return).
pub fn looks_like_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// A text cell for CSV: one that looks like a formula gets a leading `'`, which
/// spreadsheets show as text and never evaluate.
pub fn csv_text(text: &str) -> String {
    if looks_like_formula(text) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// `Abrechnung_FV-2023-0815_2026-11.csv`: only letters, digits and `-` of the contract
/// number, so the name is safe in a header and on every file system.
pub fn file_name(prefix: &str, contract_number: &str, month: NaiveDate, extension: &str) -> String {
    let number: String = contract_number
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}_{number}_{}.{extension}", format_month(month))
}

fn status_de(stored: &str) -> &'static str {
    match stored.parse::<SubscriptionStatus>() {
        Ok(SubscriptionStatus::Requested) => "beantragt",
        Ok(SubscriptionStatus::Active) => "aktiv",
        Ok(SubscriptionStatus::Paused) => "pausiert",
        Ok(SubscriptionStatus::Cancelled) => "gekündigt",
        Ok(SubscriptionStatus::Blocked) => "gesperrt",
        Ok(SubscriptionStatus::Ended) => "beendet",
        Err(_) => "",
    }
}

fn statement_status_de(status: StatementStatus) -> &'static str {
    match status {
        StatementStatus::Provisional => "vorläufig",
        StatementStatus::Final => "abgeschlossen",
    }
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

fn csv_bytes(writer: csv::Writer<Vec<u8>>) -> Result<Bytes, AppError> {
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| AppError::Internal(format!("writing CSV: {e}")))
}

fn csv_error(error: csv::Error) -> AppError {
    AppError::Internal(format!("writing CSV: {error}"))
}

fn item_record(head: &StatementHead, item: &ItemRow) -> [String; 10] {
    [
        csv_text(&item.contract_number),
        csv_text(item.personnel_number.as_deref().unwrap_or_default()),
        csv_text(&item.first_name),
        csv_text(&item.last_name),
        german(item.valid_from),
        item.valid_to.map(german).unwrap_or_default(),
        status_de(&item.status).to_string(),
        head.price.job_price.german(),
        head.price.employer_share.german(),
        head.price.employee_share.german(),
    ]
}

/// The statement as CSV, fetched and sent [`ROWS_PER_FETCH`] rows at a time.
pub fn statement_csv(
    db: DbPool,
    head: StatementHead,
) -> impl Stream<Item = Result<Bytes, AppError>> {
    enum Step {
        Header,
        Page(i64),
        Totals,
        Done,
    }
    futures_util::stream::unfold(Step::Header, move |step| {
        let (db, head) = (db.clone(), head.clone());
        async move {
            match step {
                Step::Header => {
                    let mut writer = csv_writer();
                    let header = writer.write_record(ITEM_HEADERS).map_err(csv_error);
                    let bytes = header.and_then(|()| csv_bytes(writer)).map(|bytes| {
                        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
                        with_bom.extend_from_slice(&bytes);
                        Bytes::from(with_bom)
                    });
                    Some((bytes, Step::Page(1)))
                }
                Step::Page(page) => {
                    let source = head.items.clone();
                    let paging = Paging {
                        page,
                        per_page: ROWS_PER_FETCH,
                    };
                    let rows = db
                        .read(move |conn| repo::items(conn, &source, ItemOrder::BY_NAME, paging))
                        .await;
                    let rows = match rows {
                        Ok(rows) => rows,
                        Err(error) => return Some((Err(error), Step::Done)),
                    };
                    // Done when the page is short or the month's count is reached.
                    let fetched = (page - 1) * ROWS_PER_FETCH + rows.len() as i64;
                    let next = if (rows.len() as i64) < ROWS_PER_FETCH || fetched >= head.tickets {
                        Step::Totals
                    } else {
                        Step::Page(page + 1)
                    };
                    let mut writer = csv_writer();
                    for item in &rows {
                        if let Err(error) = writer.write_record(item_record(&head, item)) {
                            return Some((Err(csv_error(error)), Step::Done));
                        }
                    }
                    Some((csv_bytes(writer), next))
                }
                Step::Totals => {
                    let tickets = head.tickets;
                    let mut writer = csv_writer();
                    let totals = writer
                        .write_record([
                            format!("Summe ({tickets} Tickets)"),
                            String::new(),
                            String::new(),
                            String::new(),
                            String::new(),
                            String::new(),
                            String::new(),
                            head.price.job_price.times(tickets).german(),
                            head.price.employer_share.times(tickets).german(),
                            head.price.employee_share.times(tickets).german(),
                        ])
                        .map_err(csv_error);
                    Some((totals.and_then(|()| csv_bytes(writer)), Step::Done))
                }
                Step::Done => None,
            }
        }
    })
}

fn excel_error(error: XlsxError) -> AppError {
    AppError::Internal(format!("writing the workbook: {error}"))
}

fn excel_date(date: NaiveDate) -> Result<ExcelDateTime, AppError> {
    let narrow = |n: u32| u8::try_from(n).map_err(|e| AppError::Internal(e.to_string()));
    let year = u16::try_from(date.year()).map_err(|e| AppError::Internal(e.to_string()))?;
    ExcelDateTime::from_ymd(year, narrow(date.month())?, narrow(date.day())?).map_err(excel_error)
}

/// The statement as an Excel workbook: one sheet, German headers, amounts in euros,
/// dates as dates, a totals row. Runs on a blocking thread (`conn` is held throughout).
pub fn statement_xlsx(
    conn: &mut crate::db::DbConnection,
    head: &StatementHead,
) -> Result<Vec<u8>, AppError> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let euros = Format::new().set_num_format("#,##0.00 \"€\"");
    let bold_euros = Format::new().set_bold().set_num_format("#,##0.00 \"€\"");
    let day = Format::new().set_num_format("dd.mm.yyyy");
    let quoted = Format::new().set_quote_prefix();
    let sheet = workbook.add_worksheet();
    sheet
        .set_name(format!("Abrechnung {}", format_month(head.month)))
        .map_err(excel_error)?;
    for (column, header) in (0u16..).zip(ITEM_HEADERS) {
        sheet
            .write_string_with_format(0, column, header, &bold)
            .map_err(excel_error)?;
        sheet.set_column_width(column, 16).map_err(excel_error)?;
    }
    let text = |row: u32, column: u16, value: &str, sheet: &mut rust_xlsxwriter::Worksheet| {
        // A string cell is never evaluated; the quote prefix keeps it text when edited.
        match looks_like_formula(value) {
            true => sheet.write_string_with_format(row, column, value, &quoted),
            false => sheet.write_string(row, column, value),
        }
        .map(|_| ())
        .map_err(excel_error)
    };
    let mut row = 1u32;
    let mut page = 1;
    loop {
        let paging = Paging {
            page,
            per_page: ROWS_PER_FETCH,
        };
        let items = repo::items(conn, &head.items, ItemOrder::BY_NAME, paging)?;
        for item in &items {
            text(row, 0, &item.contract_number, sheet)?;
            text(
                row,
                1,
                item.personnel_number.as_deref().unwrap_or_default(),
                sheet,
            )?;
            text(row, 2, &item.first_name, sheet)?;
            text(row, 3, &item.last_name, sheet)?;
            sheet
                .write_datetime_with_format(row, 4, excel_date(item.valid_from)?, &day)
                .map_err(excel_error)?;
            if let Some(to) = item.valid_to {
                sheet
                    .write_datetime_with_format(row, 5, excel_date(to)?, &day)
                    .map_err(excel_error)?;
            }
            text(row, 6, status_de(&item.status), sheet)?;
            for (column, amount) in [
                (7, head.price.job_price),
                (8, head.price.employer_share),
                (9, head.price.employee_share),
            ] {
                sheet
                    .write_number_with_format(row, column, amount.euros(), &euros)
                    .map_err(excel_error)?;
            }
            row += 1;
        }
        if (items.len() as i64) < ROWS_PER_FETCH || i64::from(row - 1) >= head.tickets {
            break;
        }
        page += 1;
    }
    let tickets = head.tickets;
    sheet
        .write_string_with_format(row, 0, format!("Summe ({tickets} Tickets)"), &bold)
        .map_err(excel_error)?;
    for (column, amount) in [
        (7, head.price.job_price),
        (8, head.price.employer_share),
        (9, head.price.employee_share),
    ] {
        sheet
            .write_number_with_format(row, column, amount.times(tickets).euros(), &bold_euros)
            .map_err(excel_error)?;
    }
    workbook.save_to_buffer().map_err(excel_error)
}

/// The month overview as CSV for the billing system, with a totals line.
pub fn overview_csv(lines: &[OverviewRow]) -> Result<Vec<u8>, AppError> {
    let mut writer = csv_writer();
    writer.write_record(OVERVIEW_HEADERS).map_err(csv_error)?;
    let mut sums = [Cents(0); 3];
    let mut tickets = 0;
    for line in lines {
        tickets += line.tickets;
        let amounts = match line.price {
            Some(price) => {
                let parts = [price.job_price, price.employer_share, price.employee_share]
                    .map(|amount| amount.times(line.tickets));
                for (sum, part) in sums.iter_mut().zip(parts) {
                    sum.0 += part.0;
                }
                parts.map(Cents::german)
            }
            None => [String::new(), String::new(), String::new()],
        };
        let [job, employer, employee] = amounts;
        writer
            .write_record([
                csv_text(&line.contract_number),
                csv_text(&line.company_name),
                csv_text(&line.customer_number),
                line.tickets.to_string(),
                job,
                employer,
                employee,
                statement_status_de(line.status).to_string(),
            ])
            .map_err(csv_error)?;
    }
    let [job, employer, employee] = sums.map(Cents::german);
    writer
        .write_record([
            "Summe".to_string(),
            String::new(),
            String::new(),
            tickets.to_string(),
            job,
            employer,
            employee,
            String::new(),
        ])
        .map_err(csv_error)?;
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(&csv_bytes(writer)?);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_formula_start_is_quoted_and_nothing_else() {
        for dangerous in ["=1+2", "+49", "-5", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(csv_text(dangerous), format!("'{dangerous}"));
        }
        for harmless in ["P-4711", "Müller", "4711", " =x", ""] {
            assert_eq!(csv_text(harmless), harmless);
        }
    }

    #[test]
    fn file_names_keep_letters_digits_and_dashes() {
        let month = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(
            file_name("Abrechnung", "FV-2023/08.15", month, "csv"),
            "Abrechnung_FV-2023_08_15_2026-11.csv"
        );
    }
}
