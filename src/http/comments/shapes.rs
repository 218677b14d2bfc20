//! The request and response shapes of the comment routes, and their query
//! parameters (each `///` becomes the spec).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::comment::CommentStatus;
use crate::http::pagination::list_schema;
use crate::service::comments::CommentRow;

/// How a comment stands, as the public sees it: `approved` (in the thread)
/// or `pending` (held for moderation; only ever in the answer to the post
/// that created it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublicCommentStatus {
    Pending,
    Approved,
}

/// A comment as the public sees it. It never carries the author's email.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42, "article_id": 7, "parent_id": null, "depth": 0,
    "author_name": "Ana Ruiz", "author_url": "https://ana.example.org",
    "body": "Well argued.\n\nBut see https://example.org/data",
    "body_html": "<p>Well argued.</p>\n<p>But see <a href=\"https://example.org/data\" rel=\"nofollow ugc noopener\">https://example.org/data</a></p>",
    "status": "approved", "removed": false, "created_at": "2026-11-24T09:30:00Z"
}))]
pub struct CommentResponse {
    pub id: i64,
    pub article_id: i64,
    /// The comment this one replies to; null for a top-level comment.
    #[schema(required = true)]
    pub parent_id: Option<i64>,
    /// Nesting level: 0 for a top-level comment, parent's depth + 1 for a reply.
    pub depth: i32,
    /// The name the reader gave; null when the comment was removed.
    #[schema(required = true)]
    pub author_name: Option<String>,
    /// The reader's website, if given; null when the comment was removed.
    #[schema(required = true)]
    pub author_url: Option<String>,
    /// The text as written (plain text, not HTML); empty when removed.
    pub body: String,
    /// `body` as safe HTML: escaped, `<p>` per paragraph, `<br>` per line
    /// break, http(s) URLs linked with `rel="nofollow ugc noopener"`.
    /// Empty when removed.
    pub body_html: String,
    pub status: PublicCommentStatus,
    /// True for a deleted comment kept as a placeholder because it has
    /// replies: show "comment removed" and keep its replies under it.
    pub removed: bool,
    pub created_at: DateTime<Utc>,
}

impl From<CommentRow> for CommentResponse {
    fn from(row: CommentRow) -> Self {
        // Spam and trash show as pending: a bot caught by the honeypot must
        // not be able to tell.
        let status = match row.status() {
            CommentStatus::Approved => PublicCommentStatus::Approved,
            _ => PublicCommentStatus::Pending,
        };
        CommentResponse {
            id: row.id,
            article_id: row.article_id,
            parent_id: row.parent_id,
            depth: row.depth,
            author_name: (!row.removed).then_some(row.author_name),
            author_url: row.author_url.filter(|_| !row.removed),
            body: row.body,
            body_html: row.body_html,
            status,
            removed: row.removed,
            created_at: row.created_at.and_utc(),
        }
    }
}

/// A comment as editors see it, with the author's email.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 42, "article_id": 7, "parent_id": null, "depth": 0,
    "author_name": "Ana Ruiz", "author_email": "ana@example.com", "author_url": null,
    "body": "Well argued.", "body_html": "<p>Well argued.</p>",
    "status": "pending", "removed": false,
    "created_at": "2026-11-24T09:30:00Z", "updated_at": "2026-11-24T09:30:00Z"
}))]
pub struct AdminCommentResponse {
    pub id: i64,
    pub article_id: i64,
    /// The comment this one replies to; null for a top-level comment.
    #[schema(required = true)]
    pub parent_id: Option<i64>,
    /// Nesting level: 0 for a top-level comment.
    pub depth: i32,
    /// Null when the comment was removed.
    #[schema(required = true)]
    pub author_name: Option<String>,
    /// The reader's email (lower-cased); null when the comment was removed.
    #[schema(required = true)]
    pub author_email: Option<String>,
    #[schema(required = true)]
    pub author_url: Option<String>,
    /// The text as written (plain text); empty when removed.
    pub body: String,
    /// `body` as safe HTML; empty when removed.
    pub body_html: String,
    pub status: CommentStatus,
    /// A deleted comment kept as a placeholder because it has replies; it
    /// cannot be changed any more.
    pub removed: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<CommentRow> for AdminCommentResponse {
    fn from(row: CommentRow) -> Self {
        let status = row.status();
        AdminCommentResponse {
            id: row.id,
            article_id: row.article_id,
            parent_id: row.parent_id,
            depth: row.depth,
            author_name: (!row.removed).then_some(row.author_name),
            author_email: (!row.removed).then_some(row.author_email),
            author_url: row.author_url,
            body: row.body,
            body_html: row.body_html,
            status,
            removed: row.removed,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
        }
    }
}

list_schema!(
    CommentList,
    CommentResponse,
    "A page of an article's comments, oldest first."
);
list_schema!(
    AdminCommentList,
    AdminCommentResponse,
    "A page of comments, newest first."
);

/// A reader's comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "author_name": "Ana Ruiz", "author_email": "ana@example.com",
    "author_url": "https://ana.example.org",
    "body": "Well argued.\n\nBut the numbers in the third paragraph are from 2019.",
    "parent_id": null
}))]
pub struct CreateCommentRequest {
    /// Shown with the comment; 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub author_name: String,
    /// Never shown publicly; lets editors reach the reader. A typed email
    /// alone never makes a reader trusted (see `trust_token`).
    #[schema(format = Email, max_length = 254)]
    pub author_email: String,
    /// The reader's website: an absolute http(s) URL.
    #[schema(format = "uri", max_length = 2000)]
    pub author_url: Option<String>,
    /// Plain text, 1–5,000 characters. HTML is shown as typed, not
    /// interpreted; blank lines separate paragraphs; http(s) URLs become links.
    #[schema(min_length = 1, max_length = 5000)]
    pub body: String,
    /// Reply to this comment: an approved comment of the same article,
    /// less deep than `COMMENT_MAX_DEPTH` (default 5; top level is 0).
    pub parent_id: Option<i64>,
    /// Leave empty; bots fill it. Anti-spam honeypot: hide this field from
    /// people (for example with CSS), never from the form.
    pub nickname: Option<String>,
    /// The `trust_token` of an earlier comment by this reader (same
    /// email). Under `first_time` moderation, once an editor has approved
    /// that comment (within the last 365 days), this one is published at
    /// once. Keep it in the reader's browser; it is not a secret of the
    /// site, but whoever holds it is trusted with that email.
    #[schema(
        max_length = 200,
        example = "ct1.42.3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )]
    pub trust_token: Option<String>,
}

