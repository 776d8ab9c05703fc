//! `/api/v1/conversations`: threads (also called sessions) with replies sent whole or
//! streamed over SSE, and stop.

use crate::dto::{ListResponse, PageParams, double_option, pagination, ts};
use crate::error::{ApiResult, ErrorResponse};
use crate::extract::{AuthUser, PathId, ValidJson, ValidQuery, call};
use crate::middleware::RequestId;
use crate::sse;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use aihub_core::App;
use aihub_core::categories::Category;
use aihub_core::conversations::{
    Conversation, ConversationFilter, ConversationOrder, ConversationUpdate, Message,
    NewConversationInput, RequestContext, SendInput,
};
use aihub_domain::Money;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

/// A message. `cost` is in currency units for display; `cost_nanos` is exact.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResponse {
    /// Id.
    pub id: i64,
    /// Conversation.
    pub conversation_id: i64,
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// Text (for a stopped or failed reply: the text so far).
    pub content: String,
    /// `complete`, `streaming`, `stopped` or `failed`.
    pub status: String,
    /// Model that wrote it.
    pub model: Option<String>,
    /// Provider id that wrote it.
    pub provider_id: Option<i64>,
    /// Provider kind that wrote it.
    pub provider: Option<String>,
    /// Input tokens of the generation.
    pub prompt_tokens: Option<i64>,
    /// Output tokens of the generation.
    pub completion_tokens: Option<i64>,
    /// Both.
    pub total_tokens: Option<i64>,
    /// Cost in currency units (display only).
    pub cost: Option<f64>,
    /// Exact cost in nano-units (10^-9) of the currency.
    pub cost_nanos: Option<i64>,
    /// Why generation ended.
    pub finish_reason: Option<String>,
    /// Generation time in milliseconds.
    pub response_time_ms: Option<i64>,
    /// JSON object (token breakdown, `with_context`, …).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<&Message> for MessageResponse {
    fn from(m: &Message) -> Self {
        MessageResponse {
            id: m.id,
            conversation_id: m.conversation_id,
            role: m.role.clone(),
            content: m.content.clone(),
            status: m.status.clone(),
            model: m.model.clone(),
            provider_id: m.provider_id,
            provider: m.provider_kind.clone(),
            prompt_tokens: m.prompt_tokens,
            completion_tokens: m.completion_tokens,
            total_tokens: match (m.prompt_tokens, m.completion_tokens) {
                (Some(p), Some(c)) => Some(p + c),
                _ => None,
            },
            cost: m.cost.map(Money::as_units_f64),
            cost_nanos: m.cost.map(Money::nanos),
            finish_reason: m.finish_reason.clone(),
            response_time_ms: m.response_time_ms,
            metadata: m.metadata.clone(),
            created_at: ts(m.created_at),
        }
    }
}

/// A conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationResponse {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Title.
    pub title: String,
    /// Provider replies come from.
    pub provider_id: Option<i64>,
    /// Model replies come from.
    pub model: Option<String>,
    /// System prompt.
    pub system_prompt: Option<String>,
    /// Reply token cap.
    pub max_tokens: Option<i64>,
    /// Temperature.
    pub temperature: Option<f64>,
    /// Pinned.
    pub is_pinned: bool,
    /// Archived.
    pub is_archived: bool,
    /// JSON object (`tags`, `description`, …).
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// Stored messages.
    pub message_count: i64,
    /// Newest message time.
    pub last_message_at: Option<DateTime<Utc>>,
    /// Category it is filed under.
    pub category_id: Option<i64>,
    /// That category (`null`: uncategorised).
    pub category: Option<CategoryRef>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The category shown with a conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryRef {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `#RRGGBB`.
    pub color: Option<String>,
}

