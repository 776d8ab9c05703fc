//! Pure conversions between the canonical chat types and the OpenAI wire types of [`super::wire`].
//! No I/O.
//!
//! Two directions:
//! - the gateway side (public): a client's `/v1` request → canonical ([`chat_request_from_wire`],
//!   [`embeddings_request_from_wire`]) and canonical → the `/v1` reply
//!   ([`chat_completion_to_wire`], [`ChunkEncoder`], [`embeddings_to_wire`],
//!   [`model_list_to_wire`], [`error_event`]);
//! - the adapter side (crate-private): canonical → an upstream request, and the upstream's
//!   replies → canonical.
//!
//! The gateway side lives in `convert/client_request.rs` and `convert/client_reply.rs`, the
//! adapter side in `convert/upstream.rs`.

mod client_reply;
mod client_request;
mod upstream;

pub use client_reply::{
    ChunkEncoder, chat_completion_to_wire, embedding_from_base64, embedding_to_base64,
    embeddings_to_wire, error_event, finish_reason_to_wire, model_list_to_wire,
};
pub use client_request::{
    InboundChat, InvalidField, chat_request_from_wire, embeddings_request_from_wire,
};
pub(crate) use upstream::{
    ChunkDecoder, from_wire_embeddings, from_wire_response, models, to_wire_embeddings,
    to_wire_request,
};

#[cfg(test)]
mod tests;
