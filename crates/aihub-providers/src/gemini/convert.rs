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
mod tests {
    use super::*;
    use crate::gemini::wire::ErrorBody;

    fn response(fixture: &str) -> GenerateContentResponse {
        serde_json::from_str(fixture).expect("fixture parses")
    }

    fn msg(role: ChatRole, text: &str) -> ChatMessage {
        ChatMessage::new(role, text)
    }

    /// A `generateContent` answer as documented (ai.google.dev/api/generate-content).
    const TEXT_REPLY: &str = r#"{
      "candidates": [{
        "content": {"parts": [{"text": "Hello! How can I help?"}], "role": "model"},
        "finishReason": "STOP",
        "index": 0,
        "safetyRatings": [
          {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
          {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"}
        ]
      }],
      "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 7, "totalTokenCount": 16},
      "modelVersion": "gemini-1.5-flash-002",
      "responseId": "mJ8aZ-abc"
    }"#;

    #[test]
    fn text_reply_maps_content_finish_usage_and_ids() {
        let reply = from_wire_response(response(TEXT_REPLY), "gemini-1.5-flash").expect("ok");
        assert_eq!(reply.content, "Hello! How can I help?");
        assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
        assert_eq!(reply.model, "gemini-1.5-flash-002");
        assert_eq!(reply.id.as_deref(), Some("mJ8aZ-abc"));
        assert_eq!(
            reply.usage,
            Some(Usage {
                prompt_tokens: 9,
                completion_tokens: 7,
                estimated: false
            })
        );
        assert!(reply.tool_calls.is_empty());
    }

    #[test]
    fn thinking_tokens_count_as_completion_and_thoughts_are_not_text() {
        let fixture = r#"{
          "candidates": [{"content": {"role": "model", "parts": [
            {"text": "Let me think...", "thought": true},
            {"text": "42"}
          ]}, "finishReason": "STOP"}],
          "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2,
                            "thoughtsTokenCount": 30, "totalTokenCount": 37}
        }"#;
        let reply = from_wire_response(response(fixture), "gemini-2.5-flash").expect("ok");
        assert_eq!(reply.content, "42");
        assert_eq!(reply.model, "gemini-2.5-flash");
        assert_eq!(reply.usage.map(|u| u.completion_tokens), Some(32));
    }

    #[test]
    fn function_call_reply_gets_generated_ids_and_tool_calls_finish() {
        let fixture = r#"{
          "candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}},
            {"functionCall": {"name": "get_time"}}
          ]}, "finishReason": "STOP", "index": 0}],
          "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 10, "totalTokenCount": 30}
        }"#;
        let reply = from_wire_response(response(fixture), "m").expect("ok");
        assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(reply.tool_calls.len(), 2);
        assert_eq!(reply.tool_calls[0].name, "get_weather");
        assert_eq!(reply.tool_calls[0].arguments, r#"{"location":"Paris"}"#);
        assert_eq!(reply.tool_calls[1].arguments, "{}");
        assert!(reply.tool_calls[0].id.starts_with("call_"));
        assert_ne!(reply.tool_calls[0].id, reply.tool_calls[1].id);
    }

    /// A blocked prompt as documented: `promptFeedback.blockReason`, no candidates.
    const PROMPT_BLOCKED: &str = r#"{
      "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
      ]},
      "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
      "modelVersion": "gemini-1.5-flash"
    }"#;

    #[test]
    fn safety_blocks_are_content_filtered() {
        let e = from_wire_response(response(PROMPT_BLOCKED), "m").expect_err("blocked");
        assert_eq!(e.code, ErrorCode::ContentFiltered);
        assert_eq!(e.message, "the vendor's safety filter blocked the prompt");

        let no_text = r#"{"candidates": [{"finishReason": "SAFETY", "index": 0,
          "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": true}]}]}"#;
        let e = from_wire_response(response(no_text), "m").expect_err("blocked");
        assert_eq!(e.code, ErrorCode::ContentFiltered);

        let partial = r#"{"candidates": [{"content": {"role": "model", "parts": [{"text": "Once"}]},
          "finishReason": "RECITATION"}]}"#;
        let reply = from_wire_response(response(partial), "m").expect("partial text is kept");
        assert_eq!(reply.content, "Once");
        assert_eq!(reply.finish_reason, Some(FinishReason::ContentFilter));

        let e = from_wire_response(response("{}"), "m").expect_err("no candidate");
        assert_eq!(e.code, ErrorCode::UpstreamInvalidResponse);
    }

    #[test]
    fn finish_reasons_map() {
        let cases = [
            ("STOP", false, FinishReason::Stop),
            ("STOP", true, FinishReason::ToolCalls),
            ("MAX_TOKENS", false, FinishReason::Length),
            ("MAX_TOKENS", true, FinishReason::Length),
            ("SAFETY", false, FinishReason::ContentFilter),
            ("RECITATION", false, FinishReason::ContentFilter),
            ("PROHIBITED_CONTENT", false, FinishReason::ContentFilter),
            ("BLOCKLIST", false, FinishReason::ContentFilter),
            ("SPII", false, FinishReason::ContentFilter),
            ("MALFORMED_FUNCTION_CALL", false, FinishReason::Stop),
            ("OTHER", false, FinishReason::Stop),
        ];
        for (wire, tools, want) in cases {
            assert_eq!(finish_reason(wire, tools), want, "{wire} {tools}");
        }
    }

    #[test]
    fn request_maps_system_roles_images_tools_and_config() {
        let mut assistant = msg(ChatRole::Assistant, "Let me check.");
        assistant.tool_calls = vec![
            ToolCall {
                id: "call_1".into(),
                name: "get_weather".into(),
                arguments: r#"{"location":"Paris"}"#.into(),
            },
            ToolCall {
                id: "call_2".into(),
                name: "get_time".into(),
                arguments: String::new(),
            },
        ];
        let mut tool1 = msg(ChatRole::Tool, r#"{"temp_c": 21}"#);
        tool1.tool_call_id = Some("call_1".into());
        let mut tool2 = msg(ChatRole::Tool, "noon");
        tool2.tool_call_id = Some("call_2".into());
        let request = ChatRequest {
            model: "gemini-1.5-flash".into(),
            messages: vec![
                msg(ChatRole::System, "Be brief."),
                ChatMessage {
                    role: ChatRole::User,
                    content: MessageContent::Parts(vec![
                        ContentPart::Text("What is in these?".into()),
                        ContentPart::Image(ImagePart::from_base64("image/png", "iVBORw0KGgo=")),
                        ContentPart::Image(ImagePart {
                            url: "https://example.com/cat.JPG?size=large".into(),
                            detail: Some("high".into()),
                        }),
                        ContentPart::Image(ImagePart {
                            url: "https://example.com/picture".into(),
                            detail: None,
                        }),
                    ]),
                    ..ChatMessage::default()
                },
                msg(ChatRole::User, "And the weather?"),
                assistant,
                tool1,
                tool2,
                msg(ChatRole::System, "Answer in French."),
            ],
            max_tokens: Some(64),
            temperature: Some(0.5),
            top_p: Some(0.9),
            stop: vec!["END".into()],
            seed: Some(7),
            tools: vec![ToolDefinition {
                name: "get_weather".into(),
                description: Some("Weather of a city".into()),
                parameters: Some(json!({
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "properties": {
                        "location": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "object", "additionalProperties": false}}
                    },
                    "required": ["location"],
                    "additionalProperties": false
                })),
                strict: Some(true),
            }],
            tool_choice: Some(ToolChoice::Function("get_weather".into())),
            response_format: Some(ResponseFormat::JsonObject),
            user: Some("user-1".into()),
            ..ChatRequest::default()
        };
        let wire =
            serde_json::to_value(to_wire_request(&request).expect("converts")).expect("json");
        assert_eq!(
            wire,
            json!({
                "contents": [
                    {"role": "user", "parts": [
                        {"text": "What is in these?"},
                        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.JPG?size=large"}},
                        {"fileData": {"fileUri": "https://example.com/picture"}},
                        {"text": "And the weather?"}
                    ]},
                    {"role": "model", "parts": [
                        {"text": "Let me check."},
                        {"functionCall": {"name": "get_weather", "args": {"location": "Paris"}}},
                        {"functionCall": {"name": "get_time", "args": {}}}
                    ]},
                    {"role": "user", "parts": [
                        {"functionResponse": {"name": "get_weather", "response": {"content": {"temp_c": 21}}}},
                        {"functionResponse": {"name": "get_time", "response": {"content": "noon"}}}
                    ]}
                ],
                "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Answer in French."}]},
                "generationConfig": {
                    "temperature": 0.5,
                    "topP": 0.9,
                    "maxOutputTokens": 64,
                    "stopSequences": ["END"],
                    "seed": 7,
                    "responseMimeType": "application/json"
                },
                "tools": [{"functionDeclarations": [{
                    "name": "get_weather",
                    "description": "Weather of a city",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "location": {"type": "string"},
                            "tags": {"type": "array", "items": {"type": "object"}}
                        },
                        "required": ["location"]
                    }
                }]}],
                "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
            })
        );
    }

    #[test]
    fn a_bare_request_has_only_contents() {
        let request = ChatRequest {
            model: "m".into(),
            messages: vec![msg(ChatRole::User, "Hi")],
            tool_choice: Some(ToolChoice::Auto),
            ..ChatRequest::default()
        };
        let wire =
            serde_json::to_value(to_wire_request(&request).expect("converts")).expect("json");
        assert_eq!(
            wire,
            json!({"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]})
        );
    }

    #[test]
    fn json_schema_and_tool_choices_map() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": false});
        let request = ChatRequest {
            messages: vec![msg(ChatRole::User, "Hi")],
            response_format: Some(ResponseFormat::JsonSchema {
                name: "thing".into(),
                description: None,
                schema: Some(schema.clone()),
                strict: Some(true),
            }),
            ..ChatRequest::default()
        };
        let wire = to_wire_request(&request).expect("converts");
        let config = wire.generation_config.expect("config");
        assert_eq!(
            config.response_mime_type.as_deref(),
            Some("application/json")
        );
        // responseJsonSchema takes full JSON Schema: nothing is stripped.
        assert_eq!(config.response_json_schema, Some(schema));

        for (choice, mode) in [
            (ToolChoice::Auto, "AUTO"),
            (ToolChoice::None, "NONE"),
            (ToolChoice::Required, "ANY"),
        ] {
            let config = tool_config(&choice);
            assert_eq!(config.function_calling_config.mode, mode);
            assert!(
                config
                    .function_calling_config
                    .allowed_function_names
                    .is_empty()
            );
        }
    }

    #[test]
    fn invalid_requests_are_validation_errors() {
        let mut assistant = msg(ChatRole::Assistant, "");
        assistant.tool_calls = vec![ToolCall {
            id: "c".into(),
            name: "f".into(),
            arguments: "{not json".into(),
        }];
        let bad_args = ChatRequest {
            messages: vec![msg(ChatRole::User, "Hi"), assistant.clone()],
            ..ChatRequest::default()
        };
        assistant.tool_calls[0].arguments = "[1, 2]".into();
        let array_args = ChatRequest {
            messages: vec![assistant],
            ..ChatRequest::default()
        };
        let mut orphan = msg(ChatRole::Tool, "42");
        orphan.tool_call_id = Some("nobody".into());
        let orphan = ChatRequest {
            messages: vec![orphan],
            ..ChatRequest::default()
        };
        let ftp_image = ChatRequest {
            messages: vec![ChatMessage {
                content: MessageContent::Parts(vec![ContentPart::Image(ImagePart {
                    url: "ftp://example.com/a.png".into(),
                    detail: None,
                })]),
                ..ChatMessage::default()
            }],
            ..ChatRequest::default()
        };
        let big_seed = ChatRequest {
            messages: vec![msg(ChatRole::User, "Hi")],
            seed: Some(i64::MAX),
            ..ChatRequest::default()
        };
        for request in [bad_args, array_args, orphan, ftp_image, big_seed] {
            let e = to_wire_request(&request).expect_err("invalid");
            assert_eq!(e.code, ErrorCode::ValidationError, "{request:?}");
        }
    }

    #[test]
    fn a_tool_message_may_name_its_function() {
        let mut tool = msg(ChatRole::Tool, "sunny");
        tool.tool_call_id = Some("from-another-turn".into());
        tool.name = Some("get_weather".into());
        let request = ChatRequest {
            messages: vec![tool],
            ..ChatRequest::default()
        };
        let wire = to_wire_request(&request).expect("converts");
        let part = &wire.contents[0].parts[0];
        assert_eq!(
            part.function_response.as_ref().map(|r| r.name.as_str()),
            Some("get_weather")
        );
    }

    #[test]
    fn model_ids_are_normalised_and_checked() {
        assert_eq!(model_id("gemini-1.5-flash").ok(), Some("gemini-1.5-flash"));
        assert_eq!(
            model_id("models/gemini-1.5-flash").ok(),
            Some("gemini-1.5-flash")
        );
        assert_eq!(
            model_id("gemini-2.5-flash-preview-05-20").ok(),
            Some("gemini-2.5-flash-preview-05-20")
        );
        for bad in [
            "",
            "models/",
            "..",
            "../../v1/files",
            "models/../x",
            "a/b",
            "gemini?key=x",
            "gemini#frag",
            "gemini flash",
            " gemini",
            "gemini\n",
            "gemini%2F",
            "gemini:generateContent",
        ] {
            let e = model_id(bad).expect_err(bad);
            assert_eq!(e.code, ErrorCode::ValidationError, "{bad:?}");
        }
    }

    fn events(
        state: &mut StreamState,
        fixtures: &[&str],
    ) -> Vec<Result<StreamStep, ProviderError>> {
        fixtures
            .iter()
            .map(|f| state.on_event(response(f)))
            .collect()
    }

    #[test]
    fn stream_events_give_deltas_then_finish_with_the_last_usage() {
        let mut state = StreamState::default();
        let steps = events(
            &mut state,
            &[
                r#"{"candidates": [{"content": {"parts": [{"text": "Hello"}], "role": "model"}, "index": 0}],
                   "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 1, "totalTokenCount": 10},
                   "modelVersion": "gemini-1.5-flash"}"#,
                r#"{"usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9}}"#,
                r#"{"candidates": [{"content": {"parts": [{"text": " world"}], "role": "model"},
                   "finishReason": "STOP", "index": 0}],
                   "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 7, "totalTokenCount": 16}}"#,
            ],
        );
        let steps: Vec<StreamStep> = steps.into_iter().collect::<Result<_, _>>().expect("ok");
        assert_eq!(
            steps[0].chunk.as_ref().and_then(|c| c.delta.as_deref()),
            Some("Hello")
        );
        assert!(!steps[0].finished);
        assert_eq!(steps[0].chunk.as_ref().and_then(|c| c.usage), None);
        assert_eq!(steps[1], StreamStep::default());
        let last = steps[2].chunk.as_ref().expect("chunk");
        assert!(steps[2].finished);
        assert_eq!(last.delta.as_deref(), Some(" world"));
        assert_eq!(last.finish_reason, Some(FinishReason::Stop));
        assert_eq!(
            last.usage,
            Some(Usage {
                prompt_tokens: 9,
                completion_tokens: 7,
                estimated: false
            })
        );
    }

    #[test]
    fn streamed_function_calls_are_whole_deltas_with_counted_indexes() {
        let mut state = StreamState::default();
        let steps = events(
            &mut state,
            &[
                r#"{"candidates": [{"content": {"parts": [{"functionCall": {"name": "a", "args": {"x": 1}}}], "role": "model"}}]}"#,
                r#"{"candidates": [{"content": {"parts": [{"functionCall": {"name": "b", "args": {}}}], "role": "model"},
                   "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4}}"#,
            ],
        );
        let steps: Vec<StreamStep> = steps.into_iter().collect::<Result<_, _>>().expect("ok");
        let first = &steps[0].chunk.as_ref().expect("chunk").tool_calls[0];
        assert_eq!(first.index, 0);
        assert_eq!(first.name.as_deref(), Some("a"));
        assert_eq!(first.arguments.as_deref(), Some(r#"{"x":1}"#));
        assert!(
            first
                .id
                .as_deref()
                .is_some_and(|id| id.starts_with("call_"))
        );
        let last = steps[1].chunk.as_ref().expect("chunk");
        assert_eq!(last.tool_calls[0].index, 1);
        assert_eq!(last.finish_reason, Some(FinishReason::ToolCalls));
    }

    #[test]
    fn stream_safety_stops_are_a_finish_after_text_and_an_error_before() {
        let safety = r#"{"candidates": [{"finishReason": "SAFETY", "index": 0,
            "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true}]}]}"#;
        let mut state = StreamState::default();
        let steps = events(
            &mut state,
            &[
                r#"{"candidates": [{"content": {"parts": [{"text": "Step 1"}], "role": "model"}}]}"#,
                safety,
            ],
        );
        let last = steps[1].as_ref().expect("finish chunk");
        assert!(last.finished);
        assert_eq!(
            last.chunk.as_ref().and_then(|c| c.finish_reason),
            Some(FinishReason::ContentFilter)
        );

        let e = StreamState::default()
            .on_event(response(safety))
            .expect_err("blocked");
        assert_eq!(e.code, ErrorCode::ContentFiltered);
        let e = StreamState::default()
            .on_event(response(PROMPT_BLOCKED))
            .expect_err("blocked");
        assert_eq!(e.message, "the vendor's safety filter blocked the prompt");
    }

    #[test]
    fn in_band_stream_errors_are_mapped() {
        let e = StreamState::default()
            .on_event(response(
                r#"{"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}}"#,
            ))
            .expect_err("error");
        assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
        assert!(!e.message.contains("overloaded"), "{}", e.message);
        let e = StreamState::default()
            .on_event(response(r#"{"error": {"status": "RESOURCE_EXHAUSTED", "message": "quota",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}]}}"#))
            .expect_err("error");
        assert_eq!(e.code, ErrorCode::UpstreamRateLimited);
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
    }

    /// Error bodies as Google documents them (google.rpc.Status).
    const KEY_INVALID: &str = r#"{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
      "status": "INVALID_ARGUMENT", "details": [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
         "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}},
        {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
         "message": "API key not valid. Please pass a valid API key."}]}}"#;
    const RATE_LIMITED: &str = r#"{"error": {"code": 429, "message": "You exceeded your current quota, please check your plan and billing details.",
      "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "6.2s"}]}}"#;
    const TOO_MANY_TOKENS: &str = r#"{"error": {"code": 400, "message": "The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).", "status": "INVALID_ARGUMENT"}}"#;
    const BILLING: &str = r#"{"error": {"code": 400, "message": "Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.", "status": "FAILED_PRECONDITION"}}"#;
    const NOT_FOUND: &str = r#"{"error": {"code": 404, "message": "models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.", "status": "NOT_FOUND"}}"#;
    const PERMISSION: &str = r#"{"error": {"code": 403, "message": "Method doesn't allow unregistered callers.", "status": "PERMISSION_DENIED"}}"#;
    const INTERNAL: &str = r#"{"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}}"#;
    const UNAVAILABLE: &str = r#"{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}"#;
    const DEADLINE: &str = r#"{"error": {"code": 504, "message": "Deadline expired before operation could complete.", "status": "DEADLINE_EXCEEDED"}}"#;
    const BAD_ARGUMENT: &str = r#"{"error": {"code": 400, "message": "* GenerateContentRequest.contents: contents is not specified", "status": "INVALID_ARGUMENT"}}"#;

    #[test]
    fn error_bodies_map_to_codes_without_upstream_text() {
        let cases = [
            (400, KEY_INVALID, Op::Chat, ErrorCode::ProviderKeyInvalid),
            (403, PERMISSION, Op::Chat, ErrorCode::ProviderKeyInvalid),
            (429, RATE_LIMITED, Op::Chat, ErrorCode::UpstreamRateLimited),
            (
                400,
                TOO_MANY_TOKENS,
                Op::Chat,
                ErrorCode::ContextLengthExceeded,
            ),
            (400, BILLING, Op::Chat, ErrorCode::UpstreamBilling),
            (404, NOT_FOUND, Op::Chat, ErrorCode::ModelNotFound),
            (404, NOT_FOUND, Op::Embeddings, ErrorCode::ModelNotFound),
            (404, NOT_FOUND, Op::Models, ErrorCode::UpstreamUnavailable),
            (500, INTERNAL, Op::Chat, ErrorCode::UpstreamUnavailable),
            (503, UNAVAILABLE, Op::Chat, ErrorCode::UpstreamUnavailable),
            (504, DEADLINE, Op::Chat, ErrorCode::UpstreamTimeout),
            (400, BAD_ARGUMENT, Op::Chat, ErrorCode::UpstreamBadRequest),
            (
                502,
                "<html>bad gateway</html>",
                Op::Chat,
                ErrorCode::UpstreamUnavailable,
            ),
        ];
        for (status, body, op, code) in cases {
            let e = map_error(status, None, body.as_bytes(), op);
            assert_eq!(e.code, code, "{status} {body}");
            assert_eq!(e.status, Some(status));
            if let Ok(parsed) = serde_json::from_str::<ErrorBody>(body) {
                let message = parsed.error.message.unwrap_or_default();
                assert!(!e.message.contains(&message), "{}", e.message);
            }
            assert!(!e.message.contains("Gemini API"), "{}", e.message);
        }
        let e = map_error(400, None, BAD_ARGUMENT.as_bytes(), Op::Chat);
        assert_eq!(
            e.message,
            "the upstream refused the request as invalid (code: INVALID_ARGUMENT)"
        );
    }

    #[test]
    fn retry_after_prefers_the_header_then_retry_info() {
        let e = map_error(429, None, RATE_LIMITED.as_bytes(), Op::Chat);
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        let e = map_error(
            429,
            Some(Duration::from_secs(30)),
            RATE_LIMITED.as_bytes(),
            Op::Chat,
        );
        assert_eq!(e.retry_after, Some(Duration::from_secs(30)));
        let e = map_error(
            500,
            Some(Duration::from_secs(30)),
            INTERNAL.as_bytes(),
            Op::Chat,
        );
        assert_eq!(e.retry_after, None);
        for bad in ["-1s", "1e300s", "NaNs", "7", "s"] {
            let status = Status {
                details: vec![super::super::wire::ErrorDetail {
                    retry_delay: Some(bad.into()),
                    ..Default::default()
                }],
                ..Status::default()
            };
            assert_eq!(retry_delay(&status), None, "{bad}");
        }
    }

    #[test]
    fn embeddings_request_and_estimated_usage() {
        let inputs = vec!["hello".to_owned(), "héllo wörld!".to_owned(), String::new()];
        let body = serde_json::to_value(embed_request("text-embedding-004", &inputs, Some(256)))
            .expect("json");
        assert_eq!(
            body["requests"][0],
            json!({"model": "models/text-embedding-004", "content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 256})
        );
        assert_eq!(body["requests"].as_array().map(Vec::len), Some(3));
        let without = serde_json::to_value(embed_request("m", &inputs[..1], None)).expect("json");
        assert!(without["requests"][0].get("outputDimensionality").is_none());
        // 5 chars → 2, 12 chars → 3, 0 → 0.
        assert_eq!(
            estimated_embedding_usage(&inputs),
            Usage {
                prompt_tokens: 5,
                completion_tokens: 0,
                estimated: true
            }
        );
    }

    #[test]
    fn listed_models_lose_their_prefix() {
        let page: ListModelsResponse = serde_json::from_str(
            r#"{"models": [
              {"name": "models/gemini-1.5-flash", "version": "001", "displayName": "Gemini 1.5 Flash",
               "inputTokenLimit": 1000000, "outputTokenLimit": 8192,
               "supportedGenerationMethods": ["generateContent", "countTokens"]},
              {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]}
            ], "nextPageToken": "Ch9tb2RlbHM"}"#,
        )
        .expect("parses");
        assert_eq!(page.next_page_token.as_deref(), Some("Ch9tb2RlbHM"));
        let models = models(page);
        assert_eq!(models[0].id, "gemini-1.5-flash");
        assert_eq!(models[1].id, "text-embedding-004");
        assert_eq!(models[0].owned_by.as_deref(), Some("google"));
    }
}
