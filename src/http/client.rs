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

/// Counts one request from the client against `limiter` (`429` when over
/// it) and keeps where the client stands in the request, from which
/// [`rate_limit_headers`] are added to the answer, whatever it is.
pub async fn limit(
    req: &HttpRequest,
    limiter: &crate::infra::rate_limit::Limiter,
    trusted_proxies: &[IpNet],
) -> Result<IpAddr, crate::error::AppError> {
    use actix_web::HttpMessage;
    let ip = client_ip(req, trusted_proxies);
    match limiter.check(ip).await {
        Ok(standing) => {
            if let Some(standing) = standing {
                req.extensions_mut().insert(standing);
            }
            Ok(ip)
        }
        Err((error, standing)) => {
            if let Some(standing) = standing {
                req.extensions_mut().insert(standing);
            }
            Err(error)
        }
    }
}

/// `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10):
/// the quota per window, and what is left with the seconds until the quota
/// is whole again, e.g. `"comment";q=5;w=60` and `"comment";r=4;t=12`.
pub fn rate_limit_headers(
    standing: &crate::infra::rate_limit::Standing,
) -> [(actix_web::http::header::HeaderName, String); 2] {
    use actix_web::http::header::HeaderName;
    let name = standing.policy;
    [
        (
            HeaderName::from_static("ratelimit-policy"),
            format!("\"{name}\";q={};w={}", standing.quota, standing.window_secs),
        ),
        (
            HeaderName::from_static("ratelimit"),
            format!("\"{name}\";r={};t={}", standing.remaining, standing.reset_secs),
        ),
    ]
}
