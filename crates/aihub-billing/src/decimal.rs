//! Exact parsing of decimal prices (`"2.50"`) into [`Money`] nano-units, never through `f64`.

use aihub_domain::Money;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

use crate::PricingError;

/// Decimal places a [`Money`] holds (nano-units).
const SCALE_DIGITS: usize = 9;

/// Parses a non-negative decimal number of currency units, e.g. `"2.50"`, `"0.075"`, `"3"`, into
/// nano-units exactly (`"2.50"` is `Money(2_500_000_000)`).
///
/// Accepted shape: ASCII digits, optionally a `.` and more digits, surrounding whitespace
/// ignored. Digits past the ninth decimal place must be zeros (they would not fit in nano-units).
///
/// # Errors
/// [`PricingError::InvalidPrice`] for a sign, an exponent, an empty string, stray characters,
/// non-zero digits past nine decimals, or a value above `i64::MAX` nano-units.
pub fn parse_money(s: &str) -> Result<Money, PricingError> {
    let invalid = |reason: &'static str| PricingError::InvalidPrice {
        value: s.to_owned(),
        reason,
    };
    let t = s.trim();
    let (int_part, frac_part) = match t.split_once('.') {
        Some((i, f)) => (i, f),
        None => (t, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(invalid("expected a decimal number such as \"2.50\""));
    }
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || !all_digits(frac_part) {
        return Err(invalid(
            "expected a non-negative decimal number such as \"2.50\"",
        ));
    }
    let (kept, rest) = frac_part.split_at(frac_part.len().min(SCALE_DIGITS));
    if rest.bytes().any(|b| b != b'0') {
        return Err(invalid("more than 9 decimal places"));
    }
    let too_large = || invalid("too large");
    let mut nanos: i64 = 0;
    for b in int_part.bytes() {
        nanos = nanos
            .checked_mul(10)
            .and_then(|n| n.checked_add(i64::from(b - b'0')))
            .ok_or_else(too_large)?;
    }
    nanos = nanos
        .checked_mul(Money::NANOS_PER_UNIT)
        .ok_or_else(too_large)?;
    let mut frac: i64 = 0;
    for b in kept.bytes() {
        frac = frac * 10 + i64::from(b - b'0');
    }
    for _ in kept.len()..SCALE_DIGITS {
        frac *= 10;
    }
    nanos.checked_add(frac).map(Money).ok_or_else(too_large)
}

/// Serde helper: reads a price given as a decimal string (`"2.50"`, the catalog's form) or as a
/// number (what TOML or environment configuration yields). A float is read through its shortest
/// round-trip decimal form (`0.15_f64` reads as `"0.15"`), so what a person typed is what is
/// parsed; the string form is preferred.
pub(crate) fn deserialize_price<'de, D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
    d.deserialize_any(PriceVisitor)
}

struct PriceVisitor;

impl Visitor<'_> for PriceVisitor {
    type Value = Money;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative decimal price such as \"2.50\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Money, E> {
        parse_money(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Money, E> {
        parse_money(&v.to_string()).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Money, E> {
        parse_money(&v.to_string()).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Money, E> {
        if !v.is_finite() {
            return Err(E::custom("price must be a finite number"));
        }
        // `Display` for f64 prints the shortest decimal that round-trips, never an exponent.
        parse_money(&v.to_string()).map_err(E::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        let cases: &[(&str, i64)] = &[
            ("2.50", 2_500_000_000),
            ("0.15", 150_000_000),
            ("0.075", 75_000_000),
            ("3", 3_000_000_000),
            ("0", 0),
            ("0.000000001", 1),
            ("1.1000000000000", 1_100_000_000),
            (".5", 500_000_000),
            ("7.", 7_000_000_000),
            (" 22.50 ", 22_500_000_000),
            ("9223372036.854775807", i64::MAX),
        ];
        for (s, nanos) in cases {
            assert_eq!(parse_money(s).unwrap(), Money(*nanos), "{s}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        for s in [
            "",
            ".",
            "-1",
            "+1",
            "1e-3",
            "abc",
            "1.2.3",
            "0.0000000001",
            "9223372036.854775808",
            "99999999999999999999",
        ] {
            assert!(parse_money(s).is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn floats_read_through_shortest_decimal() {
        #[derive(serde::Deserialize)]
        struct P {
            #[serde(deserialize_with = "deserialize_price")]
            p: Money,
        }
        let cases: &[(&str, i64)] = &[
            (r#"{"p": 0.15}"#, 150_000_000),
            (r#"{"p": 0.1}"#, 100_000_000),
            (r#"{"p": 2.5}"#, 2_500_000_000),
            (r#"{"p": 3}"#, 3_000_000_000),
            (r#"{"p": "0.60"}"#, 600_000_000),
        ];
        for (json, nanos) in cases {
            let p: P = serde_json::from_str(json).unwrap();
            assert_eq!(p.p, Money(*nanos), "{json}");
        }
        assert!(serde_json::from_str::<P>(r#"{"p": -1}"#).is_err());
        assert!(serde_json::from_str::<P>(r#"{"p": -0.5}"#).is_err());
    }
}
