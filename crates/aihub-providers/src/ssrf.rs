//! Server-side request forgery policy for provider base URLs.
//!
//! Two checks guard every upstream call:
//! - [`check_base_url`] when a provider is created or built: scheme, credentials in the URL,
//!   forbidden host names and IP literals in every spelling (`2130706433`, `0x7f.1`,
//!   `[::ffff:127.0.0.1]`, …);
//! - [`SsrfResolver`] at connect time: the HTTP client resolves names through it, so a name that
//!   resolves to a forbidden address (DNS rebinding) is refused before any connection is opened.
//!
//! Personal providers (`allow_private == false`) may only reach public addresses. Organization
//! providers may reach private networks and loopback. Cloud metadata endpoints are refused for
//! everyone, and so are ranges that can never host a provider (multicast, broadcast,
//! documentation, reserved).

use crate::ProviderError;
use aihub_domain::ErrorCode;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use url::{Host, Url};

/// Host names of cloud metadata services, refused even for organization providers.
const METADATA_HOSTS: [&str; 2] = ["metadata.google.internal", "metadata.goog"];

/// Cloud metadata addresses, refused even for organization providers: AWS/GCP/Azure IMDS,
/// AWS ECS task metadata, EKS pod identity, Alibaba Cloud.
const METADATA_V4: [Ipv4Addr; 4] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 170, 23),
    Ipv4Addr::new(100, 100, 100, 200),
];

/// AWS IMDS and EKS pod identity over IPv6 (`fd00:ec2::254`, `fd00:ec2::23`).
const METADATA_V6: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x254),
    Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x23),
];

fn unsafe_url(reason: &str) -> ProviderError {
    ProviderError::new(
        ErrorCode::UnsafeBaseUrl,
        format!("base_url is not allowed: {reason}"),
    )
}

/// Parses and checks a provider base URL.
///
/// Accepts `http`/`https` URLs with a host and without userinfo, whose host is neither a
/// forbidden name nor a forbidden IP literal (see the module docs). Names are only checked as
/// names here; their addresses are checked at connect time by [`SsrfResolver`].
///
/// # Errors
/// [`ErrorCode::UnsafeBaseUrl`] with a message naming the reason. The message never quotes the
/// URL, which could carry a secret.
pub fn check_base_url(url: &str, allow_private: bool) -> Result<Url, ProviderError> {
    let parsed =
        Url::parse(url.trim()).map_err(|_| unsafe_url("it is not a valid absolute URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(unsafe_url("the scheme must be http or https"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(unsafe_url(
            "it must not contain credentials (user:password@)",
        ));
    }
    match parsed.host() {
        None => return Err(unsafe_url("it has no host")),
        Some(Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip), allow_private)?,
        Some(Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip), allow_private)?,
        Some(Host::Domain(name)) => check_host(name, allow_private)?,
    }
    Ok(parsed)
}

/// Checks a host as written (a name or an IP literal in any spelling), without resolving it.
///
/// # Errors
/// [`ErrorCode::UnsafeBaseUrl`] for metadata host names (always), `localhost` and
/// `*.localhost` (unless `allow_private`), and forbidden IP literals (see [`check_ip`]).
pub fn check_host(host: &str, allow_private: bool) -> Result<(), ProviderError> {
    if let Some(ip) = parse_ip_literal(host) {
        return check_ip(ip, allow_private);
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if METADATA_HOSTS.contains(&name.as_str()) {
        return Err(unsafe_url("it points at a cloud metadata service"));
    }
    if !allow_private && (name == "localhost" || name.ends_with(".localhost")) {
        return Err(unsafe_url("it points at localhost"));
    }
    Ok(())
}

/// Checks one address against the policy.
///
/// # Errors
/// [`ErrorCode::UnsafeBaseUrl`] naming the range the address falls in.
pub fn check_ip(ip: IpAddr, allow_private: bool) -> Result<(), ProviderError> {
    match forbidden_reason(ip, allow_private) {
        Some(reason) => Err(unsafe_url(&format!("it points at a {reason}"))),
        None => Ok(()),
    }
}

/// Why `ip` is refused, or `None` when it may be reached.
fn forbidden_reason(ip: IpAddr, allow_private: bool) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4, allow_private),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => v4_reason(v4, allow_private),
            None => v6_reason(v6, allow_private),
        },
    }
}

fn v4_reason(ip: Ipv4Addr, allow_private: bool) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if METADATA_V4.contains(&ip) {
        return Some("cloud metadata address");
    }
    // Ranges that never host a provider are refused for everyone.
    if ip.is_broadcast() {
        return Some("broadcast address");
    }
    if ip.is_multicast() {
        return Some("multicast address");
    }
    if ip.is_documentation() {
        return Some("documentation address");
    }
    if a >= 240 || (a == 198 && (b & 0xfe) == 18) || (a == 192 && b == 0 && c == 0) {
        return Some("reserved address");
    }
    if allow_private {
        return None;
    }
    if ip.is_loopback() {
        Some("loopback address")
    } else if ip.is_private() {
        Some("private network address")
    } else if ip.is_link_local() {
        Some("link-local address")
    } else if a == 100 && (b & 0xc0) == 64 {
        Some("shared (CGNAT) address")
    } else if a == 0 {
        Some("unspecified address")
    } else {
        None
    }
}