/// The answer to a new comment: the comment as the public sees it, and a
/// trust token for the reader's client to keep.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 43, "article_id": 7, "parent_id": null, "depth": 0,
    "author_name": "Ana Ruiz", "author_url": "https://ana.example.org",
    "body": "Well argued.", "body_html": "<p>Well argued.</p>",
    "status": "pending", "removed": false, "created_at": "2026-11-24T09:30:00Z",
    "trust_token": "ct1.43.Xq3b0Zt9H1lTqkq2J8cQ6Yw4u1NnP0Rr5Vv7Ss9Tt2E"
}))]
pub struct PostedCommentResponse {
    #[serde(flatten)]
    pub comment: CommentResponse,
    /// Send it back as `trust_token` with the reader's next comment; it
    /// counts once an editor approves this comment. Issued with every
    /// comment, so the answer looks the same whatever the moderation did.
    /// Absent from a replay of the answer to a retried `Idempotency-Key`
    /// (`Idempotent-Replayed: true`): secrets are never stored; keep the
    /// first answer's.
    #[schema(required = false)]
    pub trust_token: String,
}

/// An editor's change to a comment: moderate it (`status`), correct its
/// text (`body`), or both. At least one is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "approved"}))]
pub struct UpdateCommentRequest {
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub status: Option<CommentStatus>,
    /// The corrected text, 1–5,000 characters; `body_html` follows.
    #[schema(min_length = 1, max_length = 5000)]
    #[serde(default, deserialize_with = "crate::http::extract::not_null")]
    #[schema(nullable = false)]
    pub body: Option<String>,
}

/// Moderate many comments at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ids": [41, 42, 43], "status": "spam"}))]
pub struct BulkModerateRequest {
    /// 1–100 comment ids.
    #[schema(min_items = 1, max_items = 100)]
    pub ids: Vec<i64>,
    /// The status every listed comment gets.
    pub status: CommentStatus,
}

/// What a bulk moderation did.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "spam", "changed": 2, "missing": [43]}))]
pub struct BulkModerateResponse {
    /// The status the comments were given.
    pub status: CommentStatus,
    /// How many comments changed status (those already in it, and removed
    /// placeholders, do not count).
    pub changed: usize,
    /// Requested ids that name no comment.
    pub missing: Vec<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CommentListParams {
    /// Page mode: page number, from 1.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
    /// Cursor mode: empty to start, then the `next_cursor` of the last page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdminCommentListParams {
    /// Page mode: page number, from 1.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<u32>,
    /// Items per page.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u32>,
    /// Cursor mode: empty to start, then the `next_cursor` of the last page.
    pub cursor: Option<String>,
    /// Only comments in this status (for the queue: `pending`).
    #[param(inline)]
    pub status: Option<CommentStatus>,
    /// Only comments on this article.
    pub article_id: Option<i64>,
    /// Case-insensitive text in the body, author name or author email.
    #[param(max_length = 200)]
    pub q: Option<String>,
}
