//! Conversation operations beyond CRUD and generation: bulk delete/archive, message listing
//! and manual messages, clearing history, per-user statistics and recent messages.

use crate::auth::CurrentUser;
use crate::categories::Category;
use crate::conversations::{Message, insert_message};
use crate::error::OrNotFound;
use crate::page::{self, Page, PageRequest};
use crate::{App, Error, Result};
use aihub_domain::{ChatRole, ErrorCode, Id, time};
use aihub_store::conversations as store;
use aihub_store::messages;
use std::collections::HashMap;
use tokio_util::sync::CancellationToken;

/// Most ids one bulk request may name.
pub const MAX_BULK_IDS: usize = 1000;

/// Most messages `recent_messages` returns.
pub const MAX_RECENT: i64 = 100;

/// Totals of one user's conversations (`GET /conversations/stats`). Counts are numbers of
/// conversations unless named otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConversationStats {
    /// Every conversation.
    pub total: i64,
    /// Archived ones.
    pub archived: i64,
    /// Pinned ones.
    pub pinned: i64,
    /// Updated in the last 7 days.
    pub recent: i64,
    /// Messages across all of them.
    pub messages: i64,
    /// Prompt plus completion tokens of those messages.
    pub tokens: i64,
    /// `messages / total` (0 when there are no conversations).
    pub average_messages_per_conversation: f64,
}

/// A recent message with the title of its conversation.
#[derive(Debug, Clone)]
pub struct RecentMessage {
    /// The message.
    pub message: Message,
    /// Its conversation's title.
    pub conversation_title: String,
}

