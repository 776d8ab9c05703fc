//! Canonical chat request → Anthropic's Messages request: the `system` string, alternating
//! turns of content blocks, tool results, images, tools and the JSON-output instruction.

use super::DEFAULT_MAX_TOKENS;
use crate::ProviderError;
use crate::anthropic::wire::{
    Content, ImageSource, Message, MessagesRequest, Metadata, RequestBlock, Role, Tool,
    ToolChoice as WireToolChoice,
};
use aihub_domain::{
    ChatRequest, ChatRole, ContentPart, ErrorCode, ImagePart, MessageContent, ResponseFormat,
    ToolChoice,
};
use serde_json::{Value, json};

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
