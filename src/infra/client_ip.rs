//! Who the client is: the socket peer, or behind trusted proxies the
//! address they forwarded; and the key a client is rate-limited under.
//! Pure functions over addresses (the request is read in `http::client`).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

/// The client's IP: the socket peer, unless the peer is a trusted proxy.
/// Then `X-Forwarded-For` (`forwarded`: its entries, left to right, every
/// header joined) is read from the right: trusted proxies are skipped and
/// the first other address is the client. Entries further left are
/// client-supplied and forgeable. An entry that does not parse (`unknown`,
/// garbage) ends the walk at the last trusted hop: skipping it would hand
/// the choice of key to whatever the client wrote to its left.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded: impl DoubleEndedIterator<Item = &'a str>,
    trusted_proxies: &[IpNet],
) -> IpAddr {
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    let peer = peer.to_canonical();
    if !trusted(&peer) {
        return peer;
    }
    let mut last_trusted = peer;
    for entry in forwarded.rev() {
        match parse_forwarded(entry) {
            Some(ip) if trusted(&ip) => last_trusted = ip,
            Some(ip) => return ip,
            None => return last_trusted,
        }
    }
    last_trusted
}

/// One `X-Forwarded-For` entry: `ip`, `ip:port`, `[v6]` or `[v6]:port`,
/// through std's address parsers. IPv4-mapped IPv6 becomes IPv4.
pub fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let ip = entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
        .or_else(|| {
            let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
            inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        })?;
    Some(ip.to_canonical())
}

/// The key a client is rate-limited under: its IPv4 address, or the /64 of
/// its IPv6 address (one host usually holds a whole /64, so keying by the
/// full address would give it 2^64 buckets).
pub fn rate_limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn walk(peer: &str, header: &str, proxies: &[&str]) -> String {
        let nets: Vec<IpNet> = proxies.iter().map(|p| p.parse().unwrap()).collect();
        client_ip(ip(peer), header.split(','), &nets).to_string()
    }

    #[test]
    fn entries_with_ports_and_brackets_parse() {
        assert_eq!(parse_forwarded(" 203.0.113.8:4444 "), Some(ip("203.0.113.8")));
        assert_eq!(parse_forwarded("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        assert_eq!(parse_forwarded("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(parse_forwarded("2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(parse_forwarded("::ffff:198.51.100.1"), Some(ip("198.51.100.1")));
        for bad in ["unknown", "", "1.2.3", "[::1", "_hidden", "1.2.3.4:99999"] {
            assert_eq!(parse_forwarded(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_trusted_peers_are_believed() {
        assert_eq!(
            walk("203.0.113.9", "198.51.100.1", &["10.0.0.0/8"]),
            "203.0.113.9"
        );
        assert_eq!(
            walk("10.1.2.3", "6.6.6.6, 198.51.100.1, 10.9.9.9", &["10.0.0.0/8"]),
            "198.51.100.1"
        );
    }

    #[test]
    fn ports_no_longer_hand_the_key_to_the_client() {
        // Before: `203.0.113.8:4444` was skipped and the forged 6.6.6.6 won.
        assert_eq!(
            walk("10.0.0.1", "6.6.6.6, 203.0.113.8:4444", &["10.0.0.0/8"]),
            "203.0.113.8"
        );
        assert_eq!(
            walk("10.0.0.1", "6.6.6.6, [2001:db8::1]:443", &["10.0.0.0/8"]),
            "2001:db8::1"
        );
    }

    #[test]
    fn an_unparsable_entry_stops_at_the_last_trusted_hop() {
        assert_eq!(walk("10.0.0.1", "6.6.6.6, unknown", &["10.0.0.0/8"]), "10.0.0.1");
        assert_eq!(
            walk("10.0.0.1", "6.6.6.6, garbage, 10.0.0.7", &["10.0.0.0/8"]),
            "10.0.0.7"
        );
        assert_eq!(
            walk("10.0.0.1", "10.0.0.2, 10.0.0.3", &["10.0.0.0/8"]),
            "10.0.0.2"
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(rate_limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            rate_limit_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            rate_limit_key(ip("2001:db8:1:2::7"))
        );
        assert_ne!(rate_limit_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(rate_limit_key(ip("198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(rate_limit_key(ip("::ffff:198.51.100.7")), ip("198.51.100.7"));
    }
}
