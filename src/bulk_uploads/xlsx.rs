//! Reading an Excel staff list (`.xlsx`, its first sheet) in bounded memory and time.
//!
//! An `.xlsx` is a zip of XML parts. Its own claims are never believed: a sheet's
//! dimension or a cell at `XFD1048576` sizes nothing (the cells are read one by one,
//! never as a grid), and a zip entry's declared size is checked and then its actual
//! size counted while it unpacks. Before calamine opens the file, [`check_parts`] unpacks
//! every part once against `BULK_UPLOAD_MAX_UNCOMPRESSED_BYTES` and counts what calamine
//! would hold in memory from the parts it reads whole (shared strings, styles, the
//! workbook and its relationships), so that a small file cannot make it allocate
//! without bound. Only then does calamine read the first sheet, as a stream of cells.

use std::io::{BufReader, Cursor, Read};

use calamine::{Data, Reader, Xlsx};
use quick_xml::events::{BytesStart, Event};

use crate::bulk_uploads::file::{MAX_COLUMNS, ReadLimits, Rows, text_of};
use crate::error::AppError;
use crate::http::problems::HttpProblem;

/// The most records (fonts, fills, borders, number formats, cell formats, sheets,
/// relationships: every element) that the parts calamine reads whole may hold together,
/// besides the shared strings. Excel itself allows 64,000 cell formats; a staff list
/// has a few dozen.
const MAX_RECORDS: u64 = 64_000;

/// Reads the first sheet's rows into `rows`.
pub(super) fn read(bytes: &[u8], limits: ReadLimits, rows: &mut Rows) -> Result<(), AppError> {
    check_parts(bytes, limits)?;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(unreadable)?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| AppError::from(HttpProblem::UnsupportedMediaType))?;
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(unreadable)?;
    let mut current: Option<(u32, Vec<(usize, String)>)> = None;
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (row, column) = cell.get_position();
        let value = Data::from(cell.get_value().clone());
        let column = column as usize;
        if is_empty(&value) {
            continue;
        }
        if column >= MAX_COLUMNS {
            return Err(super::BulkUploadProblem::TooManyColumns.into());
        }
        if current.as_ref().is_some_and(|(current, _)| *current != row)
            && let Some((finished, cells)) = current.take()
        {
            // Sheet rows count from 1.
            rows.push(u64::from(finished) + 1, cells)?;
        }
        let text = text_of(&value, rows.column_at(column));
        current
            .get_or_insert_with(|| (row, Vec::new()))
            .1
            .push((column, text));
    }
    if let Some((finished, cells)) = current {
        rows.push(u64::from(finished) + 1, cells)?;
    }
    Ok(())
}

fn is_empty(value: &Data) -> bool {
    match value {
        Data::Empty => true,
        Data::String(text) => text.trim().is_empty(),
        _ => false,
    }
}

fn unreadable<E: std::fmt::Display>(error: E) -> AppError {
    tracing::debug!(%error, "unreadable Excel file");
    HttpProblem::UnsupportedMediaType.into()
}

fn too_large() -> AppError {
    HttpProblem::PayloadTooLarge.into()
}

/// Unpacks every part of the zip once, refusing with `413 payload_too_large` as soon as
/// the parts together (declared or actual) pass `max_uncompressed_bytes`, or the parts
/// calamine reads whole hold more records than memory should: shared strings beyond one
/// per cell a list may fill, or [`MAX_RECORDS`] of everything else. Worksheets are read
/// as streams later, so only their size counts.
fn check_parts(bytes: &[u8], limits: ReadLimits) -> Result<(), AppError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    let max_strings = (limits.max_rows as u64 + 1) * MAX_COLUMNS as u64;
    let mut budget = limits.max_uncompressed_bytes;
    let mut records = 0u64;
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(unreadable)?;
        if entry.is_dir() {
            continue;
        }
        if entry.size() > budget {
            return Err(too_large());
        }
        let name = entry.name().map_err(unreadable)?.to_ascii_lowercase();
        let mut unpacked = Counted {
            inner: entry.take(budget + 1),
            bytes: 0,
        };
        if name.ends_with("sharedstrings.xml") {
            let strings = count_elements(&mut unpacked, "si", Some(max_strings))?;
            if strings > max_strings {
                return Err(too_large());
            }
        } else if name.ends_with(".xml") || name.ends_with(".rels") {
            if name.contains("worksheets/") {
                std::io::copy(&mut unpacked, &mut std::io::sink()).map_err(unreadable)?;
            } else {
                records += count_elements(&mut unpacked, "", Some(MAX_RECORDS))?;
                if records > MAX_RECORDS {
                    return Err(too_large());
                }
            }
        } else {
            std::io::copy(&mut unpacked, &mut std::io::sink()).map_err(unreadable)?;
        }
        // Whatever the XML reader left unread still counts.
        std::io::copy(&mut unpacked, &mut std::io::sink()).map_err(unreadable)?;
        if unpacked.bytes > budget {
            return Err(too_large());
        }
        budget -= unpacked.bytes;
    }
    Ok(())
}

