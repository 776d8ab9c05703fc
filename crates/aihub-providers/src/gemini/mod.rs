//! The Google Gemini API (`v1beta`): `generateContent`, `streamGenerateContent?alt=sse`,
//! `batchEmbedContents` and `models.list`.
//!
//! Sources: <https://ai.google.dev/api/generate-content>, <https://ai.google.dev/api/embeddings>,
//! <https://ai.google.dev/api/models>.
//!
//! `wire` holds the serde types, `convert` the pure conversions and error mapping; this module
//! only builds URLs and sends. The base URL has no version
//! (`https://generativelanguage.googleapis.com`); paths are `{base}/v1beta/models/{model}:…`.
//! The API key travels only in the `x-goog-api-key` header, marked sensitive, and never in the
//! URL (Google also accepts `?key=`, which would put it in access logs).

mod convert;
mod wire;

use crate::http::{self, Clients, Op};
use crate::{ChatProvider, ChatStream, ProviderError, ProviderSettings};
use aihub_domain::{
    ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ErrorCode,
    ModelInfo, ProviderKind,
};
use eventsource_stream::Event;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use reqwest::header::HeaderName;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

/// The API version in every path.
const API_VERSION: &str = "v1beta";
/// The header carrying the API key.
const API_KEY_HEADER: &str = "x-goog-api-key";
/// `models.list` pages followed at most (the API's largest page is 1000 models).
const MAX_MODEL_PAGES: usize = 5;
/// The page size asked of `models.list` (its maximum).
const MODEL_PAGE_SIZE: &str = "1000";
/// The most requests `batchEmbedContents` takes in one call; longer inputs are sent in
/// several calls, in order.
const MAX_EMBED_BATCH: usize = 100;

/// A client for one Gemini API upstream.
///
/// Non-streaming calls run under the whole-request `settings.timeout`; streams under a connect
/// timeout and an idle timeout between reads (see [`crate::http`]). Redirects are refused and
/// proxy variables ignored. One call sends one upstream request (embeddings of more than 100
/// inputs excepted: one request per 100), never retried here.
pub struct GeminiProvider {
    base_url: String,
    clients: Clients,
}

impl std::fmt::Debug for GeminiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiProvider")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl GeminiProvider {
    /// Builds the client for `settings` (the kind is not checked: the Gemini wire is spoken).
    ///
    /// The base URL is `settings.base_url` or `https://generativelanguage.googleapis.com`,
    /// without a trailing `/` and without the API version. A non-empty `api_key` is sent as
    /// `x-goog-api-key` on every request, after (and so over) the extra headers.
    ///
    /// # Errors
    /// - `validation_error` when the base URL has a query or fragment, an extra header is
    ///   invalid, or the key cannot be sent in a header;
    /// - `unsafe_base_url` when the base URL fails the SSRF policy;
    /// - `internal_error` when the HTTP client cannot be built.
    pub fn new(settings: ProviderSettings) -> Result<Self, ProviderError> {
        let base_url = http::base_url(&settings)?;
        let mut headers = http::extra_headers(&settings)?;
        if let Some(key) = settings
            .api_key
            .as_ref()
            .filter(|k| !k.expose_secret().is_empty())
        {
            headers.insert(
                HeaderName::from_static(API_KEY_HEADER),
                http::secret_header(key.expose_secret())?,
            );
        }
        let clients = Clients::new(&settings, headers)?;
        Ok(GeminiProvider { base_url, clients })
    }

    /// The base URL requests go to, e.g. `https://generativelanguage.googleapis.com`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `{base}/v1beta/models/{model}:{method}`; `model` is already checked by
    /// [`convert::model_id`].
    fn model_url(&self, model: &str, method: &str) -> String {
        format!("{}/{API_VERSION}/models/{model}:{method}", self.base_url)
    }

    /// Sends `request`; a non-success answer is read and mapped.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        op: Op,
    ) -> Result<reqwest::Response, ProviderError> {
        let response = request.send().await.map_err(|e| http::from_reqwest(&e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let (status, retry_after, body) = http::read_error(response).await;
        Err(convert::map_error(status, retry_after, &body, op))
    }
}

/// The JSON body of a successful answer.
async fn read_json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ProviderError> {
    let body = response.bytes().await.map_err(|e| http::from_reqwest(&e))?;
    serde_json::from_slice(&body).map_err(|_| {
        ProviderError::new(
            ErrorCode::UpstreamInvalidResponse,
            "the upstream answer is not in the Gemini format",
        )
    })
}

#[async_trait::async_trait]
impl ChatProvider for GeminiProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Gemini
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let model = convert::model_id(&request.model)?;
        let body = convert::to_wire_request(request)?;
        let url = self.model_url(model, "generateContent");
        let response = self
            .send(self.clients.call.post(url).json(&body), Op::Chat)
            .await?;
        convert::from_wire_response(read_json(response).await?, model)
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ProviderError> {
        let model = convert::model_id(&request.model)?;
        let body = convert::to_wire_request(request)?;
        let url = format!("{}?alt=sse", self.model_url(model, "streamGenerateContent"));
        let response = self
            .send(self.clients.stream.post(url).json(&body), Op::Chat)
            .await?;
        Ok(canonical_stream(http::sse_events(response).boxed()))
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        let list_url = format!("{}/{API_VERSION}/models", self.base_url);
        let mut models = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_MODEL_PAGES {
            let mut url = url::Url::parse(&list_url).map_err(|_| {
                ProviderError::new(ErrorCode::ValidationError, "base_url is not a valid URL")
            })?;
            {
                let mut query = url.query_pairs_mut();
                query.append_pair("pageSize", MODEL_PAGE_SIZE);
                if let Some(token) = &page_token {
                    query.append_pair("pageToken", token);
                }
            }
            let response = self.send(self.clients.call.get(url), Op::Models).await?;
            let page: wire::ListModelsResponse = read_json(response).await?;
            page_token = page.next_page_token.clone().filter(|t| !t.is_empty());
            models.extend(convert::models(page));
            if page_token.is_none() {
                break;
            }
        }
        Ok(models)
    }

    /// `batchEmbedContents`, 100 inputs per call. Gemini reports no usage for embeddings, so
    /// the usage is estimated (see [`convert::estimated_embedding_usage`]).
    async fn embed(&self, request: &EmbeddingRequest) -> Result<EmbeddingResponse, ProviderError> {
        let model = convert::model_id(&request.model)?;
        let url = self.model_url(model, "batchEmbedContents");
        let mut embeddings = Vec::with_capacity(request.input.len());
        for batch in request.input.chunks(MAX_EMBED_BATCH) {
            let body = convert::embed_request(model, batch, request.dimensions);
            let response = self
                .send(self.clients.call.post(&url).json(&body), Op::Embeddings)
                .await?;
            let reply: wire::BatchEmbedContentsResponse = read_json(response).await?;
            if reply.embeddings.len() != batch.len() {
                return Err(ProviderError::new(
                    ErrorCode::UpstreamInvalidResponse,
                    "the upstream returned a different number of embeddings than inputs",
                ));
            }
            embeddings.extend(reply.embeddings.into_iter().map(|e| e.values));
        }
        Ok(EmbeddingResponse {
            model: model.to_owned(),
            embeddings,
            usage: convert::estimated_embedding_usage(&request.input),
        })
    }
}

