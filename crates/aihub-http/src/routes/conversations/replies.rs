//! A conversation's replies: send (whole), stream, create-and-stream and stop.

use super::*;

/// Body of `POST /conversations/{id}/send` and `/stream`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageRequest {
    /// The message (`message` is accepted as an alias).
    #[serde(alias = "message")]
    pub content: String,
    /// Overrides the system prompt for this reply.
    pub system_prompt: Option<String>,
    /// Overrides the reply token cap.
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_tokens: Option<i64>,
    /// Overrides the temperature.
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<f64>,
}

/// Query of `POST /conversations/{id}/send`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SendQuery {
    /// Send the stored history as context (default true).
    pub use_context: Option<bool>,
}

/// Query of `POST /conversations/{id}/stream`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Send the stored history as context (default true).
    pub use_context: Option<bool>,
    /// Cap on the whole generation, in seconds (default 120, max 3600).
    #[param(minimum = 1, maximum = 3600)]
    pub timeout: Option<u64>,
}

/// Answer of `POST /conversations/{id}/send`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExchangeResponse {
    /// The stored user message.
    pub user_message: MessageResponse,
    /// The stored reply, with tokens and cost.
    pub assistant_message: MessageResponse,
}

/// Answer of `POST /conversations/{id}/stream/stop`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StopResponse {
    /// `stopped`, or `not_streaming` when nothing was running.
    pub status: &'static str,
    /// Whether a running stream was stopped.
    pub stopped: bool,
    /// The stored partial reply.
    #[schema(required = true)]
    pub message: Option<MessageResponse>,
}

/// The `timeout` query of the stream endpoints: 1–3600 seconds, default 120.
fn stream_timeout(secs: Option<u64>) -> Result<Duration, aihub_core::Error> {
    match secs {
        Some(0) | Some(3601..) => Err(aihub_core::Error::validation(
            "timeout",
            "timeout must be between 1 and 3600 seconds",
        )),
        Some(s) => Ok(Duration::from_secs(s)),
        None => Ok(Duration::from_secs(120)),
    }
}

fn send_input(b: SendMessageRequest) -> SendInput {
    SendInput {
        content: b.content,
        system_prompt: b.system_prompt,
        max_tokens: b.max_tokens,
        temperature: b.temperature,
    }
}

/// Sends a message and returns both stored messages once the reply is complete.
#[utoipa::path(tag = "conversations", operation_id = "send_message", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Conversation id"), SendQuery), request_body = SendMessageRequest,
    responses((status = 200, description = "The stored user message and the assistant's reply", body = ExchangeResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse),
        (status = 429, body = ErrorResponse), (status = 502, body = ErrorResponse), (status = 504, body = ErrorResponse)))]
#[post("/conversations/{id}/send")]
pub async fn send_message(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    rid: RequestId,
    q: ValidQuery<SendQuery>,
    body: ValidJson<SendMessageRequest>,
) -> ApiResult<HttpResponse> {
    let ctx = RequestContext {
        request_id: rid.unique,
        api_key_id: None,
    };
    let ex = call(&app, move |app| async move {
        app.send_message(
            &user.0,
            id.0,
            send_input(body.0),
            q.0.use_context.unwrap_or(true),
            &ctx,
        )
        .await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ExchangeResponse {
        user_message: MessageResponse::from(&ex.user_message),
        assistant_message: MessageResponse::from(&ex.assistant_message),
    }))
}

/// Sends a message and streams the reply as SSE: `data: {json}` events of type `start`
/// (ids), `content`, `usage`, then `done` or `error`. Errors before the stream starts are
/// ordinary error responses.
#[utoipa::path(tag = "conversations", operation_id = "stream_conversation_reply", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Conversation id"), StreamQuery), request_body = SendMessageRequest,
    responses((status = 200, description = "A `text/event-stream` of `data: {ConversationStreamEvent}` frames", content_type = "text/event-stream", body = crate::stream_events::ConversationStreamEvent), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse), (status = 502, body = ErrorResponse), (status = 504, body = ErrorResponse)))]
#[post("/conversations/{id}/stream")]
pub async fn stream_reply(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    rid: RequestId,
    q: ValidQuery<StreamQuery>,
    body: ValidJson<SendMessageRequest>,
) -> ApiResult<HttpResponse> {
    let timeout = stream_timeout(q.0.timeout)?;
    let ctx = RequestContext {
        request_id: rid.unique,
        api_key_id: None,
    };
    let reply = call(&app, move |app| async move {
        app.stream_reply(
            &user.0,
            id.0,
            send_input(body.0),
            q.0.use_context.unwrap_or(true),
            Some(timeout),
            ctx,
        )
        .await
    })
    .await?;
    Ok(sse::respond(HttpResponse::Ok(), None, reply, sse::native))
}

