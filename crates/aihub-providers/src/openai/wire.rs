//! Serde types of the OpenAI wire: Chat Completions (request, response object, streamed
//! chunks), Embeddings, Models and the error envelope.
//!
//! Sources:
//! - request: <https://platform.openai.com/docs/api-reference/chat/create>
//! - response: <https://platform.openai.com/docs/api-reference/chat/object>
//! - stream chunks: <https://platform.openai.com/docs/api-reference/chat/streaming>
//! - embeddings: <https://platform.openai.com/docs/api-reference/embeddings>
//! - models: <https://platform.openai.com/docs/api-reference/models>
//! - errors: <https://platform.openai.com/docs/guides/error-codes>
//!
//! Every type is both `Serialize` and `Deserialize`: the adapter sends requests and reads
//! replies from upstreams, and the gateway's own `/v1` endpoints read requests and send
//! replies. Reading is lenient (unknown fields are ignored, optional fields may be missing or
//! `null`, compatible servers' variations are accepted where noted); writing is faithful (the
//! documented field names, `object` values, and `null` where OpenAI sends `null`).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Reads `null` as the type's default (compatible servers send `null` where OpenAI omits).
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Reads a string, or `None` for `null` and any other JSON type.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// Reads reply text: a string, or an array of `{"type": "text", "text": …}` parts (some
/// compatible servers answer with parts) joined without separator; `None` for `null`.
fn reply_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect(),
        ),
        _ => None,
    })
}

/// Reads function-call arguments: OpenAI sends JSON text; a server that sends a JSON object
/// instead gets it serialized back to text. `null` reads as empty.
fn arguments_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// Like [`arguments_text`], for the optional argument pieces of a streamed call.
fn opt_arguments_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string()),
    })
}

fn function_type() -> String {
    "function".to_owned()
}

fn assistant_role() -> String {
    "assistant".to_owned()
}

// ---------------------------------------------------------------------------------------------
// Chat Completions request: https://platform.openai.com/docs/api-reference/chat/create
// ---------------------------------------------------------------------------------------------

/// `POST /chat/completions` request body
/// (<https://platform.openai.com/docs/api-reference/chat/create>).
///
/// Fields AI Hub understands are typed; every other field (`logprobs`, `frequency_penalty`,
/// OpenRouter's `provider`, …) lands in [`Self::extra`] and is sent back out verbatim to
/// OpenAI-wire upstreams. Unset fields are omitted when serialized.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    /// The model id, e.g. `gpt-4o-mini` (on the gateway: `<provider>/<model>`).
    pub model: String,
    /// The conversation, in order.
    pub messages: Vec<RequestMessage>,
    /// Legacy cap on generated tokens (compatible servers and OpenRouter read this one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Cap on generated tokens, reasoning included (OpenAI's current name; wins over
    /// `max_tokens` when both are given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// Sampling temperature, 0–2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Up to 4 stop sequences, as a string or an array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Best-effort deterministic sampling seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Functions the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// `"none"`, `"auto"`, `"required"` or a named function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoiceWire>,
    /// `text`, `json_object` or `json_schema`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormatWire>,
    /// The end user's id, for the vendor's abuse monitoring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// How many choices to generate (AI Hub serves 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// `true` for a `text/event-stream` of [`ChatCompletionChunk`]s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Streaming options (`include_usage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Every other top-level field, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Who wrote a request message. `developer` is OpenAI's newer name for `system`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    /// Instructions.
    System,
    /// Instructions (o1 and later); read as `system`.
    Developer,
    /// The person.
    #[default]
    User,
    /// The model.
    Assistant,
    /// A tool result answering an assistant's `tool_calls`.
    Tool,
}

/// One message of [`ChatCompletionRequest::messages`]
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages>).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestMessage {
    /// Author.
    pub role: MessageRole,
    /// Text or content parts; `null` (or missing) is allowed on an assistant message that
    /// only calls tools. Always serialized (as `null` when `None`).
    #[serde(default)]
    pub content: Option<RequestContent>,
    /// Optional participant name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls of an assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallWire>>,
    /// For a `tool` message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// A message's content: a string, or an array of parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestContent {
    /// Plain text.
    Text(String),
    /// Ordered content parts.
    Parts(Vec<ContentPartWire>),
}

/// One content part: `{"type": "text", "text"}` or
/// `{"type": "image_url", "image_url": {"url", "detail"}}`. Other part types (`input_audio`,
/// `file`, `refusal`) read as [`ContentPartWire::Unsupported`] so the gateway can refuse them
/// by name; the adapter never sends that variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPartWire {
    /// A piece of text.
    Text {
        /// The text.
        text: String,
    },
    /// An image by URL (`https://…` or a base64 `data:` URL).
    ImageUrl {
        /// The image.
        image_url: ImageUrlWire,
    },
    /// A part type AI Hub does not handle.
    #[serde(other)]
    Unsupported,
}

/// `image_url` of an image part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageUrlWire {
    /// `https://…` or `data:<media type>;base64,<data>`.
    pub url: String,
    /// `auto`, `low` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A complete tool call: in an assistant request message, and in a response message
