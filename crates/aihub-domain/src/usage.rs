//! The usage record: exactly one per billed generation, whether it succeeded, failed or was
//! stopped.

use crate::{Id, Money, UsageStatus};
use chrono::NaiveDateTime;

/// One generation's accounting, written by the background usage writer. `request_id` is unique:
/// writing the same record twice keeps one row.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRecord {
    /// The request id (`X-Request-Id` or a generated UUID-like string); unique per record.
    pub request_id: String,
    /// Who is billed.
    pub user_id: Id,
    /// The developer API key used, if any.
    pub api_key_id: Option<Id>,
    /// The stored provider used, if any.
    pub provider_id: Option<Id>,
    /// Its wire family (`openai`, `ollama`, …).
    pub provider_kind: String,
    /// The conversation the generation belongs to, if any.
    pub conversation_id: Option<Id>,
    /// The assistant message it produced, if stored.
    pub message_id: Option<Id>,
    /// The model as requested.
    pub model: String,
    /// Input tokens.
    pub prompt_tokens: i64,
    /// Output tokens.
    pub completion_tokens: i64,
    /// True when the tokens were counted locally.
    pub estimated: bool,
    /// Cost in nano-units of `currency`.
    pub cost: Money,
    /// ISO 4217 code of the deployment currency (`USD`).
    pub currency: String,
    /// False when the model is not in the pricing catalog (cost is then 0).
    pub price_known: bool,
    /// Outcome.
    pub status: UsageStatus,
    /// Whole-request latency in milliseconds.
    pub latency_ms: i64,
    /// Time to first token in milliseconds (streams only).
    pub ttft_ms: Option<i64>,
    /// When the generation ended (UTC, microseconds).
    pub created_at: NaiveDateTime,
}
