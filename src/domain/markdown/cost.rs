//! The cost check run before any body is rendered: nesting depth, in one
//! linear pass (see [`check_cost`]).

/// Deepest nesting accepted in a body: block containers (`>` quotes and
/// list items) on one line, or raw HTML elements left open at once.
/// Real articles stay under ten; this leaves room for quoted quotes and
/// generous HTML while keeping the render cost (quadratic in the depth)
/// to milliseconds.
pub const MAX_NESTING: usize = 64;

/// Elements that never nest: void ones (only these are self-closing; HTML
/// ignores `/>` on any other) and ones HTML closes by itself when the next
/// one starts. They do not deepen the tree however many are open.
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

/// The most raw HTML elements open at once, or `MAX_NESTING + 1` as soon
/// as that is reached. One linear pass that errs towards counting deeper.
///
/// Tags are read as the HTML tokenizer reads them: a tag starts at `<` or
/// `</` followed by an ASCII letter and ends at the first `>` outside a
/// quoted attribute value; `/>` closes nothing (HTML ignores it on
/// non-void elements); an unterminated tag counts as opened. A start tag
/// counts wherever it appears, even inside what looks like a quoted value,
/// a comment or a code span (the scanner's view of those may be out of
/// step with the renderer's). An end tag lowers the depth only if it
/// names the innermost open element and stands outside quotes, comments,
/// `<!…>`/`<?…>` declarations, raw-text elements (`<textarea>`,
/// `<script>`…), backtick code spans and backslash escapes: HTML ignores
/// a stray `</span>`, so crediting it would let `<div></span>` nest.
fn html_nesting(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut scan = Scan::default();
    let mut i = 0;
    while i < bytes.len() && scan.open.len() <= MAX_NESTING {
        let b = bytes[i];
        let letter_at = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_alphabetic);
        if b == b'<' && letter_at(i + 1) {
            scan.start(tag_name(&bytes[i + 1..]));
        }
        if scan.tag != Tag::Outside {
            scan.tag = scan.tag.next(b);
            i += 1;
            continue;
        }
        if let Some(end) = scan.comment {
            if bytes[..=i].ends_with(end.as_bytes()) {
                scan.comment = None;
            }
            i += 1;
            continue;
        }
        match b {
            b'`' => {
                let run = bytes[i..].iter().take_while(|&&c| c == b'`').count();
                scan.code = match scan.code {
                    Some(open) if open == run => None,
                    None => Some(run),
                    other => other,
                };
                i += run;
                continue;
            }
            b'\n' if bytes.get(i + 1) == Some(&b'\n') => scan.code = None,
            b'<' if text[i..].starts_with("<!--") => {
                scan.comment = Some("-->");
                i += 4;
                continue;
            }
            b'<' if text[i..].starts_with("<![CDATA[") => {
                scan.comment = Some("]]>");
                i += 9;
                continue;
            }
            b'<' if letter_at(i + 1) => scan.tag = Tag::Name,
            b'<' if bytes.get(i + 1) == Some(&b'/') && letter_at(i + 2) => {
                let escaped = i > 0 && bytes[i - 1] == b'\\';
                if !escaped && scan.code.is_none() {
                    scan.end(tag_name(&bytes[i + 2..]));
                }
                scan.tag = Tag::Name;
                i += 2;
                continue;
            }
            // `<!x`, `<?x`, `</3`: a bogus comment up to the next `>`.
            b'<' if matches!(bytes.get(i + 1), Some(b'!' | b'?' | b'/')) => scan.tag = Tag::Bogus,
            _ => {}
        }
        i += 1;
    }
    scan.deepest
}

/// A tag's name as the HTML tokenizer reads it: up to whitespace, `/` or
/// `>` (so `<br<div>` names one unknown element, which nests). Reads at
/// most 64 bytes, keeping the pass linear: a longer name comes back empty,
/// which names no flat element and matches no end tag (end tags always
/// have a name).
fn tag_name(bytes: &[u8]) -> &[u8] {
    let len = bytes
        .iter()
        .take(65)
        .take_while(|b| !matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>'))
        .count();
    if len > 64 { &[] } else { &bytes[..len] }
}

/// Elements whose content is text up to their own end tag.
const RAW_TEXT: [&str; 10] = [
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "plaintext",
];

/// State of [`html_nesting`]'s pass.
#[derive(Default)]
struct Scan<'a> {
    /// Names of the elements counted open, innermost last (at most
    /// `MAX_NESTING + 1`: the pass stops there).
    open: Vec<&'a [u8]>,
    deepest: usize,
    tag: Tag,
    /// Inside a comment or CDATA section ending with this.
    comment: Option<&'static str>,
    /// Inside a code span opened by this many backticks.
    code: Option<usize>,
    /// Inside this raw-text element: only its own end tag counts.
    raw: Option<&'static str>,
}

