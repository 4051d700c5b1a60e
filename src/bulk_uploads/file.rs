//! Reading a staff list: CSV (UTF-8 with or without BOM, `,` or `;`, a header row) or
//! Excel `.xlsx` (its first sheet), told apart by their content, never by the file's
//! name. Headers may be English or German; Excel date cells are taken as dates.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use crate::error::{AppError, FieldError, FieldErrorCode};
use crate::http::problems::HttpProblem;

/// A column of a staff list, with its English (canonical) and German header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumIter)]
pub enum Column {
    PersonnelNumber,
    Salutation,
    Gender,
    FirstName,
    LastName,
    BirthDate,
    Street,
    PostalCode,
    City,
    Country,
    Email,
    StartMonth,
}

impl Column {
    pub const fn name(self) -> &'static str {
        match self {
            Column::PersonnelNumber => "personnel_number",
            Column::Salutation => "salutation",
            Column::Gender => "gender",
            Column::FirstName => "first_name",
            Column::LastName => "last_name",
            Column::BirthDate => "birth_date",
            Column::Street => "street",
            Column::PostalCode => "postal_code",
            Column::City => "city",
            Column::Country => "country",
            Column::Email => "email",
            Column::StartMonth => "start_month",
        }
    }

    pub const fn german(self) -> &'static str {
        match self {
            Column::PersonnelNumber => "Personalnummer",
            Column::Salutation => "Anrede",
            Column::Gender => "Geschlecht",
            Column::FirstName => "Vorname",
            Column::LastName => "Nachname",
            Column::BirthDate => "Geburtsdatum",
            Column::Street => "Straße",
            Column::PostalCode => "PLZ",
            Column::City => "Ort",
            Column::Country => "Land",
            Column::Email => "E-Mail",
            Column::StartMonth => "Startmonat",
        }
    }

    /// Whether a file may leave the column out (`personnel_number` empty, `gender`
    /// `unspecified`, `country` `DE`).
    pub const fn optional(self) -> bool {
        matches!(
            self,
            Column::PersonnelNumber | Column::Gender | Column::Country
        )
    }

    /// The column a header names, in either language; case, spaces, dashes and
    /// underscores do not matter (`E-Mail`, `email`, `Start Month`).
    fn of_header(header: &str) -> Option<Column> {
        let key = |s: &str| -> String {
            crate::domain::fold::fold_text(s)
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect()
        };
        let wanted = key(header);
        <Column as strum::IntoEnumIterator>::iter()
            .find(|column| key(column.name()) == wanted || key(column.german()) == wanted)
    }
}

/// One data row: its line in the file (or row of the sheet; the header is 1) and its
/// cells by column, as text.
#[derive(Debug, Clone)]
pub struct SheetRow {
    pub row: u64,
    pub cells: HashMap<Column, String>,
}

