//! A fake OpenAI server on a loopback port that replays OpenAI's documented wire format
//! (<https://platform.openai.com/docs/api-reference/chat>), with selectable error modes and a
//! record of what it received.
//!
//! Routes: `POST /v1/chat/completions` (a `chat.completion` object, or with `"stream": true` a
//! `text/event-stream` of `chat.completion.chunk` events ending in `data: [DONE]`) and
//! `GET /v1/models`. An error mode answers every route with OpenAI's error body for it.
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

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The `created` timestamp of every object the fake returns (OpenAI's documented example).
const CREATED: u64 = 1_694_268_190;
/// The `id` of every completion the fake returns.
const COMPLETION_ID: &str = "chatcmpl-fake123";
/// The model named in replies when the request names none.
const DEFAULT_MODEL: &str = "gpt-4o-mini";

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
    /// `usage.prompt_tokens` reported.
    pub prompt_tokens: u32,
    /// `usage.completion_tokens` reported.
    pub completion_tokens: u32,
    /// Model ids listed by `GET /v1/models`.
    pub models: Vec<String>,
}

impl Default for FakeBehavior {
    /// Success; the reply `Hello! How can I help?` in four pieces; 9 prompt and 7 completion
    /// tokens; two listed models.
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

    /// The pieces joined: the full reply text.
    pub fn reply_text(&self) -> String {
        self.pieces.concat()
    }
}

