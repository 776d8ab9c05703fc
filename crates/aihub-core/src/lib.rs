#![doc = include_str!("../README.md")]
//! AI Hub use cases: accounts and sessions, providers, conversations with streaming replies,
//! and usage accounting. They compose `aihub-store`, `aihub-providers` and `aihub-billing`,
//! and know nothing of HTTP: `aihub-http` parses, calls one method of [`App`], and maps.

mod app;
pub mod auth;
pub mod catalog;
pub mod categories;
pub mod chat;
pub mod chat_completions;
pub mod completions;
pub mod config;
pub mod conversation_ops;
pub mod conversations;
pub mod crypto;
mod direct;
pub mod embeddings;
mod error;
pub mod generation;
pub mod keys;
pub mod limits;
pub mod model_preferences;
mod page;
pub mod pricing;
pub mod prompts;
pub mod providers;
mod routing;
mod streams;
mod usage;
mod validate;

pub use app::{App, migrate};
pub use config::{CoreConfig, RoutingConfig};
pub use error::{Error, Result};
pub use page::{Page, PageRequest};
pub use pricing::Pricing;

pub use aihub_domain as domain;
