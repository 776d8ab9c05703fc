//! Embeddings: <https://platform.openai.com/docs/api-reference/embeddings>.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// `POST /v1/embeddings` request body
/// (<https://platform.openai.com/docs/api-reference/embeddings/create>).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[schema(as = openai::EmbeddingsRequest)]
pub struct EmbeddingsRequest {
    /// The embedding model, `"<provider slug or kind>/<model>"` or a bare model the catalog
    /// knows.
    pub model: String,
    /// One text or several texts (token arrays are refused).
    pub input: EmbeddingInput,
    /// Output dimensions (`text-embedding-3` and later).
    #[serde(default)]
    pub dimensions: Option<u32>,
    /// `float` (default) or `base64` (little-endian `f32` bytes, standard base64).
    #[serde(default)]
    pub encoding_format: Option<String>,
    /// The end user's id (not sent upstream).
    #[serde(default)]
    pub user: Option<String>,
    /// Every other top-level field (accepted, not sent upstream).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `input` of an embeddings request
/// (<https://platform.openai.com/docs/api-reference/embeddings/create#embeddings-create-input>).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(as = openai::EmbeddingInput)]
pub enum EmbeddingInput {
    /// One text.
    Text(String),
    /// Several texts (at most 2048).
    Texts(Vec<String>),
    /// One token array (refused).
    Tokens(Vec<u32>),
    /// Several token arrays (refused).
    TokenBatches(Vec<Vec<u32>>),
}

/// `POST /v1/embeddings` response: `{"object": "list", "data": [...], "model", "usage"}`
/// (<https://platform.openai.com/docs/api-reference/embeddings/create>).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = openai::EmbeddingsResponse)]
pub struct EmbeddingsResponse {
    /// `list`.
    pub object: String,
    /// One embedding per input, in input order.
    pub data: Vec<Embedding>,
    /// The model as the request named it.
    pub model: String,
    /// Input tokens.
    pub usage: EmbeddingsUsage,
}

/// One embedding object (<https://platform.openai.com/docs/api-reference/embeddings/object>).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = openai::Embedding)]
pub struct Embedding {
    /// `embedding`.
    pub object: String,
    /// The input it belongs to.
    pub index: u32,
    /// The vector.
    pub embedding: EmbeddingVector,
}

/// An embedding vector: floats, or (`encoding_format: "base64"`) the base64 of its
/// little-endian `f32` bytes.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = openai::EmbeddingVector)]
pub enum EmbeddingVector {
    /// `encoding_format: "float"`.
    Float(Vec<f32>),
    /// `encoding_format: "base64"`.
    Base64(String),
}

/// `usage` of an embeddings response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = openai::EmbeddingsUsage)]
pub struct EmbeddingsUsage {
    /// Input tokens.
    pub prompt_tokens: u32,
    /// Equal to `prompt_tokens`.
    pub total_tokens: u32,
}
