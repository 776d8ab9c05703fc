//! Integration tests: the real server on a loopback port, every test on SQLite and PostgreSQL
//! (`both_backends!`), fake vendors from `aihub-testkit`, and the real local LLM when
//! `AIHUB_TEST_LLM_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod auth;
mod auth_first;
mod binary;
mod catalog;
mod categories;
mod chat;
mod clients;
mod completions;
mod contention;
mod context_window;
mod conversation_ops;
mod conversation_stream;
mod conversations;
mod engine;
mod http;
mod keys;
mod llm;
mod logs;
mod model_preferences;
mod openapi;
mod prompts;
mod providers;
mod route_policy;
mod schema;
mod sdk;
mod secrets;
mod streaming;
mod text_input;
mod v1;
mod vendors;
