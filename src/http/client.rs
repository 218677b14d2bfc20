//! The client's address as rate limits see it, read from the request (the
//! rules are in `infra::client_ip`).

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

use crate::infra::client_ip as rules;

/// The socket peer, or behind a trusted proxy the forwarded client.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpNet]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if trusted_proxies.is_empty() {
        return peer;
    }
    // Every `X-Forwarded-For` header, in order, as one list. A header that
    // is not text counts as one entry that does not parse.
    let entries: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .collect();
    rules::client_ip(peer, entries.into_iter(), trusted_proxies)
}
