//! Pure conversions between the canonical types and Ollama's native API
//! (<https://github.com/ollama/ollama/blob/main/docs/api.md>), and the mapping of Ollama's
//! errors. No I/O: `mod.rs` sends what these functions build.
//!
//! Choices where the two models differ:
//! - images: Ollama takes base64 data only, so a `data:` URL is sent without its prefix and a
//!   remote (`https://…`) image is refused with `validation_error`;
//! - tool calls: arguments are JSON text canonically and a JSON object on the wire; Ollama's
//!   calls have no id, so one is generated ([`crate::http::tool_call_id`]); a `tool` message
//!   gets `tool_name` from the assistant call it answers (else from its `name`);
//! - `tool_choice`: Ollama has none; `none` leaves the tools out, the others send them as is;
//! - usage: see [`usage`]; `extra` and `user` are ignored (the API has no such fields).

use super::wire;
use crate::ProviderError;
use crate::http::{self, ErrorHint, Op};
use aihub_domain::{
    ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChatRole, EmbeddingRequest,
    EmbeddingResponse, ErrorCode, FinishReason, ModelInfo, ResponseFormat, ToolCall, ToolCallDelta,
    ToolChoice, Usage,
};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// The configured base URL with a trailing `/v1` removed: users often paste the
/// OpenAI-compatible address (`http://host:11434/v1`), while the native API lives at the root.
pub(crate) fn native_base(base: &str) -> String {
    let base = base.trim_end_matches('/');
    match base.strip_suffix("/v1") {
        Some(root) => root.trim_end_matches('/').to_owned(),
        None => base.to_owned(),
    }
}

/// The `POST /api/chat` body for `request`.
///
/// # Errors
/// `validation_error` when an image is not an inline base64 `data:` URL, or a tool call's
/// arguments are not a JSON object.
pub(crate) fn to_wire_request(
    request: &ChatRequest,
    stream: bool,
) -> Result<wire::ChatRequest<'_>, ProviderError> {
    // Tool messages name the tool they answer; the name is found through the call id.
    let tool_names: HashMap<&str, &str> = request
        .messages
        .iter()
        .flat_map(|m| &m.tool_calls)
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let messages = request
        .messages
        .iter()
        .map(|m| to_wire_message(m, &tool_names))
        .collect::<Result<Vec<_>, _>>()?;
    let tools = if request.tool_choice == Some(ToolChoice::None) {
        Vec::new()
    } else {
        request
            .tools
            .iter()
            .map(|t| wire::Tool {
                kind: "function",
                function: wire::ToolFunction {
                    name: &t.name,
                    description: t.description.as_deref(),
                    parameters: t.parameters.as_ref(),
                },
            })
            .collect()
    };
    let options = wire::Options {
        temperature: request.temperature,
        top_p: request.top_p,
        seed: request.seed,
        stop: &request.stop,
        num_predict: request.max_tokens,
    };
    Ok(wire::ChatRequest {
        model: &request.model,
        messages,
        tools,
        format: format(request.response_format.as_ref()),
        options: (!options.is_empty()).then_some(options),
        stream,
    })
}

