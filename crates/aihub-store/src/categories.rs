//! `categories`: a user's labels for conversations and prompt templates.
//!
//! Conversations and prompts point at a category with `category_id ... ON DELETE SET NULL`, so
//! deleting a category leaves them uncategorised. Reads come with the number of conversations
//! and prompts in each category, counted by correlated subqueries in the same statement (no
//! query per row).

use crate::schema::{categories, conversations};
use crate::{DbConn, Page, PageRequest, StoreError, on_conn};
use aihub_domain::Id;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

/// A stored category.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = categories)]
pub struct CategoryRow {
    /// Id.
    pub id: Id,
    /// Owner.
    pub user_id: Id,
    /// Name, unique per owner.
    pub name: String,
    /// `#RRGGBB`.
    pub color: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// A category with the number of conversations and prompts filed under it.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryWithCounts {
    /// The row.
    pub category: CategoryRow,
    /// Conversations whose `category_id` is this category.
    pub conversation_count: i64,
    /// Prompts whose `category_id` is this category.
    pub prompt_count: i64,
}

/// A new category.
#[derive(Debug, Insertable)]
#[diesel(table_name = categories)]
pub struct NewCategory<'a> {
    /// Owner.
    pub user_id: Id,
    /// Name.
    pub name: &'a str,
    /// `#RRGGBB`.
    pub color: Option<&'a str>,
    /// Free text.
    pub description: Option<&'a str>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as `created_at`.
    pub updated_at: NaiveDateTime,
}

/// Changes to a category; `None` leaves a column as it is, `Some(None)` clears a nullable one.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = categories)]
pub struct CategoryChanges<'a> {
    /// Name.
    pub name: Option<&'a str>,
    /// Colour.
    pub color: Option<Option<&'a str>>,
    /// Description.
    pub description: Option<Option<&'a str>>,
    /// Always set by callers.
    pub updated_at: Option<NaiveDateTime>,
}

/// The two counts as SQL: correlated subqueries on the outer `categories` row. Plain SQL
/// because diesel's DSL cannot name an outer table inside a subquery; the text is portable.
fn conversation_count() -> diesel::expression::SqlLiteral<BigInt> {
    diesel::dsl::sql::<BigInt>(
        "(SELECT COUNT(*) FROM conversations WHERE conversations.category_id = categories.id)",
    )
}

fn prompt_count() -> diesel::expression::SqlLiteral<BigInt> {
    diesel::dsl::sql::<BigInt>(
        "(SELECT COUNT(*) FROM prompts WHERE prompts.category_id = categories.id)",
    )
}

fn with_counts(
    (category, conversation_count, prompt_count): (CategoryRow, i64, i64),
) -> CategoryWithCounts {
    CategoryWithCounts {
        category,
        conversation_count,
        prompt_count,
    }
}

/// `%<s>%` for `LIKE ... ESCAPE '\'`, with `\`, `%` and `_` in `s` escaped; lower-cased when
/// `lower` (to compare with `LOWER(column)`).
pub(crate) fn like_pattern(s: &str, lower: bool) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    if lower {
        format!("%{}%", escaped.to_lowercase())
    } else {
        format!("%{escaped}%")
    }
}

/// Inserts a category.
///
/// # Errors
/// [`StoreError::UniqueViolation`] when the owner already has a category of that name.
pub async fn insert(
    conn: &mut DbConn<'_>,
    new: &NewCategory<'_>,
) -> Result<CategoryRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::insert_into(categories::table)
            .values(new)
            .returning(CategoryRow::as_returning())
            .get_result(c)
            .await
    })?)
}

/// A category owned by `user_id`, without counts.
///
/// # Errors
/// [`StoreError::NotFound`] when it does not exist or belongs to someone else.
pub async fn find_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
) -> Result<CategoryRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        categories::table
            .filter(categories::id.eq(id))
            .filter(categories::user_id.eq(user_id))
            .select(CategoryRow::as_select())
            .first(c)
            .await
    })?)
}

/// A category owned by `user_id` with its counts (one statement).
///
/// # Errors
/// [`StoreError::NotFound`] when it does not exist or belongs to someone else.
pub async fn find_owned_with_counts(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
) -> Result<CategoryWithCounts, StoreError> {
    let row = on_conn!(conn, |c| {
        categories::table
            .filter(categories::id.eq(id))
            .filter(categories::user_id.eq(user_id))
            .select((
                CategoryRow::as_select(),
                conversation_count(),
                prompt_count(),
            ))
            .first(c)
            .await
    })?;
    Ok(with_counts(row))
}

