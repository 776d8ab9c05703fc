#![doc = include_str!("../README.md")]
//! AI Hub provider adapters: the dyn-compatible [`ChatProvider`] trait, one adapter per vendor
//! wire family, and [`build_provider`] which turns a stored provider into a live client.
//!
//! Adapters never touch the database and never put a credential or a raw upstream body into an
//! error: [`ProviderError`] carries only a mapped code and a short, safe message.

pub mod anthropic;
mod error;
#[cfg(test)]
mod fuzzing;
pub mod gemini;
mod http;
pub mod ollama;
pub mod openai;
mod provider;
pub mod ssrf;

pub use error::ProviderError;
pub use provider::{ChatProvider, ChatStream, ProviderSettings, build_provider};