impl<'a> Scan<'a> {
    fn start(&mut self, name: &'a [u8]) {
        if FLAT_ELEMENTS
            .iter()
            .any(|f| f.as_bytes().eq_ignore_ascii_case(name))
        {
            return;
        }
        if let Some(raw) = RAW_TEXT.iter().find(|r| r.as_bytes().eq_ignore_ascii_case(name)) {
            self.raw = Some(*raw);
        }
        self.open.push(name);
        self.deepest = self.deepest.max(self.open.len());
    }

    fn end(&mut self, name: &[u8]) {
        if self
            .raw
            .is_some_and(|raw| !raw.as_bytes().eq_ignore_ascii_case(name))
        {
            return;
        }
        if self.open.last().is_some_and(|top| top.eq_ignore_ascii_case(name)) {
            self.open.pop();
            self.raw = None;
        }
    }
}

/// Where the HTML tokenizer is inside a tag: its states from the tag name
/// to the closing `>`, with the same transitions. `Outside` is text;
/// `Bogus` is a bogus comment (`<!x…>`, `<?…>`), which ends at any `>`.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Tag {
    #[default]
    Outside,
    Bogus,
    Name,
    BeforeAttrName,
    AttrName,
    AfterAttrName,
    BeforeValue,
    DoubleQuoted,
    SingleQuoted,
    AfterQuoted,
    Unquoted,
    SelfClosing,
}

impl Tag {
    /// The state after reading `b` in this one.
    fn next(self, b: u8) -> Tag {
        let space = matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ');
        match (self, b) {
            (Tag::DoubleQuoted, b'"') | (Tag::SingleQuoted, b'\'') => Tag::AfterQuoted,
            (Tag::DoubleQuoted | Tag::SingleQuoted, _) => self,
            (_, b'>') => Tag::Outside,
            (Tag::Bogus, _) => self,
            (Tag::BeforeValue, b'"') => Tag::DoubleQuoted,
            (Tag::BeforeValue, b'\'') => Tag::SingleQuoted,
            (Tag::BeforeValue, _) if space => self,
            (Tag::BeforeValue, _) => Tag::Unquoted,
            (Tag::Unquoted, _) if space => Tag::BeforeAttrName,
            (Tag::Unquoted, _) => self,
            (Tag::AttrName | Tag::AfterAttrName, b'=') => Tag::BeforeValue,
            (Tag::AttrName, _) if space => Tag::AfterAttrName,
            (Tag::AfterAttrName, _) if space => self,
            (Tag::Name, _) if space => Tag::BeforeAttrName,
            (_, b'/') => Tag::SelfClosing,
            (Tag::Name | Tag::AttrName, _) => self,
            (_, _) if space => Tag::BeforeAttrName,
            // `=` first in an attribute name is part of the name, as in HTML.
            _ => Tag::AttrName,
        }
    }
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
        assert_eq!(check_cost(&"a < b and c < d ".repeat(1000)), Ok(()), "not tags");
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
        assert_eq!(check_cost(&"<img alt='<'><br/>".repeat(1000)), Ok(()), "void");
        assert_eq!(check_cost(&"<div title=\"<\"></div>".repeat(1000)), Ok(()));
        assert_eq!(check_cost(&"<DIV a=\">\"><b>x</b></DIV>".repeat(1000)), Ok(()));
    }

    /// Shapes HTML nests although a looser scanner would not: `/>` on a
    /// non-void element, `<` or `>` in a quoted value, end tags HTML
    /// ignores (stray, in comments, declarations, raw text, code spans).
    #[test]
    fn hidden_nesting_is_refused_in_linear_time() {
        let started = std::time::Instant::now();
        for (shape, times) in [
            ("<div/>", 33_333),
            ("<div title=\"<\">", 12_500),
            ("<blockquote/>", 15_000),
            ("<div title='>'>", 12_500),
            ("<div a  =\"</div>\">", 1_000),
            ("<div></span>", 1_000),
            ("<div><!-- </div> -->", 1_000),
            ("<div><?</div>", 1_000),
            ("<div><textarea></div></textarea>", 1_000),
            ("<div>`</div>`", 1_000),
            ("<div>\\</div>", 1_000),
            ("<div <div>", 1_000),
        ] {
            let body = shape.repeat(times);
            assert!(check_cost(&body).is_err(), "{shape:?} x {times}");
        }
        // Unterminated quotes and tags count as opened, still linearly.
        assert!(check_cost(&"<div title=\"".repeat(40_000)).is_err());
        let quoted = format!("<a title=\"{}", "</a>".repeat(40_000));
        assert_eq!(check_cost(&quoted), Ok(()), "one element, in quotes");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Linear even on unterminated tags.
        let started = std::time::Instant::now();
        // (Refused: each `<a` counts, an over-estimate on the safe side.)
        assert!(check_cost(&"<a".repeat(100_000)).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }
}
