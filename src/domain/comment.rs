//! Reader comments: moderation states, the rule that picks a new comment's
//! status, and how a plain-text body becomes safe HTML.
//!
//! Invariants owned here:
//! - `body` is plain text and is never trusted as HTML: [`render_body`]
//!   escapes every character that means something in HTML before adding the
//!   only markup comments may have (`<p>`, `<br>`, and `<a>` for http(s)
//!   URLs with `rel="nofollow ugc noopener"`).
//! - A filled honeypot always means `spam`; more links than allowed always
//!   means `pending`, whatever the moderation mode.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use linkify::{LinkFinder, LinkKind};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

/// Longest accepted comment body, in characters.
pub const BODY_MAX_CHARS: usize = 5000;
/// Longest accepted author name, in characters.
pub const NAME_MAX_CHARS: usize = 100;
/// The `rel` every link in a comment carries: a reader's link is not an
/// endorsement (`nofollow ugc`) and must not reach back into the page
/// (`noopener`).
pub const LINK_REL: &str = "nofollow ugc noopener";

/// Where a comment is in moderation. `pending`: waits for an editor, not
/// public. `approved`: public. `spam`: caught by the honeypot or marked by
/// an editor, never public. `trash`: put aside by an editor, never public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommentStatus {
    Pending,
    Approved,
    Spam,
    Trash,
}

impl CommentStatus {
    pub const ALL: [CommentStatus; 4] = [
        CommentStatus::Pending,
        CommentStatus::Approved,
        CommentStatus::Spam,
        CommentStatus::Trash,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CommentStatus::Pending => "pending",
            CommentStatus::Approved => "approved",
            CommentStatus::Spam => "spam",
            CommentStatus::Trash => "trash",
        }
    }

    pub fn parse(s: &str) -> Option<CommentStatus> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// How the article's `comment_count` moves when a comment goes from
    /// `self` to `to`: only approved comments are counted.
    pub fn count_delta(self, to: CommentStatus) -> i64 {
        match (self == CommentStatus::Approved, to == CommentStatus::Approved) {
            (false, true) => 1,
            (true, false) => -1,
            _ => 0,
        }
    }
}

/// What is known about a new comment when its first status is chosen.
#[derive(Debug, Clone, Copy)]
pub struct Submission {
    /// The honeypot field came back filled.
    pub honeypot_filled: bool,
    /// Links found in the body (see [`count_links`]).
    pub links: usize,
    /// The author sent a valid trust token of an approved comment of
    /// theirs (see [`trust_token`]).
    pub known_author: bool,
}

/// Which new comments wait for an editor (the `COMMENT_MODERATION` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentModeration {
    /// Every comment waits for an editor.
    All,
    /// A reader who sends the trust token of an approved comment of theirs
    /// is published at once; everyone else waits.
    FirstTime,
    /// Comments are approved at once (links and honeypot rules still apply).
    None,
}

/// The status a new comment starts in.
pub fn initial_status(mode: CommentModeration, max_links: u32, s: Submission) -> CommentStatus {
    if s.honeypot_filled {
        return CommentStatus::Spam;
    }
    if s.links > max_links as usize {
        return CommentStatus::Pending;
    }
    match mode {
        CommentModeration::All => CommentStatus::Pending,
        CommentModeration::FirstTime if s.known_author => CommentStatus::Approved,
        CommentModeration::FirstTime => CommentStatus::Pending,
        CommentModeration::None => CommentStatus::Approved,
    }
}

/// How long an approved comment vouches for its author under `first_time`
/// moderation: a trust token naming a comment older than this no longer
/// publishes at once.
pub const TRUST_WINDOW_DAYS: i64 = 365;

const TRUST_PREFIX: &str = "ct1";

fn trust_mac(key: &[u8], comment_id: i64, email: &str) -> Hmac<Sha256> {
    // Any key length is valid for HMAC; `new_from_slice` cannot fail here.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    // Domain separation: nothing else the server signs starts this way.
    mac.update(b"broadsheet comment trust v1\0");
    mac.update(comment_id.to_string().as_bytes());
    mac.update(b"\0");
    mac.update(email.as_bytes());
    mac
}

