//! Pure conversions between the canonical chat types and the OpenAI wire types of [`super::wire`],
//! in the adapter's direction: canonical → an upstream request, and the upstream's replies
//! (whole, streamed, embeddings, model lists) → canonical. No I/O.
//!
//! The gateway's own `/v1` endpoints have their own wire types and conversions (in
//! `aihub-http`); the two meet only through the canonical types.

mod upstream;

pub(crate) use upstream::{
    ChunkDecoder, from_wire_embeddings, from_wire_response, models, to_wire_embeddings,
    to_wire_request,
};

#[cfg(test)]
mod tests;
