//! Conversation replies, whole (`send`) or streamed (`stream`, create-and-stream), through the
//! generation engine.
//!
//! Before the upstream is called a reply makes two database checkouts: one reads the
//! conversation, its provider, the caller's default preference and (with `use_context`) the
//! history; one transaction stores the user message and the assistant placeholder (status
//! `streaming`). [`ConversationReply`] is the engine's [`ReplyStore`]: at the end it writes
//! the outcome onto the placeholder (text so far, status, tokens, cost), or, when nothing was
//! generated because every attempt failed before the first byte, removes the placeholder. The
//! user message is kept either way.

use super::context::{DEFAULT_REPLY_RESERVE, build_messages, fit_context};
use super::default_title;
use super::{Conversation, Exchange, NewConversationInput, RequestContext, SendInput};
use crate::auth::CurrentUser;
use crate::error::OrNotFound;
use crate::generation::settings::{self, Layer};
use crate::generation::{
    Billed, Caller, ConversationIds, FinalReply, GenerationStream, Plan, ReplyStore,
};
use crate::model_preferences::ModelPreference;
use crate::routing::dispatch::Targets;
use crate::streams::StreamFinish;
use crate::{App, Error, Result, validate};
use aihub_domain::{ChatRequest, ChatRole, ErrorCode, Id, MessageStatus, time};
use aihub_store::conversations as store;
use aihub_store::messages::{self, MessageOutcome, MessageRow, NewMessage};
use futures_util::future::BoxFuture;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl From<&ModelPreference> for Layer {
    fn from(p: &ModelPreference) -> Layer {
        Layer {
            model: Some(p.model.clone()),
            max_tokens: p.max_tokens,
            temperature: p.temperature,
            system_prompt: p.system_prompt.clone(),
        }
    }
}

/// A reply ready to run: its plan and the stored user message.
struct Prepared {
    plan: Plan,
    user_message: MessageRow,
    /// The stored reply, filled by [`ConversationReply::finish`].
    stored: Arc<Mutex<Option<MessageRow>>>,
}

/// The engine's store for a conversation reply.
struct ConversationReply {
    app: App,
    ids: ConversationIds,
    use_context: bool,
    /// Older messages left out so the prompt fits the model's context window.
    dropped: usize,
    /// Streams hold the conversation's stream slot: its stop token and finished signal.
    slot: Option<(CancellationToken, StreamFinish)>,
    stored: Arc<Mutex<Option<MessageRow>>>,
}

impl ConversationReply {
    fn release_slot(&mut self) {
        if let Some((_, finish)) = self.slot.take() {
            self.app.inner.streams.remove(self.ids.conversation_id);
            let _ = finish.finished.send(true);
        }
    }
}

impl ReplyStore for ConversationReply {
    fn conversation(&self) -> Option<ConversationIds> {
        Some(self.ids)
    }

    fn cancel_token(&self) -> Option<CancellationToken> {
        self.slot.as_ref().map(|(token, _)| token.clone())
    }

