//! The cost check run before any body is rendered: nesting depth, in one
//! linear pass (see [`check_cost`]).

/// Deepest nesting accepted in a body: block containers (`>` quotes and
/// list items) on one line, or raw HTML elements left open at once.
/// Real articles stay under ten; this leaves room for quoted quotes and
/// generous HTML while keeping the render cost (quadratic in the depth)
/// to milliseconds.
pub const MAX_NESTING: usize = 64;

/// Elements that never nest (void) or that HTML closes by itself when the
/// next one starts: they do not deepen the tree however many are open.
const FLAT_ELEMENTS: [&str; 32] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
    "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb", "rt", "rp", "rtc", "tbody", "thead",
    "tfoot", "colgroup", "caption", "param",
];

/// Refuses a body whose rendering would be disproportionately costly:
/// more than [`MAX_NESTING`] levels of `>` quotes or list markers on one
/// line, or of raw HTML elements open at once. One linear pass over the
/// text; returns a message for the `body_markdown` field.
pub fn check_cost(markdown: &str) -> Result<(), String> {
    let quotes = markdown.lines().map(line_nesting).max().unwrap_or(0);
    if quotes > MAX_NESTING {
        return Err(format!(
            "nests quotes or lists {quotes} levels deep; at most {MAX_NESTING} are accepted"
        ));
    }
    let elements = html_nesting(markdown);
    if elements > MAX_NESTING {
        return Err(format!(
            "nests HTML elements at least {elements} levels deep; at most {MAX_NESTING} are accepted"
        ));
    }
    Ok(())
}

/// Block containers opened at the start of `line`: each `>` and each list
/// marker (`-`, `*`, `+`, `1.`, `1)`), plus one level per two columns of
/// indentation before a marker (how nested lists are written).
fn line_nesting(line: &str) -> usize {
    let (mut markers, mut indent) = (0usize, 0usize);
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches([' ', '\t']);
        let skipped = rest.len() - trimmed.len();
        if let Some(after) = trimmed.strip_prefix('>') {
            (markers, indent, rest) = (markers + 1, indent + skipped, after);
            continue;
        }
        let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
        let marker_len = match trimmed.as_bytes().get(digits) {
            Some(b'-' | b'*' | b'+') if digits == 0 => 1,
            Some(b'.' | b')') if (1..=9).contains(&digits) => digits + 1,
            _ => break,
        };
        let after = &trimmed[marker_len..];
        if !(after.is_empty() || after.starts_with([' ', '\t'])) {
            break;
        }
        (markers, indent, rest) = (markers + 1, indent + skipped, after);
    }
    if markers == 0 { 0 } else { markers + indent / 2 }
}

/// The most raw HTML elements open at once, counting start tags against
/// end tags by name-less depth (an over-estimate for sloppy HTML, which
/// is what a limit wants). Elements in [`FLAT_ELEMENTS`] do not count.
fn html_nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(offset) = text[i..].find('<') {
        let start = i + offset + 1;
        i = start;
        let closing = bytes.get(start) == Some(&b'/');
        let name_start = start + usize::from(closing);
        let name_len = bytes[name_start.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            continue;
        }
        // A tag ends at the next `>`, unless another `<` comes first: then
        // it is text, as in CommonMark (looking no further keeps the pass
        // linear).
        let Some(tag_end) = text[name_start..]
            .find(['<', '>'])
            .map(|e| name_start + e)
            .filter(|&e| bytes[e] == b'>')
        else {
            continue;
        };
        let name = text[name_start..name_start + name_len].to_ascii_lowercase();
        if FLAT_ELEMENTS.contains(&name.as_str()) || text[..tag_end].ends_with('/') {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
            continue;
        }
        depth += 1;
        deepest = deepest.max(depth);
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_costs_a_refusal() {
        assert_eq!(check_cost("> a quote\n> > in a quote\n\n- a\n  - b"), Ok(()));
        assert_eq!(
            check_cost("<div><div><p>x</p></div></div><br><img src=x>"),
            Ok(())
        );
        assert_eq!(check_cost(&"<p>x".repeat(1000)), Ok(()), "implicitly closed");
        assert_eq!(check_cost(&"<br>".repeat(1000)), Ok(()), "void");
        assert_eq!(check_cost(&"<div></div>".repeat(1000)), Ok(()), "siblings");
        assert_eq!(check_cost(&"a < b and c<d ".repeat(1000)), Ok(()), "not tags");
        let at_limit = ">".repeat(MAX_NESTING);
        assert_eq!(check_cost(&at_limit), Ok(()));
        for deep in [
            ">".repeat(MAX_NESTING + 1),
            "> ".repeat(32_000),
            " > - 1. ".repeat(30),
            "<div>".repeat(MAX_NESTING + 1),
            "<blockquote><b>".repeat(40),
            format!("- x\n{}- y", " ".repeat(200)),
        ] {
            assert!(check_cost(&deep).is_err(), "{:?}", &deep[..deep.len().min(40)]);
        }
        // Linear even on unterminated tags.
        let started = std::time::Instant::now();
        assert_eq!(check_cost(&"<a".repeat(100_000)), Ok(()));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
