#![allow(clippy::unwrap_used)]

use super::*;
use aihub_domain::{Money, UsageStatus};
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::AtomicU32;
use tokio::sync::Notify;

fn rec(i: usize) -> UsageRecord {
    UsageRecord {
        generation_id: format!("gen-{i}"),
        request_id: format!("req-{i}"),
        user_id: 1,
        api_key_id: None,
        provider_id: None,
        provider_kind: "openai".into(),
        conversation_id: None,
        message_id: None,
        model: "gpt-4o-mini".into(),
        prompt_tokens: 10,
        completion_tokens: 5,
        estimated: false,
        cost: Money(4_500),
        currency: "USD".into(),
        price_known: true,
        status: UsageStatus::Success,
        latency_ms: 100,
        ttft_ms: None,
        created_at: Default::default(),
    }
}

/// Keeps batches in memory; fails the first `fail_first` calls (by panicking on call
/// `panic_on`, if set), and waits for `gate` before answering when given.
#[derive(Default)]
struct MemorySink {
    batches: Mutex<Vec<Vec<UsageRecord>>>,
    calls: AtomicU32,
    fail_first: u32,
    panic_on: Option<u32>,
    gate: Option<Arc<Notify>>,
}

impl MemorySink {
    fn sizes(&self) -> Vec<usize> {
        self.batches.lock().unwrap().iter().map(Vec::len).collect()
    }

    fn ids(&self) -> HashSet<String> {
        let batches = self.batches.lock().unwrap();
        batches
            .iter()
            .flatten()
            .map(|r| r.request_id.clone())
            .collect()
    }
}

impl UsageSink for MemorySink {
    fn write_batch(&self, batch: Vec<UsageRecord>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if let Some(gate) = &self.gate {
                gate.notified().await;
            }
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if Some(call) == self.panic_on {
                panic!("sink blew up on call {call}");
            }
            if call <= self.fail_first {
                return Err(format!("database unavailable (call {call})"));
            }
            self.batches.lock().unwrap().push(batch);
            Ok(())
        })
    }
}

fn config(max_batch: usize, flush_interval: Duration) -> WriterConfig {
    WriterConfig {
        channel_capacity: 100,
        max_batch,
        flush_interval,
        ..WriterConfig::default()
    }
}

/// Lets the (paused) runtime run until `done` holds, advancing the clock a millisecond at a time.
async fn settle(done: impl Fn() -> bool) {
    for _ in 0..1_000 {
        if done() {
            return;
        }
        sleep(Duration::from_millis(1)).await;
    }
    panic!("condition not reached");
}