impl ConversationResponse {
    /// The response for `c`, with its category looked up in `cats`.
    fn with_categories(c: &Conversation, cats: &HashMap<i64, Category>) -> Self {
        let mut r = ConversationResponse::from(c);
        r.category = c
            .category_id
            .and_then(|id| cats.get(&id))
            .map(|k| CategoryRef {
                id: k.id,
                name: k.name.clone(),
                color: k.color.clone(),
            });
        r
    }
}

/// The caller's categories of `rows`, for [`ConversationResponse::with_categories`].
async fn categories_for(
    app: &App,
    user: &aihub_core::auth::CurrentUser,
    rows: &[&Conversation],
) -> aihub_core::Result<HashMap<i64, Category>> {
    let mut ids: Vec<i64> = rows.iter().filter_map(|c| c.category_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    app.categories_by_id(user, &ids).await
}

impl From<&Conversation> for ConversationResponse {
    fn from(c: &Conversation) -> Self {
        ConversationResponse {
            id: c.id,
            user_id: c.user_id,
            title: c.title.clone(),
            provider_id: c.provider_id,
            model: c.model.clone(),
            system_prompt: c.system_prompt.clone(),
            max_tokens: c.max_tokens,
            temperature: c.temperature,
            is_pinned: c.is_pinned,
            is_archived: c.is_archived,
            metadata: c.metadata.clone(),
            message_count: c.message_count,
            last_message_at: c.last_message_at.map(ts),
            category_id: c.category_id,
            category: None,
            created_at: ts(c.created_at),
            updated_at: ts(c.updated_at),
        }
    }
}

/// A conversation with its messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationDetailResponse {
    /// The conversation.
    #[serde(flatten)]
    pub conversation: ConversationResponse,
    /// Its messages, oldest first.
    pub messages: Vec<MessageResponse>,
}

/// Body of `POST /conversations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversationRequest {
    /// Title (default: the start of `initial_message`).
    pub title: Option<String>,
    /// Provider (must be yours or granted to you).
    pub provider_id: Option<i64>,
    /// Model (default: the provider's `default_model`).
    pub model: Option<String>,
    /// System prompt.
    pub system_prompt: Option<String>,
    /// First user message, stored without generating a reply.
    pub initial_message: Option<String>,
    /// Reply token cap.
    pub max_tokens: Option<i64>,
    /// Temperature 0–2.
    pub temperature: Option<f64>,
    /// Pinned.
    pub is_pinned: Option<bool>,
    /// Archived.
    pub is_archived: Option<bool>,
    /// JSON object, e.g. `{"tags": ["python"], "description": "…"}`.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// One of your categories (404 naming `category_id` otherwise).
    pub category_id: Option<i64>,
}

/// Body of `PUT|PATCH /conversations/{id}`; absent fields are left, `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConversationRequest {
    /// Title.
    pub title: Option<String>,
    /// Provider.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub provider_id: Option<Option<i64>>,
    /// Model.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub model: Option<Option<String>>,
    /// System prompt.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub system_prompt: Option<Option<String>>,
    /// Reply token cap.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub max_tokens: Option<Option<i64>>,
    /// Temperature.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>)]
    pub temperature: Option<Option<f64>>,
    /// Pinned.
    pub is_pinned: Option<bool>,
    /// Archived.
    pub is_archived: Option<bool>,
    /// Metadata object (replaced whole).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// One of your categories; `null` uncategorises.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub category_id: Option<Option<i64>>,
}

/// Query of `GET /conversations`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConversationListQuery {
    /// 1-based page (default 1).
    pub page: Option<u32>,
    /// Rows per page (default 20, max 100).
    pub page_size: Option<u32>,
    /// Rows to skip (an alternative to `page`).
    pub skip: Option<u32>,
    /// Rows to return (an alternative to `page_size`).
    pub limit: Option<u32>,
    /// Only archived / not archived.
    pub is_archived: Option<bool>,
    /// Only pinned / not pinned.
    pub is_pinned: Option<bool>,
    /// Only this provider.
    pub provider_id: Option<i64>,
    /// Only this category.
    pub category_id: Option<i64>,
    /// Case-insensitive substring of the title (and of message text with `search_messages`).
    pub search: Option<String>,
    /// Let `search` match message text too (default false).
    pub search_messages: Option<bool>,
    /// `updated_at`, `-updated_at`, `created_at`, `-created_at`, `title`, `-title`,
    /// `last_message_at`, `-last_message_at`. Default: pinned first, then `-updated_at`.
    pub ordering: Option<String>,
}

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
    pub max_tokens: Option<i64>,
    /// Overrides the temperature.
    pub temperature: Option<f64>,
}