fn to_wire_message(
    message: &ChatMessage,
    tool_names: &HashMap<&str, &str>,
) -> Result<wire::Message, ProviderError> {
    let images = message
        .content
        .images()
        .map(|image| match image.as_base64() {
            Some((_, data)) => Ok(data.to_owned()),
            None => Err(ProviderError::new(
                ErrorCode::ValidationError,
                "Ollama accepts inline base64 images only",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tool_calls = message
        .tool_calls
        .iter()
        .map(|c| {
            Ok(wire::ToolCall {
                id: None,
                function: wire::ToolCallFunction {
                    name: c.name.clone(),
                    arguments: arguments_object(&c.arguments)?,
                },
            })
        })
        .collect::<Result<Vec<_>, ProviderError>>()?;
    let tool_name = message
        .tool_call_id
        .as_deref()
        .and_then(|id| tool_names.get(id))
        .map(|name| (*name).to_owned())
        .or_else(|| message.name.clone())
        .filter(|_| message.role == ChatRole::Tool);
    Ok(wire::Message {
        role: message.role.as_str(),
        content: message.content.text().into_owned(),
        images,
        tool_calls,
        tool_name,
    })
}

/// A tool call's JSON-text arguments as the object Ollama expects; blank text is `{}`.
fn arguments_object(text: &str) -> Result<Value, ProviderError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(ProviderError::new(
            ErrorCode::ValidationError,
            "tool call arguments must be a JSON object",
        )),
    }
}

/// `format`: `"json"` for any JSON object, the schema itself for a JSON Schema (`"json"` when
/// the schema is missing), nothing for free text.
fn format(response_format: Option<&ResponseFormat>) -> Option<Value> {
    match response_format? {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(Value::from("json")),
        ResponseFormat::JsonSchema { schema, .. } => {
            Some(schema.clone().unwrap_or_else(|| Value::from("json")))
        }
    }
}

/// Token usage from a final object's counts.
///
/// `eval_count` (generated tokens) decides: when it is present the counts are the vendor's
/// (`estimated: false`), with a missing `prompt_eval_count` read as 0 — Ollama omits it when
/// the whole prompt came from its cache, so no prompt tokens were evaluated. Without
/// `eval_count` the reply carries no usable counts and `None` is returned, so the gateway
/// counts locally and marks the usage estimated.
pub(crate) fn usage(prompt_eval_count: Option<u32>, eval_count: Option<u32>) -> Option<Usage> {
    Some(Usage {
        prompt_tokens: prompt_eval_count.unwrap_or(0),
        completion_tokens: eval_count?,
        estimated: false,
    })
}

/// Why the reply ended: tool calls win, then `done_reason` (`length` → `length`; `stop` and
/// anything else → `stop`).
fn finish_reason(done_reason: Option<&str>, has_tool_calls: bool) -> FinishReason {
    if has_tool_calls {
        FinishReason::ToolCalls
    } else {
        FinishReason::from_vendor(done_reason.unwrap_or("stop"))
    }
}

fn tool_call(call: wire::ToolCall) -> ToolCall {
    let arguments = match call.function.arguments {
        Value::Null => "{}".to_owned(),
        v => v.to_string(),
    };
    ToolCall {
        id: call
            .id
            .filter(|id| !id.is_empty())
            .unwrap_or_else(http::tool_call_id),
        name: call.function.name,
        arguments,
    }
}

/// A non-streaming `/api/chat` answer as a canonical response (`id` is `None`: Ollama has no
/// response ids; the model falls back to `requested_model`).
///
/// # Errors
/// The mapped error when the body is an `{"error": …}` object.
pub(crate) fn from_wire_response(
    line: wire::ChatLine,
    requested_model: &str,
) -> Result<ChatResponse, ProviderError> {
    if let Some(message) = &line.error {
        return Err(stream_error(message));
    }
    let message = line.message.unwrap_or_default();
    let tool_calls: Vec<ToolCall> = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .map(tool_call)
        .collect();
    Ok(ChatResponse {
        id: None,
        model: line
            .model
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| requested_model.to_owned()),
        content: message.content.unwrap_or_default(),
        finish_reason: Some(finish_reason(
            line.done_reason.as_deref(),
            !tool_calls.is_empty(),
        )),
        tool_calls,
        usage: usage(line.prompt_eval_count, line.eval_count),
    })
}

/// Converts a stream's lines one by one; remembers the tool calls seen so far (their indexes,
/// and the finish reason `tool_calls`).
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    tool_calls: u32,
}

impl StreamState {
    /// The chunk of one NDJSON line, `None` when it carries nothing (an empty delta). Each
    /// tool call arrives whole, so its delta carries id, name and all arguments at once. The
    /// `done: true` line gives the finish reason and usage.
    ///
    /// # Errors
    /// The mapped error of an `{"error": …}` line.
    pub(crate) fn chunk(
        &mut self,
        line: wire::ChatLine,
    ) -> Result<Option<ChatChunk>, ProviderError> {
        if let Some(message) = &line.error {
            return Err(stream_error(message));
        }
        let message = line.message.unwrap_or_default();
        let tool_calls: Vec<ToolCallDelta> = message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .map(|c| {
                let call = tool_call(c);
                let index = self.tool_calls;
                self.tool_calls = self.tool_calls.saturating_add(1);
                ToolCallDelta {
                    index,
                    id: Some(call.id),
                    name: Some(call.name),
                    arguments: Some(call.arguments),
                }
            })
            .collect();
        let (finish_reason, usage) = if line.done {
            (
                Some(finish_reason(
                    line.done_reason.as_deref(),
                    self.tool_calls > 0,
                )),
                usage(line.prompt_eval_count, line.eval_count),
            )
        } else {
            (None, None)
        };
        let chunk = ChatChunk {
            delta: message.content.filter(|c| !c.is_empty()),
            tool_calls,
            finish_reason,
            usage,
        };
        let empty = chunk.delta.is_none()
            && chunk.tool_calls.is_empty()
            && chunk.finish_reason.is_none()
            && chunk.usage.is_none();
        Ok((!empty).then_some(chunk))
    }
}

