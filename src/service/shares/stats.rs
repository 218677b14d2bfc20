//! Share statistics from the daily rollups, with the author rule.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use crate::db::shares::StatsFilter;
use crate::db::{self, Db};
use crate::domain::Role;
use crate::domain::share::{DayRange, GroupBy, ShareChannel};
use crate::error::AppError;

/// A validated statistics request.
#[derive(Debug, Clone)]
pub struct StatsQuery {
    pub group_by: GroupBy,
    pub range: DayRange,
    pub article_id: Option<i64>,
    pub channel: Option<ShareChannel>,
    /// `group_by=article`: how many articles to list.
    pub limit: i64,
}

/// One group of the statistics.
#[derive(Debug, Clone)]
pub struct StatsRow {
    pub key: String,
    pub count: i64,
    /// `group_by=article`: the article's slug and title.
    pub article: Option<(String, String)>,
}

pub struct Stats {
    pub total: i64,
    pub rows: Vec<StatsRow>,
}

/// Who asks for statistics. Authors may see those of their own articles
/// only (an `article_id` they wrote); editors and admins see everything.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub editor_id: i64,
    pub role: Role,
}

pub async fn stats(db: &Db, viewer: Viewer, q: StatsQuery) -> Result<Stats, AppError> {
    db.read(move |conn| {
        if !viewer.role.includes(Role::Editor) {
            let own = match q.article_id {
                Some(id) => db::articles::find(conn, id)?.is_some_and(|a| a.author_id == viewer.editor_id),
                None => false,
            };
            if !own {
                return Err(AppError::forbidden(
                    "Authors may see the statistics of their own articles only: pass the `article_id` of one.",
                ));
            }
        }
        let filter = StatsFilter {
            range: q.range,
            article_id: q.article_id,
            channel: q.channel,
        };
        let by_channel = db::shares::stats_by_channel(conn, &filter)?;
        let total = by_channel.iter().map(|(_, n)| n).sum();
        let rows = match q.group_by {
            GroupBy::Channel => channel_rows(by_channel, q.channel),
            GroupBy::Day => day_rows(db::shares::stats_by_day(conn, &filter)?, q.range),
            GroupBy::Article => {
                let top = db::shares::stats_by_article(conn, &filter, q.limit)?;
                let ids: Vec<i64> = top.iter().map(|(id, _)| *id).collect();
                article_rows(top, db::shares::article_labels(conn, &ids)?)
            }
        };
        Ok(Stats { total, rows })
    })
    .await
}

/// Every channel (or the one asked for), most shared first, zeros included.
fn channel_rows(by_channel: Vec<(ShareChannel, i64)>, only: Option<ShareChannel>) -> Vec<StatsRow> {
    let found: BTreeMap<ShareChannel, i64> = by_channel.into_iter().collect();
    let mut rows: Vec<StatsRow> = ShareChannel::ALL
        .into_iter()
        .filter(|c| only.is_none_or(|only| only == *c))
        .map(|c| StatsRow {
            key: c.as_str().to_string(),
            count: found.get(&c).copied().unwrap_or(0),
            article: None,
        })
        .collect();
    // Stable: equal counts keep the canonical channel order.
    rows.sort_by_key(|r| std::cmp::Reverse(r.count));
    rows
}

/// Every day of the range, oldest first, zeros included.
fn day_rows(by_day: Vec<(NaiveDate, i64)>, range: DayRange) -> Vec<StatsRow> {
    let found: HashMap<NaiveDate, i64> = by_day.into_iter().collect();
    range
        .days()
        .map(|d| StatsRow {
            key: d.format("%Y-%m-%d").to_string(),
            count: found.get(&d).copied().unwrap_or(0),
            article: None,
        })
        .collect()
}

/// The most shared articles, labelled with their slug and title.
fn article_rows(top: Vec<(i64, i64)>, labels: Vec<(i64, String, String)>) -> Vec<StatsRow> {
    let labels: HashMap<i64, (String, String)> = labels
        .into_iter()
        .map(|(id, slug, title)| (id, (slug, title)))
        .collect();
    top.into_iter()
        .map(|(id, count)| StatsRow {
            key: id.to_string(),
            count,
            article: labels.get(&id).cloned(),
        })
        .collect()
}
