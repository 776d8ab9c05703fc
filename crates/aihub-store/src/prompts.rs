//! `prompts`: a user's prompt templates, each optionally filed under one of their
//! categories. Reads carry the category's id, name and colour from a left join, so a page is
//! one statement plus its total.

use crate::categories::like_pattern;
use crate::schema::{categories, prompts};
use crate::{DbConn, Page, PageRequest, StoreError, on_conn};
use aihub_domain::Id;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// A stored prompt template.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = prompts)]
pub struct PromptRow {
    /// Id.
    pub id: Id,
    /// Owner.
    pub user_id: Id,
    /// Category (`None`: uncategorised, also after the category is deleted).
    pub category_id: Option<Id>,
    /// Title.
    pub title: String,
    /// Template text with `{name}` placeholders.
    pub content: String,
    /// Free text.
    pub description: Option<String>,
    /// Marked as a favourite.
    pub is_favorite: bool,
    /// Times the template was rendered.
    pub usage_count: i64,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// The short form of a category embedded in prompt reads.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct CategoryRef {
    /// Id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// `#RRGGBB`.
    pub color: Option<String>,
}

/// A prompt and its category, if it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptWithCategory {
    /// The row.
    pub prompt: PromptRow,
    /// Its category.
    pub category: Option<CategoryRef>,
}

/// A new prompt.
#[derive(Debug, Insertable)]
#[diesel(table_name = prompts)]
pub struct NewPrompt<'a> {
    /// Owner.
    pub user_id: Id,
    /// Category (must be the owner's; checked by the caller).
    pub category_id: Option<Id>,
    /// Title.
    pub title: &'a str,
    /// Template text.
    pub content: &'a str,
    /// Free text.
    pub description: Option<&'a str>,
    /// Favourite.
    pub is_favorite: bool,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as `created_at`.
    pub updated_at: NaiveDateTime,
}

/// Changes to a prompt; `None` leaves a column as it is, `Some(None)` clears a nullable one.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = prompts)]
pub struct PromptChanges<'a> {
    /// Category.
    pub category_id: Option<Option<Id>>,
    /// Title.
    pub title: Option<&'a str>,
    /// Template text.
    pub content: Option<&'a str>,
    /// Description.
    pub description: Option<Option<&'a str>>,
    /// Favourite.
    pub is_favorite: Option<bool>,
    /// Always set by callers.
    pub updated_at: Option<NaiveDateTime>,
}

/// Filters of the prompt listing.
#[derive(Debug, Default, Clone)]
pub struct PromptFilter {
    /// Only prompts in this category.
    pub category_id: Option<Id>,
    /// Only favourites, or only the others.
    pub is_favorite: Option<bool>,
    /// Substring of the title or the content, case-insensitive for ASCII on both backends
    /// (other letters match in their exact case everywhere, and case-insensitively where the
    /// database's `LOWER` folds them). `%`, `_` and `\` match themselves.
    pub search: Option<String>,
}

/// Sort order of the prompt listing; `true` is ascending. Ties go to the newest id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptOrder {
    /// `updated_at`.
    UpdatedAt(bool),
    /// `created_at`.
    CreatedAt(bool),
    /// `title`.
    Title(bool),
    /// `usage_count`.
    UsageCount(bool),
}

impl Default for PromptOrder {
    /// Most recently updated first.
    fn default() -> Self {
        PromptOrder::UpdatedAt(false)
    }
}

/// The category columns of the left join, `NULL` when there is none.
type CategoryColumns = (categories::id, categories::name, categories::color);

fn category_columns() -> diesel::dsl::Nullable<CategoryColumns> {
    (categories::id, categories::name, categories::color).nullable()
}

/// Inserts a prompt.
///
/// # Errors
/// [`StoreError`] on query failure (an unknown category id: foreign key violation).
pub async fn insert(conn: &mut DbConn<'_>, new: &NewPrompt<'_>) -> Result<PromptRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::insert_into(prompts::table)
            .values(new)
            .returning(PromptRow::as_returning())
            .get_result(c)
            .await
    })?)
}

/// A prompt owned by `user_id`.
///
/// # Errors
/// [`StoreError::NotFound`] when it does not exist or belongs to someone else.
pub async fn find_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
) -> Result<PromptRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        prompts::table
            .filter(prompts::id.eq(id))
            .filter(prompts::user_id.eq(user_id))
            .select(PromptRow::as_select())
            .first(c)
            .await
    })?)
}

/// A prompt owned by `user_id` with its category (one statement).
///
/// # Errors
/// [`StoreError::NotFound`] when it does not exist or belongs to someone else.
pub async fn find_owned_with_category(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
) -> Result<PromptWithCategory, StoreError> {
    let (prompt, category) = on_conn!(conn, |c| {
        prompts::table
            .left_join(categories::table)
            .filter(prompts::id.eq(id))
            .filter(prompts::user_id.eq(user_id))
            .select((PromptRow::as_select(), category_columns()))
            .first::<(PromptRow, Option<CategoryRef>)>(c)
            .await
    })?;
    Ok(PromptWithCategory { prompt, category })
}

