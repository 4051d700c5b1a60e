//! `firmenportal import companies|contracts|customers|subscriptions FILE`: loads the
//! operator's data from CSV (UTF-8 with or without BOM, `,` or `;`, a header row whose
//! columns are named like the JSON fields, nested ones flattened as `address_street`,
//! references by natural key, dates `YYYY-MM-DD` or `TT.MM.JJJJ`).
//!
//! Every row is checked by the same parsing as the API. Rows go to the database in
//! batches, each parsed while the one before is written. One query finds which natural
//! keys exist; new rows go in at once (on PostgreSQL a binary `COPY` for the big files,
//! customers and subscriptions, a multi-row `INSERT` for the others), changed ones are
//! updated one by one, unchanged ones not touched, so importing a file twice changes
//! nothing the second time. A batch the database refuses
//! (a number another row already holds) is retried row by row under savepoints, so each
//! row is applied or rejected as a whole.

mod kinds;
mod report;

use std::collections::HashMap;

use crate::db::{DbConnection, DbPool, write_transaction};
use crate::error::AppError;

pub use report::{ImportReport, RejectedRow};

/// Rows per transaction and per `COPY` or multi-row `INSERT`.
const BATCH_ROWS: usize = 1000;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    Companies,
    Contracts,
    Customers,
    Subscriptions,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Check and report every row, change nothing.
    pub dry_run: bool,
}

/// One data row: its line in the file and its cells by column name.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub cells: HashMap<String, String>,
}

impl Row {
    /// The cell of a column; an empty cell counts as absent.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.cells
            .get(column)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

/// A file that cannot be read as a whole (no row is imported then).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line 1: unknown column {0:?} (allowed: {1})")]
    UnknownColumn(String, String),
    #[error("line {line}: {reason}")]
    Unreadable { line: u64, reason: String },
    #[error(transparent)]
    App(#[from] AppError),
}

pub async fn import(
    db: &DbPool,
    kind: ImportKind,
    bytes: &[u8],
    options: ImportOptions,
) -> Result<ImportReport, ImportError> {
    // The whole file is read once before anything is written, so a broken line
    // refuses the file rather than half of it; then it is read again batch by batch,
    // so memory holds one batch of rows and not the operator's full data set.
    let headers = check_file(bytes, kinds::columns(kind))?;
    let mut lines = LineCounter::new(strip_bom(bytes));
    let mut records = reader(bytes).into_records();
    let mut report = ImportReport::default();
    // While one batch is written, the next is read and parsed: the parsing runs on this
    // machine's other core instead of waiting for the database. Parsing looks up
    // references and needs a connection of its own; SQLite's pool has one, so there the
    // batches take turns.
    let pipelined = db.max_size() > 1;
    let mut writing: Option<tokio::task::JoinHandle<Result<ImportReport, AppError>>> = None;
    loop {
        let mut batch = Vec::with_capacity(BATCH_ROWS);
        for record in records.by_ref().take(BATCH_ROWS) {
            let record = record.map_err(unreadable)?;
            let line = lines.line_of(record.position());
            let cells = headers
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_string))
                .collect();
            batch.push(Row { line, cells });
        }
        if batch.is_empty() {
            break;
        }
        if !pipelined && let Some(previous) = writing.take() {
            report.merge(finished(previous).await?);
        }
        let (parsed, rejected) = db
            .run(move |conn| {
                let mut report = ImportReport::default();
                let parsed = kinds::parse(conn, kind, &batch, &mut report)?;
                Ok((parsed, report))
            })
            .await?;
        report.merge(rejected);
        if let Some(previous) = writing.take() {
            report.merge(finished(previous).await?);
        }
        let db = db.clone();
        writing = Some(tokio::spawn(async move {
            write_batch(&db, parsed, options).await
        }));
    }
    if let Some(last) = writing {
        report.merge(finished(last).await?);
    }
    // Rows refused by the database come after the batch's parse errors; the report
    // goes by line.
    report.rejected_rows.sort_by_key(|row| row.line);
    Ok(report)
}

async fn finished(
    writing: tokio::task::JoinHandle<Result<ImportReport, AppError>>,
) -> Result<ImportReport, AppError> {
    writing
        .await
        .map_err(|join| AppError::Internal(format!("import batch failed: {join}")))?
}

