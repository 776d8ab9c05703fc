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
