//! A fake Gemini API server on a loopback port that replays Google's documented wire format
//! (<https://ai.google.dev/api/generate-content>, <https://ai.google.dev/api/embeddings>,
//! <https://ai.google.dev/api/models>), with selectable error modes and a record of what it
//! received.
//!
//! Routes (base URL without a version, like the real one):
//! - `POST /v1beta/models/{model}:generateContent`: a `GenerateContentResponse`;
//! - `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`: `text/event-stream` of
//!   `data: {GenerateContentResponse}` events separated by `\r\n\r\n`, the last one with a
//!   `finishReason` (there is no `[DONE]`);
//! - `POST /v1beta/models/{model}:batchEmbedContents`: one embedding per request, in order;
//! - `GET /v1beta/models?pageSize=&pageToken=`: the models, paginated with `nextPageToken`.
//!
//! Like the real API, every route wants the key in the `x-goog-api-key` header and answers
//! 400 `API_KEY_INVALID` when it is missing or wrong; a `?key=` query parameter is recorded
//! ([`FakeGemini::last_query`]) but not accepted, so a test proves the key stays out of URLs.
//!
//! The server runs on its own thread under its own actix system, so it works from any test
//! runtime, and stops when the [`FakeGemini`] is dropped.
//!
//! ```no_run
//! # use aihub_testkit::fake_gemini::{FakeGemini, GeminiBehavior, GeminiMode, FAKE_GEMINI_KEY};
//! let fake = FakeGemini::start(GeminiBehavior::default());
//! let base = fake.base_url(); // http://127.0.0.1:PORT, key FAKE_GEMINI_KEY
//! let failing = FakeGemini::start(GeminiBehavior::mode(GeminiMode::Unavailable));
//! ```

use crate::fake_server::lock;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The API key the fake accepts unless the behavior names another.
pub const FAKE_GEMINI_KEY: &str = "AIzaSy-fake-gemini-key-0123456789";
/// The `responseId` of every reply.
const RESPONSE_ID: &str = "fake-gemini-response-1";

/// How the fake answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GeminiMode {
    /// Success on every route.
    #[default]
    Ok,
    /// 400 `INVALID_ARGUMENT` with `ErrorInfo.reason: API_KEY_INVALID` on every route (also
    /// what any mode answers to a missing or wrong key). Unlike Google, the message quotes the
    /// received key, so a test can prove the key never reaches an error.
    InvalidApiKey,
    /// 429 `RESOURCE_EXHAUSTED` with a `Retry-After` header and a `RetryInfo` detail, both
    /// `retry_after_secs`.
    RateLimited {
        /// Seconds, in the header and in `retryDelay`.
        retry_after_secs: u64,
    },
    /// 429 `RESOURCE_EXHAUSTED` with only the `RetryInfo` detail (no header), as Google
    /// usually answers.
    RateLimitedRetryInfoOnly {
        /// Seconds in `retryDelay` (sent as `"{n}s"`).
        retry_delay_secs: u64,
    },
    /// 500 `INTERNAL`.
    ServerError,
    /// 503 `UNAVAILABLE` ("The model is overloaded").
    Unavailable,
    /// 504 `DEADLINE_EXCEEDED`.
    DeadlineExceeded,
    /// 404 `NOT_FOUND` (the model does not exist for this API version).
    NotFound,
    /// 400 `FAILED_PRECONDITION` asking to enable billing.
    BillingRequired,
    /// 400 `INVALID_ARGUMENT`: the input token count exceeds the maximum.
    TooManyTokens,
    /// Chat answers 200 with `promptFeedback.blockReason: SAFETY` and no candidates (one SSE
    /// event when streaming). Other routes succeed.
    PromptBlocked,
    /// Streams the pieces, then a candidate with `finishReason: SAFETY` and no content; a
    /// non-streaming chat answers that blocked candidate alone. Other routes succeed.
    SafetyMidStream,
    /// Streams the first piece, then an in-band `{"error": {503 UNAVAILABLE}}` event.
    ErrorMidStream,
    /// Streams the pieces and closes without any `finishReason`; a non-streaming chat answers
    /// a JSON body cut in half. Other routes succeed.
    CutOff,
    /// Chat replies with the behavior's `function_calls` as `functionCall` parts (streamed one
    /// call per event, the last event with `finishReason: STOP`).
    FunctionCall,
}

