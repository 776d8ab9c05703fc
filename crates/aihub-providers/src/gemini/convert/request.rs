//! Canonical chat request → `GenerateContentRequest`: turns, parts, tools with their schemas
//! reduced to what Gemini accepts, tool choice and generation config.

use super::validation;
use crate::ProviderError;
use crate::gemini::wire::{
    Blob, Content, FileData, FunctionCall, FunctionCallingConfig, FunctionDeclaration,
    FunctionResponse, GenerateContentRequest, GenerationConfig, Part, Tool, ToolConfig,
};
use aihub_domain::{
    ChatMessage, ChatRequest, ChatRole, ContentPart, ImagePart, MessageContent, ResponseFormat,
    ToolCall, ToolChoice, ToolDefinition,
};
use serde_json::{Value, json};
use std::collections::HashMap;

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

pub(super) fn tool_config(choice: &ToolChoice) -> ToolConfig {
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
