//! The layer rules of `docs/ARCHITECTURE.md`, checked on the source.
//!
//! [`RULES`] and [`ALLOWED`] are the one list of what may call what; the
//! document's "Layers and the one rule for each" section mirrors them (a
//! test below fails when a rule's text is missing there). The check reads
//! every file under `src/` (not `main.rs`, the binary on top of everything;
//! not `#[cfg(test)]` code), finds each path it names (`use` trees, inline
//! paths such as `crate::db::now()`, paths in attributes) with the names its
//! `use` lines bring in resolved, and fails on:
//!
//! - a path a rule forbids to the file's module;
//! - an import cycle: two modules of one parent (`http::tags` and
//!   `http::openapi`, or `state` and `http`) that depend on each other,
//!   directly or through others. A module counts with everything below it;
//!   a parent (`mod.rs`) using its own children, and children using their
//!   parent's items, are the module's inside, not a cycle;
//! - a file over [`MAX_FILE_LINES`] or a function over [`MAX_FN_LINES`]
//!   (`main.rs` included) that [`LONG_FILES`] / [`LONG_FUNCTIONS`] do not
//!   list with the document's reason, or a listed one no longer long.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One rule: code in the modules `who` (each with everything below it; `*`
/// for every module) never names a path starting with one of `never`.
struct Rule {
    who: &'static [&'static str],
    unless: &'static [&'static str],
    never: &'static [&'static str],
    /// The rule as `docs/ARCHITECTURE.md` states it, word for word.
    doc: &'static str,
}

/// The modules below `http`: they know nothing of HTTP.
const BELOW_HTTP: &[&str] = &[
    "service", "auth", "domain", "db", "infra", "config", "state", "demo",
];

const RULES: &[Rule] = &[
    Rule {
        who: &["http"],
        unless: &[],
        never: &["crate::db", "diesel"],
        doc: "`http` calls `service` (or `auth`), never `db`: no handler, extractor or middleware names `crate::db` or `diesel`.",
    },
    Rule {
        who: &["*"],
        unless: &["db"],
        never: &["diesel"],
        doc: "Only `db` imports `diesel`.",
    },
    Rule {
        who: BELOW_HTTP,
        unless: &[],
        never: &[
            "actix_web",
            "actix_http",
            "actix_service",
            "utoipa_actix_web",
            "crate::http",
        ],
        doc: "Nothing below `http` (`service`, `auth`, `domain`, `db`, `infra`, `config`, `state`, `demo`) imports `actix_web` or `crate::http`, except the runtime paths listed under \"Allowed\".",
    },
    Rule {
        who: &["db"],
        unless: &[],
        never: &[
            "crate::service",
            "crate::auth",
            "crate::infra",
            "crate::state",
            "crate::demo",
        ],
        doc: "`db` calls only `domain` (and `error`, `config`): never `service`, `auth`, `infra` or `state`.",
    },
    Rule {
        who: &["domain"],
        unless: &[],
        never: &[
            "crate::db",
            "crate::service",
            "crate::http",
            "crate::auth",
            "crate::infra",
            "crate::state",
            "crate::demo",
        ],
        doc: "`domain` is pure: it imports nothing from `db`, `service`, `http`, `auth`, `infra` or `state`.",
    },
];

/// Paths a rule above would forbid that are allowed anyway, everywhere: the
/// async runtime, not HTTP.
const ALLOWED: &[(&str, &str)] = &[
    (
        "actix_web::web::block",
        "`actix_web::web::block` and its `actix_web::error::BlockingError`: the blocking thread pool that runs diesel and argon2 off the async workers.",
    ),
    ("actix_web::error::BlockingError", ""),
    (
        "actix_web::rt",
        "`actix_web::rt`: the runtime's timers and tasks (deadlines on database calls, background tasks).",
    ),
];

// ----------------------------------------------------------------------
// Reading the source

/// A file of `src/` as its module path (`["http", "articles"]` for
/// `src/http/articles/mod.rs`, `[]` for `lib.rs`) and its text.
struct Source {
    file: String,
    module: Vec<String>,
    text: String,
}