impl SheetRow {
    /// The trimmed cell, `None` when empty or the column is absent.
    pub fn get(&self, column: Column) -> Option<&str> {
        self.cells
            .get(&column)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// The data rows of a file, or why it cannot be read: another type (`415`), missing
/// columns (`422 missing_columns`, each at `/file/{column}`), more than `max_rows`
/// (`422 too_many_rows`).
pub fn read(bytes: &[u8], max_rows: usize) -> Result<Vec<SheetRow>, AppError> {
    let (headers, rows) = if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)?
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        read_csv(text)?
    } else {
        return Err(HttpProblem::UnsupportedMediaType.into());
    };
    let columns: Vec<Option<Column>> = headers.iter().map(|h| Column::of_header(h)).collect();
    let missing: Vec<FieldError> = <Column as strum::IntoEnumIterator>::iter()
        .filter(|column| !column.optional() && !columns.contains(&Some(*column)))
        .map(|column| {
            FieldError::new(
                format!("/file/{}", column.name()),
                FieldErrorCode::MissingColumn,
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(AppError::ProblemAt {
            problem: super::BulkUploadProblem::MissingColumns.spec(),
            fields: missing,
        });
    }
    let rows: Vec<SheetRow> = rows
        .into_iter()
        .filter(|(_, cells)| cells.iter().any(|cell| !cell.trim().is_empty()))
        .map(|(row, cells)| SheetRow {
            row,
            cells: columns
                .iter()
                .zip(cells)
                .filter_map(|(column, cell)| column.map(|column| (column, cell)))
                .collect(),
        })
        .collect();
    if rows.len() > max_rows {
        return Err(super::BulkUploadProblem::TooManyRows.into());
    }
    Ok(rows)
}

type Table = (Vec<String>, Vec<(u64, Vec<String>)>);

fn read_csv(text: &str) -> Result<Table, AppError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let header_line = text.lines().next().unwrap_or_default();
    let delimiter = if header_line.matches(';').count() > header_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|_| AppError::from(HttpProblem::UnsupportedMediaType))?
        .iter()
        .map(str::to_string)
        .collect();
    let lines = crate::import::LineIndex::new(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|_| AppError::from(HttpProblem::UnsupportedMediaType))?;
        let line = lines.line_of(record.position());
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok((headers, rows))
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, AppError> {
    let unreadable = |_| AppError::from(HttpProblem::UnsupportedMediaType);
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| AppError::from(HttpProblem::UnsupportedMediaType))?
        .map_err(unreadable)?;
    let first_row = u64::from(range.start().map_or(0, |(row, _)| row));
    let mut rows = range.rows().enumerate();
    let headers: Vec<String> = match rows.next() {
        Some((_, cells)) => cells.iter().map(|cell| text_of(cell, None)).collect(),
        None => Vec::new(),
    };
    let columns: Vec<Option<Column>> = headers.iter().map(|h| Column::of_header(h)).collect();
    let rows = rows
        .map(|(index, cells)| {
            let texts = cells
                .iter()
                .enumerate()
                .map(|(i, cell)| text_of(cell, columns.get(i).copied().flatten()))
                .collect();
            // Sheet rows count from 1; the range may start below the sheet's first row.
            (first_row + index as u64 + 1, texts)
        })
        .collect();
    Ok((headers, rows))
}

/// A cell as the text a CSV would hold: a date cell as `YYYY-MM-DD` (as `YYYY-MM` in
/// the start month), a whole number without decimals (postal codes, personnel numbers).
fn text_of(cell: &Data, column: Option<Column>) -> String {
    use calamine::DataType;
    match cell {
        Data::Empty => String::new(),
        Data::String(text) => text.clone(),
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(_) | Data::DateTimeIso(_) => match cell.as_date() {
            Some(date) if column == Some(Column::StartMonth) => date.format("%Y-%m").to_string(),
            Some(date) => date.to_string(),
            None => cell.to_string(),
        },
        other => other.to_string(),
    }
}

/// The empty template as CSV: the German headers, `;`-separated, with a BOM, as a
/// German spreadsheet program writes and reads it.
pub fn template_csv() -> Vec<u8> {
    let headers: Vec<&str> = <Column as strum::IntoEnumIterator>::iter()
        .map(Column::german)
        .collect();
    format!("\u{feff}{}\r\n", headers.join(";")).into_bytes()
}

/// The empty template as Excel: the German headers in bold on the first sheet.
pub fn template_xlsx() -> Result<Vec<u8>, AppError> {
    let internal = |e: rust_xlsxwriter::XlsxError| AppError::Internal(e.to_string());
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Mitarbeitende").map_err(internal)?;
    for (index, column) in <Column as strum::IntoEnumIterator>::iter().enumerate() {
        let index = u16::try_from(index).map_err(|e| AppError::Internal(e.to_string()))?;
        sheet
            .write_string_with_format(0, index, column.german(), &bold)
            .map_err(internal)?;
        sheet.set_column_width(index, 18).map_err(internal)?;
    }
    workbook.save_to_buffer().map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_recognised_in_either_language() {
        assert_eq!(Column::of_header("E-Mail"), Some(Column::Email));
        assert_eq!(Column::of_header(" email "), Some(Column::Email));
        assert_eq!(Column::of_header("Straße"), Some(Column::Street));
        assert_eq!(Column::of_header("STRASSE"), Some(Column::Street));
        assert_eq!(Column::of_header("plz"), Some(Column::PostalCode));
        assert_eq!(Column::of_header("start_month"), Some(Column::StartMonth));
        assert_eq!(Column::of_header("Bemerkung"), None);
    }

    #[test]
    fn the_templates_read_back_with_every_column_and_no_row() {
        assert!(read(&template_csv(), 10).unwrap().is_empty());
        assert!(read(&template_xlsx().unwrap(), 10).unwrap().is_empty());
    }
}
