//! Per-email backoff after failed sign-ins, on top of the per-IP rate limit
//! (which a botnet spreads thin). Settings:
//!
//! - `LOGIN_BACKOFF_AFTER_FAILURES` (5; 0 = off): failures in a row for one
//!   email address before attempts for it are refused;
//! - `LOGIN_BACKOFF_MAX_SECONDS` (900): the longest refusal; each further
//!   failure doubles it from 2 seconds up to this;
//! - `LOGIN_BACKOFF_RESET_SECONDS` (3600): a streak quiet for this long is
//!   forgotten. A successful sign-in forgets it at once.
//!
//! Invariants: the count is kept per address whether or not an editor has
//! it, and a refused attempt is answered before any account lookup, so the
//! answers (401, then 429 with `Retry-After`) are the same for every address
//! and say nothing about which ones have accounts. The state is in the
//! database, so every instance sees the same count. Each attempt is counted
//! *before* its password is verified (a success then forgets the streak),
//! so parallel attempts cannot verify more than `after_failures` passwords
//! per streak. A client presenting a live refresh token of the same editor
//! is not held by the backoff (see `session::login`); an admin can clear an
//! address (`credentials::unlock`).

use std::time::Duration;

use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// 0 turns the backoff off.
    pub after_failures: u32,
    pub max_lock: Duration,
    pub reset_after: Duration,
}

/// The first refusal, in seconds; each further failure doubles it.
const FIRST_LOCK_SECONDS: i64 = 2;

impl Backoff {
    pub fn from_config(config: &Config) -> Self {
        Backoff {
            after_failures: config.login_backoff_after_failures,
            max_lock: config.login_backoff_max,
            reset_after: config.login_backoff_reset,
        }
    }

    /// How long to refuse attempts after the `failures`-th failure in a row.
    pub fn lock_seconds(&self, failures: i32) -> Option<i64> {
        if self.after_failures == 0 || failures < self.after_failures as i32 {
            return None;
        }
        let doublings = (failures - self.after_failures as i32).min(30) as u32;
        let seconds = FIRST_LOCK_SECONDS.saturating_mul(1i64 << doublings);
        Some(seconds.min(self.max_lock.as_secs() as i64).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(after: u32) -> Backoff {
        Backoff {
            after_failures: after,
            max_lock: Duration::from_secs(900),
            reset_after: Duration::from_secs(3600),
        }
    }

    #[test]
    fn locks_start_at_the_threshold_and_double_up_to_the_cap() {
        let p = policy(5);
        assert_eq!(p.lock_seconds(1), None);
        assert_eq!(p.lock_seconds(4), None);
        assert_eq!(p.lock_seconds(5), Some(2));
        assert_eq!(p.lock_seconds(6), Some(4));
        assert_eq!(p.lock_seconds(7), Some(8));
        assert_eq!(p.lock_seconds(13), Some(512));
        assert_eq!(p.lock_seconds(14), Some(900));
        assert_eq!(p.lock_seconds(i32::MAX), Some(900));
    }

    #[test]
    fn zero_turns_it_off() {
        assert_eq!(policy(0).lock_seconds(1_000), None);
    }
}
