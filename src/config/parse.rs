//! Reading one setting (or a few that belong together) from the
//! environment: what `Config::from_lookup` assembles.

use std::net::IpAddr;

use base64::Engine;
use ipnet::IpNet;
use rand::RngCore;

use super::{ConfigError, Environment, LogFormat, invalid};
use crate::domain::comment::CommentModeration;

/// `BROADSHEET_ENV`.
pub(super) fn environment(get: &impl Fn(&str) -> Option<String>) -> Result<Environment, ConfigError> {
    Ok(match get("BROADSHEET_ENV").as_deref() {
        None | Some("development") => Environment::Development,
        Some("production") => Environment::Production,
        Some(other) => {
            return Err(invalid(
                "BROADSHEET_ENV",
                format!("`{other}` is not one of development, production"),
            ));
        }
    })
}

/// `JWT_SECRET`, and whether it was generated (development only).
pub(super) fn jwt_secret(
    get: &impl Fn(&str) -> Option<String>,
    production: bool,
) -> Result<(Vec<u8>, bool), ConfigError> {
    Ok(match get("JWT_SECRET") {
        Some(secret) if production && secret.len() < 32 => {
            return Err(invalid(
                "JWT_SECRET",
                format!(
                    "must be at least 32 bytes in production (it has {})",
                    secret.len()
                ),
            ));
        }
        Some(secret) => (secret.into_bytes(), false),
        None if production => {
            return Err(invalid(
                "JWT_SECRET",
                "must be set in production (at least 32 bytes)",
            ));
        }
        None => {
            let mut bytes = vec![0u8; 48];
            rand::rng().fill_bytes(&mut bytes);
            let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            (encoded.into_bytes(), true)
        }
    })
}

/// `COMMENT_MODERATION`.
pub(super) fn comment_moderation(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<CommentModeration, ConfigError> {
    Ok(match get("COMMENT_MODERATION").as_deref() {
        None | Some("all") => CommentModeration::All,
        Some("first_time") => CommentModeration::FirstTime,
        Some("none") => CommentModeration::None,
        Some(other) => {
            return Err(invalid(
                "COMMENT_MODERATION",
                format!("`{other}` is not one of all, first_time, none"),
            ));
        }
    })
}

/// `LOG_FORMAT`.
pub(super) fn log_format(get: &impl Fn(&str) -> Option<String>) -> Result<LogFormat, ConfigError> {
    Ok(match get("LOG_FORMAT").as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            return Err(invalid(
                "LOG_FORMAT",
                format!("`{other}` is not one of text, json"),
            ));
        }
    })
}

/// `TRUSTED_PROXIES`: IPs or CIDRs, comma-separated.
pub(super) fn trusted_proxies(get: &impl Fn(&str) -> Option<String>) -> Result<Vec<IpNet>, ConfigError> {
    Ok(get("TRUSTED_PROXIES")
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<IpNet>()
                        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| invalid("TRUSTED_PROXIES", format!("`{s}` is not an IP or CIDR")))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default())
}

