//! The rules every operation of the OpenAPI document follows, applied once over the whole
//! document instead of repeated in each route's annotation:
//!
//! - every error status (4xx, 5xx) answers [`ErrorResponse`](crate::error::ErrorResponse) with a
//!   description of what the status means here and an example whose `type` and `code` are the
//!   ones that status really carries (`401` on a `/v1` operation: `invalid_api_key`; on a session
//!   route: `invalid_token`); `429` documents `Retry-After`;
//! - a list response (`ListResponse_<Item>`) refers to its item schema by `$ref` instead of
//!   repeating it inline, so generated clients get one class per resource;
//! - a `text/event-stream` response is described event by event: an object whose `data` is a
//!   string of JSON (`contentMediaType`) holding the named event schema (`contentSchema`), as
//!   SSE tools (and OpenAPI 3.2's `itemSchema`) read a stream;
//! - in an event union (a `oneOf` with a discriminator), each variant's discriminator property
//!   is a one-value `enum` of its tag, so generated clients type it as that literal (`"start"`)
//!   instead of a one-value enum class of their own.
//!
//! The tests at the end check the document as OpenAPI tools read it: a description on every
//! response, no query parameter declared `in: path`, an operation id everywhere.

use crate::error::{ErrorObject, ErrorResponse, status_and_type};
use aihub_domain::ErrorCode;
use utoipa::Modify;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::Ref;
use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, RefOr, ResponseBuilder, Type};

/// The document-wide rules (see the module docs).
pub(crate) struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                document_errors(op);
                describe_event_streams(op);
            }
        }
        if let Some(components) = openapi.components.as_mut() {
            for (name, schema) in components.schemas.iter_mut() {
                if let Some(item) = name.strip_prefix("ListResponse_") {
                    refer_list_items(schema, item);
                }
            }
        }
        inline_discriminators(openapi);
    }
}

/// Makes each event union's variants carry their tag as a one-value `enum` discriminator
/// property, and drops the named one-value enum schemas nothing refers to any more.
fn inline_discriminators(openapi: &mut utoipa::openapi::OpenApi) {
    use serde_json::Value;
    let Some(components) = openapi.components.as_mut() else {
        return;
    };
    let mut variants: Vec<(String, String, String)> = Vec::new();
    for schema in components.schemas.values() {
        let Ok(v) = serde_json::to_value(schema) else {
            continue;
        };
        let Some(d) = v.get("discriminator") else {
            continue;
        };
        let property = d["propertyName"].as_str().unwrap_or_default();
        for (tag, target) in d["mapping"].as_object().into_iter().flatten() {
            if let Some(name) = target.as_str().and_then(|t| t.rsplit('/').next()) {
                variants.push((name.to_owned(), property.to_owned(), tag.clone()));
            }
        }
    }
    let mut replaced = Vec::new();
    for (name, property, tag) in variants {
        let Some(schema) = components.schemas.get_mut(&name) else {
            continue;
        };
        let Ok(mut v) = serde_json::to_value(&*schema) else {
            continue;
        };
        let Some(prop) = v.get_mut("properties").and_then(|p| p.get_mut(&property)) else {
            continue;
        };
        if let Some(r) = prop.get("$ref").and_then(Value::as_str) {
            replaced.push(r.rsplit('/').next().unwrap_or_default().to_owned());
        }
        let description = prop.get("description").cloned();
        *prop = serde_json::json!({ "type": "string", "enum": [tag] });
        if let Some(d) = description {
            prop["description"] = d;
        }
        if let Ok(rebuilt) = serde_json::from_value(v) {
            *schema = rebuilt;
        }
    }
    for name in replaced {
        let target = format!("\"#/components/schemas/{name}\"");
        let used = components
            .schemas
            .values()
            .any(|s| serde_json::to_string(s).is_ok_and(|s| s.contains(&target)));
        if !used {
            components.schemas.remove(&name);
        }
    }
}

/// Wraps each `text/event-stream` response's event schema in the SSE event envelope.
fn describe_event_streams(op: &mut Operation) {
    for response in op.responses.responses.values_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let Some(RefOr::T(content)) = response.content.get_mut("text/event-stream") else {
            continue;
        };
        let Some(RefOr::Ref(event)) = &content.schema else {
            continue;
        };
        let name = event.ref_location.rsplit('/').next().unwrap_or_default();
        let envelope = serde_json::json!({
            "type": "object",
            "description": format!(
                "One server-sent event (`data: …` and a blank line): `data` holds one `{name}` as JSON."
            ),
            "required": ["data"],
            "properties": {
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"$ref": event.ref_location},
                },
                "event": {"type": "string"},
                "id": {"type": "string"},
                "retry": {"type": "integer", "minimum": 0},
            },
        });
        if let Ok(schema) = serde_json::from_value(envelope) {
            content.schema = Some(schema);
        }
    }
}

