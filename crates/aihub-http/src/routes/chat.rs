//! `POST /api/v1/chat`: a stateless chat, answered whole or, with
//! `stream: true`, as server-sent events `data: {json}\n\n` typed `session`, `content`,
//! `usage`, `done` (or `error` after the stream began).

use crate::dto::ts;
use crate::error::{ApiResult, ErrorResponse};
use crate::extract::{AuthUser, ValidJson, call};
use crate::middleware::RequestId;
use crate::routes::completions::{CompletionProviderResponse, CompletionUsageResponse};
use crate::sse;
use actix_web::{HttpResponse, post, web};
use aihub_core::chat::{
    AttachedChatInput, ChatImage, ChatTurn, DirectChat, DirectChatInput, chat_id,
};
use aihub_core::completions::CompletionProvider;
use aihub_core::conversations::RequestContext;
use aihub_core::generation::GenerationEvent;
use aihub_core::{App, Error};
use aihub_domain::{FinishReason, Money, Usage};
use bytes::BytesMut;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

/// One turn of `messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatTurnRequest {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text, 1–1,000,000 characters.
    pub content: String,
}

/// An inline image.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatImageRequest {
    /// Standard base64 of the image bytes (at most 20 MiB decoded).
    pub data: String,
    /// `image/png`, `image/jpeg`, `image/webp` or `image/gif`.
    pub media_type: String,
}

/// Extra context of a chat.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatContextRequest {
    /// Prepended as a system message (at most 100,000 characters).
    pub system_prompt: Option<String>,
}

/// Body of `POST /chat`. Exactly one of `message` and `messages` is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequestBody {
    /// A single user message (1–1,000,000 characters).
    pub message: Option<String>,
    /// The whole dialogue (at most 1,000 turns, with at least one `user` turn).
    pub messages: Option<Vec<ChatTurnRequest>>,
    /// `"<provider slug or kind>/<model>"`; required without `provider_id`.
    pub model: Option<String>,
    /// The provider to use; wins over a model prefix.
    pub provider_id: Option<i64>,
    /// Cap on completion tokens, 1–1,000,000 (default: preference, then provider config).
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_tokens: Option<i64>,
    /// Sampling temperature, 0–2 (default: preference, then provider config).
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<f64>,
    /// `true`: answer as server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// Up to 10 images, attached to the last user message.
    #[serde(default)]
    pub images: Vec<ChatImageRequest>,
    /// Extra context.
    pub context: Option<ChatContextRequest>,
    /// One of the caller's conversations to send `message` into (history as context; both
    /// messages stored there). The conversation decides provider, model and system prompt.
    pub conversation_id: Option<i64>,
    /// Alias of `conversation_id`; both given and different is 422.
    pub session_id: Option<i64>,
}

/// Result of `POST /chat` without `stream`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatResponseBody {
    /// Response id (`chat-…`).
    pub id: String,
    /// The reply text.
    pub text: String,
    /// The vendor's model id.
    pub model: String,
    /// The provider that answered.
    pub provider: CompletionProviderResponse,
    /// Token counts and cost.
    pub usage: CompletionUsageResponse,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// Wall time of this call, in milliseconds.
    pub response_time_ms: i64,
    /// When the reply was produced.
    pub created_at: DateTime<Utc>,
    /// The conversation both messages were stored in, when attached to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<i64>,
}

fn provider_response(p: CompletionProvider) -> CompletionProviderResponse {
    CompletionProviderResponse {
        id: p.id,
        slug: p.slug,
        kind: p.kind,
    }
}

fn usage_response(u: Usage, cost: Money, currency: String) -> CompletionUsageResponse {
    CompletionUsageResponse {
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        total_tokens: u.total_tokens(),
        estimated: u.estimated,
        cost: cost.to_string(),
        currency,
    }
}

impl From<DirectChat> for ChatResponseBody {
    fn from(c: DirectChat) -> Self {
        ChatResponseBody {
            id: c.id,
            text: c.text,
            model: c.model,
            provider: provider_response(c.provider),
            usage: usage_response(c.usage, c.cost, c.currency),
            finish_reason: c.finish_reason,
            response_time_ms: c.response_time_ms,
            created_at: ts(c.created_at),
            conversation_id: c.conversation_id,
        }
    }
}

/// `/chat`'s stream renderer: `session` (id, model, provider, and the conversation when
/// attached to one), `content` for each text delta, then `usage` and `done` or `error`.
fn render(currency: String) -> impl FnMut(&GenerationEvent, &mut BytesMut) + 'static {
    use crate::stream_events as ev;
    move |event, buf| match event {
        GenerationEvent::Started(s) => {
            let conversation_id = s.conversation.map(|c| c.conversation_id);
            sse::put_frame(
                buf,
                &ev::ChatSessionEvent {
                    kind: ev::SessionType::Value,
                    id: chat_id(&s.generation_id),
                    model: s.served.model.clone(),
                    provider: provider_response(CompletionProvider::from(&s.served)),
                    conversation_id,
                    session_id: conversation_id,
                },
            );
        }
        GenerationEvent::Delta(chunk) => {
            if let Some(text) = chunk.delta.as_deref().filter(|t| !t.is_empty()) {
                sse::put_frame(buf, &sse::ContentFrame::new(text));
            }
        }
        GenerationEvent::Finished(f) => {
            let u = usage_response(f.billed.usage, f.billed.cost, currency.clone());
            sse::put_frame(
                buf,
                &ev::ChatUsageEvent {
                    kind: ev::UsageType::Value,
                    prompt_tokens: u.prompt_tokens,
                    completion_tokens: u.completion_tokens,
                    total_tokens: u.total_tokens,
                    estimated: u.estimated,
                    cost: u.cost,
                    currency: u.currency,
                },
            );
            if sse::is_failure(f) {
                sse::put_frame(
                    buf,
                    &ev::ChatErrorEvent {
                        kind: ev::ErrorType::Value,
                        error: sse::failure_detail(f),
                    },
                );
            } else {
                sse::put_frame(
                    buf,
                    &ev::ChatDoneEvent {
                        kind: ev::DoneType::Value,
                        finish_reason: f.finish_reason,
                        response_time_ms: f.latency_ms,
                    },
                );
            }
        }
    }
}

