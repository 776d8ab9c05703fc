//! The canonical chat request, response and streaming chunk that every provider adapter
//! converts to and from, and the normalized [`Usage`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    /// Instructions for the model (OpenAI's `developer` role reads as this).
    System,
    /// The person.
    #[default]
    User,
    /// The model.
    Assistant,
    /// The result of a tool call, answering an assistant message's `tool_calls`.
    Tool,
}

impl ChatRole {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatRole::System => "system",
            ChatRole::User => "user",
            ChatRole::Assistant => "assistant",
            ChatRole::Tool => "tool",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "system" => Some(ChatRole::System),
            "user" => Some(ChatRole::User),
            "assistant" => Some(ChatRole::Assistant),
            "tool" => Some(ChatRole::Tool),
            _ => None,
        }
    }
}

/// One part of a multimodal message (OpenAI's content-part array: `text` and `image_url`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ContentPart {
    /// A piece of text.
    Text(String),
    /// An image, by URL: `https://…` or a `data:<media type>;base64,<data>` URL.
    Image(ImagePart),
}

/// An image given to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagePart {
    /// `https://…` or `data:<media type>;base64,<data>`.
    pub url: String,
    /// OpenAI's `detail` hint (`auto`, `low`, `high`), passed through where the vendor knows it.
    pub detail: Option<String>,
}

impl ImagePart {
    /// An inline image from base64 data and its media type (e.g. `image/png`).
    pub fn from_base64(media_type: &str, data: &str) -> Self {
        ImagePart {
            url: format!("data:{media_type};base64,{data}"),
            detail: None,
        }
    }

    /// `(media type, base64 data)` when the URL is a base64 `data:` URL; `None` for a remote URL.
    pub fn as_base64(&self) -> Option<(&str, &str)> {
        let rest = self.url.strip_prefix("data:")?;
        let (meta, data) = rest.split_once(',')?;
        let media_type = meta.strip_suffix(";base64")?;
        Some((media_type, data))
    }
}

/// A message's content: plain text, or ordered parts (text and images).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MessageContent {
    /// Plain text (the common case).
    Text(String),
    /// Ordered text and image parts.
    Parts(Vec<ContentPart>),
}

impl Default for MessageContent {
    fn default() -> Self {
        MessageContent::Text(String::new())
    }
}

impl MessageContent {
    /// All text of the content, parts joined with `\n`.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            MessageContent::Text(t) => std::borrow::Cow::Borrowed(t),
            MessageContent::Parts(parts) => {
                let texts: Vec<&str> = parts
                    .iter()
                    .filter_map(|p| match p {
                        ContentPart::Text(t) => Some(t.as_str()),
                        ContentPart::Image(_) => None,
                    })
                    .collect();
                std::borrow::Cow::Owned(texts.join("\n"))
            }
        }
    }

    /// The images, in order.
    pub fn images(&self) -> impl Iterator<Item = &ImagePart> {
        let parts: &[ContentPart] = match self {
            MessageContent::Text(_) => &[],
            MessageContent::Parts(parts) => parts,
        };
        parts.iter().filter_map(|p| match p {
            ContentPart::Image(i) => Some(i),
            ContentPart::Text(_) => None,
        })
    }

    /// The content as parts (plain text becomes one text part; empty text, none).
    pub fn parts(&self) -> std::borrow::Cow<'_, [ContentPart]> {
        match self {
            MessageContent::Text(t) if t.is_empty() => std::borrow::Cow::Borrowed(&[]),
            MessageContent::Text(t) => std::borrow::Cow::Owned(vec![ContentPart::Text(t.clone())]),
            MessageContent::Parts(p) => std::borrow::Cow::Borrowed(p),
        }
    }

    /// True when there is no text and no image.
    pub fn is_empty(&self) -> bool {
        match self {
            MessageContent::Text(t) => t.is_empty(),
            MessageContent::Parts(p) => p.is_empty(),
        }
    }
}

impl From<String> for MessageContent {
    fn from(s: String) -> Self {
        MessageContent::Text(s)
    }
}

impl From<&str> for MessageContent {
    fn from(s: &str) -> Self {
        MessageContent::Text(s.to_owned())
    }
}

/// A tool call the model made (OpenAI `tool_calls[]` of type `function`; Anthropic `tool_use`;
/// Gemini `functionCall`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id, echoed by the `tool` message that answers it. Vendors without ids
    /// (Gemini, Ollama) get a generated one.
    pub id: String,
    /// The function name.
    pub name: String,
    /// The arguments as JSON text, exactly as the model wrote them.
    pub arguments: String,
}

/// One message of a chat request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Author.
    pub role: ChatRole,
    /// Text or multimodal parts.
    pub content: MessageContent,
    /// Optional author name (OpenAI `name`).
    pub name: Option<String>,
    /// Tool calls of an assistant message.
    pub tool_calls: Vec<ToolCall>,
    /// For a `tool` message: the id of the call it answers.
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    /// A text message with the given role.
    pub fn new(role: ChatRole, content: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: MessageContent::Text(content.into()),
            ..ChatMessage::default()
        }
    }

    /// All text of the message.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        self.content.text()
    }
}

/// A function the model may call (OpenAI `tools[]` of type `function`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDefinition {
    /// Function name.
    pub name: String,
    /// What it does, for the model.
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub parameters: Option<serde_json::Value>,
    /// OpenAI structured-outputs `strict` flag.
    pub strict: Option<bool>,
}

/// Whether and which tool the model must call (OpenAI `tool_choice`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool call.
    None,
    /// At least one tool call.
    Required,
    /// This function.
    Function(String),
}

