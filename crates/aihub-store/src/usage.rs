//! `usage_records`: one row per billed generation, written in batches by the usage writer.

use crate::schema::usage_records;
use crate::{DbConn, StoreError, on_conn};
use aihub_domain::{Id, UsageRecord};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

/// A stored usage record.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = usage_records)]
pub struct UsageRow {
    /// Id.
    pub id: Id,
    /// The HTTP request id (correlation).
    pub request_id: String,
    /// Billed account.
    pub user_id: Id,
    /// Developer API key used.
    pub api_key_id: Option<Id>,
    /// Provider used.
    pub provider_id: Option<Id>,
    /// Provider wire family.
    pub provider_kind: String,
    /// Conversation.
    pub conversation_id: Option<Id>,
    /// Assistant message.
    pub message_id: Option<Id>,
    /// Model.
    pub model: String,
    /// Input tokens.
    pub prompt_tokens: i64,
    /// Output tokens.
    pub completion_tokens: i64,
    /// Sum of both.
    pub total_tokens: i64,
    /// Counted locally.
    pub estimated: bool,
    /// Cost in nano-units.
    pub cost_nanos: i64,
    /// Currency code.
    pub currency: String,
    /// Whether the model was in the pricing catalog.
    pub price_known: bool,
    /// `success`, `stopped` or `failed`.
    pub status: String,
    /// Latency in milliseconds.
    pub latency_ms: i64,
    /// Time to first token in milliseconds.
    pub ttft_ms: Option<i64>,
    /// End of the generation (UTC).
    pub created_at: NaiveDateTime,
    /// The generation billed (unique; NULL on rows older than the column).
    pub generation_id: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = usage_records)]
struct NewUsage<'a> {
    generation_id: &'a str,
    request_id: &'a str,
    user_id: Id,
    api_key_id: Option<Id>,
    provider_id: Option<Id>,
    provider_kind: &'a str,
    conversation_id: Option<Id>,
    message_id: Option<Id>,
    model: &'a str,
    prompt_tokens: i64,
    completion_tokens: i64,
    total_tokens: i64,
    estimated: bool,
    cost_nanos: i64,
    currency: &'a str,
    price_known: bool,
    status: &'a str,
    latency_ms: i64,
    ttft_ms: Option<i64>,
    created_at: NaiveDateTime,
}

impl<'a> From<&'a UsageRecord> for NewUsage<'a> {
    fn from(r: &'a UsageRecord) -> Self {
        NewUsage {
            generation_id: &r.generation_id,
            request_id: &r.request_id,
            user_id: r.user_id,
            api_key_id: r.api_key_id,
            provider_id: r.provider_id,
            provider_kind: &r.provider_kind,
            conversation_id: r.conversation_id,
            message_id: r.message_id,
            model: &r.model,
            prompt_tokens: r.prompt_tokens,
            completion_tokens: r.completion_tokens,
            total_tokens: r.prompt_tokens + r.completion_tokens,
            estimated: r.estimated,
            cost_nanos: r.cost.nanos(),
            currency: &r.currency,
            price_known: r.price_known,
            status: r.status.as_str(),
            latency_ms: r.latency_ms,
            ttft_ms: r.ttft_ms,
            created_at: r.created_at,
        }
    }
}

/// Inserts a batch; a record whose `generation_id` is already stored is skipped, so a retried
/// batch never doubles usage. Returns the number of new rows.
///
/// # Errors
/// [`StoreError`] on query failure (nothing of the batch is written then).
pub async fn insert_batch(
    conn: &mut DbConn<'_>,
    batch: &[UsageRecord],
) -> Result<usize, StoreError> {
    if let DbConn::Sqlite(c) = conn {
        // SQLite runs each statement on a blocking thread; the whole batch goes in one hop
        // instead of one per record (per-record hops were a quarter of the gateway's CPU in
        // the benchmark).
        let batch = batch.to_vec();
        let inserted = c
            .spawn_blocking(move |sqlite| {
                let mut inserted = 0;
                for record in &batch {
                    inserted += diesel::RunQueryDsl::execute(
                        diesel::insert_into(usage_records::table)
                            .values(NewUsage::from(record))
                            .on_conflict_do_nothing(),
                        sqlite,
                    )?;
                }
                Ok(inserted)
            })
            .await?;
        return Ok(inserted);
    }
    let rows: Vec<NewUsage<'_>> = batch.iter().map(NewUsage::from).collect();
    let mut inserted = 0;
    // One statement per record; the caller wraps the batch in one transaction, so this is
    // still one commit.
    for row in &rows {
        inserted += on_conn!(conn, |c| {
            diesel::insert_into(usage_records::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(c)
                .await
        })?;
    }
    Ok(inserted)
}

/// The usage records of `user_id`, newest first (at most `limit`).
///
/// # Errors
/// [`StoreError`] on query failure.
pub async fn list_for_user(
    conn: &mut DbConn<'_>,
    user_id: Id,
    limit: i64,
) -> Result<Vec<UsageRow>, StoreError> {
    Ok(on_conn!(conn, |c| {
        usage_records::table
            .filter(usage_records::user_id.eq(user_id))
            .order(usage_records::id.desc())
            .limit(limit)
            .select(UsageRow::as_select())
            .load(c)
            .await
    })?)
}
