//! Birth dates as people type them.

use chrono::NaiveDate;

use crate::domain::date::parse_date;
use crate::error::{FieldError, FieldErrorCode};

/// A birth date: `YYYY-MM-DD` or the German `TT.MM.JJJJ`, not in the future and not
/// before 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BirthDate(NaiveDate);

impl BirthDate {
    pub fn parse(raw: &str, today: NaiveDate, pointer: &str) -> Result<Self, FieldError> {
        let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a valid date");
        let date = parse_date(raw, pointer)?;
        if (earliest..=today).contains(&date) {
            Ok(BirthDate(date))
        } else {
            Err(FieldError::new(pointer, FieldErrorCode::InvalidDate))
        }
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_and_plausible_dates_only() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let expected = NaiveDate::from_ymd_opt(2000, 10, 5).unwrap();
        for raw in ["2000-10-05", "05.10.2000", " 5.10.2000 "] {
            assert_eq!(
                BirthDate::parse(raw, today, "/birth_date").unwrap().date(),
                expected,
                "{raw}"
            );
        }
        for raw in [
            "2000-02-30",
            "31.04.2000",
            "2027-01-01",
            "1899-12-31",
            "gestern",
        ] {
            assert_eq!(
                BirthDate::parse(raw, today, "/birth_date")
                    .unwrap_err()
                    .code,
                FieldErrorCode::InvalidDate,
                "{raw}"
            );
        }
    }
}
