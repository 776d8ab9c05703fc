//! Pure conversions between AI Hub's canonical chat types and Anthropic's Messages API
//! (<https://docs.anthropic.com/en/api/messages>): the request, the reply, stream events, error
//! bodies and the model list. No I/O.
//!
//! Where the two differ:
//! - system messages (wherever they are) are joined with a blank line into the top-level
//!   `system` string, since Anthropic has no `system` role;
//! - consecutive turns of the same role are merged into one turn of several blocks (Anthropic
//!   wants `user` and `assistant` to alternate), and `tool` messages become `user` turns holding
//!   a `tool_result` block, so parallel tool results share one turn as Anthropic requires;
//! - `max_tokens` is required by Anthropic: [`DEFAULT_MAX_TOKENS`] when the request sets none;
//! - `response_format` has no Anthropic field: JSON output is asked for by an instruction
//!   appended to the system prompt (see [`json_instruction`]);
//! - `seed`, message `name`, tool `strict` and `extra` have no Anthropic equivalent and are
//!   not sent.

use super::wire::{
    BlockDelta, Content, ErrorBody, ErrorDetail, ImageSource, Message, MessagesRequest,
    MessagesResponse, Metadata, ModelList, RequestBlock, ResponseBlock, Role, StreamEvent, Tool,
    ToolChoice as WireToolChoice, WireUsage,
};
use crate::ProviderError;
use crate::http::{self, ErrorHint, Op};
use aihub_domain::{
    ChatChunk, ChatRequest, ChatResponse, ChatRole, ContentPart, ErrorCode, FinishReason,
    ImagePart, MessageContent, ModelInfo, ResponseFormat, ToolCall, ToolCallDelta, ToolChoice,
    Usage,
};
use serde_json::{Value, json};

/// `max_tokens` sent when the request sets none. Anthropic requires the field; 4096 is the
/// largest output every current Claude model accepts (Claude 3 Haiku's cap), so the default
/// never makes a request invalid.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The vendor name used in error messages.
const VENDOR: &str = "Anthropic";

/// Converts a canonical request into a Messages API body; `stream` sets `"stream": true`.
///
/// # Errors
/// `validation_error` when an assistant tool call's `arguments` is not a JSON object, a `tool`
/// message has no `tool_call_id`, or an image URL is neither `https://` nor a base64 `data:`
/// URL. The messages name the offending position (`messages[2].tool_calls[0]`), never its
/// content.
pub(crate) fn to_wire_request(
    request: &ChatRequest,
    stream: bool,
) -> Result<MessagesRequest, ProviderError> {
    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<(Role, Vec<RequestBlock>)> = Vec::new();
    for (i, message) in request.messages.iter().enumerate() {
        match message.role {
            ChatRole::System => {
                let text = message.text();
                if !text.is_empty() {
                    system.push(text.into_owned());
                }
            }
            ChatRole::User => push_turn(&mut turns, Role::User, blocks(&message.content, i)?),
            ChatRole::Assistant => {
                let mut out = blocks(&message.content, i)?;
                for (j, call) in message.tool_calls.iter().enumerate() {
                    out.push(RequestBlock::ToolUse {
                        id: call.id.clone(),
                        name: call.name.clone(),
                        input: arguments(&call.arguments, i, j)?,
                    });
                }
                push_turn(&mut turns, Role::Assistant, out);
            }
            ChatRole::Tool => {
                let tool_use_id = message.tool_call_id.clone().ok_or_else(|| {
                    validation(format!("messages[{i}]: a tool message needs tool_call_id"))
                })?;
                let result = RequestBlock::ToolResult {
                    tool_use_id,
                    content: tool_result_content(&message.content, i)?,
                };
                push_turn(&mut turns, Role::User, vec![result]);
            }
        }
    }
    if let Some(instruction) = request.response_format.as_ref().and_then(json_instruction) {
        system.push(instruction);
    }
    let tools: Vec<Tool> = request
        .tools
        .iter()
        .map(|t| Tool {
            name: t.name.clone(),
            description: t.description.clone(),
            input_schema: t
                .parameters
                .clone()
                .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
        })
        .collect();
    // Anthropic refuses `tool_choice` without `tools`; with no tools there is nothing to choose.
    let tool_choice = match (&request.tool_choice, tools.is_empty()) {
        (Some(choice), false) => Some(match choice {
            ToolChoice::Auto => WireToolChoice::Auto,
            ToolChoice::None => WireToolChoice::None,
            ToolChoice::Required => WireToolChoice::Any,
            ToolChoice::Function(name) => WireToolChoice::Tool { name: name.clone() },
        }),
        _ => None,
    };
    Ok(MessagesRequest {
        model: request.model.clone(),
        messages: turns
            .into_iter()
            .map(|(role, blocks)| Message {
                role,
                content: compact(blocks),
            })
            .collect(),
        system: (!system.is_empty()).then(|| system.join("\n\n")),
        max_tokens: request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        temperature: request.temperature,
        top_p: request.top_p,
        stop_sequences: request.stop.clone(),
        tools,
        tool_choice,
        metadata: request
            .user
            .as_ref()
            .filter(|u| !u.is_empty())
            .map(|u| Metadata { user_id: u.clone() }),
        stream,
    })
}