/// Query of `POST /conversations/{id}/send`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SendQuery {
    /// Send the stored history as context (default true).
    pub use_context: Option<bool>,
}

/// Query of `POST /conversations/{id}/stream`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Send the stored history as context (default true).
    pub use_context: Option<bool>,
    /// Cap on the whole generation, in seconds (default 120, max 3600).
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
    pub message: Option<MessageResponse>,
}

fn parse_ordering(s: Option<&str>) -> ApiResult<ConversationOrder> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(ConversationOrder::PinnedThenRecent);
    };
    let (asc, field) = match s.strip_prefix('-') {
        Some(f) => (false, f),
        None => (true, s),
    };
    Ok(match field {
        "updated_at" => ConversationOrder::UpdatedAt(asc),
        "created_at" => ConversationOrder::CreatedAt(asc),
        "title" => ConversationOrder::Title(asc),
        "last_message_at" => ConversationOrder::LastMessageAt(asc),
        _ => {
            return Err(aihub_core::Error::validation(
                "ordering",
                "ordering must be one of updated_at, created_at, title, last_message_at, optionally prefixed with -",
            )
            .into());
        }
    })
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

/// Lists the caller's conversations.
#[utoipa::path(tag = "conversations", operation_id = "list_conversations", security(("bearer" = []), ("oauth2" = [])), params(ConversationListQuery),
    responses((status = 200, body = ListResponse<ConversationResponse>), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[get("/conversations")]
pub async fn list_conversations(
    app: web::Data<App>,
    user: AuthUser,
    q: ValidQuery<ConversationListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.0;
    let (page_req, page, size) = PageParams {
        page: q.page,
        page_size: q.page_size,
        skip: q.skip,
        limit: q.limit,
    }
    .resolve()?;
    let order = parse_ordering(q.ordering.as_deref())?;
    let filter = ConversationFilter {
        is_archived: q.is_archived,
        is_pinned: q.is_pinned,
        provider_id: q.provider_id,
        category_id: q.category_id,
        search: q.search.filter(|s| !s.trim().is_empty()),
        search_messages: q.search_messages.unwrap_or(false),
    };
    let (rows, cats) = call(&app, move |app| async move {
        let rows = app
            .list_conversations(&user.0, &filter, order, page_req)
            .await?;
        let cats = categories_for(&app, &user.0, &rows.items.iter().collect::<Vec<_>>()).await?;
        Ok((rows, cats))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        pagination: pagination(page, size, rows.total),
        items: rows
            .items
            .iter()
            .map(|c| ConversationResponse::with_categories(c, &cats))
            .collect::<Vec<_>>(),
    }))
}