#[tokio::test(start_paused = true)]
async fn flushes_when_the_batch_is_full() {
    let sink = Arc::new(MemorySink::default());
    let (h, join) = UsageWriter::spawn(sink.clone(), config(10, Duration::from_secs(3600)));
    for i in 0..25 {
        h.record(rec(i)).await;
    }
    settle(|| sink.sizes().len() == 2).await;
    assert_eq!(sink.sizes(), [10, 10]);
    assert_eq!(
        h.stats(),
        WriterStats {
            recorded: 25,
            flushed: 20,
            dropped: 0,
            pending: 5
        }
    );

    h.shutdown().await;
    join.await.unwrap();
    assert_eq!(sink.sizes(), [10, 10, 5]);
    assert_eq!(
        h.stats(),
        WriterStats {
            recorded: 25,
            flushed: 25,
            dropped: 0,
            pending: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn flushes_a_partial_batch_when_the_interval_elapses() {
    let sink = Arc::new(MemorySink::default());
    let (h, join) = UsageWriter::spawn(sink.clone(), config(100, Duration::from_secs(5)));
    for i in 0..3 {
        h.record(rec(i)).await;
    }
    sleep(Duration::from_secs(4)).await;
    assert!(sink.sizes().is_empty(), "flushed before the interval");
    sleep(Duration::from_secs(2)).await;
    assert_eq!(sink.sizes(), [3]);

    // The next batch gets its own interval, counted from its first record.
    h.record(rec(3)).await;
    h.record(rec(4)).await;
    sleep(Duration::from_millis(4_900)).await;
    assert_eq!(sink.sizes(), [3]);
    sleep(Duration::from_millis(200)).await;
    assert_eq!(sink.sizes(), [3, 2]);

    // An idle writer writes nothing.
    sleep(Duration::from_secs(60)).await;
    assert_eq!(sink.calls.load(Ordering::SeqCst), 2);
    h.shutdown().await;
    join.await.unwrap();
    assert_eq!(
        h.stats(),
        WriterStats {
            recorded: 5,
            flushed: 5,
            dropped: 0,
            pending: 0
        }
    );
}

#[tokio::test]
async fn shutdown_drains_every_queued_record() {
    let sink = Arc::new(MemorySink::default());
    let cfg = WriterConfig {
        channel_capacity: 10_000,
        max_batch: 256,
        flush_interval: Duration::from_secs(3600),
        ..WriterConfig::default()
    };
    let (h, join) = UsageWriter::spawn(sink.clone(), cfg);
    for i in 0..10_000 {
        h.record(rec(i)).await;
    }
    h.shutdown().await;
    assert!(join.is_finished() || join.await.is_ok());
    assert_eq!(sink.ids().len(), 10_000);
    assert!(sink.sizes().iter().all(|&n| n <= 256));
    assert_eq!(
        h.stats(),
        WriterStats {
            recorded: 10_000,
            flushed: 10_000,
            dropped: 0,
            pending: 0
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_producers_under_back_pressure_lose_nothing() {
    let sink = Arc::new(MemorySink::default());
    let cfg = WriterConfig {
        channel_capacity: 16,
        max_batch: 100,
        flush_interval: Duration::from_millis(5),
        ..WriterConfig::default()
    };
    let (h, join) = UsageWriter::spawn(sink.clone(), cfg);
    let producers: Vec<_> = (0..8)
        .map(|p| {
            let h = h.clone();
            tokio::spawn(async move {
                for i in 0..1_250 {
                    h.record(rec(p * 1_250 + i)).await;
                }
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    h.shutdown().await;
    join.await.unwrap();
    assert_eq!(sink.ids().len(), 10_000);
    assert_eq!(
        h.stats(),
        WriterStats {
            recorded: 10_000,
            flushed: 10_000,
            dropped: 0,
            pending: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn retries_a_failed_batch_then_succeeds() {
    let sink = Arc::new(MemorySink {
        fail_first: 2,
        ..MemorySink::default()
    });
    let cfg = WriterConfig {
        max_attempts: 4,
        ..config(100, Duration::from_secs(1))
    };
    let (h, join) = UsageWriter::spawn(sink.clone(), cfg);
    for i in 0..5 {
        h.record(rec(i)).await;
    }
    let started = Instant::now();
    h.shutdown().await;
    join.await.unwrap();
    assert_eq!(sink.calls.load(Ordering::SeqCst), 3);
    assert_eq!(sink.sizes(), [5]);
    // Backoff 200 ms then 400 ms.
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(
        h.stats(),
        WriterStats {
            recorded: 5,
            flushed: 5,
            dropped: 0,
            pending: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_panicking_sink_is_a_failed_attempt() {
    let sink = Arc::new(MemorySink {
        panic_on: Some(1),
        ..MemorySink::default()
    });
    let (h, join) = UsageWriter::spawn(sink.clone(), config(2, Duration::from_secs(1)));
    for i in 0..2 {
        h.record(rec(i)).await;
    }
    settle(|| sink.sizes().len() == 1).await;
    h.shutdown().await;
    join.await.unwrap();
    assert_eq!(sink.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        h.stats(),
        WriterStats {
            recorded: 2,
            flushed: 2,
            dropped: 0,
            pending: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_batch_failing_every_attempt_is_counted_as_dropped() {
    let sink = Arc::new(MemorySink {
        fail_first: u32::MAX,
        ..MemorySink::default()
    });
    let cfg = WriterConfig {
        max_attempts: 3,
        ..config(100, Duration::from_secs(1))
    };
    let (h, join) = UsageWriter::spawn(sink.clone(), cfg);
    for i in 0..4 {
        h.record(rec(i)).await;
    }
    h.shutdown().await;
    join.await.unwrap();
    // Three attempts at the batch, then one at each record alone.
    assert_eq!(sink.calls.load(Ordering::SeqCst), 3 + 4);
    assert_eq!(h.dropped(), 4);
    assert_eq!(
        h.stats(),
        WriterStats {
            recorded: 4,
            flushed: 0,
            dropped: 4,
            pending: 0
        }
    );
}

/// Refuses any batch holding the record with `request_id` `poison` (as a database refuses a
/// row it cannot store), and stores the rest.
#[derive(Default)]
struct PickySink {
    batches: Mutex<Vec<Vec<UsageRecord>>>,
}

impl UsageSink for PickySink {
    fn write_batch(&self, batch: Vec<UsageRecord>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if batch.iter().any(|r| r.request_id == "poison") {
                return Err("invalid byte sequence for encoding \"UTF8\": 0x00".into());
            }
            self.batches.lock().unwrap().push(batch);
            Ok(())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn one_refused_record_does_not_sink_its_batch() {
    let sink = Arc::new(PickySink::default());
    let cfg = WriterConfig {
        max_attempts: 3,
        ..config(100, Duration::from_secs(1))
    };
    let (h, join) = UsageWriter::spawn(sink.clone(), cfg);
    for i in 0..5 {
        let mut r = rec(i);
        if i == 2 {
            r.request_id = "poison".into();
        }
        h.record(r).await;
    }
    h.shutdown().await;
    join.await.unwrap();
    let stored: Vec<String> = sink
        .batches
        .lock()
        .unwrap()
        .iter()
        .flatten()
        .map(|r| r.request_id.clone())
        .collect();
    assert_eq!(stored.len(), 4, "{stored:?}");
    assert!(!stored.iter().any(|id| id == "poison"));
    assert_eq!(
        h.stats(),
        WriterStats {
            recorded: 5,
            flushed: 4,
            dropped: 1,
            pending: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn records_after_shutdown_or_abandoned_are_counted_as_dropped() {
    let gate = Arc::new(Notify::new());
    let sink = Arc::new(MemorySink {
        gate: Some(gate.clone()),
        ..MemorySink::default()
    });
    let cfg = WriterConfig {
        channel_capacity: 1,
        ..config(1, Duration::from_secs(1))
    };
    let (h, join) = UsageWriter::spawn(sink.clone(), cfg);

    // Record 0 is taken into a batch whose write waits at the gate; record 1 fills the
    // channel; record 2 waits for capacity and its caller gives up.
    h.record(rec(0)).await;
    settle(|| h.tx.capacity() == 1).await;
    h.record(rec(1)).await;
    let abandoned = tokio::time::timeout(Duration::from_millis(50), h.record(rec(2))).await;
    assert!(abandoned.is_err());
    assert_eq!(
        h.stats(),
        WriterStats {
            recorded: 2,
            flushed: 0,
            dropped: 1,
            pending: 2
        }
    );

    let stopped = h.shutdown();
    gate.notify_one();
    settle(|| sink.sizes().len() == 1).await;
    gate.notify_one();
    stopped.await;
    join.await.unwrap();
    assert_eq!(
        sink.ids(),
        HashSet::from(["req-0".to_owned(), "req-1".to_owned()])
    );

    h.record(rec(3)).await;
    assert_eq!(
        h.stats(),
        WriterStats {
            recorded: 2,
            flushed: 2,
            dropped: 2,
            pending: 0
        }
    );
}
