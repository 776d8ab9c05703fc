//! Shared pieces of the property-based fuzz targets (proptest: cargo-fuzz needs nightly).
//!
//! Each adapter's `fuzz` module feeds its stream decoder (a) arbitrary text, (b) arbitrary
//! JSON values, (c) documented vendor events with fields removed, replaced or added, and whole
//! streams of such events. This module holds the generators, the mutations and the checks
//! every adapter shares. Case counts come from `PROPTEST_CASES` (proptest's default: 256), so
//! `PROPTEST_CASES=20000 cargo test -p aihub-providers --lib fuzz` is a longer run.

use proptest::test_runner::Config;

/// The fuzz targets' configuration: proptest's defaults (cases from `PROPTEST_CASES`, 256
/// otherwise) without failure files; a failure found is kept as a plain regression test.
pub(crate) fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}
