//! Direct chat (`POST /api/v1/chat`): one message or a list of turns, optional base64 images
//! on the last user turn and an optional system prompt, answered whole or streamed; or, with
//! a conversation id (`conversation_id`, alias `session_id`), a message sent into one of the
//! caller's conversations. Both go through the generation engine.
//!
//! A stateless chat stores nothing but usage: exactly one record per call.

use crate::auth::CurrentUser;
use crate::completions::{CompletionProvider, MAX_PROMPT_CHARS, MAX_SYSTEM_PROMPT_CHARS};
use crate::conversations::{RequestContext, SendInput};
use crate::generation::settings::Layer;
use crate::generation::{Caller, GenerationStream, Plan, Reply};
use crate::{App, Error, Result, validate};
use aihub_domain::{
    ChatMessage, ChatRequest, ChatRole, ContentPart, FinishReason, Id, ImagePart, MessageContent,
    Money, Usage, time,
};
use base64::Engine as _;
use chrono::NaiveDateTime;

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

impl From<&crate::generation::Served> for CompletionProvider {
    fn from(s: &crate::generation::Served) -> CompletionProvider {
        CompletionProvider {
            id: s.provider_id,
            slug: s.provider_slug.clone(),
            kind: s.kind,
        }
    }
}

/// The `/chat` response id of a generation: `chat-` and the generation id's random part.
pub fn chat_id(generation_id: &crate::generation::GenerationId) -> String {
    generation_id.with_prefix("chat")
}

fn direct_chat_of(app: &App, reply: Reply, conversation_id: Option<Id>) -> DirectChat {
    let model = if reply.response.model.is_empty() {
        reply.served.model.clone()
    } else {
        reply.response.model
    };
    DirectChat {
        id: chat_id(&reply.generation_id),
        text: reply.response.content,
        model,
        provider: CompletionProvider::from(&reply.served),
        usage: reply.billed.usage,
        cost: reply.billed.cost,
        currency: app.price_catalog().currency.clone(),
        finish_reason: reply.finish_reason,
        response_time_ms: reply.latency_ms,
        created_at: time::now(),
        conversation_id,
    }
}

impl App {
    /// A validated stateless chat as a plan for the engine.
    async fn plan_chat(
        &self,
        user_id: Id,
        input: DirectChatInput,
        ctx: RequestContext,
    ) -> Result<Plan> {
        check_input(&input)?;
        let turns = build_turns(&input)?;
        let call = self
            .resolve_direct(
                user_id,
                input.provider_id,
                Layer {
                    model: input.model,
                    max_tokens: input.max_tokens,
                    temperature: input.temperature,
                    system_prompt: input.system_prompt,
                },
            )
            .await?;
        let settings = call.settings;
        let mut messages = Vec::with_capacity(turns.len() + 1);
        if let Some(sp) = settings.system_prompt {
            messages.push(ChatMessage::new(ChatRole::System, sp));
        }
        messages.extend(turns);
        Ok(Plan {
            caller: Caller {
                user_id,
                api_key_id: ctx.api_key_id,
            },
            request_id: ctx.request_id,
            request: ChatRequest {
                model: settings.model,
                messages,
                max_tokens: settings.max_tokens,
                temperature: settings.temperature,
                ..ChatRequest::default()
            },
            targets: call.targets,
            deadline: None,
            store: None,
        })
    }

    /// Answers a stateless chat for `user_id` in one piece.
    ///
    /// Resolution and defaults are those of [`App::complete`]; `system_prompt` is prepended
    /// as a system message; images go to the last user message as base64 `data:` URLs.
    /// Usage: exactly one record (`success`, or `failed` with zero tokens).
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
        let plan = self.plan_chat(user_id, input, ctx.clone()).await?;
        let reply = self.generate(plan).await?;
        Ok(direct_chat_of(self, reply, None))
    }

    /// Starts a streamed stateless chat for `user_id`. Resolves once the upstream sent its
    /// first chunk (a failure before that is returned and recorded as `failed`); the rest is
    /// pulled as the stream is read. Exactly one usage record when it ends (`success`,
    /// `failed`, or `stopped` when the stream is dropped or the server shuts down).
    ///
    /// # Errors
    /// As [`App::direct_chat`], for failures before the first chunk.
    pub async fn direct_chat_stream(
        &self,
        user_id: Id,
        input: DirectChatInput,
        ctx: RequestContext,
    ) -> Result<GenerationStream> {
        let plan = self.plan_chat(user_id, input, ctx).await?;
        self.generate_stream(plan).await
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
        let send = SendInput {
            content: input.message,
            system_prompt: None,
            max_tokens: input.max_tokens,
            temperature: input.temperature,
        };
        let (exchange, reply) = self
            .send_reply(user, input.conversation_id, send, true, ctx.clone())
            .await?;
        let mut chat = direct_chat_of(self, reply, Some(input.conversation_id));
        chat.created_at = exchange.assistant_message.created_at;
        Ok(chat)
    }

    /// Streams `/chat` attached to one of `user`'s conversations: this is
    /// [`App::stream_reply`] with the stored history as context. Dropping the stream stops
    /// the generation (stored as `stopped`).
    ///
    /// # Errors
    /// As [`App::stream_reply`]: `not_found` (nothing stored), `validation_error`, `conflict`
    /// while another reply streams in the conversation, provider errors before the first byte.
    pub async fn attached_chat_stream(
        &self,
        user: &CurrentUser,
        input: AttachedChatInput,
        ctx: RequestContext,
    ) -> Result<GenerationStream> {
        let send = SendInput {
            content: input.message,
            system_prompt: None,
            max_tokens: input.max_tokens,
            temperature: input.temperature,
        };
        self.stream_reply(user, input.conversation_id, send, true, None, ctx)
            .await
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
