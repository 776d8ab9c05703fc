//! The background usage writer's batching logic, free of any database: records go through a
//! bounded channel to one task that hands them to a [`UsageSink`] in batches.
//!
//! A batch is written when it reaches [`WriterConfig::max_batch`] records, when
//! [`WriterConfig::flush_interval`] has passed since its first record arrived, and on shutdown.
//! Nothing is lost silently: every record is either written, or logged with `tracing::error!`
//! and counted in [`WriterStats::dropped`].

use aihub_domain::UsageRecord;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;

/// A boxed, `Send` future (the same type as `futures::future::BoxFuture`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where batches of usage records are stored (the database, in production).
pub trait UsageSink: Send + Sync + 'static {
    /// Stores `batch` in one go. Must be idempotent on `request_id`: a batch whose write failed
    /// part-way is written again whole. An `Err` carries a message for the log.
    fn write_batch(&self, batch: Vec<UsageRecord>) -> BoxFuture<'_, Result<(), String>>;
}

/// Tuning of the usage writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterConfig {
    /// Records the channel holds before [`UsageWriterHandle::record`] waits (at least 1).
    pub channel_capacity: usize,
    /// Records per batch; a full batch is written at once (at least 1).
    pub max_batch: usize,
    /// Longest time a record waits in a partial batch.
    pub flush_interval: Duration,
    /// Attempts per batch, the first included, before its records are dropped (at least 1).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further retry, up to 30 seconds.
    pub retry_backoff: Duration,
}

impl Default for WriterConfig {
    /// 10,000 queued records, batches of 500, one second, 5 attempts from 200 ms apart
    /// (about 3 seconds of retrying in all).
    fn default() -> Self {
        WriterConfig {
            channel_capacity: 10_000,
            max_batch: 500,
            flush_interval: Duration::from_secs(1),
            max_attempts: 5,
            retry_backoff: Duration::from_millis(200),
        }
    }
}

/// Longest wait between two attempts at one batch.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A snapshot of the writer's counters (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Records accepted into the channel.
    pub recorded: u64,
    /// Records the sink stored.
    pub flushed: u64,
    /// Records lost: a batch that failed every attempt, a record offered after shutdown, or a
    /// `record` call abandoned before its record was queued. Each is logged at error level.
    pub dropped: u64,
    /// Records offered or accepted but not yet stored or dropped.
    pub pending: u64,
}

#[derive(Debug, Default)]
struct Counters {
    recorded: AtomicU64,
    flushed: AtomicU64,
    dropped: AtomicU64,
    pending: AtomicU64,
}

impl Counters {
    fn settle(&self, n: u64, stored: bool) {
        let counter = if stored { &self.flushed } else { &self.dropped };
        counter.fetch_add(n, Ordering::Relaxed);
        self.pending.fetch_sub(n, Ordering::Relaxed);
    }
}

/// Logs a lost record with the fields needed to bill it by hand.
fn log_dropped(r: &UsageRecord, reason: &str) {
    tracing::error!(
        request_id = %r.request_id,
        user_id = r.user_id,
        api_key_id = ?r.api_key_id,
        model = %r.model,
        prompt_tokens = r.prompt_tokens,
        completion_tokens = r.completion_tokens,
        cost_nanos = r.cost.nanos(),
        currency = %r.currency,
        created_at = %r.created_at,
        reason,
        "usage record dropped"
    );
}

/// The background usage writer.
#[derive(Debug)]
pub struct UsageWriter;

