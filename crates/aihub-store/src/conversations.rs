//! `conversations`: chat threads owned by one user.

use crate::categories::CategoryRow;
use crate::schema::{categories, conversations, messages};
use crate::{DbConn, Page, PageRequest, StoreError, on_conn};
use aihub_domain::Id;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// A stored conversation.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = conversations)]
pub struct ConversationRow {
    /// Id.
    pub id: Id,
    /// Owner.
    pub user_id: Id,
    /// Title.
    pub title: String,
    /// Provider replies come from (`None` after the provider is deleted).
    pub provider_id: Option<Id>,
    /// Model replies come from.
    pub model: Option<String>,
    /// System prompt sent first on every generation.
    pub system_prompt: Option<String>,
    /// Cap on reply tokens.
    pub max_tokens: Option<i64>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Pinned to the top of lists.
    pub is_pinned: bool,
    /// Archived.
    pub is_archived: bool,
    /// Free-form JSON object (`tags`, `description`, …).
    pub metadata: String,
    /// Number of stored messages.
    pub message_count: i64,
    /// Time of the newest message.
    pub last_message_at: Option<NaiveDateTime>,
    /// Category of the owner it is filed under (`None`: uncategorised).
    pub category_id: Option<Id>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

/// A new conversation.
#[derive(Debug, Insertable)]
#[diesel(table_name = conversations)]
pub struct NewConversation<'a> {
    /// Owner.
    pub user_id: Id,
    /// Title.
    pub title: &'a str,
    /// Provider.
    pub provider_id: Option<Id>,
    /// Model.
    pub model: Option<&'a str>,
    /// System prompt.
    pub system_prompt: Option<&'a str>,
    /// Reply token cap.
    pub max_tokens: Option<i64>,
    /// Temperature.
    pub temperature: Option<f64>,
    /// Pinned.
    pub is_pinned: bool,
    /// Archived.
    pub is_archived: bool,
    /// Metadata JSON object.
    pub metadata: &'a str,
    /// Category (checked to be the owner's by the caller).
    pub category_id: Option<Id>,
    /// Creation time.
    pub created_at: NaiveDateTime,
    /// Same as `created_at`.
    pub updated_at: NaiveDateTime,
}

/// Changes to a conversation; `None` leaves a column as it is, `Some(None)` clears it.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = conversations)]
pub struct ConversationChanges<'a> {
    /// Title.
    pub title: Option<&'a str>,
    /// Provider.
    pub provider_id: Option<Option<Id>>,
    /// Model.
    pub model: Option<Option<&'a str>>,
    /// System prompt.
    pub system_prompt: Option<Option<&'a str>>,
    /// Reply token cap.
    pub max_tokens: Option<Option<i64>>,
    /// Temperature.
    pub temperature: Option<Option<f64>>,
    /// Pinned.
    pub is_pinned: Option<bool>,
    /// Archived.
    pub is_archived: Option<bool>,
    /// Metadata JSON.
    pub metadata: Option<&'a str>,
    /// Category.
    pub category_id: Option<Option<Id>>,
    /// Always set by callers.
    pub updated_at: Option<NaiveDateTime>,
}

/// Sort order of the conversation listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConversationOrder {
    /// Pinned first, then most recently updated (the default).
    #[default]
    PinnedThenRecent,
    /// `updated_at` ascending / descending.
    UpdatedAt(bool),
    /// `created_at` ascending / descending.
    CreatedAt(bool),
    /// `title` ascending / descending.
    Title(bool),
    /// `last_message_at` ascending / descending.
    LastMessageAt(bool),
}

/// Filters of the conversation listing.
#[derive(Debug, Default, Clone)]
pub struct ConversationFilter {
    /// Only archived or not archived.
    pub is_archived: Option<bool>,
    /// Only pinned or not pinned.
    pub is_pinned: Option<bool>,
    /// Only those using this provider.
    pub provider_id: Option<Id>,
    /// Only those filed under this category.
    pub category_id: Option<Id>,
    /// Case-insensitive substring of the title (and of a message's text with
    /// `search_messages`).
    pub search: Option<String>,
    /// Let `search` match message text too.
    pub search_messages: bool,
}

/// Totals of one user's conversations (`GET /conversations/stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConversationStats {
    /// Every conversation.
    pub total: i64,
    /// Archived ones.
    pub archived: i64,
    /// Pinned ones.
    pub pinned: i64,
    /// Updated at or after the `since` time given.
    pub recent: i64,
    /// Messages across all of them.
    pub messages: i64,
    /// Sum of prompt and completion tokens of those messages.
    pub tokens: i64,
}

