//! Pure conversions between the canonical chat types and the Gemini wire types, and the
//! mapping of Gemini's error bodies. No I/O.
//!
//! Sources: <https://ai.google.dev/api/generate-content>, <https://ai.google.dev/api/embeddings>,
//! <https://ai.google.dev/api/models>, <https://ai.google.dev/gemini-api/docs/troubleshooting>.
//!
//! Request mapping:
//! - `system` messages → `systemInstruction` (one text part per message);
//! - `user` → `user`, `assistant` → `model`; consecutive turns of one role are merged (Gemini
//!   wants the answers to parallel calls in one turn);
//! - images: a base64 `data:` URL → `inlineData`; an `http(s)` URL → `fileData` with the media
//!   type guessed from the file extension (left out when unknown);
//! - assistant `tool_calls` → `functionCall` parts (arguments must be a JSON object);
//! - `tool` messages → a `user` turn with a `functionResponse` part named after the assistant
//!   call with the same `tool_call_id`, `response` = `{"content": <the JSON or the text>}`;
//! - `response_format`: `json_object` → `responseMimeType: application/json`; `json_schema` →
//!   that plus `responseJsonSchema`;
//! - `tool_choice` auto/none/required/function → `AUTO`/`NONE`/`ANY`/`ANY` with
//!   `allowedFunctionNames` (sent only with tools);
//! - `user` and `extra` are not sent (Gemini has no such fields).
//!
//! Reply mapping: text parts (minus thought summaries) are the content; `functionCall` parts
//! become tool calls with generated ids; usage is `promptTokenCount` and
//! `candidatesTokenCount + thoughtsTokenCount`; `STOP` reads as `tool_calls` when the reply
//! called a function. A blocked prompt, or a reply stopped by a safety reason before any
//! output, is a `content_filtered` error.

use super::wire::{
    BatchEmbedContentsRequest, Blob, Candidate, Content, EmbedContentRequest, FileData,
    FunctionCall, FunctionCallingConfig, FunctionDeclaration, FunctionResponse,
    GenerateContentRequest, GenerateContentResponse, GenerationConfig, ListModelsResponse, Part,
    Status, Tool, ToolConfig, UsageMetadata,
};
use crate::ProviderError;
use crate::http::{ErrorHint, Op, from_response_parts, tool_call_id};
use aihub_domain::{
    ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChatRole, ContentPart, ErrorCode,
    FinishReason, ImagePart, MessageContent, ModelInfo, ResponseFormat, ToolCall, ToolCallDelta,
    ToolChoice, ToolDefinition, Usage,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// The longest `RetryInfo.retryDelay` taken as a retry hint (one day).
const MAX_RETRY_DELAY_SECS: f64 = 86_400.0;

fn validation(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorCode::ValidationError, message)
}

fn invalid_response(message: &str) -> ProviderError {
    ProviderError::new(ErrorCode::UpstreamInvalidResponse, message)
}

/// The error for a prompt Gemini refused to answer (`promptFeedback.blockReason`).
pub(crate) fn prompt_blocked() -> ProviderError {
    ProviderError::new(
        ErrorCode::ContentFiltered,
        "the vendor's safety filter blocked the prompt",
    )
}

/// The error for a reply stopped by a safety reason before it produced anything.
pub(crate) fn reply_blocked() -> ProviderError {
    ProviderError::new(
        ErrorCode::ContentFiltered,
        "the vendor's safety filter blocked the reply",
    )
}

/// The model id used in URL paths: `models/gemini-1.5-flash` and `gemini-1.5-flash` both give
/// `gemini-1.5-flash`.
///
/// # Errors
/// `validation_error` unless the id is 1–128 ASCII letters, digits, `-`, `_` or `.` (and not
/// `.` or `..`): the id is pasted into the URL path, so `/`, `?`, `#`, `%`, `:` and whitespace
/// are refused rather than encoded.
pub(crate) fn model_id(model: &str) -> Result<&str, ProviderError> {
    let id = model.strip_prefix("models/").unwrap_or(model);
    let valid = !id.is_empty()
        && id.len() <= 128
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if valid {
        Ok(id)
    } else {
        Err(validation(
            "model must be a Gemini model id such as `gemini-1.5-flash`",
        ))
    }
}

