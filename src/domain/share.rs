//! Share events: channels, statistics groupings and the rules for date
//! ranges.
//!
//! Invariants owned here:
//! - a channel is one of [`ShareChannel::ALL`]; anything else is refused with
//!   a message listing the valid ones;
//! - statistics ranges are whole UTC days, inclusive at both ends, at most
//!   [`MAX_STATS_DAYS`] long, defaulting to the last [`DEFAULT_STATS_DAYS`]
//!   days up to today;
//! - event filters (`from`, `to`) take a date (whole UTC day) or an RFC 3339
//!   instant, and become a half-open range `[from, until)` of stored
//!   timestamps, which are whole seconds.

use chrono::{Days, NaiveDate, NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldError;

/// Where a reader sent the article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareChannel {
    Email,
    Facebook,
    X,
    Linkedin,
    Whatsapp,
    Telegram,
    Reddit,
    CopyLink,
    Other,
}

impl ShareChannel {
    pub const ALL: [ShareChannel; 9] = [
        ShareChannel::Email,
        ShareChannel::Facebook,
        ShareChannel::X,
        ShareChannel::Linkedin,
        ShareChannel::Whatsapp,
        ShareChannel::Telegram,
        ShareChannel::Reddit,
        ShareChannel::CopyLink,
        ShareChannel::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ShareChannel::Email => "email",
            ShareChannel::Facebook => "facebook",
            ShareChannel::X => "x",
            ShareChannel::Linkedin => "linkedin",
            ShareChannel::Whatsapp => "whatsapp",
            ShareChannel::Telegram => "telegram",
            ShareChannel::Reddit => "reddit",
            ShareChannel::CopyLink => "copy_link",
            ShareChannel::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<ShareChannel> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Position in [`ShareChannel::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// `email, facebook, …, other`: for messages that list the valid values.
    pub fn valid_list() -> String {
        Self::ALL.map(ShareChannel::as_str).join(", ")
    }

    /// Parses `value` as the field `field`, or explains what is accepted.
    pub fn parse_field(field: &str, value: &str) -> Result<ShareChannel, FieldError> {
        Self::parse(value).ok_or_else(|| {
            FieldError::new(
                field,
                format!("`{value}` is not a channel; use one of: {}", Self::valid_list()),
            )
        })
    }
}

/// Share counts of one article, per channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelTally([i64; 9]);

impl ChannelTally {
    pub fn add(&mut self, channel: ShareChannel, n: i64) {
        self.0[channel.index()] += n;
    }

    pub fn get(&self, channel: ShareChannel) -> i64 {
        self.0[channel.index()]
    }

    pub fn total(&self) -> i64 {
        self.0.iter().sum()
    }
}

/// How share statistics are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One row per channel, every channel listed (zeros included), most shared first.
    Channel,
    /// One row per UTC day of the range, every day listed (zeros included), oldest first.
    Day,
    /// One row per article that was shared in the range, most shared first.
    Article,
}

impl GroupBy {
    pub const ALL: [GroupBy; 3] = [GroupBy::Channel, GroupBy::Day, GroupBy::Article];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Channel => "channel",
            GroupBy::Day => "day",
            GroupBy::Article => "article",
        }
    }

    pub fn parse(s: &str) -> Option<GroupBy> {
        Self::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// The longest statistics range: a leap year.
pub const MAX_STATS_DAYS: i64 = 366;
/// The statistics range when none is given: the last 30 days, today included.
pub const DEFAULT_STATS_DAYS: u64 = 30;

/// Whole UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DayRange {
    /// Every day of the range, oldest first.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let (from, to) = (self.from, self.to);
        from.iter_days().take_while(move |d| *d <= to)
    }

    pub fn len_days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The statistics range from the `from` and `to` parameters. `to`
    /// defaults to `today`, `from` to 29 days before `to`.
    pub fn for_stats(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<DayRange, Vec<FieldError>> {
        let from = from.map(|v| parse_date("from", v)).transpose();
        let to = to.map(|v| parse_date("to", v)).transpose();
        let (from, to) = match (from, to) {
            (Ok(from), Ok(to)) => (from, to),
            (from, to) => return Err(from.err().into_iter().chain(to.err()).collect()),
        };
        let to = to.unwrap_or(today);
        let from = from.unwrap_or_else(|| to - Days::new(DEFAULT_STATS_DAYS - 1));
        let range = DayRange { from, to };
        if from > to {
            return Err(vec![FieldError::new("to", "must be on or after `from`")]);
        }
        if range.len_days() > MAX_STATS_DAYS {
            return Err(vec![FieldError::new(
                "from",
                format!("the range may span at most {MAX_STATS_DAYS} days; narrow `from`–`to`"),
            )]);
        }
        Ok(range)
    }
}

fn parse_date(field: &str, value: &str) -> Result<NaiveDate, FieldError> {
    super::date::parse_day(field, value)
}

/// A bound of an event filter: a whole day or an instant (the one date
/// parser and range check, `domain::date`).
pub use super::date::Bound;

/// Stored times in `[from, until)`; `None` leaves that side open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

impl TimeRange {
    /// `from` includes its day or instant; so does `to`. Stored times are
    /// whole seconds, so "at or before 09:30:00.5" is "before 09:30:01".
    pub fn from_bounds(from: Option<Bound>, to: Option<Bound>) -> Result<TimeRange, FieldError> {
        let from = from.map(|b| match b {
            Bound::Day(d) => d.and_hms_opt(0, 0, 0).unwrap_or_default(),
            Bound::Instant(t) => ceil_second(t),
        });
        let until = to.map(|b| match b {
            Bound::Day(d) => (d + Days::new(1)).and_hms_opt(0, 0, 0).unwrap_or_default(),
            Bound::Instant(t) => floor_second(t) + TimeDelta::seconds(1),
        });
        if let (Some(f), Some(u)) = (from, until)
            && f >= u
        {
            return Err(FieldError::new("to", "must be on or after `from`"));
        }
        Ok(TimeRange { from, until })
    }

    /// The same range as whole days, when both ends fall on midnight; lets
    /// counts come from the daily rollups instead of the events.
    pub fn as_days(&self) -> Option<(Option<NaiveDate>, Option<NaiveDate>)> {
        let midnight = |t: NaiveDateTime| t.time() == chrono::NaiveTime::MIN;
        match (self.from, self.until) {
            (Some(f), _) if !midnight(f) => None,
            (_, Some(u)) if !midnight(u) => None,
            (f, u) => Some((f.map(|t| t.date()), u.map(|t| t.date() - Days::new(1)))),
        }
    }

    pub fn is_open(&self) -> bool {
        self.from.is_none() && self.until.is_none()
    }
}

fn floor_second(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::SubsecRound;
    t.trunc_subsecs(0)
}

fn ceil_second(t: NaiveDateTime) -> NaiveDateTime {
    let floor = floor_second(t);
    if floor == t {
        t
    } else {
        floor + TimeDelta::seconds(1)
    }
}

/// What the editor list and the delete-by-filter match.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub id: Option<i64>,
    pub article_id: Option<i64>,
    pub channel: Option<ShareChannel>,
    pub range: TimeRange,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn channels_round_trip_and_list_themselves() {
        for c in ShareChannel::ALL {
            assert_eq!(ShareChannel::parse(c.as_str()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(ShareChannel::parse("myspace"), None);
        assert_eq!(ShareChannel::parse("Email"), None);
        let e = ShareChannel::parse_field("channel", "myspace").unwrap_err();
        assert!(e.message.contains("copy_link") && e.message.contains("email"));
    }

    #[test]
    fn stats_range_defaults_and_bounds() {
        let today = day("2026-11-25");
        let r = DayRange::for_stats(None, None, today).unwrap();
        assert_eq!((r.from, r.to), (day("2026-10-27"), today));
        assert_eq!(r.len_days(), 30);
        assert_eq!(r.days().count(), 30);

        let r = DayRange::for_stats(Some("2026-01-01"), Some("2026-12-31"), today).unwrap();
        assert_eq!(r.len_days(), 365);
        assert!(DayRange::for_stats(Some("2024-01-01"), Some("2024-12-31"), today).is_ok());

        let field = |r: Result<DayRange, Vec<FieldError>>| r.unwrap_err().pop().unwrap().field;
        assert_eq!(
            field(DayRange::for_stats(Some("2024-01-01"), Some("2025-01-01"), today)),
            "from"
        );
        assert_eq!(
            field(DayRange::for_stats(Some("2026-02-02"), Some("2026-02-01"), today)),
            "to"
        );
        for bad in ["2026-2-1", "yesterday", "2026-02-30", "2026-02-01T00:00:00Z"] {
            assert_eq!(field(DayRange::for_stats(Some(bad), None, today)), "from");
        }
        let both = DayRange::for_stats(Some("x"), Some("y"), today).unwrap_err();
        assert_eq!(both.len(), 2);
    }

    #[test]
    fn event_bounds_include_both_ends() {
        let r = TimeRange::from_bounds(
            Some(Bound::parse("from", "2026-11-01").unwrap()),
            Some(Bound::parse("to", "2026-11-02").unwrap()),
        )
        .unwrap();
        assert_eq!(r.from.unwrap().to_string(), "2026-11-01 00:00:00");
        assert_eq!(r.until.unwrap().to_string(), "2026-11-03 00:00:00");
        assert_eq!(
            r.as_days(),
            Some((Some(day("2026-11-01")), Some(day("2026-11-02"))))
        );

        let r = TimeRange::from_bounds(
            Some(Bound::parse("from", "2026-11-01T10:00:00.5+01:00").unwrap()),
            Some(Bound::parse("to", "2026-11-01T09:30:00Z").unwrap()),
        )
        .unwrap();
        assert_eq!(r.from.unwrap().to_string(), "2026-11-01 09:00:01");
        assert_eq!(r.until.unwrap().to_string(), "2026-11-01 09:30:01");
        assert_eq!(r.as_days(), None);

        let e = TimeRange::from_bounds(
            Some(Bound::Day(day("2026-11-02"))),
            Some(Bound::Day(day("2026-11-01"))),
        )
        .unwrap_err();
        assert_eq!(e.field, "to");
        assert!(Bound::parse("from", "last week").is_err());
    }
}