/// (`{"id", "type": "function", "function": {"name", "arguments"}}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCallWire {
    /// The call id (`call_…`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function called.
    pub function: FunctionCallWire,
}

/// The function of a [`ToolCallWire`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallWire {
    /// Function name.
    pub name: String,
    /// Arguments as JSON text, as the model wrote them (an object sent by a compatible server
    /// is read back as its JSON text).
    #[serde(default, deserialize_with = "arguments_text")]
    pub arguments: String,
}

/// A tool the model may call: `{"type": "function", "function": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// `function` (the only type the Chat Completions API defines for `tools`).
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function.
    pub function: FunctionDefinition,
}

/// A function definition of [`Tool`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionDefinition {
    /// Name (`a-z`, `A-Z`, `0-9`, `_`, `-`, at most 64 characters on OpenAI).
    pub name: String,
    /// What the function does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Structured-outputs strict mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `tool_choice`: `"none"`, `"auto"`, `"required"`, or
/// `{"type": "function", "function": {"name"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolChoiceWire {
    /// `none`, `auto` or `required` (other strings are refused by the converter).
    Mode(String),
    /// A named function.
    Named(NamedToolChoice),
}

/// `{"type": "function", "function": {"name"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedToolChoice {
    /// `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function to call.
    pub function: NamedFunction,
}

/// The function of a [`NamedToolChoice`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedFunction {
    /// Function name.
    pub name: String,
}

/// `response_format`: `{"type": "text"}`, `{"type": "json_object"}` or
/// `{"type": "json_schema", "json_schema": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormatWire {
    /// Free text.
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// The schema.
        json_schema: JsonSchemaWire,
    },
}

/// `response_format.json_schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonSchemaWire {
    /// Schema name.
    pub name: String,
    /// What the format is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Strict schema adherence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// `stop`: one sequence or an array of up to 4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    /// One stop sequence.
    One(String),
    /// Several stop sequences.
    Many(Vec<String>),
}

/// `stream_options`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Ask for a final chunk with `usage` and `choices: []`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Other stream options (`include_obfuscation`, …), verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

// ---------------------------------------------------------------------------------------------
// Chat Completion object: https://platform.openai.com/docs/api-reference/chat/object
// ---------------------------------------------------------------------------------------------

/// The `chat.completion` object (<https://platform.openai.com/docs/api-reference/chat/object>).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletion {
    /// `chatcmpl-…`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// `chat.completion`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object: String,
    /// Unix seconds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub created: i64,
    /// The model that answered.
    #[serde(default, deserialize_with = "null_as_default")]
    pub model: String,
    /// The choices (one on AI Hub).
    #[serde(default, deserialize_with = "null_as_default")]
    pub choices: Vec<Choice>,
    /// Token counts; omitted when `None` (some compatible servers report none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<WireUsage>,
    /// Backend configuration fingerprint; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
}

/// One choice of a [`ChatCompletion`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Position of the choice.
    #[serde(default, deserialize_with = "null_as_default")]
    pub index: u32,
    /// The reply.
    #[serde(default, deserialize_with = "null_as_default")]
    pub message: ResponseMessage,
    /// Log probabilities (`null` unless asked for; AI Hub always writes `null`).
    #[serde(default)]
    pub logprobs: Option<Value>,
    /// `stop`, `length`, `tool_calls`, `content_filter` (`function_call` is deprecated);
    /// written as `null` when `None`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub finish_reason: Option<String>,
}

/// The message of a [`Choice`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseMessage {
    /// `assistant`.
    #[serde(default = "assistant_role", deserialize_with = "role_or_assistant")]
    pub role: String,
    /// The reply text; `null` when the model only called tools.
    #[serde(default, deserialize_with = "reply_text")]
    pub content: Option<String>,
    /// The refusal text, when the model refused; written as `null` otherwise.
    #[serde(default, deserialize_with = "lenient_string")]
    pub refusal: Option<String>,
    /// Tool calls; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallWire>>,
}

impl Default for ResponseMessage {
    fn default() -> Self {
        ResponseMessage {
            role: assistant_role(),
            content: None,
            refusal: None,
            tool_calls: None,
        }
    }
}

fn role_or_assistant<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient_string(d)?.unwrap_or_else(assistant_role))
}

/// `usage` of a completion or of the final stream chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireUsage {
    /// Input tokens (cached ones included).
    #[serde(default, deserialize_with = "null_as_default")]
    pub prompt_tokens: u32,
    /// Output tokens (reasoning ones included).
    #[serde(default, deserialize_with = "null_as_default")]
    pub completion_tokens: u32,
    /// Their sum.
    #[serde(default, deserialize_with = "null_as_default")]
    pub total_tokens: u32,
}

// ---------------------------------------------------------------------------------------------
// Streaming: https://platform.openai.com/docs/api-reference/chat/streaming
// ---------------------------------------------------------------------------------------------