fn read_sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let relative = path
                .strip_prefix(&root)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            if relative == "main.rs" {
                return None;
            }
            let text = std::fs::read_to_string(&path).ok()?;
            Some(Source {
                module: module_of(&relative),
                file: format!("src/{relative}"),
                text,
            })
        })
        .collect()
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `http/articles/mod.rs` → `[http, articles]`; `lib.rs` → `[]`.
fn module_of(relative: &str) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code without comments, string and char literals and `#[cfg(test)]`
/// items, each replaced by spaces so that line numbers stay.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        let rest = |n: usize| chars.get(start + n).copied().unwrap_or('\0');
        if chars[i] == '/' && rest(1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if chars[i] == '/' && rest(1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(&chars, i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(&chars, i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if chars[i] == 'r' && (rest(1) == '"' || (rest(1) == '#' && !is_ident(prev(&chars, i)))) {
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            i += 2 + hashes;
            while i < chars.len()
                && !(chars[i] == '"' && chars[i + 1..].iter().take(hashes).all(|c| *c == '#'))
            {
                i += 1;
            }
            i = (i + 1 + hashes).min(chars.len());
        } else if chars[i] == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if chars[i] == '\'' && (rest(1) == '\\' || rest(2) == '\'') {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let end = i.min(chars.len());
        out.extend(chars[start..end].iter().map(|c| blank(*c)));
    }
    without_test_items(&out)
}

fn at(chars: &[char], i: usize) -> char {
    chars.get(i).copied().unwrap_or('\0')
}

fn prev(chars: &[char], i: usize) -> char {
    if i == 0 { ' ' } else { chars[i - 1] }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Blanks every item after `#[cfg(test)]` (a block or up to its `;`).
fn without_test_items(code: &str) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    let marker: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + marker.len() <= chars.len() {
        if chars[i..i + marker.len()] != marker[..] {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut depth = 0;
        while j < chars.len() {
            match chars[j] {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                ';' if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        let end = (j + 1).min(chars.len());
        for c in &mut chars[i..end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = j + 1;
    }
    chars.into_iter().collect()
}

// ----------------------------------------------------------------------
// Paths named by a file

/// A path a file names, absolute (`crate::…` or an external crate), and
/// where.
#[derive(Debug, Clone)]
struct Named {
    path: Vec<String>,
    line: usize,
}

impl Named {
    fn text(&self) -> String {
        self.path.join("::")
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Sep,
    Open,
    Close,
    Comma,
    Star,
    Other,
}

/// Tokens with their line numbers (just enough of Rust for paths).
fn tokens(code: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if is_ident(c) || c == '$' {
            let start = i;
            i += 1;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            out.push((Token::Ident(chars[start..i].iter().collect()), line));
            continue;
        }
        let token = match c {
            ':' if chars.get(i + 1) == Some(&':') => {
                i += 1;
                Token::Sep
            }
            '{' => Token::Open,
            '}' => Token::Close,
            ',' => Token::Comma,
            '*' => Token::Star,
            _ => Token::Other,
        };
        out.push((token, line));
        i += 1;
    }
    out
}

/// Expands a `use` tree starting at `tokens[i]` into `(path, alias)` pairs
/// (alias `*` for a glob); returns the index after it.
fn use_tree(
    tokens: &[(Token, usize)],
    mut i: usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, String)>,
) -> usize {
    let token = |i: usize| tokens.get(i).map(|(t, _)| t);
    let mut path = prefix.to_vec();
    let mut itself = false;
    loop {
        match token(i) {
            // `{self, …}`: the prefix itself.
            Some(Token::Ident(n)) if n == "self" && !prefix.is_empty() && path.len() == prefix.len() => {
                itself = true;
                i += 1;
            }
            Some(Token::Ident(n)) => {
                path.push(n.clone());
                i += 1;
            }
            Some(Token::Star) => {
                out.push((path, "*".into()));
                return i + 1;
            }
            Some(Token::Open) => {
                i += 1;
                while !matches!(token(i), Some(Token::Close) | None) {
                    i = use_tree(tokens, i, &path, out);
                    match token(i) {
                        Some(Token::Comma) => i += 1,
                        Some(Token::Close) => {}
                        _ => return i,
                    }
                }
                return i + 1;
            }
            _ => return i,
        }
        match token(i) {
            Some(Token::Sep) => i += 1,
            Some(Token::Ident(n)) if n == "as" => {
                if let Some(Token::Ident(alias)) = token(i + 1) {
                    out.push((path, alias.clone()));
                }
                return i + 2;
            }
            _ => break,
        }
    }
    if path.len() > prefix.len() || itself {
        let alias = path.last().cloned().unwrap_or_default();
        out.push((path, alias));
    }
    i
}

/// Every path `source` names, made absolute. A `use` of a module that the
/// file then only uses as a prefix (`use actix_web::web;` … `web::block`)
/// counts as the paths written with it, not as the module itself.
fn named_paths(source: &Source) -> Vec<Named> {
    let tokens = tokens(&code_only(&source.text));
    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut imports = Vec::new();
    let mut in_use = vec![false; tokens.len()];
    for i in 0..tokens.len() {
        if tokens[i].0 != Token::Ident("use".into()) || in_use[i] {
            continue;
        }
        let mut tree = Vec::new();
        let end = use_tree(&tokens, i + 1, &[], &mut tree);
        in_use[i..end.min(tokens.len())]
            .iter_mut()
            .for_each(|u| *u = true);
        for (path, alias) in tree {
            let path = absolute(&source.module, &path, &BTreeMap::new());
            if alias != "_" && alias != "*" {
                aliases.insert(alias.clone(), path.clone());
            }
            imports.push((
                Named {
                    path,
                    line: tokens[i].1,
                },
                alias,
            ));
        }
    }
    let mut named = Vec::new();
    let (mut as_prefix, mut bare) = (BTreeSet::new(), BTreeSet::new());
    let mut i = 0;
    while i < tokens.len() {
        let Token::Ident(first) = &tokens[i].0 else {
            i += 1;
            continue;
        };
        let continues = matches!(tokens.get(i + 1), Some((Token::Sep, _)));
        let continuation = i > 0 && tokens[i - 1].0 == Token::Sep;
        if in_use[i] || continuation || !continues {
            if !in_use[i] && !continuation {
                bare.insert(first.clone());
            }
            i += 1;
            continue;
        }
        as_prefix.insert(first.clone());
        let mut path = Vec::new();
        let line = tokens[i].1;
        while let Some((Token::Ident(name), _)) = tokens.get(i) {
            path.push(name.clone());
            if !matches!(tokens.get(i + 1), Some((Token::Sep, _))) {
                break;
            }
            i += 2;
        }
        named.push(Named {
            path: absolute(&source.module, &path, &aliases),
            line,
        });
        i += 1;
    }
    for (import, alias) in imports {
        // Kept unless the name is only ever a prefix of other paths.
        if !as_prefix.contains(&alias) || bare.contains(&alias) {
            named.push(import);
        }
    }
    named
}

/// `super::x` / `self::x` / an alias from a `use` line, made absolute
/// (`crate::…`); other paths (external crates, std) as written.
fn absolute(module: &[String], path: &[String], aliases: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let Some(first) = path.first() else {
        return Vec::new();
    };
    let mut base: Vec<String> = match first.as_str() {
        "crate" | "$crate" => return with_crate(&path[1..]),
        "self" => module.to_vec(),
        "super" => {
            let mut base = module.to_vec();
            let mut rest = path;
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
            base.extend(rest.iter().cloned());
            return with_crate(&base);
        }
        _ => match aliases.get(first) {
            Some(target) => {
                let mut full = target.clone();
                full.extend(path[1..].iter().cloned());
                return full;
            }
            None => return path.to_vec(),
        },
    };
    base.extend(path[1..].iter().cloned());
    with_crate(&base)
}

fn with_crate(rest: &[String]) -> Vec<String> {
    std::iter::once("crate".to_string())
        .chain(rest.iter().cloned())
        .collect()
}

// ----------------------------------------------------------------------
// The checks

fn starts_with(path: &str, prefix: &str) -> bool {
    path == prefix || path.starts_with(&format!("{prefix}::"))
}

fn in_module(module: &[String], names: &[&str]) -> bool {
    names
        .iter()
        .any(|n| *n == "*" || module.first().is_some_and(|m| m == n))
}

/// Every path that breaks a rule, as `file:line: path (rule)`.
fn rule_violations(sources: &[Source]) -> Vec<String> {
    let mut found = BTreeSet::new();
    for source in sources {
        let rules: Vec<&Rule> = RULES
            .iter()
            .filter(|r| in_module(&source.module, r.who) && !in_module(&source.module, r.unless))
            .collect();
        if rules.is_empty() {
            continue;
        }
        for named in named_paths(source) {
            let text = named.text();
            if ALLOWED.iter().any(|(allowed, _)| starts_with(&text, allowed)) {
                continue;
            }
            for rule in &rules {
                if rule.never.iter().any(|never| starts_with(&text, never)) {
                    found.insert(format!("{}:{}: `{text}` ({})", source.file, named.line, rule.doc));
                }
            }
        }
    }
    found.into_iter().collect()
}

/// Modules that name one another, by parent: for each parent module, an
/// edge `child → child` with the first place that makes it.
type Graph = BTreeMap<Vec<String>, BTreeMap<(String, String), String>>;

fn sibling_graph(sources: &[Source]) -> Graph {
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    let mut graph = Graph::new();
    for source in sources {
        for named in named_paths(source) {
            if named.path.first().map(String::as_str) != Some("crate") {
                continue;
            }
            let target = longest_module(&modules, &named.path[1..]);
            let from = &source.module;
            let common = from.iter().zip(&target).take_while(|(a, b)| a == b).count();
            // Inside one module: its own items, its parent's, its children's.
            if common == from.len() || common == target.len() {
                continue;
            }
            graph
                .entry(from[..common].to_vec())
                .or_default()
                .entry((from[common].clone(), target[common].clone()))
                .or_insert_with(|| format!("{}:{} names `{}`", source.file, named.line, named.text()));
        }
    }
    graph
}

fn longest_module(modules: &BTreeSet<Vec<String>>, path: &[String]) -> Vec<String> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
        .unwrap_or_default()
}

/// Every cycle among the children of one parent, each with the places that
/// make its edges.
fn cycles(graph: &Graph) -> Vec<String> {
    let mut found = Vec::new();
    for (parent, edges) in graph {
        let nodes: BTreeSet<&String> = edges.keys().flat_map(|(a, b)| [a, b]).collect();
        let reaches = |from: &String| -> BTreeSet<String> {
            let mut seen = BTreeSet::new();
            let mut todo = vec![from.clone()];
            while let Some(n) = todo.pop() {
                for (a, b) in edges.keys() {
                    if *a == n && seen.insert(b.clone()) {
                        todo.push(b.clone());
                    }
                }
            }
            seen
        };
        let mut reported = BTreeSet::new();
        for node in nodes {
            let forward = reaches(node);
            if !forward.contains(node) || reported.contains(node) {
                continue;
            }
            let group: BTreeSet<String> = forward
                .iter()
                .filter(|other| reaches(other).contains(node))
                .cloned()
                .collect();
            reported.extend(group.iter().cloned());
            let places: Vec<String> = edges
                .iter()
                .filter(|((a, b), _)| group.contains(a) && group.contains(b))
                .map(|((a, b), place)| format!("      {a} → {b}: {place}"))
                .collect();
            let under = if parent.is_empty() {
                "crate".into()
            } else {
                parent.join("::")
            };
            found.push(format!(
                "cycle under `{under}` between {:?}, e.g. {}; the edges among them:\n{}",
                group,
                shortest_cycle(edges, node).join(" → "),
                places.join("\n")
            ));
        }
    }
    found
}

/// The shortest way from `start` back to itself (breadth first).
fn shortest_cycle(edges: &BTreeMap<(String, String), String>, start: &String) -> Vec<String> {
    let mut came_from: BTreeMap<String, String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.clone()]);
    while let Some(n) = queue.pop_front() {
        for (a, b) in edges.keys().filter(|(a, _)| *a == n) {
            if b == start {
                let mut path = vec![b.clone(), a.clone()];
                while let Some(before) = came_from.get(path.last().unwrap()) {
                    path.push(before.clone());
                }
                path.reverse();
                return path;
            }
            if !came_from.contains_key(b) {
                came_from.insert(b.clone(), a.clone());
                queue.push_back(b.clone());
            }
        }
    }
    Vec::new()
}

fn fail_on(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s); see docs/ARCHITECTURE.md, \"Layers and the one rule for each\":\n  - {}\n",
        problems.len(),
        problems.join("\n  - ")
    );
}

#[test]
fn every_layer_keeps_its_rule() {
    fail_on("layer rules", &rule_violations(&read_sources()));
}

#[test]
fn no_import_cycle_between_modules() {
    fail_on("import cycles", &cycles(&sibling_graph(&read_sources())));
}

#[test]
fn the_architecture_document_states_every_rule() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md");
    let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    let stated = RULES
        .iter()
        .map(|r| r.doc)
        .chain(ALLOWED.iter().map(|(_, doc)| *doc))
        .chain(LONG_FILES.iter().map(|(_, doc)| *doc))
        .chain(LONG_FUNCTIONS.iter().map(|(_, _, doc)| *doc))
        .filter(|d| !d.is_empty());
    let missing: Vec<String> = stated
        .filter(|d| !doc.contains(*d))
        .map(|d| format!("not in docs/ARCHITECTURE.md: {d}"))
        .collect();
    fail_on("the document and tests/architecture.rs disagree", &missing);
}