/// The system-prompt instruction standing in for `response_format`, which Anthropic lacks:
/// `None` for free text; for `json_object` a request for one JSON object and nothing else; for
/// `json_schema` the same plus the schema's name, description and compact JSON Schema. The
/// model usually complies but nothing enforces it (unlike OpenAI's structured outputs).
pub(crate) fn json_instruction(format: &ResponseFormat) -> Option<String> {
    match format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(
            "Respond with a single valid JSON object only: no prose, no Markdown code fences."
                .to_owned(),
        ),
        ResponseFormat::JsonSchema {
            name,
            description,
            schema,
            ..
        } => {
            let mut text = format!(
                "Respond with a single valid JSON value only (no prose, no Markdown code fences) \
                 that conforms to the JSON Schema named \"{name}\""
            );
            if let Some(description) = description.as_deref().filter(|d| !d.is_empty()) {
                text.push_str(&format!(" ({description})"));
            }
            match schema {
                Some(schema) => text.push_str(&format!(": {schema}")),
                None => text.push('.'),
            }
            Some(text)
        }
    }
}

fn validation(message: String) -> ProviderError {
    ProviderError::new(ErrorCode::ValidationError, message)
}

/// Appends `blocks` as a turn, merged into the previous turn when it has the same role.
/// A turn without blocks is dropped (Anthropic refuses empty content).
fn push_turn(turns: &mut Vec<(Role, Vec<RequestBlock>)>, role: Role, blocks: Vec<RequestBlock>) {
    if blocks.is_empty() {
        return;
    }
    match turns.last_mut() {
        Some((last, existing)) if *last == role => existing.extend(blocks),
        _ => turns.push((role, blocks)),
    }
}

/// One text block travels as a plain string (the documented shorthand); anything else as
/// blocks.
fn compact(mut blocks: Vec<RequestBlock>) -> Content {
    if let [RequestBlock::Text { text }] = blocks.as_mut_slice() {
        return Content::Text(std::mem::take(text));
    }
    Content::Blocks(blocks)
}

/// The text and image blocks of message `i`; empty text is skipped.
fn blocks(content: &MessageContent, i: usize) -> Result<Vec<RequestBlock>, ProviderError> {
    let mut out = Vec::new();
    for part in content.parts().iter() {
        match part {
            ContentPart::Text(text) if text.is_empty() => {}
            ContentPart::Text(text) => out.push(RequestBlock::Text { text: text.clone() }),
            ContentPart::Image(image) => out.push(RequestBlock::Image {
                source: image_source(image, i)?,
            }),
        }
    }
    Ok(out)
}

/// A base64 `data:` URL becomes a `base64` source; an `https://` URL a `url` source.
fn image_source(image: &ImagePart, i: usize) -> Result<ImageSource, ProviderError> {
    if let Some((media_type, data)) = image.as_base64() {
        return Ok(ImageSource::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        });
    }
    let is_https = image
        .url
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
    if is_https {
        return Ok(ImageSource::Url {
            url: image.url.clone(),
        });
    }
    Err(validation(format!(
        "messages[{i}]: an image must be an https:// URL or a base64 data: URL"
    )))
}

/// A tool call's JSON text as the `input` object; empty text reads as `{}`.
fn arguments(text: &str, i: usize, j: usize) -> Result<Value, ProviderError> {
    if text.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(validation(format!(
            "messages[{i}].tool_calls[{j}].arguments must be a JSON object"
        ))),
    }
}

/// A tool result: its text as a string, text and image blocks when it holds images, or
/// nothing when it is empty.
fn tool_result_content(
    content: &MessageContent,
    i: usize,
) -> Result<Option<Content>, ProviderError> {
    if content.images().next().is_some() {
        return Ok(Some(Content::Blocks(blocks(content, i)?)));
    }
    let text = content.text();
    Ok((!text.is_empty()).then(|| Content::Text(text.into_owned())))
}

