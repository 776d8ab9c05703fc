//! Where usage records end up: the usage writer's sink, writing batches into `usage_records`.

use aihub_billing::UsageSink;
use aihub_domain::UsageRecord;
use aihub_store::Db;

/// Writes batches of usage records into `usage_records` in one transaction; a record whose
/// `generation_id` is already stored is skipped, so a retried batch never doubles usage.
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
