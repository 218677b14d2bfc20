//! Webhooks, the pure part: the event types, which change-log row becomes
//! which event, the retry schedule, the Standard Webhooks signature, and
//! which addresses a delivery may never reach (SSRF).
//!
//! | change row | event |
//! |---|---|
//! | article `published` | `article.published` |
//! | article `updated`, public | `article.updated` |
//! | article `unpublished` | `article.unpublished` |
//! | article `deleted`, public (it was visible) | `article.deleted` |
//! | comment `created`, public (approved at once) | `comment.created` |
//! | comment `approved` | `comment.approved` |
//! | tag `created` / `updated` / `deleted` | `tag.created` / `tag.updated` / `tag.deleted` |
//! | anything else (drafts, held comments, shares, authors) | none |

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::change::{Action, Entity};

/// Every event an endpoint may ask for.
pub const EVENTS: [&str; 10] = [
    "article.published",
    "article.updated",
    "article.unpublished",
    "article.deleted",
    "comment.created",
    "comment.approved",
    "tag.created",
    "tag.updated",
    "tag.deleted",
    "ping",
];

/// How webhooks are delivered (`WEBHOOK_*` settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// `WEBHOOK_ALLOW_PRIVATE_TARGETS`: deliver to loopback and private
    /// addresses too (tests, on-premise receivers).
    pub allow_private_targets: bool,
    /// `WEBHOOK_RETRY_SCHEDULE`: seconds before each retry.
    pub schedule: Vec<u64>,
    /// `WEBHOOK_DELIVERY_THREADS`: attempts one instance makes at once.
    pub threads: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            allow_private_targets: false,
            schedule: DEFAULT_SCHEDULE.to_vec(),
            threads: 4,
        }
    }
}

/// Whether `name` is one of [`EVENTS`].
pub fn is_event(name: &str) -> bool {
    EVENTS.contains(&name)
}

/// The event a change-log row announces, if any (the table above).
pub fn event_for(entity: Entity, action: Action, public: bool) -> Option<&'static str> {
    Some(match (entity, action) {
        (Entity::Article, Action::Published) => "article.published",
        (Entity::Article, Action::Updated) if public => "article.updated",
        (Entity::Article, Action::Unpublished) => "article.unpublished",
        (Entity::Article, Action::Deleted) if public => "article.deleted",
        (Entity::Comment, Action::Created) if public => "comment.created",
        (Entity::Comment, Action::Approved) => "comment.approved",
        (Entity::Tag, Action::Created) => "tag.created",
        (Entity::Tag, Action::Updated) => "tag.updated",
        (Entity::Tag, Action::Deleted) => "tag.deleted",
        _ => return None,
    })
}

/// Events stored on an endpoint: space separated, like surrogate keys.
pub fn join_events(events: &[String]) -> String {
    events.join(" ")
}

pub fn split_events(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// The default retry schedule, the delay before each attempt after the
/// first (Standard Webhooks / Svix): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
/// 10 h: eight attempts over about 27.6 hours.
pub const DEFAULT_SCHEDULE: [u64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// The delay before attempt number `done + 1` after `done` failed attempts,
/// with ±20 % jitter from `unit` (a random number in [0, 1)); `None` when
/// the schedule is spent.
pub fn retry_delay(schedule: &[u64], done: usize, unit: f64) -> Option<Duration> {
    let base = *schedule.get(done.checked_sub(1)?)? as f64;
    let jitter = 0.8 + 0.4 * unit.clamp(0.0, 1.0);
    Some(Duration::from_millis((base * 1000.0 * jitter) as u64))
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret(bytes: [u8; 32]) -> String {
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` header value for one message: `v1,` and the
/// base64 HMAC-SHA256, keyed with the secret's bytes, of
/// `"{id}.{timestamp}.{body}"`. `None` when the secret is not `whsec_…`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// Why an address may not be a webhook target, or `None` when it may: not
/// loopback, private, shared (CGNAT), link-local (the cloud metadata
/// service at 169.254.169.254 among them), unique-local (AWS's
/// `fd00:ec2::254`) or site-local, unspecified, multicast, broadcast,
/// documentation or benchmarking addresses, nor an IPv4 address hidden in
/// IPv6 (mapped, NAT64, 6to4, Teredo, compatible).
pub fn refused_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return refused_v4(v4);
            }
            let s = v6.segments();
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("unique-local (private)")
            } else if s[0] & 0xffc0 == 0xfec0 {
                Some("site-local (deprecated, private)")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("documentation")
            } else if s[0] == 0x2001 && s[1] == 0 {
                // Teredo: an IPv4 address and port tunnelled inside.
                Some("IPv4 embedded in IPv6")
            } else if s[0] == 0x0064 && s[1] == 0xff9b || s[0] == 0x2002 || s[..6] == [0; 6] {
                Some("IPv4 embedded in IPv6")
            } else {
                None
            }
        }
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local (cloud metadata)")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_multicast() || o[0] >= 240 {
        Some("multicast or reserved")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared address space (CGNAT)")
    } else if ip.is_documentation() || (o[0] == 198 && (o[1] & 0xfe) == 18) {
        Some("documentation or benchmarking")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("IETF protocol assignments")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_refused_and_allowed() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "2001:db8::1",
            "ff02::1",
            "fec0::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert!(refused_address(ip).is_some(), "{refused} must be refused");
        }
        for allowed in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "2001:4860:4860::8888",
        ] {
            let ip: IpAddr = allowed.parse().unwrap();
            assert_eq!(refused_address(ip), None, "{allowed}");
        }
    }

    /// The example of the Standard Webhooks specification's test vectors.
    #[test]
    fn signature_matches_the_specification_example() {
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        assert_eq!(sign("nope", "a", 1, b""), None);
    }

    #[test]
    fn schedule_spans_a_day_with_jitter() {
        assert_eq!(retry_delay(&DEFAULT_SCHEDULE, 0, 0.5), None);
        assert_eq!(
            retry_delay(&DEFAULT_SCHEDULE, 1, 0.5),
            Some(Duration::from_secs(5))
        );
        assert_eq!(retry_delay(&DEFAULT_SCHEDULE, 8, 0.5), None);
        let total: u64 = DEFAULT_SCHEDULE.iter().sum();
        assert!(total > 24 * 3600);
        let low = retry_delay(&DEFAULT_SCHEDULE, 2, 0.0).unwrap();
        let high = retry_delay(&DEFAULT_SCHEDULE, 2, 1.0).unwrap();
        assert_eq!((low.as_secs(), high.as_secs()), (240, 360));
    }

    #[test]
    fn events_come_from_public_changes_only() {
        assert_eq!(event_for(Entity::Article, Action::Updated, false), None);
        assert_eq!(
            event_for(Entity::Article, Action::Updated, true),
            Some("article.updated")
        );
        assert_eq!(event_for(Entity::Article, Action::Deleted, false), None);
        assert_eq!(event_for(Entity::Comment, Action::Created, false), None);
        assert_eq!(event_for(Entity::Share, Action::Created, true), None);
        assert!(EVENTS.iter().all(|e| is_event(e)));
    }
}