/// The `generateContent` body for `request` (the same body serves `streamGenerateContent`).
///
/// # Errors
/// `validation_error` when a tool call's arguments are not a JSON object, a `tool` message
/// answers no known call and has no `name`, an image URL is neither base64 `data:` nor
/// `http(s)`, or `seed` does not fit in 32 bits.
pub(crate) fn to_wire_request(
    request: &ChatRequest,
) -> Result<GenerateContentRequest, ProviderError> {
    let mut system = Vec::new();
    let mut contents: Vec<Content> = Vec::new();
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    for message in &request.messages {
        match message.role {
            ChatRole::System => {
                let text = message.text();
                if !text.is_empty() {
                    system.push(Part::text(text.into_owned()));
                }
            }
            ChatRole::User => push_turn(&mut contents, "user", content_parts(&message.content)?),
            ChatRole::Assistant => {
                let mut parts = content_parts(&message.content)?;
                for call in &message.tool_calls {
                    call_names.insert(call.id.as_str(), call.name.as_str());
                    parts.push(function_call_part(call)?);
                }
                push_turn(&mut contents, "model", parts);
            }
            ChatRole::Tool => {
                let part = function_response_part(message, &call_names)?;
                push_turn(&mut contents, "user", vec![part]);
            }
        }
    }
    let tools = tools(&request.tools);
    let tool_config = match (&request.tool_choice, tools.is_empty()) {
        (Some(choice), false) => Some(tool_config(choice)),
        _ => None,
    };
    let generation_config = generation_config(request)?;
    Ok(GenerateContentRequest {
        contents,
        system_instruction: (!system.is_empty()).then_some(Content {
            role: None,
            parts: system,
        }),
        generation_config: (!generation_config.is_empty()).then_some(generation_config),
        tools,
        tool_config,
    })
}

/// Appends `parts` as a turn of `role`, merged into the previous turn when it has the same
/// role. Empty turns are left out (Gemini refuses a turn without parts).
fn push_turn(contents: &mut Vec<Content>, role: &str, parts: Vec<Part>) {
    if parts.is_empty() {
        return;
    }
    match contents.last_mut() {
        Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
        _ => contents.push(Content {
            role: Some(role.to_owned()),
            parts,
        }),
    }
}

fn content_parts(content: &MessageContent) -> Result<Vec<Part>, ProviderError> {
    content
        .parts()
        .iter()
        .filter(|p| !matches!(p, ContentPart::Text(t) if t.is_empty()))
        .map(|p| match p {
            ContentPart::Text(t) => Ok(Part::text(t.clone())),
            ContentPart::Image(image) => image_part(image),
        })
        .collect()
}

fn image_part(image: &ImagePart) -> Result<Part, ProviderError> {
    if let Some((mime_type, data)) = image.as_base64() {
        return Ok(Part {
            inline_data: Some(Blob {
                mime_type: mime_type.to_owned(),
                data: data.to_owned(),
            }),
            ..Part::default()
        });
    }
    let lower = image
        .url
        .get(..8)
        .unwrap_or(&image.url)
        .to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return Ok(Part {
            file_data: Some(FileData {
                mime_type: guess_mime_type(&image.url).map(str::to_owned),
                file_uri: image.url.clone(),
            }),
            ..Part::default()
        });
    }
    Err(validation(
        "images must be base64 data: URLs or http(s) URLs",
    ))
}

