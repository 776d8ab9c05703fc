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
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod errors;
mod replies;

use errors::{error, refusal, status_body};
use replies::{batch_embed_contents, generate_content, stream_generate_content};

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
