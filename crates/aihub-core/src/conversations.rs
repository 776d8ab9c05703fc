//! Conversations: threads of messages with one provider and model, replies generated whole
//! (`send`) or streamed (`stream`), and stopped on request, on disconnect, or at shutdown.
//!
//! Every generation stores its assistant message with tokens and cost and queues exactly one
//! usage record, whatever its outcome.

use crate::auth::CurrentUser;
use crate::providers::ResolvedProvider;
use crate::streams::{StreamEvent, StreamFinish};
use crate::usage::{Billed, Generation};
use crate::{App, Error, Result, validate};
use aihub_domain::{
    ChatMessage, ChatRequest, ChatRole, ErrorCode, FinishReason, Id, MessageStatus, ProviderKind,
    UsageStatus, time,
};
use aihub_providers::ChatStream;
use aihub_store::conversations::{
    self as store, ConversationChanges, ConversationFilter, ConversationOrder, ConversationRow,
    NewConversation,
};
use aihub_store::messages::{self, MessageOutcome, MessageRow, NewMessage};
use aihub_store::{Page, PageRequest};
use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

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
    /// A first user message, stored without generating a reply (seed 000).
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
    pub conversation: ConversationRow,
    /// Its messages, oldest first.
    pub messages: Vec<MessageRow>,
}

/// Both messages of one `send`.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The stored user message.
    pub user_message: MessageRow,
    /// The stored reply, with tokens and cost.
    pub assistant_message: MessageRow,
}

/// A started streamed reply: its events, `start` first, `done` or `error` last.
pub struct ReplyStream {
    /// The events. Dropping the receiver (the client went away) stops the generation; the
    /// partial reply is stored as `stopped` and billed.
    pub events: mpsc::Receiver<StreamEvent>,
}

/// Result of `POST …/stream/stop`.
#[derive(Debug, Clone)]
pub struct StopOutcome {
    /// Whether a running stream was stopped.
    pub stopped: bool,
    /// The stored partial reply, when one was stopped.
    pub message: Option<MessageRow>,
}

/// Who asked for a generation, for billing and logs.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Unique id of this request (the usage record's `request_id`).
    pub request_id: String,
    /// Developer API key used, if any.
    pub api_key_id: Option<Id>,
}

struct Prepared {
    provider: ResolvedProvider,
    request: ChatRequest,
    /// Older messages left out so the prompt fits the model's context window.
    dropped: usize,
}