/// The HTTP layer's module doc states the same road as the document.
#[test]
fn the_http_module_doc_states_the_road() {
    let road = "http → service → db → domain";
    for file in ["docs/ARCHITECTURE.md", "src/http/mod.rs"] {
        let text = std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).expect(file);
        let text = text
            .replace("//!", " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(text.contains(road), "{file} states the road `{road}`");
    }
}

// ----------------------------------------------------------------------
// Sizes: files under ~500 lines, functions under ~80

/// Longest file of `src/`, in lines (unit tests included).
const MAX_FILE_LINES: usize = 500;
/// Longest function, from its `fn` line to its closing brace (`#[cfg(test)]`
/// code not counted).
const MAX_FN_LINES: usize = 80;

/// Files allowed to be longer, each with the reason `docs/ARCHITECTURE.md`
/// gives for it, word for word.
const LONG_FILES: &[(&str, &str)] = &[(
    "src/http/openapi.rs",
    "`src/http/openapi.rs`: the one owner of the document's global parts (info, tags, the security scheme, every reusable problem response with its example, and `finish`); split, the shared responses would have more than one home.",
)];

/// Functions allowed to be longer (`file`, function name), with the reason
/// `docs/ARCHITECTURE.md` gives, word for word.
const LONG_FUNCTIONS: &[(&str, &str, &str)] = &[];