/// Progress of a converted stream.
struct StreamDriver {
    events: BoxStream<'static, Result<Event, ProviderError>>,
    state: convert::StreamState,
    /// The end marker or an error was seen: nothing more is yielded.
    done: bool,
}

/// Converts the SSE events into chunks (see [`convert::StreamState`]): empty chunks are
/// dropped; the stream ends after the event with a `finishReason`; an EOF before it yields
/// [`http::cut_off`], an unparsable event [`http::malformed_chunk`], and an in-band error its
/// mapped error, each once and last. Dropping the stream drops the response body, which
/// closes the upstream connection.
fn canonical_stream(events: BoxStream<'static, Result<Event, ProviderError>>) -> ChatStream {
    let driver = StreamDriver {
        events,
        state: convert::StreamState::default(),
        done: false,
    };
    futures_util::stream::unfold(driver, |mut d| async move {
        while !d.done {
            let step = match d.events.next().await {
                Some(Ok(event)) => step(&mut d.state, &event.data),
                Some(Err(e)) => Err(e),
                None => Err(http::cut_off()),
            };
            match step {
                Ok(step) => {
                    d.done = step.finished;
                    if let Some(chunk) = step.chunk {
                        return Some((Ok::<ChatChunk, ProviderError>(chunk), d));
                    }
                }
                Err(e) => {
                    d.done = true;
                    return Some((Err(e), d));
                }
            }
        }
        None
    })
    .boxed()
}

/// What one event's data means: nothing for blank data; anything else must be a
/// `GenerateContentResponse` object, converted by `state`.
///
/// # Errors
/// `malformed_chunk` for data not in the Gemini format; the event's own error otherwise.
fn step(
    state: &mut convert::StreamState,
    data: &str,
) -> Result<convert::StreamStep, ProviderError> {
    if data.trim().is_empty() {
        return Ok(convert::StreamStep::default());
    }
    http::parse_event(data.as_bytes())
        .ok_or_else(|| http::malformed_chunk("Gemini"))
        .and_then(|parsed| state.on_event(parsed))
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn settings(base_url: Option<&str>) -> ProviderSettings {
        ProviderSettings {
            kind: ProviderKind::Gemini,
            base_url: base_url.map(str::to_owned),
            api_key: Some(SecretString::from("AIza-secret")),
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            allow_private_network: false,
        }
    }

    #[test]
    fn default_base_url_has_no_version_and_urls_have_no_key() {
        let p = GeminiProvider::new(settings(None)).expect("builds");
        assert_eq!(p.base_url(), "https://generativelanguage.googleapis.com");
        let url = p.model_url("gemini-1.5-flash", "generateContent");
        assert_eq!(
            url,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-flash:generateContent"
        );
        assert!(!format!("{p:?}").contains("AIza"));
    }

    #[test]
    fn base_url_with_a_query_is_refused() {
        let e = GeminiProvider::new(settings(Some(
            "https://generativelanguage.googleapis.com/?key=x",
        )))
        .expect_err("query");
        assert_eq!(e.code, ErrorCode::ValidationError);
    }

    #[test]
    fn keys_that_cannot_be_headers_are_refused() {
        let mut s = settings(None);
        s.api_key = Some(SecretString::from("bad\nkey"));
        let e = GeminiProvider::new(s).expect_err("invalid");
        assert_eq!(e.code, ErrorCode::ValidationError);
        assert!(!e.message.contains("bad"));
    }
}
