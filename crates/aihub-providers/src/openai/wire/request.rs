//! The Chat Completions request body: <https://platform.openai.com/docs/api-reference/chat/create>.

use super::{arguments_text, function_type, null_as_default};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    /// `true` for a `text/event-stream` of [`ChatCompletionChunk`](super::ChatCompletionChunk)s.
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