/// What a status means, for its response's description.
fn error_description(status: u16) -> &'static str {
    match status {
        400 => {
            "The upstream refused the request (e.g. context too long, content filtered), or the operation is not supported for this provider"
        }
        401 => "Missing, invalid or expired credentials",
        403 => {
            "Authenticated, but not allowed (account disabled, registration closed, or a permission the credentials lack)"
        }
        404 => "Not found, or not the caller's",
        409 => {
            "Conflicts with the current state (e.g. a duplicate name, no running stream, an inactive provider)"
        }
        413 => "The body is larger than the server accepts",
        422 => {
            "Invalid request: a field is missing, malformed or out of range (`error.param` names it)"
        }
        429 => {
            "Rate limit or quota exceeded (here or at the upstream); `Retry-After` says when to retry"
        }
        502 => "The upstream failed, refused the provider's key, or answered something unusable",
        503 => "The server is not ready or is shutting down",
        504 => "The upstream did not answer in time",
        _ => "Internal error",
    }
}

/// The error code and message a status's example shows for `op`.
fn example_error(status: u16, op: &Operation) -> (ErrorCode, &'static str, Option<&'static str>) {
    let api_key = op.security.iter().flatten().any(|s| {
        serde_json::to_value(s)
            .map(|v| v.get("api_key").is_some())
            .unwrap_or(false)
    });
    let id = op.operation_id.as_deref().unwrap_or_default();
    match status {
        400 => (
            ErrorCode::ContextLengthExceeded,
            "the prompt is longer than the model's context window",
            None,
        ),
        401 if api_key => (ErrorCode::InvalidApiKey, "invalid API key", None),
        401 if matches!(id, "login_user" | "issue_token") => (
            ErrorCode::InvalidCredentials,
            "invalid username or password",
            None,
        ),
        401 => (
            ErrorCode::InvalidToken,
            "invalid or expired access token",
            None,
        ),
        403 => (
            ErrorCode::PermissionDenied,
            "not allowed for these credentials",
            None,
        ),
        404 => (ErrorCode::NotFound, "not found", None),
        409 => (ErrorCode::Conflict, "already exists", None),
        413 => (
            ErrorCode::PayloadTooLarge,
            "request body larger than 10 MiB",
            None,
        ),
        422 if op.request_body.is_none() => (
            ErrorCode::ValidationError,
            "page_size must be between 1 and 100",
            Some("page_size"),
        ),
        422 => (
            ErrorCode::ValidationError,
            "name must not be empty",
            Some("name"),
        ),
        429 => (
            ErrorCode::RateLimitExceeded,
            "rate limit exceeded; retry later",
            None,
        ),
        502 => (
            ErrorCode::UpstreamUnavailable,
            "the upstream is unavailable",
            None,
        ),
        503 => (
            ErrorCode::ServiceUnavailable,
            "the server is shutting down",
            None,
        ),
        504 => (
            ErrorCode::UpstreamTimeout,
            "the upstream did not answer in time",
            None,
        ),
        _ => (ErrorCode::InternalError, "internal error", None),
    }
}

/// Whether a response is (or should be) the error body: no content, or `ErrorResponse`.
fn is_error_body(response: &RefOr<utoipa::openapi::Response>) -> bool {
    let RefOr::T(r) = response else {
        return false;
    };
    r.content.values().all(|c| match c {
        RefOr::T(c) => {
            matches!(&c.schema, Some(RefOr::Ref(s)) if s.ref_location.ends_with("/ErrorResponse"))
        }
        RefOr::Ref(_) => false,
    })
}

fn document_errors(op: &mut Operation) {
    let statuses: Vec<(String, u16)> = op
        .responses
        .responses
        .iter()
        .filter(|(_, r)| is_error_body(r))
        .filter_map(|(k, _)| Some((k.clone(), k.parse::<u16>().ok()?)))
        .filter(|(_, s)| *s >= 400)
        .collect();
    for (key, status) in statuses {
        let (code, message, param) = example_error(status, op);
        let example = ErrorResponse {
            error: ErrorObject {
                kind: status_and_type(code).1,
                code,
                message: message.to_owned(),
                param: param.map(str::to_owned),
                details: None,
            },
            request_id: Some("0f8fad5b-d9cb-469f-a165-70867728950e".to_owned()),
        };
        let content = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorResponse")))
            .example(serde_json::to_value(example).ok())
            .build();
        let mut response = ResponseBuilder::new()
            .description(error_description(status))
            .content("application/json", content);
        if status == 429 {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                    .description(Some("Seconds to wait before retrying"))
                    .build(),
            );
        }
        op.responses
            .responses
            .insert(key, RefOr::T(response.build()));
    }
}