/// The fake's behavior.
#[derive(Debug, Clone, PartialEq)]
pub struct GeminiBehavior {
    /// Success or one of Gemini's failures.
    pub mode: GeminiMode,
    /// The only key accepted in `x-goog-api-key`.
    pub api_key: String,
    /// The reply text, one streamed event per piece; joined for non-streaming replies.
    pub pieces: Vec<String>,
    /// Pause before each streamed event after the first.
    pub chunk_delay: Duration,
    /// `usageMetadata.promptTokenCount`.
    pub prompt_tokens: u32,
    /// `usageMetadata.candidatesTokenCount` (final value; streamed events count up to it).
    pub candidates_tokens: u32,
    /// `usageMetadata.thoughtsTokenCount`; left out when 0.
    pub thoughts_tokens: u32,
    /// `(name, args)` of the calls made in [`GeminiMode::FunctionCall`].
    pub function_calls: Vec<(String, Value)>,
    /// Model ids listed by `GET /v1beta/models` (sent as `models/{id}`).
    pub models: Vec<String>,
    /// Models per page of the list (at least 1).
    pub models_page_size: usize,
    /// Length of each embedding when the request gives no `outputDimensionality`.
    pub embedding_dimensions: usize,
}

impl Default for GeminiBehavior {
    /// Success with [`FAKE_GEMINI_KEY`]; the reply `Hello! How can I help?` in four pieces;
    /// 9 prompt and 7 candidate tokens; one `get_weather` call for the function-call mode;
    /// three models listed two per page; 4-dimensional embeddings.
    fn default() -> Self {
        GeminiBehavior {
            mode: GeminiMode::Ok,
            api_key: FAKE_GEMINI_KEY.to_owned(),
            pieces: ["Hello", "!", " How can", " I help?"]
                .map(String::from)
                .to_vec(),
            chunk_delay: Duration::ZERO,
            prompt_tokens: 9,
            candidates_tokens: 7,
            thoughts_tokens: 0,
            function_calls: vec![("get_weather".to_owned(), json!({"location": "Paris"}))],
            models: vec![
                "gemini-1.5-flash".to_owned(),
                "gemini-1.5-pro".to_owned(),
                "text-embedding-004".to_owned(),
            ],
            models_page_size: 2,
            embedding_dimensions: 4,
        }
    }
}

impl GeminiBehavior {
    /// The default behavior in `mode`.
    pub fn mode(mode: GeminiMode) -> Self {
        GeminiBehavior {
            mode,
            ..GeminiBehavior::default()
        }
    }

