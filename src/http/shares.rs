//! Share events: the public "Send this to a friend" button and counts
//! (`/api/v1/articles/{slug}/shares`), and the editor routes for raw
//! events and statistics (`/api/v1/admin/shares…`).
//!
//! Who may do what: anyone may record and read counts of a public article
//! (recording is limited per IP by `RATE_LIMIT_SHARES_PER_MINUTE`). Editors
//! and admins may list and delete events and see every statistic; authors
//! may see the statistics of their own articles only (`article_id` of one
//! they wrote), since raw events and site-wide figures are newsroom data.

mod params;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::share::{ChannelTally, GroupBy, ShareChannel};
use crate::error::AppError;
use crate::http::conditional::{self, CachePolicy, NoStore};
use crate::http::cursor::Keyset;
use crate::http::extract::{Auth, Json, NoParams, guard, known_slug};
use crate::http::pagination;
use crate::http::pagination::list_schema;
use crate::http::query::Query;
use crate::service::shares::ShareEventRow;
use crate::service::shares::{self as service, Press, Recorded, Viewer};
use crate::state::AppState;

use params::EVENTS_SCOPE;
pub use params::{DeleteShareEventsParams, ShareEventListParams, ShareStatsParams};

/// A press of the share button.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "whatsapp"}))]
pub struct RecordShareRequest {
    /// Where the reader is sending the article.
    #[schema(value_type = ShareChannel, example = "whatsapp")]
    pub channel: String,
}

/// Shares of one article per channel; every channel is present.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelCounts {
    /// Sent by email.
    #[schema(example = 12)]
    pub email: i64,
    /// Shared on Facebook.
    #[schema(example = 30)]
    pub facebook: i64,
    /// Posted on X.
    #[schema(example = 25)]
    pub x: i64,
    /// Shared on LinkedIn.
    #[schema(example = 4)]
    pub linkedin: i64,
    /// Sent on WhatsApp.
    #[schema(example = 41)]
    pub whatsapp: i64,
    /// Sent on Telegram.
    #[schema(example = 2)]
    pub telegram: i64,
    /// Posted on Reddit.
    #[schema(example = 3)]
    pub reddit: i64,
    /// The link was copied.
    #[schema(example = 17)]
    pub copy_link: i64,
    /// Any other way.
    #[schema(example = 1)]
    pub other: i64,
}

/// The share counts of an article.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "total": 135,
    "by_channel": {"email": 12, "facebook": 30, "x": 25, "linkedin": 4, "whatsapp": 41,
                   "telegram": 2, "reddit": 3, "copy_link": 17, "other": 1}
}))]
pub struct ShareCountsResponse {
    /// All shares of the article (the article's `share_count`).
    #[schema(example = 135)]
    pub total: i64,
    /// Shares per channel, zeros included.
    pub by_channel: ChannelCounts,
}

impl From<ChannelTally> for ShareCountsResponse {
    fn from(t: ChannelTally) -> Self {
        use ShareChannel as C;
        ShareCountsResponse {
            total: t.total(),
            by_channel: ChannelCounts {
                email: t.get(C::Email),
                facebook: t.get(C::Facebook),
                x: t.get(C::X),
                linkedin: t.get(C::Linkedin),
                whatsapp: t.get(C::Whatsapp),
                telegram: t.get(C::Telegram),
                reddit: t.get(C::Reddit),
                copy_link: t.get(C::CopyLink),
                other: t.get(C::Other),
            },
        }
    }
}

/// One press of a share button. Nothing about the reader is stored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 9001, "article_id": 42, "channel": "x", "created_at": "2026-11-24T09:30:00Z"}))]
pub struct ShareEventResponse {
    /// The event's id, for `DELETE /api/v1/admin/shares/{id}`.
    #[schema(example = 9001)]
    pub id: i64,
    /// The shared article.
    #[schema(example = 42)]
    pub article_id: i64,
    /// Where it was sent.
    #[schema(value_type = ShareChannel, example = "x")]
    pub channel: String,
    /// When the button was pressed (UTC, whole seconds).
    pub created_at: DateTime<Utc>,
}

impl From<ShareEventRow> for ShareEventResponse {
    fn from(row: ShareEventRow) -> Self {
        ShareEventResponse {
            id: row.id,
            article_id: row.article_id,
            channel: row.channel.as_str().to_string(),
            created_at: row.created_at.and_utc(),
        }
    }
}