/// The prompts of `user_id` with their categories, filtered, ordered and paged. Two
/// statements: the page and the total.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn list(
    conn: &mut DbConn<'_>,
    user_id: Id,
    filter: &PromptFilter,
    order: PromptOrder,
    page: PageRequest,
) -> Result<Page<PromptWithCategory>, StoreError> {
    let patterns = filter
        .search
        .as_deref()
        .map(|s| (like_pattern(s, true), like_pattern(s, false)));
    // A macro, not a closure: a boxed query is typed by its backend, so it is built per arm.
    macro_rules! query {
        () => {{
            let mut q = prompts::table
                .left_join(categories::table)
                .filter(prompts::user_id.eq(user_id))
                .into_boxed();
            if let Some(v) = filter.category_id {
                q = q.filter(prompts::category_id.eq(v));
            }
            if let Some(v) = filter.is_favorite {
                q = q.filter(prompts::is_favorite.eq(v));
            }
            if let Some((lower, exact)) = &patterns {
                use diesel::sql_types::{Bool, Text};
                q = q.filter(
                    diesel::dsl::sql::<Bool>("(LOWER(prompts.title) LIKE ")
                        .bind::<Text, _>(lower.clone())
                        .sql(" ESCAPE '\\' OR prompts.title LIKE ")
                        .bind::<Text, _>(exact.clone())
                        .sql(" ESCAPE '\\' OR LOWER(prompts.content) LIKE ")
                        .bind::<Text, _>(lower.clone())
                        .sql(" ESCAPE '\\' OR prompts.content LIKE ")
                        .bind::<Text, _>(exact.clone())
                        .sql(" ESCAPE '\\')"),
                );
            }
            q
        }};
    }
    let (items, total) = on_conn!(conn, |c| {
        let q = query!();
        let q = match order {
            PromptOrder::UpdatedAt(true) => q.order(prompts::updated_at.asc()),
            PromptOrder::UpdatedAt(false) => q.order(prompts::updated_at.desc()),
            PromptOrder::CreatedAt(true) => q.order(prompts::created_at.asc()),
            PromptOrder::CreatedAt(false) => q.order(prompts::created_at.desc()),
            PromptOrder::Title(true) => q.order(prompts::title.asc()),
            PromptOrder::Title(false) => q.order(prompts::title.desc()),
            PromptOrder::UsageCount(true) => q.order(prompts::usage_count.asc()),
            PromptOrder::UsageCount(false) => q.order(prompts::usage_count.desc()),
        };
        let items: Vec<(PromptRow, Option<CategoryRef>)> = q
            .then_order_by(prompts::id.desc())
            .offset(page.offset)
            .limit(page.limit)
            .select((PromptRow::as_select(), category_columns()))
            .load(c)
            .await?;
        let total: i64 = query!().count().get_result(c).await?;
        Ok::<_, diesel::result::Error>((items, total))
    })?;
    Ok(Page {
        items: items
            .into_iter()
            .map(|(prompt, category)| PromptWithCategory { prompt, category })
            .collect(),
        total,
    })
}

/// Updates a prompt owned by `user_id`.
///
/// # Errors
/// [`StoreError::NotFound`] when it is not theirs.
pub async fn update_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
    changes: &PromptChanges<'_>,
) -> Result<PromptRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::update(
            prompts::table
                .filter(prompts::id.eq(id))
                .filter(prompts::user_id.eq(user_id)),
        )
        .set(changes)
        .returning(PromptRow::as_returning())
        .get_result(c)
        .await
    })?)
}

/// Adds one to `usage_count` of a prompt owned by `user_id` (`updated_at` is left alone: a use
/// is not an edit) and returns the new count.
///
/// # Errors
/// [`StoreError::NotFound`] when it is not theirs.
pub async fn increment_usage(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
) -> Result<i64, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::update(
            prompts::table
                .filter(prompts::id.eq(id))
                .filter(prompts::user_id.eq(user_id)),
        )
        .set(prompts::usage_count.eq(prompts::usage_count + 1))
        .returning(prompts::usage_count)
        .get_result(c)
        .await
    })?)
}

/// Deletes a prompt owned by `user_id`; returns whether a row went.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn delete_owned(conn: &mut DbConn<'_>, id: Id, user_id: Id) -> Result<bool, StoreError> {
    let n = on_conn!(conn, |c| {
        diesel::delete(
            prompts::table
                .filter(prompts::id.eq(id))
                .filter(prompts::user_id.eq(user_id)),
        )
        .execute(c)
        .await
    })?;
    Ok(n > 0)
}
