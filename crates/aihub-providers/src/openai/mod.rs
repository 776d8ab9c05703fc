//! The OpenAI wire family: OpenAI itself, OpenRouter and any OpenAI-compatible server
//! (llama.cpp, vLLM, LM Studio, …), plus Ollama through its `/v1` endpoint until its native
//! adapter takes over.
//!
//! `wire` holds the serde types of the OpenAI API as upstreams speak it, `convert` the pure
//! canonical ⇄ upstream conversions, `errors` the error-body mapping; this module only sends
//! requests (reqwest, through the shared `http` transport) and reads replies and streams. The
//! gateway's own `/v1` contract is not here: `aihub-http` owns it.

mod convert;
mod errors;
mod wire;

use crate::http::{self, Clients, Op};
use crate::{ChatProvider, ChatStream, ProviderError, ProviderSettings};
use aihub_domain::{
    ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ErrorCode,
    FinishReason, ModelInfo, ProviderKind,
};
use convert::ChunkDecoder;
use eventsource_stream::Event;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, stream};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

/// The name OpenRouter shows for AI Hub's traffic (`X-Title`), unless the provider's headers
/// set their own (<https://openrouter.ai/docs/api-reference/overview>).
pub const OPENROUTER_TITLE: &str = "AI Hub";

/// The `HTTP-Referer` sent to OpenRouter unless the provider's headers set one. A self-hosted
/// gateway has no public URL of its own; OpenRouter attributes localhost referers by their
/// `X-Title` (<https://openrouter.ai/docs/app-attribution>).
pub const OPENROUTER_REFERER: &str = "http://localhost";

/// The vendor name used in "not in the … format" errors.
const VENDOR: &str = "OpenAI";

/// A client for one OpenAI-wire upstream.
///
/// Sends through the shared `http::Clients`: no redirects, no proxy variables, the
/// SSRF-checked resolver, the provider's extra headers, and `Authorization: Bearer <key>`
/// marked sensitive. One call sends exactly one upstream request: nothing is retried here.
pub struct OpenAiProvider {
    kind: ProviderKind,
    base_url: String,
    /// `{base_url}/chat/completions`, parsed once: parsing it per request was ~7% of the
    /// gateway's instructions under load.
    chat_url: reqwest::Url,
    clients: Clients,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// Builds the client for `settings`.
    ///
    /// The base URL is `settings.base_url` or the kind's default (OpenRouter:
    /// `https://openrouter.ai/api/v1`), without a trailing `/`; for Ollama `/v1` is appended
    /// (unless already there), since its base is the server root. OpenRouter providers send
    /// `HTTP-Referer` ([`OPENROUTER_REFERER`]) and `X-Title` ([`OPENROUTER_TITLE`]) unless
    /// their configured headers set them.
    ///
    /// # Errors
    /// - `validation_error` when an `openai_compatible` provider has no `base_url`, the base URL
    ///   has a query or fragment, an extra header has an invalid name or value, or the API key
    ///   cannot be sent in a header;
    /// - `unsafe_base_url` when the base URL fails [`crate::ssrf::check_base_url`];
    /// - `internal_error` when the HTTP client cannot be built.
    pub fn new(settings: ProviderSettings) -> Result<Self, ProviderError> {
        let base_url = base_url(&settings)?;
        let mut headers = http::extra_headers(&settings)?;
        if settings.kind == ProviderKind::Openrouter {
            for (name, value) in [
                ("http-referer", OPENROUTER_REFERER),
                ("x-title", OPENROUTER_TITLE),
            ] {
                let name = HeaderName::from_static(name);
                if !headers.contains_key(&name) {
                    headers.insert(name, HeaderValue::from_static(value));
                }
            }
        }
        if let Some(key) = settings
            .api_key
            .as_ref()
            .map(|k| k.expose_secret())
            .filter(|k| !k.is_empty())
        {
            headers.insert(
                AUTHORIZATION,
                http::secret_header(&format!("Bearer {key}"))?,
            );
        }
        let clients = Clients::new(&settings, headers)?;
        let chat_url =
            reqwest::Url::parse(&format!("{base_url}/chat/completions")).map_err(|_| {
                ProviderError::new(ErrorCode::ValidationError, "base_url is not a valid URL")
            })?;
        Ok(OpenAiProvider {
            kind: settings.kind,
            base_url,
            chat_url,
            clients,
        })
    }