/// The trust token issued with comment `comment_id` by `email` (lower-cased):
/// `ct1.{id}.{HMAC-SHA-256, base64url}`. Once an editor approves that
/// comment, the reader's client sends the token back with the next comment
/// to be published at once under `first_time` moderation.
pub fn trust_token(key: &[u8], comment_id: i64, email: &str) -> String {
    let tag = trust_mac(key, comment_id, email).finalize().into_bytes();
    format!("{TRUST_PREFIX}.{comment_id}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The comment id a trust token vouches with, if `token` was issued by
/// this server for `email`; `None` for anything forged, altered or issued
/// to another address. Constant-time comparison.
pub fn read_trust_token(key: &[u8], token: &str, email: &str) -> Option<i64> {
    let mut parts = token.splitn(3, '.');
    let (prefix, id, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if prefix != TRUST_PREFIX || tag.len() > 64 {
        return None;
    }
    let id: i64 = id.parse().ok().filter(|id| *id > 0)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    trust_mac(key, id, email).verify_slice(&tag).ok()?;
    Some(id)
}

/// Whether a comment at `parent_depth` may get a reply, when the deepest
/// reply allowed is at depth `max_depth` (`COMMENT_MAX_DEPTH`; a top-level
/// comment is depth 0, so 0 means no replies at all).
pub fn reply_allowed(parent_depth: i32, max_depth: u32) -> bool {
    i64::from(parent_depth) < i64::from(max_depth)
}

fn url_finder() -> LinkFinder {
    let mut finder = LinkFinder::new();
    finder.kinds(&[LinkKind::Url]);
    finder
}

fn is_web_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// How many links a body holds, for the "too many links" rule. Counts what
/// a reader could follow: URLs with a scheme and bare `www.` addresses,
/// since spam often leaves the scheme out to dodge exactly this count.
pub fn count_links(body: &str) -> usize {
    let mut finder = url_finder();
    finder.url_must_have_scheme(false);
    finder
        .links(body)
        .filter(|link| {
            let text = link.as_str();
            text.contains("://") || text.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("www."))
        })
        .count()
}

/// Escapes text for use in HTML content and in double-quoted attributes.
pub fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Renders a plain-text body as HTML: everything escaped, paragraphs split
/// on blank lines (`<p>`), single line breaks kept (`<br>`), and `http(s)`
/// URLs turned into links with `rel="nofollow ugc noopener"`.
pub fn render_body(body: &str) -> String {
    let normalized = body.replace("\r\n", "\n").replace('\r', "\n");
    let finder = url_finder();
    let mut html = String::with_capacity(normalized.len() + normalized.len() / 4);
    let mut paragraph: Vec<&str> = Vec::new();
    let mut lines = normalized.lines().map(str::trim_end).peekable();
    while let Some(line) = lines.next() {
        if !line.trim().is_empty() {
            paragraph.push(line);
        }
        let paragraph_ends = line.trim().is_empty() || lines.peek().is_none();
        if paragraph_ends && !paragraph.is_empty() {
            html.push_str("<p>");
            for (i, line) in paragraph.iter().enumerate() {
                if i > 0 {
                    html.push_str("<br>\n");
                }
                push_linked(&finder, line, &mut html);
            }
            html.push_str("</p>\n");
            paragraph.clear();
        }
    }
    html.truncate(html.trim_end().len());
    html
}

fn push_linked(finder: &LinkFinder, line: &str, out: &mut String) {
    let mut rest_start = 0;
    for link in finder.links(line) {
        if !is_web_url(link.as_str()) {
            continue;
        }
        escape_html(&line[rest_start..link.start()], out);
        out.push_str("<a href=\"");
        escape_html(link.as_str(), out);
        out.push_str("\" rel=\"");
        out.push_str(LINK_REL);
        out.push_str("\">");
        escape_html(link.as_str(), out);
        out.push_str("</a>");
        rest_start = link.end();
    }
    escape_html(&line[rest_start..], out);
}

// Query shapes: what the comment lists ask of `db`.

/// Where a cursor-mode page starts: after the comment with these keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    pub created_at: NaiveDateTime,
    pub id: i64,
}

/// What the moderation queue asks for.
#[derive(Debug, Clone, Default)]
pub struct AdminFilter {
    pub status: Option<CommentStatus>,
    pub article_id: Option<i64>,
    /// Case-insensitive substring of the body, author name or email.
    pub query: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_count_only_approved() {
        for s in CommentStatus::ALL {
            assert_eq!(CommentStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CommentStatus::parse("deleted"), None);
        assert_eq!(CommentStatus::Pending.count_delta(CommentStatus::Approved), 1);
        assert_eq!(CommentStatus::Approved.count_delta(CommentStatus::Spam), -1);
        assert_eq!(CommentStatus::Approved.count_delta(CommentStatus::Approved), 0);
        assert_eq!(CommentStatus::Spam.count_delta(CommentStatus::Trash), 0);
    }

    #[test]
    fn paragraphs_and_line_breaks() {
        assert_eq!(render_body("one"), "<p>one</p>");
        assert_eq!(
            render_body("line one\nline two\n\n\nsecond paragraph\r\n"),
            "<p>line one<br>\nline two</p>\n<p>second paragraph</p>"
        );
        assert_eq!(render_body("a\r\n\r\nb"), "<p>a</p>\n<p>b</p>");
        assert_eq!(render_body("a\n   \nb"), "<p>a</p>\n<p>b</p>");
        assert_eq!(render_body("\n\n"), "");
    }

    #[test]
    fn markup_comes_back_inert() {
        let html = render_body("<script>alert('x')</script> & <b onclick=\"y\">hi</b>");
        assert_eq!(
            html,
            "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b onclick=&quot;y&quot;&gt;hi&lt;/b&gt;</p>"
        );
        assert!(!html.contains("<script") && !html.contains("<b "));
    }

    #[test]
    fn web_urls_become_nofollow_links_and_nothing_else_does() {
        assert_eq!(
            render_body("See https://example.com/a?b=1&c=2."),
            "<p>See <a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"nofollow ugc noopener\">\
             https://example.com/a?b=1&amp;c=2</a>.</p>"
        );
        assert_eq!(
            render_body("(http://example.org/x)"),
            "<p>(<a href=\"http://example.org/x\" rel=\"nofollow ugc noopener\">http://example.org/x</a>)</p>"
        );
        for not_linked in [
            "javascript:alert(1)",
            "ftp://example.com/file",
            "www.example.com",
            "mail me at a@example.com",
        ] {
            assert!(!render_body(not_linked).contains("<a "), "{not_linked}");
        }
        // A quote cannot break out of the attribute.
        let html = render_body("https://example.com/\"onmouseover=alert(1)");
        assert!(
            !html.contains("\" onmouseover") && !html.contains("\"onmouseover"),
            "{html}"
        );
    }

    #[test]
    fn links_are_counted_with_or_without_scheme() {
        assert_eq!(count_links("no links here, e.g. node.js or 3.14"), 0);
        assert_eq!(count_links("https://a.example/x and http://b.example"), 2);
        assert_eq!(
            count_links("visit www.cheap.example now, and https://c.example"),
            2
        );
        assert_eq!(count_links("reach me at someone@example.com"), 0);
    }

    #[test]
    fn initial_status_rules() {
        use CommentModeration::*;
        let plain = Submission {
            honeypot_filled: false,
            links: 0,
            known_author: false,
        };
        assert_eq!(initial_status(All, 2, plain), CommentStatus::Pending);
        assert_eq!(initial_status(None, 2, plain), CommentStatus::Approved);
        assert_eq!(initial_status(FirstTime, 2, plain), CommentStatus::Pending);
        let known = Submission {
            known_author: true,
            ..plain
        };
        assert_eq!(initial_status(FirstTime, 2, known), CommentStatus::Approved);
        assert_eq!(initial_status(All, 2, known), CommentStatus::Pending);
        let linky = Submission { links: 3, ..known };
        assert_eq!(initial_status(None, 2, linky), CommentStatus::Pending);
        assert_eq!(initial_status(FirstTime, 2, linky), CommentStatus::Pending);
        assert_eq!(initial_status(None, 3, linky), CommentStatus::Approved);
        let bot = Submission {
            honeypot_filled: true,
            ..known
        };
        assert_eq!(initial_status(None, 2, bot), CommentStatus::Spam);
    }

    #[test]
    fn depth_limit() {
        assert!(reply_allowed(0, 5));
        assert!(reply_allowed(4, 5));
        assert!(!reply_allowed(5, 5));
        assert!(reply_allowed(0, 1));
        assert!(!reply_allowed(1, 1));
        assert!(!reply_allowed(0, 0));
    }

    mod properties {
        use super::super::*;
        use crate::domain::markdown::unsafe_markup;
        use proptest::prelude::*;

        /// The only tags `render_body` writes itself.
        fn strip_own_tags(html: &str) -> Result<String, String> {
            let mut out = String::new();
            let mut rest = html;
            while let Some(i) = rest.find('<') {
                out.push_str(&rest[..i]);
                let tag = &rest[i..];
                let own = ["<p>", "</p>", "<br>", "</a>"]
                    .into_iter()
                    .find(|t| tag.starts_with(t));
                let len = match own {
                    Some(t) => t.len(),
                    None if tag.starts_with("<a href=\"http") => tag.find('>').ok_or("unterminated <a>")? + 1,
                    None => return Err(format!("foreign tag at {:?}", &tag[..tag.len().min(40)])),
                };
                rest = &tag[len..];
            }
            out.push_str(rest);
            Ok(out)
        }

        fn body() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    any::<String>(),
                    Just("<script>alert(1)</script>".to_string()),
                    Just("<img src=x onerror=alert(1)>".to_string()),
                    Just("https://example.com/?a=<b>&c=\"d\"".to_string()),
                    Just("javascript:alert(1)".to_string()),
                    Just("www.example.com/<svg>".to_string()),
                    Just("\r\n\n".to_string()),
                    "[a-z<>\"'&:/. \n]{0,20}",
                ],
                0..10,
            )
            .prop_map(|parts| parts.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Every `<` of the reader's text arrives escaped; the only tags
            /// are the renderer's own, and its links are http(s).
            #[test]
            fn comment_html_never_carries_raw_markup(text in body()) {
                let html = render_body(&text);
                let stripped = strip_own_tags(&html).map_err(|e| TestCaseError::fail(format!("{e}: {html}")))?;
                prop_assert!(!stripped.contains('<') && !stripped.contains('>'), "{}", html);
                prop_assert_eq!(unsafe_markup(&html), None, "{}", html);
            }
        }
    }

    #[test]
    fn trust_tokens_verify_only_for_their_email() {
        let key = b"a key of some length for the tests";
        let token = trust_token(key, 42, "ana@example.com");
        assert!(token.starts_with("ct1.42."));
        assert_eq!(read_trust_token(key, &token, "ana@example.com"), Some(42));
        assert_eq!(read_trust_token(key, &token, "bo@example.com"), None);
        assert_eq!(read_trust_token(b"another key", &token, "ana@example.com"), None);
        let forged = token.replace("ct1.42.", "ct1.43.");
        assert_eq!(read_trust_token(key, &forged, "ana@example.com"), None);
        for junk in ["", "ct1", "ct1.x.y", "ct1.-1.AAAA", "ct2.42.AAAA", "ct1.42.!!"] {
            assert_eq!(read_trust_token(key, junk, "ana@example.com"), None, "{junk}");
        }
    }
}
