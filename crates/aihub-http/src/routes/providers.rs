//! `/api/v1/providers`: upstream connections, each with its own vendor API key.

use crate::dto::{ListResponse, Paged, double_option, ts};
use crate::error::{ApiResult, ErrorResponse};
use crate::extract::{AuthUser, PathId, ValidJson, ValidQuery, call};
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use aihub_core::App;
use aihub_core::providers::{NewProviderInput, Provider, ProviderFilter, ProviderUpdate};
use aihub_domain::{ErrorCode, ProviderConfig, ProviderKind, ProviderScope};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

/// A provider. The API key is write-only: only its masked form comes back.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderResponse {
    /// Id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Slug: the `<slug>/` prefix of model names.
    pub slug: String,
    /// Wire family.
    pub kind: ProviderKind,
    /// `personal` or `organization`.
    pub scope: ProviderScope,
    /// Creator.
    pub created_by: i64,
    /// Masked API key (`sk-a…wxyz`), when one is stored.
    #[schema(required = true)]
    pub api_key: Option<String>,
    /// Whether an API key is stored.
    pub has_api_key: bool,
    /// Base URL as configured (`null`: the vendor's default).
    #[schema(required = true)]
    pub base_url: Option<String>,
    /// The URL requests actually go to.
    #[schema(required = true)]
    pub effective_base_url: Option<String>,
    /// Settings.
    pub config: ProviderConfig,
    /// Switched on.
    pub is_active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Provider> for ProviderResponse {
    fn from(p: Provider) -> Self {
        ProviderResponse {
            id: p.id,
            effective_base_url: p.effective_base_url(),
            name: p.name,
            slug: p.slug,
            kind: p.kind,
            scope: p.scope,
            created_by: p.owner_id,
            has_api_key: p.api_key_masked.is_some(),
            api_key: p.api_key_masked,
            base_url: p.base_url,
            config: p.config,
            is_active: p.is_active,
            created_at: ts(p.created_at),
            updated_at: ts(p.updated_at),
        }
    }
}

/// Body of `POST /providers`. `provider_type` and `api_base_url` are accepted as aliases of
/// `kind` and `base_url`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProviderRequest {
    /// Display name.
    pub name: String,
    /// Slug (a-z, 0-9, `-`, `_`); derived from the name when absent.
    pub slug: Option<String>,
    /// Wire family.
    #[serde(alias = "provider_type")]
    pub kind: ProviderKind,
    /// Scope (default `personal`; `organization` is admin-only).
    pub scope: Option<ProviderScope>,
    /// The vendor API key (write-only).
    #[schema(value_type = Option<String>)]
    pub api_key: Option<SecretString>,
    /// Base URL (OpenAI family includes `/v1`); required for `openai_compatible`.
    #[serde(alias = "api_base_url")]
    pub base_url: Option<String>,
    /// Settings.
    pub config: Option<ProviderConfig>,
    /// Switched on (default true).
    pub is_active: Option<bool>,
}

/// Body of `PUT|PATCH /providers/{id}`; absent fields are left as they are, `null` clears
/// `api_key` or `base_url`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProviderRequest {
    /// Display name.
    pub name: Option<String>,
    /// Slug.
    pub slug: Option<String>,
    /// New API key; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub api_key: Option<Option<SecretString>>,
    /// New base URL; `null` returns to the vendor default.
    #[serde(default, deserialize_with = "double_option", alias = "api_base_url")]
    #[schema(value_type = Option<String>)]
    pub base_url: Option<Option<String>>,
    /// Settings (replaced as a whole).
    pub config: Option<ProviderConfig>,
    /// Switched on.
    pub is_active: Option<bool>,
}

/// Query of `GET /providers`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProviderListQuery {
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
    /// Only this scope.
    pub scope: Option<ProviderScope>,
    /// Only this kind.
    #[serde(alias = "provider_type")]
    pub kind: Option<ProviderKind>,
    /// Only active or inactive ones.
    pub is_active: Option<bool>,
}

crate::paged!(ProviderListQuery);

/// Result of `POST /providers/{id}/test`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderTestResponse {
    /// Whether the upstream answered.
    pub ok: bool,
    /// Round trip in milliseconds.
    pub latency_ms: u64,
    /// Model ids the upstream listed.
    pub models: Vec<String>,
    /// The mapped error, when not ok.
    #[schema(required = true)]
    pub error: Option<ProviderTestError>,
}

/// A failed provider test.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderTestError {
    /// Mapped code (`provider_key_invalid`, `upstream_unavailable`, …).
    pub code: ErrorCode,
    /// Safe message.
    pub message: String,
}

