//! Pure conversions between the canonical chat types and the OpenAI wire types of [`super::wire`].
//! No I/O.
//!
//! Two directions:
//! - the gateway side (public): a client's `/v1` request → canonical ([`chat_request_from_wire`],
//!   [`embeddings_request_from_wire`]) and canonical → the `/v1` reply
//!   ([`chat_completion_to_wire`], [`ChunkEncoder`], [`embeddings_to_wire`],
//!   [`model_list_to_wire`], [`error_event`]);
//! - the adapter side (crate-private): canonical → an upstream request, and the upstream's
//!   replies → canonical.

use super::wire::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Choice, ChunkChoice, ChunkDelta,
    ContentPartWire, Embedding, EmbeddingInput, EmbeddingVector, EmbeddingsRequest,
    EmbeddingsResponse, EmbeddingsUsage, FunctionCallChunk, FunctionCallWire, FunctionDefinition,
    ImageUrlWire, JsonSchemaWire, MessageRole, Model, ModelList, NamedFunction, NamedToolChoice,
    RequestContent, RequestMessage, ResponseFormatWire, ResponseMessage, Stop, StreamOptions, Tool,
    ToolCallChunk, ToolCallWire, ToolChoiceWire, WireUsage,
};
use crate::ProviderError;
use aihub_domain::{
    ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChatRole, ContentPart, EmbeddingRequest,
    EmbeddingResponse, ErrorCode, FinishReason, ImagePart, MessageContent, ModelInfo, ProviderKind,
    ResponseFormat, ToolCall, ToolCallDelta, ToolChoice, ToolDefinition, Usage,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

/// OpenAI's limit on stop sequences.
const MAX_STOP: usize = 4;
/// OpenAI's limit on inputs of one embeddings request.
const MAX_EMBEDDING_INPUTS: usize = 2048;

// =============================================================================================
// Gateway side: what a client sends to `/v1`, and what it gets back.
// =============================================================================================

/// A client's `POST /v1/chat/completions`, in canonical form.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundChat {
    /// The canonical request; `model` is the client's model id verbatim (the gateway strips
    /// its `<provider>/` prefix later).
    pub request: ChatRequest,
    /// `stream: true`: answer with `chat.completion.chunk` events.
    pub stream: bool,
    /// `stream_options.include_usage: true`: end the stream with a usage chunk.
    pub include_usage: bool,
}

/// A client error in a `/v1` request: the field at fault, OpenAI style (`param` is
/// `messages[2].content`, `temperature`, …), and a short message naming the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {message}")]
pub struct InvalidField {
    /// The path of the field, as OpenAI's `error.param`.
    pub param: String,
    /// What is wrong, safe to show the client.
    pub message: String,
}

impl InvalidField {
    fn new(param: impl Into<String>, message: impl Into<String>) -> Self {
        InvalidField {
            param: param.into(),
            message: message.into(),
        }
    }
}

