//! Article bodies: Markdown in, sanitised HTML out, rendered once on write.
//!
//! pulldown-cmark renders CommonMark (plus tables, strikethrough and
//! footnotes); ammonia then removes anything that could run in a reader's
//! browser: `<script>`, `on*=` handlers, `style`, `javascript:` and other
//! non-web URL schemes. Raw HTML in the Markdown goes through the same
//! filter, so an editor can write `<em>` but not `<script>`. Links get
//! `rel="noopener noreferrer"`.

use std::sync::OnceLock;

use pulldown_cmark::{Event, Options, Parser, TagEnd, html};

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
            .link_rel(Some("noopener noreferrer"));
        builder
    })
}

/// Renders Markdown to sanitised HTML.
pub fn to_html(markdown: &str) -> String {
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options()));
    sanitizer().clean(&raw).to_string()
}

/// Sanitises a fragment of HTML with the article rules (for tests and for
/// any HTML that does not come from Markdown).
pub fn sanitize(html: &str) -> String {
    sanitizer().clean(html).to_string()
}

/// The text a reader sees, without markup: for word counts and excerpts.
pub fn plain_text(markdown: &str) -> String {
    let mut text = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            Event::SoftBreak | Event::HardBreak => text.push(' '),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::BlockQuote(_)) => {
                text.push(' ')
            }
            _ => {}
        }
    }
    text
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
}