/// One `chat.completion.chunk` event of a stream
/// (<https://platform.openai.com/docs/api-reference/chat/streaming>). The final usage chunk
/// (with `stream_options.include_usage`) has `choices: []` and `usage` set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionChunk {
    /// The completion id, the same on every chunk.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// `chat.completion.chunk`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub object: String,
    /// Unix seconds, the same on every chunk.
    #[serde(default, deserialize_with = "null_as_default")]
    pub created: i64,
    /// The model.
    #[serde(default, deserialize_with = "null_as_default")]
    pub model: String,
    /// Backend configuration fingerprint; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The choice deltas; empty on the usage chunk (and missing on some servers' chunks).
    #[serde(default, deserialize_with = "null_as_default")]
    pub choices: Vec<ChunkChoice>,
    /// Usage, on the final chunk; omitted when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<WireUsage>,
}

/// One choice of a [`ChatCompletionChunk`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkChoice {
    /// Position of the choice.
    #[serde(default, deserialize_with = "null_as_default")]
    pub index: u32,
    /// What is new.
    #[serde(default, deserialize_with = "null_as_default")]
    pub delta: ChunkDelta,
    /// Log probabilities (AI Hub always writes `null`).
    #[serde(default)]
    pub logprobs: Option<Value>,
    /// Set on the chunk that ends the choice; written as `null` otherwise.
    #[serde(default, deserialize_with = "lenient_string")]
    pub finish_reason: Option<String>,
}

/// The `delta` of a [`ChunkChoice`]; every field is omitted when `None` (the finishing chunk
/// has `"delta": {}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkDelta {
    /// `assistant`, on the first chunk.
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub role: Option<String>,
    /// More reply text.
    #[serde(
        default,
        deserialize_with = "reply_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub content: Option<String>,
    /// More refusal text.
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub refusal: Option<String>,
    /// Pieces of tool calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallChunk>>,
}

/// A piece of a streamed tool call: the first piece of a call has `id`, `type` and
/// `function.name`; later pieces append to `function.arguments`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCallChunk {
    /// Which call of the reply (0-based).
    #[serde(default, deserialize_with = "null_as_default")]
    pub index: u32,
    /// The call id, on the first piece.
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// `function`, on the first piece.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<String>,
    /// Name and argument piece.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallChunk>,
}

/// The function part of a [`ToolCallChunk`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallChunk {
    /// The function name, on the first piece.
    #[serde(
        default,
        deserialize_with = "lenient_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    /// More argument JSON text.
    #[serde(
        default,
        deserialize_with = "opt_arguments_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Embeddings: https://platform.openai.com/docs/api-reference/embeddings
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Models: https://platform.openai.com/docs/api-reference/models
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Errors: https://platform.openai.com/docs/guides/error-codes
// ---------------------------------------------------------------------------------------------

/// The error envelope `{"error": {...}}` of the OpenAI wire, sent with error statuses and, by
/// some servers (OpenRouter, vLLM), as an event in the middle of a stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error object.
    pub error: ErrorObject,
}

/// An error object: `{"message", "type", "param", "code"}`.
///
/// The adapter maps on `code` and `type` only: `message` may quote the prompt or part of the
/// API key and is never copied into a [`crate::ProviderError`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// Human-readable text (never shown by AI Hub when read from an upstream).
    #[serde(default, deserialize_with = "null_as_default_string")]
    pub message: String,
    /// `invalid_request_error`, `insufficient_quota`, `server_error`, …
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    /// The request field at fault.
    #[serde(default, deserialize_with = "lenient_string")]
    pub param: Option<String>,
    /// OpenAI: an identifier such as `invalid_api_key`; llama.cpp and OpenRouter: the HTTP
    /// status as a number.
    #[serde(default, deserialize_with = "error_code")]
    pub code: Option<ErrorCodeWire>,
}

/// `error.code`: a string (OpenAI) or a number (llama.cpp, OpenRouter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorCodeWire {
    /// `invalid_api_key`, `rate_limit_exceeded`, …
    Text(String),
    /// An HTTP status number.
    Number(i64),
}

fn null_as_default_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(lenient_string(d)?.unwrap_or_default())
}

fn error_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ErrorCodeWire>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(ErrorCodeWire::Text(s)),
        Value::Number(n) => n.as_i64().map(ErrorCodeWire::Number),
        _ => None,
    })
}

impl ErrorObject {
    /// The `code` when it is a string.
    pub fn code_str(&self) -> Option<&str> {
        match &self.code {
            Some(ErrorCodeWire::Text(s)) => Some(s),
            _ => None,
        }
    }

    /// The `code` when it is an HTTP error status (400–599), as a number or a numeric string
    /// (OpenRouter's `"402"`).
    pub fn code_status(&self) -> Option<u16> {
        let n = match &self.code {
            Some(ErrorCodeWire::Number(n)) => *n,
            Some(ErrorCodeWire::Text(s)) => s.trim().parse().ok()?,
            None => return None,
        };
        u16::try_from(n).ok().filter(|s| (400..=599).contains(s))
    }
}

#[cfg(test)]
mod tests;