/// Replaces a list schema's inlined item schema with a `$ref` to `item`.
fn refer_list_items(schema: &mut RefOr<utoipa::openapi::schema::Schema>, item: &str) {
    let Ok(mut value) = serde_json::to_value(&*schema) else {
        return;
    };
    let Some(items) = value
        .get_mut("properties")
        .and_then(|p| p.get_mut("items"))
        .and_then(|i| i.get_mut("items"))
    else {
        return;
    };
    *items = serde_json::json!({ "$ref": format!("#/components/schemas/{item}") });
    if let Ok(replaced) = serde_json::from_value(value) {
        *schema = replaced;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::openapi::openapi_document;
    use serde_json::Value;

    fn document() -> Value {
        serde_json::to_value(openapi_document()).unwrap()
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((
                    format!("{} {path}", method.to_uppercase()),
                    path.clone(),
                    op.clone(),
                ));
            }
        }
        out
    }

    #[test]
    fn every_response_has_a_description_and_every_error_the_error_schema() {
        let doc = document();
        for (name, _, op) in operations(&doc) {
            assert!(op["operationId"].is_string(), "{name}: no operationId");
            for (status, r) in op["responses"].as_object().unwrap() {
                let d = r["description"].as_str().unwrap_or_default();
                assert!(!d.trim().is_empty(), "{name} {status}: no description");
                if status.starts_with('4') || (status.starts_with('5') && status != "503") {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorResponse",
                        "{name} {status}"
                    );
                    let example = &r["content"]["application/json"]["example"];
                    assert!(example["error"]["code"].is_string(), "{name} {status}");
                }
            }
        }
    }

    #[test]
    fn path_parameters_are_in_the_path_and_the_rest_are_optional_query_parameters() {
        let doc = document();
        for (name, path, op) in operations(&doc) {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let pname = p["name"].as_str().unwrap();
                match p["in"].as_str().unwrap() {
                    "path" => assert!(path.contains(&format!("{{{pname}}}")), "{name}: {pname}"),
                    "query" => assert_ne!(p["required"], true, "{name}: {pname}"),
                    other => panic!("{name}: {pname} in {other}"),
                }
            }
        }
    }

    #[test]
    fn list_responses_refer_to_their_item_schema() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let lists: Vec<_> = schemas
            .keys()
            .filter(|k| k.starts_with("ListResponse_"))
            .collect();
        assert!(lists.len() >= 8, "{lists:?}");
        for name in lists {
            let item = name.trim_start_matches("ListResponse_");
            assert_eq!(
                schemas[name]["properties"]["items"]["items"]["$ref"],
                format!("#/components/schemas/{item}"),
                "{name}"
            );
            assert!(schemas.contains_key(item), "{item}");
        }
    }

    #[test]
    fn streams_name_their_event_union() {
        let doc = document();
        for (path, method, union) in [
            (
                "/api/v1/conversations/{id}/stream",
                "post",
                "ConversationStreamEvent",
            ),
            (
                "/api/v1/conversations/stream",
                "post",
                "ConversationStreamEvent",
            ),
            ("/api/v1/chat", "post", "ChatStreamEvent"),
            ("/v1/chat/completions", "post", "openai.ChatCompletionChunk"),
        ] {
            let content = &doc["paths"][path][method]["responses"]["200"]["content"];
            let event = &content["text/event-stream"]["schema"];
            assert_eq!(event["required"], serde_json::json!(["data"]), "{path}");
            let data = &event["properties"]["data"];
            assert_eq!(data["contentMediaType"], "application/json", "{path}");
            assert_eq!(
                data["contentSchema"]["$ref"],
                format!("#/components/schemas/{union}"),
                "{path}"
            );
        }
        for union in ["ConversationStreamEvent", "ChatStreamEvent"] {
            let schema = &doc["components"]["schemas"][union];
            assert_eq!(schema["discriminator"]["propertyName"], "type", "{union}");
            let mapping = schema["discriminator"]["mapping"].as_object().unwrap();
            for (tag, target) in mapping {
                let name = target.as_str().unwrap().rsplit('/').next().unwrap();
                let variant = &doc["components"]["schemas"][name];
                assert_eq!(
                    variant["properties"]["type"]["enum"],
                    serde_json::json!([tag]),
                    "{name}"
                );
                assert!(
                    variant["required"]
                        .as_array()
                        .unwrap()
                        .contains(&"type".into()),
                    "{name}"
                );
            }
        }
    }
}