/// Every file over [`MAX_FILE_LINES`] not in [`LONG_FILES`].
fn long_files(sources: &[Source]) -> Vec<String> {
    sources
        .iter()
        .filter(|s| !LONG_FILES.iter().any(|(file, _)| *file == s.file))
        .filter_map(|s| {
            let lines = s.text.lines().count();
            (lines > MAX_FILE_LINES).then(|| format!("{}: {lines} lines (at most {MAX_FILE_LINES})", s.file))
        })
        .collect()
}

/// Each function of `source` (outside `#[cfg(test)]` code) as its name and
/// the lines from `fn` to the brace that closes its body; declarations
/// without a body are skipped.
fn functions(source: &Source) -> Vec<(String, usize, usize)> {
    let code: Vec<char> = code_only(&source.text).chars().collect();
    let line_at = |i: usize| 1 + code[..i].iter().filter(|c| **c == '\n').count();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 2 < code.len() {
        let keyword =
            code[i] == 'f' && code[i + 1] == 'n' && code[i + 2].is_whitespace() && !is_ident(prev(&code, i));
        if !keyword {
            i += 1;
            continue;
        }
        let name_start = (i + 2..code.len())
            .find(|&j| !code[j].is_whitespace())
            .unwrap_or(code.len());
        let name: String = code[name_start..].iter().take_while(|c| is_ident(**c)).collect();
        let Some(open) = (name_start..code.len()).find(|&j| code[j] == '{' || code[j] == ';') else {
            break;
        };
        if name.is_empty() || code[open] == ';' {
            i = open;
            continue;
        }
        let mut depth = 0;
        let mut close = open;
        for (j, c) in code.iter().enumerate().skip(open) {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                close = j;
                break;
            }
        }
        found.push((name, line_at(i), line_at(close)));
        // Functions nested in this one are counted too.
        i = open;
    }
    found
}

