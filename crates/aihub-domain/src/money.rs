//! Money as integer nano-units (10^-9) of the deployment's currency, never floats.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in nano-units of the deployment currency (USD by default): `1_000_000_000` is one
/// dollar. Stored as BIGINT; rendered on the wire as a decimal number of currency units.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(pub i64);

impl Money {
    /// Nano-units in one currency unit.
    pub const NANOS_PER_UNIT: i64 = 1_000_000_000;

    /// Zero.
    pub const ZERO: Money = Money(0);

    /// The amount in nano-units.
    pub fn nanos(self) -> i64 {
        self.0
    }

    /// The amount in currency units, for display only (lossy above 2^53 nano-units).
    pub fn as_units_f64(self) -> f64 {
        self.0 as f64 / Self::NANOS_PER_UNIT as f64
    }

    /// Saturating sum.
    pub fn saturating_add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for Money {
    /// Exact decimal rendering, e.g. `0.000001230`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let unit = Self::NANOS_PER_UNIT as u64;
        write!(f, "{sign}{}.{:09}", abs / unit, abs % unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_exact_decimal() {
        assert_eq!(Money(1_230).to_string(), "0.000001230");
        assert_eq!(Money(2_500_000_000).to_string(), "2.500000000");
        assert_eq!(Money(-5).to_string(), "-0.000000005");
        assert!((Money(1_500_000_000).as_units_f64() - 1.5).abs() < 1e-12);
    }
}
