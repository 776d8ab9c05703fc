//! `bench-floor`: the benchmark's bare pass-through, the floor the gateway is measured against.
//!
//! Built from the gateway's own stack (actix-web server, one shared `reqwest` client with the
//! workspace's features) and doing nothing else: `POST /v1/chat/completions` forwards the
//! request body as-is to `--upstream` and streams the reply back (status, `content-type`,
//! body chunk by chunk, so SSE passes through as it arrives; a reply with a `content-length`
//! keeps it). No auth, no parsing, no accounting. `--workers` actix workers (default 1, like
//! the benchmark's gateway), `TCP_NODELAY` on every accepted socket.
//!
//! Usage: `bench-floor --port 9103 --upstream http://127.0.0.1:9101/v1/chat/completions`.

use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use bytes::Bytes;
use clap::Parser;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "bench-floor",
    about = "Bare actix-web + reqwest pass-through, the floor of AI Hub's benchmark"
)]
struct Args {
    /// Port to listen on.
    #[arg(long, default_value_t = 9103)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Full URL the request bodies are POSTed to.
    #[arg(long)]
    upstream: String,
    /// actix-web workers.
    #[arg(long, default_value_t = 1)]
    workers: usize,
}

/// The shared client and where it sends requests.
struct Upstream {
    client: reqwest::Client,
    url: String,
}

async fn chat_completions(upstream: web::Data<Upstream>, body: Bytes) -> HttpResponse {
    let sent = upstream
        .client
        .post(&upstream.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let reply = match sent {
        Ok(reply) => reply,
        Err(e) => return HttpResponse::BadGateway().body(e.to_string()),
    };
    // reqwest and actix-web use different `http` crate versions: copy by value.
    let status = StatusCode::from_u16(reply.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = HttpResponse::build(status);
    if let Some(ct) = reply.headers().get(reqwest::header::CONTENT_TYPE) {
        out.insert_header((header::CONTENT_TYPE, ct.as_bytes()));
    }
    if let Some(len) = reply.content_length() {
        out.no_chunking(len);
    }
    out.streaming(reply.bytes_stream())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .tcp_nodelay(true)
        .build()
        .context("building the HTTP client")?;
    let upstream = web::Data::new(Upstream {
        client,
        url: args.upstream.clone(),
    });
    let addr = (args.host.clone(), args.port);
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(upstream.clone())
                .route("/v1/chat/completions", web::post().to(chat_completions))
        })
        .on_connect(|conn, _| {
            // As in the gateway: actix does not set TCP_NODELAY itself.
            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            }
        })
        .workers(args.workers.max(1))
        .backlog(4096)
        .bind(addr)?;
        eprintln!(
            "bench-floor listening on http://{}:{}/v1, forwarding to {}",
            args.host, args.port, args.upstream
        );
        server.run().await
    })?;
    Ok(())
}
