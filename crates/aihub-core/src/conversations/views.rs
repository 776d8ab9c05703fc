//! What callers of core see of conversations and messages, and how they ask for a listing.
//! Built from the store's rows here, so no row leaves core.

use aihub_domain::{Id, Money};
use aihub_store::conversations as store;
use aihub_store::messages::MessageRow;
use chrono::NaiveDateTime;

/// A stored JSON object (`metadata` columns); `{}` when the text does not parse.
fn json_object(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::json!({}))
}

/// A conversation: one user's thread of messages with one provider and model.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// Id.
    pub id: Id,
    /// Owner.
    pub user_id: Id,
    /// Title, 1–200 characters.
    pub title: String,
    /// Provider replies come from (`None` when unset or after the provider was deleted).
    pub provider_id: Option<Id>,
    /// Model replies come from (`None`: the provider's default).
    pub model: Option<String>,
    /// System prompt sent first on every reply.
    pub system_prompt: Option<String>,
    /// Cap on reply tokens.
    pub max_tokens: Option<i64>,
    /// Sampling temperature, 0–2.
    pub temperature: Option<f64>,
    /// Pinned to the top of lists.
    pub is_pinned: bool,
    /// Archived.
    pub is_archived: bool,
    /// Free-form JSON object (`tags`, `description`, …); `{}` when none.
    pub metadata: serde_json::Value,
    /// Number of stored messages.
    pub message_count: i64,
    /// Time of the newest message (UTC).
    pub last_message_at: Option<NaiveDateTime>,
    /// One of the owner's categories it is filed under (`None`: uncategorised).
    pub category_id: Option<Id>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

impl From<store::ConversationRow> for Conversation {
    fn from(c: store::ConversationRow) -> Self {
        Conversation {
            metadata: json_object(&c.metadata),
            id: c.id,
            user_id: c.user_id,
            title: c.title,
            provider_id: c.provider_id,
            model: c.model,
            system_prompt: c.system_prompt,
            max_tokens: c.max_tokens,
            temperature: c.temperature,
            is_pinned: c.is_pinned,
            is_archived: c.is_archived,
            message_count: c.message_count,
            last_message_at: c.last_message_at,
            category_id: c.category_id,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A message of a conversation. Token counts and cost are those of the generation that wrote
/// it (assistant messages); user and system messages have none.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
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
    /// Model that wrote it.
    pub model: Option<String>,
    /// Provider that wrote it.
    pub provider_id: Option<Id>,
    /// That provider's kind (`openai`, `anthropic`, …).
    pub provider_kind: Option<String>,
    /// Input tokens of the generation.
    pub prompt_tokens: Option<i64>,
    /// Output tokens of the generation.
    pub completion_tokens: Option<i64>,
    /// Cost of the generation, in nano-units of the pricing currency.
    pub cost: Option<Money>,
    /// Why the generation ended (`stop`, `length`, …).
    pub finish_reason: Option<String>,
    /// Whole generation time, in milliseconds.
    pub response_time_ms: Option<i64>,
    /// JSON object (token breakdown, `with_context`, …); `{}` when none.
    pub metadata: serde_json::Value,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
}

impl From<MessageRow> for Message {
    fn from(m: MessageRow) -> Self {
        Message {
            metadata: json_object(&m.metadata),
            id: m.id,
            conversation_id: m.conversation_id,
            role: m.role,
            content: m.content,
            status: m.status,
            model: m.model,
            provider_id: m.provider_id,
            provider_kind: m.provider_kind,
            prompt_tokens: m.prompt_tokens,
            completion_tokens: m.completion_tokens,
            cost: m.cost_nanos.map(Money),
            finish_reason: m.finish_reason,
            response_time_ms: m.response_time_ms,
            created_at: m.created_at,
        }
    }
}

/// Sort order of the conversation listing; `true` is ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConversationOrder {
    /// Pinned first, then most recently updated (the default).
    #[default]
    PinnedThenRecent,
    /// By `updated_at`.
    UpdatedAt(bool),
    /// By `created_at`.
    CreatedAt(bool),
    /// By `title`.
    Title(bool),
    /// By `last_message_at`.
    LastMessageAt(bool),
}

impl From<ConversationOrder> for store::ConversationOrder {
    fn from(o: ConversationOrder) -> Self {
        match o {
            ConversationOrder::PinnedThenRecent => store::ConversationOrder::PinnedThenRecent,
            ConversationOrder::UpdatedAt(asc) => store::ConversationOrder::UpdatedAt(asc),
            ConversationOrder::CreatedAt(asc) => store::ConversationOrder::CreatedAt(asc),
            ConversationOrder::Title(asc) => store::ConversationOrder::Title(asc),
            ConversationOrder::LastMessageAt(asc) => store::ConversationOrder::LastMessageAt(asc),
        }
    }
}

/// Filters of the conversation listing; `None` (or `false`) does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    /// Only archived, or only not archived.
    pub is_archived: Option<bool>,
    /// Only pinned, or only not pinned.
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

impl From<&ConversationFilter> for store::ConversationFilter {
    fn from(f: &ConversationFilter) -> Self {
        store::ConversationFilter {
            is_archived: f.is_archived,
            is_pinned: f.is_pinned,
            provider_id: f.provider_id,
            category_id: f.category_id,
            search: f.search.clone(),
            search_messages: f.search_messages,
        }
    }
}
