//! Route handlers, one module per resource. Each handler is thin: parse, authorize, call one
//! use case, map.

pub mod auth;
pub mod catalog;
pub mod categories;
pub mod chat;
pub mod completions;
pub mod conversations;
pub mod health;
pub mod keys;
pub mod model_preferences;
pub mod prompts;
pub mod providers;
pub mod v1;
