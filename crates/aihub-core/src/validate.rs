//! Small validation helpers shared by the use cases; each failure names the field.

use crate::{Error, Result};

/// Trims `value` and checks its length in characters.
pub(crate) fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String> {
    let v = value.trim();
    let n = v.chars().count();
    if n < min {
        let message = if n == 0 {
            format!("{field} must not be empty")
        } else {
            format!("{field} must be at least {min} characters")
        };
        return Err(Error::validation(field, message));
    }
    if n > max {
        return Err(Error::validation(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(v.to_owned())
}

/// Checks a sampling temperature is within 0–2.
pub(crate) fn temperature(field: &str, t: Option<f64>) -> Result<Option<f64>> {
    match t {
        Some(t) if !(0.0..=2.0).contains(&t) || t.is_nan() => Err(Error::validation(
            field,
            format!("{field} must be between 0 and 2"),
        )),
        other => Ok(other),
    }
}

/// Checks a token cap is within 1–1,000,000.
pub(crate) fn max_tokens(field: &str, n: Option<i64>) -> Result<Option<i64>> {
    match n {
        Some(n) if !(1..=1_000_000).contains(&n) => Err(Error::validation(
            field,
            format!("{field} must be between 1 and 1000000"),
        )),
        other => Ok(other),
    }
}

/// Serializes a metadata object, refusing anything but a JSON object of at most 64 KiB.
pub(crate) fn metadata(field: &str, v: Option<&serde_json::Value>) -> Result<String> {
    match v {
        None | Some(serde_json::Value::Null) => Ok("{}".into()),
        Some(v @ serde_json::Value::Object(_)) => {
            let s = v.to_string();
            if s.len() > 64 * 1024 {
                return Err(Error::validation(
                    field,
                    format!("{field} must be at most 64 KiB"),
                ));
            }
            Ok(s)
        }
        Some(_) => Err(Error::validation(
            field,
            format!("{field} must be a JSON object"),
        )),
    }
}
