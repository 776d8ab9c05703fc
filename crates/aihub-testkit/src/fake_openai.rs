//! A fake OpenAI server on a loopback port that replays OpenAI's documented wire format
//! (<https://platform.openai.com/docs/api-reference/chat>), with selectable error and stream
//! fault modes and a record of what it received.
//!
//! Routes:
//! - `POST /v1/chat/completions`: a `chat.completion` object, or with `"stream": true` a
//!   `text/event-stream` of `chat.completion.chunk` events ending in `data: [DONE]`. When the
//!   request has `tools` and [`FakeBehavior::reply_with_tool_call`] is set, the reply is that
//!   tool call (streamed as its opening piece and two argument pieces).
//! - `POST /v1/embeddings`: one deterministic vector per input ([`fake_embedding`]), as floats
//!   or, with `"encoding_format": "base64"`, as base64 little-endian `f32`s.
//! - `GET /v1/models`.
//!
//! An error mode answers every route with OpenAI's error body for it (with
//! [`FakeBehavior::fail_first`], only the first chat requests); stream fault modes break
//! streamed replies only.
//!
//! The server runs on its own thread under its own actix system, so it works from any test
//! runtime (`#[tokio::test]`, `#[actix_web::test]`) and stops when the [`FakeOpenAi`] is
//! dropped.
//!
//! ```no_run
//! # use aihub_testkit::fake_openai::{FakeBehavior, FakeMode, FakeOpenAi};
//! let fake = FakeOpenAi::start(FakeBehavior::default());
//! let base = fake.base_url(); // http://127.0.0.1:PORT/v1
//! let failing = FakeOpenAi::start(FakeBehavior::error(FakeMode::InvalidApiKey));
//! ```

use crate::fake_server::lock;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod errors;
mod replies;

use errors::{error_response, malformed_json};
use replies::{base64_encode, completion, plan, stream_events, stream_response};

/// The `created` timestamp of every object the fake returns (OpenAI's documented example).
const CREATED: u64 = 1_694_268_190;
/// The `id` of every completion the fake returns.
const COMPLETION_ID: &str = "chatcmpl-fake123";
/// The `id` of the tool call the fake makes.
pub const TOOL_CALL_ID: &str = "call_fake123";
/// The model named in replies when the request names none.
const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// The vector length of embeddings when the request sets no `dimensions`.
pub const EMBEDDING_DIMENSIONS: usize = 8;

/// How the fake answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FakeMode {
    /// Success on every route.
    #[default]
    Ok,
    /// 401 with OpenAI's `invalid_api_key` body. Unlike OpenAI, which masks the key, the message
    /// quotes the full received key, so a test can prove the key never reaches an error.
    InvalidApiKey,
    /// 429 with OpenAI's `rate_limit_exceeded` body and a `Retry-After` header.
    RateLimited {
        /// The `Retry-After` value, in seconds.
        retry_after_secs: u64,
    },
    /// 429 with OpenAI's `insufficient_quota` body (out of credit, not a rate limit).
    InsufficientQuota,
    /// 500 with OpenAI's `server_error` body.
    ServerError,
    /// 500 whose plain-text body quotes the received key, as a broken proxy in front of a
    /// vendor might: clients log 5xx bodies, so this proves the key still reaches no log.
    ServerErrorQuotingKey,
    /// 400 with OpenAI's `context_length_exceeded` body.
    ContextLengthExceeded,
    /// 404 with OpenAI's `model_not_found` body.
    ModelNotFound,
    /// 307 to the given URL, to prove a client does not follow redirects (which would carry
    /// the key to another host).
    RedirectTo(String),
    /// 502 with an HTML body, as a load balancer in front of a vendor answers.
    BadGateway,
    /// 503 with OpenAI's overloaded `server_error` body.
    ServiceUnavailable,
    /// 200 `application/json` whose body is not JSON (cut off), on every route and for streamed
    /// chat requests too.
    MalformedJson,
    /// Streams send their first 2 events, then hang without closing.
    StallMidStream,
    /// Streams send their first 2 events, then
    /// `data: {"error": {... "type": "server_error" ...}}` and close.
    InBandError,
    /// Streams send their first 2 events, then `data: {not json`, then `data: [DONE]`.
    MalformedSse,
    /// Streams send their first 2 events, then close without `data: [DONE]`.
    EofWithoutDone,
}

