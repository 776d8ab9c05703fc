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
mod tests {
    use super::*;
    use aihub_domain::{ContentPart, ImagePart, MessageContent, ToolDefinition};
    use serde_json::json;

    /// The non-streaming chat response of docs/api.md ("Chat request (No streaming)").
    const CHAT_RESPONSE: &str = r#"{
      "model": "llama3.2",
      "created_at": "2023-12-12T14:13:43.416799Z",
      "message": {"role": "assistant", "content": "Hello! How are you today?"},
      "done": true,
      "total_duration": 5191566416,
      "load_duration": 2154458,
      "prompt_eval_count": 26,
      "prompt_eval_duration": 383809000,
      "eval_count": 298,
      "eval_duration": 4799921000
    }"#;

    /// The tool-call response of docs/api.md ("Chat request (with tools)").
    const TOOL_RESPONSE: &str = r#"{
      "model": "llama3.2",
      "created_at": "2024-07-22T20:33:28.123648Z",
      "message": {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"function": {"name": "get_current_weather",
          "arguments": {"format": "celsius", "location": "Paris, FR"}}}]
      },
      "done_reason": "stop",
      "done": true,
      "total_duration": 885095291,
      "load_duration": 3753500,
      "prompt_eval_count": 122,
      "prompt_eval_duration": 328493000,
      "eval_count": 33,
      "eval_duration": 552222000
    }"#;

    /// A streamed delta line and the final line of docs/api.md ("Chat Request (Streaming)").
    const STREAM_DELTA: &str = r#"{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The","images":null},"done":false}"#;
    const STREAM_FINAL: &str = r#"{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","done":true,"total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}"#;

    fn line(json: &str) -> wire::ChatLine {
        serde_json::from_str(json).expect("documented fixture parses")
    }

    fn body(request: &ChatRequest, stream: bool) -> Value {
        serde_json::to_value(to_wire_request(request, stream).expect("converts")).expect("json")
    }

    #[test]
    fn base_url_loses_a_trailing_v1() {
        let cases = [
            ("http://localhost:11434", "http://localhost:11434"),
            ("http://localhost:11434/", "http://localhost:11434"),
            ("http://gpu:11434/v1", "http://gpu:11434"),
            ("http://gpu:11434/v1/", "http://gpu:11434"),
            (
                "https://proxy.example/ollama/v1",
                "https://proxy.example/ollama",
            ),
            ("https://proxy.example/v10", "https://proxy.example/v10"),
        ];
        for (given, want) in cases {
            assert_eq!(native_base(given), want, "{given}");
        }
    }

    #[test]
    fn request_maps_messages_options_and_stream() {
        let request = ChatRequest {
            model: "llama3.2".into(),
            messages: vec![
                ChatMessage::new(ChatRole::System, "Be brief."),
                ChatMessage::new(ChatRole::User, "why is the sky blue?"),
            ],
            max_tokens: Some(100),
            temperature: Some(0.8),
            top_p: Some(0.9),
            seed: Some(42),
            stop: vec!["\n".into(), "user:".into()],
            user: Some("u-1".into()),
            extra: serde_json::Map::from_iter([("logprobs".to_owned(), json!(true))]),
            ..ChatRequest::default()
        };
        assert_eq!(
            body(&request, false),
            json!({
                "model": "llama3.2",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "why is the sky blue?"}
                ],
                "options": {"temperature": 0.8, "top_p": 0.9, "seed": 42,
                            "stop": ["\n", "user:"], "num_predict": 100},
                "stream": false
            })
        );
        let minimal = ChatRequest {
            model: "llama3.2".into(),
            messages: vec![ChatMessage::new(ChatRole::User, "Hi")],
            ..ChatRequest::default()
        };
        let b = body(&minimal, true);
        assert_eq!(b["stream"], true);
        assert!(b.get("options").is_none(), "{b}");
        assert!(b.get("tools").is_none(), "{b}");
        assert!(b.get("format").is_none(), "{b}");
    }

    #[test]
    fn images_are_sent_as_bare_base64() {
        let request = ChatRequest {
            model: "llava".into(),
            messages: vec![ChatMessage {
                role: ChatRole::User,
                content: MessageContent::Parts(vec![
                    ContentPart::Text("what is in this image?".into()),
                    ContentPart::Image(ImagePart::from_base64("image/png", "iVBORw0KGgo=")),
                ]),
                ..ChatMessage::default()
            }],
            ..ChatRequest::default()
        };
        assert_eq!(
            body(&request, false)["messages"],
            json!([{"role": "user", "content": "what is in this image?", "images": ["iVBORw0KGgo="]}])
        );
    }

    #[test]
    fn remote_images_are_refused() {
        let request = ChatRequest {
            model: "llava".into(),
            messages: vec![ChatMessage {
                content: MessageContent::Parts(vec![ContentPart::Image(ImagePart {
                    url: "https://example.com/cat.png".into(),
                    detail: None,
                })]),
                ..ChatMessage::default()
            }],
            ..ChatRequest::default()
        };
        let err = to_wire_request(&request, false).expect_err("remote image");
        assert_eq!(err.code, ErrorCode::ValidationError);
        assert_eq!(err.message, "Ollama accepts inline base64 images only");
    }

    fn tool_history(arguments: &str) -> ChatRequest {
        ChatRequest {
            model: "llama3.2".into(),
            messages: vec![
                ChatMessage::new(ChatRole::User, "What is the weather today in Paris?"),
                ChatMessage {
                    role: ChatRole::Assistant,
                    tool_calls: vec![ToolCall {
                        id: "call_1".into(),
                        name: "get_current_weather".into(),
                        arguments: arguments.into(),
                    }],
                    ..ChatMessage::default()
                },
                ChatMessage {
                    role: ChatRole::Tool,
                    content: "22 degrees".into(),
                    tool_call_id: Some("call_1".into()),
                    ..ChatMessage::default()
                },
            ],
            tools: vec![ToolDefinition {
                name: "get_current_weather".into(),
                description: Some("Get the current weather for a location".into()),
                parameters: Some(
                    json!({"type": "object", "properties": {"location": {"type": "string"}}}),
                ),
                strict: None,
            }],
            ..ChatRequest::default()
        }
    }

    #[test]
    fn tool_calls_and_results_are_sent_in_ollama_form() {
        let b = body(&tool_history(r#"{"location":"Paris, FR"}"#), false);
        assert_eq!(
            b["messages"][1],
            json!({"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "get_current_weather", "arguments": {"location": "Paris, FR"}}}
            ]})
        );
        assert_eq!(
            b["messages"][2],
            json!({"role": "tool", "content": "22 degrees", "tool_name": "get_current_weather"})
        );
        assert_eq!(
            b["tools"],
            json!([{"type": "function", "function": {
                "name": "get_current_weather",
                "description": "Get the current weather for a location",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}
            }}])
        );
        let blank = body(&tool_history(""), false);
        assert_eq!(
            blank["messages"][1]["tool_calls"][0]["function"]["arguments"],
            json!({})
        );
    }

    #[test]
    fn tool_choice_none_leaves_the_tools_out() {
        let mut request = tool_history("{}");
        request.tool_choice = Some(ToolChoice::None);
        assert!(body(&request, false).get("tools").is_none());
    }

    #[test]
    fn invalid_tool_arguments_are_a_validation_error() {
        for bad in ["{not json", "[1, 2]", "\"text\""] {
            let err = to_wire_request(&tool_history(bad), false).expect_err(bad);
            assert_eq!(err.code, ErrorCode::ValidationError, "{bad}");
            assert!(!err.message.contains(bad), "{}", err.message);
        }
    }

    #[test]
    fn response_formats_map_to_format() {
        let schema = json!({"type": "object", "properties": {"age": {"type": "integer"}}});
        let cases = [
            (ResponseFormat::Text, None),
            (ResponseFormat::JsonObject, Some(json!("json"))),
            (
                ResponseFormat::JsonSchema {
                    name: "person".into(),
                    description: None,
                    schema: Some(schema.clone()),
                    strict: Some(true),
                },
                Some(schema),
            ),
        ];
        for (rf, want) in cases {
            let request = ChatRequest {
                response_format: Some(rf.clone()),
                ..ChatRequest::default()
            };
            assert_eq!(body(&request, false).get("format").cloned(), want, "{rf:?}");
        }
    }

    #[test]
    fn documented_response_maps_text_finish_and_usage() {
        let reply = from_wire_response(line(CHAT_RESPONSE), "other").expect("reply");
        assert_eq!(reply.id, None);
        assert_eq!(reply.model, "llama3.2");
        assert_eq!(reply.content, "Hello! How are you today?");
        assert!(reply.tool_calls.is_empty());
        assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
        assert_eq!(
            reply.usage,
            Some(Usage {
                prompt_tokens: 26,
                completion_tokens: 298,
                estimated: false
            })
        );
    }

    #[test]
    fn documented_tool_response_gets_ids_and_text_arguments() {
        let reply = from_wire_response(line(TOOL_RESPONSE), "llama3.2").expect("reply");
        assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(reply.tool_calls.len(), 1);
        let call = &reply.tool_calls[0];
        assert!(call.id.starts_with("call_"), "{}", call.id);
        assert_eq!(call.name, "get_current_weather");
        let args: Value = serde_json::from_str(&call.arguments).expect("json text");
        assert_eq!(args, json!({"format": "celsius", "location": "Paris, FR"}));
    }

    #[test]
    fn done_reason_length_is_length() {
        let mut l = line(CHAT_RESPONSE);
        l.done_reason = Some("length".into());
        let reply = from_wire_response(l, "m").expect("reply");
        assert_eq!(reply.finish_reason, Some(FinishReason::Length));
    }

    #[test]
    fn usage_needs_eval_count_and_defaults_the_prompt_to_zero() {
        assert_eq!(
            usage(None, Some(5)),
            Some(Usage {
                prompt_tokens: 0,
                completion_tokens: 5,
                estimated: false
            })
        );
        assert_eq!(usage(Some(26), None), None);
        assert_eq!(usage(None, None), None);
    }

    #[test]
    fn stream_lines_become_chunks() {
        let mut state = StreamState::default();
        let delta = state.chunk(line(STREAM_DELTA)).expect("ok").expect("chunk");
        assert_eq!(delta.delta.as_deref(), Some("The"));
        assert_eq!(delta.finish_reason, None);
        assert_eq!(delta.usage, None);
        let empty = r#"{"model":"m","message":{"role":"assistant","content":""},"done":false}"#;
        assert_eq!(state.chunk(line(empty)).expect("ok"), None);
        let last = state.chunk(line(STREAM_FINAL)).expect("ok").expect("chunk");
        assert_eq!(last.delta, None);
        assert_eq!(last.finish_reason, Some(FinishReason::Stop));
        assert_eq!(
            last.usage,
            Some(Usage {
                prompt_tokens: 26,
                completion_tokens: 282,
                estimated: false
            })
        );
    }

    #[test]
    fn streamed_tool_calls_are_whole_deltas_and_finish_as_tool_calls() {
        let mut state = StreamState::default();
        let calls = r#"{"model":"m","message":{"role":"assistant","content":"","tool_calls":[
            {"function":{"name":"a","arguments":{"x":1}}},{"function":{"name":"b","arguments":{}}}]},"done":false}"#;
        let chunk = state.chunk(line(calls)).expect("ok").expect("chunk");
        assert_eq!(chunk.tool_calls.len(), 2);
        assert_eq!(chunk.tool_calls[0].index, 0);
        assert_eq!(chunk.tool_calls[1].index, 1);
        assert_eq!(chunk.tool_calls[0].name.as_deref(), Some("a"));
        assert_eq!(chunk.tool_calls[0].arguments.as_deref(), Some(r#"{"x":1}"#));
        assert!(chunk.tool_calls[0].id.is_some());
        let done = r#"{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","eval_count":3}"#;
        let last = state.chunk(line(done)).expect("ok").expect("chunk");
        assert_eq!(last.finish_reason, Some(FinishReason::ToolCalls));
    }

    #[test]
    fn error_lines_are_mapped_without_their_text() {
        let mut state = StreamState::default();
        let err = state
            .chunk(line(
                r#"{"error":"an error was encountered while running the model: secret"}"#,
            ))
            .expect_err("error line");
        assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
        assert!(!err.message.contains("secret"));
        let err = stream_error("the input length exceeds the context length");
        assert_eq!(err.code, ErrorCode::ContextLengthExceeded);
    }

    #[test]
    fn http_errors_map_by_status_and_text() {
        let not_found = br#"{"error":"model 'llama9' not found, try pulling it first"}"#;
        let e = http_error(404, None, not_found, Op::Chat);
        assert_eq!(e.code, ErrorCode::ModelNotFound);
        assert!(!e.message.contains("llama9"), "{}", e.message);
        let oom = br#"{"error":"model requires more system memory (12.1 GiB) than is available (8.0 GiB)"}"#;
        assert_eq!(
            http_error(500, None, oom, Op::Chat).code,
            ErrorCode::UpstreamUnavailable
        );
        assert_eq!(
            http_error(401, None, br#"{"error":"unauthorized"}"#, Op::Models).code,
            ErrorCode::ProviderKeyInvalid
        );
        let limited = http_error(429, Some(Duration::from_secs(3)), b"", Op::Chat);
        assert_eq!(limited.code, ErrorCode::UpstreamRateLimited);
        assert_eq!(limited.retry_after, Some(Duration::from_secs(3)));
        let ctx = br#"{"error":"input length exceeds maximum context length"}"#;
        assert_eq!(
            http_error(400, None, ctx, Op::Embeddings).code,
            ErrorCode::ContextLengthExceeded
        );
        assert_eq!(
            http_error(400, None, b"not json", Op::Chat).code,
            ErrorCode::UpstreamBadRequest
        );
    }

    #[test]
    fn documented_tag_list_maps_to_models() {
        let list: wire::TagList = serde_json::from_str(
            r#"{"models":[
              {"name":"codellama:13b","modified_at":"2023-11-04T14:56:49.277302595-07:00","size":7365960935,
               "digest":"9f438cb9cd581fc025612d27f7c1a6669ff83a8bb0ed86c94fcf4c5440555697",
               "details":{"format":"gguf","family":"llama","families":null,"parameter_size":"13B","quantization_level":"Q4_0"}},
              {"name":"llama3:latest","model":"llama3:latest","modified_at":"2023-12-07T09:32:18.757212583-08:00",
               "size":3825819519,"digest":"fe938a131f40e6f6d40083c9f0f430a515233eb2edaa6d72eb85c50d64f2300e",
               "details":{"format":"gguf","family":"llama","families":null,"parameter_size":"7B","quantization_level":"Q4_0"}}]}"#,
        )
        .expect("documented fixture parses");
        let ids: Vec<_> = models(list)
            .into_iter()
            .map(|m| (m.id, m.owned_by))
            .collect();
        assert_eq!(
            ids,
            vec![
                ("codellama:13b".to_owned(), Some("ollama".to_owned())),
                ("llama3:latest".to_owned(), Some("ollama".to_owned())),
            ]
        );
    }

    #[test]
    fn documented_embed_response_maps_vectors_and_usage() {
        let request = EmbeddingRequest {
            model: "all-minilm".into(),
            input: vec!["Why is the sky blue?".into()],
            dimensions: Some(10),
        };
        assert_eq!(
            serde_json::to_value(to_wire_embed(&request)).expect("json"),
            json!({"model": "all-minilm", "input": ["Why is the sky blue?"], "dimensions": 10})
        );
        let response: wire::EmbedResponse = serde_json::from_str(
            r#"{"model":"all-minilm","embeddings":[[0.010071029,-0.0017594862,0.05007221]],
               "total_duration":14143917,"load_duration":1019500,"prompt_eval_count":8}"#,
        )
        .expect("documented fixture parses");
        let out = from_wire_embed(response, &request).expect("embeddings");
        assert_eq!(out.model, "all-minilm");
        assert_eq!(
            out.embeddings,
            vec![vec![0.010071029, -0.0017594862, 0.05007221]]
        );
        assert_eq!(
            out.usage,
            Usage {
                prompt_tokens: 8,
                completion_tokens: 0,
                estimated: false
            }
        );
    }

    #[test]
    fn embed_without_counts_is_estimated_and_count_mismatch_is_invalid() {
        let request = EmbeddingRequest {
            model: "all-minilm".into(),
            input: vec!["Why is the sky blue?".into(), "Why?".into()],
            dimensions: None,
        };
        let response = wire::EmbedResponse {
            model: None,
            embeddings: vec![vec![0.1], vec![0.2]],
            prompt_eval_count: None,
        };
        let out = from_wire_embed(response.clone(), &request).expect("embeddings");
        // 20 + 4 characters → ceil(24 / 4) = 6.
        assert_eq!(
            out.usage,
            Usage {
                prompt_tokens: 6,
                completion_tokens: 0,
                estimated: true
            }
        );
        assert_eq!(out.model, "all-minilm");
        let short = wire::EmbedResponse {
            embeddings: vec![vec![0.1]],
            ..response
        };
        assert_eq!(
            from_wire_embed(short, &request).expect_err("mismatch").code,
            ErrorCode::UpstreamInvalidResponse
        );
    }
}
