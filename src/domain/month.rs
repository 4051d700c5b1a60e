//! Calendar months of job tickets: D-Ticket Job starts on the 1st of a month and ends on
//! a month's last day, with a deadline day (Europe/Berlin) deciding which month an order
//! or a cancellation can still reach.

use chrono::{Datelike, Months, NaiveDate};

use crate::error::{FieldError, FieldErrorCode};

/// How many months ahead of the current one a ticket may be ordered to start.
pub const MAX_MONTHS_AHEAD: u32 = 12;

/// A month as `YYYY-MM` (or the German `MM.JJJJ` of staff lists), as its first day.
pub fn parse_month(raw: &str, pointer: &str) -> Result<NaiveDate, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldError::new(pointer, FieldErrorCode::Required));
    }
    let (year, month) = match (text.split_once('-'), text.split_once('.')) {
        (Some((year, month)), None) if year.len() == 4 && month.len() == 2 => (year, month),
        (None, Some((month, year))) if year.len() == 4 && (1..=2).contains(&month.len()) => {
            (year, month)
        }
        _ => return Err(FieldError::new(pointer, FieldErrorCode::InvalidMonth)),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !digits(year) || !digits(month) {
        return Err(FieldError::new(pointer, FieldErrorCode::InvalidMonth));
    }
    year.parse()
        .ok()
        .zip(month.parse().ok())
        .filter(|(year, _): &(i32, u32)| (1900..2200).contains(year))
        .and_then(|(year, month)| NaiveDate::from_ymd_opt(year, month, 1))
        .ok_or_else(|| FieldError::new(pointer, FieldErrorCode::InvalidMonth))
}

/// `YYYY-MM` of the month holding `date`.
pub fn format_month(date: NaiveDate) -> String {
    date.format("%Y-%m").to_string()
}

/// The 1st of the month holding `date`.
pub fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

/// The last day of the month holding `date`.
pub fn last_of_month(date: NaiveDate) -> NaiveDate {
    months_after(first_of_month(date), 1)
        .pred_opt()
        .unwrap_or(date)
}

/// The 1st of the month `months` after the one holding `date`.
pub fn months_after(date: NaiveDate, months: u32) -> NaiveDate {
    first_of_month(date)
        .checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// The first month an order placed `today` can start in: next month when placed on or
/// before the deadline day, else the month after.
pub fn earliest_start(today: NaiveDate, deadline_day: u32) -> NaiveDate {
    months_after(today, if today.day() <= deadline_day { 1 } else { 2 })
}

/// The start month of an order placed `today`: from the earliest the deadline allows
/// (`month_too_early`) to [`MAX_MONTHS_AHEAD`] months after the current one
/// (`too_far_ahead`).
pub fn parse_start_month(
    raw: &str,
    today: NaiveDate,
    deadline_day: u32,
    pointer: &str,
) -> Result<NaiveDate, FieldError> {
    let month = parse_month(raw, pointer)?;
    if month < earliest_start(today, deadline_day) {
        return Err(FieldError::new(pointer, FieldErrorCode::MonthTooEarly));
    }
    if month > months_after(today, MAX_MONTHS_AHEAD) {
        return Err(FieldError::new(pointer, FieldErrorCode::TooFarAhead));
    }
    Ok(month)
}

/// The last day a ticket cancelled `today` runs: the end of this month when cancelled on
/// or before the deadline day, else the end of the next.
pub fn earliest_end(today: NaiveDate, deadline_day: u32) -> NaiveDate {
    let month = if today.day() <= deadline_day {
        first_of_month(today)
    } else {
        months_after(today, 1)
    };
    last_of_month(month)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn months_are_read_in_both_spellings_and_nothing_else() {
        assert_eq!(parse_month("2026-12", "/m").unwrap(), date("2026-12-01"));
        assert_eq!(parse_month(" 12.2026 ", "/m").unwrap(), date("2026-12-01"));
        assert_eq!(parse_month("1.2027", "/m").unwrap(), date("2027-01-01"));
        for bad in [
            "2026-13",
            "2026-1",
            "26-12",
            "2026/12",
            "2026-12-01",
            "abcd-ef",
            "+026-12",
        ] {
            let error = parse_month(bad, "/m").unwrap_err();
            assert_eq!(error.code, FieldErrorCode::InvalidMonth, "{bad}");
        }
        assert_eq!(
            parse_month("", "/m").unwrap_err().code,
            FieldErrorCode::Required
        );
    }

    #[test]
    fn an_order_on_the_deadline_day_starts_next_month_and_a_day_later_the_month_after() {
        assert_eq!(earliest_start(date("2026-11-10"), 10), date("2026-12-01"));
        assert_eq!(earliest_start(date("2026-11-11"), 10), date("2027-01-01"));
        assert_eq!(earliest_start(date("2026-12-31"), 10), date("2027-02-01"));
        let start = |raw: &str, today: &str| parse_start_month(raw, date(today), 10, "/m");
        assert!(start("2026-12", "2026-11-10").is_ok());
        assert_eq!(
            start("2026-12", "2026-11-11").unwrap_err().code,
            FieldErrorCode::MonthTooEarly
        );
        assert!(start("2027-11", "2026-11-11").is_ok());
        assert_eq!(
            start("2027-12", "2026-11-11").unwrap_err().code,
            FieldErrorCode::TooFarAhead
        );
    }

    #[test]
    fn a_cancellation_on_the_deadline_day_ends_this_month_and_a_day_later_the_next() {
        assert_eq!(earliest_end(date("2026-11-10"), 10), date("2026-11-30"));
        assert_eq!(earliest_end(date("2026-11-11"), 10), date("2026-12-31"));
        assert_eq!(earliest_end(date("2027-01-31"), 10), date("2027-02-28"));
        assert_eq!(last_of_month(date("2028-02-05")), date("2028-02-29"));
    }
}
