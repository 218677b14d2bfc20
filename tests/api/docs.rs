//! The README's tables stay complete: every setting the configuration reads
//! is in its settings table and in `.env.example`, and every crate of
//! `Cargo.toml` is in its dependency tables with a reason.

use std::cell::RefCell;
use std::collections::BTreeSet;

fn read(file: &str) -> String {
    std::fs::read_to_string(format!("{}/{file}", env!("CARGO_MANIFEST_DIR"))).expect(file)
}

/// The settings `Config` reads with nothing set (every setting that does
/// not depend on another one), plus those read by the logger.
fn settings() -> BTreeSet<String> {
    let read = RefCell::new(BTreeSet::from(["RUST_LOG".to_string()]));
    let _ = broadsheet::config::Config::from_lookup(|key| {
        read.borrow_mut().insert(key.to_string());
        None
    });
    read.into_inner()
}

/// Words of the table rows (`| … |` lines) of `text`.
fn table_words(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.trim_start().starts_with('|'))
        .flat_map(|l| {
            l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_setting_is_in_the_readme_and_env_example() {
    let readme = read("README.md");
    let configuration = readme
        .split("## Configuration")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Configuration section in README.md");
    let documented = table_words(configuration);
    let example = read(".env.example");
    let settings = settings();
    assert!(settings.len() > 20, "{settings:?}");
    let mut missing = Vec::new();
    for key in &settings {
        if !documented.contains(key) {
            missing.push(format!("{key}: not in the README's settings table"));
        }
        if !example.lines().any(|l| l.starts_with(&format!("{key}="))) {
            missing.push(format!("{key}: no `{key}=` line in .env.example"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_dependency_is_in_the_readme_with_its_reason() {
    let readme = read("README.md");
    let dependencies = readme
        .split("## Dependencies")
        .nth(1)
        .and_then(|s| s.split("Tools outside the binary").next())
        .expect("a Dependencies section in README.md");
    let documented = table_words(dependencies);
    let manifest = read("Cargo.toml");
    let mut section = "";
    let mut missing = Vec::new();
    for line in manifest.lines() {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if !matches!(section, "[dependencies]" | "[dev-dependencies]") {
            continue;
        }
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        if !documented.contains(name) {
            missing.push(format!(
                "{name} ({section}): not in the README's dependency tables"
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