/// The media type of a URL's file extension, for the types Gemini reads; `None` otherwise.
fn guess_mime_type(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let file = path.rsplit('/').next().unwrap_or(path);
    let (_, ext) = file.rsplit_once('.')?;
    Some(match ext.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

fn function_call_part(call: &ToolCall) -> Result<Part, ProviderError> {
    let args = if call.arguments.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str::<Value>(&call.arguments).map_err(|_| {
            validation("tool_calls[].arguments must be a JSON object (it is not valid JSON)")
        })?
    };
    if !args.is_object() {
        return Err(validation("tool_calls[].arguments must be a JSON object"));
    }
    Ok(Part {
        function_call: Some(FunctionCall {
            name: call.name.clone(),
            args: Some(args),
        }),
        ..Part::default()
    })
}

fn function_response_part(
    message: &ChatMessage,
    call_names: &HashMap<&str, &str>,
) -> Result<Part, ProviderError> {
    let name = message
        .tool_call_id
        .as_deref()
        .and_then(|id| call_names.get(id).copied())
        .or(message.name.as_deref())
        .ok_or_else(|| {
            validation("a tool message must answer an earlier assistant tool call (tool_call_id)")
        })?;
    let text = message.text();
    let content =
        serde_json::from_str::<Value>(&text).unwrap_or_else(|_| Value::String(text.into_owned()));
    Ok(Part {
        function_response: Some(FunctionResponse {
            name: name.to_owned(),
            response: json!({ "content": content }),
        }),
        ..Part::default()
    })
}

fn tools(definitions: &[ToolDefinition]) -> Vec<Tool> {
    if definitions.is_empty() {
        return Vec::new();
    }
    vec![Tool {
        function_declarations: definitions
            .iter()
            .map(|d| FunctionDeclaration {
                name: d.name.clone(),
                description: d.description.clone(),
                parameters: d.parameters.clone().map(openapi_schema),
            })
            .collect(),
    }]
}

/// JSON Schema keywords that Gemini's OpenAPI-subset `Schema` refuses ("Unknown name") and
/// that OpenAI-style tool definitions commonly carry.
const UNSUPPORTED_SCHEMA_KEYS: [&str; 5] = [
    "$schema",
    "$id",
    "$comment",
    "additionalProperties",
    "strict",
];

/// Removes [`UNSUPPORTED_SCHEMA_KEYS`] from a schema and its nested schemas (`properties.*`,
/// `items`, `anyOf[]`). Other JSON Schema features are passed as they are.
fn openapi_schema(mut schema: Value) -> Value {
    if let Value::Object(map) = &mut schema {
        for key in UNSUPPORTED_SCHEMA_KEYS {
            map.remove(key);
        }
        if let Some(Value::Object(props)) = map.get_mut("properties") {
            for value in props.values_mut() {
                *value = openapi_schema(value.take());
            }
        }
        if let Some(items) = map.get_mut("items") {
            *items = openapi_schema(items.take());
        }
        if let Some(Value::Array(any_of)) = map.get_mut("anyOf") {
            for value in any_of.iter_mut() {
                *value = openapi_schema(value.take());
            }
        }
    }
    schema
}

fn tool_config(choice: &ToolChoice) -> ToolConfig {
    let (mode, allowed) = match choice {
        ToolChoice::Auto => ("AUTO", Vec::new()),
        ToolChoice::None => ("NONE", Vec::new()),
        ToolChoice::Required => ("ANY", Vec::new()),
        ToolChoice::Function(name) => ("ANY", vec![name.clone()]),
    };
    ToolConfig {
        function_calling_config: FunctionCallingConfig {
            mode: mode.to_owned(),
            allowed_function_names: allowed,
        },
    }
}

fn generation_config(request: &ChatRequest) -> Result<GenerationConfig, ProviderError> {
    let seed = request
        .seed
        .map(|s| i32::try_from(s).map_err(|_| validation("seed must fit in 32 bits for Gemini")))
        .transpose()?;
    let (response_mime_type, response_json_schema) = match &request.response_format {
        None | Some(ResponseFormat::Text) => (None, None),
        Some(ResponseFormat::JsonObject) => (Some("application/json".to_owned()), None),
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            (Some("application/json".to_owned()), schema.clone())
        }
    };
    Ok(GenerationConfig {
        temperature: request.temperature,
        top_p: request.top_p,
        max_output_tokens: request.max_tokens,
        stop_sequences: request.stop.clone(),
        seed,
        response_mime_type,
        response_schema: None,
        response_json_schema,
    })
}

