//! The adapter side: canonical → an upstream OpenAI-wire request, and the upstream's replies
//! (whole, streamed, embeddings, model lists) → canonical.

use crate::ProviderError;
use crate::openai::wire::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ContentPartWire, EmbeddingInput,
    EmbeddingVector, EmbeddingsRequest, EmbeddingsResponse, FunctionCallWire, FunctionDefinition,
    ImageUrlWire, JsonSchemaWire, MessageRole, ModelList, NamedFunction, NamedToolChoice,
    RequestContent, RequestMessage, ResponseFormatWire, Stop, StreamOptions, Tool, ToolCallChunk,
    ToolCallWire, ToolChoiceWire, WireUsage,
};
use aihub_domain::{
    ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChatRole, ContentPart, EmbeddingRequest,
    EmbeddingResponse, ErrorCode, FinishReason, MessageContent, ModelInfo, ProviderKind,
    ResponseFormat, ToolCall, ToolCallDelta, ToolChoice, ToolDefinition, Usage,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

/// The typed fields of [`ChatCompletionRequest`]: keys of `extra` with these names are not
/// sent (the typed field decides), so the body never has a key twice.
const TYPED_FIELDS: [&str; 15] = [
    "model",
    "messages",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "tools",
    "tool_choice",
    "response_format",
    "user",
    "n",
    "stream",
    "stream_options",
];

/// Builds the upstream request. `stream` sets `stream: true` and asks for the usage chunk
/// (`stream_options.include_usage`).
///
/// OpenAI itself gets `max_completion_tokens` (its reasoning models refuse `max_tokens`); the
/// compatible servers (Ollama, llama.cpp, vLLM, OpenRouter) get the older `max_tokens`, which
/// they all understand. `request.extra` is merged verbatim (except keys named like a typed
/// field).
pub(crate) fn to_wire_request(
    request: &ChatRequest,
    kind: ProviderKind,
    stream: bool,
) -> ChatCompletionRequest {
    let (max_tokens, max_completion_tokens) = if kind == ProviderKind::Openai {
        (None, request.max_tokens)
    } else {
        (request.max_tokens, None)
    };
    let extra: Map<String, Value> = request
        .extra
        .iter()
        .filter(|(k, _)| !TYPED_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    ChatCompletionRequest {
        model: request.model.clone(),
        messages: request.messages.iter().map(message_to_wire).collect(),
        max_tokens,
        max_completion_tokens,
        temperature: request.temperature,
        top_p: request.top_p,
        stop: (!request.stop.is_empty()).then(|| Stop::Many(request.stop.clone())),
        seed: request.seed,
        tools: (!request.tools.is_empty())
            .then(|| request.tools.iter().map(tool_to_wire).collect()),
        tool_choice: request.tool_choice.as_ref().map(tool_choice_to_wire),
        response_format: request
            .response_format
            .as_ref()
            .map(response_format_to_wire),
        user: request.user.clone(),
        n: None,
        stream: stream.then_some(true),
        stream_options: stream.then(|| StreamOptions {
            include_usage: Some(true),
            extra: Map::new(),
        }),
        extra,
    }
}

fn message_to_wire(m: &ChatMessage) -> RequestMessage {
    let role = match m.role {
        ChatRole::System => MessageRole::System,
        ChatRole::User => MessageRole::User,
        ChatRole::Assistant => MessageRole::Assistant,
        ChatRole::Tool => MessageRole::Tool,
    };
    let content = match (m.role, &m.content) {
        (ChatRole::Assistant, c) if c.is_empty() && !m.tool_calls.is_empty() => None,
        // System and tool messages take text only.
        (ChatRole::System | ChatRole::Tool, c) => Some(RequestContent::Text(c.text().into_owned())),
        (_, MessageContent::Text(t)) => Some(RequestContent::Text(t.clone())),
        (_, MessageContent::Parts(parts)) => Some(match parts.as_slice() {
            [ContentPart::Text(t)] => RequestContent::Text(t.clone()),
            parts => RequestContent::Parts(parts.iter().map(part_to_wire).collect()),
        }),
    };
    RequestMessage {
        role,
        content,
        name: m.name.clone(),
        tool_calls: (!m.tool_calls.is_empty()).then(|| {
            m.tool_calls
                .iter()
                .map(|c| ToolCallWire {
                    id: c.id.clone(),
                    kind: "function".to_owned(),
                    function: FunctionCallWire {
                        name: c.name.clone(),
                        arguments: c.arguments.clone(),
                    },
                })
                .collect()
        }),
        tool_call_id: m.tool_call_id.clone(),
    }
}

fn part_to_wire(p: &ContentPart) -> ContentPartWire {
    match p {
        ContentPart::Text(text) => ContentPartWire::Text { text: text.clone() },
        ContentPart::Image(img) => ContentPartWire::ImageUrl {
            image_url: ImageUrlWire {
                url: img.url.clone(),
                detail: img.detail.clone(),
            },
        },
    }
}

fn tool_to_wire(t: &ToolDefinition) -> Tool {
    Tool {
        kind: "function".to_owned(),
        function: FunctionDefinition {
            name: t.name.clone(),
            description: t.description.clone(),
            parameters: t.parameters.clone(),
            strict: t.strict,
        },
    }
}

fn tool_choice_to_wire(c: &ToolChoice) -> ToolChoiceWire {
    match c {
        ToolChoice::Auto => ToolChoiceWire::Mode("auto".to_owned()),
        ToolChoice::None => ToolChoiceWire::Mode("none".to_owned()),
        ToolChoice::Required => ToolChoiceWire::Mode("required".to_owned()),
        ToolChoice::Function(name) => ToolChoiceWire::Named(NamedToolChoice {
            kind: "function".to_owned(),
            function: NamedFunction { name: name.clone() },
        }),
    }
}

fn response_format_to_wire(f: &ResponseFormat) -> ResponseFormatWire {
    match f {
        ResponseFormat::Text => ResponseFormatWire::Text,
        ResponseFormat::JsonObject => ResponseFormatWire::JsonObject,
        ResponseFormat::JsonSchema {
            name,
            description,
            schema,
            strict,
        } => ResponseFormatWire::JsonSchema {
            json_schema: JsonSchemaWire {
                name: name.clone(),
                description: description.clone(),
                schema: schema.clone(),
                strict: *strict,
            },
        },
    }
}

/// Maps the vendor's token counts. OpenAI's `prompt_tokens` already include cached tokens and
/// `completion_tokens` include reasoning tokens, so the two totals are all billing needs.
fn usage_from_wire(u: WireUsage) -> Usage {
    Usage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        estimated: false,
    }
}

/// Maps a wire finish reason: the documented ones through [`FinishReason::from_vendor`]
/// (`function_call` is the deprecated spelling of `tool_calls`; unknown values read as
/// `stop`), plus OpenRouter's `error`.
pub(crate) fn finish_reason_from_wire(reason: &str) -> FinishReason {
    match reason {
        "error" => FinishReason::Error,
        other => FinishReason::from_vendor(other),
    }
}

fn invalid(message: &str) -> ProviderError {
    ProviderError::new(ErrorCode::UpstreamInvalidResponse, message)
}

/// Maps a complete reply: the first choice's text (or its refusal), tool calls (an id is
/// generated for a call that has none), finish reason and usage.
///
/// # Errors
/// `upstream_invalid_response` when the reply has no choice.
pub(crate) fn from_wire_response(response: ChatCompletion) -> Result<ChatResponse, ProviderError> {
    let choice = response
        .choices
        .into_iter()
        .min_by_key(|c| c.index)
        .ok_or_else(|| invalid("the upstream reply has no choices"))?;
    let message = choice.message;
    let content = message
        .content
        .filter(|c| !c.is_empty())
        .or(message.refusal)
        .unwrap_or_default();
    let tool_calls = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .map(|c| ToolCall {
            id: if c.id.is_empty() {
                crate::http::tool_call_id()
            } else {
                c.id
            },
            name: c.function.name,
            arguments: c.function.arguments,
        })
        .collect();
    Ok(ChatResponse {
        id: Some(response.id).filter(|id| !id.is_empty()),
        model: response.model,
        content,
        tool_calls,
        finish_reason: choice.finish_reason.as_deref().map(finish_reason_from_wire),
        usage: response.usage.map(usage_from_wire),
    })
}

/// Turns an upstream's streamed chunks into canonical chunks. Stateful only to keep tool-call
/// pieces canonical: the first piece of each call carries its id (generated when the server
/// sent none) and name; later pieces carry only arguments, even when a server repeats the
/// name.
#[derive(Debug, Default)]
pub(crate) struct ChunkDecoder {
    started_calls: Vec<u32>,
}

impl ChunkDecoder {
    /// Maps one chunk; `None` when it carries nothing (the opening role-only chunk). The usage
    /// chunk has `choices: []`; some servers (llama.cpp) put usage on the finishing chunk
    /// instead; both arrive as one [`ChatChunk`]. Refusal text counts as text.
    pub(crate) fn decode(&mut self, chunk: ChatCompletionChunk) -> Option<ChatChunk> {
        let choice = chunk.choices.into_iter().min_by_key(|c| c.index);
        let mut out = ChatChunk {
            usage: chunk.usage.map(usage_from_wire),
            ..ChatChunk::default()
        };
        if let Some(c) = choice {
            let d = c.delta;
            out.delta = d
                .content
                .filter(|t| !t.is_empty())
                .or(d.refusal.filter(|t| !t.is_empty()));
            out.tool_calls = d
                .tool_calls
                .unwrap_or_default()
                .into_iter()
                .filter_map(|t| self.tool_call(t))
                .collect();
            out.finish_reason = c.finish_reason.as_deref().map(finish_reason_from_wire);
        }
        (out != ChatChunk::default()).then_some(out)
    }

    fn tool_call(&mut self, t: ToolCallChunk) -> Option<ToolCallDelta> {
        let function = t.function.unwrap_or_default();
        let arguments = function.arguments.filter(|a| !a.is_empty());
        let first = !self.started_calls.contains(&t.index);
        let (id, name) = if first {
            let name = function.name.filter(|n| !n.is_empty());
            let id = t.id.filter(|i| !i.is_empty());
            if id.is_none() && name.is_none() && arguments.is_none() {
                return None;
            }
            self.started_calls.push(t.index);
            (Some(id.unwrap_or_else(crate::http::tool_call_id)), name)
        } else {
            (None, None)
        };
        if !first && arguments.is_none() {
            return None;
        }
        Some(ToolCallDelta {
            index: t.index,
            id,
            name,
            arguments,
        })
    }
}

/// The upstream embeddings request: the texts, `dimensions`, and `encoding_format: "float"`.
pub(crate) fn to_wire_embeddings(request: &EmbeddingRequest) -> EmbeddingsRequest {
    EmbeddingsRequest {
        model: request.model.clone(),
        input: EmbeddingInput::Texts(request.input.clone()),
        dimensions: request.dimensions,
        encoding_format: Some("float".to_owned()),
        user: None,
        extra: Map::new(),
    }
}

/// Maps an embeddings reply to canonical order (by `index`; kept as sent when the indices are
/// not `0..n`). Base64 vectors are decoded. Missing usage reads as 0 tokens, `estimated`.
///
/// # Errors
/// `upstream_invalid_response` when the number of vectors differs from `inputs` or a base64
/// vector does not decode.
pub(crate) fn from_wire_embeddings(
    response: EmbeddingsResponse,
    inputs: usize,
    requested_model: &str,
) -> Result<EmbeddingResponse, ProviderError> {
    let mut data = response.data;
    if data.len() != inputs {
        return Err(invalid(
            "the upstream returned a different number of embeddings than inputs",
        ));
    }
    let mut sorted: Vec<u32> = data.iter().map(|e| e.index).collect();
    sorted.sort_unstable();
    if sorted.iter().enumerate().all(|(i, &n)| n as usize == i) {
        data.sort_by_key(|e| e.index);
    }
    let embeddings = data
        .into_iter()
        .map(|e| match e.embedding {
            EmbeddingVector::Float(v) => Ok(v),
            EmbeddingVector::Base64(s) => embedding_from_base64(&s)
                .ok_or_else(|| invalid("the upstream sent an embedding that does not decode")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let usage = match response.usage {
        Some(u) => Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: 0,
            estimated: false,
        },
        None => Usage {
            estimated: true,
            ..Usage::default()
        },
    };
    Ok(EmbeddingResponse {
        model: if response.model.is_empty() {
            requested_model.to_owned()
        } else {
            response.model
        },
        embeddings,
        usage,
    })
}

/// Reads a vector sent as `encoding_format: "base64"`: its little-endian `f32` bytes in
/// standard base64; `None` when the text is not base64 or its length is not a multiple of 4
/// bytes.
fn embedding_from_base64(text: &str) -> Option<Vec<f32>> {
    let bytes = BASE64.decode(text.trim()).ok()?;
    if bytes.len() % 4 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

/// Maps a `GET /models` list (an empty `owned_by` reads as none).
pub(crate) fn models(list: ModelList) -> Vec<ModelInfo> {
    list.data
        .into_iter()
        .map(|m| ModelInfo {
            id: m.id,
            owned_by: Some(m.owned_by).filter(|o| !o.is_empty()),
        })
        .collect()
}
