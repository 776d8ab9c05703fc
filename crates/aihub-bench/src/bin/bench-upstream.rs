//! `bench-upstream`: the benchmark's fast local fake OpenAI upstream.
//!
//! One actix-web worker (pin it with `taskset`), `TCP_NODELAY` on every accepted socket, and
//! precomputed replies from `aihub_bench`:
//! - `POST /v1/chat/completions`: the 431-byte `chat.completion` of
//!   [`aihub_bench::COMPLETION_BODY`], or when the body holds `"stream": true` the chunked
//!   `text/event-stream` of [`aihub_bench::STREAM_EVENTS`] (role, five content chunks, finish,
//!   usage, `[DONE]`), sent at once with no pacing;
//! - `POST /slow/v1/chat/completions`: the same, except that a streamed reply is paced: the
//!   first event at once, then one event every `--slow-stream-ms` (default 500), so the stream
//!   stays open for 8 × that long. The benchmark points a second provider at `/slow/v1` to hold
//!   many streams open through the gateway at once;
//! - `GET /v1/models`: [`aihub_bench::MODELS_BODY`].
//!
//! Any API key is accepted. Usage: `bench-upstream --port 9101 [--host 127.0.0.1]
//! [--slow-stream-ms 500]`.

use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, web};
use bytes::Bytes;
use clap::Parser;
use std::convert::Infallible;
use std::time::Duration;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "bench-upstream",
    about = "Fast fake OpenAI upstream for AI Hub's benchmark"
)]
struct Args {
    /// Port to listen on.
    #[arg(long, default_value_t = 9101)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Milliseconds between the events of a stream served under `/slow/v1`.
    #[arg(long, default_value_t = 500)]
    slow_stream_ms: u64,
}

/// The gap between the events of a slow stream.
#[derive(Debug, Clone, Copy)]
struct Pacing(Duration);

async fn chat_completions(body: Bytes) -> HttpResponse {
    if aihub_bench::wants_stream(&body) {
        let events = aihub_bench::STREAM_EVENTS
            .iter()
            .map(|e| Ok::<Bytes, Infallible>(Bytes::from_static(e.as_bytes())));
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/event-stream"))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .streaming(futures_util::stream::iter(events))
    } else {
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .body(Bytes::from_static(aihub_bench::COMPLETION_BODY.as_bytes()))
    }
}

async fn slow_chat_completions(pacing: web::Data<Pacing>, body: Bytes) -> HttpResponse {
    if !aihub_bench::wants_stream(&body) {
        return chat_completions(body).await;
    }
    let gap = pacing.0;
    let events = futures_util::stream::unfold(0usize, move |i| async move {
        let event = aihub_bench::STREAM_EVENTS.get(i)?;
        if i > 0 {
            actix_web::rt::time::sleep(gap).await;
        }
        Some((
            Ok::<Bytes, Infallible>(Bytes::from_static(event.as_bytes())),
            i + 1,
        ))
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .streaming(events)
}

async fn models() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(Bytes::from_static(aihub_bench::MODELS_BODY.as_bytes()))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let addr = (args.host.clone(), args.port);
    let pacing = web::Data::new(Pacing(Duration::from_millis(args.slow_stream_ms)));
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(pacing.clone())
                .route("/v1/chat/completions", web::post().to(chat_completions))
                .route(
                    "/slow/v1/chat/completions",
                    web::post().to(slow_chat_completions),
                )
                .route("/v1/models", web::get().to(models))
        })
        .on_connect(|conn, _| {
            // actix does not set TCP_NODELAY itself; without it small writes wait for ACKs.
            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            }
        })
        .workers(1)
        .backlog(4096)
        .bind(addr)?;
        eprintln!(
            "bench-upstream listening on http://{}:{}/v1",
            args.host, args.port
        );
        server.run().await
    })?;
    Ok(())
}
