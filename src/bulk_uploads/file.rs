//! Reading a staff list: CSV (UTF-8 with or without BOM, `,` or `;`, a header row) or
//! Excel `.xlsx` (its first sheet), told apart by their content, never by the file's
//! name. Headers may be English or German; Excel date cells are taken as dates.

use std::collections::HashMap;

use calamine::Data;

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

/// The most columns a staff list may fill: the template has 12; a sheet's own claims
/// (a cell at `XFD1048576`) never size anything.
pub const MAX_COLUMNS: usize = 64;

/// The most characters of a header word a report repeats (`Personalnummer` has 14).
const MAX_HEADER_CHARS: usize = 40;

/// What a file may cost to read.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// Most data rows (`422 too_many_rows` as soon as one more arrives).
    pub max_rows: usize,
    /// Most bytes an Excel file's parts may unpack to, together (`413`).
    pub max_uncompressed_bytes: u64,
}

/// The data rows of a file, read as a stream: every limit is checked as the rows
/// arrive, and nothing is sized by what the file claims. Why it cannot be read: another
/// type (`415`), missing columns (`422 missing_columns`, each at `/file/{column}`), a
/// filled cell beyond column 64 (`422 too_many_columns`), more than `max_rows` rows
/// (`422 too_many_rows`), an Excel file that unpacks to more than
/// `max_uncompressed_bytes` (`413 payload_too_large`).
pub fn read(bytes: &[u8], limits: ReadLimits) -> Result<Sheet, AppError> {
    let mut rows = Rows::new(limits.max_rows);
    if bytes.starts_with(b"PK\x03\x04") {
        super::xlsx::read(bytes, limits, &mut rows)?;
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        read_csv(text, &mut rows)?;
    } else {
        return Err(HttpProblem::UnsupportedMediaType.into());
    }
    rows.finish()
}

/// A file's data rows and its header's words.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    pub rows: Vec<SheetRow>,
    headers: HashMap<Column, String>,
}

impl Sheet {
    /// The column as the file's header wrote it (`Startmonat`, `start_month`).
    pub fn header_of(&self, column: Column) -> &str {
        self.headers
            .get(&column)
            .map_or_else(|| column.name(), String::as_str)
    }
}

/// The rows of a file as they arrive: the first filled one is the header, empty ones
/// are skipped, the limits are checked at once.
pub(super) struct Rows {
    columns: Option<Vec<Option<Column>>>,
    headers: HashMap<Column, String>,
    rows: Vec<SheetRow>,
    max_rows: usize,
}

impl Rows {
    fn new(max_rows: usize) -> Self {
        Rows {
            columns: None,
            headers: HashMap::new(),
            rows: Vec::new(),
            max_rows,
        }
    }

    /// The column a header named at `index`, once the header has been read.
    pub(super) fn column_at(&self, index: usize) -> Option<Column> {
        self.columns.as_ref()?.get(index).copied().flatten()
    }

    /// One row of the file, its cells by column index (each below [`MAX_COLUMNS`]).
    pub(super) fn push(&mut self, row: u64, cells: Vec<(usize, String)>) -> Result<(), AppError> {
        if cells.iter().all(|(_, cell)| cell.trim().is_empty()) {
            return Ok(());
        }
        let Some(columns) = &self.columns else {
            let mut headers = vec![None; cells.iter().map(|(i, _)| i + 1).max().unwrap_or(0)];
            for (index, header) in cells {
                headers[index] = Column::of_header(&header);
                if let Some(column) = headers[index] {
                    // Kept for every error of the column: a header padded with
                    // thousands of ignored dashes must not be copied that often.
                    let words = header.trim().chars().take(MAX_HEADER_CHARS).collect();
                    self.headers.insert(column, words);
                }
            }
            check_columns(&headers)?;
            self.columns = Some(headers);
            return Ok(());
        };
        if self.rows.len() == self.max_rows {
            return Err(super::BulkUploadProblem::TooManyRows.into());
        }
        let cells = cells
            .into_iter()
            .filter_map(|(index, cell)| Some((columns.get(index).copied().flatten()?, cell)))
            .collect();
        self.rows.push(SheetRow { row, cells });
        Ok(())
    }

    fn finish(self) -> Result<Sheet, AppError> {
        if self.columns.is_none() {
            check_columns(&[])?;
        }
        Ok(Sheet {
            rows: self.rows,
            headers: self.headers,
        })
    }
}

