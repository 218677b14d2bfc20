//! Article bodies: Markdown in, sanitised HTML out, rendered once on write.
//!
//! pulldown-cmark renders CommonMark (plus tables, strikethrough and
//! footnotes); ammonia then removes anything that could run in a reader's
//! browser: `<script>`, `on*=` handlers, `style`, `javascript:` and other
//! non-web URL schemes. Raw HTML in the Markdown goes through the same
//! filter, so an editor can write `<em>` but not `<script>`. Links get
//! `rel="noopener noreferrer"`.
//!
//! Rendering cost grows with nesting faster than with size: 32,000 nested
//! `>` or `<div>` took seconds (quadratic in the depth). [`check_cost`]
//! refuses such bodies in one linear pass before anything is rendered.

use std::sync::OnceLock;

use pulldown_cmark::{Event, Options, Parser, TagEnd, html};

mod cost;
pub mod pull_quote;

pub use cost::{MAX_NESTING, check_cost};

/// Words per minute used for `reading_time_minutes`.
pub const WORDS_PER_MINUTE: usize = 200;
/// Length of a derived excerpt, in characters.
pub const EXCERPT_CHARS: usize = 240;

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_FOOTNOTES
}

fn sanitizer() -> &'static ammonia::Builder<'static> {
    static BUILDER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    BUILDER.get_or_init(|| {
        let mut builder = ammonia::Builder::default();
        builder
            .url_schemes(["http", "https", "mailto"].into_iter().collect())
            .link_rel(Some("noopener noreferrer"))
            // The one class Markdown writes (see `pull_quote`).
            .add_allowed_classes("figure", ["pull-quote"]);
        builder
    })
}

/// A body rendered once, on write.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Sanitised HTML.
    pub html: String,
    /// What a reader reads, without markup: blocks (paragraphs, headings,
    /// list items, quotes) separated by a blank line; pull quotes left
    /// out, since they repeat the body (they are in `pull_quotes`).
    pub text: String,
    /// The text of each pull quote, in order.
    pub pull_quotes: Vec<String>,
}

/// Renders Markdown: sanitised HTML with pull quotes marked, the plain
/// text, and the pull quotes, from one parse.
pub fn render(markdown: &str) -> Rendered {
    let (events, pull_quotes) = pull_quote::mark(Parser::new_ext(markdown, options()));
    let text = text_of(&events);
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, events.into_iter());
    Rendered {
        html: sanitizer().clean(&raw).to_string(),
        text,
        pull_quotes,
    }
}

/// Renders Markdown to sanitised HTML.
pub fn to_html(markdown: &str) -> String {
    render(markdown).html
}

/// The text of marked events (see [`Rendered::text`]).
fn text_of(events: &[Event<'_>]) -> String {
    let mut text = String::new();
    let mut in_pull_quote = 0usize;
    for event in events {
        match event {
            Event::Html(h) if h.as_ref() == pull_quote::OPEN => in_pull_quote += 1,
            Event::Html(h) if h.as_ref() == pull_quote::CLOSE => {
                in_pull_quote = in_pull_quote.saturating_sub(1)
            }
            _ if in_pull_quote > 0 => {}
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            Event::SoftBreak => text.push(' '),
            Event::HardBreak => text.push('\n'),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::CodeBlock) => {
                while text.ends_with([' ', '\n']) {
                    text.pop();
                }
                text.push_str("\n\n");
            }
            _ => {}
        }
    }
    text.trim().to_string()
}

/// Sanitises a fragment of HTML with the article rules (for tests and for
/// any HTML that does not come from Markdown).
pub fn sanitize(html: &str) -> String {
    sanitizer().clean(html).to_string()
}

