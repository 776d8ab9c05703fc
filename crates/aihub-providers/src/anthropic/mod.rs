//! Anthropic's Messages API (<https://docs.anthropic.com/en/api/messages>).
//!
//! `wire` holds the vendor's serde types, `convert` the pure conversions (request, reply,
//! stream events, error bodies); this module only sends: `POST {base}/v1/messages` (streaming
//! or not) and `GET {base}/v1/models`, with the key in `x-api-key` (never `Authorization`) and
//! `anthropic-version: 2023-06-01`. Embeddings keep the trait default: Anthropic has no
//! embeddings API.

mod convert;
mod wire;

use crate::http::{self, Clients, Op};
use crate::{ChatProvider, ChatStream, ProviderError, ProviderSettings};
use aihub_domain::{ChatRequest, ChatResponse, ErrorCode, ModelInfo, ProviderKind};
use convert::{Step, StreamConverter};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use secrecy::ExposeSecret;

pub use convert::DEFAULT_MAX_TOKENS;

/// The API version every request names (<https://docs.anthropic.com/en/api/versioning>).
/// A provider's extra headers may set another `anthropic-version`.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Page size asked of `GET /v1/models` (Anthropic's maximum).
const MODELS_PAGE_LIMIT: u32 = 1000;

/// At most this many model pages are read, so a server that always says `has_more` cannot
/// keep the call going.
const MAX_MODEL_PAGES: usize = 10;

/// A client for one Anthropic upstream.
///
/// Non-streaming calls run under the whole-request `settings.timeout`; streams have the
/// connect timeout and `settings.timeout` as the longest pause between reads (see
/// `http::Clients`). One call sends exactly one upstream request (no hidden retries).
pub struct AnthropicProvider {
    base_url: String,
    clients: Clients,
}

impl std::fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl AnthropicProvider {
    /// Builds the client for `settings` (read as an `anthropic` provider whatever its `kind`).
    ///
    /// The base URL is `settings.base_url` or `https://api.anthropic.com`, without `/v1` and
    /// without a trailing `/`. Every request carries the provider's extra headers,
    /// `x-api-key` (marked sensitive) when a key is set, and `anthropic-version` unless the
    /// extra headers set one.
    ///
    /// # Errors
    /// - `validation_error` when the base URL has a query or fragment, an extra header has an
    ///   invalid name or value, or the API key cannot be sent in a header;
    /// - `unsafe_base_url` when the base URL fails the SSRF policy;
    /// - `internal_error` when the HTTP client cannot be built.
    pub fn new(settings: ProviderSettings) -> Result<Self, ProviderError> {
        let settings = ProviderSettings {
            kind: ProviderKind::Anthropic,
            ..settings
        };
        let base_url = http::base_url(&settings)?;
        let mut headers = http::extra_headers(&settings)?;
        if let Some(key) = &settings.api_key {
            headers.insert(
                HeaderName::from_static("x-api-key"),
                http::secret_header(key.expose_secret())?,
            );
        }
        let version = HeaderName::from_static("anthropic-version");
        if !headers.contains_key(&version) {
            headers.insert(version, HeaderValue::from_static(ANTHROPIC_VERSION));
        }
        let clients = Clients::new(&settings, headers)?;
        Ok(AnthropicProvider { base_url, clients })
    }

    /// The base URL requests go to, e.g. `https://api.anthropic.com`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn messages_url(&self) -> String {
        format!("{}/v1/messages", self.base_url)
    }
}

/// Maps a failed response: status, `Retry-After` (kept on 429) and what the error body's
/// `error.type` and message say. The body itself never reaches the error.
async fn error_from(response: reqwest::Response, op: Op) -> ProviderError {
    let (status, retry_after, body) = http::read_error(response).await;
    let detail = convert::parse_error_body(&body);
    http::from_response_parts(
        status,
        retry_after,
        convert::error_hint(detail.as_ref()),
        op,
    )
}

fn invalid_reply(what: &str) -> ProviderError {
    ProviderError::new(
        ErrorCode::UpstreamInvalidResponse,
        format!("the upstream {what} is not in the Anthropic format"),
    )
}