/// Creates a conversation (`initial_message` is stored, no reply is generated).
#[utoipa::path(tag = "conversations", operation_id = "create_conversation", security(("bearer" = []), ("oauth2" = [])), request_body = CreateConversationRequest,
    responses((status = 201, body = ConversationDetailResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/conversations")]
pub async fn create_conversation(
    app: web::Data<App>,
    user: AuthUser,
    body: ValidJson<CreateConversationRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let (d, cats) = call(&app, move |app| async move {
        let d = app
            .create_conversation(
                &user.0,
                NewConversationInput {
                    title: b.title,
                    provider_id: b.provider_id,
                    model: b.model,
                    system_prompt: b.system_prompt,
                    initial_message: b.initial_message,
                    max_tokens: b.max_tokens,
                    temperature: b.temperature,
                    is_pinned: b.is_pinned,
                    is_archived: b.is_archived,
                    metadata: b.metadata,
                    category_id: b.category_id,
                },
            )
            .await?;
        let cats = categories_for(&app, &user.0, &[&d.conversation]).await?;
        Ok((d, cats))
    })
    .await?;
    Ok(HttpResponse::Created().json(ConversationDetailResponse {
        conversation: ConversationResponse::with_categories(&d.conversation, &cats),
        messages: d.messages.iter().map(MessageResponse::from).collect(),
    }))
}

/// One conversation with its messages.
#[utoipa::path(tag = "conversations", operation_id = "get_conversation", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Conversation id")),
    responses((status = 200, body = ConversationDetailResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[get("/conversations/{id}")]
pub async fn get_conversation(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let (d, cats) = call(&app, move |app| async move {
        let d = app.get_conversation(&user.0, id.0).await?;
        let cats = categories_for(&app, &user.0, &[&d.conversation]).await?;
        Ok((d, cats))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ConversationDetailResponse {
        conversation: ConversationResponse::with_categories(&d.conversation, &cats),
        messages: d.messages.iter().map(MessageResponse::from).collect(),
    }))
}

async fn do_update(
    app: &App,
    user: AuthUser,
    id: i64,
    b: UpdateConversationRequest,
) -> ApiResult<HttpResponse> {
    let (row, cats) = call(app, move |app| async move {
        let row = app
            .update_conversation(
                &user.0,
                id,
                ConversationUpdate {
                    title: b.title,
                    provider_id: b.provider_id,
                    model: b.model,
                    system_prompt: b.system_prompt,
                    max_tokens: b.max_tokens,
                    temperature: b.temperature,
                    is_pinned: b.is_pinned,
                    is_archived: b.is_archived,
                    metadata: b.metadata,
                    category_id: b.category_id,
                },
            )
            .await?;
        let cats = categories_for(&app, &user.0, &[&row]).await?;
        Ok((row, cats))
    })
    .await?;
    Ok(HttpResponse::Ok().json(ConversationResponse::with_categories(&row, &cats)))
}

/// Partially updates a conversation.
#[utoipa::path(tag = "conversations", operation_id = "update_conversation", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Conversation id")), request_body = UpdateConversationRequest,
    responses((status = 200, body = ConversationResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/conversations/{id}")]
pub async fn patch_conversation(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<UpdateConversationRequest>,
) -> ApiResult<HttpResponse> {
    do_update(&app, user, id.0, body.0).await
}

/// Updates a conversation (partial, as PATCH; PUT is accepted for the same update).
#[utoipa::path(tag = "conversations", operation_id = "replace_conversation", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Conversation id")), request_body = UpdateConversationRequest,
    responses((status = 200, body = ConversationResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[put("/conversations/{id}")]
pub async fn put_conversation(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<UpdateConversationRequest>,
) -> ApiResult<HttpResponse> {
    do_update(&app, user, id.0, body.0).await
}

/// Deletes a conversation and its messages.
#[utoipa::path(tag = "conversations", operation_id = "delete_conversation", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Conversation id")),
    responses((status = 204), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[delete("/conversations/{id}")]
pub async fn delete_conversation(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    call(&app, move |app| async move {
        app.delete_conversation(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sends a message and returns both stored messages once the reply is complete.
#[utoipa::path(tag = "conversations", operation_id = "send_message", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Conversation id"), SendQuery), request_body = SendMessageRequest,
    responses((status = 200, body = ExchangeResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse),
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
    responses((status = 200, description = "Server-sent events", content_type = "text/event-stream", body = sse::StreamEventDoc), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse),
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
    pub max_tokens: Option<i64>,
    /// Temperature 0–2.
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
    responses((status = 200, description = "Server-sent events", content_type = "text/event-stream", body = sse::StreamEventDoc), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse),
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
        &serde_json::json!({
            "type": "conversation",
            "conversation": ConversationResponse::with_categories(&conv, &cats),
        }),
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
    responses((status = 200, body = StopResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
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

/// Body of `POST /conversations/bulk-delete`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDeleteRequest {
    /// 1–1000 conversation ids; those not yours are ignored.
    pub ids: Vec<i64>,
}

/// Body of `POST /conversations/bulk-archive`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkArchiveRequest {
    /// 1–1000 conversation ids; those not yours are ignored.
    pub ids: Vec<i64>,
    /// Archive (`true`) or unarchive (`false`).
    pub archived: bool,
}

/// Answer of `POST /conversations/bulk-delete`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkDeleteResponse {
    /// Conversations deleted (only yours count).
    pub deleted: usize,
}

/// Answer of `POST /conversations/bulk-archive`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkArchiveResponse {
    /// Conversations updated (only yours count).
    pub updated: usize,
}

/// Body of `POST /conversations/{id}/messages`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMessageRequest {
    /// `user`, `assistant` or `system`.
    pub role: String,
    /// Text, not empty.
    pub content: String,
}

/// Query of `GET /conversations/{id}/messages`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MessageListQuery {
    /// 1-based page (default 1).
    pub page: Option<u32>,
    /// Rows per page (default 20, max 100).
    pub page_size: Option<u32>,
    /// Rows to skip (an alternative to `page`).
    pub skip: Option<u32>,
    /// Rows to return (an alternative to `page_size`).
    pub limit: Option<u32>,
}

/// Answer of `POST /conversations/{id}/clear`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClearResponse {
    /// Always `history_cleared`.
    pub status: &'static str,
    /// Messages deleted.
    pub deleted: usize,
}

/// Answer of `GET /conversations/stats`, scoped to the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationStatsResponse {
    /// Every conversation.
    pub total_conversations: i64,
    /// Not archived.
    pub active_conversations: i64,
    /// Archived.
    pub archived_conversations: i64,
    /// Pinned.
    pub pinned_conversations: i64,
    /// Messages across all conversations.
    pub total_messages: i64,
    /// Prompt plus completion tokens of those messages.
    pub total_tokens: i64,
    /// `total_messages / total_conversations` (0 without conversations).
    pub average_messages_per_conversation: f64,
    /// Conversations updated in the last 7 days.
    pub recent_activity: i64,
}

/// Query of `GET /messages/recent`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecentQuery {
    /// How many (default 20, max 100).
    pub limit: Option<i64>,
}

/// A recent message with its conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentMessageResponse {
    /// The message (its `conversation_id` included).
    #[serde(flatten)]
    pub message: MessageResponse,
    /// Its conversation's title.
    pub conversation_title: String,
}

/// Answer of `GET /messages/recent`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentMessagesResponse {
    /// Newest first.
    pub items: Vec<RecentMessageResponse>,
}

/// Deletes several of your conversations at once; foreign and missing ids are not counted.
#[utoipa::path(tag = "conversations", operation_id = "bulk_delete_conversations", security(("bearer" = []), ("oauth2" = [])), request_body = BulkDeleteRequest,
    responses((status = 200, body = BulkDeleteResponse), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/conversations/bulk-delete")]
pub async fn bulk_delete(
    app: web::Data<App>,
    user: AuthUser,
    body: ValidJson<BulkDeleteRequest>,
) -> ApiResult<HttpResponse> {
    let deleted = call(&app, move |app| async move {
        app.bulk_delete_conversations(&user.0, &body.0.ids).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(BulkDeleteResponse { deleted }))
}

/// Archives or unarchives several of your conversations; foreign and missing ids are not
/// counted.
#[utoipa::path(tag = "conversations", operation_id = "bulk_archive_conversations", security(("bearer" = []), ("oauth2" = [])), request_body = BulkArchiveRequest,
    responses((status = 200, body = BulkArchiveResponse), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/conversations/bulk-archive")]
pub async fn bulk_archive(
    app: web::Data<App>,
    user: AuthUser,
    body: ValidJson<BulkArchiveRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let updated = call(&app, move |app| async move {
        app.bulk_archive_conversations(&user.0, &b.ids, b.archived)
            .await
    })
    .await?;
    Ok(HttpResponse::Ok().json(BulkArchiveResponse { updated }))
}

/// Totals of your conversations and messages.
#[utoipa::path(tag = "conversations", operation_id = "conversation_stats", security(("bearer" = []), ("oauth2" = [])),
    responses((status = 200, body = ConversationStatsResponse), (status = 401, body = ErrorResponse)))]
#[get("/conversations/stats")]
pub async fn conversation_stats(app: web::Data<App>, user: AuthUser) -> ApiResult<HttpResponse> {
    let s = call(&app, move |app| async move {
        app.conversation_stats(&user.0).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ConversationStatsResponse {
        total_conversations: s.total,
        active_conversations: s.total - s.archived,
        archived_conversations: s.archived,
        pinned_conversations: s.pinned,
        total_messages: s.messages,
        total_tokens: s.tokens,
        average_messages_per_conversation: s.average_messages_per_conversation,
        recent_activity: s.recent,
    }))
}

/// The messages of a conversation, oldest first, paginated.
#[utoipa::path(tag = "conversations", operation_id = "list_conversation_messages", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Conversation id"), MessageListQuery),
    responses((status = 200, body = ListResponse<MessageResponse>), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[get("/conversations/{id}/messages")]
pub async fn list_messages(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    q: ValidQuery<MessageListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.0;
    let (page_req, page, size) = PageParams {
        page: q.page,
        page_size: q.page_size,
        skip: q.skip,
        limit: q.limit,
    }
    .resolve()?;
    let rows = call(&app, move |app| async move {
        app.list_messages(&user.0, id.0, page_req).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListResponse {
        pagination: pagination(page, size, rows.total),
        items: rows
            .items
            .iter()
            .map(MessageResponse::from)
            .collect::<Vec<_>>(),
    }))
}

/// Adds a message with a role to a conversation without generating a reply.
#[utoipa::path(tag = "conversations", operation_id = "add_conversation_message", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Conversation id")), request_body = AddMessageRequest,
    responses((status = 201, body = MessageResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/conversations/{id}/messages")]
pub async fn add_message(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<AddMessageRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let m = call(&app, move |app| async move {
        app.add_message(&user.0, id.0, &b.role, &b.content).await
    })
    .await?;
    Ok(HttpResponse::Created().json(MessageResponse::from(&m)))
}

/// Deletes the messages of a conversation; the conversation and its system prompt stay.
/// 409 while a reply is streaming in it.
#[utoipa::path(tag = "conversations", operation_id = "clear_conversation", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Conversation id")),
    responses((status = 200, body = ClearResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
#[post("/conversations/{id}/clear")]
pub async fn clear_conversation(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let deleted = call(&app, move |app| async move {
        app.clear_history(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ClearResponse {
        status: "history_cleared",
        deleted,
    }))
}

/// Your newest messages across conversations, newest first.
#[utoipa::path(tag = "conversations", operation_id = "recent_messages", security(("bearer" = []), ("oauth2" = [])), params(RecentQuery),
    responses((status = 200, body = RecentMessagesResponse), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[get("/messages/recent")]
pub async fn recent_messages(
    app: web::Data<App>,
    user: AuthUser,
    q: ValidQuery<RecentQuery>,
) -> ApiResult<HttpResponse> {
    let limit = q.0.limit.unwrap_or(20);
    let rows = call(&app, move |app| async move {
        app.recent_messages(&user.0, limit).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(RecentMessagesResponse {
        items: rows
            .iter()
            .map(|r| RecentMessageResponse {
                message: MessageResponse::from(&r.message),
                conversation_title: r.conversation_title.clone(),
            })
            .collect(),
    }))
}
