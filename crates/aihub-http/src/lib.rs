#![doc = include_str!("../README.md")]
//! AI Hub's HTTP layer: actix-web handlers, DTOs, the caller extractors, SSE, the error body,
//! and the OpenAPI document generated from the same route registration that serves requests.
//!
//! This is the only crate that knows HTTP status codes ([`error::status_and_type`]).

pub mod api_key;
pub mod dto;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod openai;
pub mod openapi;
mod openapi_contract;
pub mod routes;
mod server;
pub mod sse;
pub mod stream_events;

pub use openapi::openapi_document;
pub use server::{HttpOptions, server};
