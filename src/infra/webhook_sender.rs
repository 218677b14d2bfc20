//! One webhook attempt over HTTP: resolve the target ourselves, refuse
//! addresses an outsider must not make us reach (SSRF, unless
//! `WEBHOOK_ALLOW_PRIVATE_TARGETS`), then connect to exactly the addresses
//! checked (the client's resolver is handed them: no second DNS answer can
//! point it elsewhere), with a 10 s limit, no redirects followed, and at
//! most 1 KB of the answer kept.

use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::domain::webhook::refused_address;

/// The limit of one attempt, connection to last byte.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a receiver's answer is kept.
pub const MAX_RESPONSE_BYTES: u64 = 1024;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The answer's status, when there was one.
    pub status: Option<u16>,
    pub duration: Duration,
    /// Why it failed, when it did (`None` with a 2xx status).
    pub error: Option<String>,
    /// The first 1 KB of the answer's body.
    pub body: Option<String>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Posts `body` with `headers` to `url`.
pub fn send(url: &str, headers: &[(&str, String)], body: &[u8], allow_private: bool) -> Outcome {
    let started = Instant::now();
    let failed = |error: String| Outcome {
        status: None,
        duration: started.elapsed(),
        error: Some(error),
        body: None,
    };
    let addrs = match resolve(url, allow_private) {
        Ok(addrs) => addrs,
        Err(error) => return failed(error),
    };
    let agent = ureq::AgentBuilder::new()
        .resolver(move |_: &str| Ok(addrs.clone()))
        .redirects(0)
        .timeout(TIMEOUT)
        .user_agent("Broadsheet-Webhooks/1")
        .build();
    let mut request = agent.post(url).set("content-type", "application/json");
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let (status, response) = match request.send_bytes(body) {
        Ok(response) => (response.status(), response),
        Err(ureq::Error::Status(status, response)) => (status, response),
        Err(ureq::Error::Transport(t)) => return failed(format!("could not deliver: {t}")),
    };
    let mut kept = Vec::new();
    let _ = response
        .into_reader()
        .take(MAX_RESPONSE_BYTES)
        .read_to_end(&mut kept);
    let error = match status {
        200..=299 => None,
        300..=399 => Some(format!("answered {status}: redirects are not followed")),
        _ => Some(format!("answered {status}")),
    };
    Outcome {
        status: Some(status),
        duration: started.elapsed(),
        error,
        body: Some(String::from_utf8_lossy(&kept).into_owned()),
    }
}

/// The addresses of `url`'s host, every one of them allowed.
fn resolve(url: &str, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = match parsed.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err("the URL has no host".into()),
    };
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    if !allow_private {
        // Any refused address refuses the target: a name that answers
        // with a public and a private address is not trusted with either.
        if let Some((addr, why)) = addrs
            .iter()
            .find_map(|a| refused_address(a.ip()).map(|why| (a, why)))
        {
            return Err(format!(
                "refused: {host} resolves to {} ({why}); such targets need WEBHOOK_ALLOW_PRIVATE_TARGETS=true",
                addr.ip()
            ));
        }
    }
    Ok(addrs)
}