pub(crate) fn not_found(e: aihub_store::StoreError) -> Error {
    match e {
        aihub_store::StoreError::NotFound => Error::not_found("conversation"),
        other => other.into(),
    }
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

/// The messages sent upstream: the system prompt, then (with `use_context`) the stored turns
/// that carry text (complete or stopped replies; failed and empty ones are skipped), then the
/// new user message.
fn build_messages(
    system_prompt: Option<&str>,
    history: &[MessageRow],
    content: &str,
    use_context: bool,
) -> Vec<ChatMessage> {
    let mut out = Vec::with_capacity(history.len() + 2);
    if let Some(sp) = system_prompt.filter(|s| !s.trim().is_empty()) {
        out.push(ChatMessage::new(ChatRole::System, sp));
    }
    if use_context {
        for m in history {
            let Some(role) = ChatRole::parse(&m.role) else {
                continue;
            };
            let usable = matches!(
                MessageStatus::parse(&m.status),
                MessageStatus::Complete | MessageStatus::Stopped
            );
            if role != ChatRole::System && usable && !m.content.is_empty() {
                out.push(ChatMessage::new(role, m.content.clone()));
            }
        }
    }
    out.push(ChatMessage::new(ChatRole::User, content));
    out
}

/// Trims `messages` to a model's context window: keeps every system message and the newest
/// user message, and drops the oldest other messages until
/// `count(kept) + reserve_for_reply <= model_window` (all in tokens). After trimming, leading
/// non-user messages (an assistant reply whose question was dropped, tool results) are
/// dropped too, so the kept history starts with a user turn. When even the system messages
/// and the newest user message alone do not fit, every other message is dropped and the
/// upstream is left to reject the request.
///
/// Returns the kept messages in their original order and how many were dropped (0 when the
/// input already fits). `count` is called O(log n) times.
pub fn fit_context(
    model_window: u32,
    reserve_for_reply: u32,
    messages: Vec<ChatMessage>,
    count: impl Fn(&[ChatMessage]) -> u32,
) -> (Vec<ChatMessage>, usize) {
    let fits = |m: &[ChatMessage]| count(m).saturating_add(reserve_for_reply) <= model_window;
    if fits(&messages) {
        return (messages, 0);
    }
    let newest_user = messages.iter().rposition(|m| m.role == ChatRole::User);
    // Indices that may be dropped, oldest first.
    let droppable: Vec<usize> = (0..messages.len())
        .filter(|&i| messages[i].role != ChatRole::System && Some(i) != newest_user)
        .collect();
    let keep_without = |n: usize| -> Vec<ChatMessage> {
        let gone = &droppable[..n];
        messages
            .iter()
            .enumerate()
            .filter(|(i, _)| !gone.contains(i))
            .map(|(_, m)| m.clone())
            .collect()
    };
    // The fewest drops that fit: fitting is monotone in the number dropped.
    let (mut lo, mut hi) = (1, droppable.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fits(&keep_without(mid)) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let mut n = lo.min(droppable.len());
    while n < droppable.len() && messages[droppable[n]].role != ChatRole::User {
        n += 1;
    }
    (keep_without(n), n)
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
            .map_err(|e| match e {
                aihub_store::StoreError::NotFound => Error {
                    param: Some("provider_id".into()),
                    ..Error::new(ErrorCode::ProviderNotAccessible, "provider not found")
                },
                other => other.into(),
            })?;
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
            conversation,
            messages,
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
    ) -> Result<Page<ConversationRow>> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        Ok(store::list(&mut conn, user.id, filter, order, page).await?)
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
            .map_err(not_found)?;
        let messages = messages::list_for_conversation(&mut conn, id).await?;
        Ok(ConversationDetail {
            conversation,
            messages,
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
    ) -> Result<ConversationRow> {
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
                .map_err(not_found)?;
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
            .map_err(not_found)
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
                .map_err(not_found)?;
        }
        self.stop_and_wait(id).await;
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        if !store::delete_owned(&mut conn, id, user.id).await? {
            return Err(Error::not_found("conversation"));
        }
        Ok(())
    }

    async fn prepare(
        &self,
        user: &CurrentUser,
        conv: &ConversationRow,
        input: &SendInput,
        use_context: bool,
    ) -> Result<(Prepared, Vec<MessageRow>)> {
        let Some(provider_id) = conv.provider_id else {
            return Err(Error::validation(
                "provider_id",
                "the conversation has no provider; set provider_id first",
            ));
        };
        let provider = self.resolve_provider(user.id, provider_id).await?;
        // Order: request → conversation → the caller's default preference → provider config.
        let pref = self
            .default_preference(user.id, provider.provider.kind)
            .await?;
        let model = conv
            .model
            .clone()
            .or_else(|| pref.as_ref().map(|p| p.model.clone()))
            .or_else(|| provider.provider.config.default_model.clone())
            .ok_or_else(|| Error {
                param: Some("model".into()),
                ..Error::new(
                    ErrorCode::ModelRequired,
                    "no model set on the conversation or provider",
                )
            })?;
        let history = if use_context {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            messages::list_for_conversation(&mut conn, conv.id).await?
        } else {
            Vec::new()
        };
        let system_prompt = input
            .system_prompt
            .as_deref()
            .or(conv.system_prompt.as_deref())
            .or(pref.as_ref().and_then(|p| p.system_prompt.as_deref()));
        let max_tokens = input
            .max_tokens
            .or(conv.max_tokens)
            .or(pref.as_ref().and_then(|p| p.max_tokens))
            .or(provider.provider.config.max_tokens.map(i64::from))
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        let mut messages = build_messages(system_prompt, &history, &input.content, use_context);
        let mut dropped = 0;
        if let Some(window) = self.pricing().lookup(&model).and_then(|p| p.context_window) {
            let reserve = max_tokens.unwrap_or(DEFAULT_REPLY_RESERVE);
            (messages, dropped) = fit_context(window, reserve, messages, |m| {
                aihub_billing::count_messages(&model, m).tokens
            });
        }
        let request = ChatRequest {
            model,
            messages,
            max_tokens,
            temperature: input
                .temperature
                .or(conv.temperature)
                .or(pref.as_ref().and_then(|p| p.temperature))
                .or(provider.provider.config.temperature),
            ..ChatRequest::default()
        };
        Ok((
            Prepared {
                provider,
                request,
                dropped,
            },
            history,
        ))
    }

    fn check_send_input(input: &SendInput) -> Result<()> {
        validate::text("content", &input.content, 1, 1_000_000)?;
        validate::max_tokens("max_tokens", input.max_tokens)?;
        validate::temperature("temperature", input.temperature)?;
        if let Some(sp) = &input.system_prompt {
            validate::text("system_prompt", sp, 0, 100_000)?;
        }
        Ok(())
    }

    async fn store_user_message(&self, conversation_id: Id, content: &str) -> Result<MessageRow> {
        let content = content.to_owned();
        self.db()
            .transaction::<_, Error, _>(move |mut tx| {
                Box::pin(async move {
                    let now = time::now();
                    let m = insert_message(&mut tx, conversation_id, ChatRole::User, &content, now)
                        .await?;
                    store::refresh_counters(&mut tx, conversation_id, now).await?;
                    Ok(m)
                })
            })
            .await
    }

    /// Sends a message and waits for the whole reply (`POST …/send`). With `use_context` the
    /// stored history goes upstream too; without it only the system prompt and this message.
    ///
    /// # Errors
    /// `not_found`; `validation_error`; provider errors (`provider_inactive`,
    /// `provider_key_missing`, `upstream_*`, …). The user message is kept even when the
    /// upstream fails, and a `failed` usage record is written.
    pub async fn send_message(
        &self,
        user: &CurrentUser,
        id: Id,
        input: SendInput,
        use_context: bool,
        ctx: &RequestContext,
    ) -> Result<Exchange> {
        Self::check_send_input(&input)?;
        let conv = {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            store::find_owned(&mut conn, id, user.id)
                .await
                .map_err(not_found)?
        };
        let (prepared, _) = self.prepare(user, &conv, &input, use_context).await?;
        let user_message = self.store_user_message(id, &input.content).await?;
        let started = Instant::now();
        let provider = &prepared.provider.provider;
        let generation = |status, message_id, latency_ms| Generation {
            request_id: &ctx.request_id,
            user_id: user.id,
            api_key_id: ctx.api_key_id,
            provider_id: Some(provider.id),
            provider_kind: provider.kind.as_str(),
            conversation_id: Some(id),
            message_id,
            model: &prepared.request.model,
            status,
            latency_ms,
            ttft_ms: None,
        };
        let reply = match self
            .chat_with_retries(&prepared.provider, &prepared.request)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                let billed =
                    self.settle_usage(&prepared.request.model, Some(Default::default()), &[], "");
                self.record_usage(
                    generation(
                        UsageStatus::Failed,
                        None,
                        started.elapsed().as_millis() as i64,
                    ),
                    billed,
                )
                .await;
                return Err(e.into());
            }
        };
        let latency_ms = started.elapsed().as_millis() as i64;
        let billed = self.settle_usage(
            &prepared.request.model,
            reply.usage,
            &prepared.request.messages,
            &reply.content,
        );
        let finish = reply.finish_reason.unwrap_or(FinishReason::Stop);
        let assistant_message = self
            .store_reply(
                id,
                &prepared,
                &reply.content,
                MessageStatus::Complete,
                finish,
                billed,
                latency_ms,
                use_context,
            )
            .await?;
        self.record_usage(
            generation(UsageStatus::Success, Some(assistant_message.id), latency_ms),
            billed,
        )
        .await;
        Ok(Exchange {
            user_message,
            assistant_message,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn store_reply(
        &self,
        conversation_id: Id,
        prepared: &Prepared,
        content: &str,
        status: MessageStatus,
        finish: FinishReason,
        billed: Billed,
        latency_ms: i64,
        use_context: bool,
    ) -> Result<MessageRow> {
        let provider = &prepared.provider.provider;
        let metadata = reply_metadata(billed, use_context, prepared.dropped);
        let new = OwnedReply {
            conversation_id,
            content: content.to_owned(),
            status,
            finish,
            billed,
            latency_ms,
            model: prepared.request.model.clone(),
            provider_id: provider.id,
            provider_kind: provider.kind.as_str(),
            metadata,
        };
        self.db()
            .transaction::<_, Error, _>(move |mut tx| {
                Box::pin(async move {
                    let now = time::now();
                    let row = messages::insert(
                        &mut tx,
                        &NewMessage {
                            conversation_id: new.conversation_id,
                            role: ChatRole::Assistant.as_str(),
                            content: "",
                            status: MessageStatus::Streaming.as_str(),
                            model: Some(&new.model),
                            provider_id: Some(new.provider_id),
                            provider_kind: Some(new.provider_kind),
                            metadata: "{}",
                            created_at: now,
                        },
                    )
                    .await?;
                    let row = messages::finish(&mut tx, row.id, &new.outcome()).await?;
                    store::refresh_counters(&mut tx, new.conversation_id, now).await?;
                    Ok(row)
                })
            })
            .await
    }

    /// Starts a streamed reply (`POST …/stream`). Errors before the first byte (bad input,
    /// provider errors, upstream refusal) come back here, as a mapped error; after that,
    /// everything arrives as [`StreamEvent`]s. `timeout` caps the whole generation.
    ///
    /// # Errors
    /// `not_found`; `validation_error`; `conflict` when a reply is already streaming in this
    /// conversation; provider errors before the first byte.
    pub async fn stream_reply(
        &self,
        user: &CurrentUser,
        id: Id,
        input: SendInput,
        use_context: bool,
        timeout: Option<Duration>,
        ctx: RequestContext,
    ) -> Result<ReplyStream> {
        Self::check_send_input(&input)?;
        let started = Instant::now();
        let conv = {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            store::find_owned(&mut conn, id, user.id)
                .await
                .map_err(not_found)?
        };
        let cancel = self.inner.shutdown.child_token();
        let Some((slot, finish)) = self.inner.streams.reserve(id, cancel.clone()) else {
            return Err(Error::new(
                ErrorCode::Conflict,
                "a reply is already streaming in this conversation",
            ));
        };
        let (prepared, _) = self.prepare(user, &conv, &input, use_context).await?;
        let user_message = self.store_user_message(id, &input.content).await?;
        let provider = prepared.provider.provider.clone();
        let upstream = match self
            .stream_with_retries(&prepared.provider, &prepared.request)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                let billed =
                    self.settle_usage(&prepared.request.model, Some(Default::default()), &[], "");
                let g = Generation {
                    request_id: &ctx.request_id,
                    user_id: user.id,
                    api_key_id: ctx.api_key_id,
                    provider_id: Some(provider.id),
                    provider_kind: provider.kind.as_str(),
                    conversation_id: Some(id),
                    message_id: None,
                    model: &prepared.request.model,
                    status: UsageStatus::Failed,
                    latency_ms: started.elapsed().as_millis() as i64,
                    ttft_ms: None,
                };
                self.record_usage(g, billed).await;
                return Err(e.into());
            }
        };
        let now = time::now();
        let placeholder = {
            let model = prepared.request.model.clone();
            let kind = provider.kind.as_str();
            let pid = provider.id;
            self.db()
                .transaction::<_, Error, _>(move |mut tx| {
                    Box::pin(async move {
                        let m = messages::insert(
                            &mut tx,
                            &NewMessage {
                                conversation_id: id,
                                role: ChatRole::Assistant.as_str(),
                                content: "",
                                status: MessageStatus::Streaming.as_str(),
                                model: Some(&model),
                                provider_id: Some(pid),
                                provider_kind: Some(kind),
                                metadata: "{}",
                                created_at: now,
                            },
                        )
                        .await?;
                        store::refresh_counters(&mut tx, id, now).await?;
                        Ok(m)
                    })
                })
                .await?
        };
        slot.activate(placeholder.id);
        let (tx, rx) = mpsc::channel(64);
        // The start event is queued before the task runs, so it is always first.
        let _ = tx.try_send(StreamEvent::Start {
            conversation_id: id,
            user_message_id: user_message.id,
            assistant_message_id: placeholder.id,
            model: prepared.request.model.clone(),
            provider_id: provider.id,
        });
        let job = GenerationJob {
            app: self.clone(),
            user_id: user.id,
            conversation_id: id,
            message_id: placeholder.id,
            prepared,
            ctx,
            use_context,
            started,
            deadline: timeout,
            idle_timeout: provider
                .config
                .timeout_s
                .map(|s| Duration::from_secs(u64::from(s)))
                .unwrap_or(self.config().default_provider_timeout),
        };
        let fut = self
            .inner
            .tasks
            .track_future(job.run(upstream, tx, cancel, finish));
        self.inner.runtime.spawn(fut);
        Ok(ReplyStream { events: rx })
    }

    /// Creates a conversation and streams its first reply (`POST /conversations/stream`).
    /// `send.content` is the first user message; the title defaults to its start.
    /// `conversation.initial_message` is ignored. Returns the created conversation (before
    /// the reply, as `create_conversation` returns it) and the reply's events.
    ///
    /// # Errors
    /// As [`App::create_conversation`] and [`App::stream_reply`], plus `validation_error`
    /// naming `provider_id` when none is given. Any error leaves no conversation behind.
    pub async fn create_and_stream(
        &self,
        user: &CurrentUser,
        mut conversation: NewConversationInput,
        send: SendInput,
        use_context: bool,
        timeout: Option<Duration>,
        ctx: RequestContext,
    ) -> Result<(ConversationRow, ReplyStream)> {
        Self::check_send_input(&send)?;
        if conversation.provider_id.is_none() {
            return Err(Error::validation(
                "provider_id",
                "provider_id is required to stream a reply",
            ));
        }
        conversation.initial_message = None;
        if conversation
            .title
            .as_deref()
            .is_none_or(|t| t.trim().is_empty())
        {
            conversation.title = Some(default_title(Some(&send.content)));
        }
        let created = self.create_conversation(user, conversation).await?;
        let id = created.conversation.id;
        match self
            .stream_reply(user, id, send, use_context, timeout, ctx)
            .await
        {
            Ok(stream) => Ok((created.conversation, stream)),
            Err(e) => {
                if let Err(cleanup) = self.delete_conversation(user, id).await {
                    tracing::warn!(error = %cleanup, conversation_id = id, "could not remove the conversation of a failed stream");
                }
                Err(e)
            }
        }
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
                .map_err(not_found)?;
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
            .find(|m| m.id == message_id);
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

/// Tokens kept free for the reply when trimming to a context window and no `max_tokens` is set.
const DEFAULT_REPLY_RESERVE: u32 = 1024;

/// An assistant message's metadata: tokens, whether the price was known, whether history was
/// sent, and `context_truncated` (plus `dropped_messages` when true) when older turns were
/// left out to fit the model's context window.
fn reply_metadata(billed: Billed, use_context: bool, dropped: usize) -> String {
    let mut v = serde_json::json!({
        "tokens": {
            "prompt_tokens": billed.usage.prompt_tokens,
            "completion_tokens": billed.usage.completion_tokens,
            "total_tokens": billed.usage.total_tokens(),
            "estimated": billed.usage.estimated,
        },
        "price_known": billed.price_known,
        "with_context": use_context,
        "context_truncated": dropped > 0,
    });
    if dropped > 0 {
        v["dropped_messages"] = dropped.into();
    }
    v.to_string()
}

/// An assistant reply's final state, owned so it can move into a transaction.
struct OwnedReply {
    conversation_id: Id,
    content: String,
    status: MessageStatus,
    finish: FinishReason,
    billed: Billed,
    latency_ms: i64,
    model: String,
    provider_id: Id,
    provider_kind: &'static str,
    metadata: String,
}

impl OwnedReply {
    fn outcome(&self) -> MessageOutcome<'_> {
        MessageOutcome {
            content: &self.content,
            status: self.status.as_str(),
            prompt_tokens: Some(i64::from(self.billed.usage.prompt_tokens)),
            completion_tokens: Some(i64::from(self.billed.usage.completion_tokens)),
            cost_nanos: Some(self.billed.cost.nanos()),
            finish_reason: Some(self.finish.as_str()),
            response_time_ms: Some(self.latency_ms),
            metadata: &self.metadata,
        }
    }
}

/// How a streamed generation ended.
enum Ending {
    Complete(FinishReason),
    Stopped,
    Failed(Error),
}

/// One streamed generation, run on the app's runtime (not the HTTP worker), so it finishes
/// storing its reply and usage even when the client or the worker is gone.
struct GenerationJob {
    app: App,
    user_id: Id,
    conversation_id: Id,
    message_id: Id,
    prepared: Prepared,
    ctx: RequestContext,
    use_context: bool,
    started: Instant,
    deadline: Option<Duration>,
    idle_timeout: Duration,
}

impl GenerationJob {
    async fn run(
        self,
        mut upstream: ChatStream,
        tx: mpsc::Sender<StreamEvent>,
        cancel: CancellationToken,
        finish: StreamFinish,
    ) {
        let mut text = String::new();
        let mut usage = None;
        let mut finish_reason = None;
        let mut ttft_ms = None;
        let deadline = tokio::time::sleep(self.deadline.unwrap_or(Duration::from_secs(24 * 3600)));
        tokio::pin!(deadline);
        let ending = loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => break Ending::Stopped,
                _ = tx.closed() => break Ending::Stopped,
                _ = &mut deadline => break Ending::Failed(Error::new(ErrorCode::UpstreamTimeout, "generation exceeded its timeout")),
                next = tokio::time::timeout(self.idle_timeout, upstream.next()) => match next {
                    Err(_) => break Ending::Failed(Error::new(ErrorCode::UpstreamTimeout, "upstream stalled mid-stream")),
                    Ok(None) => match finish_reason {
                        Some(reason) => break Ending::Complete(reason),
                        None => break Ending::Failed(Error::new(ErrorCode::UpstreamUnavailable, "upstream ended the stream unexpectedly")),
                    },
                    Ok(Some(Err(e))) => break Ending::Failed(e.into()),
                    Ok(Some(Ok(chunk))) => {
                        if let Some(u) = chunk.usage {
                            usage = Some(u);
                        }
                        if let Some(r) = chunk.finish_reason {
                            finish_reason = Some(r);
                        }
                        if let Some(delta) = chunk.delta.filter(|d| !d.is_empty()) {
                            ttft_ms.get_or_insert_with(|| self.started.elapsed().as_millis() as i64);
                            text.push_str(&delta);
                            if tx.send(StreamEvent::Content { content: delta }).await.is_err() {
                                break Ending::Stopped;
                            }
                        }
                    }
                },
            }
        };
        // Closing the upstream connection stops the vendor generating (and billing) tokens.
        drop(upstream);
        self.finish(ending, text, usage, ttft_ms, &tx).await;
        self.app.inner.streams.remove(self.conversation_id);
        let _ = finish.finished.send(true);
    }

    async fn finish(
        &self,
        ending: Ending,
        text: String,
        usage: Option<aihub_domain::Usage>,
        ttft_ms: Option<i64>,
        tx: &mpsc::Sender<StreamEvent>,
    ) {
        let app = &self.app;
        let model = &self.prepared.request.model;
        let latency_ms = self.started.elapsed().as_millis() as i64;
        let billed = app.settle_usage(model, usage, &self.prepared.request.messages, &text);
        let (status, usage_status, finish) = match &ending {
            Ending::Complete(r) => (MessageStatus::Complete, UsageStatus::Success, *r),
            Ending::Stopped => (
                MessageStatus::Stopped,
                UsageStatus::Stopped,
                FinishReason::Stopped,
            ),
            Ending::Failed(_) => (
                MessageStatus::Failed,
                UsageStatus::Failed,
                FinishReason::Error,
            ),
        };
        let provider = &self.prepared.provider.provider;
        let reply = OwnedReply {
            conversation_id: self.conversation_id,
            content: text,
            status,
            finish,
            billed,
            latency_ms,
            model: model.clone(),
            provider_id: provider.id,
            provider_kind: provider.kind.as_str(),
            metadata: reply_metadata(billed, self.use_context, self.prepared.dropped),
        };
        let message_id = self.message_id;
        let stored = app
            .db()
            .transaction::<_, Error, _>(move |mut tx| {
                Box::pin(async move {
                    let row = messages::finish(&mut tx, message_id, &reply.outcome()).await?;
                    store::refresh_counters(&mut tx, reply.conversation_id, time::now()).await?;
                    Ok(row)
                })
            })
            .await;
        if let Err(e) = &stored {
            // The conversation may have been deleted meanwhile; usage is billed regardless.
            tracing::warn!(error = %e, message_id, "could not store the streamed reply");
        }
        let g = Generation {
            request_id: &self.ctx.request_id,
            user_id: self.user_id,
            api_key_id: self.ctx.api_key_id,
            provider_id: Some(provider.id),
            provider_kind: provider.kind.as_str(),
            conversation_id: Some(self.conversation_id),
            message_id: stored.as_ref().ok().map(|m| m.id),
            model,
            status: usage_status,
            latency_ms,
            ttft_ms,
        };
        app.record_usage(g, billed).await;
        let u = billed.usage;
        let _ = tx
            .send(StreamEvent::Usage {
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
                total_tokens: u.total_tokens(),
                cost: billed.cost,
                estimated: u.estimated,
            })
            .await;
        let last = match ending {
            Ending::Failed(e) => StreamEvent::Error {
                code: e.code,
                message: e.message,
                message_id: Some(message_id),
            },
            _ => StreamEvent::Done {
                message_id,
                finish_reason: finish,
                status,
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
                total_tokens: u.total_tokens(),
                cost: billed.cost,
                response_time_ms: latency_ms as u64,
            },
        };
        let _ = tx.send(last).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: Id, role: &str, content: &str, status: &str) -> MessageRow {
        MessageRow {
            id,
            conversation_id: 1,
            role: role.into(),
            content: content.into(),
            status: status.into(),
            model: None,
            provider_id: None,
            provider_kind: None,
            prompt_tokens: None,
            completion_tokens: None,
            cost_nanos: None,
            finish_reason: None,
            response_time_ms: None,
            metadata: "{}".into(),
            created_at: time::now(),
        }
    }

    #[test]
    fn context_keeps_usable_turns_and_the_system_prompt() {
        let history = vec![
            row(1, "user", "hi", "complete"),
            row(2, "assistant", "hello", "complete"),
            row(3, "user", "again", "complete"),
            row(4, "assistant", "", "failed"),
            row(5, "assistant", "partial", "stopped"),
        ];
        let with = build_messages(Some("be brief"), &history, "next", true);
        let roles: Vec<_> = with
            .iter()
            .map(|m| (m.role, m.text().into_owned()))
            .collect();
        assert_eq!(
            roles,
            vec![
                (ChatRole::System, "be brief".to_owned()),
                (ChatRole::User, "hi".to_owned()),
                (ChatRole::Assistant, "hello".to_owned()),
                (ChatRole::User, "again".to_owned()),
                (ChatRole::Assistant, "partial".to_owned()),
                (ChatRole::User, "next".to_owned()),
            ]
        );
        let without = build_messages(Some("be brief"), &history, "next", false);
        assert_eq!(without.len(), 2);
        assert_eq!(build_messages(None, &history, "x", false).len(), 1);
    }

    /// Each message costs its text length; no framing.
    fn chars(m: &[ChatMessage]) -> u32 {
        m.iter().map(|m| m.text().len() as u32).sum()
    }

    fn texts(m: &[ChatMessage]) -> Vec<String> {
        m.iter().map(|m| m.text().into_owned()).collect()
    }

    fn chat(roles_texts: &[(ChatRole, &str)]) -> Vec<ChatMessage> {
        roles_texts
            .iter()
            .map(|(r, t)| ChatMessage::new(*r, *t))
            .collect()
    }

    use ChatRole::{Assistant as A, System as S, User as U};

    #[test]
    fn fit_context_leaves_a_fitting_prompt_alone() {
        let msgs = chat(&[(S, "sys"), (U, "aa"), (A, "bb"), (U, "cc")]);
        // 9 chars + 11 reserve = 20 = window: fits exactly.
        let (kept, dropped) = fit_context(20, 11, msgs.clone(), chars);
        assert_eq!(dropped, 0);
        assert_eq!(kept, msgs);
    }

    #[test]
    fn fit_context_drops_the_oldest_turns_first() {
        let msgs = chat(&[
            (S, "sys"),
            (U, "u1"),
            (A, "a1"),
            (U, "u2"),
            (A, "a2"),
            (U, "u3"),
        ]);
        // Total 13; window 10 with no reserve needs 2 dropped (u1, a1) → 9.
        let (kept, dropped) = fit_context(10, 0, msgs.clone(), chars);
        assert_eq!(dropped, 2);
        assert_eq!(texts(&kept), ["sys", "u2", "a2", "u3"]);
        // The reserve counts against the window the same way.
        let (kept, dropped) = fit_context(13, 3, msgs, chars);
        assert_eq!(dropped, 2);
        assert_eq!(texts(&kept), ["sys", "u2", "a2", "u3"]);
    }

    #[test]
    fn fit_context_never_starts_history_with_an_orphaned_reply() {
        let msgs = chat(&[
            (S, "s"),
            (U, "u1"),
            (A, "a1"),
            (U, "u2"),
            (A, "a2"),
            (U, "u3"),
        ]);
        // Total 11; window 10 would fit by dropping u1 alone, but a1 would then lead.
        let (kept, dropped) = fit_context(10, 0, msgs, chars);
        assert_eq!(dropped, 2);
        assert_eq!(texts(&kept), ["s", "u2", "a2", "u3"]);
    }

    #[test]
    fn fit_context_always_keeps_system_messages_and_the_newest_user_message() {
        let msgs = chat(&[
            (S, "system one"),
            (U, "old question"),
            (A, "old answer"),
            (S, "system two"),
            (U, "the newest question"),
        ]);
        // Nothing fits: everything else goes, the kept order is unchanged.
        let (kept, dropped) = fit_context(5, 1_000, msgs, chars);
        assert_eq!(dropped, 2);
        assert_eq!(
            texts(&kept),
            ["system one", "system two", "the newest question"]
        );
        // Only what must stay: nothing to drop.
        let only = chat(&[(S, "s"), (U, "u")]);
        let (kept, dropped) = fit_context(1, 1, only.clone(), chars);
        assert_eq!((kept, dropped), (only, 0));
    }

    #[test]
    fn fit_context_keeps_the_latest_user_message_even_when_it_is_not_last() {
        // A trailing assistant message (e.g. a prefill) is droppable; the newest user one is not.
        let msgs = chat(&[(U, "u1"), (A, "a1"), (U, "u2"), (A, "prefill")]);
        let (kept, dropped) = fit_context(2, 0, msgs, chars);
        assert_eq!(dropped, 3);
        assert_eq!(texts(&kept), ["u2"]);
    }

    #[test]
    fn fit_context_with_the_real_counter_drops_until_it_fits() {
        let model = "gpt-4o-mini";
        let mut msgs = vec![ChatMessage::new(S, "You are terse.")];
        for i in 0..40 {
            msgs.push(ChatMessage::new(
                U,
                format!("question number {i} about the weather"),
            ));
            msgs.push(ChatMessage::new(
                A,
                format!("answer number {i}: it is sunny"),
            ));
        }
        msgs.push(ChatMessage::new(U, "and tomorrow?"));
        let count = |m: &[ChatMessage]| aihub_billing::count_messages(model, m).tokens;
        let full = count(&msgs);
        let window = full / 2;
        let (kept, dropped) = fit_context(window, 100, msgs.clone(), count);
        assert!(dropped > 0 && dropped % 2 == 0, "dropped {dropped}");
        assert!(count(&kept) + 100 <= window);
        assert_eq!(kept.len() + dropped, msgs.len());
        assert_eq!(kept[0], msgs[0]);
        assert_eq!(kept[1].role, U);
        assert_eq!(kept.last(), msgs.last());
        // The fewest drops: putting back the last pair dropped would overflow.
        let mut more = vec![msgs[0].clone()];
        more.extend_from_slice(&msgs[dropped - 1..]);
        assert!(count(&more) + 100 > window);
    }

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