impl FakeMode {
    /// Whether the mode only breaks streamed replies (everything else succeeds).
    fn is_stream_fault(&self) -> bool {
        matches!(
            self,
            FakeMode::StallMidStream
                | FakeMode::InBandError
                | FakeMode::MalformedSse
                | FakeMode::EofWithoutDone
        )
    }
}

/// The fake's behavior: a mode, the streamed text pieces, pacing and reported usage.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeBehavior {
    /// Success or one of OpenAI's errors.
    pub mode: FakeMode,
    /// The reply text, one streamed content delta per piece; joined for non-streaming replies.
    pub pieces: Vec<String>,
    /// Pause before each streamed chunk after the first. A non-streaming reply waits as long
    /// as the whole stream would (`chunk_delay` times the number of pieces).
    pub chunk_delay: Duration,
    /// `usage.prompt_tokens` reported (chat and embeddings).
    pub prompt_tokens: u32,
    /// `usage.completion_tokens` reported.
    pub completion_tokens: u32,
    /// Model ids listed by `GET /v1/models`.
    pub models: Vec<String>,
    /// `(name, arguments)`: when a chat request has `tools`, reply with this one tool call
    /// (id [`TOOL_CALL_ID`], `finish_reason: "tool_calls"`, no text) instead of the pieces.
    pub reply_with_tool_call: Option<(String, String)>,
    /// When above 0, only the first `fail_first` chat requests (counted from the last
    /// [`FakeOpenAi::set_behavior`]) answer with `mode`; later ones, and every other route,
    /// succeed. 0 applies `mode` to every request.
    pub fail_first: usize,
    /// Sleep before sending response headers, on every route.
    pub first_byte_delay: Option<Duration>,
}

impl Default for FakeBehavior {
    /// Success; the reply `Hello! How can I help?` in four pieces; 9 prompt and 7 completion
    /// tokens; two listed models; no tool call, no failures, no delays.
    fn default() -> Self {
        FakeBehavior {
            mode: FakeMode::Ok,
            pieces: ["Hello", "!", " How can", " I help?"]
                .map(String::from)
                .to_vec(),
            chunk_delay: Duration::ZERO,
            prompt_tokens: 9,
            completion_tokens: 7,
            models: vec!["gpt-4o-mini".to_owned(), "gpt-4o".to_owned()],
            reply_with_tool_call: None,
            fail_first: 0,
            first_byte_delay: None,
        }
    }
}

impl FakeBehavior {
    /// Every route answers with `mode`'s error.
    pub fn error(mode: FakeMode) -> Self {
        FakeBehavior {
            mode,
            ..FakeBehavior::default()
        }
    }

    /// A long, slow stream (`chunks` pieces `tok0 `, `tok1 `, …, `delay` apart), so a test can
    /// stop it midway.
    pub fn slow_stream(chunks: usize, delay: Duration) -> Self {
        FakeBehavior {
            pieces: (0..chunks).map(|i| format!("tok{i} ")).collect(),
            chunk_delay: delay,
            completion_tokens: u32::try_from(chunks).unwrap_or(u32::MAX),
            ..FakeBehavior::default()
        }
    }

    /// Success, except that a chat request with `tools` is answered by a call of `name` with
    /// `arguments` (JSON text).
    pub fn tool_call(name: &str, arguments: &str) -> Self {
        FakeBehavior {
            reply_with_tool_call: Some((name.to_owned(), arguments.to_owned())),
            ..FakeBehavior::default()
        }
    }

