//! `/api/v1/keys`: developer API keys for the `/v1` API, and
//! `GET /v1/key`, the calling key's own description (like OpenRouter's `GET /api/v1/key`,
//! <https://openrouter.ai/docs/api-reference/api-keys/get-current-key>).
//!
//! The secret (`key`) appears in exactly one response: the `201` of its creation. Nothing
//! returns its hash.

use crate::api_key::ApiKeyAuth;
use crate::dto::{ListResponse, Paged, double_option, ts};
use crate::error::{ApiResult, ErrorResponse};
use crate::extract::{AuthUser, PathId, ValidJson, ValidQuery, call};
use actix_web::{HttpResponse, delete, get, patch, post, web};
use aihub_core::App;
use aihub_core::keys::{
    ApiKey, ApiKeyPrincipal, ApiKeyUpdate, NewApiKeyInput, Permission, Permissions,
};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

/// What a key may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyPermission {
    /// Chat completions and the other generation routes.
    Chat,
    /// The model list.
    Models,
    /// Usage and quota.
    Usage,
}

impl From<Permission> for ApiKeyPermission {
    fn from(p: Permission) -> Self {
        match p {
            Permission::Chat => ApiKeyPermission::Chat,
            Permission::Models => ApiKeyPermission::Models,
            Permission::Usage => ApiKeyPermission::Usage,
        }
    }
}

fn permission_list(p: Permissions) -> Vec<ApiKeyPermission> {
    p.iter().map(ApiKeyPermission::from).collect()
}

/// A key's own limits; `null` means only the owner's plan applies.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ApiKeyRateLimit {
    /// Requests per minute.
    #[schema(required = true)]
    pub requests_per_minute: Option<i64>,
    /// Tokens (prompt + completion) per minute.
    #[schema(required = true)]
    pub tokens_per_minute: Option<i64>,
}

/// A developer API key. The secret is never included; `prefix` identifies it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyResponse {
    /// Id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Display prefix, e.g. `sk-aihub-AbCd…`.
    pub prefix: String,
    /// What the key may be used for.
    pub permissions: Vec<ApiKeyPermission>,
    /// The key's own limits.
    pub rate_limit: ApiKeyRateLimit,
    /// Total tokens the key may consume (`null`: unlimited).
    #[schema(required = true)]
    pub usage_limit_tokens: Option<i64>,
    /// False when revoked.
    pub is_active: bool,
    /// When the key stops working (`null`: never).
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Last successful use (updated within a few seconds of a request).
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<ApiKey> for ApiKeyResponse {
    fn from(k: ApiKey) -> Self {
        ApiKeyResponse {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            permissions: permission_list(k.permissions),
            rate_limit: ApiKeyRateLimit {
                requests_per_minute: k.requests_per_minute,
                tokens_per_minute: k.tokens_per_minute,
            },
            usage_limit_tokens: k.usage_limit_tokens,
            is_active: k.is_active,
            expires_at: k.expires_at.map(ts),
            last_used_at: k.last_used_at.map(ts),
            created_at: ts(k.created_at),
        }
    }
}

/// A key just created: `key` is the secret, shown this once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeyResponse {
    /// Id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// The secret: `sk-aihub-` + 43 base62 characters. Store it now: only its hash is kept.
    pub key: String,
    /// Display prefix, e.g. `sk-aihub-AbCd…`.
    pub prefix: String,
    /// What the key may be used for.
    pub permissions: Vec<ApiKeyPermission>,
    /// The key's own limits.
    pub rate_limit: ApiKeyRateLimit,
    /// Total tokens the key may consume (`null`: unlimited).
    #[schema(required = true)]
    pub usage_limit_tokens: Option<i64>,
    /// True.
    pub is_active: bool,
    /// When the key stops working (`null`: never).
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    /// `null` until first used.
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Limits of a new key; each must be positive.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRateLimitInput {
    /// Requests per minute.
    pub requests_per_minute: Option<i64>,
    /// Tokens per minute.
    pub tokens_per_minute: Option<i64>,
}