    /// A long, slow stream (`chunks` pieces `tok0 `, `tok1 `, …, `delay` apart), so a test can
    /// drop it midway.
    pub fn slow_stream(chunks: usize, delay: Duration) -> Self {
        GeminiBehavior {
            pieces: (0..chunks).map(|i| format!("tok{i} ")).collect(),
            chunk_delay: delay,
            candidates_tokens: u32::try_from(chunks).unwrap_or(u32::MAX),
            ..GeminiBehavior::default()
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
    behavior: Mutex<GeminiBehavior>,
    last_query: Mutex<Option<String>>,
    log: Mutex<Vec<String>>,
    rec: crate::fake_server::Recorder,
}

/// A running fake Gemini server. Stops when dropped.
#[derive(Debug)]
pub struct FakeGemini {
    shared: Arc<Shared>,
    server: crate::fake_server::FakeServer,
}

impl FakeGemini {
    /// Starts the fake on `127.0.0.1:0` with `behavior`.
    ///
    /// # Panics
    /// When the server thread cannot start or bind (a broken test environment).
    pub fn start(behavior: GeminiBehavior) -> Self {
        let shared = Arc::new(Shared {
            behavior: Mutex::new(behavior),
            ..Shared::default()
        });
        let data = web::Data::from(shared.clone());
        let server = crate::fake_server::FakeServer::start("fake-gemini", move |cfg| {
            cfg.app_data(data.clone())
                .route("/v1beta/models", web::get().to(list_models))
                .route("/v1beta/models/{target}", web::post().to(model_method));
        });
        FakeGemini { shared, server }
    }

    /// The Gemini-convention base URL (no version), `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Replaces the behavior for the following requests.
    pub fn set_behavior(&self, behavior: GeminiBehavior) {
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

    /// A header of the last request, by case-insensitive name.
    pub fn last_header(&self, name: &str) -> Option<String> {
        self.shared.rec.last_header(name)
    }

    /// The path of the last request, e.g. `/v1beta/models/gemini-1.5-flash:generateContent`.
    pub fn last_path(&self) -> Option<String> {
        self.shared.rec.last_path()
    }

    /// The raw query string of the last request (`alt=sse`, `pageSize=…`), `None` when it had
    /// none.
    pub fn last_query(&self) -> Option<String> {
        lock(&self.shared.last_query).clone()
    }

    /// Every request so far as `METHOD path?query`, in order.
    pub fn request_log(&self) -> Vec<String> {
        lock(&self.shared.log).clone()
    }

    /// Streams sent in full, through the event with the `finishReason`.
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
fn record(shared: &Shared, req: &HttpRequest, body: &[u8]) -> GeminiBehavior {
    shared.rec.record(req, body);
    let query = req.query_string();
    *lock(&shared.last_query) = (!query.is_empty()).then(|| query.to_owned());
    let line = if query.is_empty() {
        format!("{} {}", req.method(), req.path())
    } else {
        format!("{} {}?{query}", req.method(), req.path())
    };
    lock(&shared.log).push(line);
    lock(&shared.behavior).clone()
}

/// A `google.rpc.Status` error body.
fn status_body(code: u16, status: &str, message: &str, details: Value) -> Value {
    let mut error = json!({"code": code, "message": message, "status": status});
    if details.as_array().is_some_and(|d| !d.is_empty()) {
        error["details"] = details;
    }
    json!({ "error": error })
}

fn error(code: u16, body: Value) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(code)
        .unwrap_or(actix_web::http::StatusCode::IM_A_TEAPOT);
    HttpResponse::build(status).json(body)
}

fn key_invalid(received: &str) -> HttpResponse {
    error(
        400,
        status_body(
            400,
            "INVALID_ARGUMENT",
            &format!("API key not valid. Please pass a valid API key. (received: {received})"),
            json!([
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"}
                },
                {
                    "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                    "locale": "en-US",
                    "message": "API key not valid. Please pass a valid API key."
                }
            ]),
        ),
    )
}

fn rate_limited(model: &str, secs: u64) -> Value {
    status_body(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
        json!([
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{
                    "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                    "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    "quotaDimensions": {"location": "global", "model": model},
                    "quotaValue": "15"
                }]
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{
                    "description": "Learn more about Gemini API quotas",
                    "url": "https://ai.google.dev/gemini-api/docs/rate-limits"
                }]
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{secs}s")}
        ]),
    )
}

fn unavailable_body() -> Value {
    status_body(
        503,
        "UNAVAILABLE",
        "The model is overloaded. Please try again later.",
        json!([]),
    )
}