fn v6_reason(ip: Ipv6Addr, allow_private: bool) -> Option<&'static str> {
    let first = ip.segments()[0];
    if METADATA_V6.contains(&ip) {
        return Some("cloud metadata address");
    }
    if ip.is_multicast() {
        return Some("multicast address");
    }
    if first == 0x2001 && ip.segments()[1] == 0x0db8 {
        return Some("documentation address");
    }
    if allow_private {
        return None;
    }
    if ip.is_loopback() {
        Some("loopback address")
    } else if ip.is_unspecified() {
        Some("unspecified address")
    } else if (first & 0xfe00) == 0xfc00 {
        Some("private network address")
    } else if (first & 0xffc0) == 0xfe80 {
        Some("link-local address")
    } else if (first & 0xffc0) == 0xfec0 {
        Some("site-local address")
    } else {
        None
    }
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`, deprecated) and NAT64 (`64:ff9b::a.b.c.d`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let nat64 = s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|&x| x == 0);
    // `::` and `::1` are IPv6's own unspecified and loopback addresses, not compatible forms.
    let compatible = s[..6].iter().all(|&x| x == 0) && u32::from(low) > 1;
    (nat64 || compatible).then_some(low)
}

/// Parses an IP literal in any spelling a resolver or URL parser might accept: IPv6 with or
/// without brackets and zone id, and IPv4 the `inet_aton` way (1 to 4 parts, each decimal,
/// octal with a leading `0`, or hex with `0x`; the last part fills the remaining bytes, so
/// `127.1` and `2130706433` are `127.0.0.1`). A trailing dot is ignored.
pub fn parse_ip_literal(host: &str) -> Option<IpAddr> {
    let host = host.trim();
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let without_zone = unbracketed.split('%').next().unwrap_or(unbracketed);
    if let Ok(v6) = without_zone.parse::<Ipv6Addr>() {
        return Some(IpAddr::V6(v6));
    }
    parse_ipv4_lenient(host.strip_suffix('.').unwrap_or(host)).map(IpAddr::V4)
}

fn parse_ipv4_lenient(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|p| parse_ipv4_part(p))
        .collect::<Option<_>>()?;
    let (last, leading) = numbers.split_last()?;
    if leading.iter().any(|&n| n > 0xff) {
        return None;
    }
    let last_bits = 8 * (4 - leading.len() as u32);
    if *last >= 1u64 << last_bits {
        return None;
    }
    let mut value: u64 = *last;
    for (i, &n) in leading.iter().enumerate() {
        value |= n << (24 - 8 * i as u32);
    }
    u32::try_from(value).ok().map(Ipv4Addr::from)
}

fn parse_ipv4_part(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if let Some(octal) = part.strip_prefix('0').filter(|rest| !rest.is_empty()) {
            (octal, 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        // `0x` alone reads as zero, as inet_aton and the WHATWG URL parser do.
        return (radix == 16).then_some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix)
        .ok()
        .filter(|&n| n <= u64::from(u32::MAX))
}

/// Resolves `host` and keeps only the addresses the policy allows.
///
/// The host is first checked as written ([`check_host`]); an IP literal is returned as is.
/// Resolved addresses in forbidden ranges are dropped; when none remain the call fails.
///
/// # Errors
/// [`ErrorCode::UnsafeBaseUrl`] when the name or every resolved address is refused;
/// [`ErrorCode::UpstreamUnavailable`] when the name does not resolve.
pub async fn check_resolved(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, ProviderError> {
    check_host(host, allow_private)?;
    if let Some(ip) = parse_ip_literal(host) {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let resolved = tokio::net::lookup_host((host, port)).await.map_err(|_| {
        ProviderError::new(
            ErrorCode::UpstreamUnavailable,
            "the upstream host name does not resolve",
        )
    })?;
    let mut allowed = Vec::new();
    let mut refused = None;
    for addr in resolved {
        match check_ip(addr.ip(), allow_private) {
            Ok(()) => allowed.push(addr),
            Err(e) => refused = refused.or(Some(e)),
        }
    }
    match (allowed.is_empty(), refused) {
        (false, _) => Ok(allowed),
        (true, Some(e)) => Err(e),
        (true, None) => Err(ProviderError::new(
            ErrorCode::UpstreamUnavailable,
            "the upstream host name resolves to no address",
        )),
    }
}

/// A `reqwest` DNS resolver that applies [`check_resolved`] to every name the client connects
/// to, so the policy holds at connect time even if DNS answers change after
/// [`check_base_url`] (DNS rebinding). A refusal surfaces as a connect error whose source chain
/// holds the [`ProviderError`].
#[derive(Debug, Clone, Copy)]
pub struct SsrfResolver {
    allow_private: bool,
}

impl SsrfResolver {
    /// A resolver enforcing the policy for a provider that may (`true`) or may not reach
    /// private networks.
    pub fn new(allow_private: bool) -> Self {
        SsrfResolver { allow_private }
    }
}

impl reqwest::dns::Resolve for SsrfResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let allow_private = self.allow_private;
        Box::pin(async move {
            // Port 0 lets the client fill in the URL's port.
            let addrs = check_resolved(&host, 0, allow_private).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests;