/// Sends a chat and returns the reply, or with `stream: true` streams it as server-sent
/// events: `session` (id, model, provider) first, `content` deltas, `usage`, then `done`
/// (`finish_reason`, `response_time_ms`); a failure after the stream began sends `error` and
/// ends. With `conversation_id` (alias `session_id`) the message goes into that conversation
/// (history as context, both messages stored; a foreign or missing one is 404). Usage is
/// recorded exactly once per call, including a stream the client abandons (`stopped`).
#[utoipa::path(tag = "chat", operation_id = "create_chat", security(("bearer" = []), ("oauth2" = [])), request_body = ChatRequestBody,
    responses((status = 200, description = "The reply as `application/json`; with `stream: true`, a `text/event-stream` of `data: {ChatStreamEvent}` frames", content((ChatResponseBody = "application/json"), (crate::stream_events::ChatStreamEvent = "text/event-stream"))), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse),
        (status = 429, body = ErrorResponse), (status = 502, body = ErrorResponse), (status = 503, body = ErrorResponse), (status = 504, body = ErrorResponse)))]
#[post("/chat")]
pub async fn create_chat(
    app: web::Data<App>,
    user: AuthUser,
    rid: RequestId,
    body: ValidJson<ChatRequestBody>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let ctx = RequestContext {
        request_id: rid.unique,
        api_key_id: None,
    };
    let conversation_id = match (b.conversation_id, b.session_id) {
        (Some(c), Some(s)) if c != s => {
            return Err(Error::validation(
                "session_id",
                "session_id and conversation_id name different conversations",
            )
            .into());
        }
        (c, s) => c.or(s),
    };
    if let Some(cid) = conversation_id {
        let (attached, stream) = attached_input(cid, b)?;
        let user = user.0;
        if !stream {
            let done = call(&app, move |app| async move {
                app.attached_chat(&user, attached, &ctx).await
            })
            .await?;
            return Ok(HttpResponse::Ok().json(ChatResponseBody::from(done)));
        }
        let stream = call(&app, move |app| async move {
            app.attached_chat_stream(&user, attached, ctx).await
        })
        .await?;
        let currency = app.pricing().currency().to_owned();
        return Ok(sse::respond(
            HttpResponse::Ok(),
            None,
            stream,
            render(currency),
        ));
    }
    let input = DirectChatInput {
        message: b.message,
        messages: b.messages.map(|list| {
            list.into_iter()
                .map(|t| ChatTurn {
                    role: t.role,
                    content: t.content,
                })
                .collect()
        }),
        model: b.model,
        provider_id: b.provider_id,
        max_tokens: b.max_tokens,
        temperature: b.temperature,
        images: b
            .images
            .into_iter()
            .map(|i| ChatImage {
                data: i.data,
                media_type: i.media_type,
            })
            .collect(),
        system_prompt: b.context.and_then(|c| c.system_prompt),
    };
    let user_id = user.0.id;
    if !b.stream {
        let done = call(&app, move |app| async move {
            app.direct_chat(user_id, input, &ctx).await
        })
        .await?;
        return Ok(HttpResponse::Ok().json(ChatResponseBody::from(done)));
    }
    let stream = call(&app, move |app| async move {
        app.direct_chat_stream(user_id, input, ctx).await
    })
    .await?;
    let currency = app.pricing().currency().to_owned();
    Ok(sse::respond(
        HttpResponse::Ok(),
        None,
        stream,
        render(currency),
    ))
}

/// Checks a body attached to conversation `cid`: only `message`, `max_tokens`,
/// `temperature` and `stream` may come with it. Returns the input and whether to stream.
fn attached_input(cid: i64, b: ChatRequestBody) -> Result<(AttachedChatInput, bool), Error> {
    let conflicts = [
        ("messages", b.messages.is_some()),
        ("model", b.model.is_some()),
        ("provider_id", b.provider_id.is_some()),
        ("images", !b.images.is_empty()),
        ("context", b.context.is_some()),
    ];
    for (field, given) in conflicts {
        if given {
            return Err(Error::validation(
                field,
                format!(
                    "{field} cannot be given with a conversation: send `message`; the conversation decides the rest"
                ),
            ));
        }
    }
    let Some(message) = b.message else {
        return Err(Error::validation(
            "message",
            "message is required with a conversation",
        ));
    };
    Ok((
        AttachedChatInput {
            conversation_id: cid,
            message,
            max_tokens: b.max_tokens,
            temperature: b.temperature,
        },
        b.stream,
    ))
}

/// Registers this module's routes (inside the `/api/v1` scope), in matching order.
pub(crate) fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(create_chat);
}
