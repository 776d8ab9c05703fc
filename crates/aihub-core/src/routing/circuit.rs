//! Per-provider cooldown: a provider failing `cooldown_failures` times in a row (retryable
//! failures only) is skipped for `cooldown`; after that one request probes it (half-open), and
//! a success closes the circuit.
//!
//! The state is per process: each replica learns a provider's health on its own.

use crate::RoutingConfig;
use aihub_domain::Id;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug, Default, Clone, Copy)]
struct Circuit {
    failures: u32,
    open_until: Option<Instant>,
}

/// The circuits of every provider this process has called.
#[derive(Default)]
pub(crate) struct Circuits {
    map: Mutex<HashMap<Id, Circuit>>,
}

impl Circuits {
    /// Whether `provider_id` is cooling down now.
    pub(crate) fn is_open(&self, provider_id: Id) -> bool {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&provider_id)
            .and_then(|c| c.open_until)
            .is_some_and(|until| Instant::now() < until)
    }

    /// Records an attempt's result: a success closes the circuit; a retryable failure counts
    /// towards opening it.
    pub(crate) fn record(&self, provider_id: Id, ok: bool, config: &RoutingConfig) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if ok {
            // The common case: nothing recorded for a healthy provider, nothing to remove.
            if !map.is_empty() {
                map.remove(&provider_id);
            }
            return;
        }
        let c = map.entry(provider_id).or_default();
        c.failures = c.failures.saturating_add(1);
        if c.failures >= config.cooldown_failures.max(1) {
            c.open_until = Some(Instant::now() + config.cooldown);
            c.failures = 0;
            tracing::warn!(
                provider_id,
                cooldown_s = config.cooldown.as_secs(),
                "provider keeps failing: skipped while it cools down"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn opens_after_consecutive_failures_and_closes_on_success() {
        let config = RoutingConfig {
            cooldown_failures: 2,
            cooldown: Duration::from_secs(60),
            ..RoutingConfig::default()
        };
        let c = Circuits::default();
        c.record(1, false, &config);
        assert!(!c.is_open(1));
        c.record(1, false, &config);
        assert!(c.is_open(1));
        assert!(!c.is_open(2));
        c.record(1, true, &config);
        assert!(!c.is_open(1));
    }
}