/// The categories of `user_id` with their counts, ordered by name (then id), paged; `search`
/// keeps those whose name contains it (case-insensitive for ASCII on both backends; other
/// letters match in their exact case everywhere and case-insensitively where the database's
/// `LOWER` folds them). Two statements: the page and the total.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn list(
    conn: &mut DbConn<'_>,
    user_id: Id,
    search: Option<&str>,
    page: PageRequest,
) -> Result<Page<CategoryWithCounts>, StoreError> {
    let patterns = search.map(|s| (like_pattern(s, true), like_pattern(s, false)));
    // A macro, not a closure: a boxed query is typed by its backend, so it is built per arm.
    macro_rules! query {
        () => {{
            let mut q = categories::table
                .filter(categories::user_id.eq(user_id))
                .into_boxed();
            if let Some((lower, exact)) = &patterns {
                q = q.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>("(LOWER(categories.name) LIKE ")
                        .bind::<diesel::sql_types::Text, _>(lower.clone())
                        .sql(" ESCAPE '\\' OR categories.name LIKE ")
                        .bind::<diesel::sql_types::Text, _>(exact.clone())
                        .sql(" ESCAPE '\\')"),
                );
            }
            q
        }};
    }
    let (items, total) = on_conn!(conn, |c| {
        let items: Vec<(CategoryRow, i64, i64)> = query!()
            .order((categories::name.asc(), categories::id.asc()))
            .offset(page.offset)
            .limit(page.limit)
            .select((
                CategoryRow::as_select(),
                conversation_count(),
                prompt_count(),
            ))
            .load(c)
            .await?;
        let total: i64 = query!().count().get_result(c).await?;
        Ok::<_, diesel::result::Error>((items, total))
    })?;
    Ok(Page {
        items: items.into_iter().map(with_counts).collect(),
        total,
    })
}

/// Updates a category owned by `user_id`.
///
/// # Errors
/// [`StoreError::NotFound`] when it is not theirs; [`StoreError::UniqueViolation`] on a name
/// clash.
pub async fn update_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
    changes: &CategoryChanges<'_>,
) -> Result<CategoryRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::update(
            categories::table
                .filter(categories::id.eq(id))
                .filter(categories::user_id.eq(user_id)),
        )
        .set(changes)
        .returning(CategoryRow::as_returning())
        .get_result(c)
        .await
    })?)
}

/// Deletes a category owned by `user_id`; its conversations and prompts become uncategorised
/// (the foreign keys are `ON DELETE SET NULL`). Returns whether a row went.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn delete_owned(conn: &mut DbConn<'_>, id: Id, user_id: Id) -> Result<bool, StoreError> {
    let n = on_conn!(conn, |c| {
        diesel::delete(
            categories::table
                .filter(categories::id.eq(id))
                .filter(categories::user_id.eq(user_id)),
        )
        .execute(c)
        .await
    })?;
    Ok(n > 0)
}

/// Files conversation `conversation_id` of `user_id` under `category_id` (`None`:
/// uncategorised). The caller checks that the category is the user's own. Returns whether the
/// conversation was theirs. `updated_at` is left alone.
///
/// # Errors
/// [`StoreError`] on query failure (a missing category id: foreign key violation).
pub async fn set_conversation_category(
    conn: &mut DbConn<'_>,
    conversation_id: Id,
    user_id: Id,
    category_id: Option<Id>,
) -> Result<bool, StoreError> {
    let n = on_conn!(conn, |c| {
        diesel::update(
            conversations::table
                .filter(conversations::id.eq(conversation_id))
                .filter(conversations::user_id.eq(user_id)),
        )
        .set(conversations::category_id.eq(category_id))
        .execute(c)
        .await
    })?;
    Ok(n > 0)
}

/// The category of conversation `conversation_id` of `user_id` (`None`: uncategorised).
///
/// # Errors
/// [`StoreError::NotFound`] when the conversation does not exist or is someone else's.
pub async fn conversation_category(
    conn: &mut DbConn<'_>,
    conversation_id: Id,
    user_id: Id,
) -> Result<Option<Id>, StoreError> {
    Ok(on_conn!(conn, |c| {
        conversations::table
            .filter(conversations::id.eq(conversation_id))
            .filter(conversations::user_id.eq(user_id))
            .select(conversations::category_id)
            .first(c)
            .await
    })?)
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_a\\b", false), "%50\\%\\_a\\\\b%");
        assert_eq!(like_pattern("ТеМа AB", true), "%тема ab%");
    }
}
