//! Conversations: threads of messages with one provider and model. This module holds their
//! CRUD and stop; [`reply`] generates replies (whole or streamed) through the generation
//! engine, and [`context`] builds what is sent upstream.
//!
//! Every reply stores its assistant message with tokens and cost, and the engine queues
//! exactly one usage record, whatever its outcome.

mod context;
mod reply;
mod views;

pub use context::fit_context;
pub use views::{Conversation, ConversationFilter, ConversationOrder, Message};

use crate::auth::CurrentUser;
use crate::error::OrNotFound;
use crate::page::{self, Page, PageRequest};
use crate::{App, Error, Result, validate};
use aihub_domain::{ChatRole, Id, MessageStatus, ProviderKind, time};
use aihub_store::conversations::{self as store, ConversationChanges, NewConversation};
use aihub_store::messages::{self, MessageRow, NewMessage};
use std::time::Duration;

/// Input of `POST /conversations`.
#[derive(Debug, Clone, Default)]
pub struct NewConversationInput {
    /// Title; defaults to the start of `initial_message`, else "New conversation".
    pub title: Option<String>,
    /// Provider replies come from (must be accessible to the caller).
    pub provider_id: Option<Id>,
    /// Model; defaults to the provider's `default_model`.
    pub model: Option<String>,
    /// System prompt.
    pub system_prompt: Option<String>,
    /// A first user message, stored without generating a reply.
    pub initial_message: Option<String>,
    /// Reply token cap.
    pub max_tokens: Option<i64>,
    /// Temperature 0–2.
    pub temperature: Option<f64>,
    /// Pinned.
    pub is_pinned: Option<bool>,
    /// Archived.
    pub is_archived: Option<bool>,
    /// JSON object (`tags`, `description`, …).
    pub metadata: Option<serde_json::Value>,
    /// One of the caller's categories.
    pub category_id: Option<Id>,
}

/// Input of `PATCH|PUT /conversations/{id}`; `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ConversationUpdate {
    /// Title.
    pub title: Option<String>,
    /// Provider.
    pub provider_id: Option<Option<Id>>,
    /// Model.
    pub model: Option<Option<String>>,
    /// System prompt.
    pub system_prompt: Option<Option<String>>,
    /// Reply token cap.
    pub max_tokens: Option<Option<i64>>,
    /// Temperature.
    pub temperature: Option<Option<f64>>,
    /// Pinned.
    pub is_pinned: Option<bool>,
    /// Archived.
    pub is_archived: Option<bool>,
    /// Metadata object (replaced whole).
    pub metadata: Option<serde_json::Value>,
    /// Category (one of the caller's; `Some(None)` uncategorises).
    pub category_id: Option<Option<Id>>,
}

/// Input of `POST /conversations/{id}/send` and `/stream`.
#[derive(Debug, Clone, Default)]
pub struct SendInput {
    /// The user's message.
    pub content: String,
    /// Overrides the conversation's system prompt for this reply.
    pub system_prompt: Option<String>,
    /// Overrides the reply token cap.
    pub max_tokens: Option<i64>,
    /// Overrides the temperature.
    pub temperature: Option<f64>,
}

/// A conversation with its messages.
#[derive(Debug, Clone)]
pub struct ConversationDetail {
    /// The conversation.
    pub conversation: Conversation,
    /// Its messages, oldest first.
    pub messages: Vec<Message>,
}

/// Both messages of one `send`.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The stored user message.
    pub user_message: Message,
    /// The stored reply, with tokens and cost.
    pub assistant_message: Message,
}

/// Result of `POST …/stream/stop`.
#[derive(Debug, Clone)]
pub struct StopOutcome {
    /// Whether a running stream was stopped.
    pub stopped: bool,
    /// The stored partial reply, when one was stopped.
    pub message: Option<Message>,
}

/// Who asked for a generation, for billing and logs.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Unique id of this request (the usage record's `request_id`).
    pub request_id: String,
    /// Developer API key used, if any.
    pub api_key_id: Option<Id>,
}

fn default_title(initial: Option<&str>) -> String {
    match initial.map(str::trim).filter(|s| !s.is_empty()) {
        Some(text) => {
            let first_line = text.lines().next().unwrap_or(text);
            let mut t: String = first_line.chars().take(60).collect();
            if first_line.chars().count() > 60 {
                t.push('…');
            }
            t
        }
        None => "New conversation".to_owned(),
    }
}

fn opt_text(field: &str, v: Option<&str>, max: usize) -> Result<Option<String>> {
    match v {
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => Ok(Some(validate::text(field, s, 1, max)?)),
        None => Ok(None),
    }
}