/// Every function over [`MAX_FN_LINES`] not in [`LONG_FUNCTIONS`].
fn long_functions(sources: &[Source]) -> Vec<String> {
    let mut found = Vec::new();
    for source in sources {
        for (name, first, last) in functions(source) {
            let lines = last - first + 1;
            let excepted = LONG_FUNCTIONS
                .iter()
                .any(|(file, function, _)| *file == source.file && *function == name);
            if lines > MAX_FN_LINES && !excepted {
                found.push(format!(
                    "{}:{first}: fn {name}: {lines} lines (at most {MAX_FN_LINES})",
                    source.file
                ));
            }
        }
    }
    found
}

#[test]
fn files_and_functions_stay_small() {
    let sources = read_sources_with_main();
    let mut problems = long_files(&sources);
    problems.extend(long_functions(&sources));
    fail_on("sizes", &problems);
}

/// Every exception still names a file (and function) that exists and is
/// long; a stale one fails so that the list stays the list of reasons.
#[test]
fn every_size_exception_is_needed() {
    let sources = read_sources_with_main();
    let mut stale = Vec::new();
    for (file, _) in LONG_FILES {
        let long = sources
            .iter()
            .any(|s| s.file == *file && s.text.lines().count() > MAX_FILE_LINES);
        if !long {
            stale.push(format!("{file} is no longer over {MAX_FILE_LINES} lines"));
        }
    }
    for (file, function, _) in LONG_FUNCTIONS {
        let long = sources.iter().filter(|s| s.file == *file).any(|s| {
            functions(s)
                .iter()
                .any(|(name, first, last)| name == function && last - first + 1 > MAX_FN_LINES)
        });
        if !long {
            stale.push(format!(
                "{file}: fn {function} is no longer over {MAX_FN_LINES} lines"
            ));
        }
    }
    fail_on("stale size exceptions", &stale);
}