list_schema!(
    ShareEventList,
    ShareEventResponse,
    "A page of share events, newest first."
);

/// How many events a delete removed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"deleted": 412}))]
pub struct DeletedResponse {
    /// Events removed; every count and statistic already reflects it.
    #[schema(example = 412)]
    pub deleted: u64,
}

/// One group of the statistics.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"key": "2026-11-24", "count": 87}))]
pub struct ShareStatsItem {
    /// The channel, the day (`YYYY-MM-DD`) or the article id (as text), per `group_by`.
    #[schema(example = "2026-11-24")]
    pub key: String,
    /// Shares in this group.
    #[schema(example = 87)]
    pub count: i64,
    /// `group_by=article`: the article's slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// `group_by=article`: the article's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// Share statistics over a range of days.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "group_by": "day", "from": "2026-11-22", "to": "2026-11-24", "total": 190,
    "data": [{"key": "2026-11-22", "count": 0}, {"key": "2026-11-23", "count": 103},
             {"key": "2026-11-24", "count": 87}]
}))]
pub struct ShareStatsResponse {
    /// The grouping used (`day` when none was asked for).
    pub group_by: GroupBy,
    /// First day of the range (UTC).
    pub from: NaiveDate,
    /// Last day of the range (UTC), inclusive.
    pub to: NaiveDate,
    /// All shares in the range (and filters), whatever `limit` left out.
    #[schema(example = 190)]
    pub total: i64,
    /// `day`: every day of the range, oldest first, zeros included.
    /// `channel`: every channel, most shared first, zeros included.
    /// `article`: the most shared articles of the range, most shared first.
    pub data: Vec<ShareStatsItem>,
}

/// Share an article
///
/// Records one press of the "Send this to a friend" button and answers with
/// the article's fresh counts. Nothing about the reader is stored. Limited
/// per client IP (`RATE_LIMIT_SHARES_PER_MINUTE`). The same client pressing
/// the same button again within `SHARE_DEDUP_SECONDS` is not counted twice:
/// it gets `202` with the unchanged counts.
#[utoipa::path(
    operation_id = "recordShare",
    tag = "shares",
    params(("slug" = String, Path, description = "Slug of a published article", example = "its-too-late-now")),
    request_body = RecordShareRequest,
    responses(
        (status = 202, description = "Recorded (or a repeat within the window); the article's counts.", body = ShareCountsResponse),
        (status = 429, response = crate::http::openapi::RateLimited),
    )
)]
#[post("/articles/{slug}/shares")]
pub async fn record_share(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    body: Json<RecordShareRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = crate::http::client::limit(&req, &state.limits.shares, &state.config.trusted_proxies).await?;
    let channel =
        ShareChannel::parse_field("channel", &body.0.channel).map_err(|e| AppError::Validation(vec![e]))?;
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    let press = Press {
        slug: known_slug(slug.into_inner())?,
        channel,
        client_ip: ip,
        user_agent,
    };
    let counts = match state.shares.record(press).await? {
        Recorded::New(c) | Recorded::Duplicate(c) => c,
    };
    Ok(HttpResponse::Accepted()
        .no_store()
        .json(ShareCountsResponse::from(counts)))
}

/// Share counts of an article
///
/// Total and per-channel shares (every channel listed, zeros included),
/// read from maintained counters. Cacheable.
#[utoipa::path(
    operation_id = "getShareCounts",
    tag = "shares",
    params(("slug" = String, Path, description = "Slug of a published article", example = "its-too-late-now")),
    responses(
        (status = 200, description = "The article's share counts.", body = ShareCountsResponse,
         headers(("Surrogate-Key" = String), ("ETag" = String, description = "Strong tag of the body; send as `If-None-Match`."),
                 ("Cache-Control" = String, description = "`public, max-age=CACHE_MAX_AGE_SECONDS`"))),
        (status = 304, description = "Not modified (`If-None-Match`)."),
    )
)]
#[get("/articles/{slug}/shares")]
pub async fn get_share_counts(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    _query: Query<NoParams>,
) -> Result<HttpResponse, AppError> {
    let (article_id, counts) = service::counts(&state.db, known_slug(slug.into_inner())?).await?;
    let response = conditional::json_ok(
        &req,
        &ShareCountsResponse::from(counts),
        CachePolicy::Public {
            max_age: state.config.cache_max_age_seconds,
        },
    )?;
    Ok(conditional::with_keys(
        response,
        crate::service::keys::shares(article_id),
    ))
}