    fn finish(mut self: Box<Self>, reply: FinalReply) -> BoxFuture<'static, Option<Id>> {
        Box::pin(async move {
            let metadata = reply_metadata(reply.billed, self.use_context, self.dropped);
            let content = reply.text;
            let status = reply.outcome.message_status();
            let finish = reply.finish_reason;
            let billed = reply.billed;
            let latency_ms = reply.latency_ms;
            let (message_id, conversation_id) =
                (self.ids.assistant_message_id, self.ids.conversation_id);
            let stored = self
                .app
                .db()
                .transaction::<_, Error, _>(move |mut tx| {
                    Box::pin(async move {
                        let outcome = MessageOutcome {
                            content: &content,
                            status: status.as_str(),
                            prompt_tokens: Some(i64::from(billed.usage.prompt_tokens)),
                            completion_tokens: Some(i64::from(billed.usage.completion_tokens)),
                            cost_nanos: Some(billed.cost.nanos()),
                            finish_reason: Some(finish.as_str()),
                            response_time_ms: Some(latency_ms),
                            metadata: &metadata,
                        };
                        let row = messages::finish(&mut tx, message_id, &outcome).await?;
                        store::refresh_counters(&mut tx, conversation_id, time::now()).await?;
                        Ok(row)
                    })
                })
                .await;
            self.release_slot();
            match stored {
                Ok(row) => {
                    let id = row.id;
                    *self.stored.lock().unwrap_or_else(|e| e.into_inner()) = Some(row);
                    Some(id)
                }
                Err(e) => {
                    // The conversation may have been deleted meanwhile; usage is billed anyway.
                    tracing::warn!(error = %e, message_id, "could not store the reply");
                    None
                }
            }
        })
    }

    fn abandon(mut self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let ids = self.ids;
            let removed = self
                .app
                .db()
                .transaction::<_, Error, _>(move |mut tx| {
                    Box::pin(async move {
                        messages::delete(&mut tx, ids.assistant_message_id, ids.conversation_id)
                            .await?;
                        store::refresh_counters(&mut tx, ids.conversation_id, time::now()).await?;
                        Ok(())
                    })
                })
                .await;
            if let Err(e) = removed {
                tracing::warn!(error = %e, message_id = ids.assistant_message_id, "could not remove an unused reply placeholder");
            }
            self.release_slot();
        })
    }
}

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

fn check_send_input(input: &SendInput) -> Result<()> {
    validate::text("content", &input.content, 1, 1_000_000)?;
    validate::max_tokens("max_tokens", input.max_tokens)?;
    validate::temperature("temperature", input.temperature)?;
    if let Some(sp) = &input.system_prompt {
        validate::text("system_prompt", sp, 0, 100_000)?;
    }
    Ok(())
}