impl UsageWriter {
    /// Starts the writer task on the current tokio runtime. Returns the handle to send records
    /// through and the task's join handle, which completes after
    /// [`UsageWriterHandle::shutdown`] (or once every handle is dropped) with everything
    /// queued written or dropped.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn(
        sink: Arc<dyn UsageSink>,
        config: WriterConfig,
    ) -> (UsageWriterHandle, JoinHandle<()>) {
        let config = WriterConfig {
            channel_capacity: config.channel_capacity.max(1),
            max_batch: config.max_batch.max(1),
            max_attempts: config.max_attempts.max(1),
            ..config
        };
        let (tx, rx) = mpsc::channel(config.channel_capacity);
        let full = Arc::new(tokio::sync::Notify::new());
        let handle = UsageWriterHandle {
            tx,
            full: Arc::clone(&full),
            max_batch: config.max_batch,
            stop: CancellationToken::new(),
            finished: CancellationToken::new(),
            counters: Arc::new(Counters::default()),
        };
        let task = Task {
            rx,
            full,
            sink,
            config,
            counters: Arc::clone(&handle.counters),
        };
        let (stop, finished) = (handle.stop.clone(), handle.finished.clone());
        let join = tokio::spawn(async move {
            // Marks the writer finished however the task ends, even by a panic.
            let _finished = finished.drop_guard();
            task.run(stop).await;
        });
        (handle, join)
    }
}

/// Sends records to the writer; cheap to clone.
#[derive(Debug, Clone)]
pub struct UsageWriterHandle {
    tx: mpsc::Sender<UsageRecord>,
    /// Wakes the writer early when a full batch is queued (see `Task::run`).
    full: Arc<tokio::sync::Notify>,
    max_batch: usize,
    stop: CancellationToken,
    finished: CancellationToken,
    counters: Arc<Counters>,
}

impl UsageWriterHandle {
    /// Queues `record`, waiting while the channel is full: back-pressure slows callers rather
    /// than losing records when the sink falls behind.
    ///
    /// The record is dropped (logged and counted) if the writer has shut down, or if this
    /// future is dropped before it completes, e.g. inside a request handler cancelled by a
    /// client disconnect; call it where it cannot be cancelled, or from a spawned task.
    pub async fn record(&self, record: UsageRecord) {
        self.counters.pending.fetch_add(1, Ordering::Relaxed);
        let mut unsent = Unsent {
            record: Some(record),
            counters: &self.counters,
            reason: "the caller stopped waiting for channel capacity",
        };
        match self.tx.reserve().await {
            Ok(permit) => {
                if let Some(r) = unsent.record.take() {
                    self.counters.recorded.fetch_add(1, Ordering::Relaxed);
                    permit.send(r);
                    // The writer sleeps through a partial batch; wake it once one is full.
                    if self.tx.max_capacity() - self.tx.capacity() >= self.max_batch {
                        self.full.notify_one();
                    }
                }
            }
            Err(_) => unsent.reason = "the usage writer has shut down",
        }
    }

    /// Asks the writer to stop, at once, and returns a future that resolves when it has
    /// written (or dropped, after retries) every record already queued, and ended. Records
    /// offered after this call may be refused (and are then counted as dropped). A sink that
    /// never answers keeps the future pending: bound it with `tokio::time::timeout`.
    pub fn shutdown(&self) -> impl Future<Output = ()> + Send + 'static {
        self.stop.cancel();
        self.finished.clone().cancelled_owned()
    }

    /// The counters now.
    pub fn stats(&self) -> WriterStats {
        let c = &self.counters;
        WriterStats {
            recorded: c.recorded.load(Ordering::Relaxed),
            flushed: c.flushed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            pending: c.pending.load(Ordering::Relaxed),
        }
    }

    /// Records lost so far (see [`WriterStats::dropped`]).
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }
}

/// A record `record()` has not yet queued; dropping it while it still holds the record logs and
/// counts the loss.
struct Unsent<'a> {
    record: Option<UsageRecord>,
    counters: &'a Counters,
    reason: &'static str,
}

impl Drop for Unsent<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.record.take() {
            log_dropped(&r, self.reason);
            self.counters.settle(1, false);
        }
    }
}

struct Task {
    rx: mpsc::Receiver<UsageRecord>,
    full: Arc<tokio::sync::Notify>,
    sink: Arc<dyn UsageSink>,
    config: WriterConfig,
    counters: Arc<Counters>,
}

