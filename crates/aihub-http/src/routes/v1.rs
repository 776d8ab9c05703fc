//! The OpenAI-compatible API (`/v1`): chat completions, models and embeddings for applications
//! holding a developer API key (`Authorization: Bearer sk-aihub-…` or `X-API-Key`).
//!
//! Bodies follow OpenAI's API reference (<https://platform.openai.com/docs/api-reference/chat>)
//! byte for byte: `chat.completion` objects, `chat.completion.chunk` SSE events ending in
//! `data: [DONE]`, OpenAI's `list` shapes, and error bodies whose `error.{message, type, code,
//! param}` the official SDKs parse (plus AI Hub's `request_id`). The wire types and the
//! conversions to and from the canonical types live in [`crate::openai`].
//!
//! AI Hub extension: `fallbacks: ["<provider>/<model>", …]` in a chat request lists models to
//! try, in order, when the primary fails before the first byte.

use crate::api_key::ApiKeyAuth;
use crate::error::{ApiResult, ErrorResponse};
use crate::extract::{ValidJson, call};
use crate::middleware::RequestId;
use crate::openai::wire::{
    ChatCompletion, ChatCompletionRequest, EmbeddingsRequest, EmbeddingsResponse, ModelList,
};
use crate::openai::{
    ChunkEncoder, InvalidField, chat_completion_to_wire, chat_request_from_wire,
    embeddings_request_from_wire, embeddings_to_wire, error_event, model_list_to_wire,
};
use crate::sse;
use actix_web::{HttpResponse, HttpResponseBuilder, get, post, web};
use aihub_core::chat_completions::ChatCompletionInput;
use aihub_core::generation::{Caller, GenerationEvent, Outcome};
use aihub_core::keys::{ApiKeyPrincipal, Permission};
use aihub_core::limits::RateStatus as RateLimitStatus;
use aihub_core::{App, Error};
use aihub_domain::ErrorCode;
use bytes::{BufMut, BytesMut};
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the `/v1` routes (inside the `/v1` scope).
pub(crate) fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(chat_completions)
        .service(list_models)
        .service(retrieve_model)
        .service(embeddings);
}

/// Most fallbacks one request may list.
const MAX_FALLBACKS: usize = 5;

fn invalid(f: InvalidField) -> Error {
    Error::validation(f.param, f.message)
}

/// Checks the key's permission and its per-minute request limit.
fn admit(
    p: &ApiKeyPrincipal,
    app: &App,
    permission: Permission,
) -> ApiResult<Option<RateLimitStatus>> {
    p.require(permission)?;
    match p.requests_per_minute {
        Some(rpm) => {
            let rpm = u32::try_from(rpm.max(0)).unwrap_or(u32::MAX);
            Ok(Some(app.check_key_rate(p.key_id, rpm)?))
        }
        None => Ok(None),
    }
}

fn rate_headers(res: &mut HttpResponseBuilder, status: Option<RateLimitStatus>) {
    if let Some(s) = status {
        res.insert_header(("X-RateLimit-Limit", s.limit.to_string()))
            .insert_header(("X-RateLimit-Remaining", s.remaining.to_string()))
            .insert_header(("X-RateLimit-Reset", s.reset_secs.to_string()));
    }
}

/// Takes AI Hub's `fallbacks` extension out of the request (so it is not sent upstream).
fn take_fallbacks(body: &mut ChatCompletionRequest) -> Result<Vec<String>, Error> {
    let Some(value) = body.extra.remove("fallbacks") else {
        return Ok(Vec::new());
    };
    let list: Vec<String> = serde_json::from_value(value)
        .map_err(|_| Error::validation("fallbacks", "fallbacks must be an array of model names"))?;
    if list.len() > MAX_FALLBACKS {
        return Err(Error::validation(
            "fallbacks",
            format!("fallbacks holds at most {MAX_FALLBACKS} models"),
        ));
    }
    if let Some(bad) = list.iter().find(|m| m.trim().is_empty() || m.len() > 200) {
        return Err(Error::validation(
            "fallbacks",
            format!("fallback `{bad}` is not a model name"),
        ));
    }
    Ok(list)
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Creates a chat completion (OpenAI `POST /v1/chat/completions`), streaming or not, on any
/// provider kind: `model` is `"<provider slug or kind>/<model>"` (e.g. `openai/gpt-4o-mini`,
/// `anthropic/claude-3-5-haiku-latest`, `openrouter/x-ai/grok-beta`) or a bare model the
/// catalog knows. Retries and fallbacks happen only before the first byte; a failure after it
/// ends the stream with an `{"error": …}` event. One usage record per call, with the key id.
#[utoipa::path(tag = "openai", operation_id = "create_chat_completion",
    security(("api_key" = []), ("x_api_key" = [])),
    request_body(content = ChatCompletionRequest, description = "OpenAI chat completion request (https://platform.openai.com/docs/api-reference/chat/create), plus the optional AI Hub extension `fallbacks: [model, …]`"),
    responses(
        (status = 200, description = "A `chat.completion` object; with `stream: true`, a `text/event-stream` of `chat.completion.chunk` events (`data: {openai.ChatCompletionChunk}`) ending in `data: [DONE]`, or, when the stream fails after its first chunk, in one `data: {openai.StreamError}` event instead", content((ChatCompletion = "application/json"), (crate::openai::wire::ChatCompletionChunk = "text/event-stream"))),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 400, body = ErrorResponse), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse),
        (status = 502, body = ErrorResponse), (status = 504, body = ErrorResponse)))]
