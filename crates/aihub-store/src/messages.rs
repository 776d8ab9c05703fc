//! `messages`: the turns of a conversation.

use crate::schema::{conversations, messages};
use crate::{DbConn, Page, PageRequest, StoreError, on_conn};
use aihub_domain::Id;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// A stored message.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    /// Id.
    pub id: Id,
    /// Conversation.
    pub conversation_id: Id,
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// Text (for a stopped or failed reply: the text so far).
    pub content: String,
    /// `complete`, `streaming`, `stopped` or `failed`.
    pub status: String,
    /// Model that wrote it (assistant messages).
    pub model: Option<String>,
    /// Provider that wrote it.
    pub provider_id: Option<Id>,
    /// Its wire family.
    pub provider_kind: Option<String>,
    /// Input tokens of the generation.
    pub prompt_tokens: Option<i64>,
    /// Output tokens of the generation.
    pub completion_tokens: Option<i64>,
    /// Cost in nano-units.
    pub cost_nanos: Option<i64>,
    /// Why generation ended.
    pub finish_reason: Option<String>,
    /// Whole generation time in milliseconds.
    pub response_time_ms: Option<i64>,
    /// JSON object.
    pub metadata: String,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
}

/// A new message.
#[derive(Debug, Insertable)]
#[diesel(table_name = messages)]
pub struct NewMessage<'a> {
    /// Conversation.
    pub conversation_id: Id,
    /// Role.
    pub role: &'a str,
    /// Text.
    pub content: &'a str,
    /// Status.
    pub status: &'a str,
    /// Model.
    pub model: Option<&'a str>,
    /// Provider.
    pub provider_id: Option<Id>,
    /// Provider kind.
    pub provider_kind: Option<&'a str>,
    /// Metadata JSON.
    pub metadata: &'a str,
    /// Creation time.
    pub created_at: NaiveDateTime,
}

/// The outcome written onto an assistant message when its generation ends.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = messages)]
pub struct MessageOutcome<'a> {
    /// Final (or partial) text.
    pub content: &'a str,
    /// Final status.
    pub status: &'a str,
    /// Input tokens.
    pub prompt_tokens: Option<i64>,
    /// Output tokens.
    pub completion_tokens: Option<i64>,
    /// Cost in nano-units.
    pub cost_nanos: Option<i64>,
    /// Finish reason.
    pub finish_reason: Option<&'a str>,
    /// Generation time in milliseconds.
    pub response_time_ms: Option<i64>,
    /// Metadata JSON.
    pub metadata: &'a str,
}

/// Inserts a message. Callers refresh the conversation counters in the same transaction.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn insert(conn: &mut DbConn<'_>, new: &NewMessage<'_>) -> Result<MessageRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::insert_into(messages::table)
            .values(new)
            .returning(MessageRow::as_returning())
            .get_result(c)
            .await
    })?)
}

/// Every message of a conversation, oldest first. Callers check ownership of the conversation.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn list_for_conversation(
    conn: &mut DbConn<'_>,
    conversation_id: Id,
) -> Result<Vec<MessageRow>, StoreError> {
    Ok(on_conn!(conn, |c| {
        messages::table
            .filter(messages::conversation_id.eq(conversation_id))
            .order(messages::id.asc())
            .select(MessageRow::as_select())
            .load(c)
            .await
    })?)
}

/// Writes the outcome of a generation onto message `id`.
///
/// # Errors
/// [`StoreError::NotFound`] when the message is gone (its conversation was deleted meanwhile).
pub async fn finish(
    conn: &mut DbConn<'_>,
    id: Id,
    outcome: &MessageOutcome<'_>,
) -> Result<MessageRow, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::update(messages::table.find(id))
            .set(outcome)
            .returning(MessageRow::as_returning())
            .get_result(c)
            .await
    })?)
}

/// Deletes message `id` of conversation `conversation_id` (a reply placeholder whose
/// generation never started); returns whether it existed. Callers refresh the conversation
/// counters in the same transaction.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn delete(
    conn: &mut DbConn<'_>,
    id: Id,
    conversation_id: Id,
) -> Result<bool, StoreError> {
    let n = on_conn!(conn, |c| {
        diesel::delete(
            messages::table
                .filter(messages::id.eq(id))
                .filter(messages::conversation_id.eq(conversation_id)),
        )
        .execute(c)
        .await
    })?;
    Ok(n > 0)
}

/// One page of a conversation's messages, oldest first, with the total. Callers check
/// ownership of the conversation.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn page_for_conversation(
    conn: &mut DbConn<'_>,
    conversation_id: Id,
    page: PageRequest,
) -> Result<Page<MessageRow>, StoreError> {
    let (items, total) = on_conn!(conn, |c| {
        let items = messages::table
            .filter(messages::conversation_id.eq(conversation_id))
            .order(messages::id.asc())
            .offset(page.offset)
            .limit(page.limit)
            .select(MessageRow::as_select())
            .load(c)
            .await?;
        let total: i64 = messages::table
            .filter(messages::conversation_id.eq(conversation_id))
            .count()
            .get_result(c)
            .await?;
        Ok::<_, diesel::result::Error>((items, total))
    })?;
    Ok(Page { items, total })
}

/// Deletes every message of a conversation; returns how many went. Callers check ownership
/// and refresh the conversation counters in the same transaction.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn delete_for_conversation(
    conn: &mut DbConn<'_>,
    conversation_id: Id,
) -> Result<usize, StoreError> {
    Ok(on_conn!(conn, |c| {
        diesel::delete(messages::table.filter(messages::conversation_id.eq(conversation_id)))
            .execute(c)
            .await
    })?)
}

/// The newest `limit` messages across `user_id`'s conversations, newest first, each with its
/// conversation's title.
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn recent_for_user(
    conn: &mut DbConn<'_>,
    user_id: Id,
    limit: i64,
) -> Result<Vec<(MessageRow, String)>, StoreError> {
    Ok(on_conn!(conn, |c| {
        messages::table
            .inner_join(conversations::table)
            .filter(conversations::user_id.eq(user_id))
            .order((messages::created_at.desc(), messages::id.desc()))
            .limit(limit)
            .select((MessageRow::as_select(), conversations::title))
            .load(c)
            .await
    })?)
}