/// The answer to a missing or wrong key, or to an error mode; `None` to go on.
fn refusal(behavior: &GeminiBehavior, req: &HttpRequest, model: &str) -> Option<HttpResponse> {
    let received = req
        .headers()
        .get("x-goog-api-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if received != behavior.api_key || behavior.mode == GeminiMode::InvalidApiKey {
        return Some(key_invalid(received));
    }
    let response = match &behavior.mode {
        &GeminiMode::RateLimited { retry_after_secs } => HttpResponse::TooManyRequests()
            .insert_header(("retry-after", retry_after_secs.to_string()))
            .json(rate_limited(model, retry_after_secs)),
        &GeminiMode::RateLimitedRetryInfoOnly { retry_delay_secs } => {
            error(429, rate_limited(model, retry_delay_secs))
        }
        GeminiMode::ServerError => error(
            500,
            status_body(
                500,
                "INTERNAL",
                "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
                json!([]),
            ),
        ),
        GeminiMode::Unavailable => error(503, unavailable_body()),
        GeminiMode::DeadlineExceeded => error(
            504,
            status_body(
                504,
                "DEADLINE_EXCEEDED",
                "Deadline expired before operation could complete.",
                json!([]),
            ),
        ),
        GeminiMode::NotFound => error(
            404,
            status_body(
                404,
                "NOT_FOUND",
                &format!(
                    "models/{model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."
                ),
                json!([]),
            ),
        ),
        GeminiMode::BillingRequired => error(
            400,
            status_body(
                400,
                "FAILED_PRECONDITION",
                "Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.",
                json!([]),
            ),
        ),
        GeminiMode::TooManyTokens => error(
            400,
            status_body(
                400,
                "INVALID_ARGUMENT",
                "The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).",
                json!([]),
            ),
        ),
        GeminiMode::Ok
        | GeminiMode::InvalidApiKey
        | GeminiMode::PromptBlocked
        | GeminiMode::SafetyMidStream
        | GeminiMode::ErrorMidStream
        | GeminiMode::CutOff
        | GeminiMode::FunctionCall => return None,
    };
    Some(response)
}

