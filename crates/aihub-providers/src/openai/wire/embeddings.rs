//! Embeddings: <https://platform.openai.com/docs/api-reference/embeddings>.

use super::null_as_default;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /embeddings` request body
/// (<https://platform.openai.com/docs/api-reference/embeddings/create>).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsRequest {
    /// The embedding model.
    pub model: String,
    /// One text, several texts, or token arrays (which AI Hub refuses).
    pub input: EmbeddingInput,
    /// Output dimensions (`text-embedding-3` and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// `float` (default) or `base64` (little-endian `f32` bytes, standard base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<String>,
    /// The end user's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Every other top-level field, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `input` of an [`EmbeddingsRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// One text.
    Text(String),
    /// Several texts.
    Texts(Vec<String>),
    /// One token array.
    Tokens(Vec<u32>),
    /// Several token arrays.
    TokenBatches(Vec<Vec<u32>>),
}

/// `POST /embeddings` response: `{"object": "list", "data": [...], "model", "usage"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingsResponse {
    /// `list`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object: String,
    /// One embedding per input.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<Embedding>,
    /// The model.
    #[serde(default, deserialize_with = "null_as_default")]
    pub model: String,
    /// Input tokens (missing on some compatible servers: read as `None`).
    #[serde(default)]
    pub usage: Option<EmbeddingsUsage>,
}

/// One embedding object (<https://platform.openai.com/docs/api-reference/embeddings/object>).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedding {
    /// `embedding`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object: String,
    /// The input it belongs to.
    #[serde(default, deserialize_with = "null_as_default")]
    pub index: u32,
    /// The vector.
    pub embedding: EmbeddingVector,
}

/// An embedding vector: floats, or (`encoding_format: "base64"`) the base64 of its
/// little-endian `f32` bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    /// `encoding_format: "float"`.
    Float(Vec<f32>),
    /// `encoding_format: "base64"`.
    Base64(String),
}

/// `usage` of an embeddings response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingsUsage {
    /// Input tokens.
    #[serde(default, deserialize_with = "null_as_default")]
    pub prompt_tokens: u32,
    /// Equal to `prompt_tokens`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub total_tokens: u32,
}
