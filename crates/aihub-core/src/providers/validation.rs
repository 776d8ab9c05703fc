//! The rules a provider's fields must pass before it is stored: slug, settings, API key and
//! base URL (the base URL also against the SSRF policy of its scope).

use crate::{Error, Result, validate};
use aihub_domain::{ProviderConfig, ProviderKind, ProviderScope};
use aihub_providers::ssrf;
use secrecy::{ExposeSecret, SecretString};

pub(super) fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(50).collect()
}

pub(super) fn valid_slug(slug: &str) -> Result<String> {
    let ok = !slug.is_empty()
        && slug.len() <= 50
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && slug
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if !ok {
        return Err(Error::validation(
            "slug",
            "slug must be 1–50 of a-z, 0-9, - and _, starting with a letter or digit",
        ));
    }
    Ok(slug.to_owned())
}

pub(super) fn valid_config(config: &ProviderConfig) -> Result<()> {
    validate::temperature("config.temperature", config.temperature)?;
    validate::max_tokens("config.max_tokens", config.max_tokens.map(i64::from))?;
    if let Some(t) = config.timeout_s
        && !(1..=3600).contains(&t)
    {
        return Err(Error::validation(
            "config.timeout_s",
            "config.timeout_s must be between 1 and 3600",
        ));
    }
    if let Some(t) = config.first_byte_timeout_s
        && !(1..=3600).contains(&t)
    {
        return Err(Error::validation(
            "config.first_byte_timeout_s",
            "config.first_byte_timeout_s must be between 1 and 3600",
        ));
    }
    if config.max_retries.is_some_and(|n| n > 5) {
        return Err(Error::validation(
            "config.max_retries",
            "config.max_retries must be between 0 and 5",
        ));
    }
    if config.fallbacks.len() > 5 {
        return Err(Error::validation(
            "config.fallbacks",
            "config.fallbacks holds at most 5 models",
        ));
    }
    for f in &config.fallbacks {
        if aihub_domain::ModelRef::parse(f).is_none() {
            return Err(Error::validation(
                "config.fallbacks",
                format!("fallback `{f}` must be `<provider slug or kind>/<model>`"),
            ));
        }
    }
    for name in config.headers.keys() {
        let lower = name.to_ascii_lowercase();
        if lower == "authorization"
            || lower == "host"
            || lower.is_empty()
            || !lower.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(Error::validation(
                "config.headers",
                format!("header `{name}` is not allowed"),
            ));
        }
    }
    Ok(())
}

pub(super) fn valid_api_key(key: &SecretString) -> Result<()> {
    let k = key.expose_secret();
    if k.trim().is_empty() || k.len() > 1024 || k.chars().any(char::is_control) {
        return Err(Error::validation(
            "api_key",
            "api_key must be 1–1024 printable characters",
        ));
    }
    Ok(())
}

/// Checks a base URL against the SSRF policy of `scope` and returns it normalized.
pub(super) fn valid_base_url(
    kind: ProviderKind,
    scope: ProviderScope,
    url: Option<&str>,
) -> Result<Option<String>> {
    let allow_private = scope == ProviderScope::Organization;
    let unsafe_url = |e: aihub_providers::ProviderError| Error {
        param: Some("base_url".into()),
        ..Error::from(e)
    };
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        // The vendor default must pass the same policy (Ollama's is localhost).
        let Some(default) = kind.default_base_url() else {
            return Err(Error::validation(
                "base_url",
                format!("base_url is required for kind {}", kind.as_str()),
            ));
        };
        ssrf::check_base_url(default, allow_private).map_err(unsafe_url)?;
        return Ok(None);
    };
    let parsed = ssrf::check_base_url(url, allow_private).map_err(unsafe_url)?;
    Ok(Some(parsed.as_str().trim_end_matches('/').to_owned()))
}