    /// The pieces joined: the full reply text.
    pub fn reply_text(&self) -> String {
        self.pieces.concat()
    }
}

/// The deterministic vector the fake returns for `text`: `dimensions` values
/// `((chars + j) % 97) / 8` for `j` in `0..dimensions`, where `chars` is the text's length in
/// characters (every value is exact in `f32`, so JSON round trips compare equal).
pub fn fake_embedding(text: &str, dimensions: usize) -> Vec<f32> {
    let chars = text.chars().count();
    (0..dimensions)
        .map(|j| ((chars + j) % 97) as f32 / 8.0)
        .collect()
}

/// What the fake saw, shared with its server thread.
#[derive(Debug, Default)]
struct Shared {
    behavior: Mutex<FakeBehavior>,
    /// Chat requests since the behavior was last set (for `fail_first`).
    chat_requests: AtomicUsize,
    rec: crate::fake_server::Recorder,
}

/// A running fake OpenAI server. Stops when dropped.
#[derive(Debug)]
pub struct FakeOpenAi {
    shared: Arc<Shared>,
    server: crate::fake_server::FakeServer,
}

impl FakeOpenAi {
    /// Starts the fake on `127.0.0.1:0` with `behavior`.
    ///
    /// # Panics
    /// When the server thread cannot start or bind (a broken test environment).
    pub fn start(behavior: FakeBehavior) -> Self {
        let shared = Arc::new(Shared {
            behavior: Mutex::new(behavior),
            ..Shared::default()
        });
        let data = web::Data::from(shared.clone());
        let server = crate::fake_server::FakeServer::start("fake-openai", move |cfg| {
            cfg.app_data(data.clone())
                .route("/v1/chat/completions", web::post().to(chat_completions))
                .route("/v1/embeddings", web::post().to(embeddings))
                .route("/v1/models", web::get().to(list_models));
        });
        FakeOpenAi { shared, server }
    }

    /// The OpenAI-convention base URL, `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.server.addr)
    }

    /// The server root without `/v1`, `http://127.0.0.1:PORT` (Ollama's base URL convention).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Replaces the behavior for the following requests (and restarts the `fail_first` count).
    pub fn set_behavior(&self, behavior: FakeBehavior) {
        let mut current = lock(&self.shared.behavior);
        *current = behavior;
        self.shared.chat_requests.store(0, Ordering::SeqCst);
    }

    /// Requests received on any route, including failed ones.
    pub fn request_count(&self) -> usize {
        self.shared.rec.request_count()
    }

    /// The JSON body of the last request, if it had one.
    pub fn last_request_body(&self) -> Option<Value> {
        self.shared.rec.last_body()
    }

    /// The path of the last request, e.g. `/v1/embeddings`.
    pub fn last_request_path(&self) -> Option<String> {
        self.shared.rec.last_path()
    }

    /// The `Authorization` header of the last request, e.g. `Bearer sk-test`.
    pub fn last_authorization(&self) -> Option<String> {
        self.last_header("authorization")
    }

    /// A header of the last request, by case-insensitive name.
    pub fn last_header(&self, name: &str) -> Option<String> {
        self.shared.rec.last_header(name)
    }

    /// Streams sent in full, through `data: [DONE]`.
    pub fn streams_completed(&self) -> usize {
        self.shared.rec.streams_completed()
    }

    /// Whether a client went away before a stream was sent in full (the server dropped the
    /// unfinished response body).
    pub fn client_disconnected(&self) -> bool {
        self.shared.rec.client_disconnected()
    }

    /// Waits up to `timeout` for [`Self::client_disconnected`]; returns its final value.
    pub async fn wait_for_disconnect(&self, timeout: Duration) -> bool {
        self.shared.rec.wait_for_disconnect(timeout).await
    }
}

/// Records the request and returns the behavior to answer it with.
fn record(shared: &Shared, req: &HttpRequest, body: &[u8]) -> FakeBehavior {
    shared.rec.record(req, body);
    lock(&shared.behavior).clone()
}