impl Task {
    async fn run(mut self, stop: CancellationToken) {
        let mut batch = Vec::new();
        // When the current partial batch must be written; set by its first record.
        let mut deadline: Option<Instant> = None;
        loop {
            if deadline.is_none() {
                // Idle: the first record of a batch wakes the writer...
                tokio::select! {
                    biased;
                    () = stop.cancelled() => break,
                    received = self.rx.recv() => match received {
                        Some(r) => {
                            batch.push(r);
                            deadline = Some(Instant::now() + self.config.flush_interval);
                        }
                        // Every handle is gone: nothing more can arrive.
                        None => break,
                    },
                }
            } else {
                // ...then it sleeps until the batch is due or full, instead of waking for each
                // record (a wake-up per record was a context switch per request on a busy
                // gateway).
                let due = if batch.len() + self.rx.len() >= self.config.max_batch {
                    false // a full batch is already queued: no need to wait
                } else {
                    tokio::select! {
                        biased;
                        () = stop.cancelled() => break,
                        () = self.full.notified() => false,
                        () = sleep_until(deadline.unwrap_or_else(Instant::now)) => true,
                    }
                };
                let closed = self.drain(&mut batch);
                if due || closed || batch.len() >= self.config.max_batch {
                    self.flush(&mut batch).await;
                    deadline = None;
                }
                if closed {
                    break;
                }
            }
            if batch.len() >= self.config.max_batch {
                self.flush(&mut batch).await;
                deadline = None;
            }
        }
        // Refuse new records, then drain what is already queued: close() keeps buffered
        // records receivable.
        self.rx.close();
        while let Some(r) = self.rx.recv().await {
            batch.push(r);
            if batch.len() >= self.config.max_batch {
                self.flush(&mut batch).await;
            }
        }
        self.flush(&mut batch).await;
        tracing::debug!(stats = ?self.counters, "usage writer stopped");
    }

    /// Moves what is queued into `batch`, up to a full batch; true when the channel is closed
    /// and empty.
    fn drain(&mut self, batch: &mut Vec<UsageRecord>) -> bool {
        while batch.len() < self.config.max_batch {
            match self.rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(mpsc::error::TryRecvError::Empty) => return false,
                Err(mpsc::error::TryRecvError::Disconnected) => return true,
            }
        }
        false
    }

    /// Writes `batch` (emptying it), retrying with exponential backoff. When the last attempt
    /// fails too, each record is tried once on its own, so one record the database refuses
    /// does not sink the others; only the records that still fail are logged and counted as
    /// dropped.
    async fn flush(&self, batch: &mut Vec<UsageRecord>) {
        if batch.is_empty() {
            return;
        }
        let records = std::mem::take(batch);
        let n = records.len() as u64;
        let mut backoff = self.config.retry_backoff;
        for attempt in 1..=self.config.max_attempts {
            let error = match self.write(records.clone()).await {
                Ok(()) => {
                    self.counters.settle(n, true);
                    return;
                }
                Err(e) => e,
            };
            if attempt < self.config.max_attempts {
                tracing::warn!(records = n, attempt, %error, retry_in = ?backoff, "usage batch write failed; retrying");
                sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
            let mut dropped = 0;
            for r in records {
                let single = if n > 1 {
                    self.write(vec![r.clone()]).await
                } else {
                    Err(error.clone())
                };
                match single {
                    Ok(()) => self.counters.settle(1, true),
                    Err(e) => {
                        log_dropped(&r, &format!("the sink failed every attempt: {e}"));
                        self.counters.settle(1, false);
                        dropped += 1;
                    }
                }
            }
            tracing::error!(records = n, dropped, attempts = attempt, %error, "usage batch failed after retries; wrote what could be written one by one");
            return;
        }
    }

    /// One write attempt. It runs in its own task so a panicking sink counts as a failed
    /// attempt instead of killing the writer.
    async fn write(&self, records: Vec<UsageRecord>) -> Result<(), String> {
        let sink = Arc::clone(&self.sink);
        match tokio::spawn(async move { sink.write_batch(records).await }).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(format!("usage sink failed: {e}")),
        }
    }
}

#[cfg(test)]
mod tests;
