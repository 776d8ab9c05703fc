//! Serde types of the Gemini API (`v1beta`), camelCase on the wire.
//!
//! Sources: <https://ai.google.dev/api/generate-content> (request, response, streaming),
//! <https://ai.google.dev/api/caching#Content> (`Content`, `Part`),
//! <https://ai.google.dev/api/embeddings> (`batchEmbedContents`),
//! <https://ai.google.dev/api/models> (`models.list`) and
//! <https://ai.google.dev/gemini-api/docs/troubleshooting> (the error body, which follows
//! `google.rpc.Status`).
//!
//! Response types are lenient: every field is optional or defaulted and unknown fields are
//! ignored, since Google adds fields often. Request types skip empty optional fields.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The body of `models/{model}:generateContent` and `:streamGenerateContent`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerateContentRequest {
    /// The conversation, oldest first; roles alternate `user` / `model`.
    pub contents: Vec<Content>,
    /// The system prompt (text parts only); no role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<Content>,
    /// Sampling and output options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_config: Option<GenerationConfig>,
    /// Functions the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// Whether and which functions the model must call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig>,
}

/// One turn: a role and its ordered parts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Content {
    /// `user` or `model`; absent on `systemInstruction` (and on some blocked candidates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The parts, in order.
    #[serde(default)]
    pub parts: Vec<Part>,
}

/// One part of a turn. The API's `Part` is a union (exactly one data field is set); it is a
/// struct of options here so that unknown part kinds (`executableCode`, …) deserialize and are
/// ignored instead of failing the whole reply.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Part {
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Inline bytes (base64), e.g. an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<Blob>,
    /// A file by URI (Files API or a public URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<FileData>,
    /// A call the model made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    /// The result of a call, sent back by the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_response: Option<FunctionResponse>,
    /// `true` on a thought-summary part of a thinking model: not reply text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
}

impl Part {
    /// A text part.
    pub(crate) fn text(text: impl Into<String>) -> Self {
        Part {
            text: Some(text.into()),
            ..Part::default()
        }
    }
}

/// `inlineData`: base64 bytes and their media type.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Blob {
    /// Media type, e.g. `image/png`.
    pub mime_type: String,
    /// Base64 data.
    pub data: String,
}

/// `fileData`: a file by URI.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileData {
    /// Media type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// The file's URI.
    pub file_uri: String,
}

/// `functionCall`: a call the model made; arguments as a JSON object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionCall {
    /// The function name.
    pub name: String,
    /// The arguments (a JSON object); absent for a call without arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
}

/// `functionResponse`: a function's result, sent back in a `user` turn.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionResponse {
    /// The function name (Gemini matches responses to calls by name).
    pub name: String,
    /// The result, a JSON object.
    pub response: Value,
}

/// `generationConfig`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerationConfig {
    /// Sampling temperature, 0–2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Cap on generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Up to 5 stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop_sequences: Vec<String>,
    /// Decoding seed (int32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i32>,
    /// `text/plain` (default) or `application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_mime_type: Option<String>,
    /// An OpenAPI-subset schema of the reply (not sent by this adapter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_schema: Option<Value>,
    /// A JSON Schema of the reply (needs `responseMimeType: application/json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_json_schema: Option<Value>,
}

impl GenerationConfig {
    /// True when no field is set (the config is then left out of the request).
    pub(crate) fn is_empty(&self) -> bool {
        *self == GenerationConfig::default()
    }
}

/// One entry of `tools`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tool {
    /// The declared functions.
    pub function_declarations: Vec<FunctionDeclaration>,
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionDeclaration {
    /// The function name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The arguments' schema (Gemini's OpenAPI 3.0 subset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
}

/// `toolConfig`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ToolConfig {
    /// How functions are called.
    pub function_calling_config: FunctionCallingConfig,
}

/// `functionCallingConfig`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionCallingConfig {
    /// `AUTO`, `ANY` (must call) or `NONE`.
    pub mode: String,
    /// With `ANY`: the only functions that may be called.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_function_names: Vec<String>,
}

