//! A fake Ollama server on a loopback port that replays Ollama's documented native API
//! (<https://github.com/ollama/ollama/blob/main/docs/api.md>), with selectable error modes and
//! a record of what it received.
//!
//! Routes, at the server root: `POST /api/chat` (one JSON object with `"stream": false`;
//! otherwise — Ollama's default — an `application/x-ndjson` stream of `message.content` deltas
//! with `done: false`, then a `done: true` line with `done_reason`, the token counts and the
//! durations), `GET /api/tags` and `POST /api/embed`. Errors are Ollama's `{"error": "…"}`
//! bodies with its statuses. The final stream line is written in two pieces, so clients must
//! join lines split across reads.
//!
//! The server runs on its own thread under its own actix system and stops when the
//! [`FakeOllama`] is dropped.
//!
//! ```no_run
//! # use aihub_testkit::fake_ollama::{FakeOllama, OllamaBehavior, OllamaMode};
//! let fake = FakeOllama::start(OllamaBehavior::default());
//! let base = fake.base_url(); // http://127.0.0.1:PORT
//! let missing = FakeOllama::start(OllamaBehavior::error(OllamaMode::ModelNotFound));
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

use errors::{error_body, route_error, runtime_error};
use replies::{final_object, stream_response};

/// The `created_at` of every object the fake returns (from the documented examples).
const CREATED_AT: &str = "2023-08-04T19:22:45.499127Z";
/// The model named in replies when the request names none.
const DEFAULT_MODEL: &str = "llama3.2";

/// How the fake answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OllamaMode {
    /// Success on every route.
    #[default]
    Ok,
    /// The chat replies with one `get_current_weather` tool call (`message.tool_calls`, as in
    /// the documented "Chat request (with tools)" example) and no text.
    ToolCall,
    /// 404 `{"error": "model '<model>' not found, try pulling it first"}` on every route.
    ModelNotFound,
    /// 500 `{"error": "model requires more system memory (…) than is available (…)"}`.
    ServerError,
    /// 429 `{"error": "…"}` with a `Retry-After` header (as a rate-limiting proxy or Ollama's
    /// cloud answers).
    RateLimited {
        /// The `Retry-After` value, in seconds.
        retry_after_secs: u64,
    },
    /// A stream sends its deltas, then `{"error": "…"}` instead of the final line (a
    /// non-streaming chat answers 500 with that error).
    MidStreamError,
    /// A stream sends its deltas, then closes without a `done: true` line.
    CutOff,
    /// A stream sends one delta, then a line that is not JSON.
    Malformed,
}

/// The fake's behavior: a mode, the streamed pieces, counts, listed models and an optional
/// required API key.
#[derive(Debug, Clone, PartialEq)]
pub struct OllamaBehavior {
    /// Success or one of the errors.
    pub mode: OllamaMode,
    /// The reply text, one streamed delta per piece; joined for non-streaming replies.
    pub pieces: Vec<String>,
    /// Pause before each streamed line after the first.
    pub chunk_delay: Duration,
    /// `prompt_eval_count` reported (chat and embed); `None` leaves it out, as Ollama does
    /// when the prompt was cached.
    pub prompt_eval_count: Option<u32>,
    /// `eval_count` reported on the final chat object.
    pub eval_count: Option<u32>,
    /// Model names listed by `GET /api/tags`.
    pub models: Vec<String>,
    /// When set, every request without `Authorization: Bearer <key>` gets 401
    /// `{"error": "unauthorized"}` (Ollama behind an authenticating proxy, or its cloud).
    pub api_key: Option<String>,
    /// Length of each vector from `/api/embed` when the request gives no `dimensions`.
    pub embedding_dimensions: usize,
}

impl Default for OllamaBehavior {
    /// Success; the reply `Hello! How can I help?` in four pieces; 26 prompt and 7 generated
    /// tokens; two listed models; no key required; 4-dimensional embeddings.
    fn default() -> Self {
        OllamaBehavior {
            mode: OllamaMode::Ok,
            pieces: ["Hello", "!", " How can", " I help?"]
                .map(String::from)
                .to_vec(),
            chunk_delay: Duration::ZERO,
            prompt_eval_count: Some(26),
            eval_count: Some(7),
            models: vec!["llama3:latest".to_owned(), "codellama:13b".to_owned()],
            api_key: None,
            embedding_dimensions: 4,
        }
    }
}

impl OllamaBehavior {
    /// Every route answers with `mode`.
    pub fn error(mode: OllamaMode) -> Self {
        OllamaBehavior {
            mode,
            ..OllamaBehavior::default()
        }
    }

    /// Success, but only with `Authorization: Bearer <key>`.
    pub fn requiring_key(key: &str) -> Self {
        OllamaBehavior {
            api_key: Some(key.to_owned()),
            ..OllamaBehavior::default()
        }
    }