/// Converts a client's chat request into the canonical request.
///
/// Rules: `messages` must not be empty; `n` must be 1 when given; `max_completion_tokens`
/// wins over `max_tokens`, and the cap must be at least 1; `temperature` is 0–2 and `top_p`
/// 0–1; `stop` is a string or at most 4 strings; `developer` messages read as `system`; image
/// parts (user messages only) become [`ImagePart`]s; a `tool` message needs `tool_call_id`;
/// tool calls appear on assistant messages only; tools and named tool choices must be of type
/// `function`. Every unknown field is kept in `request.extra`.
///
/// # Errors
/// [`InvalidField`] naming the first field that breaks a rule.
pub fn chat_request_from_wire(wire: ChatCompletionRequest) -> Result<InboundChat, InvalidField> {
    if wire.messages.is_empty() {
        return Err(InvalidField::new("messages", "messages must not be empty"));
    }
    if let Some(n) = wire.n
        && n != 1
    {
        return Err(InvalidField::new("n", "only n = 1 is supported"));
    }
    let max_tokens = match (wire.max_completion_tokens, wire.max_tokens) {
        (Some(0), _) => {
            return Err(InvalidField::new(
                "max_completion_tokens",
                "max_completion_tokens must be at least 1",
            ));
        }
        (None, Some(0)) => {
            return Err(InvalidField::new(
                "max_tokens",
                "max_tokens must be at least 1",
            ));
        }
        (cap, legacy) => cap.or(legacy),
    };
    if let Some(t) = wire.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(InvalidField::new(
            "temperature",
            "temperature must be between 0 and 2",
        ));
    }
    if let Some(p) = wire.top_p
        && !(0.0..=1.0).contains(&p)
    {
        return Err(InvalidField::new("top_p", "top_p must be between 0 and 1"));
    }
    let stop = match wire.stop {
        None => Vec::new(),
        Some(Stop::One(s)) => vec![s],
        Some(Stop::Many(v)) if v.len() > MAX_STOP => {
            return Err(InvalidField::new(
                "stop",
                "at most 4 stop sequences are allowed",
            ));
        }
        Some(Stop::Many(v)) => v,
    };
    let messages = wire
        .messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| message_from_wire(i, m))
        .collect::<Result<Vec<_>, _>>()?;
    let tools = wire
        .tools
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, t)| tool_from_wire(i, t))
        .collect::<Result<Vec<_>, _>>()?;
    let tool_choice = wire.tool_choice.map(tool_choice_from_wire).transpose()?;
    let response_format = wire
        .response_format
        .map(response_format_from_wire)
        .transpose()?;
    let stream = wire.stream == Some(true);
    let include_usage = stream
        && wire
            .stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false);
    Ok(InboundChat {
        request: ChatRequest {
            model: wire.model,
            messages,
            max_tokens,
            temperature: wire.temperature,
            top_p: wire.top_p,
            stop,
            seed: wire.seed,
            tools,
            tool_choice,
            response_format,
            user: wire.user,
            extra: wire.extra,
        },
        stream,
        include_usage,
    })
}

fn message_from_wire(i: usize, m: RequestMessage) -> Result<ChatMessage, InvalidField> {
    let at = |field: &str| format!("messages[{i}].{field}");
    let role = match m.role {
        MessageRole::System | MessageRole::Developer => ChatRole::System,
        MessageRole::User => ChatRole::User,
        MessageRole::Assistant => ChatRole::Assistant,
        MessageRole::Tool => ChatRole::Tool,
    };
    let content = match m.content {
        None if role == ChatRole::Assistant => MessageContent::default(),
        None => {
            return Err(InvalidField::new(
                at("content"),
                "content is required for this role",
            ));
        }
        Some(RequestContent::Text(t)) => MessageContent::Text(t),
        Some(RequestContent::Parts(parts)) => {
            let parts = parts
                .into_iter()
                .enumerate()
                .map(|(j, p)| part_from_wire(i, j, role, p))
                .collect::<Result<Vec<_>, _>>()?;
            MessageContent::Parts(parts)
        }
    };
    let tool_calls = match m.tool_calls {
        Some(calls) if !calls.is_empty() && role != ChatRole::Assistant => {
            return Err(InvalidField::new(
                at("tool_calls"),
                "tool_calls are only allowed on assistant messages",
            ));
        }
        Some(calls) => calls
            .into_iter()
            .enumerate()
            .map(|(k, c)| tool_call_from_wire(i, k, c))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let tool_call_id = m.tool_call_id.filter(|id| !id.is_empty());
    if role == ChatRole::Tool && tool_call_id.is_none() {
        return Err(InvalidField::new(
            at("tool_call_id"),
            "a tool message needs the tool_call_id it answers",
        ));
    }
    Ok(ChatMessage {
        role,
        content,
        name: m.name,
        tool_calls,
        tool_call_id,
    })
}

fn part_from_wire(
    i: usize,
    j: usize,
    role: ChatRole,
    part: ContentPartWire,
) -> Result<ContentPart, InvalidField> {
    match part {
        ContentPartWire::Text { text } => Ok(ContentPart::Text(text)),
        ContentPartWire::ImageUrl { .. } if role != ChatRole::User => Err(InvalidField::new(
            format!("messages[{i}].content[{j}]"),
            "image parts are only allowed in user messages",
        )),
        ContentPartWire::ImageUrl { image_url } if image_url.url.trim().is_empty() => {
            Err(InvalidField::new(
                format!("messages[{i}].content[{j}].image_url.url"),
                "the image url must not be empty",
            ))
        }
        ContentPartWire::ImageUrl { image_url } => Ok(ContentPart::Image(ImagePart {
            url: image_url.url,
            detail: image_url.detail,
        })),
        ContentPartWire::Unsupported => Err(InvalidField::new(
            format!("messages[{i}].content[{j}].type"),
            "only text and image_url content parts are supported",
        )),
    }
}

fn tool_call_from_wire(i: usize, k: usize, c: ToolCallWire) -> Result<ToolCall, InvalidField> {
    let at = |field: &str| format!("messages[{i}].tool_calls[{k}].{field}");
    if c.kind != "function" {
        return Err(InvalidField::new(
            at("type"),
            "only function tool calls are supported",
        ));
    }
    if c.id.is_empty() {
        return Err(InvalidField::new(at("id"), "the tool call id is required"));
    }
    if c.function.name.is_empty() {
        return Err(InvalidField::new(
            at("function.name"),
            "the function name is required",
        ));
    }
    Ok(ToolCall {
        id: c.id,
        name: c.function.name,
        arguments: c.function.arguments,
    })
}

fn tool_from_wire(i: usize, t: Tool) -> Result<ToolDefinition, InvalidField> {
    if t.kind != "function" {
        return Err(InvalidField::new(
            format!("tools[{i}].type"),
            "only function tools are supported",
        ));
    }
    if t.function.name.is_empty() {
        return Err(InvalidField::new(
            format!("tools[{i}].function.name"),
            "the function name is required",
        ));
    }
    Ok(ToolDefinition {
        name: t.function.name,
        description: t.function.description,
        parameters: t.function.parameters,
        strict: t.function.strict,
    })
}

fn tool_choice_from_wire(c: ToolChoiceWire) -> Result<ToolChoice, InvalidField> {
    match c {
        ToolChoiceWire::Mode(m) => match m.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            _ => Err(InvalidField::new(
                "tool_choice",
                "tool_choice must be none, auto, required or a named function",
            )),
        },
        ToolChoiceWire::Named(n) if n.kind != "function" => Err(InvalidField::new(
            "tool_choice.type",
            "only function tool choices are supported",
        )),
        ToolChoiceWire::Named(n) if n.function.name.is_empty() => Err(InvalidField::new(
            "tool_choice.function.name",
            "the function name is required",
        )),
        ToolChoiceWire::Named(n) => Ok(ToolChoice::Function(n.function.name)),
    }
}

