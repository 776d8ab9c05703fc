//! `/api/v1/model-preferences`: saved model settings per provider kind, with one
//! default per kind.

use crate::dto::{ListResponse, Paged, double_option, ts};
use crate::error::{ApiResult, ErrorResponse};
use crate::extract::{AuthUser, PathId, ValidJson, ValidQuery, call};
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use aihub_core::App;
use aihub_core::model_preferences::{
    ModelPreference, ModelPreferenceUpdate, NewModelPreferenceInput,
};
use aihub_domain::ProviderKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

/// A saved model preference.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelPreferenceResponse {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Provider kind the preference applies to.
    pub provider_kind: ProviderKind,
    /// Model id as the vendor names it (`gpt-4o-mini`).
    pub model: String,
    /// Cap on completion tokens.
    #[schema(required = true)]
    pub max_tokens: Option<i64>,
    /// Sampling temperature, 0–2.
    #[schema(required = true)]
    pub temperature: Option<f64>,
    /// System prompt.
    #[schema(required = true)]
    pub system_prompt: Option<String>,
    /// Whether this is the caller's default for `provider_kind`.
    pub is_default: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<ModelPreference> for ModelPreferenceResponse {
    fn from(p: ModelPreference) -> Self {
        ModelPreferenceResponse {
            id: p.id,
            user_id: p.user_id,
            provider_kind: p.provider_kind,
            model: p.model,
            max_tokens: p.max_tokens,
            temperature: p.temperature,
            system_prompt: p.system_prompt,
            is_default: p.is_default,
            created_at: ts(p.created_at),
            updated_at: ts(p.updated_at),
        }
    }
}

/// Body of `POST /model-preferences`. `provider` is accepted as an alias of `provider_kind`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateModelPreferenceRequest {
    /// Provider kind.
    #[serde(alias = "provider")]
    pub provider_kind: ProviderKind,
    /// Model id, 1–200 characters.
    pub model: String,
    /// Cap on completion tokens, 1–1,000,000.
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_tokens: Option<i64>,
    /// Sampling temperature, 0–2.
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<f64>,
    /// System prompt, at most 100,000 characters.
    pub system_prompt: Option<String>,
    /// Make it the default of its kind; the previous default of the kind is unset (default
    /// false).
    pub is_default: Option<bool>,
}

/// Body of `PUT|PATCH /model-preferences/{id}`: absent fields are left as they are, `null`
/// clears `max_tokens`, `temperature` or `system_prompt`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateModelPreferenceRequest {
    /// Provider kind.
    #[serde(alias = "provider")]
    pub provider_kind: Option<ProviderKind>,
    /// Model id, 1–200 characters.
    pub model: Option<String>,
    /// Cap on completion tokens, 1–1,000,000; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    #[schema(minimum = 1, maximum = 1000000)]
    pub max_tokens: Option<Option<i64>>,
    /// Temperature, 0–2; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<f64>)]
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<Option<f64>>,
    /// System prompt; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub system_prompt: Option<Option<String>>,
    /// `true` makes it the default of its kind (the previous default is unset); `false`
    /// leaves the kind without a default.
    pub is_default: Option<bool>,
}

/// Query of `GET /model-preferences`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ModelPreferenceListQuery {
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
    /// Only this provider kind.
    #[serde(alias = "provider")]
    pub provider_kind: Option<ProviderKind>,
}

crate::paged!(ModelPreferenceListQuery);

