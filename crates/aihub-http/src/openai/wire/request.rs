//! The Chat Completions request body: <https://platform.openai.com/docs/api-reference/chat/create>.

use super::{arguments_text, function_type, null_as_default};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// `POST /v1/chat/completions` request body
/// (<https://platform.openai.com/docs/api-reference/chat/create>).
///
/// Fields AI Hub understands are typed; every other field (`logprobs`, `frequency_penalty`,
/// OpenRouter's `provider`, …) is kept and goes on to OpenAI-wire upstreams verbatim. AI Hub
/// extension: `fallbacks`, an array of at most 5 `"<provider>/<model>"` names tried in order
/// when the primary fails before the first byte.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[schema(as = openai::ChatCompletionRequest)]
pub struct ChatCompletionRequest {
    /// `"<provider slug or kind>/<model>"` (e.g. `openai/gpt-4o-mini`) or a bare model the
    /// catalog knows.
    pub model: String,
    /// The conversation, in order.
    pub messages: Vec<RequestMessage>,
    /// Legacy cap on generated tokens (compatible servers and OpenRouter read this one).
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Cap on generated tokens, reasoning included (OpenAI's current name; wins over
    /// `max_tokens` when both are given).
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    /// Sampling temperature, 0–2.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass, 0–1.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// Up to 4 stop sequences, as a string or an array.
    #[serde(default)]
    pub stop: Option<Stop>,
    /// Best-effort deterministic sampling seed.
    #[serde(default)]
    pub seed: Option<i64>,
    /// Functions the model may call.
    #[serde(default)]
    pub tools: Option<Vec<Tool>>,
    /// `"none"`, `"auto"`, `"required"` or a named function.
    #[serde(default)]
    pub tool_choice: Option<ToolChoiceWire>,
    /// `text`, `json_object` or `json_schema`.
    #[serde(default)]
    pub response_format: Option<ResponseFormatWire>,
    /// The end user's id, for the vendor's abuse monitoring.
    #[serde(default)]
    pub user: Option<String>,
    /// How many choices to generate (AI Hub serves 1).
    #[serde(default)]
    pub n: Option<u32>,
    /// `true` for a `text/event-stream` of `chat.completion.chunk` events ending in
    /// `data: [DONE]`.
    #[serde(default)]
    pub stream: Option<bool>,
    /// Streaming options (`include_usage`).
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// Every other top-level field, verbatim (AI Hub's `fallbacks` is taken out before the
    /// request goes upstream).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Who wrote a request message
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages>).
/// `developer` is OpenAI's newer name for `system`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = openai::MessageRole)]
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

/// One message of a chat completion request's `messages`
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages>).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[schema(as = openai::RequestMessage)]
pub struct RequestMessage {
    /// Author.
    pub role: MessageRole,
    /// Text or content parts; `null` (or missing) is allowed on an assistant message that
    /// only calls tools.
    #[serde(default)]
    pub content: Option<RequestContent>,
    /// Optional participant name.
    #[serde(default)]
    pub name: Option<String>,
    /// Tool calls of an assistant message.
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallWire>>,
    /// For a `tool` message: the id of the call it answers.
    #[serde(default)]
    pub tool_call_id: Option<String>,
}

/// A message's content: a string, or an array of parts
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages>).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(as = openai::RequestContent)]
pub enum RequestContent {
    /// Plain text.
    Text(String),
    /// Ordered content parts.
    Parts(Vec<ContentPartWire>),
}

/// One content part
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages>):
/// `{"type": "text", "text"}` or `{"type": "image_url", "image_url": {"url", "detail"}}`.
/// Other part types (`input_audio`, `file`, `refusal`) are refused with `param` naming the
/// part.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schema(as = openai::ContentPart)]
pub enum ContentPartWire {
    /// A piece of text.
    Text {
        /// The text.
        text: String,
    },
    /// An image by URL (`https://…` or a base64 `data:` URL); user messages only.
    ImageUrl {
        /// The image.
        image_url: ImageUrlWire,
    },
    /// A part type AI Hub does not handle (refused with `param` naming it). `skip_serializing`
    /// only keeps it out of the schema: this type is never serialized.
    #[serde(other, skip_serializing)]
    Unsupported,
}

/// `image_url` of an image part
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-messages>).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[schema(as = openai::ImageUrl)]
pub struct ImageUrlWire {
    /// `https://…` or `data:<media type>;base64,<data>`.
    pub url: String,
    /// `auto`, `low` or `high`.
    #[serde(default)]
    pub detail: Option<String>,
}

/// A complete tool call: in an assistant request message, and in a response message
/// (`{"id", "type": "function", "function": {"name", "arguments"}}`;
/// <https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices>).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = openai::ToolCall)]
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

/// The function of a tool call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = openai::FunctionCall)]
pub struct FunctionCallWire {
    /// Function name.
    pub name: String,
    /// Arguments as JSON text, as the model wrote them (an object sent by a client is read as
    /// its JSON text).
    #[serde(default, deserialize_with = "arguments_text")]
    pub arguments: String,
}

/// A tool the model may call: `{"type": "function", "function": {...}}`
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-tools>).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[schema(as = openai::Tool)]
pub struct Tool {
    /// `function` (the only type the Chat Completions API defines for `tools`).
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function.
    pub function: FunctionDefinition,
}

/// The function of a tool.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[schema(as = openai::FunctionDefinition)]
pub struct FunctionDefinition {
    /// Name (`a-z`, `A-Z`, `0-9`, `_`, `-`, at most 64 characters on OpenAI).
    pub name: String,
    /// What the function does.
    #[serde(default)]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub parameters: Option<Value>,
    /// Structured-outputs strict mode.
    #[serde(default)]
    pub strict: Option<bool>,
}

/// `tool_choice`: `"none"`, `"auto"`, `"required"`, or
/// `{"type": "function", "function": {"name"}}`
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-tool_choice>).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(as = openai::ToolChoice)]
pub enum ToolChoiceWire {
    /// `none`, `auto` or `required` (other strings are refused).
    Mode(String),
    /// A named function.
    Named(NamedToolChoice),
}

/// `{"type": "function", "function": {"name"}}`.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[schema(as = openai::NamedToolChoice)]
pub struct NamedToolChoice {
    /// `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function to call.
    pub function: NamedFunction,
}

/// The function of a named tool choice.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[schema(as = openai::NamedFunction)]
pub struct NamedFunction {
    /// Function name.
    pub name: String,
}

/// `response_format`: `{"type": "text"}`, `{"type": "json_object"}` or
/// `{"type": "json_schema", "json_schema": {...}}`
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-response_format>).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schema(as = openai::ResponseFormat)]
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
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[schema(as = openai::JsonSchema)]
pub struct JsonSchemaWire {
    /// Schema name.
    pub name: String,
    /// What the format is for.
    #[serde(default)]
    pub description: Option<String>,
    /// The JSON Schema.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
    /// Strict schema adherence.
    #[serde(default)]
    pub strict: Option<bool>,
}

/// `stop`: one sequence or an array of up to 4
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-stop>).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(as = openai::Stop)]
pub enum Stop {
    /// One stop sequence.
    One(String),
    /// Several stop sequences.
    Many(Vec<String>),
}

/// `stream_options`
/// (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options>).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[schema(as = openai::StreamOptions)]
pub struct StreamOptions {
    /// Ask for a final chunk with `usage` and `choices: []`.
    #[serde(default)]
    pub include_usage: Option<bool>,
    /// Other stream options (`include_obfuscation`, …), verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