/// The first thing in `html` that could run script in a reader's browser,
/// described, or `None`: a script-capable element, an event-handler or
/// `style` attribute, or a URL attribute whose scheme is not http, https or
/// mailto (after the whitespace and control characters browsers ignore).
///
/// Reads serialised HTML as `to_html` and `comment::render_body` write it
/// (text `<` always escaped, attribute values double-quoted). The invariant
/// checked by the property tests and the `markdown` fuzz target.
pub fn unsafe_markup(html: &str) -> Option<String> {
    const ELEMENTS: [&str; 12] = [
        "script", "iframe", "frame", "object", "embed", "style", "svg", "math", "form", "base", "meta",
        "link",
    ];
    const URL_ATTRIBUTES: [&str; 9] = [
        "href",
        "src",
        "action",
        "formaction",
        "xlink:href",
        "background",
        "poster",
        "data",
        "srcset",
    ];
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let tag = &rest[start + 1..];
        // The tag runs to the first `>` outside a quoted value.
        let mut in_quote = false;
        let end = tag
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    in_quote = !in_quote;
                }
                c == '>' && !in_quote
            })
            .map(|(i, _)| i)
            .unwrap_or(tag.len());
        let inside = &tag[..end];
        rest = tag.get(end + 1..).unwrap_or("");
        let mut parts = inside
            .trim_start_matches('/')
            .splitn(2, |c: char| c.is_whitespace());
        let name = parts.next().unwrap_or("").to_ascii_lowercase();
        if ELEMENTS.contains(&name.as_str()) {
            return Some(format!("element <{name}>"));
        }
        let mut attrs = parts.next().unwrap_or("");
        while !attrs.trim().is_empty() {
            let trimmed = attrs.trim_start();
            let name_end = trimmed
                .find(|c: char| c == '=' || c.is_whitespace())
                .unwrap_or(trimmed.len());
            let attr = trimmed[..name_end].to_ascii_lowercase();
            let after = &trimmed[name_end..];
            let (value, remainder) = match after.strip_prefix("=\"") {
                Some(v) => match v.find('"') {
                    Some(q) => (&v[..q], &v[q + 1..]),
                    None => (v, ""),
                },
                None => ("", after),
            };
            attrs = remainder;
            if attr.starts_with("on") || attr == "style" {
                return Some(format!("attribute {attr} on <{name}>"));
            }
            if URL_ATTRIBUTES.contains(&attr.as_str()) && has_unsafe_scheme(value) {
                return Some(format!("{attr}=\"{value}\" on <{name}>"));
            }
        }
    }
    None
}

/// True when a URL attribute's `value` has a scheme a browser would follow
/// other than http, https or mailto (after the whitespace and control
/// characters browsers ignore).
fn has_unsafe_scheme(value: &str) -> bool {
    let url: String = value
        .replace("&amp;", "&")
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    let Some(i) = url
        .find([':', '/', '?', '#'])
        .filter(|&i| url[i..].starts_with(':'))
    else {
        return false;
    };
    let scheme = &url[..i];
    // What a browser takes for a scheme (WHATWG URL: a letter, then
    // letters, digits, `+`, `-`, `.`); anything else before the colon
    // (`htt%EF%BF%BDs:`) makes the whole value a relative path, which is
    // harmless.
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme && !matches!(scheme, "http" | "https" | "mailto")
}

/// The text a reader sees, without markup: for word counts and excerpts
/// (see [`Rendered::text`]).
pub fn plain_text(markdown: &str) -> String {
    let (events, _) = pull_quote::mark(Parser::new_ext(markdown, options()));
    text_of(&events)
}

pub fn word_count(plain: &str) -> usize {
    plain.split_whitespace().count()
}

/// Whole minutes, rounded up; at least 1 for any text, 0 for none.
pub fn reading_time_minutes(words: usize) -> usize {
    words.div_ceil(WORDS_PER_MINUTE)
}