/// Limit changes: an absent field is left as it is, `null` removes that limit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRateLimitPatch {
    /// Requests per minute.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub requests_per_minute: Option<Option<i64>>,
    /// Tokens per minute.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub tokens_per_minute: Option<Option<i64>>,
}

/// Body of `POST /keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// Display name, 1–100 characters.
    pub name: String,
    /// What the key may be used for (default: all three). Unknown values give 422.
    #[schema(value_type = Option<Vec<ApiKeyPermission>>)]
    pub permissions: Option<Vec<String>>,
    /// The key's own limits (positive).
    pub rate_limit: Option<ApiKeyRateLimitInput>,
    /// Total tokens the key may consume (positive).
    pub usage_limit_tokens: Option<i64>,
    /// RFC 3339 time in the future when the key stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Body of `PATCH /keys/{id}`: absent fields are left as they are; `null` clears
/// `rate_limit` (both limits), `usage_limit_tokens` or `expires_at`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateApiKeyRequest {
    /// Display name.
    pub name: Option<String>,
    /// What the key may be used for (replaced as a whole).
    #[schema(value_type = Option<Vec<ApiKeyPermission>>)]
    pub permissions: Option<Vec<String>>,
    /// `false` revokes the key from the next request on; `true` restores it.
    pub is_active: Option<bool>,
    /// Limit changes; `null` removes both limits.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<ApiKeyRateLimitPatch>)]
    pub rate_limit: Option<Option<ApiKeyRateLimitPatch>>,
    /// Token budget; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub usage_limit_tokens: Option<Option<i64>>,
    /// Expiry (RFC 3339, in the future); `null` makes the key never expire.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

/// Query of `GET /keys`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyListQuery {
    /// 1-based page (default 1).
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Rows per page (default 20, max 100).
    #[param(minimum = 1, maximum = 100)]
    pub page_size: Option<u32>,
    /// Rows to skip (an alternative to `page`; wins over it when given).
    pub skip: Option<u32>,
    /// Rows to return (an alternative to `page_size`; wins over it when given).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

crate::paged!(ApiKeyListQuery);

/// `GET /v1/key`: the calling key.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentApiKeyResponse {
    /// Id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Display prefix.
    pub prefix: String,
    /// What the key may be used for.
    pub permissions: Vec<ApiKeyPermission>,
    /// The key's own limits.
    pub rate_limit: ApiKeyRateLimit,
    /// Total tokens the key may consume (`null`: unlimited).
    #[schema(required = true)]
    pub usage_limit_tokens: Option<i64>,
    /// When the key stops working (`null`: never).
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The owner the key acts as.
    pub user_id: i64,
}

impl From<&ApiKeyPrincipal> for CurrentApiKeyResponse {
    fn from(p: &ApiKeyPrincipal) -> Self {
        CurrentApiKeyResponse {
            id: p.key_id,
            name: p.name.clone(),
            prefix: p.prefix.clone(),
            permissions: permission_list(p.permissions),
            rate_limit: ApiKeyRateLimit {
                requests_per_minute: p.requests_per_minute,
                tokens_per_minute: p.tokens_per_minute,
            },
            usage_limit_tokens: p.usage_limit_tokens,
            expires_at: p.expires_at.map(ts),
            user_id: p.user_id,
        }
    }
}

/// Creates a developer API key; the response holds the secret (`key`) this one time.
#[utoipa::path(tag = "keys", operation_id = "create_api_key", security(("bearer" = []), ("oauth2" = [])), request_body = CreateApiKeyRequest,
    responses((status = 201, description = "The new API key; its secret is shown in this response only", body = CreatedApiKeyResponse), (status = 401, body = ErrorResponse), (status = 409, body = ErrorResponse, description = "The account holds the most keys allowed"), (status = 422, body = ErrorResponse)))]
