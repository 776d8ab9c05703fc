//! `/api/v1/prompts`: prompt templates with `{name}` placeholders, and rendering them.

use crate::dto::{ListResponse, Paged, double_option, ts};
use crate::error::{ApiResult, ErrorResponse};
use crate::extract::{AuthUser, PathId, ValidJson, ValidQuery, call};
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use aihub_core::App;
use aihub_core::prompts::{NewPromptInput, Prompt, PromptFilter, PromptOrder, PromptUpdate};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

/// The short form of a category inside a prompt.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptCategory {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// `#RRGGBB`, or `null`.
    #[schema(required = true)]
    pub color: Option<String>,
}

/// A prompt template.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromptResponse {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Title.
    pub title: String,
    /// Template text: `{name}` placeholders, `{{`/`}}` literal braces.
    pub content: String,
    /// Free text, or `null`.
    #[schema(required = true)]
    pub description: Option<String>,
    /// The placeholder names in `content`, each once, in order of first appearance.
    #[schema(example = json!(["тема"]))]
    pub variables: Vec<String>,
    /// Category id, or `null` when uncategorised.
    #[schema(required = true)]
    pub category_id: Option<i64>,
    /// The category's id, name and colour, or `null`.
    #[schema(required = true)]
    pub category: Option<PromptCategory>,
    /// Marked as a favourite.
    pub is_favorite: bool,
    /// Times it was rendered.
    pub usage_count: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change (rendering does not change it).
    pub updated_at: DateTime<Utc>,
}

impl From<Prompt> for PromptResponse {
    fn from(p: Prompt) -> Self {
        PromptResponse {
            id: p.id,
            user_id: p.user_id,
            title: p.title,
            content: p.content,
            description: p.description,
            variables: p.variables,
            category_id: p.category_id,
            category: p.category.map(|c| PromptCategory {
                id: c.id,
                name: c.name,
                color: c.color,
            }),
            is_favorite: p.is_favorite,
            usage_count: p.usage_count,
            created_at: ts(p.created_at),
            updated_at: ts(p.updated_at),
        }
    }
}

/// Body of `POST /prompts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePromptRequest {
    /// Title, 1–200 characters.
    pub title: String,
    /// Template, 1–100,000 characters; a malformed one (an unclosed `{`, `{}`, a name that is
    /// not letters, digits and `_`) is 422 naming `content`.
    #[schema(example = "Предложи 5 креативных идей для статьи на тему {тема}")]
    pub content: String,
    /// Up to 1000 characters.
    pub description: Option<String>,
    /// One of the caller's categories (404 naming `category_id` otherwise).
    pub category_id: Option<i64>,
    /// Favourite (default false).
    pub is_favorite: Option<bool>,
}

/// Body of `PUT|PATCH /prompts/{id}`; absent fields are left as they are, `null` clears
/// `description` or `category_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePromptRequest {
    /// Title, 1–200 characters.
    pub title: Option<String>,
    /// Template, 1–100,000 characters, well-formed.
    pub content: Option<String>,
    /// Up to 1000 characters; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// One of the caller's categories; `null` uncategorises.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub category_id: Option<Option<i64>>,
    /// Favourite.
    pub is_favorite: Option<bool>,
}

/// Query of `GET /prompts`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PromptListQuery {
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
    /// Only prompts in this category.
    pub category_id: Option<i64>,
    /// Only favourites (`true`) or only the others (`false`).
    pub is_favorite: Option<bool>,
    /// Case-insensitive substring of the title or the content.
    pub search: Option<String>,
    /// `updated_at`, `created_at`, `title` or `usage_count`, `-` prefixed for descending.
    /// Default `-updated_at`.
    pub ordering: Option<String>,
}

crate::paged!(PromptListQuery);

/// Body of `POST /prompts/{id}/render`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderPromptRequest {
    /// Placeholder name → value (strings). Names that are not in the template are ignored.
    #[serde(default)]
    #[schema(example = json!({"тема": "Rust"}))]
    pub variables: HashMap<String, String>,
}

/// Answer of `POST /prompts/{id}/render`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenderPromptResponse {
    /// The filled text; placeholders without a value stay as `{name}`.
    pub text: String,
    /// Placeholder names without a value, in order of first appearance.
    pub missing: Vec<String>,
    /// Placeholder names filled, in order of first appearance.
    pub used: Vec<String>,
    /// The prompt's `usage_count` after this render.
    pub usage_count: i64,
}

fn parse_ordering(s: Option<&str>) -> ApiResult<PromptOrder> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(PromptOrder::default());
    };
    let (asc, field) = match s.strip_prefix('-') {
        Some(f) => (false, f),
        None => (true, s),
    };
    Ok(match field {
        "updated_at" => PromptOrder::UpdatedAt(asc),
        "created_at" => PromptOrder::CreatedAt(asc),
        "title" => PromptOrder::Title(asc),
        "usage_count" => PromptOrder::UsageCount(asc),
        _ => {
            return Err(aihub_core::Error::validation(
                "ordering",
                "ordering must be one of updated_at, created_at, title, usage_count, optionally prefixed with -",
            )
            .into());
        }
    })
}