/// The mode a request is answered with: with `fail_first`, the configured mode for the first
/// chat requests and success afterwards (and on other routes).
fn mode_for(shared: &Shared, behavior: &FakeBehavior, chat: bool) -> FakeMode {
    if behavior.fail_first == 0 {
        return behavior.mode.clone();
    }
    if chat && shared.chat_requests.fetch_add(1, Ordering::SeqCst) < behavior.fail_first {
        behavior.mode.clone()
    } else {
        FakeMode::Ok
    }
}

async fn first_byte_delay(behavior: &FakeBehavior) {
    if let Some(delay) = behavior.first_byte_delay {
        tokio::time::sleep(delay).await;
    }
}

async fn chat_completions(
    req: HttpRequest,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let behavior = record(&shared, &req, &body);
    let mode = mode_for(&shared, &behavior, true);
    first_byte_delay(&behavior).await;
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = request["model"]
        .as_str()
        .unwrap_or(DEFAULT_MODEL)
        .to_owned();
    if let Some(error) = error_response(&mode, &req, &model) {
        return error;
    }
    if mode == FakeMode::MalformedJson {
        return malformed_json();
    }
    let has_tools = request["tools"].as_array().is_some_and(|t| !t.is_empty());
    let tool_call = behavior.reply_with_tool_call.clone().filter(|_| has_tools);
    if request["stream"].as_bool() == Some(true) {
        let include_usage = request["stream_options"]["include_usage"].as_bool() == Some(true);
        let events = stream_events(&behavior, &model, include_usage, tool_call.as_ref());
        stream_response(
            plan(events, &mode),
            behavior.chunk_delay,
            shared.into_inner(),
        )
    } else {
        let pieces = u32::try_from(behavior.pieces.len()).unwrap_or(u32::MAX);
        let delay = behavior.chunk_delay.saturating_mul(pieces);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        HttpResponse::Ok().json(completion(&behavior, &model, tool_call.as_ref()))
    }
}

async fn list_models(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let behavior = record(&shared, &req, &[]);
    let mode = mode_for(&shared, &behavior, false);
    first_byte_delay(&behavior).await;
    if let Some(error) = error_response(&mode, &req, DEFAULT_MODEL) {
        return error;
    }
    if mode == FakeMode::MalformedJson {
        return malformed_json();
    }
    let data: Vec<Value> = behavior
        .models
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_686_935_002, "owned_by": "openai"}))
        .collect();
    HttpResponse::Ok().json(json!({"object": "list", "data": data}))
}

/// `POST /v1/embeddings`
/// (<https://platform.openai.com/docs/api-reference/embeddings/create>).
async fn embeddings(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let behavior = record(&shared, &req, &body);
    let mode = mode_for(&shared, &behavior, false);
    first_byte_delay(&behavior).await;
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = request["model"]
        .as_str()
        .unwrap_or("text-embedding-3-small")
        .to_owned();
    if let Some(error) = error_response(&mode, &req, &model) {
        return error;
    }
    if mode == FakeMode::MalformedJson {
        return malformed_json();
    }
    let inputs: Option<Vec<String>> = match &request["input"] {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    };
    let Some(inputs) = inputs.filter(|i| !i.is_empty()) else {
        return HttpResponse::BadRequest().json(json!({"error": {
            "message": "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
            "type": "invalid_request_error", "param": null, "code": null}}));
    };
    let dimensions = request["dimensions"]
        .as_u64()
        .and_then(|d| usize::try_from(d).ok())
        .unwrap_or(EMBEDDING_DIMENSIONS);
    let base64 = request["encoding_format"].as_str() == Some("base64");
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let vector = fake_embedding(text, dimensions);
            let embedding = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(base64_encode(&bytes))
            } else {
                json!(vector)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    HttpResponse::Ok().json(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": behavior.prompt_tokens, "total_tokens": behavior.prompt_tokens}
    }))
}

#[cfg(test)]
mod tests;
