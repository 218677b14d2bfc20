//! `CORS_ALLOWED_ORIGINS` entries: exact origins
//! (`https://www.example.com`) and subdomain patterns
//! (`https://*.example.com`) for preview deployments, where every branch
//! gets its own host. A pattern's `*` stands for exactly one DNS label
//! (`https://pr-12.example.com`, never `https://a.b.example.com` nor
//! `https://example.com`), with the same scheme and port; it needs at
//! least two labels after it (`https://*.com` is refused), and `*` alone
//! is refused: credentials are allowed for these origins.

/// One allowed origin, or a family of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigin {
    Exact(String),
    /// `scheme://*.suffix[:port]`; `suffix` without the leading dot.
    Subdomain {
        scheme: String,
        suffix: String,
        port: Option<String>,
    },
}

impl AllowedOrigin {
    /// Parses one entry (already trimmed, without a trailing `/`); `None`
    /// when it is neither an exact origin nor a valid pattern.
    pub fn parse(entry: &str) -> Option<AllowedOrigin> {
        let lower = entry.to_ascii_lowercase();
        let Some((scheme, rest)) = lower.split_once("://*.") else {
            return is_exact_origin(entry).then(|| AllowedOrigin::Exact(entry.to_string()));
        };
        // The rest must make an exact origin by itself, and name a
        // registrable-looking domain (two labels at least).
        if !is_exact_origin(&format!("{scheme}://{rest}")) || rest.starts_with('[') {
            return None;
        }
        let (suffix, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port.to_string())),
            None => (rest.to_string(), None),
        };
        if suffix.split('.').filter(|l| !l.is_empty()).count() < 2 || suffix.contains('*') {
            return None;
        }
        Some(AllowedOrigin::Subdomain {
            scheme: scheme.to_string(),
            suffix,
            port,
        })
    }

    /// Whether a request's `Origin` is this one (or of this family).
    pub fn matches(&self, origin: &str) -> bool {
        match self {
            AllowedOrigin::Exact(exact) => exact.eq_ignore_ascii_case(origin),
            AllowedOrigin::Subdomain { scheme, suffix, port } => {
                let origin = origin.to_ascii_lowercase();
                let Some(rest) = origin
                    .strip_prefix(scheme.as_str())
                    .and_then(|r| r.strip_prefix("://"))
                else {
                    return false;
                };
                let (host, origin_port) = match rest.rsplit_once(':') {
                    Some((host, p)) => (host, Some(p)),
                    None => (rest, None),
                };
                if origin_port != port.as_deref() {
                    return false;
                }
                let Some(label) = host
                    .strip_suffix(suffix.as_str())
                    .and_then(|h| h.strip_suffix('.'))
                else {
                    return false;
                };
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }
        }
    }
}

/// `scheme://host[:port]` with scheme http or https, and nothing else: no
/// wildcard, no path, no user info. A wildcard would hand credentialed
/// cross-origin access to every site, since the allowed origin is echoed.
fn is_exact_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    if !matches!(scheme, "http" | "https") || rest.is_empty() {
        return false;
    }
    let (host, port) = if rest.starts_with('[') {
        match rest.split_once(']') {
            Some((v6, "")) => (&v6[1..], None),
            Some((v6, port)) => match port.strip_prefix(':') {
                Some(port) => (&v6[1..], Some(port)),
                None => return false,
            },
            None => return false,
        }
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    let host_ok = !host.is_empty()
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.') || (b == b':' && rest.starts_with('['))
        });
    let port_ok = port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_one_label_with_the_same_scheme_and_port() {
        let p = AllowedOrigin::parse("https://*.example.com").unwrap();
        for ok in ["https://pr-12.example.com", "https://PREVIEW.example.com"] {
            assert!(p.matches(ok), "{ok}");
        }
        for no in [
            "https://example.com",
            "https://a.b.example.com",
            "http://pr-12.example.com",
            "https://pr-12.example.com:8443",
            "https://pr-12.example.com.evil.net",
            "https://pr-12example.com",
            "https://-x.example.com",
            "https://.example.com",
            "null",
        ] {
            assert!(!p.matches(no), "{no}");
        }
        let with_port = AllowedOrigin::parse("http://*.preview.test:3000").unwrap();
        assert!(with_port.matches("http://feature-x.preview.test:3000"));
        assert!(!with_port.matches("http://feature-x.preview.test"));
    }

    #[test]
    fn only_sound_entries_parse() {
        for bad in [
            "*",
            "https://*",
            "https://*.com",
            "https://*.*.example.com",
            "https://a.*.example.com",
            "https://*.example.com/path",
            "ftp://*.example.com",
            "null",
        ] {
            assert_eq!(AllowedOrigin::parse(bad), None, "{bad}");
        }
        assert_eq!(
            AllowedOrigin::parse("https://www.example.com"),
            Some(AllowedOrigin::Exact("https://www.example.com".into()))
        );
        assert!(
            AllowedOrigin::parse("https://www.example.com")
                .unwrap()
                .matches("https://www.example.com")
        );
    }
}