/// Inserts a conversation.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn insert(
    conn: &mut DbConn<'_>,
    new: &NewConversation<'_>,
) -> Result<ConversationRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::insert_into(conversations::table)
            .values(new)
            .returning(ConversationRow::as_returning())
            .get_result(c)
            .await
    })?)
}

/// A conversation owned by `user_id`.
///
/// # Errors
/// [`StoreError::NotFound`] when it does not exist or belongs to someone else.
pub async fn find_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
) -> Result<ConversationRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        conversations::table
            .filter(conversations::id.eq(id))
            .filter(conversations::user_id.eq(user_id))
            .select(ConversationRow::as_select())
            .first(c)
            .await
    })?)
}

fn like_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}

/// The conversations of `user_id`, filtered, ordered and paged.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn list(
    conn: &mut DbConn<'_>,
    user_id: Id,
    filter: &ConversationFilter,
    order: ConversationOrder,
    page: PageRequest,
) -> Result<Page<ConversationRow>, StoreError> {
    let pattern = filter.search.as_deref().map(like_pattern);
    // A macro, not a closure: a boxed query is typed by its backend, so it is built per arm.
    macro_rules! query {
        () => {{
            let mut q = conversations::table
                .filter(conversations::user_id.eq(user_id))
                .into_boxed();
            if let Some(v) = filter.is_archived {
                q = q.filter(conversations::is_archived.eq(v));
            }
            if let Some(v) = filter.is_pinned {
                q = q.filter(conversations::is_pinned.eq(v));
            }
            if let Some(v) = filter.provider_id {
                q = q.filter(conversations::provider_id.eq(v));
            }
            if let Some(v) = filter.category_id {
                q = q.filter(conversations::category_id.eq(v));
            }
            if let (Some(p), true) = (&pattern, filter.search_messages) {
                q = q.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "(LOWER(conversations.title) LIKE ",
                    )
                    .bind::<diesel::sql_types::Text, _>(p.clone())
                    .sql(
                        " ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m \
                         WHERE m.conversation_id = conversations.id AND LOWER(m.content) LIKE ",
                    )
                    .bind::<diesel::sql_types::Text, _>(p.clone())
                    .sql(" ESCAPE '\\'))"),
                );
            } else if let Some(p) = &pattern {
                q = q.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>("LOWER(title) LIKE ")
                        .bind::<diesel::sql_types::Text, _>(p.clone())
                        .sql(" ESCAPE '\\'"),
                );
            }
            q
        }};
    }
    let (items, total) = on_conn!(conn, |c| {
        let mut q = query!();
        q = match order {
            ConversationOrder::PinnedThenRecent => q.order((
                conversations::is_pinned.desc(),
                conversations::updated_at.desc(),
            )),
            ConversationOrder::UpdatedAt(true) => q.order(conversations::updated_at.asc()),
            ConversationOrder::UpdatedAt(false) => q.order(conversations::updated_at.desc()),
            ConversationOrder::CreatedAt(true) => q.order(conversations::created_at.asc()),
            ConversationOrder::CreatedAt(false) => q.order(conversations::created_at.desc()),
            ConversationOrder::Title(true) => q.order(conversations::title.asc()),
            ConversationOrder::Title(false) => q.order(conversations::title.desc()),
            ConversationOrder::LastMessageAt(true) => q.order(conversations::last_message_at.asc()),
            ConversationOrder::LastMessageAt(false) => {
                q.order(conversations::last_message_at.desc())
            }
        };
        let items = q
            .then_order_by(conversations::id.desc())
            .offset(page.offset)
            .limit(page.limit)
            .select(ConversationRow::as_select())
            .load(c)
            .await?;
        let total: i64 = query!().count().get_result(c).await?;
        Ok::<_, diesel::result::Error>((items, total))
    })?;
    Ok(Page { items, total })
}

/// Updates a conversation owned by `user_id`.
///
/// # Errors
/// [`StoreError::NotFound`] when it is not theirs.
pub async fn update_owned(
    conn: &mut DbConn<'_>,
    id: Id,
    user_id: Id,
    changes: &ConversationChanges<'_>,
) -> Result<ConversationRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::update(
            conversations::table
                .filter(conversations::id.eq(id))
                .filter(conversations::user_id.eq(user_id)),
        )
        .set(changes)
        .returning(ConversationRow::as_returning())
        .get_result(c)
        .await
    })?)
}

/// Deletes a conversation owned by `user_id` (its messages go with it); returns whether a row went.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn delete_owned(conn: &mut DbConn<'_>, id: Id, user_id: Id) -> Result<bool, StoreError> {
    let n = on_conn!(conn, |c| {
        diesel::delete(
            conversations::table
                .filter(conversations::id.eq(id))
                .filter(conversations::user_id.eq(user_id)),
        )
        .execute(c)
        .await
    })?;
    Ok(n > 0)
}

