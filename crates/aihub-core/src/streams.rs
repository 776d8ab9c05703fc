//! The conversation replies streaming in this process, one per conversation at most, so that
//! `POST …/stream/stop` (or deleting the conversation) can end one and wait until its
//! partial reply is stored.
//!
//! The registry is per process: with several replicas, a stop must reach the replica that
//! runs the stream.

use aihub_domain::Id;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

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
