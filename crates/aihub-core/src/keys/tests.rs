use super::secret::{base62, looks_like_secret};
use super::*;
use aihub_domain::Role;

fn principal(permissions: Permissions) -> ApiKeyPrincipal {
    ApiKeyPrincipal {
        key_id: 1,
        user_id: 2,
        role: Role::User,
        name: "k".into(),
        prefix: "sk-aihub-abcd…".into(),
        permissions,
        requests_per_minute: None,
        tokens_per_minute: None,
        usage_limit_tokens: None,
        expires_at: None,
    }
}

#[test]
fn secrets_have_the_documented_shape() {
    let a = generate_secret().unwrap();
    let b = generate_secret().unwrap();
    assert_ne!(a, b);
    assert!(looks_like_secret(&a), "{a}");
    assert_eq!(a.len(), KEY_PREFIX.len() + SECRET_CHARS);
    let prefix = display_prefix(&a);
    assert_eq!(
        prefix,
        format!("{}…", &a[..KEY_PREFIX.len() + PREFIX_CHARS])
    );
    assert!(!looks_like_secret("sk-aihub-short"));
    assert!(!looks_like_secret(&format!("{}!", &a[..a.len() - 1])));
    assert!(!looks_like_secret("eyJhbGciOiJIUzI1NiJ9.e30.sig"));
}

#[test]
fn base62_is_positional() {
    assert_eq!(base62(&[0; 32]), "0".repeat(SECRET_CHARS));
    let mut one = [0u8; 32];
    one[31] = 63;
    assert_eq!(base62(&one), format!("{}11", "0".repeat(SECRET_CHARS - 2)));
    // The largest 256-bit value still fits in 43 digits.
    assert!(
        base62(&[0xff; 32])
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
    );
}

#[test]
fn permissions_parse_store_and_check() {
    let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let p = Permissions::parse_names("permissions", &names(&["models", "chat", "chat"])).unwrap();
    assert_eq!(p.to_json(), r#"["chat","models"]"#);
    assert_eq!(Permissions::from_json(&p.to_json()), p);
    assert_eq!(
        Permissions::from_json(r#"["chat","root"]"#).to_json(),
        r#"["chat"]"#
    );
    assert!(Permissions::from_json("not json").is_empty());
    let e = Permissions::parse_names("permissions", &names(&["admin"])).unwrap_err();
    assert_eq!(e.code, ErrorCode::ValidationError);
    assert_eq!(e.param.as_deref(), Some("permissions"));
    assert!(Permissions::parse_names("permissions", &[]).is_err());
    assert_eq!(Permissions::all().iter().count(), 3);
}

#[test]
fn require_names_the_missing_permission() {
    let p = principal([Permission::Chat].into_iter().collect());
    assert!(p.require(Permission::Chat).is_ok());
    let e = p.require(Permission::Models).unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.message.contains("`models`"), "{}", e.message);
    assert_eq!(e.details.unwrap()["required_permission"], "models");
}

#[test]
fn expiry_is_against_now() {
    let now = time::now();
    let mut p = principal(Permissions::all());
    assert!(!p.is_expired(now));
    p.expires_at = Some(now);
    assert!(p.is_expired(now));
    p.expires_at = Some(now + chrono::Duration::seconds(5));
    assert!(!p.is_expired(now));
}
