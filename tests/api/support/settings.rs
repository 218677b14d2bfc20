//! Settings given to a test app, checked: a key that `Config` never reads
//! would be silently ignored (a misspelt override such as
//! `RATE_LIMIT_LOGIN_PER_MINUT` leaves the default on and the test proves
//! nothing), so the harness refuses it.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use broadsheet::config::{Config, ConfigError};

/// Reads `vars` into a [`Config`] and panics, naming them, when any of
/// `overrides` is a key the configuration did not read.
pub fn config_from(vars: &HashMap<String, String>, overrides: &[&str]) -> Result<Config, ConfigError> {
    let read = RefCell::new(BTreeSet::new());
    let config = Config::from_lookup(|key| {
        read.borrow_mut().insert(key.to_string());
        vars.get(key).cloned()
    });
    if config.is_ok() {
        assert_all_read(&read.borrow(), overrides);
    }
    config
}

/// Panics when a key of `overrides` is not among the keys `Config` read.
fn assert_all_read(read: &BTreeSet<String>, overrides: &[&str]) {
    let unknown: Vec<&str> = overrides
        .iter()
        .copied()
        .filter(|key| !read.contains(*key))
        .collect();
    assert!(
        unknown.is_empty(),
        "test settings {unknown:?} are not read by Config::from_lookup (misspelt, or not a \
         setting with this configuration), so they would change nothing; settings read: {read:?}"
    );
}

/// Panics when `vars` are not a valid configuration or a key of
/// `overrides` is not read, for harnesses that pass settings to a child
/// process instead of building the config themselves.
#[allow(dead_code)] // used by the fault tests' harness, which shares this file
pub fn assert_known(vars: &HashMap<String, String>, overrides: &[&str]) {
    config_from(vars, overrides).unwrap_or_else(|e| panic!("test settings are invalid: {e}"));
}
