//! The query parameters of the editor share routes, each parsed once into
//! a typed value or the list of every field's problem (a `422`): no
//! handler is left with a "can't happen" state to report.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::share::EventFilter;
use crate::domain::share::{Bound, DayRange, GroupBy, ShareChannel, TimeRange};
use crate::error::{AppError, FieldError};
use crate::http::cursor::Scope;
use crate::http::pagination::Paging;
use crate::service::shares::{ListQuery, StatsQuery};

/// Filters and paging of the event list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ShareEventListParams {
    /// Only events of this article (its id).
    #[param(value_type = Option<i64>, minimum = 1, example = 42)]
    pub article_id: Option<String>,
    /// Only events of this channel.
    #[param(value_type = Option<ShareChannel>)]
    pub channel: Option<String>,
    /// From this day (`YYYY-MM-DD`, UTC, inclusive) or instant (RFC 3339, inclusive).
    #[param(example = "2026-11-01")]
    pub from: Option<String>,
    /// Up to this day (`YYYY-MM-DD`, UTC, inclusive) or instant (RFC 3339, inclusive).
    #[param(example = "2026-11-24")]
    pub to: Option<String>,
    /// Page mode: page number, from 1.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
    /// Cursor mode: empty to start, then `meta.next_cursor`.
    pub cursor: Option<String>,
}

/// Which events to delete: at least one filter is required.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteShareEventsParams {
    /// Only events of this article (its id).
    #[param(value_type = Option<i64>, minimum = 1, example = 42)]
    pub article_id: Option<String>,
    /// Only events of this channel.
    #[param(value_type = Option<ShareChannel>)]
    pub channel: Option<String>,
    /// From this day (`YYYY-MM-DD`, UTC, inclusive) or instant (RFC 3339, inclusive).
    #[param(example = "2026-11-24T09:00:00Z")]
    pub from: Option<String>,
    /// Up to this day (`YYYY-MM-DD`, UTC, inclusive) or instant (RFC 3339, inclusive).
    #[param(example = "2026-11-24T09:15:00Z")]
    pub to: Option<String>,
}

/// What statistics to compute.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ShareStatsParams {
    /// `channel`, `day` (the default) or `article`.
    #[param(value_type = Option<GroupBy>)]
    pub group_by: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC, inclusive); defaults to 29 days before `to`.
    #[param(example = "2026-10-26")]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC, inclusive); defaults to today. At most 366 days after `from`.
    #[param(example = "2026-11-24")]
    pub to: Option<String>,
    /// Only this article (its id). Required for authors, who see their own articles only.
    #[param(value_type = Option<i64>, minimum = 1, example = 42)]
    pub article_id: Option<String>,
    /// Only this channel.
    #[param(value_type = Option<ShareChannel>)]
    pub channel: Option<String>,
    /// `group_by=article`: how many articles to list, most shared first (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The cursor scope of the event list (newest first).
pub(super) const EVENTS_SCOPE: Scope = Scope {
    list: "share-events",
    order: "-created_at",
};

