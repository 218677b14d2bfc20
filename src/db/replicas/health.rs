//! The health check of one replica, on a thread of its own (off the
//! request path): every [`CHECK_EVERY`] it reads the primary's WAL
//! position, then what the replica has replayed, and works out the lag.
//!
//! Lag is measured in time from WAL positions, not from
//! `now() - pg_last_xact_replay_timestamp()`, which grows without bound on
//! an idle primary (nothing to replay) and is NULL before the first
//! transaction replays. The check remembers when it first saw the primary
//! at each position; a replica that has replayed position `R` is missing
//! WAL the primary already had at the first sample past `R`, so it lags at
//! least the time since that sample (zero when it has replayed the newest
//! position seen). The resolution is the check interval.

use std::collections::VecDeque;
use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{ReplicaSet, ReplicaState, primary_lsn, replay_lsn};
use crate::db::connection::{checkout, run_uncounted};
use crate::error::AppError;

/// How often each replica is checked.
pub(super) const CHECK_EVERY: Duration = Duration::from_millis(250);

/// Positions of the primary each check found, with when they were first
/// seen: one entry per change of position, the last 1,024 (at least four
/// minutes of a primary that writes all the time).
#[derive(Debug, Default)]
pub(super) struct History(VecDeque<(Instant, u64)>);

impl History {
    const KEEP: usize = 1024;

    pub(super) fn record(&mut self, at: Instant, lsn: u64) {
        if self.0.back().is_none_or(|&(_, last)| lsn > last) {
            self.0.push_back((at, lsn));
            if self.0.len() > Self::KEEP {
                self.0.pop_front();
            }
        }
    }

    /// How far behind a replica that replayed `replayed` is at `now`;
    /// `None` before the primary's position was ever read.
    pub(super) fn lag(&self, replayed: u64, now: Instant) -> Option<Duration> {
        let &(_, newest) = self.0.back()?;
        if replayed >= newest {
            return Some(Duration::ZERO);
        }
        // The first position seen past what it replayed.
        let first_missing = self
            .0
            .iter()
            .find(|&&(_, lsn)| lsn > replayed)
            .map_or(now, |&(at, _)| at);
        Some(now.saturating_duration_since(first_missing))
    }
}

pub(super) fn spawn(set: Weak<ReplicaSet>, index: usize) {
    let started = std::thread::Builder::new()
        .name(format!("replica-check-{}", index + 1))
        .spawn(move || {
            let mut history = History::default();
            // Ends when the last `Db` handle holding the set is dropped.
            while let Some(set) = set.upgrade() {
                set.check(index, &mut history);
                drop(set);
                std::thread::sleep(CHECK_EVERY);
            }
        });
    if let Err(e) = started {
        tracing::error!(error = %e, replica = index + 1, "cannot start the replica health check; that replica stays out of rotation");
    }
}

impl ReplicaSet {
    /// One check of replica `index`.
    fn check(&self, index: usize, history: &mut History) {
        let unknowns = self.unknowns.load(Ordering::SeqCst);
        match self.read_primary() {
            Ok(lsn) => {
                history.record(Instant::now(), lsn);
                self.resolve_fence(unknowns, lsn);
            }
            // Judged against the last position seen: a replica that has
            // replayed all of it keeps serving while the primary is away.
            Err(e) => tracing::debug!(error = %e, "replica check: primary position unreadable"),
        }
        let replica = &self.replicas[index];
        let replayed = checkout(&replica.pool, self.timeout)
            .and_then(|mut conn| run_uncounted(&mut conn, |c| Ok(replay_lsn(c)?)));
        let replayed = match replayed {
            Ok(Some(lsn)) => lsn,
            Ok(None) => return replica.set_state(ReplicaState::Down, "not in recovery: not a replica"),
            Err(e) => return replica.set_state(ReplicaState::Down, &e.to_string()),
        };
        replica.replay_lsn.store(replayed, Ordering::SeqCst);
        let Some(lag) = history.lag(replayed, Instant::now()) else {
            return;
        };
        replica.lag_ms.store(lag.as_millis() as u64, Ordering::SeqCst);
        if lag > self.max_lag {
            replica.set_state(ReplicaState::Lagging, "lag past REPLICA_MAX_LAG_SECONDS");
        } else {
            replica.set_state(ReplicaState::Healthy, "");
        }
    }

    fn read_primary(&self) -> Result<u64, AppError> {
        let mut conn = checkout(&self.primary, self.timeout)?;
        run_uncounted(&mut conn, |c| Ok(primary_lsn(c)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_zero_when_caught_up_even_on_an_idle_primary() {
        let t0 = Instant::now();
        let mut h = History::default();
        h.record(t0, 100);
        // The primary writes nothing for a minute: same position.
        h.record(t0 + Duration::from_secs(60), 100);
        assert_eq!(h.0.len(), 1);
        assert_eq!(h.lag(100, t0 + Duration::from_secs(61)), Some(Duration::ZERO));
    }

    #[test]
    fn lag_counts_from_the_first_position_past_what_was_replayed() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut h = History::default();
        h.record(at(0), 100);
        h.record(at(250), 200);
        h.record(at(500), 300);
        // Replayed 150: missing WAL the primary had at 250 ms.
        assert_eq!(h.lag(150, at(1250)), Some(Duration::from_millis(1000)));
        assert_eq!(h.lag(200, at(1250)), Some(Duration::from_millis(750)));
        // Older than everything remembered: at least since the oldest.
        assert_eq!(h.lag(50, at(1250)), Some(Duration::from_millis(1250)));
        assert_eq!(h.lag(300, at(1250)), Some(Duration::ZERO));
        assert_eq!(History::default().lag(1, at(0)), None);
    }

    #[test]
    fn history_is_bounded() {
        let t0 = Instant::now();
        let mut h = History::default();
        for i in 0..5000 {
            h.record(t0 + Duration::from_millis(i), i + 1);
        }
        assert_eq!(h.0.len(), History::KEEP);
    }
}
