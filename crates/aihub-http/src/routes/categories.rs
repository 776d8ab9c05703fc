//! `/api/v1/categories`: a user's labels for conversations and prompts.

use crate::dto::{ListResponse, Paged, double_option, ts};
use crate::error::{ApiResult, ErrorResponse};
use crate::extract::{AuthUser, PathId, ValidJson, ValidQuery, call};
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use aihub_core::App;
use aihub_core::categories::{CategoryUpdate, CategoryWithCounts, NewCategoryInput};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

/// A category with the number of conversations and prompts filed under it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryResponse {
    /// Id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Name, unique per user.
    pub name: String,
    /// `#RRGGBB` (upper-case hex), or `null`.
    #[schema(required = true)]
    pub color: Option<String>,
    /// Free text, or `null`.
    #[schema(required = true)]
    pub description: Option<String>,
    /// Conversations in this category.
    pub conversation_count: i64,
    /// Prompts in this category.
    pub prompt_count: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<CategoryWithCounts> for CategoryResponse {
    fn from(c: CategoryWithCounts) -> Self {
        let row = c.category;
        CategoryResponse {
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            color: row.color,
            description: row.description,
            conversation_count: c.conversation_count,
            prompt_count: c.prompt_count,
            created_at: ts(row.created_at),
            updated_at: ts(row.updated_at),
        }
    }
}

/// Body of `POST /categories`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategoryRequest {
    /// Name, 1–100 characters, unique per user (409 `conflict` naming `name` otherwise).
    #[schema(example = "Учебные проекты")]
    pub name: String,
    /// `#RRGGBB` hex colour, e.g. `#4B0082`.
    #[schema(example = "#4B0082")]
    pub color: Option<String>,
    /// Up to 1000 characters.
    pub description: Option<String>,
}

/// Body of `PUT|PATCH /categories/{id}`; absent fields are left as they are, `null` clears
/// `color` or `description`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategoryRequest {
    /// Name, 1–100 characters, unique per user.
    pub name: Option<String>,
    /// `#RRGGBB`; `null` removes the colour.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub color: Option<Option<String>>,
    /// Up to 1000 characters; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

/// Query of `GET /categories`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CategoryListQuery {
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
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
}

crate::paged!(CategoryListQuery);

/// Creates a category.
#[utoipa::path(tag = "categories", operation_id = "create_category", security(("bearer" = []), ("oauth2" = [])), request_body = CreateCategoryRequest,
    responses((status = 201, description = "The category", body = CategoryResponse), (status = 401, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/categories")]
pub async fn create_category(
    app: web::Data<App>,
    user: AuthUser,
    body: ValidJson<CreateCategoryRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let c = call(&app, move |app| async move {
        app.create_category(
            &user.0,
            NewCategoryInput {
                name: b.name,
                color: b.color,
                description: b.description,
            },
        )
        .await
    })
    .await?;
    Ok(HttpResponse::Created().json(CategoryResponse::from(c)))
}

/// Lists the caller's categories, ordered by name.
#[utoipa::path(tag = "categories", operation_id = "list_categories", security(("bearer" = []), ("oauth2" = [])), params(CategoryListQuery),
    responses((status = 200, description = "A page of categories", body = ListResponse<CategoryResponse>), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[get("/categories")]
pub async fn list_categories(
    app: web::Data<App>,
    user: AuthUser,
    q: ValidQuery<CategoryListQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.0;
    let (page_req, page, size) = q.page_params().resolve()?;
    let search = q.search;
    let rows = call(&app, move |app| async move {
        app.list_categories(&user.0, search.as_deref(), page_req)
            .await
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListResponse::of(rows, page, size, CategoryResponse::from)))
}

/// One of the caller's categories.
#[utoipa::path(tag = "categories", operation_id = "get_category", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Category id")),
    responses((status = 200, description = "The category", body = CategoryResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[get("/categories/{id}")]
pub async fn get_category(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    let c = call(&app, move |app| async move {
        app.get_category(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(CategoryResponse::from(c)))
}

async fn do_update(
    app: &App,
    user: AuthUser,
    id: i64,
    b: UpdateCategoryRequest,
) -> ApiResult<HttpResponse> {
    let c = call(app, move |app| async move {
        app.update_category(
            &user.0,
            id,
            CategoryUpdate {
                name: b.name,
                color: b.color,
                description: b.description,
            },
        )
        .await
    })
    .await?;
    Ok(HttpResponse::Ok().json(CategoryResponse::from(c)))
}

/// Updates one of the caller's categories (`PUT` is partial, the same as PATCH).
#[utoipa::path(tag = "categories", operation_id = "replace_category", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Category id")), request_body = UpdateCategoryRequest,
    responses((status = 200, description = "The category", body = CategoryResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[put("/categories/{id}")]
pub async fn put_category(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<UpdateCategoryRequest>,
) -> ApiResult<HttpResponse> {
    do_update(&app, user, id.0, body.0).await
}

/// Partially updates one of the caller's categories; `null` clears `color` or `description`.
#[utoipa::path(tag = "categories", operation_id = "update_category", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Category id")), request_body = UpdateCategoryRequest,
    responses((status = 200, description = "The category", body = CategoryResponse), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[patch("/categories/{id}")]
pub async fn patch_category(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
    body: ValidJson<UpdateCategoryRequest>,
) -> ApiResult<HttpResponse> {
    do_update(&app, user, id.0, body.0).await
}

/// Deletes one of the caller's categories; its conversations and prompts stay, uncategorised.
#[utoipa::path(tag = "categories", operation_id = "delete_category", security(("bearer" = []), ("oauth2" = [])), params(("id" = i64, Path, description = "Category id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
#[delete("/categories/{id}")]
pub async fn delete_category(
    app: web::Data<App>,
    user: AuthUser,
    id: PathId,
) -> ApiResult<HttpResponse> {
    call(&app, move |app| async move {
        app.delete_category(&user.0, id.0).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers this module's routes (inside the `/api/v1` scope), in matching order.
pub(crate) fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(list_categories)
        .service(create_category)
        .service(get_category)
        .service(put_category)
        .service(patch_category)
        .service(delete_category);
}
