//! Markdown → sanitised HTML, with arbitrary bytes: it must never panic,
//! and what comes out must be inert (no script element, no event handler,
//! no `style`, no URL with a scheme other than http, https or mailto), also
//! once parsed again as a browser would. The cost check runs first and
//! must not panic either; bodies it refuses are not rendered, as in the
//! service. Run with `-dict=markdown.dict` (nesting shapes and vectors).

#![no_main]

use broadsheet::domain::markdown::{check_cost, sanitize, to_html, unsafe_markup};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let markdown = String::from_utf8_lossy(data);
    if check_cost(&markdown).is_err() {
        return;
    }
    let html = to_html(&markdown);
    if let Some(problem) = unsafe_markup(&html) {
        panic!("unsafe markup survived ({problem}):\n{markdown:?}\n->\n{html}");
    }
    let reparsed = sanitize(&html);
    if let Some(problem) = unsafe_markup(&reparsed) {
        panic!("unsafe markup after re-parsing ({problem}):\n{markdown:?}\n->\n{html}\n->\n{reparsed}");
    }
});
