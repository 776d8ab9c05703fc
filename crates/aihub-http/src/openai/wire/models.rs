//! The model list: <https://platform.openai.com/docs/api-reference/models>.

use serde::Serialize;
use utoipa::ToSchema;

/// `GET /v1/models` response: `{"object": "list", "data": [...]}`
/// (<https://platform.openai.com/docs/api-reference/models/list>).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = openai::ModelList)]
pub struct ModelList {
    /// `list`.
    pub object: String,
    /// The models.
    pub data: Vec<Model>,
}

/// A model object (<https://platform.openai.com/docs/api-reference/models/object>).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = openai::Model)]
pub struct Model {
    /// `"<provider slug>/<model>"`, usable as a request's `model`.
    pub id: String,
    /// `model`.
    pub object: String,
    /// Unix seconds (the time of the listing: upstreams do not all report one).
    pub created: i64,
    /// The provider slug.
    pub owned_by: String,
}
