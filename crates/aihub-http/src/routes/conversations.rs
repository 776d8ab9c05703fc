//! `/api/v1/conversations`: threads (also called sessions) with replies sent whole or
//! streamed over SSE, and stop.

use crate::dto::{ListResponse, Paged, double_option, ts};
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
use utoipa_actix_web::service_config::ServiceConfig;

mod ops;
mod replies;

pub use ops::*;
pub use replies::*;

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
    #[schema(required = true)]
    pub model: Option<String>,
    /// Provider id that wrote it.
    #[schema(required = true)]
    pub provider_id: Option<i64>,
    /// Provider kind that wrote it.
    #[schema(required = true)]
    pub provider: Option<String>,
    /// Input tokens of the generation.
    #[schema(required = true)]
    pub prompt_tokens: Option<i64>,
    /// Output tokens of the generation.
    #[schema(required = true)]
    pub completion_tokens: Option<i64>,
    /// Both.
    #[schema(required = true)]
    pub total_tokens: Option<i64>,
    /// Cost in currency units (display only).
    #[schema(required = true)]
    pub cost: Option<f64>,
    /// Exact cost in nano-units (10^-9) of the currency.
    #[schema(required = true)]
    pub cost_nanos: Option<i64>,
    /// Why generation ended.
    #[schema(required = true)]
    pub finish_reason: Option<String>,
    /// Generation time in milliseconds.
    #[schema(required = true)]
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
    #[schema(required = true)]
    pub provider_id: Option<i64>,
    /// Model replies come from.
    #[schema(required = true)]
    pub model: Option<String>,
    /// System prompt.
    #[schema(required = true)]
    pub system_prompt: Option<String>,
    /// Reply token cap.
    #[schema(required = true)]
    pub max_tokens: Option<i64>,
    /// Temperature.
    #[schema(required = true)]
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
    #[schema(required = true)]
    pub last_message_at: Option<DateTime<Utc>>,
    /// Category it is filed under.
    #[schema(required = true)]
    pub category_id: Option<i64>,
    /// That category (`null`: uncategorised).
    #[schema(required = true)]
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
    #[schema(required = true)]
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
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_tokens: Option<i64>,
    /// Temperature 0–2.
    #[schema(minimum = 0, maximum = 2)]
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
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_tokens: Option<Option<i64>>,
    /// Temperature.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>)]
    #[schema(minimum = 0, maximum = 2)]
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
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConversationListQuery {
    /// 1-based page (default 1).
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Rows per page (default 20, max 100).
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u32>,
    /// Rows to skip (an alternative to `page`).
    pub skip: Option<u32>,
    /// Rows to return (an alternative to `page_size`).
    #[param(minimum = 1, maximum = 100)]
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

crate::paged!(ConversationListQuery);

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

/// Lists the caller's conversations.
#[utoipa::path(tag = "conversations", operation_id = "list_conversations", security(("bearer" = []), ("oauth2" = [])), params(ConversationListQuery),
    responses((status = 200, description = "A page of conversations", body = ListResponse<ConversationResponse>), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[get("/conversations")]
pub async fn list_conversations(
    app: web::Data<App>,
    user: AuthUser,
    q: ValidQuery<ConversationListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.0;
    let (page_req, page, size) = q.page_params().resolve()?;
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
    Ok(
        HttpResponse::Ok().json(ListResponse::of(rows, page, size, |c| {
            ConversationResponse::with_categories(&c, &cats)
        })),
    )
}

/// Creates a conversation (`initial_message` is stored, no reply is generated).
#[utoipa::path(tag = "conversations", operation_id = "create_conversation", security(("bearer" = []), ("oauth2" = [])), request_body = CreateConversationRequest,
    responses((status = 201, description = "The conversation with its messages", body = ConversationDetailResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
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
    responses((status = 200, description = "The conversation with its messages", body = ConversationDetailResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
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
    responses((status = 200, description = "The conversation (without messages)", body = ConversationResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
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
    responses((status = 200, description = "The conversation (without messages)", body = ConversationResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
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
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
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

/// Registers this module's routes (inside the `/api/v1` scope), in matching order.
pub(crate) fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(list_conversations)
        .service(create_conversation)
        .service(create_and_stream)
        // Literal paths before `{id}`: routes match in registration order.
        .service(bulk_delete)
        .service(bulk_archive)
        .service(conversation_stats)
        .service(recent_messages)
        .service(get_conversation)
        .service(patch_conversation)
        .service(put_conversation)
        .service(delete_conversation)
        .service(send_message)
        .service(stream_reply)
        .service(stop_stream)
        .service(list_messages)
        .service(add_message)
        .service(clear_conversation);
}