    /// The base URL requests go to, e.g. `https://api.openai.com/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// [`http::base_url`], plus `/v1` for Ollama (whose configured base is the server root).
fn base_url(settings: &ProviderSettings) -> Result<String, ProviderError> {
    let base = http::base_url(settings)?;
    Ok(
        if settings.kind == ProviderKind::Ollama && !base.ends_with("/v1") {
            format!("{base}/v1")
        } else {
            base
        },
    )
}

/// Reads a success body as JSON of type `T`.
///
/// # Errors
/// A transport failure mapped by [`http::from_reqwest`]; an error envelope sent with a success
/// status, mapped; `upstream_invalid_response` when the body is not `T`.
async fn read_json<T: DeserializeOwned>(
    response: reqwest::Response,
    what: &str,
) -> Result<T, ProviderError> {
    let body = response.bytes().await.map_err(|e| http::from_reqwest(&e))?;
    parse_json(&body, what)
}

/// Parses a success body; an error envelope sent with a success status is mapped first (the
/// lenient reply types would otherwise read it as an empty reply).
fn parse_json<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ProviderError> {
    if let Some(e) = std::str::from_utf8(body)
        .ok()
        .and_then(errors::in_band_error)
    {
        return Err(e);
    }
    serde_json::from_slice(body).map_err(|_| {
        ProviderError::new(
            ErrorCode::UpstreamInvalidResponse,
            format!("the upstream {what} is not in the OpenAI format"),
        )
    })
}

/// Sends `request`; a non-success status is read and mapped (keeping `Retry-After` on 429).
async fn send(
    request: reqwest::RequestBuilder,
    op: Op,
) -> Result<reqwest::Response, ProviderError> {
    let response = request.send().await.map_err(|e| http::from_reqwest(&e))?;
    if response.status().is_success() {
        return Ok(response);
    }
    let (status, retry_after, body) = http::read_error(response).await;
    Err(errors::from_error_response(status, retry_after, &body, op))
}

#[async_trait::async_trait]
impl ChatProvider for OpenAiProvider {
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let wire = convert::to_wire_request(request, self.kind, false);
        let post = self.clients.call.post(self.chat_url.clone()).json(&wire);
        let response = send(post, Op::Chat).await?;
        let completion: wire::ChatCompletion = read_json(response, "reply").await?;
        convert::from_wire_response(completion)
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ProviderError> {
        let wire = convert::to_wire_request(request, self.kind, true);
        let post = self
            .clients
            .stream
            .post(self.chat_url.clone())
            .header(ACCEPT, "text/event-stream")
            .json(&wire);
        let response = send(post, Op::Chat).await?;
        if is_json(response.headers()) {
            // A server that ignored `stream: true` (or sent an error envelope with a 200).
            let completion: wire::ChatCompletion = read_json(response, "reply").await?;
            let reply = convert::from_wire_response(completion)?;
            return Ok(stream::iter(reply_as_chunks(reply)).boxed());
        }
        Ok(canonical_stream(http::sse_events(response).boxed()))
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        let get = self.clients.call.get(self.url("/models"));
        let response = send(get, Op::Models).await?;
        let list: wire::ModelList = read_json(response, "model list").await?;
        Ok(convert::models(list))
    }