/// `CORS_ALLOWED_ORIGINS`: exact origins, comma-separated.
pub(super) fn cors_allowed_origins(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<super::origins::AllowedOrigin>, ConfigError> {
    let cors_allowed_origins: Vec<String> = get("CORS_ALLOWED_ORIGINS")
        .map(|list| {
            list.split(',')
                .map(|s| s.trim().trim_end_matches('/').to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    cors_allowed_origins
        .iter()
        .map(|entry| {
            super::origins::AllowedOrigin::parse(entry).ok_or_else(|| {
                invalid(
                    "CORS_ALLOWED_ORIGINS",
                    format!(
                        "`{entry}` is neither an exact origin such as https://www.example.com \
                         nor a subdomain pattern such as https://*.example.com (no `*` alone, \
                         path or `null`: credentials are allowed for these origins)"
                    ),
                )
            })
        })
        .collect()
}

/// `SITE_URL` and `ARTICLE_URL_TEMPLATE`.
pub(super) fn site_urls(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<crate::domain::url::SiteUrls, ConfigError> {
    use crate::domain::url::SiteUrls;
    let site = get("SITE_URL").unwrap_or_else(|| SiteUrls::DEFAULT_SITE_URL.to_string());
    let template =
        get("ARTICLE_URL_TEMPLATE").unwrap_or_else(|| SiteUrls::DEFAULT_ARTICLE_TEMPLATE.to_string());
    SiteUrls::new(&site, SiteUrls::DEFAULT_ARTICLE_TEMPLATE).map_err(|e| invalid("SITE_URL", e.0))?;
    SiteUrls::new(&site, &template).map_err(|e| invalid("ARTICLE_URL_TEMPLATE", e.0))
}

/// `SITE_TITLE` (1–200 characters), `SITE_LANGUAGE`, `FEED_FULL_CONTENT`
/// and `FEED_ITEMS` (1–100).
pub(super) fn feeds(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<crate::domain::feed::FeedSettings, ConfigError> {
    use crate::domain::feed::{FeedSettings, MAX_FEED_ITEMS, valid_language};
    let defaults = FeedSettings::default();
    let title = get("SITE_TITLE").unwrap_or(defaults.title);
    if title.chars().count() > 200 || title.chars().any(char::is_control) {
        return Err(invalid(
            "SITE_TITLE",
            "must be at most 200 characters, on one line",
        ));
    }
    let language = get("SITE_LANGUAGE").unwrap_or(defaults.language);
    if !valid_language(&language) {
        return Err(invalid(
            "SITE_LANGUAGE",
            format!("`{language}` is not a language code such as en, de or pt-br"),
        ));
    }
    let items = positive(get, "FEED_ITEMS", u64::from(defaults.items))?;
    if items > u64::from(MAX_FEED_ITEMS) {
        return Err(invalid("FEED_ITEMS", format!("must be at most {MAX_FEED_ITEMS}")));
    }
    Ok(FeedSettings {
        title,
        language,
        full_content: parse_bool(get, "FEED_FULL_CONTENT", defaults.full_content)?,
        items: items as u32,
    })
}

/// `DEMO_CONTENT` (refused in production) and `DEMO_ADMIN_PASSWORD`.
pub(super) fn demo(
    get: &impl Fn(&str) -> Option<String>,
    production: bool,
) -> Result<(bool, Option<String>), ConfigError> {
    let demo_content = parse_bool(&get, "DEMO_CONTENT", !production)?;
    if production && demo_content {
        return Err(invalid("DEMO_CONTENT", "demo content is refused in production"));
    }

    let demo_admin_password = get("DEMO_ADMIN_PASSWORD");
    if let Some(p) = &demo_admin_password
        && let Err(e) = crate::domain::password::check_rules(p)
    {
        return Err(invalid("DEMO_ADMIN_PASSWORD", e));
    }
    Ok((demo_content, demo_admin_password))
}

/// `METRICS_TOKEN`: at least 16 bytes when set.
pub(super) fn metrics_token(get: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    let metrics_token = get("METRICS_TOKEN");
    if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
        return Err(invalid("METRICS_TOKEN", "must be at least 16 bytes"));
    }
    Ok(metrics_token)
}

/// A count where unset or 0 means "automatic" (`DB_POOL_SIZE`, `WORKERS`).
pub(super) fn automatic_count<T: std::str::FromStr + Default + PartialEq>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, ConfigError> {
    match get(name) {
        None => Ok(None),
        Some(_) => Ok(Some(parse_num::<T>(get, name, T::default())?).filter(|n| *n != T::default())),
    }
}

pub(super) fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(invalid(name, format!("`{other}` is not true or false"))),
    }
}

pub(super) fn parse_num<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| invalid(name, format!("`{v}` is not a non-negative whole number"))),
    }
}

pub(super) fn positive(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match parse_num(get, name, default)? {
        0 => Err(invalid(name, "must be greater than zero")),
        n => Ok(n),
    }
}

/// `SURROGATE_KEY_HEADER`: which CDN's header carries the surrogate keys.
pub(super) fn key_header(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<crate::domain::change::KeyHeader, ConfigError> {
    use crate::domain::change::KeyHeader;
    let name = "SURROGATE_KEY_HEADER";
    match get(name) {
        None => Ok(KeyHeader::SurrogateKey),
        Some(v) => KeyHeader::parse(&v).ok_or_else(|| {
            invalid(
                name,
                format!("`{v}` is not one of Surrogate-Key, Cache-Tag, xkey or off"),
            )
        }),
    }
}

/// `CHANGES_RETENTION_DAYS`: 1 to 36,500.
pub(super) fn retention_days(get: &impl Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    let name = "CHANGES_RETENTION_DAYS";
    match positive(get, name, 30)? {
        n if n > 36_500 => Err(invalid(name, "must be at most 36500 (a hundred years)")),
        n => Ok(n as u32),
    }
}

/// `PREVIEW_TTL_DAYS`: 1 to 365, default 7.
pub(super) fn preview_ttl_days(get: &impl Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    let name = "PREVIEW_TTL_DAYS";
    match positive(get, name, 7)? {
        n if n > 365 => Err(invalid(name, "must be at most 365 (a year)")),
        n => Ok(n as u32),
    }
}

/// `WEBHOOK_ALLOW_PRIVATE_TARGETS`, `WEBHOOK_RETRY_SCHEDULE` (seconds,
/// comma separated) and `WEBHOOK_DELIVERY_THREADS`.
pub(super) fn webhooks(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<crate::domain::webhook::WebhookSettings, ConfigError> {
    let mut settings = crate::domain::webhook::WebhookSettings {
        allow_private_targets: parse_bool(get, "WEBHOOK_ALLOW_PRIVATE_TARGETS", false)?,
        threads: positive(get, "WEBHOOK_DELIVERY_THREADS", 4)?.min(64) as usize,
        ..Default::default()
    };
    if let Some(text) = get("WEBHOOK_RETRY_SCHEDULE") {
        let steps: Result<Vec<u64>, _> = text.split(',').map(|s| s.trim().parse::<u64>()).collect();
        // Each step at most a week: a delivery's next time must stay a
        // date (a huge step would overflow it and stop a sender thread).
        settings.schedule = steps
            .ok()
            .filter(|s| s.len() <= 20 && s.iter().all(|n| *n <= 7 * 24 * 3600))
            .ok_or_else(|| {
                invalid(
                    "WEBHOOK_RETRY_SCHEDULE",
                    "expected up to 20 whole numbers of seconds (each at most 604800, a week), comma separated",
                )
            })?;
    }
    Ok(settings)
}