#[post("/chat/completions")]
pub async fn chat_completions(
    app: web::Data<App>,
    auth: ApiKeyAuth,
    rid: RequestId,
    body: ValidJson<ChatCompletionRequest>,
) -> ApiResult<HttpResponse> {
    let principal = auth.0;
    let limit = admit(&principal, &app, Permission::Chat)?;
    let mut body = body.0;
    let fallbacks = take_fallbacks(&mut body)?;
    let inbound = chat_request_from_wire(body).map_err(invalid)?;
    let public_model = inbound.request.model.clone();
    let caller = Caller {
        user_id: principal.user_id,
        api_key_id: Some(principal.key_id),
    };
    let input = ChatCompletionInput {
        request: inbound.request,
        fallbacks,
        request_id: rid.unique.clone(),
    };
    let created = now_unix();
    if inbound.stream {
        let stream = app.chat_completion_stream(caller, input).await?;
        let id = format!("chatcmpl-{}", completion_id(&rid.unique));
        let encoder = ChunkEncoder::new(id, created, public_model, inbound.include_usage);
        let mut res = HttpResponse::Ok();
        rate_headers(&mut res, limit);
        res.insert_header((
            "X-AIHub-Provider",
            stream.started.served.provider_slug.clone(),
        ))
        .insert_header((
            "X-AIHub-Attempts",
            stream.started.served.attempts.to_string(),
        ));
        return Ok(sse::respond(res, None, stream, openai_render(encoder)));
    }
    let (response, served) = app.chat_completion(caller, input).await?;
    let id = response
        .id
        .clone()
        .unwrap_or_else(|| format!("chatcmpl-{}", completion_id(&rid.unique)));
    let wire = chat_completion_to_wire(&response, &id, created, &public_model);
    let mut res = HttpResponse::Ok();
    rate_headers(&mut res, limit);
    res.insert_header(("X-AIHub-Provider", served.provider_slug))
        .insert_header(("X-AIHub-Attempts", served.attempts.to_string()));
    Ok(res.json(wire))
}

/// A completion id from the request id: only the characters OpenAI ids use.
fn completion_id(request_id: &str) -> String {
    request_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(40)
        .collect()
}

/// The OpenAI stream renderer: each chunk as `data: {chat.completion.chunk}` events, then
/// `data: [DONE]`; a failure after the first chunk (or shutdown) as one
/// `data: {"error": …}` event (what OpenAI sends; the SDKs raise it) and no `[DONE]`.
fn openai_render(mut encoder: ChunkEncoder) -> impl FnMut(&GenerationEvent, &mut BytesMut) {
    move |event, buf| match event {
        GenerationEvent::Started(_) => {}
        GenerationEvent::Delta(chunk) => {
            for wire in encoder.encode(chunk) {
                sse::put_frame(buf, &wire);
            }
        }
        GenerationEvent::Finished(f) => match (&f.error, f.outcome) {
            (Some(e), Outcome::FailedAfterFirstByte | Outcome::ShutDown) => {
                let (_, kind) = crate::error::status_and_type(e.code);
                sse::put_frame(buf, &error_event(e.code.as_str(), &e.message, kind));
            }
            _ => buf.put_slice(b"data: [DONE]\n\n"),
        },
    }
}

/// Lists the models this key can reach (OpenAI `GET /v1/models`): for every provider the
/// key's owner may use, the catalog's models of its kind, its configured models and what it
/// lists upstream (cached), each as `"<provider slug>/<model>"`, `owned_by` the provider slug.
#[utoipa::path(tag = "openai", operation_id = "list_models_openai",
    security(("api_key" = []), ("x_api_key" = [])),
    responses((status = 200, description = "OpenAI `list` of `model` objects", body = ModelList),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 429, body = ErrorResponse)))]