async fn model_method(
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let behavior = record(&shared, &req, &body);
    let target = path.into_inner();
    let (model, method) = target.split_once(':').unwrap_or((target.as_str(), ""));
    if let Some(refused) = refusal(&behavior, &req, model) {
        return refused;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match method {
        "generateContent" => generate_content(&behavior, model),
        "streamGenerateContent" => {
            stream_generate_content(&behavior, model, &req, shared.into_inner())
        }
        "batchEmbedContents" => batch_embed_contents(&behavior, model, &request),
        _ => error(
            404,
            status_body(404, "NOT_FOUND", "Method not found.", json!([])),
        ),
    }
}

fn usage(behavior: &GeminiBehavior, candidates: u32) -> Value {
    let mut u = json!({
        "promptTokenCount": behavior.prompt_tokens,
        "candidatesTokenCount": candidates,
        "totalTokenCount": behavior.prompt_tokens + candidates + behavior.thoughts_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": behavior.prompt_tokens}]
    });
    if behavior.thoughts_tokens > 0 {
        u["thoughtsTokenCount"] = json!(behavior.thoughts_tokens);
    }
    u
}

fn safety_ratings(blocked: bool) -> Value {
    let high = if blocked { "HIGH" } else { "NEGLIGIBLE" };
    let mut dangerous = json!({"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": high});
    if blocked {
        dangerous["blocked"] = json!(true);
    }
    json!([
        {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
        dangerous
    ])
}

/// A `GenerateContentResponse` with one candidate.
fn reply(model: &str, candidate: Value, usage: Value) -> Value {
    json!({
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": RESPONSE_ID
    })
}

fn candidate(parts: Value, finish: Option<&str>) -> Value {
    let mut c = json!({
        "content": {"parts": parts, "role": "model"},
        "index": 0
    });
    if let Some(reason) = finish {
        c["finishReason"] = json!(reason);
        c["safetyRatings"] = safety_ratings(false);
    }
    c
}

fn blocked_prompt(behavior: &GeminiBehavior, model: &str) -> Value {
    json!({
        "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": safety_ratings(true)},
        "usageMetadata": {"promptTokenCount": behavior.prompt_tokens, "totalTokenCount": behavior.prompt_tokens},
        "modelVersion": model,
        "responseId": RESPONSE_ID
    })
}

fn blocked_candidate(behavior: &GeminiBehavior, model: &str, candidates: u32) -> Value {
    reply(
        model,
        json!({"finishReason": "SAFETY", "index": 0, "safetyRatings": safety_ratings(true)}),
        usage(behavior, candidates),
    )
}

fn function_call_parts(calls: &[(String, Value)]) -> Vec<Value> {
    calls
        .iter()
        .map(|(name, args)| json!({"functionCall": {"name": name, "args": args}}))
        .collect()
}

fn generate_content(behavior: &GeminiBehavior, model: &str) -> HttpResponse {
    let full = usage(behavior, behavior.candidates_tokens);
    let body = match behavior.mode {
        GeminiMode::PromptBlocked => blocked_prompt(behavior, model),
        GeminiMode::SafetyMidStream => blocked_candidate(behavior, model, 0),
        GeminiMode::FunctionCall => reply(
            model,
            candidate(
                Value::Array(function_call_parts(&behavior.function_calls)),
                Some("STOP"),
            ),
            full,
        ),
        _ => reply(
            model,
            candidate(json!([{"text": behavior.reply_text()}]), Some("STOP")),
            full,
        ),
    };
    if behavior.mode == GeminiMode::CutOff {
        let text = body.to_string();
        let half = text.len() / 2;
        return HttpResponse::Ok()
            .content_type("application/json")
            .body(text.as_bytes()[..half].to_vec());
    }
    HttpResponse::Ok().json(body)
}

fn event(value: &Value) -> Bytes {
    // Google separates events with CRLF pairs.
    Bytes::from(format!("data: {value}\r\n\r\n"))
}

/// The SSE events of a streamed reply for the behavior's mode, in order.
fn stream_events(behavior: &GeminiBehavior, model: &str) -> Vec<Bytes> {
    let n = behavior.pieces.len();
    let text_event = |i: usize, finish: Option<&str>| {
        let last = finish.is_some();
        let so_far = if last {
            behavior.candidates_tokens
        } else {
            u32::try_from(i + 1)
                .unwrap_or(u32::MAX)
                .min(behavior.candidates_tokens)
        };
        let text = behavior.pieces.get(i).map_or("", String::as_str);
        event(&reply(
            model,
            candidate(json!([{ "text": text }]), finish),
            usage(behavior, so_far),
        ))
    };
    match behavior.mode {
        GeminiMode::PromptBlocked => vec![event(&blocked_prompt(behavior, model))],
        GeminiMode::SafetyMidStream => {
            let mut events: Vec<Bytes> = (0..n).map(|i| text_event(i, None)).collect();
            let so_far = u32::try_from(n).unwrap_or(u32::MAX);
            events.push(event(&blocked_candidate(behavior, model, so_far)));
            events
        }
        GeminiMode::ErrorMidStream => vec![text_event(0, None), event(&unavailable_body())],
        GeminiMode::CutOff => (0..n).map(|i| text_event(i, None)).collect(),
        GeminiMode::FunctionCall => {
            let parts = function_call_parts(&behavior.function_calls);
            let count = parts.len();
            parts
                .into_iter()
                .enumerate()
                .map(|(i, part)| {
                    let last = i + 1 == count;
                    let finish = last.then_some("STOP");
                    let tokens = if last { behavior.candidates_tokens } else { 0 };
                    event(&reply(
                        model,
                        candidate(json!([part]), finish),
                        usage(behavior, tokens),
                    ))
                })
                .collect()
        }
        _ if n == 0 => vec![text_event(0, Some("STOP"))],
        _ => (0..n)
            .map(|i| text_event(i, (i + 1 == n).then_some("STOP")))
            .collect(),
    }
}

/// Notes, when dropped, whether the stream it belongs to was sent in full.
struct StreamGuard {
    shared: Arc<Shared>,
    completed: bool,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if self.completed {
            self.shared
                .rec
                .streams_completed
                .fetch_add(1, Ordering::SeqCst);
        } else {
            self.shared
                .rec
                .client_disconnected
                .store(true, Ordering::SeqCst);
        }
    }
}

