//! A client's `/v1` requests → canonical: chat completions and embeddings, validated field by
//! field so a refusal names the field at fault, OpenAI style.

use crate::openai::wire::{
    ChatCompletionRequest, ContentPartWire, EmbeddingInput, EmbeddingsRequest, MessageRole,
    RequestContent, RequestMessage, ResponseFormatWire, Stop, Tool, ToolCallWire, ToolChoiceWire,
};
use aihub_domain::{
    ChatMessage, ChatRequest, ChatRole, ContentPart, EmbeddingRequest, ImagePart, MessageContent,
    ResponseFormat, ToolCall, ToolChoice, ToolDefinition,
};

/// OpenAI's limit on stop sequences.
const MAX_STOP: usize = 4;
/// OpenAI's limit on inputs of one embeddings request.
const MAX_EMBEDDING_INPUTS: usize = 2048;

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

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests;