/// The first [`EXCERPT_CHARS`] characters of the text, cut at a word
/// boundary, with an ellipsis when cut.
pub fn excerpt(plain: &str) -> String {
    let words: Vec<&str> = plain.split_whitespace().collect();
    let mut out = String::new();
    for word in words.iter() {
        let extra = if out.is_empty() { 0 } else { 1 } + word.chars().count();
        if out.chars().count() + extra > EXCERPT_CHARS {
            let trimmed = out.trim_end_matches([',', ';', ':', '.', '-']).to_string();
            return format!("{trimmed}…");
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders() {
        let html = to_html("# Title\n\nSome *emphasis* and a [link](https://example.com).\n\n> A pull quote");
        assert!(html.contains("<h1>Title</h1>"));
        assert!(html.contains("<em>emphasis</em>"));
        assert!(html.contains("<a href=\"https://example.com\" rel=\"noopener noreferrer\">link</a>"));
        assert!(html.contains("<blockquote>"));
    }

    #[test]
    fn dangerous_markup_is_removed() {
        let cases = [
            "<script>alert(1)</script>hello",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<div style=\"background:url(javascript:alert(1))\" onclick=\"x()\">y</div>",
            "<svg><script>alert(1)</script></svg>",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
        ];
        for md in cases {
            let html = to_html(md).to_lowercase();
            assert!(!html.contains("<script"), "{md} -> {html}");
            assert!(
                !html.contains("onerror") && !html.contains("onclick"),
                "{md} -> {html}"
            );
            assert!(!html.contains("javascript:"), "{md} -> {html}");
            assert!(!html.contains("<iframe"), "{md} -> {html}");
            assert!(!html.contains("data:text/html"), "{md} -> {html}");
        }
    }

    #[test]
    fn counts_and_excerpts() {
        let md = "# Heading\n\nOne two three.\n\n- four\n- five";
        let text = plain_text(md);
        assert_eq!(word_count(&text), 6);
        assert_eq!(reading_time_minutes(0), 0);
        assert_eq!(reading_time_minutes(1), 1);
        assert_eq!(reading_time_minutes(200), 1);
        assert_eq!(reading_time_minutes(201), 2);
        let long = "word ".repeat(200);
        let ex = excerpt(&long);
        assert!(ex.ends_with('…'));
        assert!(ex.chars().count() <= EXCERPT_CHARS + 1);
        assert_eq!(excerpt("Short text."), "Short text.");
    }

    #[test]
    fn unsafe_markup_spots_what_it_should() {
        assert_eq!(
            unsafe_markup("<p>fine <a href=\"https://x\" rel=\"noopener\">x</a></p>"),
            None
        );
        assert_eq!(unsafe_markup("<p>a &lt;script&gt; in text</p>"), None);
        assert_eq!(unsafe_markup("<a href=\"/relative\">x</a>"), None);
        // Not a scheme to a browser (found by the fuzzer): a relative path.
        assert_eq!(
            unsafe_markup("<a href=\"htt%EF%BF%BDs://example.com\">x</a>"),
            None
        );
        for bad in [
            "<script>x</script>",
            "<SCRIPT>x</SCRIPT>",
            "<img src=\"x\" onerror=\"y\">",
            "<a href=\"javascript:x\">",
            "<a href=\"java\tscript:x\">",
            "<a href=\" JAVASCRIPT:x\">",
            "<a title=\"x>y\" href=\"vbscript:x\">",
            "<div style=\"x\">",
            "<img src=\"data:image/svg+xml,x\">",
            "<a href=\"x-custom+1.0:y\">",
        ] {
            assert!(unsafe_markup(bad).is_some(), "{bad}");
        }
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Pieces an attacker would put in an article body.
        const HOSTILE: [&str; 36] = [
            "<script>alert(1)</script>",
            "<script",
            "</script>",
            "<img src=x onerror=alert(1)>",
            "<IMG SRC=javascript:alert('XSS')>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
            "<a href=\"&#106;avascript:alert(1)\">x</a>",
            "<a href=vbscript:msgbox(1)>x</a>",
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](java\tscript:alert(1))",
            "[x]( javascript:alert(1) )",
            "![i](javascript:alert(1))",
            "[a]: javascript:alert(1)\n\n[b][a]",
            "<svg onload=alert(1)>",
            "<svg><script>alert(1)</script></svg>",
            "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
            "<div style=\"background:url(javascript:alert(1))\" onmouseover=\"y\">z</div>",
            "<iframe src=//evil.example>",
            "<form action=javascript:alert(1)><button>go</button></form>",
            "<object data=javascript:alert(1)>",
            "<base href=javascript:/>",
            "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
            "<details open ontoggle=alert(1)>",
            "<<script>script>alert(1)<</script>/script>",
            "<scr<script>ipt>alert(1)</script>",
            "`<script>`",
            "```\n<script>alert(1)</script>\n```",
            "[^1]\n\n[^1]: <script>alert(1)</script>",
            "|a|b|\n|-|-|\n|<img src=x onerror=y>|2|",
            "\n\n",
            "> ",
            "<!-- <script> -->",
            "<a href='\u{1}javascript:alert(1)'>x</a>",
        ];

        fn body() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    3 => proptest::sample::select(HOSTILE.to_vec()).prop_map(String::from),
                    1 => any::<String>(),
                    1 => "[a-z <>\"'=/:&#;()\\[\\]!*`\n-]{0,30}",
                ],
                0..12,
            )
            .prop_map(|parts| parts.concat())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn rendered_markdown_is_inert(markdown in body()) {
                let html = to_html(&markdown);
                prop_assert_eq!(unsafe_markup(&html), None, "{:?} -> {}", markdown, html);
            }

            /// Parsed again (as a browser does), the output is still inert:
            /// no markup that turns dangerous once re-parsed.
            #[test]
            fn reparsed_output_stays_inert(markdown in body()) {
                let html = to_html(&markdown);
                let reparsed = sanitize(&html);
                prop_assert_eq!(unsafe_markup(&reparsed), None, "{:?} -> {} -> {}", markdown, html, reparsed);
            }

            #[test]
            fn counts_never_panic(markdown in any::<String>()) {
                let text = plain_text(&markdown);
                let words = word_count(&text);
                prop_assert!(reading_time_minutes(words) <= words);
                prop_assert!(excerpt(&text).chars().count() <= EXCERPT_CHARS + 1);
            }
        }

        /// Nested shapes an author could send: quotes, lists and HTML
        /// elements, repeated to any depth and mixed.
        fn nested() -> impl Strategy<Value = String> {
            const SHAPES: [&str; 15] = [
                ">",
                "> ",
                "- ",
                "1. ",
                "  - ",
                "<div>",
                "<blockquote>",
                "<b><i>",
                "</div>",
                "\n",
                "<div/>",
                "<div title=\"<\">",
                "<blockquote/>",
                "</span>",
                "<!-- </div> -->",
            ];
            proptest::collection::vec((proptest::sample::select(SHAPES.to_vec()), 1usize..4_000), 1..4)
                .prop_map(|parts| {
                    let mut body: String = parts.iter().map(|(shape, n)| shape.repeat(*n)).collect();
                    body.push_str(" text");
                    body
                })
        }

        proptest! {
            // Few cases: each may build a large body.
            #![proptest_config(ProptestConfig::with_cases(24))]

            /// Whatever the nesting, a body is refused by the cost check or
            /// renders quickly: the cost never grows unchecked.
            #[test]
            fn nesting_is_refused_or_cheap(markdown in nested()) {
                let started = std::time::Instant::now();
                if check_cost(&markdown).is_ok() {
                    let html = to_html(&markdown);
                    prop_assert_eq!(unsafe_markup(&html), None);
                }
                let took = started.elapsed();
                prop_assert!(took < std::time::Duration::from_secs(2), "took {:?}", took);
            }
        }
    }
}