/// Saves a model preference; with `is_default: true` it replaces the kind's default.
#[utoipa::path(tag = "model-preferences", operation_id = "create_model_preference", security(("bearer" = []), ("oauth2" = [])), request_body = CreateModelPreferenceRequest,
    responses((status = 201, description = "The model preference", body = ModelPreferenceResponse), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/model-preferences")]
pub async fn create_model_preference(
    app: web::Data<App>,
    user: AuthUser,
    body: ValidJson<CreateModelPreferenceRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let p = call(&app, move |app| async move {
        app.create_model_preference(
            &user.0,
            NewModelPreferenceInput {
                provider_kind: b.provider_kind,
                model: b.model,
                max_tokens: b.max_tokens,
                temperature: b.temperature,
                system_prompt: b.system_prompt,
                is_default: b.is_default.unwrap_or(false),
            },
        )
        .await
    })
    .await?;
    Ok(HttpResponse::Created().json(ModelPreferenceResponse::from(p)))
}

/// Lists the caller's model preferences, oldest first.
#[utoipa::path(tag = "model-preferences", operation_id = "list_model_preferences", security(("bearer" = []), ("oauth2" = [])), params(ModelPreferenceListQuery),
    responses((status = 200, description = "A page of model preferences", body = ListResponse<ModelPreferenceResponse>), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[get("/model-preferences")]
pub async fn list_model_preferences(
    app: web::Data<App>,
    user: AuthUser,
    q: ValidQuery<ModelPreferenceListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.0;
    let (page_req, page, size) = q.page_params().resolve()?;
    let kind = q.provider_kind;
    let rows = call(&app, move |app| async move {
        app.list_model_preferences(&user.0, kind, page_req).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListResponse::of(
        rows,
        page,
        size,
        ModelPreferenceResponse::from,
    )))
}

/// The caller's default preference per provider kind, as an object keyed by kind
/// (`{"openai": {…}, "anthropic": {…}}`); kinds without a default are absent.
#[utoipa::path(tag = "model-preferences", operation_id = "list_default_model_preferences", security(("bearer" = []), ("oauth2" = [])),
    responses((status = 200, description = "The default model preference per provider kind", body = BTreeMap<String, ModelPreferenceResponse>), (status = 401, body = ErrorResponse)))]
#[get("/model-preferences/defaults")]
pub async fn default_model_preferences(
    app: web::Data<App>,
    user: AuthUser,
) -> ApiResult<HttpResponse> {
    let defaults = call(&app, move |app| async move {
        app.default_model_preferences(&user.0).await
    })
    .await?;
    let map: BTreeMap<&'static str, ModelPreferenceResponse> = defaults
        .into_iter()
        .map(|p| (p.provider_kind.as_str(), ModelPreferenceResponse::from(p)))
        .collect();
    Ok(HttpResponse::Ok().json(map))
}

/// One of the caller's model preferences.
#[utoipa::path(tag = "model-preferences", operation_id = "get_model_preference", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Model preference id")),
    responses((status = 200, description = "The model preference", body = ModelPreferenceResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[get("/model-preferences/{id}")]
pub async fn get_model_preference(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let p = call(&app, move |app| async move {
        app.get_model_preference(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ModelPreferenceResponse::from(p)))
}

async fn do_update(
    app: &App,
    user: AuthUser,
    id: i64,
    b: UpdateModelPreferenceRequest,
) -> ApiResult<HttpResponse> {
    let p = call(app, move |app| async move {
        app.update_model_preference(
            &user.0,
            id,
            ModelPreferenceUpdate {
                provider_kind: b.provider_kind,
                model: b.model,
                max_tokens: b.max_tokens,
                temperature: b.temperature,
                system_prompt: b.system_prompt,
                is_default: b.is_default,
            },
        )
        .await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ModelPreferenceResponse::from(p)))
}

/// Updates one of the caller's model preferences (`PUT` is partial, the same as PATCH).
#[utoipa::path(tag = "model-preferences", operation_id = "replace_model_preference", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Model preference id")), request_body = UpdateModelPreferenceRequest,
    responses((status = 200, description = "The model preference", body = ModelPreferenceResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[put("/model-preferences/{id}")]
pub async fn put_model_preference(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<UpdateModelPreferenceRequest>,
) -> ApiResult<HttpResponse> {
    do_update(&app, user, id.0, body.0).await
}

/// Partially updates one of the caller's model preferences.
#[utoipa::path(tag = "model-preferences", operation_id = "update_model_preference", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Model preference id")), request_body = UpdateModelPreferenceRequest,
    responses((status = 200, description = "The model preference", body = ModelPreferenceResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/model-preferences/{id}")]
pub async fn patch_model_preference(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<UpdateModelPreferenceRequest>,
) -> ApiResult<HttpResponse> {
    do_update(&app, user, id.0, body.0).await
}

/// Deletes one of the caller's model preferences; deleting a default leaves its kind without
/// one.
#[utoipa::path(tag = "model-preferences", operation_id = "delete_model_preference", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Model preference id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[delete("/model-preferences/{id}")]
pub async fn delete_model_preference(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    call(&app, move |app| async move {
        app.delete_model_preference(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers this module's routes (inside the `/api/v1` scope), in matching order.
pub(crate) fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg
        // `defaults` before `{id}`: routes match in registration order.
        .service(default_model_preferences)
        .service(list_model_preferences)
        .service(create_model_preference)
        .service(get_model_preference)
        .service(put_model_preference)
        .service(patch_model_preference)
        .service(delete_model_preference);
}
