//! Direct stateless chat (`POST /api/v1/chat`, seed 002's `/chat`): one message or a list of
//! turns, optional base64 images on the last user turn and an optional system prompt, answered
//! whole or streamed as typed events (`session`, `content`, `usage`, `done`, `error`).
//!
//! Nothing is stored but usage: exactly one record per call — `success`, `failed` (zero tokens
//! when nothing was generated), or `stopped` when a streaming client went away or the server
//! shut down. Attaching to a conversation (`session_id` / `conversation_id`) is not supported
//! yet.

use crate::auth::CurrentUser;
use crate::completions::{
    CompletionProvider, DirectRequest, DirectSettings, MAX_PROMPT_CHARS, MAX_SYSTEM_PROMPT_CHARS,
};
use crate::conversations::{RequestContext, SendInput};
use crate::providers::ResolvedProvider;
use crate::streams::StreamEvent;
use crate::usage::{Billed, Generation};
use crate::{App, Error, Result, validate};
use aihub_domain::{
    ChatMessage, ChatRequest, ChatRole, ContentPart, ErrorCode, FinishReason, Id, ImagePart,
    MessageContent, Money, Usage, UsageStatus, time,
};
use aihub_providers::ChatStream;
use base64::Engine as _;
use chrono::NaiveDateTime;
use futures_util::StreamExt;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Most images in one request.
pub const MAX_IMAGES: usize = 10;
/// Most turns in `messages`.
pub const MAX_MESSAGES: usize = 1_000;
/// Largest decoded image, in bytes (20 MiB).
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;
/// Accepted image media types.
pub const IMAGE_MEDIA_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/webp", "image/gif"];

/// One turn of a direct chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTurn {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text (1–1,000,000 characters).
    pub content: String,
}

/// An inline image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatImage {
    /// Standard base64 (RFC 4648) of the image bytes, at most 20 MiB decoded.
    pub data: String,
    /// `image/png`, `image/jpeg`, `image/webp` or `image/gif`.
    pub media_type: String,
}

/// A direct chat request. Exactly one of `message` and `messages` is required.
#[derive(Debug, Clone, Default)]
pub struct DirectChatInput {
    /// A single user message.
    pub message: Option<String>,
    /// The whole dialogue (at most 1,000 turns; at least one `user` turn).
    pub messages: Option<Vec<ChatTurn>>,
    /// `"<provider slug or kind>/<model>"`; see [`App::complete`] for resolution.
    pub model: Option<String>,
    /// The provider to use; wins over a model prefix.
    pub provider_id: Option<Id>,
    /// Cap on completion tokens, 1–1,000,000.
    pub max_tokens: Option<i64>,
    /// Sampling temperature, 0–2.
    pub temperature: Option<f64>,
    /// Up to 10 images, attached to the last user turn.
    pub images: Vec<ChatImage>,
    /// Prepended as a system message (at most 100,000 characters); default: the caller's
    /// default preference for the provider kind.
    pub system_prompt: Option<String>,
}

/// A finished direct chat.
#[derive(Debug, Clone)]
pub struct DirectChat {
    /// Response id (`chat-…`).
    pub id: String,
    /// The reply text.
    pub text: String,
    /// The vendor's model id.
    pub model: String,
    /// Who answered.
    pub provider: CompletionProvider,
    /// Token counts (the vendor's, or local and `estimated`).
    pub usage: Usage,
    /// Cost of this call in the deployment currency.
    pub cost: Money,
    /// Deployment currency code (`USD`).
    pub currency: String,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// Wall time of the call, in milliseconds.
    pub response_time_ms: i64,
    /// When the reply was produced (UTC).
    pub created_at: NaiveDateTime,
    /// The conversation the exchange was stored in, when attached to one.
    pub conversation_id: Option<Id>,
}

/// A message sent into an existing conversation through `/chat`.
#[derive(Debug, Clone)]
pub struct AttachedChatInput {
    /// The caller's conversation.
    pub conversation_id: Id,
    /// The user message (1–1,000,000 characters).
    pub message: String,
    /// Cap on completion tokens for this reply, 1–1,000,000.
    pub max_tokens: Option<i64>,
    /// Sampling temperature for this reply, 0–2.
    pub temperature: Option<f64>,
}

