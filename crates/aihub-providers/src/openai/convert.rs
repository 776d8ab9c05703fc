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
mod tests {
    use super::*;
    use serde_json::json;

    // ---- fixtures recorded from OpenAI's API reference ----

    /// The `chat.completion` object from OpenAI's API reference.
    const COMPLETION: &str = r#"{
      "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
      "object": "chat.completion",
      "created": 1741569952,
      "model": "gpt-4.1-2025-04-14",
      "choices": [
        {
          "index": 0,
          "message": {
            "role": "assistant",
            "content": "Hello! How can I assist you today?",
            "refusal": null,
            "annotations": []
          },
          "logprobs": null,
          "finish_reason": "stop"
        }
      ],
      "usage": {
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29,
        "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 },
        "completion_tokens_details": {
          "reasoning_tokens": 0,
          "audio_tokens": 0,
          "accepted_prediction_tokens": 0,
          "rejected_prediction_tokens": 0
        }
      },
      "service_tier": "default"
    }"#;

    /// A tool-call reply from OpenAI's function-calling guide.
    const TOOL_COMPLETION: &str = r#"{
      "id": "chatcmpl-abc123",
      "object": "chat.completion",
      "created": 1699896916,
      "model": "gpt-4o-mini",
      "choices": [
        {
          "index": 0,
          "message": {
            "role": "assistant",
            "content": null,
            "tool_calls": [
              {
                "id": "call_abc123",
                "type": "function",
                "function": {
                  "name": "get_current_weather",
                  "arguments": "{\n\"location\": \"Boston, MA\"\n}"
                }
              }
            ]
          },
          "logprobs": null,
          "finish_reason": "tool_calls"
        }
      ],
      "usage": { "prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99 }
    }"#;

    /// The streamed chunks from OpenAI's API reference, with `stream_options.include_usage`.
    const CHUNKS: [&str; 5] = [
        r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#,
        r#"{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"#,
    ];

    /// Streamed tool-call chunks as OpenAI sends them.
    const TOOL_CHUNKS: [&str; 4] = [
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":""}}],"refusal":null},"logprobs":null,"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]},"logprobs":null,"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"logprobs":null,"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}"#,
    ];

    /// A llama.cpp server's finishing chunk: usage on the same chunk and a non-standard
    /// `timings` object.
    const LLAMA_CPP_FINAL: &str = r#"{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1736272934,"id":"chatcmpl-6Yx0xWfJt5dJtN2eKzGv9uYbQvLq1aPz","model":"qwen2.5-7b-instruct-q4_k_m.gguf","system_fingerprint":"b4410-0da5d860","object":"chat.completion.chunk","usage":{"completion_tokens":12,"prompt_tokens":25,"total_tokens":37},"timings":{"prompt_n":25,"prompt_ms":110.342,"predicted_n":12,"predicted_ms":301.12}}"#;

    fn decode_all(chunks: &[&str]) -> Vec<Option<ChatChunk>> {
        let mut decoder = ChunkDecoder::default();
        chunks
            .iter()
            .map(|c| decoder.decode(serde_json::from_str(c).expect("fixture parses")))
            .collect()
    }

    fn usage(prompt: u32, completion: u32) -> Option<Usage> {
        Some(Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            estimated: false,
        })
    }

    // ---- adapter side: upstream replies → canonical ----

    #[test]
    fn completion_fixture_maps_text_finish_and_usage() {
        let wire: ChatCompletion = serde_json::from_str(COMPLETION).expect("parses");
        let got = from_wire_response(wire).expect("maps");
        assert_eq!(
            got.id.as_deref(),
            Some("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT")
        );
        assert_eq!(got.model, "gpt-4.1-2025-04-14");
        assert_eq!(got.content, "Hello! How can I assist you today?");
        assert_eq!(got.finish_reason, Some(FinishReason::Stop));
        assert_eq!(got.usage, usage(19, 10));
        assert!(got.tool_calls.is_empty());
    }

    #[test]
    fn tool_call_completion_maps_calls() {
        let wire: ChatCompletion = serde_json::from_str(TOOL_COMPLETION).expect("parses");
        let got = from_wire_response(wire).expect("maps");
        assert_eq!(got.content, "");
        assert_eq!(got.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(
            got.tool_calls,
            vec![ToolCall {
                id: "call_abc123".into(),
                name: "get_current_weather".into(),
                arguments: "{\n\"location\": \"Boston, MA\"\n}".into(),
            }]
        );
    }

    #[test]
    fn refusal_counts_as_content() {
        let mut wire: Value = serde_json::from_str(COMPLETION).expect("parses");
        wire["choices"][0]["message"]["content"] = Value::Null;
        wire["choices"][0]["message"]["refusal"] = json!("I can't help with that.");
        let got = from_wire_response(serde_json::from_value(wire).expect("parses")).expect("maps");
        assert_eq!(got.content, "I can't help with that.");
    }

    #[test]
    fn completion_without_choices_is_invalid() {
        let mut wire: Value = serde_json::from_str(COMPLETION).expect("parses");
        wire["choices"] = json!([]);
        let err = from_wire_response(serde_json::from_value(wire).expect("parses"))
            .expect_err("no choices");
        assert_eq!(err.code, ErrorCode::UpstreamInvalidResponse);
    }

    #[test]
    fn stream_fixture_maps_deltas_finish_and_usage_chunk() {
        let got = decode_all(&CHUNKS);
        assert_eq!(got[0], None, "the role-only opening chunk carries nothing");
        assert_eq!(
            got[1].as_ref().and_then(|c| c.delta.as_deref()),
            Some("Hello")
        );
        assert_eq!(got[2].as_ref().and_then(|c| c.delta.as_deref()), Some("!"));
        assert_eq!(
            got[3],
            Some(ChatChunk {
                finish_reason: Some(FinishReason::Stop),
                ..ChatChunk::default()
            })
        );
        assert_eq!(
            got[4],
            Some(ChatChunk {
                usage: usage(9, 2),
                ..ChatChunk::default()
            })
        );
    }

    #[test]
    fn streamed_tool_calls_map_to_pieces() {
        let got = decode_all(&TOOL_CHUNKS);
        let first = got[0].as_ref().expect("first piece");
        assert_eq!(
            first.tool_calls,
            vec![ToolCallDelta {
                index: 0,
                id: Some("call_DdmO9pD3xa9XTPNJ32zg2hcA".into()),
                name: Some("get_weather".into()),
                arguments: None,
            }]
        );
        let args: String = got[1..3]
            .iter()
            .flat_map(|c| &c.as_ref().expect("piece").tool_calls)
            .filter_map(|t| t.arguments.as_deref())
            .collect();
        assert_eq!(args, r#"{"location":"Paris"}"#);
        assert!(
            got[1..3]
                .iter()
                .all(|c| c.as_ref().expect("piece").tool_calls[0].id.is_none())
        );
        assert_eq!(
            got[3].as_ref().and_then(|c| c.finish_reason),
            Some(FinishReason::ToolCalls)
        );
    }

    #[test]
    fn tool_calls_without_ids_get_one_and_repeated_names_are_dropped() {
        let mut decoder = ChunkDecoder::default();
        let chunk =
            |json: Value| -> ChatCompletionChunk { serde_json::from_value(json).expect("parses") };
        let first = decoder
            .decode(chunk(
                json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"name": "f", "arguments": "{\"a\""}}]}}]}),
            ))
            .expect("piece");
        assert!(
            first.tool_calls[0]
                .id
                .as_deref()
                .is_some_and(|id| id.starts_with("call_"))
        );
        let second = decoder
            .decode(chunk(
                json!({"choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"name": "f", "arguments": ":1}"}}]}}]}),
            ))
            .expect("piece");
        assert_eq!(
            second.tool_calls,
            vec![ToolCallDelta {
                index: 0,
                arguments: Some(":1}".into()),
                ..ToolCallDelta::default()
            }]
        );
    }

    #[test]
    fn llama_cpp_chunk_with_timings_is_tolerated() {
        assert_eq!(
            decode_all(&[LLAMA_CPP_FINAL])[0],
            Some(ChatChunk {
                finish_reason: Some(FinishReason::Stop),
                usage: usage(25, 12),
                ..ChatChunk::default()
            })
        );
    }

    #[test]
    fn chunks_without_choices_or_with_unknown_fields_are_fine() {
        let got = decode_all(&[
            r#"{"id":"x","object":"chat.completion.chunk","created":1,"model":"m"}"#,
            r#"{"choices":[{"index":0,"delta":{"content":"Hi","reasoning_content":"hmm"},"extra":1}],"x_groq":{"id":"req"}}"#,
            r#"{"choices":[{"index":0,"delta":{"refusal":"No."},"finish_reason":null}]}"#,
            r#"{"choices":[{"index":0,"delta":{},"finish_reason":"error"}]}"#,
        ]);
        assert_eq!(got[0], None);
        assert_eq!(got[1].as_ref().and_then(|c| c.delta.as_deref()), Some("Hi"));
        assert_eq!(
            got[2].as_ref().and_then(|c| c.delta.as_deref()),
            Some("No.")
        );
        assert_eq!(
            got[3].as_ref().and_then(|c| c.finish_reason),
            Some(FinishReason::Error)
        );
    }

    #[test]
    fn finish_reasons_map() {
        let cases = [
            ("stop", FinishReason::Stop),
            ("length", FinishReason::Length),
            ("content_filter", FinishReason::ContentFilter),
            ("tool_calls", FinishReason::ToolCalls),
            ("function_call", FinishReason::ToolCalls),
            ("error", FinishReason::Error),
            ("eos", FinishReason::Stop),
        ];
        for (wire, want) in cases {
            assert_eq!(finish_reason_from_wire(wire), want, "{wire}");
        }
    }

    // ---- adapter side: canonical → upstream request ----

    fn request() -> ChatRequest {
        ChatRequest {
            model: "gpt-4o-mini".into(),
            messages: vec![
                ChatMessage::new(ChatRole::System, "Be brief."),
                ChatMessage::new(ChatRole::User, "Hi"),
                ChatMessage::new(ChatRole::Assistant, "Hello."),
                ChatMessage::new(ChatRole::User, "Bye"),
            ],
            max_tokens: Some(50),
            temperature: Some(0.5),
            ..ChatRequest::default()
        }
    }

    #[test]
    fn streaming_request_asks_for_usage() {
        let wire = serde_json::to_value(to_wire_request(&request(), ProviderKind::Openai, true))
            .expect("serializes");
        assert_eq!(
            wire,
            json!({
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello."},
                    {"role": "user", "content": "Bye"}
                ],
                "max_completion_tokens": 50,
                "temperature": 0.5,
                "stream": true,
                "stream_options": {"include_usage": true}
            })
        );
    }

    #[test]
    fn compatible_request_uses_max_tokens_and_no_stream_fields() {
        let wire = serde_json::to_value(to_wire_request(
            &request(),
            ProviderKind::OpenaiCompatible,
            false,
        ))
        .expect("serializes");
        assert_eq!(wire["max_tokens"], json!(50));
        assert!(wire.get("max_completion_tokens").is_none(), "{wire}");
        assert!(wire.get("stream").is_none(), "{wire}");
        assert!(wire.get("stream_options").is_none(), "{wire}");
    }

    #[test]
    fn every_canonical_field_reaches_the_wire() {
        let mut r = request();
        r.messages = vec![
            ChatMessage {
                role: ChatRole::User,
                content: MessageContent::Parts(vec![
                    ContentPart::Text("What is it?".into()),
                    ContentPart::Image(ImagePart {
                        url: "data:image/png;base64,iVBORw0KGgo=".into(),
                        detail: Some("low".into()),
                    }),
                ]),
                ..ChatMessage::default()
            },
            ChatMessage {
                role: ChatRole::Assistant,
                tool_calls: vec![ToolCall {
                    id: "call_1".into(),
                    name: "look".into(),
                    arguments: "{}".into(),
                }],
                ..ChatMessage::default()
            },
            ChatMessage {
                role: ChatRole::Tool,
                content: "a cat".into(),
                tool_call_id: Some("call_1".into()),
                ..ChatMessage::default()
            },
        ];
        r.top_p = Some(0.9);
        r.stop = vec!["END".into()];
        r.seed = Some(42);
        r.user = Some("u-1".into());
        r.tools = vec![ToolDefinition {
            name: "look".into(),
            description: Some("Looks.".into()),
            parameters: Some(json!({"type": "object"})),
            strict: None,
        }];
        r.tool_choice = Some(ToolChoice::Function("look".into()));
        r.response_format = Some(ResponseFormat::JsonObject);
        r.extra.insert("logprobs".into(), json!(true));
        r.extra.insert("provider".into(), json!({"sort": "price"}));
        r.extra.insert("stream".into(), json!(true));
        let wire = serde_json::to_value(to_wire_request(&r, ProviderKind::Openrouter, false))
            .expect("serializes");
        assert_eq!(
            wire["messages"],
            json!([
                {"role": "user", "content": [
                    {"type": "text", "text": "What is it?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{}"}}
                ]},
                {"role": "tool", "content": "a cat", "tool_call_id": "call_1"}
            ])
        );
        assert_eq!(wire["top_p"], 0.9);
        assert_eq!(wire["stop"], json!(["END"]));
        assert_eq!(wire["seed"], 42);
        assert_eq!(wire["user"], "u-1");
        assert_eq!(
            wire["tools"],
            json!([{"type": "function", "function": {"name": "look", "description": "Looks.", "parameters": {"type": "object"}}}])
        );
        assert_eq!(
            wire["tool_choice"],
            json!({"type": "function", "function": {"name": "look"}})
        );
        assert_eq!(wire["response_format"], json!({"type": "json_object"}));
        assert_eq!(wire["logprobs"], true);
        assert_eq!(wire["provider"], json!({"sort": "price"}));
        assert!(
            wire.get("stream").is_none(),
            "extra cannot override a typed field: {wire}"
        );
    }

    #[test]
    fn model_list_tolerates_missing_fields() {
        let list: ModelList = serde_json::from_str(
            r#"{"object":"list","data":[
                {"id":"gpt-4o-mini","object":"model","created":1686935002,"owned_by":"openai"},
                {"id":"qwen2-7b","object":"model","owned_by":""},
                {"id":"llama3","owned_by":null}
            ]}"#,
        )
        .expect("parses");
        assert_eq!(
            models(list),
            vec![
                ModelInfo {
                    id: "gpt-4o-mini".into(),
                    owned_by: Some("openai".into())
                },
                ModelInfo {
                    id: "qwen2-7b".into(),
                    owned_by: None
                },
                ModelInfo {
                    id: "llama3".into(),
                    owned_by: None
                },
            ]
        );
    }

    #[test]
    fn upstream_embeddings_are_put_in_input_order() {
        let wire: EmbeddingsResponse = serde_json::from_value(json!({
            "object": "list",
            "data": [
                {"object": "embedding", "index": 1, "embedding": [1.0, 1.5]},
                {"object": "embedding", "index": 0, "embedding": embedding_to_base64(&[0.25, -2.0])}
            ],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 5, "total_tokens": 5}
        }))
        .expect("parses");
        let got = from_wire_embeddings(wire.clone(), 2, "x").expect("maps");
        assert_eq!(got.embeddings, vec![vec![0.25, -2.0], vec![1.0, 1.5]]);
        assert_eq!(got.usage, usage(5, 0).expect("usage"));
        assert_eq!(got.model, "text-embedding-3-small");
        let err = from_wire_embeddings(wire, 3, "x").expect_err("count mismatch");
        assert_eq!(err.code, ErrorCode::UpstreamInvalidResponse);
    }

    #[test]
    fn embeddings_without_usage_are_estimated() {
        let wire: EmbeddingsResponse = serde_json::from_value(json!({
            "data": [{"embedding": [1.0]}]
        }))
        .expect("parses");
        let got = from_wire_embeddings(wire, 1, "nomic-embed-text").expect("maps");
        assert!(got.usage.estimated);
        assert_eq!(got.model, "nomic-embed-text");
    }

    #[test]
    fn embeddings_request_asks_for_floats() {
        let wire = serde_json::to_value(to_wire_embeddings(&EmbeddingRequest {
            model: "text-embedding-3-small".into(),
            input: vec!["a".into(), "b".into()],
            dimensions: Some(256),
        }))
        .expect("serializes");
        assert_eq!(
            wire,
            json!({"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 256, "encoding_format": "float"})
        );
    }

    // ---- gateway side: a client's request → canonical ----

    fn inbound(body: Value) -> Result<InboundChat, InvalidField> {
        chat_request_from_wire(serde_json::from_value(body).expect("wire parses"))
    }

    fn param_of(body: Value) -> String {
        inbound(body).expect_err("invalid").param
    }

    #[test]
    fn inbound_request_maps_every_field() {
        let got = inbound(json!({
            "model": "openrouter/x-ai/grok-beta",
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "name": "ann", "content": [
                    {"type": "text", "text": "What is it?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "high"}}
                ]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "a cat"}
            ],
            "max_tokens": 10,
            "max_completion_tokens": 20,
            "temperature": 2,
            "top_p": 0.5,
            "stop": "END",
            "seed": 7,
            "tools": [{"type": "function", "function": {"name": "look", "parameters": {"type": "object"}, "strict": true}}],
            "tool_choice": "required",
            "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": true}},
            "user": "u-1",
            "n": 1,
            "stream": true,
            "stream_options": {"include_usage": true},
            "logprobs": true,
            "provider": {"order": ["openai"]}
        }))
        .expect("valid");
        assert!(got.stream && got.include_usage);
        let r = got.request;
        assert_eq!(r.model, "openrouter/x-ai/grok-beta");
        assert_eq!(r.max_tokens, Some(20), "max_completion_tokens wins");
        assert_eq!(r.temperature, Some(2.0));
        assert_eq!(r.top_p, Some(0.5));
        assert_eq!(r.stop, vec!["END".to_owned()]);
        assert_eq!(r.seed, Some(7));
        assert_eq!(r.user.as_deref(), Some("u-1"));
        assert_eq!(r.messages[0].role, ChatRole::System);
        assert_eq!(r.messages[1].name.as_deref(), Some("ann"));
        assert_eq!(
            r.messages[1].content.images().collect::<Vec<_>>(),
            vec![&ImagePart {
                url: "https://example.com/cat.png".into(),
                detail: Some("high".into())
            }]
        );
        assert_eq!(r.messages[2].tool_calls[0].name, "look");
        assert!(r.messages[2].content.is_empty());
        assert_eq!(r.messages[3].tool_call_id.as_deref(), Some("call_1"));
        assert_eq!(r.tools[0].strict, Some(true));
        assert_eq!(r.tool_choice, Some(ToolChoice::Required));
        assert!(matches!(
            r.response_format,
            Some(ResponseFormat::JsonSchema { ref name, .. }) if name == "out"
        ));
        assert_eq!(r.extra.len(), 2);
        assert_eq!(r.extra["provider"], json!({"order": ["openai"]}));
    }

    #[test]
    fn inbound_defaults_are_not_streaming() {
        let got = inbound(
            json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}],
                                 "stream_options": {"include_usage": true}}),
        )
        .expect("valid");
        assert!(!got.stream && !got.include_usage);
        assert_eq!(got.request.max_tokens, None);
        assert!(got.request.extra.is_empty());
    }

    #[test]
    fn inbound_validation_names_the_field() {
        let user = json!({"role": "user", "content": "Hi"});
        let cases = [
            (json!({"model": "m", "messages": []}), "messages"),
            (json!({"model": "m", "messages": [user], "n": 2}), "n"),
            (
                json!({"model": "m", "messages": [user], "temperature": 2.5}),
                "temperature",
            ),
            (
                json!({"model": "m", "messages": [user], "temperature": -0.1}),
                "temperature",
            ),
            (
                json!({"model": "m", "messages": [user], "top_p": 1.5}),
                "top_p",
            ),
            (
                json!({"model": "m", "messages": [user], "max_tokens": 0}),
                "max_tokens",
            ),
            (
                json!({"model": "m", "messages": [user], "stop": ["a", "b", "c", "d", "e"]}),
                "stop",
            ),
            (
                json!({"model": "m", "messages": [user, {"role": "tool", "content": "x"}]}),
                "messages[1].tool_call_id",
            ),
            (
                json!({"model": "m", "messages": [user, user, {"role": "user", "content": null}]}),
                "messages[2].content",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [
                    {"type": "text", "text": "x"}, {"type": "input_audio", "input_audio": {}}]}]}),
                "messages[0].content[1].type",
            ),
            (
                json!({"model": "m", "messages": [{"role": "system", "content": [
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]}),
                "messages[0].content[0]",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x",
                    "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]}),
                "messages[0].tool_calls",
            ),
            (
                json!({"model": "m", "messages": [user], "tools": [{"type": "code_interpreter", "function": {"name": "f"}}]}),
                "tools[0].type",
            ),
            (
                json!({"model": "m", "messages": [user], "tool_choice": "sometimes"}),
                "tool_choice",
            ),
        ];
        for (body, param) in cases {
            assert_eq!(param_of(body.clone()), param, "{body}");
        }
        assert_eq!(
            inbound(json!({"model": "m", "messages": [user], "stop": ["a", "b", "c", "d"]}))
                .expect("four stops are fine")
                .request
                .stop
                .len(),
            4
        );
    }

    // ---- gateway side: canonical → the client's reply ----

    #[test]
    fn completion_to_wire_is_openai_shaped() {
        let response = ChatResponse {
            id: Some("upstream-id".into()),
            model: "gpt-4o-mini-2024-07-18".into(),
            content: "Hi!".into(),
            tool_calls: Vec::new(),
            finish_reason: Some(FinishReason::Stopped),
            usage: usage(3, 2),
        };
        let wire = serde_json::to_value(chat_completion_to_wire(
            &response,
            "chatcmpl-1",
            1700000000,
            "openai/gpt-4o-mini",
        ))
        .expect("serializes");
        assert_eq!(
            wire,
            json!({
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 1700000000,
                "model": "openai/gpt-4o-mini",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hi!", "refusal": null},
                    "logprobs": null,
                    "finish_reason": "stop"
                }],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
            })
        );
    }

    #[test]
    fn tool_call_completion_to_wire_has_null_content() {
        let response = ChatResponse {
            id: None,
            model: "m".into(),
            content: String::new(),
            tool_calls: vec![ToolCall {
                id: "call_1".into(),
                name: "f".into(),
                arguments: "{}".into(),
            }],
            finish_reason: None,
            usage: None,
        };
        let wire = serde_json::to_value(chat_completion_to_wire(&response, "c", 1, "m"))
            .expect("serializes");
        let choice = &wire["choices"][0];
        assert_eq!(choice["message"]["content"], Value::Null);
        assert_eq!(
            choice["message"]["tool_calls"],
            json!([{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}])
        );
        assert_eq!(choice["finish_reason"], "tool_calls");
        assert_eq!(
            wire["usage"],
            json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})
        );
    }

    fn encode_all(encoder: &mut ChunkEncoder, chunks: &[ChatChunk]) -> Vec<Value> {
        chunks
            .iter()
            .flat_map(|c| encoder.encode(c))
            .map(|c| serde_json::to_value(c).expect("serializes"))
            .collect()
    }

    fn text(s: &str) -> ChatChunk {
        ChatChunk {
            delta: Some(s.into()),
            ..ChatChunk::default()
        }
    }

    fn finish_and_usage() -> ChatChunk {
        ChatChunk {
            finish_reason: Some(FinishReason::Stop),
            usage: usage(9, 2),
            ..ChatChunk::default()
        }
    }

    #[test]
    fn encoder_sends_role_text_finish_then_usage() {
        let mut encoder = ChunkEncoder::new("chatcmpl-1".into(), 42, "m".into(), true);
        let events = encode_all(
            &mut encoder,
            &[
                text("Hello"),
                ChatChunk::default(),
                text("!"),
                finish_and_usage(),
            ],
        );
        assert_eq!(events.len(), 4, "{events:?}");
        assert_eq!(
            events[0],
            json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 42, "model": "m",
                   "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hello"},
                                "logprobs": null, "finish_reason": null}]})
        );
        assert_eq!(events[1]["choices"][0]["delta"], json!({"content": "!"}));
        assert_eq!(
            events[2]["choices"],
            json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}])
        );
        assert_eq!(events[3]["choices"], json!([]));
        assert_eq!(
            events[3]["usage"],
            json!({"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11})
        );
        assert!(events[..3].iter().all(|e| e.get("usage").is_none()));
    }

    #[test]
    fn encoder_drops_usage_unless_asked() {
        let mut encoder = ChunkEncoder::new("c".into(), 1, "m".into(), false);
        let events = encode_all(&mut encoder, &[text("Hi"), finish_and_usage()]);
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|e| e.get("usage").is_none()));
        let usage_only = ChatChunk {
            usage: usage(1, 1),
            ..ChatChunk::default()
        };
        assert!(encoder.encode(&usage_only).is_empty());
    }

    #[test]
    fn encoder_opens_with_an_empty_content_role_chunk_when_no_text_comes_first() {
        let mut encoder = ChunkEncoder::new("c".into(), 1, "m".into(), false);
        let events = encode_all(
            &mut encoder,
            &[ChatChunk {
                finish_reason: Some(FinishReason::Length),
                ..ChatChunk::default()
            }],
        );
        assert_eq!(
            events[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert_eq!(events[1]["choices"][0]["finish_reason"], "length");
    }

    #[test]
    fn encoder_streams_tool_calls() {
        let mut encoder = ChunkEncoder::new("c".into(), 1, "m".into(), false);
        let events = encode_all(
            &mut encoder,
            &[
                ChatChunk {
                    tool_calls: vec![ToolCallDelta {
                        index: 0,
                        id: Some("call_1".into()),
                        name: Some("f".into()),
                        arguments: None,
                    }],
                    ..ChatChunk::default()
                },
                ChatChunk {
                    tool_calls: vec![ToolCallDelta {
                        index: 0,
                        arguments: Some("{}".into()),
                        ..ToolCallDelta::default()
                    }],
                    ..ChatChunk::default()
                },
                ChatChunk {
                    finish_reason: Some(FinishReason::ToolCalls),
                    ..ChatChunk::default()
                },
            ],
        );
        assert_eq!(
            events[0]["choices"][0]["delta"],
            json!({"role": "assistant", "content": "", "tool_calls": [
                {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": ""}}]})
        );
        assert_eq!(
            events[1]["choices"][0]["delta"],
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]})
        );
        assert_eq!(events[2]["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn error_event_is_openai_shaped() {
        assert_eq!(
            error_event(
                "upstream_unavailable",
                "the upstream failed",
                "server_error"
            ),
            json!({"error": {"message": "the upstream failed", "type": "server_error",
                             "code": "upstream_unavailable", "param": null}})
        );
    }

    // ---- embeddings and models, gateway side ----

    #[test]
    fn embeddings_request_validation() {
        let parse = |body: Value| {
            embeddings_request_from_wire(serde_json::from_value(body).expect("wire parses"))
        };
        let (req, b64) = parse(
            json!({"model": "e", "input": "hello", "encoding_format": "base64",
                                      "dimensions": 8, "user": "u"}),
        )
        .expect("valid");
        assert_eq!(req.input, vec!["hello".to_owned()]);
        assert_eq!(req.dimensions, Some(8));
        assert!(b64);
        let (req, b64) = parse(json!({"model": "e", "input": ["a", "b"]})).expect("valid");
        assert_eq!(req.input.len(), 2);
        assert!(!b64);
        for (body, param) in [
            (json!({"model": "e", "input": []}), "input"),
            (json!({"model": "e", "input": ""}), "input"),
            (json!({"model": "e", "input": ["a", ""]}), "input[1]"),
            (json!({"model": "e", "input": [1, 2, 3]}), "input"),
            (json!({"model": "e", "input": [[1, 2], [3]]}), "input"),
            (
                json!({"model": "e", "input": "a", "encoding_format": "int8"}),
                "encoding_format",
            ),
            (
                json!({"model": "e", "input": "a", "dimensions": 0}),
                "dimensions",
            ),
        ] {
            assert_eq!(
                parse(body.clone()).expect_err("invalid").param,
                param,
                "{body}"
            );
        }
    }

    #[test]
    fn base64_embeddings_round_trip_as_little_endian_f32() {
        let v = vec![0.5_f32, -1.0, 3.25, f32::MIN_POSITIVE];
        let encoded = embedding_to_base64(&v);
        // 0.5 is 0x3f000000: little-endian bytes 00 00 00 3f.
        assert!(encoded.starts_with("AAAAP"), "{encoded}");
        assert_eq!(embedding_from_base64(&encoded), Some(v.clone()));
        assert_eq!(embedding_from_base64("AAA="), None, "two bytes are no f32");
        let response = EmbeddingResponse {
            model: "e".into(),
            embeddings: vec![v.clone(), vec![1.0]],
            usage: Usage {
                prompt_tokens: 4,
                ..Usage::default()
            },
        };
        let wire = serde_json::to_value(embeddings_to_wire(&response, "openai/e", true))
            .expect("serializes");
        assert_eq!(wire["object"], "list");
        assert_eq!(wire["model"], "openai/e");
        assert_eq!(wire["data"][1]["index"], 1);
        assert_eq!(wire["data"][0]["object"], "embedding");
        assert_eq!(wire["data"][0]["embedding"], json!(encoded));
        assert_eq!(
            wire["usage"],
            json!({"prompt_tokens": 4, "total_tokens": 4})
        );
        let floats =
            serde_json::to_value(embeddings_to_wire(&response, "e", false)).expect("serializes");
        assert_eq!(floats["data"][1]["embedding"], json!([1.0]));
    }

    #[test]
    fn model_list_to_wire_is_openai_shaped() {
        let wire = serde_json::to_value(model_list_to_wire(
            &[("openai/gpt-4o".into(), "openai".into())],
            1686935002,
        ))
        .expect("serializes");
        assert_eq!(
            wire,
            json!({"object": "list", "data": [
                {"id": "openai/gpt-4o", "object": "model", "created": 1686935002, "owned_by": "openai"}]})
        );
    }
}