fn stream_generate_content(
    behavior: &GeminiBehavior,
    model: &str,
    req: &HttpRequest,
    shared: Arc<Shared>,
) -> HttpResponse {
    if !req.query_string().split('&').any(|p| p == "alt=sse") {
        // Without `alt=sse` Google streams a JSON array; this fake only speaks SSE.
        return error(
            400,
            status_body(
                400,
                "INVALID_ARGUMENT",
                "This fake only serves alt=sse.",
                json!([]),
            ),
        );
    }
    let events = stream_events(behavior, model).into_iter().enumerate();
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

/// One embedding per request: `values[0]` is the request's index, `values[1]` the length of
/// its text in characters, the rest `0.01 * position`, so a test can check order.
fn batch_embed_contents(behavior: &GeminiBehavior, model: &str, request: &Value) -> HttpResponse {
    let invalid = |message: &str| {
        error(
            400,
            status_body(400, "INVALID_ARGUMENT", message, json!([])),
        )
    };
    let Some(requests) = request["requests"].as_array() else {
        return invalid("* BatchEmbedContentsRequest.requests: requests is not specified");
    };
    let expected_model = format!("models/{model}");
    let mut embeddings = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        if r["model"].as_str() != Some(expected_model.as_str()) {
            return invalid(&format!(
                "Model names should be the same as the batch model ({expected_model})."
            ));
        }
        let text: String = r["content"]["parts"]
            .as_array()
            .map(|parts| parts.iter().filter_map(|p| p["text"].as_str()).collect())
            .unwrap_or_default();
        let dims = r["outputDimensionality"]
            .as_u64()
            .and_then(|d| usize::try_from(d).ok())
            .unwrap_or(behavior.embedding_dimensions);
        let values: Vec<f64> = (0..dims)
            .map(|j| match j {
                0 => i as f64,
                1 => text.chars().count() as f64,
                _ => 0.01 * j as f64,
            })
            .collect();
        embeddings.push(json!({ "values": values }));
    }
    HttpResponse::Ok().json(json!({ "embeddings": embeddings }))
}

async fn list_models(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let behavior = record(&shared, &req, &[]);
    if let Some(refused) = refusal(&behavior, &req, "gemini-1.5-flash") {
        return refused;
    }
    let start: usize = req
        .query_string()
        .split('&')
        .find_map(|p| p.strip_prefix("pageToken=page-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let size = behavior.models_page_size.max(1);
    let page: Vec<Value> = behavior
        .models
        .iter()
        .skip(start)
        .take(size)
        .map(|id| {
            let methods = if id.contains("embedding") {
                json!(["embedContent", "batchEmbedContents"])
            } else {
                json!(["generateContent", "countTokens"])
            };
            json!({
                "name": format!("models/{id}"),
                "version": "001",
                "displayName": id,
                "description": "A model served by the fake Gemini API.",
                "inputTokenLimit": 1_048_576,
                "outputTokenLimit": 8192,
                "supportedGenerationMethods": methods,
                "temperature": 1.0,
                "topP": 0.95,
                "topK": 40
            })
        })
        .collect();
    let mut body = json!({ "models": page });
    if start + size < behavior.models.len() {
        body["nextPageToken"] = json!(format!("page-{}", start + size));
    }
    HttpResponse::Ok().json(body)
}

#[cfg(test)]
mod tests;