    async fn embed(&self, request: &EmbeddingRequest) -> Result<EmbeddingResponse, ProviderError> {
        if request.input.is_empty() {
            return Err(ProviderError::new(
                ErrorCode::ValidationError,
                "embeddings need at least one input",
            ));
        }
        let wire = convert::to_wire_embeddings(request);
        let post = self.clients.call.post(self.url("/embeddings")).json(&wire);
        let response = send(post, Op::Embeddings).await?;
        let reply: wire::EmbeddingsResponse = read_json(response, "embeddings reply").await?;
        convert::from_wire_embeddings(reply, request.input.len(), &request.model)
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

/// A complete reply as a stream: its text and tool calls, then its finish reason and usage.
fn reply_as_chunks(reply: ChatResponse) -> Vec<Result<ChatChunk, ProviderError>> {
    let tool_calls = reply
        .tool_calls
        .into_iter()
        .enumerate()
        .map(|(i, c)| aihub_domain::ToolCallDelta {
            index: u32::try_from(i).unwrap_or(u32::MAX),
            id: Some(c.id),
            name: Some(c.name),
            arguments: Some(c.arguments).filter(|a| !a.is_empty()),
        })
        .collect();
    let body = ChatChunk {
        delta: Some(reply.content).filter(|c| !c.is_empty()),
        tool_calls,
        ..ChatChunk::default()
    };
    let end = ChatChunk {
        finish_reason: Some(reply.finish_reason.unwrap_or(FinishReason::Stop)),
        usage: reply.usage,
        ..ChatChunk::default()
    };
    [body, end]
        .into_iter()
        .filter(|c| *c != ChatChunk::default())
        .map(Ok)
        .collect()
}

/// Progress of a converted stream.
struct StreamState {
    events: BoxStream<'static, Result<Event, ProviderError>>,
    decoder: ChunkDecoder,
    /// A finish reason arrived.
    finished: bool,
    /// Usage arrived.
    usage: bool,
    /// `[DONE]` or an error was seen: nothing more is yielded.
    done: bool,
}

/// What one event means for the stream.
enum Step {
    /// Yield this chunk.
    Chunk(ChatChunk),
    /// Nothing to yield (role-only chunk, comment, blank event).
    Skip,
    /// `[DONE]`: end.
    End,
    /// Yield this error, then end.
    Fail(ProviderError),
}

/// Converts the upstream's events: drops empty chunks, ends at `data: [DONE]`, yields one error
/// and ends on an in-band error event, a malformed event, a transport failure, or an EOF
/// before `[DONE]`. An EOF after both a finish reason and usage ends normally (llama.cpp may
/// close without `[DONE]`). Dropping the returned stream drops the response body, which closes
/// the upstream connection.
fn canonical_stream(events: BoxStream<'static, Result<Event, ProviderError>>) -> ChatStream {
    let state = StreamState {
        events,
        decoder: ChunkDecoder::default(),
        finished: false,
        usage: false,
        done: false,
    };
    stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            let step = match st.events.next().await {
                Some(Ok(event)) => step(&mut st.decoder, &event),
                Some(Err(e)) => Step::Fail(e),
                None if st.finished && st.usage => Step::End,
                None => Step::Fail(http::cut_off()),
            };
            match step {
                Step::Skip => {}
                Step::End => return None,
                Step::Fail(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
                Step::Chunk(c) => {
                    st.finished |= c.finish_reason.is_some();
                    st.usage |= c.usage.is_some();
                    return Some((Ok(c), st));
                }
            }
        }
    })
    .boxed()
}

fn step(decoder: &mut ChunkDecoder, event: &Event) -> Step {
    let data = event.data.trim();
    if data.is_empty() {
        return Step::Skip;
    }
    if data == "[DONE]" {
        return Step::End;
    }
    if let Some(e) = errors::in_band_error(data) {
        return Step::Fail(e);
    }
    if event.event == "error" {
        return Step::Fail(errors::mid_stream_failure());
    }
    let Some(chunk) = http::parse_event::<wire::ChatCompletionChunk>(data.as_bytes()) else {
        return Step::Fail(http::malformed_chunk(VENDOR));
    };
    match decoder.decode(chunk) {
        Some(c) if c.finish_reason == Some(FinishReason::Error) => {
            Step::Fail(errors::mid_stream_failure())
        }
        Some(c) => Step::Chunk(c),
        None => Step::Skip,
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests;