/// `src/` including `main.rs` (the layer rules leave it out; sizes do not).
fn read_sources_with_main() -> Vec<Source> {
    let mut sources = read_sources();
    let file = "main.rs";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(file);
    sources.push(Source {
        file: format!("src/{file}"),
        module: Vec::new(),
        text: std::fs::read_to_string(path).expect("src/main.rs"),
    });
    sources
}

// ----------------------------------------------------------------------
// The checker on made-up sources, so that each check can be seen to fail.

fn sources(files: &[(&str, &str)]) -> Vec<Source> {
    files
        .iter()
        .map(|(file, text)| Source {
            file: format!("src/{file}"),
            module: module_of(file),
            text: text.to_string(),
        })
        .collect()
}

#[test]
fn the_checker_finds_forbidden_paths_however_written() {
    let found = rule_violations(&sources(&[
        (
            "http/tags.rs",
            "use crate::{db::{self, tags}, service};\nfn f() { db::now(); }",
        ),
        ("http/editors.rs", "fn f() { crate::db::editors::find(); }"),
        ("http/shares.rs", "use super::super::db::Db;"),
        (
            "service/tags.rs",
            "use actix_web::HttpResponse;\nuse actix_web::web;\nfn f() { web::Json(1); }",
        ),
        ("domain/slug.rs", "use crate::service::tags as t;"),
        ("auth/jwt.rs", "#[derive(diesel::Queryable)] struct A;"),
    ]));
    let expected = [
        "src/http/tags.rs:1: `crate::db::tags`",
        "src/http/tags.rs:2: `crate::db::now`",
        "src/http/editors.rs:1: `crate::db::editors::find`",
        "src/http/shares.rs:1: `crate::db::Db`",
        "src/service/tags.rs:1: `actix_web::HttpResponse`",
        "src/service/tags.rs:3: `actix_web::web::Json`",
        "src/domain/slug.rs:1: `crate::service::tags`",
        "src/auth/jwt.rs:1: `diesel::Queryable`",
    ];
    for e in expected {
        assert!(
            found.iter().any(|f| f.starts_with(e)),
            "missing {e} in {found:#?}"
        );
    }
}

