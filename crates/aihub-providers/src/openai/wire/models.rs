//! The model list: <https://platform.openai.com/docs/api-reference/models>.

use super::null_as_default;
use serde::{Deserialize, Serialize};

/// `GET /models` response: `{"object": "list", "data": [...]}`
/// (<https://platform.openai.com/docs/api-reference/models/list>).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    /// `list`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object: String,
    /// The models.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<Model>,
}

/// A model object (<https://platform.openai.com/docs/api-reference/models/object>). Only
/// `id` is required when reading: LM Studio and others omit the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    /// The model id.
    pub id: String,
    /// `model`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object: String,
    /// Unix seconds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub created: i64,
    /// The owner (`openai`, `system`, `library`, …; empty when not reported).
    #[serde(default, deserialize_with = "null_as_default")]
    pub owned_by: String,
}
