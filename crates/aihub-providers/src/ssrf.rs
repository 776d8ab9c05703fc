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
mod tests {
    use super::*;

    /// (url, allow_private, expected to pass)
    const CASES: &[(&str, bool, bool)] = &[
        // Public hosts and addresses.
        ("https://api.openai.com/v1", false, true),
        ("https://openrouter.ai/api/v1", false, true),
        ("http://8.8.8.8/v1", false, true),
        ("http://[2606:4700:4700::1111]/v1", false, true),
        ("http://1.1.1.1:8080", false, true),
        // Scheme, credentials, host.
        ("ftp://example.com/", false, false),
        ("file:///etc/passwd", true, false),
        ("https://user:pass@example.com/v1", false, false),
        ("https://user@example.com/v1", true, false),
        ("not a url", false, false),
        ("http://:8080/v1", false, false),
        ("unix:/run/ollama.sock", true, false),
        // Loopback in every IPv4 spelling.
        ("http://127.0.0.1/v1", false, false),
        ("http://127.0.0.1/v1", true, true),
        ("http://2130706433/v1", false, false),
        ("http://0177.0.0.1/v1", false, false),
        ("http://0x7f.0.0.1/v1", false, false),
        ("http://0x7f000001/v1", false, false),
        ("http://127.1/v1", false, false),
        ("http://127.0.1/v1", false, false),
        ("http://127.0.0.1./v1", false, false),
        // IPv6 loopback and IPv4-mapped / compatible / NAT64 forms.
        ("http://[::1]/v1", false, false),
        ("http://[::1]/v1", true, true),
        ("http://[::ffff:127.0.0.1]/v1", false, false),
        ("http://[::ffff:7f00:1]/v1", false, false),
        ("http://[::127.0.0.1]/v1", false, false),
        ("http://[64:ff9b::a9fe:a9fe]/v1", true, false),
        ("http://[::ffff:8.8.8.8]/v1", false, true),
        // Private, link-local, CGNAT, unspecified.
        ("http://10.0.0.1/v1", false, false),
        ("http://10.0.0.1/v1", true, true),
        ("http://172.16.5.4/v1", false, false),
        ("http://172.31.255.255/v1", false, false),
        ("http://172.32.0.1/v1", false, true),
        ("http://192.168.1.10:11434", false, false),
        ("http://192.168.1.10:11434", true, true),
        ("http://[fc00::1]/v1", false, false),
        ("http://[fd12:3456::1]/v1", false, false),
        ("http://[fd12:3456::1]/v1", true, true),
        ("http://169.254.1.1/v1", false, false),
        ("http://[fe80::1]/v1", false, false),
        ("http://100.64.0.1/v1", false, false),
        ("http://100.127.255.254/v1", false, false),
        ("http://100.128.0.1/v1", false, true),
        ("http://0.0.0.0/v1", false, false),
        ("http://0/v1", false, false),
        ("http://[::]/v1", false, false),
        // Never reachable, whatever the scope.
        ("http://255.255.255.255/v1", true, false),
        ("http://224.0.0.1/v1", true, false),
        ("http://[ff02::1]/v1", true, false),
        ("http://192.0.2.10/v1", true, false),
        ("http://198.51.100.7/v1", true, false),
        ("http://203.0.113.9/v1", true, false),
        ("http://[2001:db8::1]/v1", true, false),
        ("http://240.0.0.1/v1", true, false),
        // Metadata, even for organization providers.
        ("http://169.254.169.254/latest/meta-data", true, false),
        ("http://2852039166/latest", true, false),
        ("http://0xa9.0xfe.0xa9.0xfe/", true, false),
        ("http://0251.0376.0251.0376/", true, false),
        ("http://[::ffff:169.254.169.254]/", true, false),
        ("http://[fd00:ec2::254]/", true, false),
        (
            "http://metadata.google.internal/computeMetadata/v1",
            true,
            false,
        ),
        ("http://METADATA.GOOGLE.INTERNAL./", true, false),
        // localhost names.
        ("http://localhost:11434", false, false),
        ("http://localhost:11434", true, true),
        ("http://LocalHost./v1", false, false),
        ("http://ollama.localhost/v1", false, false),
        ("http://ollama.localhost/v1", true, true),
        ("http://notlocalhost.example/v1", false, true),
    ];

    #[test]
    fn base_url_policy_table() {
        assert!(CASES.len() >= 30);
        for &(url, allow_private, ok) in CASES {
            let got = check_base_url(url, allow_private);
            assert_eq!(
                got.is_ok(),
                ok,
                "{url} (allow_private={allow_private}): {got:?}"
            );
            if let Err(e) = got {
                assert_eq!(e.code, ErrorCode::UnsafeBaseUrl, "{url}");
                assert!(e.message.starts_with("base_url is not allowed: "), "{url}");
            }
        }
    }

    #[test]
    fn url_crate_normalizes_ipv4_spellings() {
        for url in [
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
        ] {
            let parsed = Url::parse(url).expect("valid");
            assert_eq!(
                parsed.host(),
                Some(Host::Ipv4(Ipv4Addr::LOCALHOST)),
                "{url}"
            );
        }
    }

    #[test]
    fn lenient_literal_parser_matches_inet_aton() {
        let cases: &[(&str, Option<&str>)] = &[
            ("127.0.0.1", Some("127.0.0.1")),
            ("2130706433", Some("127.0.0.1")),
            ("0177.0.0.1", Some("127.0.0.1")),
            ("0x7f.0.0.1", Some("127.0.0.1")),
            ("0X7F.1", Some("127.0.0.1")),
            ("127.1", Some("127.0.0.1")),
            ("10.1.2", Some("10.1.0.2")),
            ("0", Some("0.0.0.0")),
            ("127.0.0.1.", Some("127.0.0.1")),
            ("[::ffff:127.0.0.1]", Some("::ffff:127.0.0.1")),
            ("fe80::1%eth0", Some("fe80::1")),
            ("256.0.0.1", None),
            ("1.2.3.4.5", None),
            ("08.0.0.1", None),
            ("4294967296", None),
            ("example.com", None),
            ("1.2.3.", Some("1.2.0.3")),
            ("1.2..3", None),
        ];
        for &(host, want) in cases {
            let want = want.map(|w| w.parse::<IpAddr>().expect("valid"));
            assert_eq!(parse_ip_literal(host), want, "{host}");
        }
    }

    #[test]
    fn host_names_are_checked_without_resolving() {
        assert!(check_host("localhost", false).is_err());
        assert!(check_host("localhost", true).is_ok());
        assert!(check_host("metadata.google.internal", true).is_err());
        assert!(check_host("0x7f.1", false).is_err());
        assert!(check_host("api.openai.com", false).is_ok());
    }

    #[tokio::test]
    async fn resolved_loopback_is_refused_for_personal_providers() {
        let err = check_resolved("localhost", 80, false)
            .await
            .expect_err("refused");
        assert_eq!(err.code, ErrorCode::UnsafeBaseUrl);
        let err = check_resolved("127.0.0.1", 80, false)
            .await
            .expect_err("refused");
        assert_eq!(err.code, ErrorCode::UnsafeBaseUrl);
        let ok = check_resolved("127.0.0.1", 8080, true)
            .await
            .expect("allowed");
        assert_eq!(ok, vec![SocketAddr::from(([127, 0, 0, 1], 8080))]);
        let err = check_resolved("169.254.169.254", 80, true)
            .await
            .expect_err("refused");
        assert!(err.message.contains("metadata"), "{err:?}");
    }
}
