//! The de-duplication memory: recent presses as salted hashes, in two
//! generations, each bounded (see the module docs of `service::shares`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Press;

/// The most hashes one generation holds (about 48 bytes each with the
/// map's overhead, so two generations stay under 10 MiB). A client that
/// varies its address or user agent to fill the memory only makes the
/// next generation start early: de-duplication then forgets sooner, and
/// memory stays bounded.
pub(super) const MAX_REMEMBERED: usize = 100_000;

/// Remembers recent presses as salted hashes; see the module docs.
pub(super) struct Dedup {
    window: Duration,
    cap: usize,
    state: Mutex<Generations>,
}

struct Generation {
    salt: [u8; 32],
    started: Instant,
    seen: HashMap<u128, Instant>,
}

impl Generation {
    fn new() -> Generation {
        let mut salt = [0u8; 32];
        rand::rng().fill_bytes(&mut salt);
        Generation {
            salt,
            started: Instant::now(),
            seen: HashMap::new(),
        }
    }
}

struct Generations {
    current: Generation,
    previous: Generation,
}

/// A press as the de-duplication sees it; the clear values stay in the
/// request and are gone with it.
pub(super) struct PressKey(Vec<u8>);

impl Dedup {
    pub(super) fn new(window: Duration) -> Dedup {
        Dedup::with_cap(window, MAX_REMEMBERED)
    }

    fn with_cap(window: Duration, cap: usize) -> Dedup {
        Dedup {
            window,
            cap: cap.max(1),
            state: Mutex::new(Generations {
                current: Generation::new(),
                previous: Generation::new(),
            }),
        }
    }

    pub(super) fn key(&self, press: &Press) -> PressKey {
        let mut bytes = Vec::with_capacity(64 + press.user_agent.len() + press.slug.len());
        // Length-prefixed, so no two different presses join into the same bytes.
        for part in [
            press.client_ip.to_string().as_bytes(),
            &press.user_agent,
            press.slug.as_bytes(),
            press.channel.as_str().as_bytes(),
        ] {
            bytes.extend_from_slice(&(part.len() as u32).to_le_bytes());
            bytes.extend_from_slice(part);
        }
        PressKey(bytes)
    }

    fn hash(salt: &[u8; 32], key: &PressKey) -> u128 {
        let digest = Sha256::new().chain_update(salt).chain_update(&key.0).finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        u128::from_le_bytes(first)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now.duration_since(state.current.started) >= self.window {
            let stale = now.duration_since(state.current.started) >= 2 * self.window;
            state.previous = std::mem::replace(&mut state.current, Generation::new());
            if stale {
                state.previous = Generation::new();
            }
        }
        state
    }

    /// True when this press repeats one within the window; otherwise
    /// remembers it.
    pub(super) fn check_and_mark(&self, key: &PressKey) -> bool {
        let mut state = self.lock();
        let now = Instant::now();
        let window = self.window;
        let recent = |seen: &HashMap<u128, Instant>, h: &u128| {
            seen.get(h).is_some_and(|t| now.duration_since(*t) < window)
        };
        let current = Self::hash(&state.current.salt, key);
        let previous = Self::hash(&state.previous.salt, key);
        if recent(&state.current.seen, &current) || recent(&state.previous.seen, &previous) {
            return true;
        }
        if state.current.seen.len() >= self.cap {
            // Full: start the next generation early (see `MAX_REMEMBERED`).
            state.previous = std::mem::replace(&mut state.current, Generation::new());
            let fresh = Self::hash(&state.current.salt, key);
            state.current.seen.insert(fresh, now);
        } else {
            state.current.seen.insert(current, now);
        }
        false
    }

    pub(super) fn forget(&self, key: &PressKey) {
        let mut state = self.lock();
        let current = Self::hash(&state.current.salt, key);
        let previous = Self::hash(&state.previous.salt, key);
        state.current.seen.remove(&current);
        state.previous.seen.remove(&previous);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::share::ShareChannel;

    fn press(ip: &str, ua: &str, slug: &str, channel: ShareChannel) -> Press {
        Press {
            slug: slug.into(),
            channel,
            client_ip: ip.parse().unwrap(),
            user_agent: ua.as_bytes().to_vec(),
        }
    }

    #[test]
    fn dedup_tells_repeats_from_new_presses() {
        let d = Dedup::new(Duration::from_secs(60));
        let a = d.key(&press("10.0.0.1", "ua", "s", ShareChannel::Email));
        assert!(!d.check_and_mark(&a));
        assert!(d.check_and_mark(&a));
        for other in [
            press("10.0.0.2", "ua", "s", ShareChannel::Email),
            press("10.0.0.1", "ua2", "s", ShareChannel::Email),
            press("10.0.0.1", "ua", "t", ShareChannel::Email),
            press("10.0.0.1", "ua", "s", ShareChannel::X),
        ] {
            assert!(!d.check_and_mark(&d.key(&other)));
        }
        d.forget(&a);
        assert!(!d.check_and_mark(&a));
    }

    #[test]
    fn dedup_forgets_after_the_window_and_rotates_its_salt() {
        let d = Dedup::new(Duration::from_millis(50));
        let a = d.key(&press("10.0.0.1", "ua", "s", ShareChannel::Email));
        let salt = d.lock().current.salt;
        assert!(!d.check_and_mark(&a));
        std::thread::sleep(Duration::from_millis(60));
        // Rotated: the press now lives in the previous generation, and has
        // aged out of the window.
        assert!(!d.check_and_mark(&a));
        assert_ne!(d.lock().current.salt, salt);
        std::thread::sleep(Duration::from_millis(120));
        let state = d.lock();
        assert!(state.current.seen.is_empty() && state.previous.seen.is_empty());
    }

    #[test]
    fn dedup_memory_is_bounded() {
        let d = Dedup::with_cap(Duration::from_secs(60), 3);
        for i in 0..50u32 {
            let key = d.key(&press(
                &format!("10.0.{}.{}", i / 250, i % 250),
                "ua",
                "s",
                ShareChannel::Email,
            ));
            assert!(!d.check_and_mark(&key));
            let state = d.lock();
            assert!(state.current.seen.len() <= 3 && state.previous.seen.len() <= 3);
        }
        // The most recent presses are still recognised.
        let last = d.key(&press("10.0.0.49", "ua", "s", ShareChannel::Email));
        assert!(d.check_and_mark(&last));
    }
}