/// Body of `POST /conversations/stream`: the create-conversation fields plus the first
/// message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAndStreamRequest {
    /// The first user message (`message` and `initial_message` are accepted too).
    #[serde(alias = "message", alias = "initial_message")]
    pub content: String,
    /// Title (default: the start of `content`).
    pub title: Option<String>,
    /// Provider (required; must be yours or granted to you).
    pub provider_id: Option<i64>,
    /// Model (default: your default preference's, else the provider's `default_model`).
    pub model: Option<String>,
    /// System prompt.
    pub system_prompt: Option<String>,
    /// Reply token cap.
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_tokens: Option<i64>,
    /// Temperature 0–2.
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<f64>,
    /// Pinned.
    pub is_pinned: Option<bool>,
    /// Archived.
    pub is_archived: Option<bool>,
    /// JSON object, e.g. `{"tags": ["python"]}`.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// One of your categories.
    pub category_id: Option<i64>,
}

/// Creates a conversation and streams its first reply as SSE. The first event is
/// `{"type": "conversation", "conversation": {…}}` (the conversation as
/// `GET /conversations/{id}` returns it, without messages); then `start`, `content`…,
/// `usage`, and `done` or `error`, as `POST /conversations/{id}/stream`. Errors before the
/// stream starts are ordinary error responses, and no conversation is left behind.
#[utoipa::path(tag = "conversations", operation_id = "create_conversation_and_stream", security(("bearer" = []), ("oauth2" = [])), params(StreamQuery), request_body = CreateAndStreamRequest,
    responses((status = 200, description = "A `text/event-stream` of `data: {ConversationStreamEvent}` frames", content_type = "text/event-stream", body = crate::stream_events::ConversationStreamEvent), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse), (status = 502, body = ErrorResponse), (status = 504, body = ErrorResponse)))]
#[post("/conversations/stream")]
pub async fn create_and_stream(
    app: web::Data<App>,
    user: AuthUser,
    rid: RequestId,
    q: ValidQuery<StreamQuery>,
    body: ValidJson<CreateAndStreamRequest>,
) -> ApiResult<HttpResponse> {
    let timeout = stream_timeout(q.0.timeout)?;
    let ctx = RequestContext {
        request_id: rid.unique,
        api_key_id: None,
    };
    let b = body.0;
    let (conv, cats, reply) = call(&app, move |app| async move {
        let (conv, reply) = app
            .create_and_stream(
                &user.0,
                NewConversationInput {
                    title: b.title,
                    provider_id: b.provider_id,
                    model: b.model,
                    system_prompt: b.system_prompt,
                    initial_message: None,
                    max_tokens: b.max_tokens,
                    temperature: b.temperature,
                    is_pinned: b.is_pinned,
                    is_archived: b.is_archived,
                    metadata: b.metadata,
                    category_id: b.category_id,
                },
                SendInput {
                    content: b.content,
                    system_prompt: None,
                    max_tokens: None,
                    temperature: None,
                },
                q.0.use_context.unwrap_or(true),
                Some(timeout),
                ctx,
            )
            .await?;
        let cats = categories_for(&app, &user.0, &[&conv]).await?;
        Ok((conv, cats, reply))
    })
    .await?;
    let mut head = bytes::BytesMut::new();
    sse::put_frame(
        &mut head,
        &crate::stream_events::ConversationCreatedEvent {
            kind: crate::stream_events::ConversationCreatedType::Value,
            conversation: ConversationResponse::with_categories(&conv, &cats),
        },
    );
    Ok(sse::respond(
        HttpResponse::Ok(),
        Some(head.freeze()),
        reply,
        sse::native,
    ))
}

/// Stops the reply streaming in this conversation; the partial text is kept as `stopped`
/// and billed for what was generated.
#[utoipa::path(tag = "conversations", operation_id = "stop_conversation_stream", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Conversation id")),
    responses((status = 200, description = "Whether a running stream was stopped", body = StopResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[post("/conversations/{id}/stream/stop")]
pub async fn stop_stream(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let out = call(&app, move |app| async move {
        app.stop_stream(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(StopResponse {
        status: if out.stopped {
            "stopped"
        } else {
            "not_streaming"
        },
        stopped: out.stopped,
        message: out.message.as_ref().map(MessageResponse::from),
    }))
}
