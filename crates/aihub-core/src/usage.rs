//! Usage accounting: pricing a generation and handing its record to the background writer.

use crate::App;
use aihub_billing::UsageSink;
use aihub_domain::{ChatMessage, Id, Money, Usage, UsageRecord, UsageStatus, time};
use aihub_store::Db;

/// Writes batches of usage records into `usage_records` in one transaction; a record whose
/// `request_id` is already stored is skipped, so a retried batch never doubles usage.
pub(crate) struct StoreUsageSink {
    db: Db,
}

impl StoreUsageSink {
    pub(crate) fn new(db: Db) -> Self {
        StoreUsageSink { db }
    }
}

impl UsageSink for StoreUsageSink {
    fn write_batch(
        &self,
        batch: Vec<UsageRecord>,
    ) -> aihub_billing::BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.db
                .transaction::<_, aihub_store::StoreError, _>(move |mut tx| {
                    Box::pin(async move { aihub_store::usage::insert_batch(&mut tx, &batch).await })
                })
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}

/// What a finished generation is billed for.
#[derive(Debug, Clone)]
pub struct Generation<'a> {
    /// Request id (unique per record).
    pub request_id: &'a str,
    /// Billed account.
    pub user_id: Id,
    /// Developer API key, if one was used.
    pub api_key_id: Option<Id>,
    /// Provider id.
    pub provider_id: Option<Id>,
    /// Provider kind (`openai`, …).
    pub provider_kind: &'a str,
    /// Conversation.
    pub conversation_id: Option<Id>,
    /// Assistant message.
    pub message_id: Option<Id>,
    /// Model.
    pub model: &'a str,
    /// Outcome.
    pub status: UsageStatus,
    /// Latency in milliseconds.
    pub latency_ms: i64,
    /// Time to first token in milliseconds.
    pub ttft_ms: Option<i64>,
}

/// Tokens and cost of one generation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Billed {
    /// Token counts (the vendor's, or local and `estimated`).
    pub usage: Usage,
    /// Cost in nano-units.
    pub cost: Money,
    /// Whether the model has a known price.
    pub price_known: bool,
}

impl App {
    /// The usage to bill: the vendor's numbers when reported, else a local count of the prompt
    /// and the text generated so far, marked `estimated`.
    pub fn settle_usage(
        &self,
        model: &str,
        reported: Option<Usage>,
        prompt: &[ChatMessage],
        completion: &str,
    ) -> Billed {
        let usage = match reported {
            Some(u) => u,
            None => aihub_billing::estimate_usage(model, prompt, completion),
        };
        let priced = self.pricing().price(model, &usage);
        Billed {
            usage,
            cost: priced.cost,
            price_known: priced.price_known,
        }
    }

    /// Queues the usage record of a finished generation for the background writer (no
    /// database write on the request path; waits only if the writer's queue is full).
    pub async fn record_usage(&self, g: Generation<'_>, billed: Billed) {
        let record = UsageRecord {
            request_id: g.request_id.to_owned(),
            user_id: g.user_id,
            api_key_id: g.api_key_id,
            provider_id: g.provider_id,
            provider_kind: g.provider_kind.to_owned(),
            conversation_id: g.conversation_id,
            message_id: g.message_id,
            model: g.model.to_owned(),
            prompt_tokens: i64::from(billed.usage.prompt_tokens),
            completion_tokens: i64::from(billed.usage.completion_tokens),
            estimated: billed.usage.estimated,
            cost: billed.cost,
            currency: self.pricing().currency.clone(),
            price_known: billed.price_known,
            status: g.status,
            latency_ms: g.latency_ms,
            ttft_ms: g.ttft_ms,
            created_at: time::now(),
        };
        self.inner.usage.record(record).await;
    }
}
