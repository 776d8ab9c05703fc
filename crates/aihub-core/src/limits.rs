//! Per-key request rate limits. [`RateLimiter`] is the seam: this process's
//! [`InProcessLimiter`] today, a Redis-backed one (shared by replicas) behind the same trait
//! later. The decision's numbers come from `aihub_billing::rate`.

use crate::{App, Error, Result};
use aihub_billing::rate::{self, RateDecision};
use aihub_domain::{ErrorCode, Id};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, clock::Clock, clock::DefaultClock};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use aihub_billing::rate::RateStatus;

/// Counts requests per key against a per-minute limit.
pub trait RateLimiter: Send + Sync {
    /// Counts one request of `key_id` against `per_minute` requests per minute (a burst of
    /// the whole minute's allowance is allowed).
    fn check(&self, key_id: Id, per_minute: NonZeroU32) -> RateDecision;
}

type KeyLimiter =
    governor::RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// A GCRA limiter per key, in this process's memory (governor).
#[derive(Default)]
pub struct InProcessLimiter {
    limiters: Mutex<HashMap<Id, (NonZeroU32, Arc<KeyLimiter>)>>,
}

impl RateLimiter for InProcessLimiter {
    fn check(&self, key_id: Id, per_minute: NonZeroU32) -> RateDecision {
        let limiter = {
            let mut map = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
            match map.get(&key_id) {
                Some((n, l)) if *n == per_minute => l.clone(),
                _ => {
                    let l = Arc::new(
                        governor::RateLimiter::direct(Quota::per_minute(per_minute))
                            .with_middleware::<StateInformationMiddleware>(),
                    );
                    map.insert(key_id, (per_minute, l.clone()));
                    l
                }
            }
        };
        match limiter.check() {
            Ok(snapshot) => rate::allowed(per_minute.get(), snapshot.remaining_burst_capacity()),
            Err(not_until) => rate::limited(
                per_minute.get(),
                not_until.wait_time_from(DefaultClock::default().now()),
            ),
        }
    }
}

impl App {
    /// Counts one request against a developer API key's `requests_per_minute`.
    ///
    /// # Errors
    /// `rate_limit_exceeded` with `retry_after` and `details` (`limit`, `remaining`, `reset`)
    /// when the key is over its limit, or when its limit is 0.
    pub fn check_key_rate(&self, key_id: Id, requests_per_minute: u32) -> Result<RateStatus> {
        let Some(rpm) = NonZeroU32::new(requests_per_minute) else {
            return Err(Error::new(
                ErrorCode::RateLimitExceeded,
                "this API key allows no requests",
            ));
        };
        match self.inner.rate_limiter.check(key_id, rpm) {
            RateDecision::Allowed(status) => Ok(status),
            RateDecision::Limited {
                limit,
                retry_after_secs,
            } => Err(Error {
                retry_after: Some(Duration::from_secs(retry_after_secs)),
                details: Some(serde_json::json!({
                    "limit": limit,
                    "remaining": 0,
                    "reset": retry_after_secs,
                })),
                ..Error::new(
                    ErrorCode::RateLimitExceeded,
                    format!("this API key is limited to {limit} requests per minute"),
                )
            }),
        }
    }
}
