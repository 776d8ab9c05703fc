use super::*;

#[test]
fn statuses_map_to_the_wire_codes() {
    let h = ErrorHint::default();
    let cases = [
        (401, ErrorCode::ProviderKeyInvalid),
        (403, ErrorCode::ProviderKeyInvalid),
        (402, ErrorCode::UpstreamBilling),
        (429, ErrorCode::UpstreamRateLimited),
        (404, ErrorCode::ModelNotFound),
        (400, ErrorCode::UpstreamBadRequest),
        (500, ErrorCode::UpstreamUnavailable),
        (529, ErrorCode::UpstreamUnavailable),
        (504, ErrorCode::UpstreamTimeout),
    ];
    for (status, code) in cases {
        assert_eq!(from_status(status, h, Op::Chat).code, code, "{status}");
    }
    let billing = ErrorHint {
        billing: true,
        ..ErrorHint::default()
    };
    assert_eq!(
        from_status(429, billing, Op::Chat).code,
        ErrorCode::UpstreamBilling
    );
    let ctx = ErrorHint {
        context_length: true,
        ..ErrorHint::default()
    };
    assert_eq!(
        from_status(400, ctx, Op::Chat).code,
        ErrorCode::ContextLengthExceeded
    );
    let key = ErrorHint {
        key_invalid: true,
        ..ErrorHint::default()
    };
    assert_eq!(
        from_status(400, key, Op::Chat).code,
        ErrorCode::ProviderKeyInvalid
    );
    assert_eq!(
        from_status(404, h, Op::Models).code,
        ErrorCode::UpstreamUnavailable
    );
}

#[test]
fn retry_after_is_kept_only_on_rate_limits() {
    let d = Some(Duration::from_secs(7));
    let e = from_response_parts(429, d, ErrorHint::default(), Op::Chat);
    assert_eq!(e.retry_after, d);
    let e = from_response_parts(500, d, ErrorHint::default(), Op::Chat);
    assert_eq!(e.retry_after, None);
}

#[test]
fn unsafe_codes_are_not_echoed() {
    let hint = ErrorHint {
        code: Some("sk-secret key with spaces"),
        ..ErrorHint::default()
    };
    let e = from_status(400, hint, Op::Chat);
    assert!(!e.message.contains("sk-secret"), "{}", e.message);
    let hint = ErrorHint {
        code: Some("invalid_value"),
        ..ErrorHint::default()
    };
    assert!(
        from_status(400, hint, Op::Chat)
            .message
            .contains("invalid_value")
    );
}

#[test]
fn retry_after_reads_seconds() {
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, HeaderValue::from_static("20"));
    assert_eq!(retry_after(&h), Some(Duration::from_secs(20)));
    h.insert(
        RETRY_AFTER,
        HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(retry_after(&h), None);
}

#[test]
fn tool_call_ids_are_unique() {
    assert_ne!(tool_call_id(), tool_call_id());
}