#[get("/models")]
pub async fn list_models(app: web::Data<App>, auth: ApiKeyAuth) -> ApiResult<HttpResponse> {
    let principal = auth.0;
    let limit = admit(&principal, &app, Permission::Models)?;
    let user_id = principal.user_id;
    let models = call(
        &app,
        move |app| async move { app.gateway_models(user_id).await },
    )
    .await?;
    let mut res = HttpResponse::Ok();
    rate_headers(&mut res, limit);
    Ok(res.json(model_list_to_wire(&models, now_unix())))
}

/// One model this key can reach (OpenAI `GET /v1/models/{model}`, the SDKs'
/// `models.retrieve`): `model` is an id exactly as `GET /v1/models` lists it
/// (`"<provider slug>/<model>"`; its slashes may be sent as they are or as `%2F`). An id not in
/// that list is 404 `model_not_found`.
#[utoipa::path(tag = "openai", operation_id = "retrieve_model_openai",
    security(("api_key" = []), ("x_api_key" = [])),
    params(("model" = String, Path, description = "Model id as `GET /v1/models` lists it, e.g. `openai/gpt-4o-mini`")),
    responses((status = 200, description = "OpenAI `model` object", body = crate::openai::wire::Model),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 429, body = ErrorResponse)))]
#[get("/models/{model:.+}")]
pub async fn retrieve_model(
    app: web::Data<App>,
    auth: ApiKeyAuth,
    model: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let principal = auth.0;
    let limit = admit(&principal, &app, Permission::Models)?;
    let user_id = principal.user_id;
    let wanted = model.into_inner().replace("%2F", "/").replace("%2f", "/");
    let models = call(
        &app,
        move |app| async move { app.gateway_models(user_id).await },
    )
    .await?;
    let Some(found) = models.into_iter().find(|(id, _)| *id == wanted) else {
        return Err(Error {
            param: Some("model".into()),
            ..Error::new(
                ErrorCode::ModelNotFound,
                format!("the model `{wanted}` does not exist or this key cannot reach it"),
            )
        }
        .into());
    };
    let mut res = HttpResponse::Ok();
    rate_headers(&mut res, limit);
    let mut list = model_list_to_wire(std::slice::from_ref(&found), now_unix());
    Ok(res.json(list.data.pop()))
}

/// Creates embeddings (OpenAI `POST /v1/embeddings`) through OpenAI-wire providers, Gemini
/// (`batchEmbedContents`) or Ollama (`/api/embed`); `encoding_format: base64` is honoured (the
/// official Python SDK asks for it by default). One usage record per call.
#[utoipa::path(tag = "openai", operation_id = "create_embeddings",
    security(("api_key" = []), ("x_api_key" = [])),
    request_body(content = EmbeddingsRequest, description = "OpenAI embeddings request (https://platform.openai.com/docs/api-reference/embeddings/create)"),
    responses((status = 200, description = "OpenAI `list` of `embedding` objects", body = EmbeddingsResponse),
        (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse),
        (status = 502, body = ErrorResponse), (status = 504, body = ErrorResponse)))]
#[post("/embeddings")]
pub async fn embeddings(
    app: web::Data<App>,
    auth: ApiKeyAuth,
    rid: RequestId,
    body: ValidJson<EmbeddingsRequest>,
) -> ApiResult<HttpResponse> {
    let principal = auth.0;
    let limit = admit(&principal, &app, Permission::Chat)?;
    let (request, base64) = embeddings_request_from_wire(body.0).map_err(invalid)?;
    let public_model = request.model.clone();
    let caller = Caller {
        user_id: principal.user_id,
        api_key_id: Some(principal.key_id),
    };
    let (response, _served) = app
        .embeddings(caller, &public_model, request, rid.unique.clone())
        .await?;
    let mut res = HttpResponse::Ok();
    rate_headers(&mut res, limit);
    Ok(res.json(embeddings_to_wire(&response, &public_model, base64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_ids_keep_only_id_characters() {
        assert_eq!(completion_id("ab-12_c.d"), "ab12cd");
    }

    #[test]
    fn fallbacks_are_taken_out_and_checked() {
        let mut body: ChatCompletionRequest = serde_json::from_value(serde_json::json!({
            "model": "openai/gpt-4o-mini",
            "messages": [{"role": "user", "content": "hi"}],
            "fallbacks": ["anthropic/claude-3-5-haiku-latest"]
        }))
        .expect("valid");
        let list = take_fallbacks(&mut body).expect("valid");
        assert_eq!(list, vec!["anthropic/claude-3-5-haiku-latest".to_owned()]);
        assert!(!body.extra.contains_key("fallbacks"));
        let mut bad: ChatCompletionRequest = serde_json::from_value(serde_json::json!({
            "model": "m", "messages": [], "fallbacks": "x"
        }))
        .expect("valid");
        assert_eq!(
            take_fallbacks(&mut bad).expect_err("not a list").code,
            ErrorCode::ValidationError
        );
    }
}
