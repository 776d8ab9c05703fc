//! Timestamps: UTC, truncated to microseconds so SQLite and PostgreSQL store the same value.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// The current UTC time truncated to microseconds (PostgreSQL's resolution).
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Turns a stored naive UTC timestamp into an aware one for the wire (RFC 3339 with `Z`).
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}
