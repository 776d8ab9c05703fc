//! Running generations: the events a streamed reply emits, and the registry that lets
//! `POST …/stream/stop` (or a client disconnect, or shutdown) end one.

use aihub_domain::{ErrorCode, FinishReason, Id, MessageStatus, Money};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// One event of a native SSE reply stream (PRODUCT.md section 3: `data: {json}` lines whose
/// `type` is `start`, `content`, `usage`, `done` or `error`).
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// First event: the ids of what this stream writes.
    Start {
        /// Conversation.
        conversation_id: Id,
        /// The stored user message.
        user_message_id: Id,
        /// The assistant message being written.
        assistant_message_id: Id,
        /// Model answering.
        model: String,
        /// Provider answering.
        provider_id: Id,
    },
    /// A piece of reply text.
    Content {
        /// The text delta.
        content: String,
    },
    /// Token counts and cost of the reply (sent once, before `done` or `error`).
    Usage {
        /// Input tokens.
        prompt_tokens: u32,
        /// Output tokens.
        completion_tokens: u32,
        /// Both.
        total_tokens: u32,
        /// Cost in nano-units of the deployment currency.
        cost: Money,
        /// Counted locally because the vendor reported nothing.
        estimated: bool,
    },
    /// The reply ended (completed, or stopped by the caller) and is stored.
    Done {
        /// The stored assistant message.
        message_id: Id,
        /// Why it ended.
        finish_reason: FinishReason,
        /// `complete` or `stopped`.
        status: MessageStatus,
        /// Input tokens.
        prompt_tokens: u32,
        /// Output tokens.
        completion_tokens: u32,
        /// Both.
        total_tokens: u32,
        /// Cost in nano-units.
        cost: Money,
        /// Time from request to the end, in milliseconds.
        response_time_ms: u64,
    },
    /// The upstream failed after the stream began; the partial reply is stored as `failed`.
    /// Always the last event.
    Error {
        /// Mapped code.
        code: ErrorCode,
        /// Safe message.
        message: String,
        /// The stored (partial) assistant message, if one was created.
        message_id: Option<Id>,
    },
}

struct ActiveStream {
    cancel: CancellationToken,
    finished: watch::Receiver<bool>,
    message_id: Option<Id>,
}

/// The generations running now, one per conversation at most.
#[derive(Default)]
pub(crate) struct StreamRegistry {
    active: Mutex<HashMap<Id, ActiveStream>>,
}

/// A reservation of a conversation's stream slot; dropping it without
/// [`StreamSlot::activate`] frees the slot (e.g. when the upstream refused the request).
pub(crate) struct StreamSlot<'a> {
    registry: &'a StreamRegistry,
    conversation_id: Id,
    armed: bool,
}

/// What the generation task needs to report its end.
pub(crate) struct StreamFinish {
    pub(crate) finished: watch::Sender<bool>,
}

impl StreamRegistry {
    /// Reserves the slot of `conversation_id`; `None` when a stream is already running there.
    pub(crate) fn reserve(
        &self,
        conversation_id: Id,
        cancel: CancellationToken,
    ) -> Option<(StreamSlot<'_>, StreamFinish)> {
        let mut map = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if map.contains_key(&conversation_id) {
            return None;
        }
        let (tx, rx) = watch::channel(false);
        map.insert(
            conversation_id,
            ActiveStream {
                cancel,
                finished: rx,
                message_id: None,
            },
        );
        Some((
            StreamSlot {
                registry: self,
                conversation_id,
                armed: true,
            },
            StreamFinish { finished: tx },
        ))
    }

    /// Cancels the stream of `conversation_id`, returning a receiver that turns `true` once it
    /// has stored its partial reply; `None` when nothing runs there.
    pub(crate) fn cancel(
        &self,
        conversation_id: Id,
    ) -> Option<(watch::Receiver<bool>, Option<Id>)> {
        let map = self.active.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&conversation_id).map(|s| {
            s.cancel.cancel();
            (s.finished.clone(), s.message_id)
        })
    }

    /// Frees the slot when the generation ended.
    pub(crate) fn remove(&self, conversation_id: Id) {
        self.active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&conversation_id);
    }

    fn set_message(&self, conversation_id: Id, message_id: Id) {
        if let Some(s) = self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&conversation_id)
        {
            s.message_id = Some(message_id);
        }
    }
}

impl StreamSlot<'_> {
    /// Keeps the slot taken: the generation task frees it when it ends.
    pub(crate) fn activate(mut self, message_id: Id) {
        self.registry.set_message(self.conversation_id, message_id);
        self.armed = false;
    }
}

impl Drop for StreamSlot<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.registry.remove(self.conversation_id);
        }
    }
}
