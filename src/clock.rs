//! Time in one place. Timestamps are stored as UTC without a zone; calendar rules
//! ("valid until", "expired", "active", order deadlines) use the date in Europe/Berlin,
//! where the operator and its customers live.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Europe::Berlin;

/// The time the handlers of calendar rules (order and cancellation deadlines) read. In
/// service it is the system clock; a test moves it to either side of a deadline with
/// [`Clock::set`], and time runs on from there. Shared by every clone.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> NaiveDateTime {
        now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    pub fn today_berlin(&self) -> NaiveDate {
        berlin_date_of(self.now())
    }

    /// From now on, the clock reads `at` (UTC) and runs on from there.
    pub fn set(&self, at: NaiveDateTime) {
        let offset = (at - now()).num_milliseconds();
        self.offset_ms.store(offset, Ordering::Relaxed);
    }
}

/// Now, in UTC, as the database stores it.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// The Europe/Berlin calendar date of a stored UTC timestamp.
pub fn berlin_date_of(utc: NaiveDateTime) -> NaiveDate {
    DateTime::<Utc>::from_naive_utc_and_offset(utc, Utc)
        .with_timezone(&Berlin)
        .date_naive()
}

/// The UTC instant at which `date` begins in Europe/Berlin (the earlier one should a
/// change of the clocks ever make midnight ambiguous).
pub fn berlin_midnight_utc(date: NaiveDate) -> NaiveDateTime {
    use chrono::TimeZone;
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    Berlin
        .from_local_datetime(&midnight)
        .earliest()
        .map_or(midnight, |at| at.naive_utc())
}

/// A `std` duration as chrono's, saturating instead of failing on absurd values.
pub fn duration(std: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(std).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_dates_change_at_berlin_midnight() {
        let utc = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // Winter: UTC+1.
        assert_eq!(berlin_date_of(utc("2026-01-31 22:59")), date("2026-01-31"));
        assert_eq!(berlin_date_of(utc("2026-01-31 23:00")), date("2026-02-01"));
        // Summer: UTC+2.
        assert_eq!(berlin_date_of(utc("2026-06-30 21:59")), date("2026-06-30"));
        assert_eq!(berlin_date_of(utc("2026-06-30 22:00")), date("2026-07-01"));
    }
}