/// Writes one parsed batch in its own transaction (rolled back in a dry run).
async fn write_batch(
    db: &DbPool,
    parsed: kinds::Parsed,
    options: ImportOptions,
) -> Result<ImportReport, AppError> {
    db.run(move |conn| {
        let mut report = ImportReport::default();
        let applied = write_transaction(conn, |conn| {
            kinds::write(conn, parsed, &mut report)?;
            if options.dry_run {
                // A dry run does everything and rolls it back: its report is exactly
                // what the import would do.
                return Err(diesel::result::Error::RollbackTransaction.into());
            }
            Ok(())
        });
        match applied {
            Ok(()) => Ok(report),
            Err(AppError::Database(diesel::result::Error::RollbackTransaction))
                if options.dry_run =>
            {
                Ok(report)
            }
            Err(error) => Err(error),
        }
    })
    .await
}

/// A CSV reader over the file: BOM dropped, `;` or `,` as the header line uses.
fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    let bytes = strip_bom(bytes);
    let header_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let semicolons = header_line.iter().filter(|b| **b == b';').count();
    let commas = header_line.iter().filter(|b| **b == b',').count();
    let delimiter = if semicolons > commas { b';' } else { b',' };
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(bytes)
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn unreadable(error: csv::Error) -> ImportError {
    ImportError::Unreadable {
        line: error.position().map_or(1, |p| p.line()),
        reason: error.to_string(),
    }
}

/// The file's column names (checked against `allowed`), once every line has been read
/// as CSV in UTF-8 with as many cells as the header.
fn check_file(bytes: &[u8], allowed: &[&str]) -> Result<Vec<String>, ImportError> {
    let mut reader = reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(unreadable)?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if let Some(unknown) = headers.iter().find(|h| !allowed.contains(&h.as_str())) {
        return Err(ImportError::UnknownColumn(
            unknown.clone(),
            allowed.join(", "),
        ));
    }
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(unreadable)? {}
    Ok(headers)
}

/// The line of each record of a CSV file, counted as the records go by (they come in
/// order), with no index of the whole file. A record's offset may lie on the line ending
/// before it (the `\n` of a CRLF line end, or blank lines the reader skipped), so the
/// record's line is the one of its first byte that ends no line. The header is line 1.
pub struct LineCounter<'a> {
    bytes: &'a [u8],
    counted_to: usize,
    newlines: u64,
}

impl<'a> LineCounter<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            counted_to: 0,
            newlines: 0,
        }
    }

    pub fn line_of(&mut self, position: Option<&csv::Position>) -> u64 {
        let byte = position.map_or(0, csv::Position::byte);
        let mut start = usize::try_from(byte)
            .unwrap_or(self.bytes.len())
            .clamp(self.counted_to, self.bytes.len());
        while self
            .bytes
            .get(start)
            .is_some_and(|b| matches!(b, b'\r' | b'\n'))
        {
            start += 1;
        }
        self.newlines += self.bytes[self.counted_to..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        self.counted_to = start;
        self.newlines + 1
    }
}

/// Runs `work` under a savepoint: its writes stay only if it succeeds.
fn savepoint<R>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<R, AppError>,
) -> Result<R, AppError> {
    use diesel::Connection;
    conn.transaction(work)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_numbered_by_their_line_with_lf_and_with_crlf() {
        for text in ["a;b\n1;2\n3;4\n", "a;b\r\n1;2\r\n3;4\r\n"] {
            let mut lines = LineCounter::new(text.as_bytes());
            let found: Vec<u64> = reader(text.as_bytes())
                .into_records()
                .map(|record| lines.line_of(record.unwrap().position()))
                .collect();
            assert_eq!(found, [2, 3], "{text:?}");
        }
        // A blank line between records counts, with either line end.
        for text in ["a;b\n1;2\n\n3;4\n", "a;b\r\n1;2\r\n\r\n3;4\r\n"] {
            let mut lines = LineCounter::new(text.as_bytes());
            let found: Vec<u64> = reader(text.as_bytes())
                .into_records()
                .map(|record| lines.line_of(record.unwrap().position()))
                .collect();
            assert_eq!(found, [2, 4], "{text:?}");
        }
    }
}