fn response_format_from_wire(f: ResponseFormatWire) -> Result<ResponseFormat, InvalidField> {
    Ok(match f {
        ResponseFormatWire::Text => ResponseFormat::Text,
        ResponseFormatWire::JsonObject => ResponseFormat::JsonObject,
        ResponseFormatWire::JsonSchema { json_schema } => {
            if json_schema.name.is_empty() {
                return Err(InvalidField::new(
                    "response_format.json_schema.name",
                    "the schema name is required",
                ));
            }
            ResponseFormat::JsonSchema {
                name: json_schema.name,
                description: json_schema.description,
                schema: json_schema.schema,
                strict: json_schema.strict,
            }
        }
    })
}

/// The wire `finish_reason` of a canonical one. `stopped` (the caller stopped) and `error`
/// have no OpenAI spelling and read as `stop`.
pub fn finish_reason_to_wire(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop | FinishReason::Stopped | FinishReason::Error => "stop",
        FinishReason::Length => "length",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::ToolCalls => "tool_calls",
    }
}

fn usage_to_wire(usage: Option<Usage>) -> WireUsage {
    let u = usage.unwrap_or_default();
    WireUsage {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        total_tokens: u.total_tokens(),
    }
}

/// The `chat.completion` object for a canonical reply: one choice; `content` is `null` when
/// the model only called tools; `finish_reason` from the reply (or `tool_calls`/`stop` when it
/// has none); `usage` from the reply, zeros when it has none; `refusal` and `logprobs` `null`.
/// `id` is the completion id (`chatcmpl-…`), `created` Unix seconds, `model` the id the client
/// asked for.
pub fn chat_completion_to_wire(
    response: &ChatResponse,
    id: &str,
    created: i64,
    model: &str,
) -> ChatCompletion {
    let has_tools = !response.tool_calls.is_empty();
    let content = if has_tools && response.content.is_empty() {
        None
    } else {
        Some(response.content.clone())
    };
    let finish = response.finish_reason.map_or(
        if has_tools { "tool_calls" } else { "stop" },
        finish_reason_to_wire,
    );
    ChatCompletion {
        id: id.to_owned(),
        object: "chat.completion".to_owned(),
        created,
        model: model.to_owned(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".to_owned(),
                content,
                refusal: None,
                tool_calls: has_tools.then(|| {
                    response
                        .tool_calls
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
            },
            logprobs: None,
            finish_reason: Some(finish.to_owned()),
        }],
        usage: Some(usage_to_wire(response.usage)),
        system_fingerprint: None,
    }
}

