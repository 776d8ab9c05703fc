//! The OpenAI-compatible contract of `/v1`, owned by the gateway: the bodies a client sends and
//! receives ([`wire`], each type a `utoipa` schema in the OpenAPI document) and the pure
//! conversions between them and the canonical domain types.
//!
//! - `inbound`: a client's request → canonical (`aihub_domain::ChatRequest`,
//!   `EmbeddingRequest`), validated field by field ([`chat_request_from_wire`],
//!   [`embeddings_request_from_wire`]);
//! - `outbound`: canonical → the client's reply ([`chat_completion_to_wire`], [`ChunkEncoder`],
//!   [`embeddings_to_wire`], [`model_list_to_wire`], [`error_event`]).
//!
//! The vendor adapter (`aihub-providers`) has its own OpenAI wire types for upstreams; the two
//! meet only through the canonical types, so either side can change without the other.

mod inbound;
mod outbound;
pub mod wire;

pub use inbound::{
    InboundChat, InvalidField, chat_request_from_wire, embeddings_request_from_wire,
};
pub use outbound::{
    ChunkEncoder, chat_completion_to_wire, embedding_to_base64, embeddings_to_wire, error_event,
    finish_reason_to_wire, model_list_to_wire,
};
