//! Dates and times taken from clients: one parser and one range check for
//! every date input (query bounds, `published_at`, share statistics).
//!
//! Every accepted time lies in the years 1970–9999. chrono reads years far
//! outside what the databases store (`-200000-01-01`, `-4713-01-01`);
//! PostgreSQL then refuses the value (`timestamp out of range`), which would
//! surface as a 500. Checking here turns it into a `422` naming the field.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};

use crate::error::FieldError;

/// The earliest year accepted in any date input.
pub const MIN_YEAR: i32 = 1970;
/// The latest year accepted in any date input.
pub const MAX_YEAR: i32 = 9999;

fn out_of_range(field: &str) -> FieldError {
    FieldError::new(field, format!("must be in the years {MIN_YEAR}–{MAX_YEAR}"))
}

/// Checks that `day` lies in the accepted years.
pub fn check_day(field: &str, day: NaiveDate) -> Result<NaiveDate, FieldError> {
    if (MIN_YEAR..=MAX_YEAR).contains(&day.year()) {
        Ok(day)
    } else {
        Err(out_of_range(field))
    }
}

/// Checks that `time` (UTC) lies in the accepted years.
pub fn check_time(field: &str, time: NaiveDateTime) -> Result<NaiveDateTime, FieldError> {
    check_day(field, time.date()).map(|_| time)
}

/// Like [`check_time`], for a time read from JSON.
pub fn check_utc(field: &str, time: DateTime<Utc>) -> Result<DateTime<Utc>, FieldError> {
    check_time(field, time.naive_utc()).map(|_| time)
}

fn read_day(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| value.len() == 10)
}

/// A date written `YYYY-MM-DD` (exactly ten characters), in range.
pub fn parse_day(field: &str, value: &str) -> Result<NaiveDate, FieldError> {
    let day = read_day(value).ok_or_else(|| FieldError::new(field, "must be a date as YYYY-MM-DD"))?;
    check_day(field, day)
}

/// The time format of list cursor positions.
pub const POSITION_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// A time from a cursor position (`2026-11-24T09:30:00`), in range; `None`
/// otherwise. Cursors are opaque but a client can forge one, and a year
/// PostgreSQL cannot store would fail the query with a 500.
pub fn parse_position_time(value: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(value, POSITION_FORMAT)
        .ok()
        .filter(|t| check_time("cursor", *t).is_ok())
}

/// A query bound: a date `YYYY-MM-DD` or an RFC 3339 time, in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Day(NaiveDate),
    Instant(NaiveDateTime),
}

impl Bound {
    pub fn parse(field: &str, value: &str) -> Result<Bound, FieldError> {
        if let Some(day) = read_day(value) {
            return check_day(field, day).map(Bound::Day);
        }
        match DateTime::parse_from_rfc3339(value) {
            Ok(time) => check_time(field, time.naive_utc()).map(Bound::Instant),
            Err(_) => Err(FieldError::new(
                field,
                "must be a date (YYYY-MM-DD) or an RFC 3339 time (2026-11-24T09:30:00Z)",
            )),
        }
    }

    /// The bound as a time: a day starts at midnight, or ends at 23:59:59
    /// when `end_of_day`.
    pub fn to_time(self, end_of_day: bool) -> NaiveDateTime {
        match self {
            Bound::Instant(t) => t,
            Bound::Day(d) if end_of_day => d.and_hms_opt(23, 59, 59).unwrap_or_default(),
            Bound::Day(d) => d.and_hms_opt(0, 0, 0).unwrap_or_default(),
        }
    }
}

/// Current time, truncated to whole seconds: the precision the API shows and
/// the one both backends store identically.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{SubsecRound, Utc};
    Utc::now().naive_utc().trunc_subsecs(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_range_are_read() {
        assert!(matches!(Bound::parse("from", "2026-11-24"), Ok(Bound::Day(_))));
        assert!(matches!(
            Bound::parse("from", "2026-11-24T09:30:00+02:00"),
            Ok(Bound::Instant(_))
        ));
        assert!(Bound::parse("from", "1970-01-01").is_ok());
        assert!(Bound::parse("to", "9999-12-31T23:59:59Z").is_ok());
    }

    #[test]
    fn years_outside_1970_to_9999_are_refused_by_name() {
        for value in [
            "-200000-01-01",
            "0001-01-01",
            "1969-12-31",
            "-4713-01-01T00:00:00Z",
        ] {
            let e = Bound::parse("from", value).unwrap_err();
            assert_eq!(e.field, "from", "{value}");
        }
        let e = Bound::parse("from", "1969-12-31").unwrap_err();
        assert!(e.message.contains("1970"), "{}", e.message);
        let far: DateTime<Utc> = "-4713-01-01T00:00:00Z".parse().unwrap();
        assert!(check_utc("published_at", far).is_err());
        assert!(check_utc("published_at", Utc::now()).is_ok());
        assert!(parse_day("from", "yesterday").is_err());
    }

    #[test]
    fn cursor_times_are_range_checked() {
        assert!(parse_position_time("2026-11-24T09:30:00").is_some());
        for far in [
            "-200000-01-01T00:00:00",
            "+200000-01-01T00:00:00",
            "0000-01-01T00:00:00",
        ] {
            assert_eq!(parse_position_time(far), None, "{far}");
        }
    }
}