/// One event of a streamed direct chat, in order: `Session`, `Content`…, `Usage`, then
/// `Done` or `Error`.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// First: the response id, model and provider.
    Session {
        /// Response id (`chat-…`).
        id: String,
        /// Model answering.
        model: String,
        /// Provider answering.
        provider: CompletionProvider,
        /// The conversation written to, when attached to one.
        conversation_id: Option<Id>,
    },
    /// A piece of reply text.
    Content {
        /// The delta.
        content: String,
    },
    /// Token counts and cost (once, before `Done` or `Error`).
    Usage {
        /// Token counts.
        usage: Usage,
        /// Cost in the deployment currency.
        cost: Money,
        /// Currency code.
        currency: String,
    },
    /// The reply ended.
    Done {
        /// Why it ended.
        finish_reason: FinishReason,
        /// Time from request to the end, in milliseconds.
        response_time_ms: i64,
    },
    /// The upstream failed after the stream began. Always last.
    Error {
        /// Mapped code.
        code: ErrorCode,
        /// Safe message.
        message: String,
    },
}

/// A started streamed chat: its events, ending when the stream ends. Dropping the receiver
/// stops the generation (recorded as `stopped`).
#[derive(Debug)]
pub struct DirectChatStream {
    /// The events.
    pub events: mpsc::Receiver<ChatEvent>,
}

fn new_id() -> String {
    format!("chat-{}", crate::crypto::random_token(12))
}

