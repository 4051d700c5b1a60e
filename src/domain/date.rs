//! Calendar dates as people type them: `YYYY-MM-DD` or the German `TT.MM.JJJJ`.

use chrono::NaiveDate;

use crate::error::{FieldError, FieldErrorCode};

/// The schema's pattern of such a date.
pub const DATE_PATTERN: &str =
    r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$";

/// A date in either spelling, between the years 1900 and 2199.
pub fn parse_date(raw: &str, pointer: &str) -> Result<NaiveDate, FieldError> {
    // Only spaces are trimmed, as the schema's pattern allows.
    let text = raw.trim_matches(' ');
    if text.is_empty() {
        return Err(FieldError::new(pointer, FieldErrorCode::Required));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d.%m.%Y"))
        .ok()
        .filter(|date| (1900..2200).contains(&chrono::Datelike::year(date)))
        .ok_or_else(|| FieldError::new(pointer, FieldErrorCode::InvalidDate))
}

/// A date as the guides print it: `TT.MM.JJJJ`.
pub fn german(date: NaiveDate) -> String {
    date.format("%d.%m.%Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings() {
        let expected = NaiveDate::from_ymd_opt(2023, 5, 1).unwrap();
        assert_eq!(parse_date("2023-05-01", "/d").unwrap(), expected);
        assert_eq!(parse_date("01.05.2023", "/d").unwrap(), expected);
        assert_eq!(german(expected), "01.05.2023");
        for wrong in ["2023-02-30", "1.5.23", "morgen", "0001-01-01"] {
            assert_eq!(
                parse_date(wrong, "/d").unwrap_err().code,
                FieldErrorCode::InvalidDate
            );
        }
    }
}