/// Anthropic's `stop_reason` as a canonical finish reason: `end_turn`, `stop_sequence` and
/// `pause_turn` → stop; `max_tokens` and `model_context_window_exceeded` → length; `tool_use`
/// → tool calls; `refusal` → content filter; anything later → stop.
pub(crate) fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

/// Canonical usage: prompt = input + cache creation + cache read tokens (Anthropic counts
/// cached input apart from `input_tokens`), completion = output tokens.
pub(crate) fn usage(usage: &WireUsage) -> Usage {
    let prompt = [
        usage.input_tokens,
        usage.cache_creation_input_tokens,
        usage.cache_read_input_tokens,
    ]
    .into_iter()
    .flatten()
    .fold(0u32, u32::saturating_add);
    Usage {
        prompt_tokens: prompt,
        completion_tokens: usage.output_tokens.unwrap_or(0),
        estimated: false,
    }
}

/// A non-streaming reply: text blocks concatenated, `tool_use` blocks as tool calls with their
/// `input` serialized as JSON text; other block types (thinking, server tools) are skipped.
pub(crate) fn from_wire_response(response: MessagesResponse) -> ChatResponse {
    let mut content = String::new();
    let mut tool_calls = Vec::new();
    for block in response.content {
        match block {
            ResponseBlock::Text { text } => content.push_str(&text),
            ResponseBlock::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                id,
                name,
                arguments: input.to_string(),
            }),
            ResponseBlock::Other => {}
        }
    }
    ChatResponse {
        id: Some(response.id).filter(|id| !id.is_empty()),
        model: response.model,
        content,
        tool_calls,
        finish_reason: response.stop_reason.as_deref().map(finish_reason),
        usage: Some(usage(&response.usage)),
    }
}

/// Reads an error body; `None` when it is not Anthropic's shape.
pub(crate) fn parse_error_body(body: &[u8]) -> Option<ErrorDetail> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|b| b.error)
}

/// What an error body says beyond its status. The message is looked at only to classify:
/// "credit balance" (400 `invalid_request_error`) is billing, "prompt is too long" or
/// "exceed context limit" is context length; `billing_error` and a 429 whose
/// `details.error_code` is `enforced_spend_limit_reached` are billing;
/// `authentication_error` / `permission_error` mean the key is refused whatever the status.
pub(crate) fn error_hint(detail: Option<&ErrorDetail>) -> ErrorHint<'_> {
    let Some(detail) = detail else {
        return ErrorHint::default();
    };
    let message = detail.message.to_ascii_lowercase();
    let invalid_request = detail.kind == "invalid_request_error";
    let spend_limit = detail
        .details
        .as_ref()
        .and_then(|d| d.error_code.as_deref())
        == Some("enforced_spend_limit_reached");
    ErrorHint {
        billing: detail.kind == "billing_error"
            || spend_limit
            || (invalid_request && message.contains("credit balance")),
        context_length: invalid_request
            && (message.contains("prompt is too long") || message.contains("exceed context limit")),
        key_invalid: matches!(
            detail.kind.as_str(),
            "authentication_error" | "permission_error"
        ),
        code: Some(detail.kind.as_str()).filter(|k| !k.is_empty()),
    }
}

/// The HTTP status Anthropic documents for each error type
/// (<https://docs.anthropic.com/en/api/errors>), so an in-band error maps through the same
/// table as an HTTP one. Unknown types read as 500.
fn documented_status(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 500,
    }
}

/// The error for an in-band `error` event (sent after the 200 status): mapped like the HTTP
/// status Anthropic documents for its type (`overloaded_error` and `api_error` →
/// `upstream_unavailable`, `rate_limit_error` → `upstream_rate_limited`, …), with no status
/// and a message naming the type only when it is a documented one.
pub(crate) fn in_band_error(detail: &ErrorDetail) -> ProviderError {
    let status = documented_status(&detail.kind);
    let mut e = http::from_status(status, error_hint(Some(detail)), Op::Chat);
    e.status = None;
    e.message = if status == 500 && detail.kind != "api_error" {
        "the upstream sent an error event mid-stream".to_owned()
    } else {
        format!(
            "the upstream sent an error event mid-stream ({})",
            detail.kind
        )
    };
    e
}

/// The model list page as canonical models, owned by `anthropic`.
pub(crate) fn models(list: ModelList) -> Vec<ModelInfo> {
    list.data
        .into_iter()
        .map(|m| ModelInfo {
            id: m.id,
            owned_by: Some("anthropic".to_owned()),
        })
        .collect()
}