/// How many elements named `name` (any element when empty) an XML part holds, stopping
/// as soon as there are more than `max`. A count claimed in an attribute
/// (`uniqueCount`, `count`: calamine reserves memory by it) that passes `max` counts as
/// that many.
fn count_elements(part: &mut impl Read, name: &str, max: Option<u64>) -> Result<u64, AppError> {
    let max = max.unwrap_or(u64::MAX);
    let mut xml = quick_xml::Reader::from_reader(BufReader::new(part));
    xml.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    let mut found = 0u64;
    loop {
        buf.clear();
        let element = match xml.read_event_into(&mut buf).map_err(unreadable)? {
            Event::Start(element) | Event::Empty(element) => element,
            Event::Eof => return Ok(found),
            _ => continue,
        };
        if claimed_count(&element) > max {
            return Ok(max + 1);
        }
        if name.is_empty() || element.local_name().as_ref() == name {
            found += 1;
            if found > max {
                return Ok(found);
            }
        }
    }
}

/// The largest count an element claims in a `count` or `uniqueCount` attribute.
fn claimed_count(element: &BytesStart<'_>) -> u64 {
    element
        .attributes()
        .flatten()
        .filter(|attribute| matches!(attribute.key.local_name().as_ref(), "count" | "uniqueCount"))
        .map(|attribute| attribute.value.trim().parse::<u64>().unwrap_or(u64::MAX))
        .max()
        .unwrap_or(0)
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.bytes += read as u64;
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn limits() -> ReadLimits {
        ReadLimits {
            max_rows: 10,
            max_uncompressed_bytes: 1 << 20,
        }
    }

    fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut buffer = Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in parts {
            zip.start_file(*name, options).unwrap();
            zip.write_all(content).unwrap();
        }
        zip.finish().unwrap();
        buffer.into_inner()
    }

    #[test]
    fn a_part_that_unpacks_beyond_the_limit_is_too_large() {
        let bomb = vec![b' '; 2 << 20];
        let file = zip_of(&[("xl/worksheets/sheet1.xml", &bomb)]);
        assert!(file.len() < 10_000, "deflate packs it small");
        assert_eq!(
            check_parts(&file, limits()).unwrap_err().code(),
            "payload_too_large"
        );
    }

    #[test]
    fn a_claimed_string_count_beyond_the_cells_is_too_large() {
        let strings = br#"<sst xmlns="x" uniqueCount="1000000000000"><si><t>a</t></si></sst>"#;
        let file = zip_of(&[("xl/sharedStrings.xml", strings)]);
        assert_eq!(
            check_parts(&file, limits()).unwrap_err().code(),
            "payload_too_large"
        );
        let many = format!("<sst>{}</sst>", "<si/>".repeat(800));
        let file = zip_of(&[("xl/sharedStrings.xml", many.as_bytes())]);
        assert_eq!(
            check_parts(&file, limits()).unwrap_err().code(),
            "payload_too_large"
        );
        let few = format!("<sst>{}</sst>", "<si/>".repeat(700));
        let file = zip_of(&[("xl/sharedStrings.xml", few.as_bytes())]);
        assert!(check_parts(&file, limits()).is_ok());
    }

    #[test]
    fn styles_with_more_records_than_excel_allows_are_too_large() {
        let styles = format!(
            "<styleSheet><cellXfs>{}</cellXfs></styleSheet>",
            "<xf/>".repeat(70_000)
        );
        let file = zip_of(&[("xl/styles.xml", styles.as_bytes())]);
        assert_eq!(
            check_parts(&file, limits()).unwrap_err().code(),
            "payload_too_large"
        );
    }
}
