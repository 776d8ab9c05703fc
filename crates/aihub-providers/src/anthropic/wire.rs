//! Serde types of Anthropic's Messages API as documented at
//! <https://docs.anthropic.com/en/api/messages> (request and response),
//! <https://docs.anthropic.com/en/docs/build-with-claude/streaming> (stream events),
//! <https://docs.anthropic.com/en/api/errors> (error bodies) and
//! <https://docs.anthropic.com/en/api/models-list> (model list).
//!
//! Request types serialize only what AI Hub sends; response types are lenient: unknown fields
//! are ignored and unknown block, delta and event types read as `Other` (Anthropic adds new ones
//! under its versioning policy), so they are skipped rather than failing a reply.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /v1/messages` body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct MessagesRequest {
    /// The model id, e.g. `claude-sonnet-4-20250514`.
    pub model: String,
    /// Alternating `user` / `assistant` turns.
    pub messages: Vec<Message>,
    /// The system prompt (Anthropic has no `system` role inside `messages`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Required by Anthropic: the cap on generated tokens.
    pub max_tokens: u32,
    /// 0–1 on Anthropic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling, 0–1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Custom stop sequences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    /// Client tools the model may call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// How the model may use `tools`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// `{"user_id": …}`, an opaque end-user id for abuse detection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// `true` for a server-sent event stream; omitted otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
}

/// One turn of `messages`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Message {
    /// `user` or `assistant`.
    pub role: Role,
    /// A plain string (one text block) or content blocks.
    pub content: Content,
}

/// A turn's author. Anthropic knows only these two inside `messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    /// The person, tool results included.
    User,
    /// The model.
    Assistant,
}

/// A message's or a tool result's content: a string is shorthand for one text block.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum Content {
    /// One text block.
    Text(String),
    /// Ordered blocks.
    Blocks(Vec<RequestBlock>),
}

/// A content block of a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum RequestBlock {
    /// `{"type":"text","text"}`; Anthropic refuses empty text blocks.
    Text {
        /// The text.
        text: String,
    },
    /// `{"type":"image","source"}`.
    Image {
        /// Where the image comes from.
        source: ImageSource,
    },
    /// `{"type":"tool_use","id","name","input"}`: a call the assistant made earlier.
    ToolUse {
        /// The call id (`toolu_…` when Anthropic made it).
        id: String,
        /// The tool name.
        name: String,
        /// The arguments, a JSON object.
        input: Value,
    },
    /// `{"type":"tool_result","tool_use_id","content"}`: the answer to a `tool_use`.
    ToolResult {
        /// The id of the `tool_use` it answers.
        tool_use_id: String,
        /// The result: text, or text and image blocks; omitted when empty (it is optional).
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<Content>,
    },
}

/// An image block's `source`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ImageSource {
    /// `{"type":"base64","media_type":"image/png","data"}`.
    Base64 {
        /// `image/jpeg`, `image/png`, `image/gif` or `image/webp`.
        media_type: String,
        /// Base64 data without the `data:` prefix.
        data: String,
    },
    /// `{"type":"url","url":"https://…"}`: Anthropic fetches the image.
    Url {
        /// An `https://` URL.
        url: String,
    },
}

/// A client tool: `{"name","description","input_schema"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Tool {
    /// The tool name.
    pub name: String,
    /// What it does, for the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the input (required; an object schema).
    pub input_schema: Value,
}

/// `tool_choice`: `{"type":"auto"|"any"|"none"}` or `{"type":"tool","name"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ToolChoice {
    /// The model decides.
    Auto,
    /// The model must use one of the tools.
    Any,
    /// The model must use this tool.
    Tool {
        /// The tool name.
        name: String,
    },
    /// The model must not use tools.
    None,
}

/// `metadata`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Metadata {
    /// An opaque id of the end user (Anthropic asks for a uuid or hash, not a name or email).
    pub user_id: String,
}

/// The `Message` object of a non-streaming reply, and of `message_start` (with empty content).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct MessagesResponse {
    /// `msg_…`.
    #[serde(default)]
    pub id: String,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// The generated blocks.
    #[serde(default)]
    pub content: Vec<ResponseBlock>,
    /// `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`, `pause_turn`, `refusal`, …;
    /// `null` in `message_start`.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Token counts.
    #[serde(default)]
    pub usage: WireUsage,
}