/// Whether an Ollama error text says the input does not fit the context window (e.g. "input
/// length exceeds the context length").
fn says_context_exceeded(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("context") && lower.contains("exceed")
}

/// The error for an `{"error": "…"}` line in a stream (or a 200 body): `upstream_unavailable`,
/// or `context_length_exceeded` when the text says so. The text itself is never copied.
pub(crate) fn stream_error(message: &str) -> ProviderError {
    if says_context_exceeded(message) {
        ProviderError::new(
            ErrorCode::ContextLengthExceeded,
            "the prompt does not fit the model's context window",
        )
    } else {
        ProviderError::new(
            ErrorCode::UpstreamUnavailable,
            "the upstream reported an error mid-reply",
        )
    }
}

/// Maps a failed response: `status`, its `Retry-After`, and the `{"error": "…"}` body.
/// 404 on a chat or embedding is `model_not_found` ("model 'x' not found, try pulling it
/// first"), 401/403 `provider_key_invalid`, 429 `upstream_rate_limited` with `Retry-After`,
/// 5xx (e.g. "model requires more system memory") `upstream_unavailable`, a 4xx saying the
/// context is exceeded `context_length_exceeded`, other 4xx `upstream_bad_request`.
pub(crate) fn http_error(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    op: Op,
) -> ProviderError {
    let text = serde_json::from_slice::<wire::ErrorBody>(body)
        .ok()
        .and_then(|b| b.error)
        .unwrap_or_default();
    let hint = ErrorHint {
        context_length: says_context_exceeded(&text),
        ..ErrorHint::default()
    };
    http::from_response_parts(status, retry_after, hint, op)
}

/// `GET /api/tags` as model infos: `id` is the name (`llama3:latest`), `owned_by` `ollama`.
pub(crate) fn models(list: wire::TagList) -> Vec<ModelInfo> {
    list.models
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| t.name.or(t.model).filter(|n| !n.is_empty()))
        .map(|id| ModelInfo {
            id,
            owned_by: Some("ollama".to_owned()),
        })
        .collect()
}

/// The `POST /api/embed` body for `request`.
pub(crate) fn to_wire_embed(request: &EmbeddingRequest) -> wire::EmbedRequest<'_> {
    wire::EmbedRequest {
        model: &request.model,
        input: &request.input,
        dimensions: request.dimensions,
    }
}

/// An `/api/embed` answer as canonical embeddings. Usage is `prompt_eval_count` prompt tokens;
/// when Ollama omits it, `ceil(characters / 4)` of all inputs, marked estimated.
///
/// # Errors
/// `upstream_invalid_response` when the number of vectors differs from the number of inputs.
pub(crate) fn from_wire_embed(
    response: wire::EmbedResponse,
    request: &EmbeddingRequest,
) -> Result<EmbeddingResponse, ProviderError> {
    if response.embeddings.len() != request.input.len() {
        return Err(ProviderError::new(
            ErrorCode::UpstreamInvalidResponse,
            format!(
                "the upstream returned {} embeddings for {} inputs",
                response.embeddings.len(),
                request.input.len()
            ),
        ));
    }
    let usage = match response.prompt_eval_count {
        Some(tokens) => Usage {
            prompt_tokens: tokens,
            completion_tokens: 0,
            estimated: false,
        },
        None => {
            let chars: usize = request.input.iter().map(|s| s.chars().count()).sum();
            Usage {
                prompt_tokens: u32::try_from(chars.div_ceil(4)).unwrap_or(u32::MAX),
                completion_tokens: 0,
                estimated: true,
            }
        }
    };
    Ok(EmbeddingResponse {
        model: response
            .model
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| request.model.clone()),
        embeddings: response.embeddings,
        usage,
    })
}

#[cfg(test)]
mod tests;
