//! Pure retry decisions: how long to wait before the next attempt, and whether a failure
//! moves on to the next target.

use crate::RoutingConfig;
use aihub_domain::ErrorCode;
use aihub_providers::ProviderError;
use std::time::Duration;

/// The wait before retry number `attempt + 1` (attempts count from 0), or `None` when the
/// error is not retryable, the `retries` are used up, or the upstream's `Retry-After` is
/// longer than `retry_max_delay` (the error then goes to the caller or the next fallback).
///
/// Without `Retry-After` the wait is exponential from `retry_base_delay`, capped at
/// `retry_max_delay`, with full jitter in `[exp/2, exp]` from `jitter` (a fraction in
/// `[0, 1]`), so concurrent retries spread out.
pub(crate) fn delay(
    e: &ProviderError,
    attempt: u32,
    retries: u32,
    config: &RoutingConfig,
    jitter: f64,
) -> Option<Duration> {
    if !e.is_retryable() || attempt >= retries {
        return None;
    }
    if let Some(after) = e.retry_after {
        return (after <= config.retry_max_delay).then_some(after);
    }
    let exp = config
        .retry_base_delay
        .saturating_mul(1u32 << attempt.min(16))
        .min(config.retry_max_delay);
    let half = exp / 2;
    Some(half + half.mul_f64(jitter.clamp(0.0, 1.0)))
}

/// Whether a failure before the first byte should move on to the next target: upstream-side
/// problems do; a request the upstream refused as invalid would fail everywhere.
pub(crate) fn falls_back(e: &ProviderError) -> bool {
    !matches!(
        e.code,
        ErrorCode::UpstreamBadRequest
            | ErrorCode::ContextLengthExceeded
            | ErrorCode::ContentFiltered
            | ErrorCode::ValidationError
            | ErrorCode::UnsupportedOperation
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RoutingConfig {
        RoutingConfig {
            retry_base_delay: Duration::from_millis(100),
            retry_max_delay: Duration::from_secs(2),
            ..RoutingConfig::default()
        }
    }

    #[test]
    fn backoff_doubles_within_jitter_and_stops_at_the_retry_count() {
        let e = ProviderError::new(ErrorCode::UpstreamUnavailable, "x");
        let c = config();
        assert_eq!(delay(&e, 0, 2, &c, 0.0), Some(Duration::from_millis(50)));
        assert_eq!(delay(&e, 0, 2, &c, 1.0), Some(Duration::from_millis(100)));
        assert_eq!(delay(&e, 1, 2, &c, 1.0), Some(Duration::from_millis(200)));
        assert_eq!(delay(&e, 2, 2, &c, 1.0), None);
        // Capped at the maximum.
        assert_eq!(delay(&e, 10, 20, &c, 1.0), Some(Duration::from_secs(2)));
    }

    #[test]
    fn retry_after_is_honoured_only_when_short() {
        let c = config();
        let mut e = ProviderError::new(ErrorCode::UpstreamRateLimited, "x");
        e.retry_after = Some(Duration::from_secs(1));
        assert_eq!(delay(&e, 0, 2, &c, 0.5), Some(Duration::from_secs(1)));
        e.retry_after = Some(Duration::from_secs(30));
        assert_eq!(delay(&e, 0, 2, &c, 0.5), None);
    }

    #[test]
    fn invalid_requests_are_neither_retried_nor_fall_back() {
        let bad = ProviderError::new(ErrorCode::UpstreamBadRequest, "x");
        assert_eq!(delay(&bad, 0, 2, &config(), 0.5), None);
        assert!(!falls_back(&bad));
        assert!(falls_back(&ProviderError::new(
            ErrorCode::UpstreamUnavailable,
            "x"
        )));
        assert!(falls_back(&ProviderError::new(
            ErrorCode::ProviderKeyInvalid,
            "x"
        )));
    }
}