impl App {
    /// Checks `provider_id` is usable by `user`; returns its kind (`None` for a stored kind
    /// this build does not know).
    async fn check_provider_access(
        &self,
        user: &CurrentUser,
        provider_id: Id,
    ) -> Result<Option<ProviderKind>> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let row = aihub_store::providers::find_accessible(&mut conn, provider_id, user.id)
            .await
            .or_provider_not_accessible()?;
        Ok(ProviderKind::parse(&row.kind))
    }

    /// Creates a conversation; `initial_message` is stored as its first user message.
    ///
    /// # Errors
    /// `validation_error` naming the field; `provider_not_accessible` for a provider the
    /// caller may not use.
    pub async fn create_conversation(
        &self,
        user: &CurrentUser,
        input: NewConversationInput,
    ) -> Result<ConversationDetail> {
        let title = match input.title.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(t) => validate::text("title", t, 1, 200)?,
            None => default_title(input.initial_message.as_deref()),
        };
        let mut model = opt_text("model", input.model.as_deref(), 200)?;
        let mut system_prompt = opt_text("system_prompt", input.system_prompt.as_deref(), 100_000)?;
        let initial = opt_text(
            "initial_message",
            input.initial_message.as_deref(),
            1_000_000,
        )?;
        let mut max_tokens = validate::max_tokens("max_tokens", input.max_tokens)?;
        let mut temperature = validate::temperature("temperature", input.temperature)?;
        let metadata = validate::metadata("metadata", input.metadata.as_ref())?;
        if let Some(pid) = input.provider_id {
            let kind = self.check_provider_access(user, pid).await?;
            // Settings the request leaves out come from the caller's default preference for
            // the provider's kind (the provider's own config applies at reply time).
            if let Some(kind) = kind
                && let Some(pref) = self.default_preference(user.id, kind).await?
            {
                model = model.or(Some(pref.model));
                max_tokens = max_tokens.or(pref.max_tokens);
                temperature = temperature.or(pref.temperature);
                system_prompt = system_prompt.or(pref.system_prompt);
            }
        }
        if let Some(cid) = input.category_id {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            crate::categories::check_owned(&mut conn, user.id, cid).await?;
        }
        let now = time::now();
        let user_id = user.id;
        let (conversation, messages) = self
            .db()
            .transaction::<_, Error, _>(move |mut tx| {
                Box::pin(async move {
                    let new = NewConversation {
                        user_id,
                        title: &title,
                        provider_id: input.provider_id,
                        model: model.as_deref(),
                        system_prompt: system_prompt.as_deref(),
                        max_tokens,
                        temperature,
                        is_pinned: input.is_pinned.unwrap_or(false),
                        is_archived: input.is_archived.unwrap_or(false),
                        metadata: &metadata,
                        category_id: input.category_id,
                        created_at: now,
                        updated_at: now,
                    };
                    let conv = store::insert(&mut tx, &new).await?;
                    let mut msgs = Vec::new();
                    if let Some(text) = &initial {
                        msgs.push(
                            insert_message(&mut tx, conv.id, ChatRole::User, text, now).await?,
                        );
                        store::refresh_counters(&mut tx, conv.id, now).await?;
                    }
                    let conv = store::find_owned(&mut tx, conv.id, user_id).await?;
                    Ok((conv, msgs))
                })
            })
            .await?;
        Ok(ConversationDetail {
            conversation: conversation.into(),
            messages: messages.into_iter().map(Message::from).collect(),
        })
    }

    /// The caller's conversations, filtered, ordered and paged.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn list_conversations(
        &self,
        user: &CurrentUser,
        filter: &ConversationFilter,
        order: ConversationOrder,
        page: PageRequest,
    ) -> Result<Page<Conversation>> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let rows = store::list(
            &mut conn,
            user.id,
            &filter.into(),
            order.into(),
            page.into(),
        )
        .await?;
        Ok(page::from_store(rows))
    }

    /// One of the caller's conversations with its messages.
    ///
    /// # Errors
    /// `not_found` for another user's or a missing id.
    pub async fn get_conversation(&self, user: &CurrentUser, id: Id) -> Result<ConversationDetail> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let conversation = store::find_owned(&mut conn, id, user.id)
            .await
            .or_not_found("conversation")?;
        let messages = messages::list_for_conversation(&mut conn, id).await?;
        Ok(ConversationDetail {
            conversation: conversation.into(),
            messages: messages.into_iter().map(Message::from).collect(),
        })
    }

    /// Updates one of the caller's conversations.
    ///
    /// # Errors
    /// `not_found`; `validation_error`; `provider_not_accessible`.
    pub async fn update_conversation(
        &self,
        user: &CurrentUser,
        id: Id,
        update: ConversationUpdate,
    ) -> Result<Conversation> {
        let title = update
            .title
            .as_deref()
            .map(|t| validate::text("title", t, 1, 200))
            .transpose()?;
        let model = match &update.model {
            Some(m) => Some(opt_text("model", m.as_deref(), 200)?),
            None => None,
        };
        let system_prompt = match &update.system_prompt {
            Some(s) => Some(opt_text("system_prompt", s.as_deref(), 100_000)?),
            None => None,
        };
        let max_tokens = match update.max_tokens {
            Some(n) => Some(validate::max_tokens("max_tokens", n)?),
            None => None,
        };
        let temperature = match update.temperature {
            Some(t) => Some(validate::temperature("temperature", t)?),
            None => None,
        };
        let metadata = update
            .metadata
            .as_ref()
            .map(|m| validate::metadata("metadata", Some(m)))
            .transpose()?;
        // Ownership first: another user's id is a 404 before anything else is looked at.
        {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            store::find_owned(&mut conn, id, user.id)
                .await
                .or_not_found("conversation")?;
            if let Some(Some(cid)) = update.category_id {
                crate::categories::check_owned(&mut conn, user.id, cid).await?;
            }
        }
        if let Some(Some(pid)) = update.provider_id {
            self.check_provider_access(user, pid).await?;
        }
        let changes = ConversationChanges {
            title: title.as_deref(),
            provider_id: update.provider_id,
            model: model.as_ref().map(|m| m.as_deref()),
            system_prompt: system_prompt.as_ref().map(|s| s.as_deref()),
            max_tokens,
            temperature,
            is_pinned: update.is_pinned,
            is_archived: update.is_archived,
            metadata: metadata.as_deref(),
            category_id: update.category_id,
            updated_at: Some(time::now()),
        };
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        store::update_owned(&mut conn, id, user.id, &changes)
            .await
            .map(Conversation::from)
            .or_not_found("conversation")
    }

    /// Deletes one of the caller's conversations and its messages (a running stream is
    /// stopped first; its usage is still recorded).
    ///
    /// # Errors
    /// `not_found`.
    pub async fn delete_conversation(&self, user: &CurrentUser, id: Id) -> Result<()> {
        {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            store::find_owned(&mut conn, id, user.id)
                .await
                .or_not_found("conversation")?;
        }
        self.stop_and_wait(id).await;
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        if !store::delete_owned(&mut conn, id, user.id).await? {
            return Err(Error::not_found("conversation"));
        }
        Ok(())
    }

    /// Stops the reply streaming in one of the caller's conversations and waits (up to 5 s)
    /// until its partial text is stored as `stopped`.
    ///
    /// # Errors
    /// `not_found` for another user's or a missing conversation.
    pub async fn stop_stream(&self, user: &CurrentUser, id: Id) -> Result<StopOutcome> {
        {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            store::find_owned(&mut conn, id, user.id)
                .await
                .or_not_found("conversation")?;
        }
        let Some(message_id) = self.stop_and_wait(id).await else {
            return Ok(StopOutcome {
                stopped: false,
                message: None,
            });
        };
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let message = messages::list_for_conversation(&mut conn, id)
            .await?
            .into_iter()
            .find(|m| m.id == message_id)
            .map(Message::from);
        Ok(StopOutcome {
            stopped: true,
            message,
        })
    }

    /// Cancels the stream of a conversation, if any, and waits for it to be stored.
    /// Returns the assistant message id of the stopped stream.
    async fn stop_and_wait(&self, conversation_id: Id) -> Option<Id> {
        let (mut finished, message_id) = self.inner.streams.cancel(conversation_id)?;
        let _ = tokio::time::timeout(Duration::from_secs(5), finished.wait_for(|done| *done)).await;
        message_id
    }
}

pub(crate) async fn insert_message(
    tx: &mut aihub_store::DbConn<'_>,
    conversation_id: Id,
    role: ChatRole,
    content: &str,
    now: chrono::NaiveDateTime,
) -> Result<MessageRow> {
    Ok(messages::insert(
        tx,
        &NewMessage {
            conversation_id,
            role: role.as_str(),
            content,
            status: MessageStatus::Complete.as_str(),
            model: None,
            provider_id: None,
            provider_kind: None,
            metadata: "{}",
            created_at: now,
        },
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_default_from_the_first_message() {
        assert_eq!(default_title(None), "New conversation");
        assert_eq!(
            default_title(Some("  Hello there\nsecond line")),
            "Hello there"
        );
        assert_eq!(default_title(Some(&"x".repeat(80))).chars().count(), 61);
    }
}
