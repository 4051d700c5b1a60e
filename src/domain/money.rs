//! Money and percentages without floats: an amount is integer euro cents, a percentage
//! integer hundredths of a percent. Both travel as decimal strings with two places
//! (`"63.00"`, `"5.00"`), and every share of an amount rounds half up to the cent.

use std::fmt;

use crate::error::{FieldError, FieldErrorCode};

/// The largest amount the price list and the shares take: far above any ticket.
const MAX_CENTS: i64 = 99_999_999;

/// An amount of money in euro cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Cents(pub i64);

/// A percentage in hundredths of a percent (`500` = 5 %), from 0 to 100 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Percent(pub i64);

impl Percent {
    pub const HUNDRED: Percent = Percent(10_000);

    /// A percentage as `"5"`, `"5.5"` or `"5.00"`, from 0 to 100 (`invalid_percent`,
    /// `out_of_range`).
    pub fn parse(raw: &str, pointer: &str) -> Result<Percent, FieldError> {
        let hundredths = parse_hundredths(raw, 3)
            .ok_or_else(|| FieldError::new(pointer, FieldErrorCode::InvalidPercent))?;
        if hundredths > Percent::HUNDRED.0 {
            return Err(FieldError::new(
                pointer,
                FieldErrorCode::OutOfRange { min: 0, max: 100 },
            ));
        }
        Ok(Percent(hundredths))
    }
}

impl Cents {
    /// An amount in euros as `"63"`, `"63.5"` or `"63.00"` (`invalid_amount`), at most
    /// 999,999.99.
    pub fn parse(raw: &str, pointer: &str) -> Result<Cents, FieldError> {
        parse_hundredths(raw, 6)
            .filter(|cents| *cents <= MAX_CENTS)
            .map(Cents)
            .ok_or_else(|| FieldError::new(pointer, FieldErrorCode::InvalidAmount))
    }

    /// `percent` of this amount, rounded half up to the cent.
    pub fn percent(self, percent: Percent) -> Cents {
        // Both factors are bounded (MAX_CENTS × 10,000 < 2^63), and amounts are never
        // negative, so adding half the divisor rounds half up.
        Cents((self.0 * percent.0 + 5_000) / 10_000)
    }

    /// This amount `times` over (a month's totals).
    pub fn times(self, times: i64) -> Cents {
        Cents(self.0.saturating_mul(times))
    }

    /// The amount as a number of euros (a spreadsheet's currency cell). Exact: every
    /// amount here is far below 2^53 cents.
    pub fn euros(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// The amount with a decimal comma, as German spreadsheets read it (`"59,85"`).
    pub fn german(self) -> String {
        self.to_string().replace('.', ",")
    }
}

/// `"12"`, `"12.3"` or `"12.34"` with at most `max_digits` before the point, as
/// hundredths; anything else (signs, exponents, spaces inside, a third decimal) is
/// `None`.
fn parse_hundredths(raw: &str, max_digits: usize) -> Option<i64> {
    let text = raw.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > max_digits
        || fraction.len() > 2
        || (text.contains('.') && fraction.is_empty())
        || !digits(whole)
        || !digits(fraction)
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = format!("{fraction:0<2}").parse().ok()?;
    Some(whole * 100 + fraction)
}

fn write_hundredths(f: &mut fmt::Formatter<'_>, value: i64) -> fmt::Result {
    let sign = if value < 0 { "-" } else { "" };
    let value = value.unsigned_abs();
    write!(f, "{sign}{}.{:02}", value / 100, value % 100)
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hundredths(f, self.0)
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hundredths(f, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_with_up_to_two_places_and_written_with_two() {
        assert_eq!(Cents::parse("63.00", "/p").unwrap(), Cents(6300));
        assert_eq!(Cents::parse(" 63 ", "/p").unwrap(), Cents(6300));
        assert_eq!(Cents::parse("0.5", "/p").unwrap(), Cents(50));
        assert_eq!(Cents(5985).to_string(), "59.85");
        assert_eq!(Cents(5).to_string(), "0.05");
        assert_eq!(Cents(5985).german(), "59,85");
        for bad in [
            "", "-1.00", "+1", "1.", ".5", "1.234", "1e3", "63,00", "1 000", "1000000", "NaN",
        ] {
            let error = Cents::parse(bad, "/p").unwrap_err();
            assert_eq!(error.code, FieldErrorCode::InvalidAmount, "{bad:?}");
        }
    }

    #[test]
    fn percentages_run_from_0_to_100() {
        assert_eq!(Percent::parse("5", "/p").unwrap(), Percent(500));
        assert_eq!(Percent::parse("12.5", "/p").unwrap(), Percent(1250));
        assert_eq!(Percent::parse("100.00", "/p").unwrap(), Percent(10_000));
        assert_eq!(
            Percent::parse("100.01", "/p").unwrap_err().code,
            FieldErrorCode::OutOfRange { min: 0, max: 100 }
        );
        assert_eq!(
            Percent::parse("-5", "/p").unwrap_err().code,
            FieldErrorCode::InvalidPercent
        );
        assert_eq!(Percent(1250).to_string(), "12.50");
    }

    #[test]
    fn a_share_rounds_half_up_to_the_cent() {
        // 5 % of 63.00 is exactly 3.15.
        assert_eq!(Cents(6300).percent(Percent(500)), Cents(315));
        // 12.5 % of 0.99 is 0.12375 → 0.12; 50 % of 0.05 is 0.025 → 0.03.
        assert_eq!(Cents(99).percent(Percent(1250)), Cents(12));
        assert_eq!(Cents(5).percent(Percent(5000)), Cents(3));
        // 25 % of 63.00 is 15.75; of 58.99 it is 14.7475 → 14.75.
        assert_eq!(Cents(6300).percent(Percent(2500)), Cents(1575));
        assert_eq!(Cents(5899).percent(Percent(2500)), Cents(1475));
        assert_eq!(Cents(MAX_CENTS).percent(Percent::HUNDRED), Cents(MAX_CENTS));
    }
}