/// List share events
///
/// Raw events, newest first (by time, then id). Page mode (`page`,
/// `per_page`) or cursor mode (`cursor=` to start), which is keyset-based
/// and as fast at any depth. Editors and admins only.
#[utoipa::path(
    operation_id = "listShareEvents",
    tag = "admin-shares",
    security(("bearerAuth" = [])),
    params(ShareEventListParams),
    responses(
        (status = 200, description = "A page of events.", body = ShareEventList,
         headers(("Link" = String, description = "RFC 8288 links to the next and previous pages."))),
    )
)]
#[get("/shares")]
pub async fn list_share_events(
    _auth: Auth<guard::Editor>,
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Query<ShareEventListParams>,
) -> Result<HttpResponse, AppError> {
    let (paging, query) = params.0.parse()?;
    let page = service::list(&state.db, query).await?;
    let last = page.rows.last().map(|r| Keyset {
        key: r.created_at,
        id: r.id,
    });
    let next_cursor = paging.next_cursor(EVENTS_SCOPE, page.has_more, last);
    let data: Vec<ShareEventResponse> = page.rows.into_iter().map(ShareEventResponse::from).collect();
    let body = pagination::page_of(&req, &paging, data, page.total, next_cursor);
    let mut builder = HttpResponse::Ok();
    builder.no_store();
    Ok(pagination::list_response(builder, &body))
}

/// Delete a share event
///
/// Removes one event (bot clean-up); the article's counts and every
/// statistic follow at once. Editors and admins only.
#[utoipa::path(
    operation_id = "deleteShareEvent",
    tag = "admin-shares",
    security(("bearerAuth" = [])),
    params(("id" = i64, Path, description = "Share event id")),
    responses(
        (status = 204, description = "Deleted."),
    )
)]
#[delete("/shares/{id}")]
pub async fn delete_share_event(
    _auth: Auth<guard::Editor>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    service::delete_one(&state.db, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().no_store().finish())
}

/// Delete share events by filter
///
/// Removes every event matching all the given filters (at least one of
/// `article_id`, `channel`, `from`, `to` is required, so the whole table
/// cannot go by mistake); counts and statistics follow in the same
/// transaction. Editors and admins only.
#[utoipa::path(
    operation_id = "deleteShareEvents",
    tag = "admin-shares",
    security(("bearerAuth" = [])),
    params(DeleteShareEventsParams),
    responses(
        (status = 200, description = "How many events were removed.", body = DeletedResponse),
    )
)]
#[delete("/shares")]
pub async fn delete_share_events(
    _auth: Auth<guard::Editor>,
    state: web::Data<AppState>,
    params: Query<DeleteShareEventsParams>,
) -> Result<HttpResponse, AppError> {
    let filter = params.0.parse()?;
    let deleted = service::delete_matching(&state.db, filter).await?;
    Ok(HttpResponse::Ok().no_store().json(DeletedResponse { deleted }))
}

/// Share statistics
///
/// Shares over whole UTC days (`from`–`to`, inclusive, at most 366 days;
/// the last 30 days by default), grouped by `channel`, `day` or `article`,
/// from daily rollups. `day` lists every day of the range with zeros, so a
/// chart needs no gap handling. Editors and admins see everything; authors
/// only their own articles (`article_id` required).
#[utoipa::path(
    operation_id = "getShareStats",
    tag = "admin-shares",
    security(("bearerAuth" = [])),
    params(ShareStatsParams),
    responses(
        (status = 200, description = "The statistics.", body = ShareStatsResponse),
    )
)]
#[get("/shares/stats")]
pub async fn get_share_stats(
    auth: Auth<guard::Author>,
    state: web::Data<AppState>,
    params: Query<ShareStatsParams>,
) -> Result<HttpResponse, AppError> {
    let query = params.0.parse(Utc::now().date_naive())?;
    let (group_by, range) = (query.group_by, query.range);
    let viewer = Viewer {
        editor_id: auth.id,
        role: auth.role,
    };
    let stats = service::stats(&state.db, viewer, query).await?;
    let body = ShareStatsResponse {
        group_by,
        from: range.from,
        to: range.to,
        total: stats.total,
        data: stats
            .rows
            .into_iter()
            .map(|r| {
                let (slug, title) = r.article.unzip();
                ShareStatsItem {
                    key: r.key,
                    count: r.count,
                    slug,
                    title,
                }
            })
            .collect(),
    };
    Ok(HttpResponse::Ok().no_store().json(body))
}