/// The canonical usage of Gemini's counts: thinking tokens are billed as output.
pub(crate) fn usage(meta: &UsageMetadata) -> Usage {
    Usage {
        prompt_tokens: meta.prompt_token_count.unwrap_or(0),
        completion_tokens: meta
            .candidates_token_count
            .unwrap_or(0)
            .saturating_add(meta.thoughts_token_count.unwrap_or(0)),
        estimated: false,
    }
}

/// Maps a `finishReason`. `STOP` reads as `tool_calls` when the reply called a function; the
/// safety family (`SAFETY`, `RECITATION`, `PROHIBITED_CONTENT`, `BLOCKLIST`, `SPII`,
/// `IMAGE_SAFETY`) is `content_filter`; anything else (`OTHER`, `MALFORMED_FUNCTION_CALL`,
/// unknown values) reads as `stop`.
pub(crate) fn finish_reason(reason: &str, called_tools: bool) -> FinishReason {
    match reason {
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "PROHIBITED_CONTENT" | "BLOCKLIST" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::ContentFilter
        }
        _ if called_tools => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// The reply text (thought summaries left out) and the calls of a candidate's parts.
fn read_parts(parts: &[Part]) -> (String, Vec<ToolCall>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in parts {
        if let Some(t) = &part.text
            && part.thought != Some(true)
        {
            text.push_str(t);
        }
        if let Some(call) = &part.function_call {
            calls.push(ToolCall {
                id: tool_call_id(),
                name: call.name.clone(),
                arguments: call.args.as_ref().unwrap_or(&json!({})).to_string(),
            });
        }
    }
    (text, calls)
}

fn first_candidate_parts(candidate: &Candidate) -> &[Part] {
    candidate
        .content
        .as_ref()
        .map_or(&[], |c| c.parts.as_slice())
}

fn is_blocked(response: &GenerateContentResponse) -> bool {
    response
        .prompt_feedback
        .as_ref()
        .and_then(|f| f.block_reason.as_deref())
        .is_some_and(|r| !r.is_empty())
}

/// The canonical reply of a `generateContent` answer; `requested_model` names the model when
/// the answer has no `modelVersion`.
///
/// # Errors
/// `content_filtered` when the prompt was blocked or the reply was stopped by a safety reason
/// before any output; `upstream_invalid_response` when there is no candidate.
pub(crate) fn from_wire_response(
    response: GenerateContentResponse,
    requested_model: &str,
) -> Result<ChatResponse, ProviderError> {
    if is_blocked(&response) {
        return Err(prompt_blocked());
    }
    let candidate = response
        .candidates
        .first()
        .ok_or_else(|| invalid_response("the upstream reply has no candidate"))?;
    let (content, tool_calls) = read_parts(first_candidate_parts(candidate));
    let finish = candidate
        .finish_reason
        .as_deref()
        .map(|r| finish_reason(r, !tool_calls.is_empty()));
    if finish == Some(FinishReason::ContentFilter) && content.is_empty() && tool_calls.is_empty() {
        return Err(reply_blocked());
    }
    Ok(ChatResponse {
        id: response.response_id,
        model: response
            .model_version
            .unwrap_or_else(|| requested_model.to_owned()),
        content,
        tool_calls,
        finish_reason: finish,
        usage: response.usage_metadata.as_ref().map(usage),
    })
}

/// What one streamed event produced.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct StreamStep {
    /// The chunk to yield, if the event carried anything.
    pub chunk: Option<ChatChunk>,
    /// The event ended the reply (a candidate had a `finishReason`): nothing more is read.
    pub finished: bool,
}

