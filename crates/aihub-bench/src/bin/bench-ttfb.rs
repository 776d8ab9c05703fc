//! `bench-ttfb`: a closed-loop HTTP/1.1 load client for streamed (SSE) replies.
//!
//! `--connections` tasks share one keep-alive `reqwest` client (one pooled connection each)
//! and send the same POST back to back for `--duration-secs`, or until each has sent
//! `--requests-per-connection` requests (`--requests-per-connection 1` opens exactly one
//! request per connection, all at once: how the benchmark holds many streams open together). For every request it records
//! the time to first byte (the first body chunk holding `data:`; for a body without any
//! `data:`, the whole response time) and the time to the end of the body. A response counts
//! as an error when the request fails, the status is not 2xx, or a `text/event-stream` body
//! ends without `data: [DONE]`.
//!
//! It prints one JSON object on stdout: `{"connections", "duration_s", "requests", "rps",
//! "ttfb_p50_ms", "ttfb_p99_ms", "total_p50_ms", "total_p99_ms", "errors", "incomplete"}`
//! (latencies in milliseconds, nearest-rank percentiles over successful requests; requests
//! and rps count successful requests only).
//!
//! Usage: `bench-ttfb --url http://127.0.0.1:8080/v1/chat/completions --header
//! 'Authorization: Bearer sk-aihub-…' --header 'Content-Type: application/json' --body-file
//! stream.json --connections 16 --duration-secs 10`.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::Parser;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "bench-ttfb",
    about = "Time-to-first-byte load client for SSE streams"
)]
struct Args {
    /// URL to POST to.
    #[arg(long)]
    url: String,
    /// A request header, `Name: value` (repeatable).
    #[arg(long = "header")]
    headers: Vec<String>,
    /// File holding the request body.
    #[arg(long)]
    body_file: PathBuf,
    /// Concurrent connections (one looping task each).
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// How long to send requests, in seconds (fractions allowed).
    #[arg(long, default_value_t = 10.0)]
    duration_secs: f64,
    /// Stop each connection after this many requests (0: no limit, only the duration).
    #[arg(long, default_value_t = 0)]
    requests_per_connection: u64,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// What the tasks recorded.
#[derive(Debug, Default)]
struct Samples {
    ttfb: Vec<Duration>,
    total: Vec<Duration>,
    errors: u64,
    incomplete: u64,
}

/// One request's outcome.
enum Outcome {
    Ok { ttfb: Duration, total: Duration },
    Incomplete,
}

fn parse_headers(raw: &[String]) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for h in raw {
        let Some((name, value)) = h.split_once(':') else {
            bail!("header `{h}` is not `Name: value`");
        };
        map.append(
            HeaderName::from_bytes(name.trim().as_bytes())
                .with_context(|| format!("header name `{name}`"))?,
            HeaderValue::from_str(value.trim())
                .with_context(|| format!("header `{name}` value"))?,
        );
    }
    Ok(map)
}

/// Whether `needle` occurs in `chunk`, or straddles the end of `tail` (the previous chunk's
/// last bytes) and the start of `chunk`.
fn seen(tail: &[u8], chunk: &[u8], needle: &[u8]) -> bool {
    if aihub_bench::find(chunk, needle).is_some() {
        return true;
    }
    if tail.is_empty() {
        return false;
    }
    let head = &chunk[..chunk.len().min(needle.len() - 1)];
    let mut joined = Vec::with_capacity(tail.len() + head.len());
    joined.extend_from_slice(tail);
    joined.extend_from_slice(head);
    aihub_bench::find(&joined, needle).is_some()
}