/// Turns canonical stream chunks into `chat.completion.chunk` events, as OpenAI streams them.
///
/// The first event carries `delta.role: "assistant"` (with `content: ""` when the first chunk
/// has no text); text goes to `delta.content`; tool-call pieces to `delta.tool_calls` (with
/// `type: "function"` on the first piece of each call); a finish reason is an event of its own
/// with an empty delta; usage is a final event with `choices: []`, sent only when the client
/// asked for it (`include_usage`) and dropped otherwise.
#[derive(Debug, Clone)]
pub struct ChunkEncoder {
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
    started: bool,
    started_calls: Vec<u32>,
}

impl ChunkEncoder {
    /// An encoder for one stream: every event gets this `id` (`chatcmpl-…`), `created` (Unix
    /// seconds) and `model`.
    pub fn new(id: String, created: i64, model: String, include_usage: bool) -> Self {
        ChunkEncoder {
            id,
            created,
            model,
            include_usage,
            started: false,
            started_calls: Vec::new(),
        }
    }

    fn event(
        &self,
        delta: ChunkDelta,
        finish: Option<&str>,
        usage: Option<WireUsage>,
    ) -> ChatCompletionChunk {
        let choices = if usage.is_some() {
            Vec::new()
        } else {
            vec![ChunkChoice {
                index: 0,
                delta,
                logprobs: None,
                finish_reason: finish.map(str::to_owned),
            }]
        };
        ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created,
            model: self.model.clone(),
            system_fingerprint: None,
            choices,
            usage,
        }
    }

    /// The events for one canonical chunk (none for an empty chunk or a usage-only chunk when
    /// usage was not asked for).
    pub fn encode(&mut self, chunk: &ChatChunk) -> Vec<ChatCompletionChunk> {
        let mut out = Vec::new();
        let mut delta = ChunkDelta {
            content: chunk.delta.clone().filter(|d| !d.is_empty()),
            ..ChunkDelta::default()
        };
        if !chunk.tool_calls.is_empty() {
            let calls = chunk
                .tool_calls
                .iter()
                .map(|c| {
                    let first = !self.started_calls.contains(&c.index);
                    if first {
                        self.started_calls.push(c.index);
                    }
                    ToolCallChunk {
                        index: c.index,
                        id: c.id.clone(),
                        kind: first.then(|| "function".to_owned()),
                        function: Some(FunctionCallChunk {
                            name: c.name.clone(),
                            arguments: c.arguments.clone().or_else(|| first.then(String::new)),
                        }),
                    }
                })
                .collect();
            delta.tool_calls = Some(calls);
        }
        let has_delta = delta.content.is_some() || delta.tool_calls.is_some();
        if !self.started && (has_delta || chunk.finish_reason.is_some()) {
            self.started = true;
            if has_delta {
                delta.role = Some("assistant".to_owned());
                if delta.content.is_none() {
                    delta.content = Some(String::new());
                }
            } else {
                out.push(self.event(
                    ChunkDelta {
                        role: Some("assistant".to_owned()),
                        content: Some(String::new()),
                        ..ChunkDelta::default()
                    },
                    None,
                    None,
                ));
            }
        }
        if has_delta {
            out.push(self.event(delta, None, None));
        }
        if let Some(reason) = chunk.finish_reason {
            out.push(self.event(
                ChunkDelta::default(),
                Some(finish_reason_to_wire(reason)),
                None,
            ));
        }
        if self.include_usage
            && let Some(usage) = chunk.usage
        {
            out.push(self.event(
                ChunkDelta::default(),
                None,
                Some(usage_to_wire(Some(usage))),
            ));
        }
        out
    }
}

/// OpenAI's in-stream error object, sent as a `data:` event when a stream fails after it
/// started: `{"error": {"message", "type", "code", "param": null}}`. `code` is the gateway's
/// error code (`upstream_unavailable`, …), `kind` its error type (`server_error`, …).
pub fn error_event(code: &str, message: &str, kind: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "code": code, "param": null}})
}