/// Turns the events of `streamGenerateContent?alt=sse` into canonical chunks.
///
/// Each event is a whole `GenerateContentResponse` holding the new text parts; its
/// `usageMetadata` is cumulative, so the last one seen is reported, on the chunk of the event
/// with a `finishReason` (the end marker: Gemini sends no `[DONE]`). A function call arrives
/// whole in one event and becomes one [`ToolCallDelta`] with id, name and all arguments.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    next_tool_index: u32,
    saw_output: bool,
    called_tools: bool,
    usage: Option<Usage>,
}

impl StreamState {
    /// Converts one event.
    ///
    /// # Errors
    /// The mapped error of an in-band `error` object; `content_filtered` when the prompt was
    /// blocked, or the reply finished for a safety reason before producing anything.
    pub(crate) fn on_event(
        &mut self,
        event: GenerateContentResponse,
    ) -> Result<StreamStep, ProviderError> {
        if let Some(status) = &event.error {
            return Err(map_status(status, status_code(status), None, Op::Chat));
        }
        if is_blocked(&event) {
            return Err(prompt_blocked());
        }
        if let Some(meta) = &event.usage_metadata {
            self.usage = Some(usage(meta));
        }
        let Some(candidate) = event.candidates.first() else {
            return Ok(StreamStep::default());
        };
        let (text, calls) = read_parts(first_candidate_parts(candidate));
        self.saw_output |= !text.is_empty() || !calls.is_empty();
        self.called_tools |= !calls.is_empty();
        let mut chunk = ChatChunk {
            delta: (!text.is_empty()).then_some(text),
            tool_calls: calls
                .into_iter()
                .map(|call| {
                    let index = self.next_tool_index;
                    self.next_tool_index = self.next_tool_index.saturating_add(1);
                    ToolCallDelta {
                        index,
                        id: Some(call.id),
                        name: Some(call.name),
                        arguments: Some(call.arguments),
                    }
                })
                .collect(),
            ..ChatChunk::default()
        };
        let mut finished = false;
        if let Some(reason) = candidate.finish_reason.as_deref() {
            let reason = finish_reason(reason, self.called_tools);
            if reason == FinishReason::ContentFilter && !self.saw_output {
                return Err(reply_blocked());
            }
            chunk.finish_reason = Some(reason);
            chunk.usage = self.usage;
            finished = true;
        }
        let empty = chunk == ChatChunk::default();
        Ok(StreamStep {
            chunk: (!empty).then_some(chunk),
            finished,
        })
    }
}

/// The HTTP status an error object stands for: its `code` when it is one, else the status
/// implied by its canonical name (`RESOURCE_EXHAUSTED` → 429, …).
fn status_code(status: &Status) -> u16 {
    if let Some(code) = status.code.filter(|c| (400..=599).contains(c)) {
        return code;
    }
    match status.status.as_deref().unwrap_or("") {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => 400,
        "UNAUTHENTICATED" => 401,
        "PERMISSION_DENIED" => 403,
        "NOT_FOUND" => 404,
        "RESOURCE_EXHAUSTED" => 429,
        "UNAVAILABLE" => 503,
        "DEADLINE_EXCEEDED" => 504,
        _ => 500,
    }
}

/// `RetryInfo.retryDelay` (`"7s"`, `"1.5s"`), rounded up to whole seconds.
fn retry_delay(status: &Status) -> Option<Duration> {
    let delay = status
        .details
        .iter()
        .find_map(|d| d.retry_delay.as_deref())?;
    let secs: f64 = delay.trim().strip_suffix('s')?.parse().ok()?;
    (secs.is_finite() && (0.0..=MAX_RETRY_DELAY_SECS).contains(&secs))
        .then(|| Duration::from_secs(secs.ceil() as u64))
}