/// `422 missing_columns` naming each required column the header lacks.
fn check_columns(columns: &[Option<Column>]) -> Result<(), AppError> {
    let missing: Vec<FieldError> = <Column as strum::IntoEnumIterator>::iter()
        .filter(|column| !column.optional() && !columns.contains(&Some(*column)))
        .map(|column| {
            FieldError::new(
                format!("/file/{}", column.name()),
                FieldErrorCode::MissingColumn,
            )
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(AppError::ProblemAt {
        problem: super::BulkUploadProblem::MissingColumns.spec(),
        fields: missing,
    })
}

/// The filled cells of a row by column index, or `422 too_many_columns` for one beyond
/// [`MAX_COLUMNS`] (empty cells beyond it, as trailing separators make, do not count).
fn filled_cells<'a>(
    cells: impl Iterator<Item = &'a str>,
) -> Result<Vec<(usize, String)>, AppError> {
    let mut row = Vec::new();
    for (index, cell) in cells.enumerate() {
        if cell.trim().is_empty() {
            continue;
        }
        if index >= MAX_COLUMNS {
            return Err(super::BulkUploadProblem::TooManyColumns.into());
        }
        row.push((index, cell.to_string()));
    }
    Ok(row)
}

fn read_csv(text: &str, rows: &mut Rows) -> Result<(), AppError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let header_line = text.lines().next().unwrap_or_default();
    let delimiter = if header_line.matches(';').count() > header_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut lines = crate::import::LineCounter::new(text.as_bytes());
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {
                let line = lines.line_of(record.position());
                rows.push(line, filled_cells(record.iter())?)?;
            }
            Ok(false) => return Ok(()),
            Err(_) => return Err(HttpProblem::UnsupportedMediaType.into()),
        }
    }
}

/// A cell as the text a CSV would hold: a date cell as `YYYY-MM-DD` (as `YYYY-MM` in
/// the start month), a whole number without decimals (postal codes, personnel numbers).
pub(super) fn text_of(cell: &Data, column: Option<Column>) -> String {
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
        let limits = ReadLimits {
            max_rows: 10,
            max_uncompressed_bytes: 1 << 20,
        };
        assert!(read(&template_csv(), limits).unwrap().rows.is_empty());
        assert!(
            read(&template_xlsx().unwrap(), limits)
                .unwrap()
                .rows
                .is_empty()
        );
    }

    #[test]
    fn csv_lines_are_counted_from_the_header_with_lf_and_with_crlf() {
        let limits = ReadLimits {
            max_rows: 10,
            max_uncompressed_bytes: 1 << 20,
        };
        let header = template_csv();
        let header = std::str::from_utf8(&header).unwrap().trim_end();
        let row =
            "P1;Herr;;Tom;Tabelle;03.04.1991;Ständeplatz 1;34117;Kassel;DE;t@example.de;01.2027";
        for newline in ["\n", "\r\n"] {
            let text = format!("{header}{newline}{row}{newline}{newline}{row}{newline}");
            let sheet = read(text.as_bytes(), limits).unwrap();
            let lines: Vec<u64> = sheet.rows.iter().map(|r| r.row).collect();
            assert_eq!(lines, [2, 4], "{newline:?}");
            assert_eq!(sheet.rows[0].get(Column::LastName), Some("Tabelle"));
            // The header's own words, for the report.
            assert_eq!(sheet.header_of(Column::StartMonth), "Startmonat");
        }
    }

    #[test]
    fn too_many_rows_and_columns_stop_the_reading() {
        let limits = ReadLimits {
            max_rows: 2,
            max_uncompressed_bytes: 1 << 20,
        };
        let header = String::from_utf8(template_csv()).unwrap();
        let flood = format!("{header}{}", "x\n".repeat(1_000_000));
        assert_eq!(
            read(flood.as_bytes(), limits).unwrap_err().code(),
            "too_many_rows"
        );
        let wide = format!("{header}{}x\n", ";".repeat(MAX_COLUMNS));
        assert_eq!(
            read(wide.as_bytes(), limits).unwrap_err().code(),
            "too_many_columns"
        );
        // A header word padded with what recognition ignores is recognised, and the
        // report repeats only its start.
        let padded = format!("Vor-{}name", "-".repeat(10_000));
        let text = header.replace("Vorname", &padded);
        let sheet = read(format!("{text}\n").as_bytes(), limits).unwrap();
        assert_eq!(
            sheet.header_of(Column::FirstName).chars().count(),
            MAX_HEADER_CHARS
        );
        let empty_beyond = format!("{header}x{}\n", ";".repeat(200));
        assert_eq!(read(empty_beyond.as_bytes(), limits).unwrap().rows.len(), 1);
    }
}