/// Recomputes `message_count` and `last_message_at` of conversation `id` from its messages and
/// sets `updated_at`. Run in the same transaction as the message writes.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn refresh_counters(
    conn: &mut DbConn<'_>,
    id: Id,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    let (count, last): (i64, Option<NaiveDateTime>) = on_conn!(conn, |c| {
        messages::table
            .filter(messages::conversation_id.eq(id))
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::max(messages::created_at),
            ))
            .first(c)
            .await
    })?;
    on_conn!(conn, |c| {
        diesel::update(conversations::table.find(id))
            .set((
                conversations::message_count.eq(count),
                conversations::last_message_at.eq(last),
                conversations::updated_at.eq(now),
            ))
            .execute(c)
            .await
    })?;
    Ok(())
}

/// Deletes those of `ids` that belong to `user_id` (their messages go with them), in one
/// statement; foreign and missing ids are ignored. Returns how many went.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn bulk_delete_owned(
    conn: &mut DbConn<'_>,
    user_id: Id,
    ids: &[Id],
) -> Result<usize, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::delete(
            conversations::table
                .filter(conversations::user_id.eq(user_id))
                .filter(conversations::id.eq_any(ids)),
        )
        .execute(c)
        .await
    })?)
}

/// Those of `ids` that belong to `user_id`.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn owned_ids(
    conn: &mut DbConn<'_>,
    user_id: Id,
    ids: &[Id],
) -> Result<Vec<Id>, StoreError> {
    Ok(on_conn!(conn, |c| {
        conversations::table
            .filter(conversations::user_id.eq(user_id))
            .filter(conversations::id.eq_any(ids))
            .select(conversations::id)
            .load(c)
            .await
    })?)
}

/// Sets `is_archived` on those of `ids` that belong to `user_id`, in one statement; foreign
/// and missing ids are ignored. Returns how many rows matched.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn bulk_set_archived(
    conn: &mut DbConn<'_>,
    user_id: Id,
    ids: &[Id],
    archived: bool,
    now: NaiveDateTime,
) -> Result<usize, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::update(
            conversations::table
                .filter(conversations::user_id.eq(user_id))
                .filter(conversations::id.eq_any(ids)),
        )
        .set((
            conversations::is_archived.eq(archived),
            conversations::updated_at.eq(now),
        ))
        .execute(c)
        .await
    })?)
}

/// The categories of `user_id` among `ids` (to show the category object of conversations).
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn categories_of(
    conn: &mut DbConn<'_>,
    user_id: Id,
    ids: &[Id],
) -> Result<Vec<CategoryRow>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(on_conn!(conn, |c| {
        categories::table
            .filter(categories::user_id.eq(user_id))
            .filter(categories::id.eq_any(ids))
            .select(CategoryRow::as_select())
            .load(c)
            .await
    })?)
}

/// Totals of `user_id`'s conversations and their messages; `recent` counts conversations
/// updated at or after `since`.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn stats(
    conn: &mut DbConn<'_>,
    user_id: Id,
    since: NaiveDateTime,
) -> Result<ConversationStats, StoreError> {
    let out = on_conn!(conn, |c| {
        let mine = || conversations::table.filter(conversations::user_id.eq(user_id));
        let total: i64 = mine().count().get_result(c).await?;
        let archived: i64 = mine()
            .filter(conversations::is_archived.eq(true))
            .count()
            .get_result(c)
            .await?;
        let pinned: i64 = mine()
            .filter(conversations::is_pinned.eq(true))
            .count()
            .get_result(c)
            .await?;
        let recent: i64 = mine()
            .filter(conversations::updated_at.ge(since))
            .count()
            .get_result(c)
            .await?;
        let msgs = || {
            messages::table.filter(
                messages::conversation_id.eq_any(
                    conversations::table
                        .filter(conversations::user_id.eq(user_id))
                        .select(conversations::id),
                ),
            )
        };
        let messages_n: i64 = msgs().count().get_result(c).await?;
        let tokens: i64 = msgs()
            .select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "CAST(COALESCE(SUM(COALESCE(prompt_tokens, 0) + COALESCE(completion_tokens, 0)), 0) AS BIGINT)",
            ))
            .get_result(c)
            .await?;
        Ok::<_, diesel::result::Error>(ConversationStats {
            total,
            archived,
            pinned,
            recent,
            messages: messages_n,
            tokens,
        })
    })?;
    Ok(out)
}