/// A content block of a reply.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ResponseBlock {
    /// Generated text.
    Text {
        /// The text (empty in `content_block_start`).
        #[serde(default)]
        text: String,
    },
    /// A tool call.
    ToolUse {
        /// `toolu_…`.
        id: String,
        /// The tool name.
        name: String,
        /// The arguments object (`{}` in `content_block_start`).
        #[serde(default)]
        input: Value,
    },
    /// Thinking, server tool blocks and any later type: skipped.
    #[serde(other)]
    Other,
}

/// `usage`. In stream events every field may be absent; `message_delta` counts are cumulative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct WireUsage {
    /// Uncached input tokens.
    #[serde(default)]
    pub input_tokens: Option<u32>,
    /// Input tokens written to the prompt cache.
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u32>,
    /// Input tokens read from the prompt cache.
    #[serde(default)]
    pub cache_read_input_tokens: Option<u32>,
    /// Generated tokens.
    #[serde(default)]
    pub output_tokens: Option<u32>,
}

/// One server-sent event's `data`, by its `type`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum StreamEvent {
    /// The message with empty content and the input usage.
    MessageStart {
        /// The `Message` so far.
        message: MessagesResponse,
    },
    /// A block begins at `index`.
    ContentBlockStart {
        /// Position of the block in the final `content`.
        index: u32,
        /// The block with empty text or `{}` input.
        content_block: ResponseBlock,
    },
    /// More of the block at `index`.
    ContentBlockDelta {
        /// Position of the block.
        index: u32,
        /// The piece.
        delta: BlockDelta,
    },
    /// The block at `index` is complete.
    ContentBlockStop {
        /// Position of the block.
        #[serde(default)]
        index: u32,
    },
    /// Top-level changes: the stop reason and cumulative usage.
    MessageDelta {
        /// `{"stop_reason","stop_sequence"}`.
        #[serde(default)]
        delta: MessageDeltaBody,
        /// Cumulative counts.
        #[serde(default)]
        usage: WireUsage,
    },
    /// The end marker.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// An in-band error after the 200 status.
    Error {
        /// `{"type","message"}`.
        error: ErrorDetail,
    },
    /// A later event type: skipped, as Anthropic's versioning policy asks.
    #[serde(other)]
    Other,
}

/// The `delta` of `content_block_delta`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum BlockDelta {
    /// More text of a text block.
    TextDelta {
        /// The text piece.
        text: String,
    },
    /// More of a tool call's input JSON (a fragment, not valid JSON alone).
    InputJsonDelta {
        /// The fragment.
        partial_json: String,
    },
    /// Thinking, signature and citation deltas: skipped.
    #[serde(other)]
    Other,
}

/// The `delta` of `message_delta`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct MessageDeltaBody {
    /// Why the model stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
}

/// An error body: `{"type":"error","error":{"type","message"},"request_id"}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// `error`: `{"type","message","details"?}`. The message is read for classification only and
/// never shown.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct ErrorDetail {
    /// `invalid_request_error`, `authentication_error`, `rate_limit_error`, …
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Free text (may quote the request).
    #[serde(default)]
    pub message: String,
    /// `{"error_code": "enforced_spend_limit_reached"}` on a spend-limit 429.
    #[serde(default)]
    pub details: Option<ErrorDetails>,
}

/// `error.details`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct ErrorDetails {
    /// A machine code refining `type`.
    #[serde(default)]
    pub error_code: Option<String>,
}

/// `GET /v1/models` reply: one page of models, newest first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct ModelList {
    /// The models.
    #[serde(default)]
    pub data: Vec<WireModel>,
    /// More pages follow.
    #[serde(default)]
    pub has_more: bool,
    /// The last id of this page (the `after_id` of the next).
    #[serde(default)]
    pub last_id: Option<String>,
}

/// One model of the list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct WireModel {
    /// The model id, e.g. `claude-sonnet-4-20250514`.
    pub id: String,
}