/// Converts a client's embeddings request: `input` is a string or a non-empty array of at most
/// 2048 non-empty strings (token arrays are refused); `encoding_format` is `float` (default) or
/// `base64`; `dimensions` at least 1. Returns the canonical request and whether the client
/// wants base64 vectors. `user` and unknown fields are dropped (the canonical request has no
/// place for them).
///
/// # Errors
/// [`InvalidField`] naming `input`, `input[i]`, `encoding_format` or `dimensions`.
pub fn embeddings_request_from_wire(
    wire: EmbeddingsRequest,
) -> Result<(EmbeddingRequest, bool), InvalidField> {
    let input = match wire.input {
        EmbeddingInput::Text(t) if t.is_empty() => {
            return Err(InvalidField::new("input", "input must not be empty"));
        }
        EmbeddingInput::Text(t) => vec![t],
        EmbeddingInput::Texts(v) if v.is_empty() => {
            return Err(InvalidField::new("input", "input must not be empty"));
        }
        EmbeddingInput::Texts(v) if v.len() > MAX_EMBEDDING_INPUTS => {
            return Err(InvalidField::new(
                "input",
                "at most 2048 inputs are allowed per request",
            ));
        }
        EmbeddingInput::Texts(v) => {
            if let Some(i) = v.iter().position(String::is_empty) {
                return Err(InvalidField::new(
                    format!("input[{i}]"),
                    "input must not contain empty strings",
                ));
            }
            v
        }
        EmbeddingInput::Tokens(_) | EmbeddingInput::TokenBatches(_) => {
            return Err(InvalidField::new(
                "input",
                "token arrays are not supported; send text",
            ));
        }
    };
    let base64 = match wire.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => {
            return Err(InvalidField::new(
                "encoding_format",
                "encoding_format must be float or base64",
            ));
        }
    };
    if wire.dimensions == Some(0) {
        return Err(InvalidField::new(
            "dimensions",
            "dimensions must be at least 1",
        ));
    }
    Ok((
        EmbeddingRequest {
            model: wire.model,
            input,
            dimensions: wire.dimensions,
        },
        base64,
    ))
}

/// A vector as OpenAI's `encoding_format: "base64"` sends it: its little-endian `f32` bytes in
/// standard base64 (with padding).
pub fn embedding_to_base64(vector: &[f32]) -> String {
    let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
    BASE64.encode(bytes)
}

/// Reads a base64 vector back ([`embedding_to_base64`]'s inverse); `None` when the text is not
/// base64 or its length is not a multiple of 4 bytes.
pub fn embedding_from_base64(text: &str) -> Option<Vec<f32>> {
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

/// The embeddings reply for a canonical one: one `embedding` object per vector, indexed in
/// order, as floats or (`base64`) [`embedding_to_base64`]; `usage.total_tokens` equals
/// `prompt_tokens`. `model` is the id the client asked for.
pub fn embeddings_to_wire(
    response: &EmbeddingResponse,
    model: &str,
    base64: bool,
) -> EmbeddingsResponse {
    let data = response
        .embeddings
        .iter()
        .enumerate()
        .map(|(i, v)| Embedding {
            object: "embedding".to_owned(),
            index: u32::try_from(i).unwrap_or(u32::MAX),
            embedding: if base64 {
                EmbeddingVector::Base64(embedding_to_base64(v))
            } else {
                EmbeddingVector::Float(v.clone())
            },
        })
        .collect();
    EmbeddingsResponse {
        object: "list".to_owned(),
        data,
        model: model.to_owned(),
        usage: Some(EmbeddingsUsage {
            prompt_tokens: response.usage.prompt_tokens,
            total_tokens: response.usage.prompt_tokens,
        }),
    }
}

/// The `GET /v1/models` list for `(id, owned_by)` pairs, every model with the same `created`
/// (Unix seconds).
pub fn model_list_to_wire(models: &[(String, String)], created: i64) -> ModelList {
    ModelList {
        object: "list".to_owned(),
        data: models
            .iter()
            .map(|(id, owned_by)| Model {
                id: id.clone(),
                object: "model".to_owned(),
                created,
                owned_by: owned_by.clone(),
            })
            .collect(),
    }
}

// =============================================================================================
// Adapter side: canonical → upstream request, upstream reply → canonical.
// =============================================================================================

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

#[cfg(test)]
mod tests;