impl App {
    /// Everything a reply needs before the upstream call, in two checkouts (see the module
    /// docs). `stream` reserves the conversation's stream slot (`conflict` while another reply
    /// streams there).
    async fn prepare_reply(
        &self,
        user: &CurrentUser,
        id: Id,
        input: SendInput,
        use_context: bool,
        stream: Option<Option<Duration>>,
        ctx: RequestContext,
    ) -> Result<Prepared> {
        check_send_input(&input)?;
        // Checkout 1: the conversation (owner-scoped), its provider, the default preference
        // for the provider's kind, and the history.
        let (conv, provider_row, preference, history) = {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            let conv = store::find_owned(&mut conn, id, user.id)
                .await
                .or_not_found("conversation")?;
            let Some(provider_id) = conv.provider_id else {
                return Err(Error::validation(
                    "provider_id",
                    "the conversation has no provider; set provider_id first",
                ));
            };
            let row = aihub_store::providers::find_accessible(&mut conn, provider_id, user.id)
                .await
                .or_provider_not_accessible()?;
            let preference =
                aihub_store::model_preferences::find_default(&mut conn, user.id, &row.kind)
                    .await?
                    .map(ModelPreference::from_row)
                    .transpose()?;
            let history = if use_context {
                messages::list_for_conversation(&mut conn, id).await?
            } else {
                Vec::new()
            };
            (conv, row, preference, history)
        };
        let slot = match stream {
            Some(_) => {
                let cancel = self.inner.shutdown.child_token();
                match self.inner.streams.reserve(id, cancel.clone()) {
                    Some((slot, finish)) => Some((slot, cancel, finish)),
                    None => {
                        return Err(Error::new(
                            ErrorCode::Conflict,
                            "a reply is already streaming in this conversation",
                        ));
                    }
                }
            }
            None => None,
        };
        let rp = self.client_for_row(&provider_row)?;
        let requested = Layer {
            model: None,
            max_tokens: input.max_tokens,
            temperature: input.temperature,
            system_prompt: input.system_prompt.clone(),
        };
        let from_conversation = Layer {
            model: conv.model.clone(),
            max_tokens: conv.max_tokens,
            temperature: conv.temperature,
            system_prompt: conv.system_prompt.clone(),
        };
        let from_preference = preference.as_ref().map(Layer::from).unwrap_or_default();
        let settings = settings::resolve(
            &[&requested, &from_conversation, &from_preference],
            &rp.provider,
        )?
        .with_provider_config(&rp.provider);
        let mut upstream = build_messages(
            settings.system_prompt.as_deref(),
            &history,
            &input.content,
            use_context,
        );
        let mut dropped = 0;
        let window = self
            .price_catalog()
            .lookup(&settings.model)
            .and_then(|p| p.context_window);
        if let Some(window) = window {
            let reserve = settings.max_tokens.unwrap_or(DEFAULT_REPLY_RESERVE);
            let model = settings.model.clone();
            (upstream, dropped) = fit_context(window, reserve, upstream, |m| {
                aihub_billing::count_messages(&model, m).tokens
            });
        }
        // Checkout 2: the user message and the reply placeholder, in one transaction.
        let (user_message, placeholder) = {
            let content = input.content;
            let model = settings.model.clone();
            let kind = rp.provider.kind.as_str();
            let pid = rp.provider.id;
            self.db()
                .transaction::<_, Error, _>(move |mut tx| {
                    Box::pin(async move {
                        let now = time::now();
                        let user_message =
                            super::insert_message(&mut tx, id, ChatRole::User, &content, now)
                                .await?;
                        let placeholder = messages::insert(
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
                        Ok((user_message, placeholder))
                    })
                })
                .await?
        };
        let slot = slot.map(|(slot, cancel, finish)| {
            slot.activate(placeholder.id);
            (cancel, finish)
        });
        let stored = Arc::new(Mutex::new(None));
        let reply = ConversationReply {
            app: self.clone(),
            ids: ConversationIds {
                conversation_id: id,
                user_message_id: user_message.id,
                assistant_message_id: placeholder.id,
            },
            use_context,
            dropped,
            slot,
            stored: stored.clone(),
        };
        let request = ChatRequest {
            model: settings.model,
            messages: upstream,
            max_tokens: settings.max_tokens,
            temperature: settings.temperature,
            ..ChatRequest::default()
        };
        Ok(Prepared {
            plan: Plan {
                caller: Caller {
                    user_id: user.id,
                    api_key_id: ctx.api_key_id,
                },
                request_id: ctx.request_id,
                request,
                targets: Targets::Fixed(Box::new(rp)),
                deadline: stream.flatten(),
                store: Some(Box::new(reply)),
            },
            user_message,
            stored,
        })
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
        Ok(self
            .send_reply(user, id, input, use_context, ctx.clone())
            .await?
            .0)
    }

    /// [`App::send_message`], also returning the engine's reply (who served it, what it cost).
    pub(crate) async fn send_reply(
        &self,
        user: &CurrentUser,
        id: Id,
        input: SendInput,
        use_context: bool,
        ctx: RequestContext,
    ) -> Result<(Exchange, crate::generation::Reply)> {
        let prepared = self
            .prepare_reply(user, id, input, use_context, None, ctx)
            .await?;
        let reply = self.generate(prepared.plan).await?;
        let assistant_message = prepared
            .stored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| Error::not_found("conversation"))?;
        Ok((
            Exchange {
                user_message: prepared.user_message.into(),
                assistant_message: assistant_message.into(),
            },
            reply,
        ))
    }

    /// Starts a streamed reply (`POST …/stream`). Errors before the first byte (bad input,
    /// provider errors, upstream refusal) come back here, as a mapped error; after that,
    /// everything arrives as events of the returned stream. `timeout` caps the whole
    /// generation. Dropping the stream (the client went away) stops the generation; the
    /// partial reply is stored as `stopped` and billed.
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
    ) -> Result<GenerationStream> {
        let prepared = self
            .prepare_reply(user, id, input, use_context, Some(timeout), ctx)
            .await?;
        self.generate_stream(prepared.plan).await
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
    ) -> Result<(Conversation, GenerationStream)> {
        check_send_input(&send)?;
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
}