/// Creates a provider; the key is encrypted at rest and never returned.
#[utoipa::path(tag = "providers", operation_id = "create_provider", security(("bearer" = []), ("oauth2" = [])), request_body = CreateProviderRequest,
    responses((status = 201, description = "The provider (its API key is never returned)", body = ProviderResponse), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/providers")]
pub async fn create_provider(
    app: web::Data<App>,
    user: AuthUser,
    body: ValidJson<CreateProviderRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let p = call(&app, move |app| async move {
        app.create_provider(
            &user.0,
            NewProviderInput {
                name: b.name,
                slug: b.slug,
                kind: b.kind,
                scope: b.scope.unwrap_or(ProviderScope::Personal),
                api_key: b.api_key,
                base_url: b.base_url,
                config: b.config.unwrap_or_default(),
                is_active: b.is_active,
            },
        )
        .await
    })
    .await?;
    Ok(HttpResponse::Created().json(ProviderResponse::from(p)))
}

/// Lists the caller's own providers.
#[utoipa::path(tag = "providers", operation_id = "list_providers", security(("bearer" = []), ("oauth2" = [])), params(ProviderListQuery),
    responses((status = 200, description = "A page of providers", body = ListResponse<ProviderResponse>), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[get("/providers")]
pub async fn list_providers(
    app: web::Data<App>,
    user: AuthUser,
    q: ValidQuery<ProviderListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.0;
    let (page_req, page, size) = q.page_params().resolve()?;
    let filter = ProviderFilter {
        scope: q.scope,
        kind: q.kind,
        is_active: q.is_active,
    };
    let rows = call(&app, move |app| async move {
        app.list_providers(&user.0, &filter, page_req).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListResponse::of(rows, page, size, ProviderResponse::from)))
}

/// Every active provider the caller may use: own ones and organization ones granted to them.
#[utoipa::path(tag = "providers", operation_id = "list_available_providers", security(("bearer" = []), ("oauth2" = [])),
    responses((status = 200, description = "The active providers the caller can use", body = Vec<ProviderResponse>), (status = 401, body = ErrorResponse)))]
#[get("/providers/available")]
pub async fn available_providers(app: web::Data<App>, user: AuthUser) -> ApiResult<HttpResponse> {
    let items: Vec<ProviderResponse> = call(&app, move |app| async move {
        app.available_providers(&user.0).await
    })
    .await?
    .into_iter()
    .map(ProviderResponse::from)
    .collect();
    Ok(HttpResponse::Ok().json(items))
}

/// One provider the caller owns or was granted.
#[utoipa::path(tag = "providers", operation_id = "get_provider", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Provider id")),
    responses((status = 200, description = "The provider (its API key is never returned)", body = ProviderResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[get("/providers/{id}")]
pub async fn get_provider(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ProviderResponse::from(
        call(&app, move |app| async move {
            app.get_provider(&user.0, id.0).await
        })
        .await?,
    )))
}

async fn do_update(
    app: &App,
    user: AuthUser,
    id: i64,
    b: UpdateProviderRequest,
) -> ApiResult<HttpResponse> {
    let p = call(app, move |app| async move {
        app.update_provider(
            &user.0,
            id,
            ProviderUpdate {
                name: b.name,
                slug: b.slug,
                api_key: b.api_key,
                base_url: b.base_url,
                config: b.config,
                is_active: b.is_active,
            },
        )
        .await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ProviderResponse::from(p)))
}

/// Updates a provider the caller owns (`PUT` is partial, the same as PATCH).
#[utoipa::path(tag = "providers", operation_id = "replace_provider", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Provider id")), request_body = UpdateProviderRequest,
    responses((status = 200, description = "The provider (its API key is never returned)", body = ProviderResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[put("/providers/{id}")]
pub async fn put_provider(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<UpdateProviderRequest>,
) -> ApiResult<HttpResponse> {
    do_update(&app, user, id.0, body.0).await
}

/// Partially updates a provider the caller owns.
#[utoipa::path(tag = "providers", operation_id = "update_provider", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Provider id")), request_body = UpdateProviderRequest,
    responses((status = 200, description = "The provider (its API key is never returned)", body = ProviderResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/providers/{id}")]
pub async fn patch_provider(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<UpdateProviderRequest>,
) -> ApiResult<HttpResponse> {
    do_update(&app, user, id.0, body.0).await
}

/// Deletes a provider the caller owns.
#[utoipa::path(tag = "providers", operation_id = "delete_provider", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Provider id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[delete("/providers/{id}")]
pub async fn delete_provider(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    call(&app, move |app| async move {
        app.delete_provider(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Tests the provider's key: calls the upstream's model list and reports ok or the mapped
/// error.
#[utoipa::path(tag = "providers", operation_id = "test_provider", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Provider id")),
    responses((status = 200, description = "The result of the connection test (a failed test is a 200 with `ok: false`)", body = ProviderTestResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[post("/providers/{id}/test")]
pub async fn test_provider(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let r = call(&app, move |app| async move {
        app.test_provider(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ProviderTestResponse {
        ok: r.ok,
        latency_ms: r.latency_ms,
        models: r.models.into_iter().map(|m| m.id).collect(),
        error: r
            .error
            .map(|(code, message)| ProviderTestError { code, message }),
    }))
}

/// Registers this module's routes (inside the `/api/v1` scope), in matching order.
pub(crate) fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg
        // `available` before `{id}`: routes match in registration order.
        .service(available_providers)
        .service(list_providers)
        .service(create_provider)
        .service(get_provider)
        .service(put_provider)
        .service(patch_provider)
        .service(delete_provider)
        .service(test_provider);
}