/// The reply of `generateContent`, and each streamed event of `streamGenerateContent`. A
/// streamed event may instead carry an `error` (`google.rpc.Status`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GenerateContentResponse {
    /// The candidate replies (one unless `candidateCount` asked for more); none when the
    /// prompt was blocked.
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    /// Set when the prompt itself was blocked.
    #[serde(default)]
    pub prompt_feedback: Option<PromptFeedback>,
    /// Token counts (cumulative in a stream).
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
    /// The model version that answered, e.g. `gemini-1.5-flash-002`.
    #[serde(default)]
    pub model_version: Option<String>,
    /// The response id.
    #[serde(default)]
    pub response_id: Option<String>,
    /// An in-band error (in a stream).
    #[serde(default)]
    pub error: Option<Status>,
}

/// One candidate reply.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Candidate {
    /// The reply so far (absent when the candidate was blocked before any output).
    #[serde(default)]
    pub content: Option<Content>,
    /// `STOP`, `MAX_TOKENS`, `SAFETY`, `RECITATION`, `PROHIBITED_CONTENT`, `BLOCKLIST`, `SPII`,
    /// `MALFORMED_FUNCTION_CALL`, `OTHER`, …; set on the last event of a stream.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Per-category safety ratings (kept opaque).
    #[serde(default)]
    pub safety_ratings: Vec<Value>,
}

/// `promptFeedback`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PromptFeedback {
    /// `SAFETY`, `OTHER`, `BLOCKLIST`, `PROHIBITED_CONTENT`, …; set when the prompt was blocked.
    #[serde(default)]
    pub block_reason: Option<String>,
}

/// `usageMetadata`: token counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageMetadata {
    /// Prompt tokens (including cached content).
    #[serde(default)]
    pub prompt_token_count: Option<u32>,
    /// Tokens of the reply candidates.
    #[serde(default)]
    pub candidates_token_count: Option<u32>,
    /// All tokens.
    #[serde(default)]
    pub total_token_count: Option<u32>,
    /// Thinking tokens of thinking models (billed as output).
    #[serde(default)]
    pub thoughts_token_count: Option<u32>,
}

/// The error body: `{"error": {code, message, status, details}}`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct ErrorBody {
    /// The status.
    pub error: Status,
}

/// `google.rpc.Status`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct Status {
    /// The HTTP status code, e.g. 400.
    #[serde(default)]
    pub code: Option<u16>,
    /// A message for developers. Read to refine the mapping; never shown (it may quote input).
    #[serde(default)]
    pub message: Option<String>,
    /// The canonical code name, e.g. `INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`.
    #[serde(default)]
    pub status: Option<String>,
    /// Typed details (`ErrorInfo`, `RetryInfo`, `QuotaFailure`, `Help`, …).
    #[serde(default)]
    pub details: Vec<ErrorDetail>,
}

/// One typed detail of a [`Status`]; only the fields this adapter reads.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorDetail {
    /// E.g. `type.googleapis.com/google.rpc.ErrorInfo`.
    #[serde(rename = "@type", default)]
    pub kind: Option<String>,
    /// `ErrorInfo.reason`, e.g. `API_KEY_INVALID`.
    #[serde(default)]
    pub reason: Option<String>,
    /// `RetryInfo.retryDelay`, a protobuf `Duration` in JSON: decimal seconds with an `s`
    /// suffix, e.g. `7s` or `1.5s`.
    #[serde(default)]
    pub retry_delay: Option<String>,
}

/// The body of `models/{model}:batchEmbedContents`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchEmbedContentsRequest {
    /// One request per input, in order.
    pub requests: Vec<EmbedContentRequest>,
}

/// One embedding request of a batch.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EmbedContentRequest {
    /// `models/{model}`; must be the model of the URL.
    pub model: String,
    /// The text to embed, as one text part.
    pub content: Content,
    /// Truncates the vector to this many dimensions (newer models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_dimensionality: Option<u32>,
}

/// The reply of `batchEmbedContents`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct BatchEmbedContentsResponse {
    /// One embedding per request, in order.
    #[serde(default)]
    pub embeddings: Vec<ContentEmbedding>,
}

/// One embedding.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub(crate) struct ContentEmbedding {
    /// The vector.
    #[serde(default)]
    pub values: Vec<f32>,
}

/// One page of `GET models`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListModelsResponse {
    /// The models of this page.
    #[serde(default)]
    pub models: Vec<Model>,
    /// The token of the next page; absent or empty on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// One listed model.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Model {
    /// `models/{id}`, e.g. `models/gemini-1.5-flash`.
    pub name: String,
    /// A human name, e.g. `Gemini 1.5 Flash`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// E.g. `generateContent`, `countTokens`, `embedContent`.
    #[serde(default)]
    pub supported_generation_methods: Vec<String>,
}