fn check_ids(ids: &[Id]) -> Result<Vec<Id>> {
    if ids.is_empty() || ids.len() > MAX_BULK_IDS {
        return Err(Error::validation(
            "ids",
            format!("ids must hold between 1 and {MAX_BULK_IDS} ids"),
        ));
    }
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

impl App {
    /// Deletes those of `ids` that are the caller's conversations (with their messages);
    /// foreign and missing ids are not counted. Running streams there are stopped first.
    ///
    /// # Errors
    /// `validation_error` naming `ids` for 0 or more than 1000 ids.
    pub async fn bulk_delete_conversations(&self, user: &CurrentUser, ids: &[Id]) -> Result<usize> {
        let ids = check_ids(ids)?;
        // Only the caller's streams are stopped: a foreign id must not affect its owner.
        let owned = {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            store::owned_ids(&mut conn, user.id, &ids).await?
        };
        for &id in &owned {
            if let Some((mut finished, _)) = self.inner.streams.cancel(id) {
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    finished.wait_for(|done| *done),
                )
                .await;
            }
        }
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        Ok(store::bulk_delete_owned(&mut conn, user.id, &ids).await?)
    }

    /// Archives (or unarchives) those of `ids` that are the caller's; returns how many.
    ///
    /// # Errors
    /// `validation_error` naming `ids`.
    pub async fn bulk_archive_conversations(
        &self,
        user: &CurrentUser,
        ids: &[Id],
        archived: bool,
    ) -> Result<usize> {
        let ids = check_ids(ids)?;
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        Ok(store::bulk_set_archived(&mut conn, user.id, &ids, archived, time::now()).await?)
    }

    /// The caller's categories among `ids`, by id (for the `category` object of responses).
    ///
    /// # Errors
    /// Database failures only.
    pub async fn categories_by_id(
        &self,
        user: &CurrentUser,
        ids: &[Id],
    ) -> Result<HashMap<Id, Category>> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let rows = store::categories_of(&mut conn, user.id, ids).await?;
        Ok(rows
            .into_iter()
            .map(|c| (c.id, Category::from(c)))
            .collect())
    }

    /// One page of the messages of one of the caller's conversations, oldest first.
    ///
    /// # Errors
    /// `not_found` for another user's or a missing conversation.
    pub async fn list_messages(
        &self,
        user: &CurrentUser,
        id: Id,
        page: PageRequest,
    ) -> Result<Page<Message>> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        store::find_owned(&mut conn, id, user.id)
            .await
            .or_not_found("conversation")?;
        let rows = messages::page_for_conversation(&mut conn, id, page.into()).await?;
        Ok(page::from_store(rows))
    }

    /// Stores a message with `role` (`user`, `assistant` or `system`) in one of the caller's
    /// conversations without generating anything; the counters move as on send.
    ///
    /// # Errors
    /// `not_found`; `validation_error` naming `role` or `content`.
    pub async fn add_message(
        &self,
        user: &CurrentUser,
        id: Id,
        role: &str,
        content: &str,
    ) -> Result<Message> {
        {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            store::find_owned(&mut conn, id, user.id)
                .await
                .or_not_found("conversation")?;
        }
        let role = match ChatRole::parse(role) {
            Some(r @ (ChatRole::User | ChatRole::Assistant | ChatRole::System)) => r,
            _ => {
                return Err(Error::validation(
                    "role",
                    "role must be user, assistant or system",
                ));
            }
        };
        if content.trim().is_empty() {
            return Err(Error::validation("content", "content must not be empty"));
        }
        if content.chars().count() > 1_000_000 {
            return Err(Error::validation(
                "content",
                "content must be at most 1000000 characters",
            ));
        }
        let content = content.to_owned();
        self.db()
            .transaction::<_, Error, _>(move |mut tx| {
                Box::pin(async move {
                    let now = time::now();
                    let m = insert_message(&mut tx, id, role, &content, now).await?;
                    store::refresh_counters(&mut tx, id, now).await?;
                    Ok(Message::from(m))
                })
            })
            .await
    }

    /// Deletes every message of one of the caller's conversations, keeping the conversation
    /// and its system prompt; returns how many messages went.
    ///
    /// # Errors
    /// `not_found`; `conflict` (409) while a reply is streaming in it.
    pub async fn clear_history(&self, user: &CurrentUser, id: Id) -> Result<usize> {
        {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            store::find_owned(&mut conn, id, user.id)
                .await
                .or_not_found("conversation")?;
        }
        // Holding the stream slot keeps a new stream from starting while the history goes.
        let Some((slot, _finish)) = self.inner.streams.reserve(id, CancellationToken::new()) else {
            return Err(Error::new(
                ErrorCode::Conflict,
                "a reply is streaming in this conversation; stop it first",
            ));
        };
        let n = self
            .db()
            .transaction::<_, Error, _>(move |mut tx| {
                Box::pin(async move {
                    let n = messages::delete_for_conversation(&mut tx, id).await?;
                    store::refresh_counters(&mut tx, id, time::now()).await?;
                    Ok(n)
                })
            })
            .await;
        drop(slot);
        n
    }

    /// Totals of the caller's conversations; `recent` counts those updated in the last 7 days.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn conversation_stats(&self, user: &CurrentUser) -> Result<ConversationStats> {
        let since = time::now() - chrono::Duration::days(7);
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let stats = store::stats(&mut conn, user.id, since).await?;
        let average_messages_per_conversation = if stats.total > 0 {
            stats.messages as f64 / stats.total as f64
        } else {
            0.0
        };
        Ok(ConversationStats {
            total: stats.total,
            archived: stats.archived,
            pinned: stats.pinned,
            recent: stats.recent,
            messages: stats.messages,
            tokens: stats.tokens,
            average_messages_per_conversation,
        })
    }

    /// The caller's newest messages across conversations, newest first.
    ///
    /// # Errors
    /// `validation_error` naming `limit` outside 1–100.
    pub async fn recent_messages(
        &self,
        user: &CurrentUser,
        limit: i64,
    ) -> Result<Vec<RecentMessage>> {
        if !(1..=MAX_RECENT).contains(&limit) {
            return Err(Error::validation(
                "limit",
                format!("limit must be between 1 and {MAX_RECENT}"),
            ));
        }
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        Ok(messages::recent_for_user(&mut conn, user.id, limit)
            .await?
            .into_iter()
            .map(|(message, conversation_title)| RecentMessage {
                message: message.into(),
                conversation_title,
            })
            .collect())
    }
}