/// Creates a prompt template.
#[utoipa::path(tag = "prompts", operation_id = "create_prompt", security(("bearer" = []), ("oauth2" = [])), request_body = CreatePromptRequest,
    responses((status = 201, description = "The prompt", body = PromptResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/prompts")]
pub async fn create_prompt(
    app: web::Data<App>,
    user: AuthUser,
    body: ValidJson<CreatePromptRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let p = call(&app, move |app| async move {
        app.create_prompt(
            &user.0,
            NewPromptInput {
                title: b.title,
                content: b.content,
                description: b.description,
                category_id: b.category_id,
                is_favorite: b.is_favorite,
            },
        )
        .await
    })
    .await?;
    Ok(HttpResponse::Created().json(PromptResponse::from(p)))
}

/// Lists the caller's prompt templates (default order: most recently updated first).
#[utoipa::path(tag = "prompts", operation_id = "list_prompts", security(("bearer" = []), ("oauth2" = [])), params(PromptListQuery),
    responses((status = 200, description = "A page of prompts", body = ListResponse<PromptResponse>), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[get("/prompts")]
pub async fn list_prompts(
    app: web::Data<App>,
    user: AuthUser,
    q: ValidQuery<PromptListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.0;
    let (page_req, page, size) = q.page_params().resolve()?;
    let order = parse_ordering(q.ordering.as_deref())?;
    let filter = PromptFilter {
        category_id: q.category_id,
        is_favorite: q.is_favorite,
        search: q.search.filter(|s| !s.trim().is_empty()),
    };
    let rows = call(&app, move |app| async move {
        app.list_prompts(&user.0, &filter, order, page_req).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListResponse::of(rows, page, size, PromptResponse::from)))
}

/// One of the caller's prompt templates.
#[utoipa::path(tag = "prompts", operation_id = "get_prompt", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Prompt id")),
    responses((status = 200, description = "The prompt", body = PromptResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[get("/prompts/{id}")]
pub async fn get_prompt(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let p = call(&app, move |app| async move {
        app.get_prompt(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(PromptResponse::from(p)))
}

async fn do_update(
    app: &App,
    user: AuthUser,
    id: i64,
    b: UpdatePromptRequest,
) -> ApiResult<HttpResponse> {
    let p = call(app, move |app| async move {
        app.update_prompt(
            &user.0,
            id,
            PromptUpdate {
                title: b.title,
                content: b.content,
                description: b.description,
                category_id: b.category_id,
                is_favorite: b.is_favorite,
            },
        )
        .await
    })
    .await?;
    Ok(HttpResponse::Ok().json(PromptResponse::from(p)))
}

/// Updates one of the caller's prompt templates (`PUT` is partial, the same as PATCH).
#[utoipa::path(tag = "prompts", operation_id = "replace_prompt", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Prompt id")), request_body = UpdatePromptRequest,
    responses((status = 200, description = "The prompt", body = PromptResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[put("/prompts/{id}")]
pub async fn put_prompt(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<UpdatePromptRequest>,
) -> ApiResult<HttpResponse> {
    do_update(&app, user, id.0, body.0).await
}

/// Partially updates one of the caller's prompt templates; `null` clears `description` or
/// `category_id`.
#[utoipa::path(tag = "prompts", operation_id = "update_prompt", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Prompt id")), request_body = UpdatePromptRequest,
    responses((status = 200, description = "The prompt", body = PromptResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/prompts/{id}")]
pub async fn patch_prompt(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<UpdatePromptRequest>,
) -> ApiResult<HttpResponse> {
    do_update(&app, user, id.0, body.0).await
}

/// Deletes one of the caller's prompt templates.
#[utoipa::path(tag = "prompts", operation_id = "delete_prompt", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Prompt id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[delete("/prompts/{id}")]
pub async fn delete_prompt(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    call(&app, move |app| async move {
        app.delete_prompt(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Fills the template's `{name}` placeholders and counts the use; names without a value are
/// listed in `missing` and stay in the text.
#[utoipa::path(tag = "prompts", operation_id = "render_prompt", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Prompt id")), request_body = RenderPromptRequest,
    responses((status = 200, description = "The rendered prompt", body = RenderPromptResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/prompts/{id}/render")]
pub async fn render_prompt(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<RenderPromptRequest>,
) -> ApiResult<HttpResponse> {
    let variables = body.0.variables;
    let r = call(&app, move |app| async move {
        app.render_prompt(&user.0, id.0, &variables).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(RenderPromptResponse {
        text: r.text,
        missing: r.missing,
        used: r.used,
        usage_count: r.usage_count,
    }))
}

/// Registers this module's routes (inside the `/api/v1` scope), in matching order.
pub(crate) fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(list_prompts)
        .service(create_prompt)
        .service(get_prompt)
        .service(put_prompt)
        .service(patch_prompt)
        .service(delete_prompt)
        .service(render_prompt);
}