async fn one(
    client: &reqwest::Client,
    url: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Outcome> {
    let start = Instant::now();
    let mut response = client
        .post(url)
        .headers(headers.clone())
        .body(body.clone())
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("status {}", response.status());
    }
    let sse = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let mut ttfb = None;
    let mut done = false;
    let mut tail: Vec<u8> = Vec::with_capacity(16);
    while let Some(chunk) = response.chunk().await? {
        if chunk.is_empty() {
            continue;
        }
        if ttfb.is_none() && seen(&tail, &chunk, b"data:") {
            ttfb = Some(start.elapsed());
        }
        if !done && seen(&tail, &chunk, b"data: [DONE]") {
            done = true;
        }
        tail.clear();
        tail.extend_from_slice(&chunk[chunk.len().saturating_sub(12)..]);
    }
    let total = start.elapsed();
    if sse && !done {
        return Ok(Outcome::Incomplete);
    }
    Ok(Outcome::Ok {
        ttfb: ttfb.unwrap_or(total),
        total,
    })
}

async fn worker(
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    body: Bytes,
    deadline: Instant,
    max_requests: u64,
) -> Samples {
    let mut s = Samples::default();
    let mut sent = 0u64;
    while Instant::now() < deadline && (max_requests == 0 || sent < max_requests) {
        sent += 1;
        match one(&client, &url, &headers, &body).await {
            Ok(Outcome::Ok { ttfb, total }) => {
                s.ttfb.push(ttfb);
                s.total.push(total);
            }
            Ok(Outcome::Incomplete) => {
                s.errors += 1;
                s.incomplete += 1;
            }
            Err(_) => {
                s.errors += 1;
                // Do not spin on a refused connection.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    s
}

async fn run(args: Args) -> Result<serde_json::Value> {
    let headers = parse_headers(&args.headers)?;
    let body = Bytes::from(
        std::fs::read(&args.body_file)
            .with_context(|| format!("reading {}", args.body_file.display()))?,
    );
    let connections = args.connections.max(1);
    let client = reqwest::Client::builder()
        .http1_only()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(connections)
        .pool_idle_timeout(None)
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the HTTP client")?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.duration_secs.max(0.1));
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        tasks.push(tokio::spawn(worker(
            client.clone(),
            args.url.clone(),
            headers.clone(),
            body.clone(),
            deadline,
            args.requests_per_connection,
        )));
    }
    let mut all = Samples::default();
    for t in tasks {
        let s = t.await.context("a load task panicked")?;
        all.ttfb.extend(s.ttfb);
        all.total.extend(s.total);
        all.errors += s.errors;
        all.incomplete += s.incomplete;
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.ttfb.sort_unstable();
    all.total.sort_unstable();
    let ms = |v: &[Duration], p: f64| aihub_bench::percentile(v, p).map(aihub_bench::millis);
    let requests = all.total.len();
    Ok(serde_json::json!({
        "connections": connections,
        "duration_s": (elapsed * 1000.0).round() / 1000.0,
        "requests": requests,
        "rps": ((requests as f64 / elapsed) * 10.0).round() / 10.0,
        "ttfb_p50_ms": ms(&all.ttfb, 50.0),
        "ttfb_p99_ms": ms(&all.ttfb, 99.0),
        "total_p50_ms": ms(&all.total, 50.0),
        "total_p99_ms": ms(&all.total, 99.0),
        "errors": all.errors,
        "incomplete": all.incomplete,
    }))
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    }
    .context("starting the runtime")?;
    let report = runtime.block_on(run(args))?;
    println!("{report}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_are_found_across_chunk_boundaries() {
        assert!(seen(b"", b"data: x", b"data:"));
        assert!(seen(b"\n\nda", b"ta: x", b"data:"));
        assert!(!seen(b"\n\n", b"ta: x", b"data:"));
        assert!(seen(b"data: [DO", b"NE]\n\n", b"data: [DONE]"));
    }

    #[test]
    fn headers_parse_as_name_colon_value() {
        let h = parse_headers(&["Authorization: Bearer x:y".to_owned()]).expect("valid");
        assert_eq!(h["authorization"], "Bearer x:y");
        assert!(parse_headers(&["nocolon".to_owned()]).is_err());
    }
}