/// Maps a failed response from its HTTP status, `Retry-After` and body (Gemini's
/// `{"error": {code, message, status, details}}`; anything else maps by status alone).
pub(crate) fn map_error(
    http_status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    op: Op,
) -> ProviderError {
    match serde_json::from_slice::<super::wire::ErrorBody>(body) {
        Ok(body) => map_status(&body.error, http_status, retry_after, op),
        Err(_) => from_response_parts(http_status, retry_after, ErrorHint::default(), op),
    }
}

/// Maps a `google.rpc.Status`:
/// - `ErrorInfo.reason` `API_KEY_INVALID` (a 400), `PERMISSION_DENIED` or `UNAUTHENTICATED`
///   → `provider_key_invalid`;
/// - `FAILED_PRECONDITION` whose message mentions billing → `upstream_billing`;
/// - `INVALID_ARGUMENT` whose message says the input "exceeds the maximum number of tokens" →
///   `context_length_exceeded`;
/// - 429 → `upstream_rate_limited` with `Retry-After`, or `RetryInfo.retryDelay` when the header
///   is absent;
/// - otherwise by status ([`crate::http::from_status`]), an unspecific 4xx naming the reason or
///   canonical status as its code.
///
/// The message is read but never copied into the error.
pub(crate) fn map_status(
    status: &Status,
    http_status: u16,
    retry_after: Option<Duration>,
    op: Op,
) -> ProviderError {
    let reason = status.details.iter().find_map(|d| d.reason.as_deref());
    let canonical = status.status.as_deref().unwrap_or("");
    let message = status.message.as_deref().unwrap_or("").to_ascii_lowercase();
    let hint = ErrorHint {
        key_invalid: matches!(reason, Some("API_KEY_INVALID"))
            || matches!(canonical, "PERMISSION_DENIED" | "UNAUTHENTICATED"),
        billing: canonical == "FAILED_PRECONDITION" && message.contains("billing"),
        context_length: canonical == "INVALID_ARGUMENT"
            && message.contains("exceeds the maximum number of tokens"),
        code: reason.or(status.status.as_deref()),
    };
    let retry_after = retry_after.or_else(|| retry_delay(status));
    from_response_parts(http_status, retry_after, hint, op)
}

/// The `batchEmbedContents` body embedding `inputs` with `model` (a bare id).
pub(crate) fn embed_request(
    model: &str,
    inputs: &[String],
    dimensions: Option<u32>,
) -> BatchEmbedContentsRequest {
    BatchEmbedContentsRequest {
        requests: inputs
            .iter()
            .map(|text| EmbedContentRequest {
                model: format!("models/{model}"),
                content: Content {
                    role: None,
                    parts: vec![Part::text(text.clone())],
                },
                output_dimensionality: dimensions,
            })
            .collect(),
    }
}

/// Gemini's embeddings report no usage: prompt tokens are estimated as `ceil(chars / 4)` per
/// input (the usual four characters per token of English text), marked `estimated`.
pub(crate) fn estimated_embedding_usage(inputs: &[String]) -> Usage {
    let tokens: u64 = inputs
        .iter()
        .map(|t| (t.chars().count() as u64).div_ceil(4))
        .sum();
    Usage {
        prompt_tokens: u32::try_from(tokens).unwrap_or(u32::MAX),
        completion_tokens: 0,
        estimated: true,
    }
}

/// The models of one `GET models` page: ids without `models/`, owned by `google`.
pub(crate) fn models(page: ListModelsResponse) -> Vec<ModelInfo> {
    page.models
        .into_iter()
        .map(|m| ModelInfo {
            id: m.name.strip_prefix("models/").unwrap_or(&m.name).to_owned(),
            owned_by: Some("google".to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests;