    /// A long, slow stream (`chunks` pieces `tok0 `, `tok1 `, …, `delay` apart), so a test can
    /// stop it midway.
    pub fn slow_stream(chunks: usize, delay: Duration) -> Self {
        OllamaBehavior {
            pieces: (0..chunks).map(|i| format!("tok{i} ")).collect(),
            chunk_delay: delay,
            eval_count: Some(u32::try_from(chunks).unwrap_or(u32::MAX)),
            ..OllamaBehavior::default()
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
    behavior: Mutex<OllamaBehavior>,
    rec: crate::fake_server::Recorder,
}

/// A running fake Ollama server. Stops when dropped.
#[derive(Debug)]
pub struct FakeOllama {
    shared: Arc<Shared>,
    server: crate::fake_server::FakeServer,
}

impl FakeOllama {
    /// Starts the fake on `127.0.0.1:0` with `behavior`.
    ///
    /// # Panics
    /// When the server thread cannot start or bind (a broken test environment).
    pub fn start(behavior: OllamaBehavior) -> Self {
        let shared = Arc::new(Shared {
            behavior: Mutex::new(behavior),
            ..Shared::default()
        });
        let data = web::Data::from(shared.clone());
        let server = crate::fake_server::FakeServer::start("fake-ollama", move |cfg| {
            cfg.app_data(data.clone())
                .route("/api/chat", web::post().to(chat))
                .route("/api/tags", web::get().to(tags))
                .route("/api/embed", web::post().to(embed));
        });
        FakeOllama { shared, server }
    }

    /// The server root, `http://127.0.0.1:PORT` (Ollama's base URL convention).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Replaces the behavior for the following requests.
    pub fn set_behavior(&self, behavior: OllamaBehavior) {
        *lock(&self.shared.behavior) = behavior;
    }

    /// Requests received on any route, including failed ones.
    pub fn request_count(&self) -> usize {
        self.shared.rec.request_count()
    }

    /// The path of the last request, e.g. `/api/chat`.
    pub fn last_path(&self) -> Option<String> {
        self.shared.rec.last_path()
    }

    /// The JSON body of the last request, if it had one.
    pub fn last_request_body(&self) -> Option<Value> {
        self.shared.rec.last_body()
    }

    /// A header of the last request, by case-insensitive name.
    pub fn last_header(&self, name: &str) -> Option<String> {
        self.shared.rec.last_header(name)
    }

    /// Streams sent in full, through the `done: true` line.
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
fn record(shared: &Shared, req: &HttpRequest, body: &[u8]) -> OllamaBehavior {
    shared.rec.record(req, body);
    lock(&shared.behavior).clone()
}

fn model_of(request: &Value) -> String {
    request["model"]
        .as_str()
        .unwrap_or(DEFAULT_MODEL)
        .to_owned()
}

async fn chat(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let behavior = record(&shared, &req, &body);
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = model_of(&request);
    if let Some(error) = route_error(&behavior, &req, &model) {
        return error;
    }
    // Ollama streams unless told `"stream": false`.
    if request["stream"].as_bool().unwrap_or(true) {
        return stream_response(&behavior, &model, shared.into_inner());
    }
    match behavior.mode {
        OllamaMode::MidStreamError => error_body(
            actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
            &runtime_error(&model),
        ),
        OllamaMode::ToolCall => HttpResponse::Ok().json(final_object(&behavior, &model, "", true)),
        _ => HttpResponse::Ok().json(final_object(
            &behavior,
            &model,
            &behavior.reply_text(),
            false,
        )),
    }
}

async fn tags(req: HttpRequest, shared: web::Data<Shared>) -> HttpResponse {
    let behavior = record(&shared, &req, &[]);
    if let Some(error) = route_error(&behavior, &req, DEFAULT_MODEL) {
        return error;
    }
    let models: Vec<Value> = behavior
        .models
        .iter()
        .map(|name| {
            json!({
                "name": name,
                "model": name,
                "modified_at": "2023-12-07T09:32:18.757212583-08:00",
                "size": 3_825_819_519_u64,
                "digest": "fe938a131f40e6f6d40083c9f0f430a515233eb2edaa6d72eb85c50d64f2300e",
                "details": {
                    "format": "gguf",
                    "family": "llama",
                    "families": null,
                    "parameter_size": "7B",
                    "quantization_level": "Q4_0"
                }
            })
        })
        .collect();
    HttpResponse::Ok().json(json!({ "models": models }))
}

async fn embed(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let behavior = record(&shared, &req, &body);
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = model_of(&request);
    if let Some(error) = route_error(&behavior, &req, &model) {
        return error;
    }
    // `input` is a string or a list of strings.
    let inputs = match &request["input"] {
        Value::Array(items) => items.len(),
        Value::String(_) => 1,
        _ => 0,
    };
    let dims = request["dimensions"]
        .as_u64()
        .and_then(|d| usize::try_from(d).ok())
        .unwrap_or(behavior.embedding_dimensions);
    let embeddings: Vec<Vec<f64>> = (0..inputs)
        .map(|i| {
            (0..dims)
                .map(|j| f64::from(u32::try_from(i * 100 + j).unwrap_or(0)) / 1000.0)
                .collect()
        })
        .collect();
    let mut answer = json!({
        "model": model,
        "embeddings": embeddings,
        "total_duration": 14_143_917,
        "load_duration": 1_019_500,
    });
    if let Some(n) = behavior.prompt_eval_count {
        answer["prompt_eval_count"] = json!(n);
    }
    HttpResponse::Ok().json(answer)
}

#[cfg(test)]
mod tests;
