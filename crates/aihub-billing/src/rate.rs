//! Request rate limits as pure decisions: what an admitted or refused request tells the
//! caller (`X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`, `Retry-After`).
//!
//! The limiter state (which requests were seen when) lives elsewhere: in process today
//! (`aihub-core`'s limiter), in Redis when replicas share limits. Both reduce to the numbers
//! here, so every limiter answers the same way.

use std::time::Duration;

/// The answer to one request against a per-minute limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    /// Admitted.
    Allowed(RateStatus),
    /// Refused; the caller may retry after `retry_after_secs` (whole seconds, rounded up).
    Limited {
        /// Requests allowed per minute.
        limit: u32,
        /// Whole seconds until one more request is allowed (rounded up, at least 1).
        retry_after_secs: u64,
    },
}

/// The headers of an admitted request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStatus {
    /// Requests allowed per minute.
    pub limit: u32,
    /// Requests left in the current burst.
    pub remaining: u32,
    /// Whole seconds until the full allowance is back (rounded up).
    pub reset_secs: u64,
}

/// An admitted request under a limit of `limit` requests per minute (a burst of the whole
/// minute's allowance), with `remaining` requests left in the burst: the allowance refills
/// one request every `60 s / limit`.
pub fn allowed(limit: u32, remaining: u32) -> RateDecision {
    let used = limit.saturating_sub(remaining);
    let per_request = Duration::from_secs(60) / limit.max(1);
    RateDecision::Allowed(RateStatus {
        limit,
        remaining,
        reset_secs: (per_request * used).as_secs_f64().ceil() as u64,
    })
}

/// A refused request: one more is allowed after `wait`.
pub fn limited(limit: u32, wait: Duration) -> RateDecision {
    RateDecision::Limited {
        limit,
        retry_after_secs: (wait.as_secs_f64().ceil() as u64).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_counts_the_refill_of_what_was_used() {
        // 60/min refills one per second: 3 used → back in 3 s.
        assert_eq!(
            allowed(60, 57),
            RateDecision::Allowed(RateStatus {
                limit: 60,
                remaining: 57,
                reset_secs: 3
            })
        );
        // 1/min: the one request used comes back in a minute.
        assert_eq!(
            allowed(1, 0),
            RateDecision::Allowed(RateStatus {
                limit: 1,
                remaining: 0,
                reset_secs: 60
            })
        );
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(
            limited(10, Duration::from_millis(1_200)),
            RateDecision::Limited {
                limit: 10,
                retry_after_secs: 2
            }
        );
        assert_eq!(
            limited(10, Duration::from_millis(1)),
            RateDecision::Limited {
                limit: 10,
                retry_after_secs: 1
            }
        );
    }
}
