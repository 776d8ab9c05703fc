//! Ollama's native wire types, following <https://github.com/ollama/ollama/blob/main/docs/api.md>
//! (`POST /api/chat`, `GET /api/tags`, `POST /api/embed`).
//!
//! Requests borrow from the canonical request and leave unset fields out. Responses are
//! lenient: every field the adapter does not need (durations, `created_at`, `thinking`, model
//! `details`, …) is ignored, and every field may be missing or `null`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /api/chat` body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ChatRequest<'a> {
    /// The model name, `model:tag` (e.g. `llama3.2`, `llama3:70b`).
    pub model: &'a str,
    /// The conversation, system prompt first.
    pub messages: Vec<Message>,
    /// Functions the model may call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool<'a>>,
    /// `"json"` or a JSON Schema object the reply must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
    /// Modelfile parameters for this request; omitted when none is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Options<'a>>,
    /// `false` for one JSON object; `true` (Ollama's default) for an NDJSON stream.
    pub stream: bool,
}

/// One message of [`ChatRequest::messages`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: &'static str,
    /// The text.
    pub content: String,
    /// Base64-encoded images (no `data:` prefix), for multimodal models.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// The calls an assistant message made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// On a `tool` message: the name of the tool whose result `content` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
}

/// A tool call, in requests (history) and responses. Ollama gives calls no id; newer servers
/// may send one, which is kept when present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ToolCall {
    /// The call's id, when the server sends one (never sent by the adapter).
    #[serde(default, skip_serializing)]
    pub id: Option<String>,
    /// The function called.
    pub function: ToolCallFunction,
}

/// [`ToolCall::function`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ToolCallFunction {
    /// Function name.
    pub name: String,
    /// The arguments as a JSON object (not text, unlike OpenAI).
    #[serde(default)]
    pub arguments: Value,
}

/// A tool definition, `{"type": "function", "function": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Tool<'a> {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The function.
    pub function: ToolFunction<'a>,
}

/// [`Tool::function`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ToolFunction<'a> {
    /// Function name.
    pub name: &'a str,
    /// What it does, for the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    /// JSON Schema of the arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<&'a Value>,
}

/// The Modelfile parameters the canonical request can set
/// (<https://github.com/ollama/ollama/blob/main/docs/modelfile.md#valid-parameters-and-values>).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub(crate) struct Options<'a> {
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Sampling seed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "is_empty_slice")]
    pub stop: &'a [String],
    /// Cap on generated tokens (OpenAI's `max_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_predict: Option<u32>,
}

fn is_empty_slice(s: &&[String]) -> bool {
    s.is_empty()
}

impl Options<'_> {
    /// Whether no parameter is set (the whole `options` object is then left out).
    pub fn is_empty(&self) -> bool {
        self.temperature.is_none()
            && self.top_p.is_none()
            && self.seed.is_none()
            && self.stop.is_empty()
            && self.num_predict.is_none()
    }
}

/// A `POST /api/chat` answer: the whole reply (`stream: false`) or one NDJSON line of a
/// stream. A stream's lines carry `message.content` deltas with `done: false`; the last line
/// has `done: true`, `done_reason` and the token counts. A line `{"error": "…"}` reports a
/// failure mid-stream.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct ChatLine {
    /// The model that answered.
    #[serde(default)]
    pub model: Option<String>,
    /// The assistant message or its delta.
    #[serde(default)]
    pub message: Option<ResponseMessage>,
    /// True on the final object.
    #[serde(default)]
    pub done: bool,
    /// `stop`, `length`, `load`, `unload`, … on the final object.
    #[serde(default)]
    pub done_reason: Option<String>,
    /// Prompt tokens evaluated; omitted when the prompt was cached.
    #[serde(default)]
    pub prompt_eval_count: Option<u32>,
    /// Tokens generated.
    #[serde(default)]
    pub eval_count: Option<u32>,
    /// An error reported in place of a reply.
    #[serde(default)]
    pub error: Option<String>,
}

/// [`ChatLine::message`].
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct ResponseMessage {
    /// The text (a delta when streaming).
    #[serde(default)]
    pub content: Option<String>,
    /// Tool calls, each complete (Ollama does not split a call over lines).
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCall>>,
}

/// An error body, `{"error": "model 'x' not found, try pulling it first"}`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct ErrorBody {
    /// The message (never shown to callers: it may quote the request).
    #[serde(default)]
    pub error: Option<String>,
}

/// `GET /api/tags` answer.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct TagList {
    /// The locally available models.
    #[serde(default)]
    pub models: Option<Vec<Tag>>,
}

/// One model of [`TagList::models`].
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct Tag {
    /// `model:tag`, e.g. `llama3:latest`.
    #[serde(default)]
    pub name: Option<String>,
    /// The same as `name` on current servers.
    #[serde(default)]
    pub model: Option<String>,
}

/// `POST /api/embed` body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct EmbedRequest<'a> {
    /// The embedding model.
    pub model: &'a str,
    /// The texts, in order.
    pub input: &'a [String],
    /// Output dimensions, for models that can shorten their vectors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
}

/// `POST /api/embed` answer.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct EmbedResponse {
    /// The model that answered.
    #[serde(default)]
    pub model: Option<String>,
    /// One vector per input, in order.
    #[serde(default)]
    pub embeddings: Vec<Vec<f32>>,
    /// Input tokens evaluated.
    #[serde(default)]
    pub prompt_eval_count: Option<u32>,
}
