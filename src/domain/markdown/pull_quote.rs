//! Pull quotes: a blockquote whose first line is `[!PULLQUOTE]` (the shape
//! of GitHub's `> [!NOTE]` alerts, which editors already know):
//!
//! ```markdown
//! > [!PULLQUOTE]
//! > The best tram is the one that runs.
//! ```
//!
//! renders as `<figure class="pull-quote"><blockquote>…</blockquote></figure>`,
//! so a frontend can style it apart from a quotation; any other blockquote
//! stays a plain `<blockquote>`. The marker may also start the quote's first
//! line (`> [!PULLQUOTE] The best tram…`) and is case-insensitive.

use pulldown_cmark::{CowStr, Event, Tag, TagEnd, TextMergeStream};

/// The line that makes a blockquote a pull quote.
pub const MARKER: &str = "[!PULLQUOTE]";
/// What a pull quote is wrapped in (the sanitiser keeps this one class).
pub const OPEN: &str = "<figure class=\"pull-quote\">";
pub const CLOSE: &str = "</figure>";

/// `events` with every pull quote wrapped in [`OPEN`]…[`CLOSE`] and its
/// marker removed, and the text of each pull quote in order.
pub fn mark<'a>(events: impl Iterator<Item = Event<'a>>) -> (Vec<Event<'a>>, Vec<String>) {
    let input: Vec<Event<'a>> = TextMergeStream::new(events).collect();
    let mut out = Vec::with_capacity(input.len() + 4);
    let mut quotes = Vec::new();
    // Per open blockquote: where a pull quote's content starts in `out`.
    let mut open: Vec<Option<usize>> = Vec::new();
    let mut i = 0;
    while i < input.len() {
        let event = input[i].clone();
        i += 1;
        match event {
            Event::Start(Tag::BlockQuote(kind)) => match strip_marker(&input[i..]) {
                Some((skip, rest)) => {
                    out.push(Event::Html(CowStr::Borrowed(OPEN)));
                    out.push(Event::Start(Tag::BlockQuote(kind)));
                    open.push(Some(out.len()));
                    out.extend(rest);
                    i += skip;
                }
                None => {
                    open.push(None);
                    out.push(Event::Start(Tag::BlockQuote(kind)));
                }
            },
            Event::End(TagEnd::BlockQuote(kind)) => {
                let start = open.pop().flatten();
                if let Some(start) = start {
                    quotes.push(one_line(&out[start..]));
                }
                out.push(Event::End(TagEnd::BlockQuote(kind)));
                if start.is_some() {
                    out.push(Event::Html(CowStr::Borrowed(CLOSE)));
                }
            }
            other => out.push(other),
        }
    }
    (out, quotes)
}

/// When `after` (the events after a blockquote's start) begins with the
/// marker: how many events it replaces, and what goes in their place.
fn strip_marker<'a>(after: &[Event<'a>]) -> Option<(usize, Vec<Event<'a>>)> {
    let (Some(Event::Start(Tag::Paragraph)), Some(Event::Text(first))) = (after.first(), after.get(1)) else {
        return None;
    };
    let head = first.get(..MARKER.len())?;
    if !head.eq_ignore_ascii_case(MARKER) {
        return None;
    }
    let rest = first[MARKER.len()..].trim_start();
    if !rest.is_empty() {
        // `> [!PULLQUOTE] The quote…`: keep the paragraph, minus the marker.
        let text = Event::Text(CowStr::from(rest.to_string()));
        return Some((2, vec![Event::Start(Tag::Paragraph), text]));
    }
    match after.get(2) {
        // The marker alone on the first line of a paragraph.
        Some(Event::SoftBreak | Event::HardBreak) => Some((3, vec![Event::Start(Tag::Paragraph)])),
        // The marker as a paragraph of its own.
        Some(Event::End(TagEnd::Paragraph)) => Some((3, vec![])),
        _ => None,
    }
}

/// The words of `events` on one line.
fn one_line(events: &[Event<'_>]) -> String {
    let mut text = String::new();
    for event in events {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(t),
            Event::SoftBreak | Event::HardBreak | Event::End(TagEnd::Paragraph) => text.push(' '),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::{options, render};
    use super::*;
    use pulldown_cmark::Parser;

    fn quotes(markdown: &str) -> Vec<String> {
        mark(Parser::new_ext(markdown, options())).1
    }

    #[test]
    fn every_form_of_the_marker_makes_a_pull_quote() {
        let expected = vec!["The best tram is the one that runs.".to_string()];
        for md in [
            "> [!PULLQUOTE]\n> The best tram is the one that runs.",
            "> [!pullquote]\n>\n> The best tram is the one that runs.",
            "> [!PULLQUOTE] The best tram is\n> the one that runs.",
        ] {
            assert_eq!(quotes(md), expected, "{md}");
            let html = render(md).html;
            let compact: String = html.split_whitespace().collect();
            assert!(
                compact.starts_with("<figureclass=\"pull-quote\"><blockquote><p>Thebest"),
                "{md}: {html}"
            );
            assert!(html.trim_end().ends_with("</blockquote>\n</figure>"), "{html}");
            assert!(!html.contains("PULLQUOTE"), "{html}");
        }
    }

    #[test]
    fn other_blockquotes_and_text_stay_as_they_were() {
        for md in [
            "> A quotation.",
            "> Not [!PULLQUOTE] at the start.",
            "[!PULLQUOTE]\n\nNot in a quote.",
            "```\n> [!PULLQUOTE]\n```",
        ] {
            assert!(quotes(md).is_empty(), "{md}");
            assert!(!render(md).html.contains("pull-quote"), "{md}");
        }
    }

    #[test]
    fn nested_quotes_close_in_order() {
        let md = "> [!PULLQUOTE]\n> Outer\n>\n> > inner\n\n> plain";
        let r = render(md);
        assert_eq!(r.pull_quotes, vec!["Outer inner".to_string()]);
        assert_eq!(r.html.matches("<figure").count(), 1);
        assert_eq!(r.html.matches("</figure>").count(), 1);
        assert_eq!(r.html.matches("<blockquote>").count(), 3);
    }

    #[test]
    fn the_class_cannot_carry_anything_else() {
        let html = render("<figure class=\"pull-quote evil\" onclick=\"x()\">hi</figure>").html;
        assert!(!html.contains("onclick") && !html.contains("evil"), "{html}");
    }
}
