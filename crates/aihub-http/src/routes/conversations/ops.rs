//! Operations over many conversations or a conversation's messages: bulk delete and
//! archive, stats, the message list, adding a message, clearing, and recent messages.

use super::*;
use crate::dto::Paged;

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
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MessageListQuery {
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
}

crate::paged!(MessageListQuery);

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
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecentQuery {
    /// How many (default 20, max 100).
    #[param(minimum = 1, maximum = 100)]
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
    responses((status = 200, description = "How many conversations were deleted", body = BulkDeleteResponse), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
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
    responses((status = 200, description = "How many conversations were updated", body = BulkArchiveResponse), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
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
#[utoipa::path(tag = "conversations", operation_id = "get_conversation_stats", security(("bearer" = []), ("oauth2" = [])),
    responses((status = 200, description = "Counts over the caller's conversations", body = ConversationStatsResponse), (status = 401, body = ErrorResponse)))]
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
    responses((status = 200, description = "A page of messages", body = ListResponse<MessageResponse>), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[get("/conversations/{id}/messages")]
pub async fn list_messages(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    q: ValidQuery<MessageListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.0;
    let (page_req, page, size) = q.page_params().resolve()?;
    let rows = call(&app, move |app| async move {
        app.list_messages(&user.0, id.0, page_req).await
    })
    .await?;
    Ok(
        HttpResponse::Ok().json(ListResponse::of(rows, page, size, |m| {
            MessageResponse::from(&m)
        })),
    )
}

/// Adds a message with a role to a conversation without generating a reply.
#[utoipa::path(tag = "conversations", operation_id = "add_conversation_message", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Conversation id")), request_body = AddMessageRequest,
    responses((status = 201, description = "The stored message", body = MessageResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
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
    responses((status = 200, description = "How many messages were deleted", body = ClearResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
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
#[utoipa::path(tag = "conversations", operation_id = "list_recent_messages", security(("bearer" = []), ("oauth2" = [])), params(RecentQuery),
    responses((status = 200, description = "The latest messages across the caller's conversations", body = RecentMessagesResponse), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
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