#[async_trait::async_trait]
impl ChatProvider for AnthropicProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let body = convert::to_wire_request(request, false)?;
        let response = self
            .clients
            .call
            .post(self.messages_url())
            .json(&body)
            .send()
            .await
            .map_err(|e| http::from_reqwest(&e))?;
        if !response.status().is_success() {
            return Err(error_from(response, Op::Chat).await);
        }
        let bytes = response.bytes().await.map_err(|e| http::from_reqwest(&e))?;
        let reply: wire::MessagesResponse =
            serde_json::from_slice(&bytes).map_err(|_| invalid_reply("reply"))?;
        Ok(convert::from_wire_response(reply))
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ProviderError> {
        let body = convert::to_wire_request(request, true)?;
        let response = self
            .clients
            .stream
            .post(self.messages_url())
            .header(ACCEPT, "text/event-stream")
            .json(&body)
            .send()
            .await
            .map_err(|e| http::from_reqwest(&e))?;
        if !response.status().is_success() {
            return Err(error_from(response, Op::Chat).await);
        }
        Ok(canonical_stream(http::sse_events(response).boxed()))
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        let mut models = Vec::new();
        let mut after_id: Option<String> = None;
        for _ in 0..MAX_MODEL_PAGES {
            let mut url = format!("{}/v1/models?limit={MODELS_PAGE_LIMIT}", self.base_url);
            if let Some(after) = &after_id {
                url.push_str("&after_id=");
                url.extend(url::form_urlencoded::byte_serialize(after.as_bytes()));
            }
            let response = self
                .clients
                .call
                .get(url)
                .send()
                .await
                .map_err(|e| http::from_reqwest(&e))?;
            if !response.status().is_success() {
                return Err(error_from(response, Op::Models).await);
            }
            let bytes = response.bytes().await.map_err(|e| http::from_reqwest(&e))?;
            let page: wire::ModelList =
                serde_json::from_slice(&bytes).map_err(|_| invalid_reply("model list"))?;
            let next = page.last_id.clone().filter(|_| page.has_more);
            models.extend(convert::models(page));
            match next {
                Some(next) => after_id = Some(next),
                None => break,
            }
        }
        Ok(models)
    }
}

/// Progress of a converted stream.
struct StreamState {
    events: BoxStream<'static, Result<eventsource_stream::Event, ProviderError>>,
    converter: StreamConverter,
    /// The end marker or an error was yielded: nothing follows.
    done: bool,
}

/// Converts the upstream's events into canonical chunks: drops events that carry nothing,
/// ends after `message_stop`, yields one error and ends on an in-band `error` event, a
/// malformed event or a transport failure, and reports an EOF before `message_stop` as
/// [`http::cut_off`]. Dropping the returned stream drops the response body, which closes the
/// upstream connection.
fn canonical_stream(
    events: BoxStream<'static, Result<eventsource_stream::Event, ProviderError>>,
) -> ChatStream {
    let state = StreamState {
        events,
        converter: StreamConverter::default(),
        done: false,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            let event = match st.events.next().await {
                Some(Ok(event)) => event,
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
                None => {
                    st.done = true;
                    return Some((Err(http::cut_off()), st));
                }
            };
            match st.converter.on_event(&event.data) {
                Step::Skip => {}
                Step::Chunk(chunk) => return Some((Ok(chunk), st)),
                Step::End(chunk) => {
                    st.done = true;
                    return Some((Ok(chunk), st));
                }
                Step::Fail(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            }
        }
    })
    .boxed()
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
            kind: ProviderKind::Anthropic,
            base_url: base_url.map(str::to_owned),
            api_key: Some(SecretString::from("sk-ant-test")),
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            allow_private_network: true,
        }
    }

    #[test]
    fn the_default_base_url_has_no_v1() {
        let p = AnthropicProvider::new(settings(None)).expect("builds");
        assert_eq!(p.base_url(), "https://api.anthropic.com");
        assert_eq!(p.messages_url(), "https://api.anthropic.com/v1/messages");
        let p = AnthropicProvider::new(settings(Some("http://proxy:8080/"))).expect("builds");
        assert_eq!(p.base_url(), "http://proxy:8080");
    }

    #[test]
    fn debug_output_has_no_key() {
        let p = AnthropicProvider::new(settings(None)).expect("builds");
        assert!(!format!("{p:?}").contains("sk-ant-test"));
    }

    #[test]
    fn keys_that_cannot_be_headers_are_refused() {
        let mut s = settings(None);
        s.api_key = Some(SecretString::from("bad\nkey"));
        let e = AnthropicProvider::new(s).expect_err("newline");
        assert_eq!(e.code, ErrorCode::ValidationError);
    }
}