#[test]
fn the_checker_allows_what_the_rules_allow() {
    let found = rule_violations(&sources(&[
        (
            "http/tags.rs",
            "use crate::service::tags;\n// crate::db::tags in a comment\nfn f() { let s = \"crate::db\"; }",
        ),
        (
            "service/tags.rs",
            "use crate::db::tags;\nfn f() { actix_web::web::block(|| 1); }",
        ),
        (
            "db/tags.rs",
            "use diesel::prelude::*;\nuse crate::domain::slug::Slug;",
        ),
        (
            "domain/slug.rs",
            "#[cfg(test)]\nmod tests { use crate::db::Db; use actix_web::test; }",
        ),
        ("error.rs", "use actix_web::ResponseError;"),
    ]));
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_checker_finds_cycles_between_siblings_only() {
    let found = cycles(&sibling_graph(&sources(&[
        ("state.rs", "use crate::http::cache::ResponseCache;"),
        ("http/mod.rs", "pub mod cache; fn f() { cache::g(); }"),
        (
            "http/cache.rs",
            "use crate::state::AppState;\nuse super::no_store;",
        ),
        ("http/openapi.rs", "use crate::http::articles::ArticleField;"),
        ("http/articles/mod.rs", "mod public; fn f() { public::g(); }"),
        (
            "http/articles/public.rs",
            "fn f(x: crate::http::openapi::NotFound) { super::h(); }",
        ),
        ("db/mod.rs", "mod checkpointer; fn f() { checkpointer::start(); }"),
        ("db/checkpointer.rs", "use super::WriterConn;"),
    ])));
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains("under `crate`") && found[0].contains("\"http\", \"state\""),
        "{}",
        found[0]
    );
    assert!(
        found[1].contains("under `http`") && found[1].contains("\"articles\", \"openapi\""),
        "{}",
        found[1]
    );
}

#[test]
fn the_checker_finds_long_files_and_functions() {
    let body = |n: usize| "    let x = 1;\n".repeat(n);
    let long_fn = format!("fn long() {{\n{}}}\nfn short() {{ 1 }}\n", body(MAX_FN_LINES - 1));
    let test_fn = format!(
        "#[cfg(test)]\nmod tests {{\n    fn long_test() {{\n{}    }}\n}}\n",
        body(MAX_FN_LINES)
    );
    let found = long_functions(&sources(&[
        ("service/a.rs", &long_fn),
        ("service/b.rs", &test_fn),
        (
            "service/c.rs",
            "trait T { fn f(&self); }\nfn g() -> &'static str { \"fn x() {\" }",
        ),
    ]));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with(&format!(
            "src/service/a.rs:1: fn long: {} lines",
            MAX_FN_LINES + 1
        )),
        "{found:#?}"
    );
    let exactly = format!("fn edge() {{\n{}}}\n", body(MAX_FN_LINES - 2));
    assert!(long_functions(&sources(&[("service/d.rs", &exactly)])).is_empty());

    let lines = "// x\n".repeat(MAX_FILE_LINES + 1);
    let found = long_files(&sources(&[("service/e.rs", &lines), ("service/f.rs", "// x\n")]));
    assert_eq!(
        found,
        [format!(
            "src/service/e.rs: {} lines (at most {MAX_FILE_LINES})",
            MAX_FILE_LINES + 1
        )]
    );
}
