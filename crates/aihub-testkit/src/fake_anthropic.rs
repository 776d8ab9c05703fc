//! A fake Anthropic server on a loopback port that replays the Messages API's documented wire
//! format (<https://docs.anthropic.com/en/api/messages>, streaming as in
//! <https://docs.anthropic.com/en/docs/build-with-claude/streaming>, errors as in
//! <https://docs.anthropic.com/en/api/errors>), with selectable error modes and a record of
//! what it received.
//!
//! Routes: `POST /v1/messages` (a `message` object, or with `"stream": true` a
//! `text/event-stream` of named events `message_start`, `content_block_start`, `ping`,
//! `content_block_delta`…, `content_block_stop`, `message_delta`, `message_stop`) and
//! `GET /v1/models` (<https://docs.anthropic.com/en/api/models-list>). Like the real API it
//! answers 401 `authentication_error` without `x-api-key` and 400 `invalid_request_error`
//! without `anthropic-version`, without `max_tokens`, or with a role other than `user` /
//! `assistant` in `messages`. An HTTP error mode answers every route with Anthropic's error
//! body for it; [`AnthropicMode::InBandError`] and [`AnthropicMode::CutOff`] only change
//! streams.
//!
//! The server runs on its own thread under its own actix system, so it works from any test
//! runtime, and stops when the [`FakeAnthropic`] is dropped.
//!
//! ```no_run
//! # use aihub_testkit::fake_anthropic::{AnthropicBehavior, AnthropicMode, FakeAnthropic};
//! let fake = FakeAnthropic::start(AnthropicBehavior::default());
//! let base = fake.base_url(); // http://127.0.0.1:PORT (no /v1, Anthropic's convention)
//! let failing = FakeAnthropic::start(AnthropicBehavior::error(AnthropicMode::Overloaded));
//! ```

use crate::fake_server::lock;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod errors;
mod replies;

use errors::{check_body, check_headers, mode_error};
use replies::{Reply, stream_response};

/// The `id` of every message the fake returns.
pub const MESSAGE_ID: &str = "msg_01FakeXYZ0123456789";
/// The `id` of the `tool_use` block the fake returns.
pub const TOOL_USE_ID: &str = "toolu_01FakeA09q90qw90lq917835";
/// The model named in replies when the request names none.
const DEFAULT_MODEL: &str = "claude-sonnet-4-20250514";
/// The `anthropic-version` the fake expects to be present.
const VERSION_HEADER: &str = "anthropic-version";

/// How the fake answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum AnthropicMode {
    /// Success on every route.
    #[default]
    Ok,
    /// 401 `authentication_error`. Unlike Anthropic (`invalid x-api-key`), the message quotes
    /// the received key, so a test can prove the key never reaches an error.
    InvalidApiKey,
    /// 429 `rate_limit_error` with a `retry-after` header.
    RateLimited {
        /// The `retry-after` value, in seconds.
        retry_after_secs: u64,
    },
    /// 529 `overloaded_error`.
    Overloaded,
    /// 400 `invalid_request_error` saying the credit balance is too low.
    CreditBalance,
    /// 400 `invalid_request_error`: `prompt is too long: 250000 tokens > 200000 maximum`.
    PromptTooLong,
    /// 404 `not_found_error` naming the model.
    NotFound,
    /// 500 `api_error`.
    ServerError,
    /// Streams start normally, then send `event: error` with an `overloaded_error` after the
    /// first two text deltas and end. Non-streaming calls succeed.
    InBandError,
    /// Streams send every text delta and `content_block_stop`, then end without
    /// `message_delta` / `message_stop`. Non-streaming calls succeed.
    CutOff,
}

/// The fake's behavior: a mode, the streamed text, pacing, reported usage and tool use.
#[derive(Debug, Clone, PartialEq)]
pub struct AnthropicBehavior {
    /// Success or one of Anthropic's errors.
    pub mode: AnthropicMode,
    /// The reply text, one `text_delta` per piece; joined for non-streaming replies.
    pub pieces: Vec<String>,
    /// Pause before each streamed event after the first. A non-streaming reply waits
    /// `chunk_delay` times the number of pieces.
    pub chunk_delay: Duration,
    /// `usage.input_tokens` (uncached input).
    pub input_tokens: u32,
    /// `usage.cache_creation_input_tokens`.
    pub cache_creation_input_tokens: u32,
    /// `usage.cache_read_input_tokens`.
    pub cache_read_input_tokens: u32,
    /// `usage.output_tokens` of the finished reply (streams report 1 in `message_start`, then
    /// this cumulative total in `message_delta`).
    pub output_tokens: u32,
    /// When set and the request has `tools`, the reply ends with a `tool_use` block calling
    /// the request's first tool with this input (streamed as `input_json_delta` fragments),
    /// and `stop_reason` is `tool_use`.
    pub tool_input: Option<Value>,
    /// Model ids listed by `GET /v1/models`.
    pub models: Vec<String>,
}

impl Default for AnthropicBehavior {
    /// Success; the reply `Hello! How can I help?` in four pieces; 25 input and 15 output
    /// tokens, nothing cached; no tool use; two listed models.
    fn default() -> Self {
        AnthropicBehavior {
            mode: AnthropicMode::Ok,
            pieces: ["Hello", "!", " How can", " I help?"]
                .map(String::from)
                .to_vec(),
            chunk_delay: Duration::ZERO,
            input_tokens: 25,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            output_tokens: 15,
            tool_input: None,
            models: vec![
                "claude-sonnet-4-20250514".to_owned(),
                "claude-3-5-haiku-20241022".to_owned(),
            ],
        }
    }
}