fn optional_text(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn parse_article_id(value: Option<String>) -> Result<Option<i64>, FieldError> {
    let Some(value) = optional_text(value) else {
        return Ok(None);
    };
    match value.parse::<i64>() {
        Ok(id) if id > 0 => Ok(Some(id)),
        _ => Err(FieldError::new("article_id", "must be a positive integer id")),
    }
}

fn parse_channel(value: Option<String>) -> Result<Option<ShareChannel>, FieldError> {
    optional_text(value)
        .map(|v| ShareChannel::parse_field("channel", &v))
        .transpose()
}

fn parse_bound(field: &str, value: Option<String>) -> Result<Option<Bound>, FieldError> {
    optional_text(value).map(|v| Bound::parse(field, &v)).transpose()
}

fn parse_group_by(value: Option<String>) -> Result<GroupBy, FieldError> {
    match optional_text(value) {
        None => Ok(GroupBy::Day),
        Some(g) => GroupBy::parse(&g).ok_or_else(|| {
            FieldError::new(
                "group_by",
                format!("`{g}` is not a grouping; use one of: channel, day, article"),
            )
        }),
    }
}

fn parse_limit(value: Option<u32>) -> Result<i64, FieldError> {
    match value {
        None => Ok(100),
        Some(n @ 1..=1000) => Ok(n as i64),
        Some(_) => Err(FieldError::new("limit", "must be between 1 and 1000")),
    }
}

/// The event filter from the shared parameters, or every field's problem.
fn event_filter(
    article_id: Option<String>,
    channel: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<EventFilter, Vec<FieldError>> {
    let article_id = parse_article_id(article_id);
    let channel = parse_channel(channel);
    let from = parse_bound("from", from);
    let to = parse_bound("to", to);
    // The order of the bounds is checked once both parse.
    let range = match (&from, &to) {
        (Ok(from), Ok(to)) => TimeRange::from_bounds(*from, *to).map_err(Some),
        _ => Err(None),
    };
    match (article_id, channel, range) {
        (Ok(article_id), Ok(channel), Ok(range)) => Ok(EventFilter {
            id: None,
            article_id,
            channel,
            range,
        }),
        (article_id, channel, range) => Err([
            article_id.err(),
            channel.err(),
            from.err(),
            to.err(),
            range.err().flatten(),
        ]
        .into_iter()
        .flatten()
        .collect()),
    }
}

impl ShareEventListParams {
    /// The typed list request and its paging, or every field's problem.
    pub(super) fn parse(self) -> Result<(Paging, ListQuery), AppError> {
        let filter = event_filter(self.article_id, self.channel, self.from, self.to);
        let mut errors = Vec::new();
        let paging = Paging::from_params(self.page, self.per_page, self.cursor.as_deref(), &mut errors);
        let after = paging.keyset::<NaiveDateTime>(EVENTS_SCOPE, &mut errors);
        match filter {
            Ok(filter) if errors.is_empty() => {
                let query = ListQuery {
                    filter,
                    after: after.map(|k| (k.key, k.id)),
                    cursor_mode: paging.is_cursor(),
                    offset: paging.offset(),
                    per_page: paging.per_page() as i64,
                };
                Ok((paging, query))
            }
            filter => {
                let mut all = filter.err().unwrap_or_default();
                all.extend(errors);
                Err(AppError::Validation(all))
            }
        }
    }
}

impl DeleteShareEventsParams {
    /// The typed filter: valid, and not empty (the whole table cannot go by
    /// mistake).
    pub(super) fn parse(self) -> Result<EventFilter, AppError> {
        let filter =
            event_filter(self.article_id, self.channel, self.from, self.to).map_err(AppError::Validation)?;
        if filter.article_id.is_none() && filter.channel.is_none() && filter.range.is_open() {
            return Err(AppError::field(
                "article_id",
                "give at least one filter (article_id, channel, from or to); deleting every event is not allowed",
            ));
        }
        Ok(filter)
    }
}

impl ShareStatsParams {
    /// The typed statistics request (ranges end `today` by default), or
    /// every field's problem at once.
    pub(super) fn parse(self, today: NaiveDate) -> Result<StatsQuery, AppError> {
        let group_by = parse_group_by(self.group_by);
        let range = DayRange::for_stats(
            optional_text(self.from).as_deref(),
            optional_text(self.to).as_deref(),
            today,
        );
        let article_id = parse_article_id(self.article_id);
        let channel = parse_channel(self.channel);
        let limit = parse_limit(self.limit);
        match (group_by, range, article_id, channel, limit) {
            (Ok(group_by), Ok(range), Ok(article_id), Ok(channel), Ok(limit)) => Ok(StatsQuery {
                group_by,
                range,
                article_id,
                channel,
                limit,
            }),
            (group_by, range, article_id, channel, limit) => {
                let mut errors: Vec<FieldError> = group_by.err().into_iter().collect();
                errors.extend(range.err().into_iter().flatten());
                errors.extend(article_id.err());
                errors.extend(channel.err());
                errors.extend(limit.err());
                Err(AppError::Validation(errors))
            }
        }
    }
}