#[post("/keys")]
pub async fn create_api_key(
    app: web::Data<App>,
    user: AuthUser,
    body: ValidJson<CreateApiKeyRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let (rpm, tpm) = b
        .rate_limit
        .map(|r| (r.requests_per_minute, r.tokens_per_minute))
        .unwrap_or_default();
    let created = call(&app, move |app| async move {
        app.create_api_key(
            &user.0,
            NewApiKeyInput {
                name: b.name,
                permissions: b.permissions,
                requests_per_minute: rpm,
                tokens_per_minute: tpm,
                usage_limit_tokens: b.usage_limit_tokens,
                expires_at: b.expires_at,
            },
        )
        .await
    })
    .await?;
    let k = ApiKeyResponse::from(created.key);
    Ok(HttpResponse::Created().json(CreatedApiKeyResponse {
        id: k.id,
        name: k.name,
        key: created.secret.expose_secret().to_owned(),
        prefix: k.prefix,
        permissions: k.permissions,
        rate_limit: k.rate_limit,
        usage_limit_tokens: k.usage_limit_tokens,
        is_active: k.is_active,
        expires_at: k.expires_at,
        last_used_at: k.last_used_at,
        created_at: k.created_at,
    }))
}

/// Lists the caller's developer API keys, oldest first.
#[utoipa::path(tag = "keys", operation_id = "list_api_keys", security(("bearer" = []), ("oauth2" = [])), params(ApiKeyListQuery),
    responses((status = 200, description = "A page of API keys (without their secrets)", body = ListResponse<ApiKeyResponse>), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[get("/keys")]
pub async fn list_api_keys(
    app: web::Data<App>,
    user: AuthUser,
    q: ValidQuery<ApiKeyListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.0;
    let (page_req, page, size) = q.page_params().resolve()?;
    let rows = call(&app, move |app| async move {
        app.list_api_keys(&user.0, page_req).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListResponse::of(rows, page, size, ApiKeyResponse::from)))
}

/// One of the caller's developer API keys.
#[utoipa::path(tag = "keys", operation_id = "get_api_key", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Key id")),
    responses((status = 200, description = "The API key (its secret is never shown again)", body = ApiKeyResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[get("/keys/{id}")]
pub async fn get_api_key(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let k = call(&app, move |app| async move {
        app.get_api_key(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ApiKeyResponse::from(k)))
}

/// Changes one of the caller's keys (`is_active: false` revokes it); effective on the very
/// next request made with the key.
#[utoipa::path(tag = "keys", operation_id = "update_api_key", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Key id")), request_body = UpdateApiKeyRequest,
    responses((status = 200, description = "The API key (its secret is never shown again)", body = ApiKeyResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/keys/{id}")]
pub async fn update_api_key(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<UpdateApiKeyRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let (rpm, tpm) = match b.rate_limit {
        None => (None, None),
        Some(None) => (Some(None), Some(None)),
        Some(Some(r)) => (r.requests_per_minute, r.tokens_per_minute),
    };
    let k = call(&app, move |app| async move {
        app.update_api_key(
            &user.0,
            id.0,
            ApiKeyUpdate {
                name: b.name,
                permissions: b.permissions,
                is_active: b.is_active,
                requests_per_minute: rpm,
                tokens_per_minute: tpm,
                usage_limit_tokens: b.usage_limit_tokens,
                expires_at: b.expires_at,
            },
        )
        .await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ApiKeyResponse::from(k)))
}

/// Deletes one of the caller's keys; it fails from the very next request on.
#[utoipa::path(tag = "keys", operation_id = "delete_api_key", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Key id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[delete("/keys/{id}")]
pub async fn delete_api_key(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    call(&app, move |app| async move {
        app.delete_api_key(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The calling developer API key: lets an SDK check a key works and what it may do. Needs no
/// particular permission.
#[utoipa::path(tag = "keys", operation_id = "get_current_api_key", security(("api_key" = []), ("x_api_key" = [])),
    responses((status = 200, description = "The API key making the request", body = CurrentApiKeyResponse), (status = 401, body = ErrorResponse, description = "`missing_api_key` or `invalid_api_key`")))]
#[get("/key")]
pub async fn key_info(key: ApiKeyAuth) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(CurrentApiKeyResponse::from(key.0.as_ref())))
}

/// Registers this module's routes (inside the `/api/v1` scope), in matching order.
pub(crate) fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(list_api_keys)
        .service(create_api_key)
        .service(get_api_key)
        .service(update_api_key)
        .service(delete_api_key);
}
