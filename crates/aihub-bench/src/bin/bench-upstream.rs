//! `bench-upstream`: the benchmark's fast local fake OpenAI upstream.
//!
//! One actix-web worker (pin it with `taskset`), `TCP_NODELAY` on every accepted socket, and
//! precomputed replies from `aihub_bench`:
//! - `POST /v1/chat/completions`: the 431-byte `chat.completion` of
//!   [`aihub_bench::COMPLETION_BODY`], or when the body holds `"stream": true` the chunked
//!   `text/event-stream` of [`aihub_bench::STREAM_EVENTS`] (role, five content chunks, finish,
//!   usage, `[DONE]`), sent at once with no pacing;
//! - `GET /v1/models`: [`aihub_bench::MODELS_BODY`].
//!
//! Any API key is accepted. Usage: `bench-upstream --port 9101 [--host 127.0.0.1]`.

use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, web};
use bytes::Bytes;
use clap::Parser;
use std::convert::Infallible;

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
}

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

async fn models() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .body(Bytes::from_static(aihub_bench::MODELS_BODY.as_bytes()))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let addr = (args.host.clone(), args.port);
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(|| {
            App::new()
                .route("/v1/chat/completions", web::post().to(chat_completions))
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