/// What one stream event means for the canonical stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    /// Nothing to yield (ping, block stop, message start, an unknown event, empty text).
    Skip,
    /// Yield this chunk and go on.
    Chunk(ChatChunk),
    /// `message_stop`: yield this last chunk (finish reason and usage) and end.
    End(ChatChunk),
    /// Yield this error and end (an in-band error or an event not in Anthropic's format).
    Fail(ProviderError),
}

/// Converts a Messages stream event by event
/// (<https://docs.anthropic.com/en/docs/build-with-claude/streaming>).
///
/// `message_start` carries the input usage; `message_delta` carries the stop reason and usage
/// that is cumulative (each value replaces the previous one, never added). The finish reason
/// and usage are yielded together in the chunk for `message_stop`. Tool calls are numbered by
/// their own ordinal (0, 1, …), not by Anthropic's content block index, which also counts text
/// and thinking blocks.
#[derive(Debug, Default)]
pub(crate) struct StreamConverter {
    /// `(content block index, tool ordinal)` of every `tool_use` block so far.
    tool_blocks: Vec<(u32, u32)>,
    /// Usage so far, each field the latest value reported.
    usage: WireUsage,
    /// Any usage was reported.
    saw_usage: bool,
    /// The latest `stop_reason`.
    stop_reason: Option<String>,
}

impl StreamConverter {
    /// Handles one event's `data` (JSON whose `type` names the event; the SSE `event:` line
    /// repeats it and is not needed).
    pub(crate) fn on_event(&mut self, data: &str) -> Step {
        if data.trim().is_empty() {
            return Step::Skip;
        }
        let Ok(event) = serde_json::from_str::<StreamEvent>(data) else {
            return Step::Fail(http::malformed_chunk(VENDOR));
        };
        match event {
            StreamEvent::MessageStart { message } => {
                self.merge_usage(&message.usage);
                Step::Skip
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                ResponseBlock::Text { text } => text_chunk(text),
                ResponseBlock::ToolUse { id, name, .. } => {
                    let ordinal = u32::try_from(self.tool_blocks.len()).unwrap_or(u32::MAX);
                    self.tool_blocks.push((index, ordinal));
                    Step::Chunk(ChatChunk {
                        tool_calls: vec![ToolCallDelta {
                            index: ordinal,
                            id: Some(id),
                            name: Some(name),
                            arguments: None,
                        }],
                        ..ChatChunk::default()
                    })
                }
                ResponseBlock::Other => Step::Skip,
            },
            StreamEvent::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => text_chunk(text),
                BlockDelta::InputJsonDelta { partial_json } => {
                    let Some(&(_, ordinal)) = self.tool_blocks.iter().find(|(b, _)| *b == index)
                    else {
                        // Input JSON for a block that never started as a tool call.
                        return Step::Fail(http::malformed_chunk(VENDOR));
                    };
                    if partial_json.is_empty() {
                        return Step::Skip;
                    }
                    Step::Chunk(ChatChunk {
                        tool_calls: vec![ToolCallDelta {
                            index: ordinal,
                            arguments: Some(partial_json),
                            ..ToolCallDelta::default()
                        }],
                        ..ChatChunk::default()
                    })
                }
                BlockDelta::Other => Step::Skip,
            },
            StreamEvent::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                self.merge_usage(&usage);
                Step::Skip
            }
            StreamEvent::MessageStop => Step::End(ChatChunk {
                finish_reason: Some(
                    self.stop_reason
                        .as_deref()
                        .map_or(FinishReason::Stop, finish_reason),
                ),
                usage: self.saw_usage.then(|| usage(&self.usage)),
                ..ChatChunk::default()
            }),
            StreamEvent::Error { error } => Step::Fail(in_band_error(&error)),
            StreamEvent::ContentBlockStop { .. } | StreamEvent::Ping | StreamEvent::Other => {
                Step::Skip
            }
        }
    }

    /// Each reported field replaces the one before (Anthropic's counts are cumulative).
    fn merge_usage(&mut self, reported: &WireUsage) {
        let fields = [
            (&mut self.usage.input_tokens, reported.input_tokens),
            (
                &mut self.usage.cache_creation_input_tokens,
                reported.cache_creation_input_tokens,
            ),
            (
                &mut self.usage.cache_read_input_tokens,
                reported.cache_read_input_tokens,
            ),
            (&mut self.usage.output_tokens, reported.output_tokens),
        ];
        for (field, value) in fields {
            if value.is_some() {
                *field = value;
                self.saw_usage = true;
            }
        }
    }
}

fn text_chunk(text: String) -> Step {
    if text.is_empty() {
        return Step::Skip;
    }
    Step::Chunk(ChatChunk {
        delta: Some(text),
        ..ChatChunk::default()
    })
}

#[cfg(test)]
mod tests;