/// What the fake saw, shared with its server thread.
#[derive(Debug, Default)]
struct Shared {
    behavior: Mutex<FakeBehavior>,
    requests: AtomicUsize,
    last_body: Mutex<Option<Value>>,
    last_headers: Mutex<Vec<(String, String)>>,
    streams_completed: AtomicUsize,
    client_disconnected: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not hide what the fake recorded.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A running fake OpenAI server. Stops when dropped.
#[derive(Debug)]
pub struct FakeOpenAi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    handle: ServerHandle,
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
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("fake-openai".to_owned())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let server = HttpServer::new(move || {
                        App::new()
                            .app_data(data.clone())
                            .route("/v1/chat/completions", web::post().to(chat_completions))
                            .route("/v1/models", web::get().to(list_models))
                    })
                    .workers(1)
                    .disable_signals()
                    .shutdown_timeout(0)
                    .on_connect(|conn, _| {
                        // Without TCP_NODELAY the first streamed chunk waits ~40 ms.
                        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                            let _ = tcp.set_nodelay(true);
                        }
                    })
                    .bind(("127.0.0.1", 0));
                    let server = match server {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let addr = server.addrs()[0];
                    let running = server.run();
                    let _ = tx.send(Ok((addr, running.handle())));
                    let _ = running.await;
                });
            })
            .expect("spawn the fake OpenAI server thread");
        let (addr, handle) = rx
            .recv()
            .expect("the fake OpenAI server thread reports its address")
            .expect("bind the fake OpenAI server to 127.0.0.1:0");
        FakeOpenAi {
            addr,
            shared,
            handle,
        }
    }

    /// The OpenAI-convention base URL, `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The server root without `/v1`, `http://127.0.0.1:PORT` (Ollama's base URL convention).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the behavior for the following requests.
    pub fn set_behavior(&self, behavior: FakeBehavior) {
        *lock(&self.shared.behavior) = behavior;
    }

    /// Requests received on any route, including failed ones.
    pub fn request_count(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The JSON body of the last request, if it had one.
    pub fn last_request_body(&self) -> Option<Value> {
        lock(&self.shared.last_body).clone()
    }

    /// The `Authorization` header of the last request, e.g. `Bearer sk-test`.
    pub fn last_authorization(&self) -> Option<String> {
        self.last_header("authorization")
    }

    /// A header of the last request, by case-insensitive name.
    pub fn last_header(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        lock(&self.shared.last_headers)
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    /// Streams sent in full, through `data: [DONE]`.
    pub fn streams_completed(&self) -> usize {
        self.shared.streams_completed.load(Ordering::SeqCst)
    }

    /// Whether a client went away before a stream was sent in full (the server dropped the
    /// unfinished response body).
    pub fn client_disconnected(&self) -> bool {
        self.shared.client_disconnected.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout` for [`Self::client_disconnected`]; returns its final value.
    pub async fn wait_for_disconnect(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.client_disconnected() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.client_disconnected()
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        // `stop` sends its command at once; the returned future only waits for completion.
        drop(self.handle.stop(false));
    }
}

/// Records the request and returns the behavior to answer it with.
fn record(shared: &Shared, req: &HttpRequest, body: &[u8]) -> FakeBehavior {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    *lock(&shared.last_body) = serde_json::from_slice(body).ok();
    *lock(&shared.last_headers) = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    lock(&shared.behavior).clone()
}

/// OpenAI's error response for `mode`, or `None` for [`FakeMode::Ok`].
fn error_response(mode: &FakeMode, req: &HttpRequest, model: &str) -> Option<HttpResponse> {
    let body = |message: String, kind: &str, param: Option<&str>, code: Option<&str>| json!({"error": {"message": message, "type": kind, "param": param, "code": code}});
    let response = match mode {
        FakeMode::Ok => return None,
        FakeMode::InvalidApiKey => {
            let key = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            HttpResponse::Unauthorized().json(body(
                format!(
                    "Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys."
                ),
                "invalid_request_error",
                None,
                Some("invalid_api_key"),
            ))
        }
        &FakeMode::RateLimited { retry_after_secs } => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", retry_after_secs.to_string()))
            .insert_header(("x-ratelimit-limit-requests", "3"))
            .insert_header(("x-ratelimit-remaining-requests", "0"))
            .json(body(
                format!(
                    "Rate limit reached for {model} in organization org-fake on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in {retry_after_secs}s. Visit https://platform.openai.com/account/rate-limits to learn more."
                ),
                "requests",
                None,
                Some("rate_limit_exceeded"),
            )),
        FakeMode::InsufficientQuota => HttpResponse::TooManyRequests().json(body(
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.".to_owned(),
            "insufficient_quota",
            None,
            Some("insufficient_quota"),
        )),
        FakeMode::ServerErrorQuotingKey => {
            let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
            HttpResponse::InternalServerError()
                .content_type("text/plain")
                .body(format!("upstream proxy failure for request with {auth}"))
        }
        FakeMode::ServerError => HttpResponse::InternalServerError().json(body(
            "The server had an error while processing your request. Sorry about that!".to_owned(),
            "server_error",
            None,
            None,
        )),
        FakeMode::ContextLengthExceeded => HttpResponse::BadRequest().json(body(
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 130017 tokens. Please reduce the length of the messages.".to_owned(),
            "invalid_request_error",
            Some("messages"),
            Some("context_length_exceeded"),
        )),
        FakeMode::ModelNotFound => HttpResponse::NotFound().json(body(
            format!("The model `{model}` does not exist or you do not have access to it."),
            "invalid_request_error",
            None,
            Some("model_not_found"),
        )),
        FakeMode::RedirectTo(location) => {
            HttpResponse::TemporaryRedirect().insert_header(("location", location.as_str())).finish()
        }
    };
    Some(response)
}

async fn chat_completions(
    req: HttpRequest,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let behavior = record(&shared, &req, &body);
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = request["model"]
        .as_str()
        .unwrap_or(DEFAULT_MODEL)
        .to_owned();
    if let Some(error) = error_response(&behavior.mode, &req, &model) {
        return error;
    }
    if request["stream"].as_bool() == Some(true) {
        let include_usage = request["stream_options"]["include_usage"].as_bool() == Some(true);
        stream_response(&behavior, &model, include_usage, shared.into_inner())
    } else {
        let pieces = u32::try_from(behavior.pieces.len()).unwrap_or(u32::MAX);
        let delay = behavior.chunk_delay.saturating_mul(pieces);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        HttpResponse::Ok().json(completion(&behavior, &model))
    }
}

async fn list_models(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let behavior = record(&shared, &req, &[]);
    if let Some(error) = error_response(&behavior.mode, &req, DEFAULT_MODEL) {
        return error;
    }
    let data: Vec<Value> = behavior
        .models
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_686_935_002, "owned_by": "openai"}))
        .collect();
    HttpResponse::Ok().json(json!({"object": "list", "data": data}))
}

fn usage(behavior: &FakeBehavior) -> Value {
    json!({
        "prompt_tokens": behavior.prompt_tokens,
        "completion_tokens": behavior.completion_tokens,
        "total_tokens": behavior.prompt_tokens + behavior.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    })
}

/// The documented `chat.completion` object.
fn completion(behavior: &FakeBehavior, model: &str) -> Value {
    json!({
        "id": COMPLETION_ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": behavior.reply_text(),
                "refusal": null,
                "annotations": []
            },
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": usage(behavior),
        "service_tier": "default",
        "system_fingerprint": "fp_44709d6fcb"
    })
}

/// The SSE events of a streamed reply, in order: the role chunk with empty content, one chunk
/// per piece, the `stop` chunk with an empty delta, the usage chunk with `choices: []` (when
/// asked for), then `[DONE]`. With `include_usage` every other chunk carries `"usage": null`.
fn stream_events(behavior: &FakeBehavior, model: &str, include_usage: bool) -> Vec<Bytes> {
    let chunk = |choices: Value, usage: Option<Value>| {
        let mut c = json!({
            "id": COMPLETION_ID,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_44709d6fcb",
            "choices": choices,
        });
        if include_usage {
            c["usage"] = usage.unwrap_or(Value::Null);
        }
        Bytes::from(format!("data: {c}\n\n"))
    };
    let choice = |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
    let mut events = vec![chunk(
        choice(json!({"role": "assistant", "content": ""}), Value::Null),
        None,
    )];
    for piece in &behavior.pieces {
        events.push(chunk(choice(json!({"content": piece}), Value::Null), None));
    }
    events.push(chunk(choice(json!({}), json!("stop")), None));
    if include_usage {
        events.push(chunk(json!([]), Some(usage(behavior))));
    }
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    events
}

/// Notes, when dropped, whether the stream it belongs to was sent in full.
struct StreamGuard {
    shared: Arc<Shared>,
    completed: bool,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if self.completed {
            self.shared.streams_completed.fetch_add(1, Ordering::SeqCst);
        } else {
            self.shared
                .client_disconnected
                .store(true, Ordering::SeqCst);
        }
    }
}

fn stream_response(
    behavior: &FakeBehavior,
    model: &str,
    include_usage: bool,
    shared: Arc<Shared>,
) -> HttpResponse {
    let events = stream_events(behavior, model, include_usage)
        .into_iter()
        .enumerate();
    let total = events.len();
    let delay = behavior.chunk_delay;
    let guard = StreamGuard {
        shared,
        completed: false,
    };
    let body =
        futures_util::stream::unfold((events, guard), move |(mut events, mut guard)| async move {
            let (index, event) = events.next()?;
            if index > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            // The last event is `[DONE]`: once it is handed over the stream counts as sent.
            guard.completed = index + 1 == total;
            Some((
                Ok::<Bytes, std::convert::Infallible>(event),
                (events, guard),
            ))
        });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .streaming(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_events_follow_the_documented_order() {
        let behavior = FakeBehavior {
            pieces: vec!["Hi".into()],
            ..FakeBehavior::default()
        };
        let events: Vec<String> = stream_events(&behavior, "gpt-4o-mini", true)
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect();
        assert_eq!(events.len(), 5);
        assert!(
            events
                .iter()
                .all(|e| e.starts_with("data: ") && e.ends_with("\n\n"))
        );
        let json = |i: usize| -> Value {
            serde_json::from_str(events[i].trim_start_matches("data: ").trim()).expect("json event")
        };
        assert_eq!(
            json(0)["choices"][0]["delta"],
            json!({"role": "assistant", "content": ""})
        );
        assert_eq!(json(1)["choices"][0]["delta"]["content"], "Hi");
        assert_eq!(json(1)["usage"], Value::Null);
        assert_eq!(json(2)["choices"][0]["finish_reason"], "stop");
        assert_eq!(json(3)["choices"], json!([]));
        assert_eq!(json(3)["usage"]["total_tokens"], 16);
        assert_eq!(events[4], "data: [DONE]\n\n");
    }

    #[test]
    fn without_include_usage_there_is_no_usage_field() {
        let events = stream_events(&FakeBehavior::default(), "m", false);
        assert_eq!(events.len(), 4 + 3);
        assert!(
            events
                .iter()
                .all(|e| !String::from_utf8_lossy(e).contains("usage"))
        );
    }
}