impl AnthropicBehavior {
    /// Every route answers with `mode`'s error (streams only, for the in-band modes).
    pub fn error(mode: AnthropicMode) -> Self {
        AnthropicBehavior {
            mode,
            ..AnthropicBehavior::default()
        }
    }

    /// Replies call the request's first tool with `input` (the text is `Let me check.`).
    pub fn tool_use(input: Value) -> Self {
        AnthropicBehavior {
            pieces: vec!["Let me".to_owned(), " check.".to_owned()],
            tool_input: Some(input),
            ..AnthropicBehavior::default()
        }
    }

    /// A long, slow stream (`chunks` pieces `tok0 `, `tok1 `, …, `delay` apart).
    pub fn slow_stream(chunks: usize, delay: Duration) -> Self {
        AnthropicBehavior {
            pieces: (0..chunks).map(|i| format!("tok{i} ")).collect(),
            chunk_delay: delay,
            output_tokens: u32::try_from(chunks).unwrap_or(u32::MAX),
            ..AnthropicBehavior::default()
        }
    }

    /// The pieces joined: the full reply text.
    pub fn reply_text(&self) -> String {
        self.pieces.concat()
    }
}

/// What the fake saw, shared with its server thread.
#[derive(Debug, Default)]
struct Shared {
    behavior: Mutex<AnthropicBehavior>,
    rec: crate::fake_server::Recorder,
}

/// A running fake Anthropic server. Stops when dropped.
#[derive(Debug)]
pub struct FakeAnthropic {
    shared: Arc<Shared>,
    server: crate::fake_server::FakeServer,
}

impl FakeAnthropic {
    /// Starts the fake on `127.0.0.1:0` with `behavior`.
    ///
    /// # Panics
    /// When the server thread cannot start or bind (a broken test environment).
    pub fn start(behavior: AnthropicBehavior) -> Self {
        let shared = Arc::new(Shared {
            behavior: Mutex::new(behavior),
            ..Shared::default()
        });
        let data = web::Data::from(shared.clone());
        let server = crate::fake_server::FakeServer::start("fake-anthropic", move |cfg| {
            cfg.app_data(data.clone())
                .route("/v1/messages", web::post().to(messages))
                .route("/v1/models", web::get().to(list_models));
        });
        FakeAnthropic { shared, server }
    }

    /// Anthropic's base URL convention (no `/v1`): `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Replaces the behavior for the following requests.
    pub fn set_behavior(&self, behavior: AnthropicBehavior) {
        *lock(&self.shared.behavior) = behavior;
    }

    /// Requests received on any route, including refused ones.
    pub fn request_count(&self) -> usize {
        self.shared.rec.request_count()
    }

    /// The JSON body of the last request, if it had one.
    pub fn last_request_body(&self) -> Option<Value> {
        self.shared.rec.last_body()
    }

    /// The path and query of the last request, e.g. `/v1/models?limit=1000`.
    pub fn last_uri(&self) -> Option<String> {
        self.shared.rec.last_uri()
    }

    /// A header of the last request, by case-insensitive name.
    pub fn last_header(&self, name: &str) -> Option<String> {
        self.shared.rec.last_header(name)
    }

    /// Streams sent in full (through their last event, whatever the mode).
    pub fn streams_completed(&self) -> usize {
        self.shared.rec.streams_completed()
    }

    /// Whether a client went away before a stream was sent in full.
    pub fn client_disconnected(&self) -> bool {
        self.shared.rec.client_disconnected()
    }

    /// Waits up to `timeout` for [`Self::client_disconnected`]; returns its final value.
    pub async fn wait_for_disconnect(&self, timeout: Duration) -> bool {
        self.shared.rec.wait_for_disconnect(timeout).await
    }
}

/// Records the request and returns the behavior to answer it with.
fn record(shared: &Shared, req: &HttpRequest, body: &[u8]) -> AnthropicBehavior {
    shared.rec.record(req, body);
    lock(&shared.behavior).clone()
}

async fn messages(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let behavior = record(&shared, &req, &body);
    if let Some(refused) = check_headers(&req) {
        return refused;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = request["model"]
        .as_str()
        .unwrap_or(DEFAULT_MODEL)
        .to_owned();
    if let Some(error) = mode_error(&behavior.mode, &req, &model) {
        return error;
    }
    if let Some(refused) = check_body(&request) {
        return refused;
    }
    // The tool the reply calls: the request's first, when the behavior asks for tool use.
    let tool = behavior.tool_input.as_ref().and_then(|input| {
        let name = request["tools"][0]["name"].as_str()?;
        Some((name.to_owned(), input.clone()))
    });
    let reply = Reply {
        behavior: &behavior,
        model: &model,
        tool: tool.as_ref().map(|(n, i)| (n.as_str(), i)),
    };
    if request["stream"].as_bool() == Some(true) {
        stream_response(&reply, shared.into_inner())
    } else {
        let pieces = u32::try_from(behavior.pieces.len()).unwrap_or(u32::MAX);
        let delay = behavior.chunk_delay.saturating_mul(pieces);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        HttpResponse::Ok().json(reply.message())
    }
}

async fn list_models(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let behavior = record(&shared, &req, &[]);
    if let Some(refused) = check_headers(&req) {
        return refused;
    }
    if let Some(error) = mode_error(&behavior.mode, &req, DEFAULT_MODEL) {
        return error;
    }
    let data: Vec<Value> = behavior
        .models
        .iter()
        .map(|id| {
            json!({
                "type": "model",
                "id": id,
                "display_name": format!("Fake {id}"),
                "created_at": "2025-02-19T00:00:00Z"
            })
        })
        .collect();
    HttpResponse::Ok().json(json!({
        "data": data,
        "has_more": false,
        "first_id": behavior.models.first(),
        "last_id": behavior.models.last(),
    }))
}

#[cfg(test)]
mod tests;