fn check_text(field: &str, text: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::validation(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if text.chars().count() > max {
        return Err(Error::validation(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Validates the input and builds the conversation turns (without the system prompt).
fn build_turns(input: &DirectChatInput) -> Result<Vec<ChatMessage>> {
    let mut turns = match (&input.message, &input.messages) {
        (Some(_), Some(_)) => {
            return Err(Error::validation(
                "messages",
                "give either message or messages, not both",
            ));
        }
        (None, None) => {
            return Err(Error::validation(
                "message",
                "message or messages is required",
            ));
        }
        (Some(m), None) => {
            check_text("message", m, MAX_PROMPT_CHARS)?;
            vec![ChatMessage::new(ChatRole::User, m.clone())]
        }
        (None, Some(list)) => {
            if list.is_empty() {
                return Err(Error::validation("messages", "messages must not be empty"));
            }
            if list.len() > MAX_MESSAGES {
                return Err(Error::validation(
                    "messages",
                    format!("at most {MAX_MESSAGES} messages"),
                ));
            }
            let mut out = Vec::with_capacity(list.len());
            for (i, t) in list.iter().enumerate() {
                let role = match ChatRole::parse(&t.role) {
                    Some(r @ (ChatRole::System | ChatRole::User | ChatRole::Assistant)) => r,
                    _ => {
                        return Err(Error::validation(
                            format!("messages[{i}].role"),
                            "role must be system, user or assistant",
                        ));
                    }
                };
                check_text(
                    &format!("messages[{i}].content"),
                    &t.content,
                    MAX_PROMPT_CHARS,
                )?;
                out.push(ChatMessage::new(role, t.content.clone()));
            }
            if !out.iter().any(|m| m.role == ChatRole::User) {
                return Err(Error::validation(
                    "messages",
                    "messages must contain a user message",
                ));
            }
            out
        }
    };
    if input.images.len() > MAX_IMAGES {
        return Err(Error::validation(
            "images",
            format!("at most {MAX_IMAGES} images"),
        ));
    }
    let mut parts = Vec::with_capacity(input.images.len());
    for (i, img) in input.images.iter().enumerate() {
        if !IMAGE_MEDIA_TYPES.contains(&img.media_type.as_str()) {
            return Err(Error::validation(
                format!("images[{i}].media_type"),
                format!("media_type must be one of {}", IMAGE_MEDIA_TYPES.join(", ")),
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(img.data.trim())
            .map_err(|_| Error::validation(format!("images[{i}].data"), "data is not base64"))?;
        if bytes.is_empty() || bytes.len() > MAX_IMAGE_BYTES {
            return Err(Error::validation(
                format!("images[{i}].data"),
                format!("an image must be 1–{MAX_IMAGE_BYTES} bytes"),
            ));
        }
        parts.push(ContentPart::Image(ImagePart::from_base64(
            &img.media_type,
            img.data.trim(),
        )));
    }
    if !parts.is_empty()
        && let Some(last) = turns.iter_mut().rev().find(|m| m.role == ChatRole::User)
    {
        let text = last.text().into_owned();
        let mut all = vec![ContentPart::Text(text)];
        all.extend(parts);
        last.content = MessageContent::Parts(all);
    }
    Ok(turns)
}

fn check_input(input: &DirectChatInput) -> Result<()> {
    if let Some(sp) = &input.system_prompt
        && sp.chars().count() > MAX_SYSTEM_PROMPT_CHARS
    {
        return Err(Error::validation(
            "context.system_prompt",
            format!("system_prompt must be at most {MAX_SYSTEM_PROMPT_CHARS} characters"),
        ));
    }
    validate::max_tokens("max_tokens", input.max_tokens)?;
    validate::temperature("temperature", input.temperature)?;
    if let Some(m) = &input.model
        && m.trim().is_empty()
    {
        return Err(Error::validation("model", "model must not be empty"));
    }
    Ok(())
}

/// A resolved, validated call.
struct Prepared {
    user_id: Id,
    rp: ResolvedProvider,
    request: ChatRequest,
    provider: CompletionProvider,
}

/// How a stream ended.
enum Ending {
    Complete(FinishReason),
    Stopped,
    Failed(Error),
}

impl App {
    async fn prepare_chat(&self, user_id: Id, input: DirectChatInput) -> Result<Prepared> {
        check_input(&input)?;
        let turns = build_turns(&input)?;
        let DirectSettings {
            rp,
            model,
            max_tokens,
            temperature,
            system_prompt,
        } = self
            .resolve_direct(
                user_id,
                DirectRequest {
                    provider_id: input.provider_id,
                    model: input.model.as_deref(),
                    max_tokens: input.max_tokens,
                    temperature: input.temperature,
                    system_prompt: input.system_prompt,
                },
            )
            .await?;
        let mut messages = Vec::with_capacity(turns.len() + 1);
        if let Some(sp) = system_prompt {
            messages.push(ChatMessage::new(ChatRole::System, sp));
        }
        messages.extend(turns);
        let provider = CompletionProvider {
            id: rp.provider.id,
            slug: rp.provider.slug.clone(),
            kind: rp.provider.kind,
        };
        Ok(Prepared {
            user_id,
            rp,
            request: ChatRequest {
                model,
                messages,
                max_tokens,
                temperature,
                ..ChatRequest::default()
            },
            provider,
        })
    }

    async fn record_chat(
        &self,
        ctx: &RequestContext,
        p: &Prepared,
        status: UsageStatus,
        latency_ms: i64,
        ttft_ms: Option<i64>,
        billed: Billed,
    ) {
        let g = Generation {
            request_id: &ctx.request_id,
            user_id: p.user_id,
            api_key_id: ctx.api_key_id,
            provider_id: Some(p.provider.id),
            provider_kind: p.provider.kind.as_str(),
            conversation_id: None,
            message_id: None,
            model: &p.request.model,
            status,
            latency_ms,
            ttft_ms,
        };
        self.record_usage(g, billed).await;
    }

    /// Answers a stateless chat for `user_id` in one piece.
    ///
    /// Resolution and defaults are those of [`App::complete`]; `system_prompt` is prepended
    /// as a system message; images go to the last user message as base64 `data:` URLs.
    /// Usage: exactly one record under `ctx.request_id` (`success`, or `failed` with zero
    /// tokens).
    ///
    /// # Errors
    /// `validation_error` naming the field; `model_required`; `model_not_found`;
    /// `provider_not_accessible` (404); `provider_inactive`, `provider_key_missing`; the
    /// upstream's mapped error.
    pub async fn direct_chat(
        &self,
        user_id: Id,
        input: DirectChatInput,
        ctx: &RequestContext,
    ) -> Result<DirectChat> {
        let started = Instant::now();
        let p = self.prepare_chat(user_id, input).await?;
        let reply = match self.chat_with_retries(&p.rp, &p.request).await {
            Ok(r) => r,
            Err(e) => {
                let billed = self.settle_usage(&p.request.model, Some(Usage::default()), &[], "");
                let latency_ms = started.elapsed().as_millis() as i64;
                self.record_chat(ctx, &p, UsageStatus::Failed, latency_ms, None, billed)
                    .await;
                return Err(e.into());
            }
        };
        let latency_ms = started.elapsed().as_millis() as i64;
        let billed = self.settle_usage(
            &p.request.model,
            reply.usage,
            &p.request.messages,
            &reply.content,
        );
        self.record_chat(
            ctx,
            &p,
            UsageStatus::Success,
            latency_ms,
            Some(latency_ms),
            billed,
        )
        .await;
        let model = if reply.model.is_empty() {
            p.request.model.clone()
        } else {
            reply.model
        };
        Ok(DirectChat {
            id: new_id(),
            text: reply.content,
            model,
            provider: p.provider,
            usage: billed.usage,
            cost: billed.cost,
            currency: self.pricing().currency.clone(),
            finish_reason: reply.finish_reason.unwrap_or(FinishReason::Stop),
            response_time_ms: latency_ms,
            created_at: time::now(),
            conversation_id: None,
        })
    }

    /// Starts a streamed stateless chat for `user_id`. Resolves once the upstream sent its
    /// first chunk (retries happen before that; a failure then is returned and recorded as
    /// `failed`). The generation then runs on the app runtime, feeding
    /// [`DirectChatStream::events`]; it records exactly one usage record when it ends —
    /// `success`, `failed` (upstream error mid-stream, then an `Error` event), or `stopped`
    /// (receiver dropped, or server shutdown) — and closes the upstream connection.
    ///
    /// # Errors
    /// As [`App::direct_chat`], for failures before the first chunk.
    pub async fn direct_chat_stream(
        &self,
        user_id: Id,
        input: DirectChatInput,
        ctx: RequestContext,
    ) -> Result<DirectChatStream> {
        let started = Instant::now();
        let p = self.prepare_chat(user_id, input).await?;
        let upstream = match self.stream_with_retries(&p.rp, &p.request).await {
            Ok(s) => s,
            Err(e) => {
                let billed = self.settle_usage(&p.request.model, Some(Usage::default()), &[], "");
                let latency_ms = started.elapsed().as_millis() as i64;
                self.record_chat(&ctx, &p, UsageStatus::Failed, latency_ms, None, billed)
                    .await;
                return Err(e.into());
            }
        };
        let (tx, rx) = mpsc::channel(64);
        // Queued before the task runs, so it is always first.
        let _ = tx.try_send(ChatEvent::Session {
            id: new_id(),
            model: p.request.model.clone(),
            provider: p.provider.clone(),
            conversation_id: None,
        });
        let idle =
            p.rp.provider
                .config
                .timeout_s
                .map(|s| Duration::from_secs(u64::from(s)))
                .unwrap_or(self.config().default_provider_timeout);
        let job = self
            .clone()
            .run_chat_stream(ctx, p, upstream, tx, started, idle);
        let fut = self.inner.tasks.track_future(job);
        self.inner.runtime.spawn(fut);
        Ok(DirectChatStream { events: rx })
    }

    async fn provider_of(
        &self,
        user_id: Id,
        provider_id: Option<Id>,
    ) -> Result<CompletionProvider> {
        let pid = provider_id.ok_or_else(|| Error::not_found("conversation"))?;
        let rp = self.resolve_provider(user_id, pid).await?;
        Ok(CompletionProvider {
            id: rp.provider.id,
            slug: rp.provider.slug.clone(),
            kind: rp.provider.kind,
        })
    }

    /// Answers `/chat` attached to one of `user`'s conversations, in one piece: this is
    /// [`App::send_message`] with the stored history as context; both messages are stored in
    /// the conversation and usage is recorded once.
    ///
    /// # Errors
    /// `not_found` (404) for a missing or foreign conversation (nothing stored);
    /// `validation_error`; provider and upstream errors as [`App::send_message`].
    pub async fn attached_chat(
        &self,
        user: &CurrentUser,
        input: AttachedChatInput,
        ctx: &RequestContext,
    ) -> Result<DirectChat> {
        let started = Instant::now();
        let send = SendInput {
            content: input.message,
            system_prompt: None,
            max_tokens: input.max_tokens,
            temperature: input.temperature,
        };
        let ex = self
            .send_message(user, input.conversation_id, send, true, ctx)
            .await?;
        let m = ex.assistant_message;
        let provider = self.provider_of(user.id, m.provider_id).await?;
        let estimated = serde_json::from_str::<serde_json::Value>(&m.metadata)
            .ok()
            .and_then(|v| v["tokens"]["estimated"].as_bool())
            .unwrap_or(false);
        let usage = Usage {
            prompt_tokens: m
                .prompt_tokens
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            completion_tokens: m
                .completion_tokens
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            estimated,
        };
        let finish_reason = m
            .finish_reason
            .as_deref()
            .and_then(|f| serde_json::from_value(serde_json::Value::from(f)).ok())
            .unwrap_or(FinishReason::Stop);
        Ok(DirectChat {
            id: new_id(),
            text: m.content,
            model: m.model.unwrap_or_default(),
            provider,
            usage,
            cost: Money(m.cost_nanos.unwrap_or(0)),
            currency: self.pricing().currency.clone(),
            finish_reason,
            response_time_ms: m
                .response_time_ms
                .unwrap_or_else(|| started.elapsed().as_millis() as i64),
            created_at: m.created_at,
            conversation_id: Some(input.conversation_id),
        })
    }

    /// Streams `/chat` attached to one of `user`'s conversations: this is
    /// [`App::stream_reply`] with the stored history as context, its events translated to
    /// [`ChatEvent`]s (`Session` carrying the conversation id, `Content`…, `Usage`, then
    /// `Done` or `Error`). Dropping the receiver stops the generation (stored as `stopped`).
    ///
    /// # Errors
    /// As [`App::stream_reply`]: `not_found` (nothing stored), `validation_error`, `conflict`
    /// while another reply streams in the conversation, provider errors before the first byte.
    pub async fn attached_chat_stream(
        &self,
        user: &CurrentUser,
        input: AttachedChatInput,
        ctx: RequestContext,
    ) -> Result<DirectChatStream> {
        let send = SendInput {
            content: input.message,
            system_prompt: None,
            max_tokens: input.max_tokens,
            temperature: input.temperature,
        };
        let reply = self
            .stream_reply(user, input.conversation_id, send, true, None, ctx)
            .await?;
        let (tx, rx) = mpsc::channel(64);
        let job = self.clone().relay_reply(user.id, reply.events, tx);
        let fut = self.inner.tasks.track_future(job);
        self.inner.runtime.spawn(fut);
        Ok(DirectChatStream { events: rx })
    }

    /// Translates a conversation reply's events into `/chat` events until either side ends.
    async fn relay_reply(
        self,
        user_id: Id,
        mut events: mpsc::Receiver<StreamEvent>,
        tx: mpsc::Sender<ChatEvent>,
    ) {
        loop {
            let next = tokio::select! {
                _ = tx.closed() => return,
                e = events.recv() => e,
            };
            let Some(event) = next else { return };
            let out = match event {
                StreamEvent::Start {
                    conversation_id,
                    model,
                    provider_id,
                    ..
                } => match self.provider_of(user_id, Some(provider_id)).await {
                    Ok(provider) => ChatEvent::Session {
                        id: new_id(),
                        model,
                        provider,
                        conversation_id: Some(conversation_id),
                    },
                    Err(e) => ChatEvent::Error {
                        code: e.code,
                        message: e.message,
                    },
                },
                StreamEvent::Content { content } => ChatEvent::Content { content },
                StreamEvent::Usage {
                    prompt_tokens,
                    completion_tokens,
                    cost,
                    estimated,
                    ..
                } => ChatEvent::Usage {
                    usage: Usage {
                        prompt_tokens,
                        completion_tokens,
                        estimated,
                    },
                    cost,
                    currency: self.pricing().currency.clone(),
                },
                StreamEvent::Done {
                    finish_reason,
                    response_time_ms,
                    ..
                } => ChatEvent::Done {
                    finish_reason,
                    response_time_ms: i64::try_from(response_time_ms).unwrap_or(i64::MAX),
                },
                StreamEvent::Error { code, message, .. } => ChatEvent::Error { code, message },
            };
            if tx.send(out).await.is_err() {
                return;
            }
        }
    }

    async fn run_chat_stream(
        self,
        ctx: RequestContext,
        p: Prepared,
        mut upstream: ChatStream,
        tx: mpsc::Sender<ChatEvent>,
        started: Instant,
        idle: Duration,
    ) {
        let shutdown = self.inner.shutdown.clone();
        let mut text = String::new();
        let mut usage = None;
        let mut finish_reason = None;
        let mut ttft_ms = None;
        let ending = loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break Ending::Stopped,
                _ = tx.closed() => break Ending::Stopped,
                next = tokio::time::timeout(idle, upstream.next()) => match next {
                    Err(_) => break Ending::Failed(Error::new(ErrorCode::UpstreamTimeout, "upstream stalled mid-stream")),
                    Ok(None) => match finish_reason {
                        Some(r) => break Ending::Complete(r),
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
                            ttft_ms.get_or_insert_with(|| started.elapsed().as_millis() as i64);
                            text.push_str(&delta);
                            if tx.send(ChatEvent::Content { content: delta }).await.is_err() {
                                break Ending::Stopped;
                            }
                        }
                    }
                },
            }
        };
        // Closing the upstream connection stops the vendor generating (and billing) tokens.
        drop(upstream);
        let latency_ms = started.elapsed().as_millis() as i64;
        let billed = self.settle_usage(&p.request.model, usage, &p.request.messages, &text);
        let (status, finish) = match &ending {
            Ending::Complete(r) => (UsageStatus::Success, *r),
            Ending::Stopped => (UsageStatus::Stopped, FinishReason::Stopped),
            Ending::Failed(_) => (UsageStatus::Failed, FinishReason::Error),
        };
        self.record_chat(&ctx, &p, status, latency_ms, ttft_ms, billed)
            .await;
        if matches!(ending, Ending::Stopped) {
            return;
        }
        let _ = tx
            .send(ChatEvent::Usage {
                usage: billed.usage,
                cost: billed.cost,
                currency: self.pricing().currency.clone(),
            })
            .await;
        let last = match ending {
            Ending::Failed(e) => ChatEvent::Error {
                code: e.code,
                message: e.message,
            },
            _ => ChatEvent::Done {
                finish_reason: finish,
                response_time_ms: latency_ms,
            },
        };
        let _ = tx.send(last).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> DirectChatInput {
        DirectChatInput {
            message: Some("hi".into()),
            ..DirectChatInput::default()
        }
    }

    #[test]
    fn images_go_to_the_last_user_message() {
        let mut i = input();
        i.message = None;
        i.messages = Some(vec![
            ChatTurn {
                role: "user".into(),
                content: "a".into(),
            },
            ChatTurn {
                role: "assistant".into(),
                content: "b".into(),
            },
            ChatTurn {
                role: "user".into(),
                content: "c".into(),
            },
        ]);
        i.images = vec![ChatImage {
            data: "aGVsbG8=".into(),
            media_type: "image/png".into(),
        }];
        let turns = build_turns(&i).expect("valid");
        assert_eq!(turns[0].content, MessageContent::Text("a".into()));
        assert_eq!(
            turns[2].content,
            MessageContent::Parts(vec![
                ContentPart::Text("c".into()),
                ContentPart::Image(ImagePart::from_base64("image/png", "aGVsbG8=")),
            ])
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let mut i = input();
        i.messages = Some(vec![]);
        assert_eq!(
            build_turns(&i).expect_err("both").param.as_deref(),
            Some("messages")
        );
        let mut i = input();
        i.images = vec![ChatImage {
            data: "not base64!".into(),
            media_type: "image/png".into(),
        }];
        assert_eq!(
            build_turns(&i).expect_err("bad data").param.as_deref(),
            Some("images[0].data")
        );
        i.images[0].media_type = "image/bmp".into();
        assert_eq!(
            build_turns(&i).expect_err("bad type").param.as_deref(),
            Some("images[0].media_type")
        );
        let mut i = input();
        i.temperature = Some(3.0);
        assert!(check_input(&i).is_err());
    }
}