/// The shape the reply must take (OpenAI `response_format`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResponseFormat {
    /// Free text (the default).
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// Schema name.
        name: String,
        /// Description, if any.
        description: Option<String>,
        /// The JSON Schema.
        schema: Option<serde_json::Value>,
        /// OpenAI's `strict` flag.
        strict: Option<bool>,
    },
}

/// A provider-neutral chat completion request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// The vendor's model id (without the `<provider>/` prefix).
    pub model: String,
    /// The conversation so far, system prompt first.
    pub messages: Vec<ChatMessage>,
    /// Cap on completion tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature, 0–2.
    pub temperature: Option<f64>,
    /// Nucleus sampling, 0–1.
    pub top_p: Option<f64>,
    /// Stop sequences (at most 4 on OpenAI).
    pub stop: Vec<String>,
    /// Sampling seed, where the vendor supports one.
    pub seed: Option<i64>,
    /// Functions the model may call.
    pub tools: Vec<ToolDefinition>,
    /// Tool choice; `None` leaves the vendor default.
    pub tool_choice: Option<ToolChoice>,
    /// Reply format; `None` is free text.
    pub response_format: Option<ResponseFormat>,
    /// The end user's id (OpenAI `user`), for the vendor's abuse monitoring.
    pub user: Option<String>,
    /// Other request fields, passed verbatim to OpenAI-wire upstreams (e.g. `logprobs`,
    /// `frequency_penalty`, OpenRouter's `provider`); translating adapters ignore them.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// Natural end or a stop sequence.
    Stop,
    /// `max_tokens` reached.
    Length,
    /// The vendor's safety filter cut the reply.
    ContentFilter,
    /// The model asked for a tool call.
    ToolCalls,
    /// The caller stopped the stream or disconnected.
    Stopped,
    /// The upstream failed mid-reply.
    Error,
}

impl FinishReason {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::Stopped => "stopped",
            FinishReason::Error => "error",
        }
    }

    /// Maps a vendor's finish reason string; unknown values read as `stop`.
    pub fn from_vendor(s: &str) -> Self {
        match s {
            "length" | "max_tokens" => FinishReason::Length,
            "content_filter" | "safety" => FinishReason::ContentFilter,
            "tool_calls" | "function_call" | "tool_use" => FinishReason::ToolCalls,
            _ => FinishReason::Stop,
        }
    }
}

/// Token usage of one generation, normalized across vendors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    /// Input tokens.
    pub prompt_tokens: u32,
    /// Output tokens.
    pub completion_tokens: u32,
    /// True when counted locally because the vendor reported nothing.
    pub estimated: bool,
}

impl Usage {
    /// Prompt plus completion tokens.
    pub fn total_tokens(&self) -> u32 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

/// A complete (non-streaming) reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// The vendor's response id, when given.
    pub id: Option<String>,
    /// The model that answered, as the vendor names it.
    pub model: String,
    /// The reply text (empty when the model only called tools).
    pub content: String,
    /// Tool calls the model made.
    pub tool_calls: Vec<ToolCall>,
    /// Why the model stopped.
    pub finish_reason: Option<FinishReason>,
    /// The vendor's token counts, when reported.
    pub usage: Option<Usage>,
}

/// A piece of a streamed tool call (OpenAI `delta.tool_calls[]`): the first piece of a call
/// carries its `id` and `name`, later pieces append to `arguments`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolCallDelta {
    /// Which call of the reply this piece belongs to (0-based).
    pub index: u32,
    /// The call id, on its first piece.
    pub id: Option<String>,
    /// The function name, on its first piece.
    pub name: Option<String>,
    /// More argument JSON text.
    pub arguments: Option<String>,
}

/// One streaming chunk: a text delta, tool-call pieces, a finish reason, usage, or any mix.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatChunk {
    /// New text, if any.
    pub delta: Option<String>,
    /// Tool-call pieces, if any.
    pub tool_calls: Vec<ToolCallDelta>,
    /// Set on the chunk that ends the reply.
    pub finish_reason: Option<FinishReason>,
    /// Token counts, usually on the last chunk (`stream_options.include_usage`).
    pub usage: Option<Usage>,
}

/// Lifecycle of a stored message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Fully written.
    Complete,
    /// Being generated right now.
    Streaming,
    /// Stopped by the caller (or a disconnect); holds the text so far.
    Stopped,
    /// The upstream failed; holds the text so far.
    Failed,
}

impl MessageStatus {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Complete => "complete",
            MessageStatus::Streaming => "streaming",
            MessageStatus::Stopped => "stopped",
            MessageStatus::Failed => "failed",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Self {
        match s {
            "streaming" => MessageStatus::Streaming,
            "stopped" => MessageStatus::Stopped,
            "failed" => MessageStatus::Failed,
            _ => MessageStatus::Complete,
        }
    }
}

/// Outcome of one billed generation, as stored in a usage record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UsageStatus {
    /// The reply completed.
    Success,
    /// The caller stopped the reply or disconnected.
    Stopped,
    /// The upstream failed, after or before producing tokens.
    Failed,
}

impl UsageStatus {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageStatus::Success => "success",
            UsageStatus::Stopped => "stopped",
            UsageStatus::Failed => "failed",
        }
    }
}

/// A provider-neutral embeddings request (OpenAI `POST /embeddings`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EmbeddingRequest {
    /// The vendor's model id.
    pub model: String,
    /// The texts to embed, in order.
    pub input: Vec<String>,
    /// Output dimensions, where the model supports choosing them.
    pub dimensions: Option<u32>,
}

/// Embeddings in input order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EmbeddingResponse {
    /// The model that answered.
    pub model: String,
    /// One vector per input, in order.
    pub embeddings: Vec<Vec<f32>>,
    /// Input tokens (`completion_tokens` is 0); `estimated` when the vendor reported none.
    pub usage: Usage,
}
