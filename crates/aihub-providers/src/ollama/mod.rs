//! Ollama's native API (<https://github.com/ollama/ollama/blob/main/docs/api.md>):
//! `POST /api/chat` (one JSON object, or an NDJSON stream), `GET /api/tags` and
//! `POST /api/embed`, at the server root (`http://localhost:11434` by default).
//!
//! `wire` holds the serde types, `convert` the pure conversions and error mapping, `ndjson`
//! the line framing of streams; this module only sends. An API key, when configured (a
//! reverse proxy or Ollama's cloud), goes out as `Authorization: Bearer …`.

mod convert;
mod ndjson;
mod wire;

use crate::http::{self, Clients, Op};
use crate::{ChatProvider, ChatStream, ProviderError, ProviderSettings};
use aihub_domain::{
    ChatChunk, ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ErrorCode,
    ModelInfo, ProviderKind,
};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use reqwest::header::AUTHORIZATION;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

/// A client for one Ollama server, speaking its native API.
///
/// Non-streaming calls run under the whole-request `settings.timeout`; streams have the
/// connect timeout and `settings.timeout` between reads (see [`Clients`]). Redirects are
/// refused, proxies ignored, names resolved through the SSRF policy. One call is one upstream
/// request.
pub struct OllamaProvider {
    base_url: String,
    clients: Clients,
}

impl std::fmt::Debug for OllamaProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OllamaProvider")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl OllamaProvider {
    /// Builds the client for `settings`. The base URL is `settings.base_url` or
    /// `http://localhost:11434`, without a trailing `/` and without a trailing `/v1` (the
    /// OpenAI-compatible address users often paste; the native API is at the root).
    ///
    /// # Errors
    /// - `validation_error` when the base URL has a query or fragment, an extra header has an
    ///   invalid name or value, or the API key cannot be sent in a header;
    /// - `unsafe_base_url` when the base URL fails the SSRF policy;
    /// - `internal_error` when the HTTP client cannot be built.
    pub fn new(settings: ProviderSettings) -> Result<Self, ProviderError> {
        let base_url = convert::native_base(&http::base_url(&settings)?);
        let mut headers = http::extra_headers(&settings)?;
        if let Some(key) = &settings.api_key {
            let value = http::secret_header(&format!("Bearer {}", key.expose_secret()))?;
            headers.insert(AUTHORIZATION, value);
        }
        Ok(OllamaProvider {
            clients: Clients::new(&settings, headers)?,
            base_url,
        })
    }

    /// The server root requests go to, e.g. `http://localhost:11434`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends `request`; a non-success answer is read and mapped for `op`.
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
        Err(convert::http_error(status, retry_after, &body, op))
    }

    /// Sends `request` with the non-streaming client and parses the JSON answer.
    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        op: Op,
    ) -> Result<T, ProviderError> {
        let response = self.send(request, op).await?;
        let body = response.bytes().await.map_err(|e| http::from_reqwest(&e))?;
        serde_json::from_slice(&body).map_err(|_| {
            ProviderError::new(
                ErrorCode::UpstreamInvalidResponse,
                "the upstream answer is not in the Ollama format",
            )
        })
    }
}

#[async_trait::async_trait]
impl ChatProvider for OllamaProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Ollama
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let wire = convert::to_wire_request(request, false)?;
        let url = format!("{}/api/chat", self.base_url);
        let line: wire::ChatLine = self
            .call(self.clients.call.post(url).json(&wire), Op::Chat)
            .await?;
        convert::from_wire_response(line, &request.model)
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ProviderError> {
        let wire = convert::to_wire_request(request, true)?;
        let url = format!("{}/api/chat", self.base_url);
        let response = self
            .send(self.clients.stream.post(url).json(&wire), Op::Chat)
            .await?;
        Ok(chat_chunks(ndjson::lines(response.bytes_stream()).boxed()))
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        let url = format!("{}/api/tags", self.base_url);
        let list: wire::TagList = self.call(self.clients.call.get(url), Op::Models).await?;
        Ok(convert::models(list))
    }

    async fn embed(&self, request: &EmbeddingRequest) -> Result<EmbeddingResponse, ProviderError> {
        let url = format!("{}/api/embed", self.base_url);
        let body = convert::to_wire_embed(request);
        let response: wire::EmbedResponse = self
            .call(self.clients.call.post(url).json(&body), Op::Embeddings)
            .await?;
        convert::from_wire_embed(response, request)
    }
}

/// Progress of a converted stream.
struct StreamState {
    lines: BoxStream<'static, Result<Bytes, ProviderError>>,
    convert: convert::StreamState,
    /// The final line or an error was yielded: nothing follows.
    ended: bool,
}

/// Converts NDJSON lines into canonical chunks: empty deltas are dropped; the `done: true`
/// line (finish reason and usage) ends the stream without waiting for EOF; a line that is not
/// JSON yields `malformed_chunk`, an `{"error": …}` line its mapped error, an EOF before the
/// final line `cut_off`, each as the last item.
fn chat_chunks(lines: BoxStream<'static, Result<Bytes, ProviderError>>) -> ChatStream {
    let state = StreamState {
        lines,
        convert: convert::StreamState::default(),
        ended: false,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if st.ended {
            return None;
        }
        loop {
            let item = match st.lines.next().await {
                Some(Ok(line)) => match line_step(&mut st.convert, &line) {
                    Ok((Some(chunk), last)) => {
                        st.ended = last;
                        Ok(chunk)
                    }
                    Ok((None, true)) => return None,
                    Ok((None, false)) => continue,
                    Err(e) => {
                        st.ended = true;
                        Err(e)
                    }
                },
                Some(Err(e)) => {
                    st.ended = true;
                    Err(e)
                }
                None => {
                    st.ended = true;
                    Err(http::cut_off())
                }
            };
            return Some((item, st));
        }
    })
    .boxed()
}

/// What one line means: its chunk (`None` when it carries nothing) and whether it is the
/// final `done: true` line.
///
/// # Errors
/// `malformed_chunk` for a line not in the Ollama format; the mapped error of an
/// `{"error": …}` line.
fn line_step(
    convert: &mut convert::StreamState,
    line: &[u8],
) -> Result<(Option<ChatChunk>, bool), ProviderError> {
    let parsed: wire::ChatLine =
        http::parse_event(line).ok_or_else(|| http::malformed_chunk("Ollama"))?;
    let last = parsed.done;
    Ok((convert.chunk(parsed)?, last))
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use aihub_domain::{ChatChunk, FinishReason};
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn settings(base_url: Option<&str>) -> ProviderSettings {
        ProviderSettings {
            kind: ProviderKind::Ollama,
            base_url: base_url.map(str::to_owned),
            api_key: None,
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            allow_private_network: true,
        }
    }

    #[test]
    fn the_base_url_is_the_server_root() {
        let cases = [
            (None, "http://localhost:11434"),
            (Some("http://gpu-box:11434/"), "http://gpu-box:11434"),
            (Some("http://gpu-box:11434/v1"), "http://gpu-box:11434"),
            (Some("http://gpu-box:11434/v1/"), "http://gpu-box:11434"),
        ];
        for (base, want) in cases {
            let p = OllamaProvider::new(settings(base)).expect("valid settings");
            assert_eq!(p.base_url(), want, "{base:?}");
        }
    }

    #[test]
    fn a_base_url_with_a_query_is_refused() {
        let err = OllamaProvider::new(settings(Some("http://gpu:11434?x=1"))).expect_err("query");
        assert_eq!(err.code, ErrorCode::ValidationError);
    }

    fn stream_of(lines: &[&'static str]) -> ChatStream {
        let items: Vec<Result<Bytes, ProviderError>> = lines
            .iter()
            .map(|l| Ok(Bytes::from_static(l.as_bytes())))
            .collect();
        chat_chunks(futures_util::stream::iter(items).boxed())
    }

    async fn collect(stream: ChatStream) -> Vec<Result<ChatChunk, ProviderError>> {
        stream.collect().await
    }

    const DELTA: &str =
        r#"{"model":"m","message":{"role":"assistant","content":"Hi"},"done":false}"#;
    const DONE: &str = r#"{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":3,"eval_count":2}"#;

    #[tokio::test]
    async fn the_done_line_ends_the_stream() {
        let items = collect(stream_of(&[DELTA, DONE, DELTA])).await;
        assert_eq!(items.len(), 2);
        let last = items[1].as_ref().expect("final chunk");
        assert_eq!(last.finish_reason, Some(FinishReason::Stop));
    }

    #[tokio::test]
    async fn eof_before_done_is_cut_off() {
        let items = collect(stream_of(&[DELTA])).await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], Err(http::cut_off()));
    }

    #[tokio::test]
    async fn a_non_json_line_is_malformed_and_final() {
        let items = collect(stream_of(&[DELTA, "data: {oops", DONE])).await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], Err(http::malformed_chunk("Ollama")));
    }

    #[tokio::test]
    async fn an_error_line_is_mapped_and_final() {
        let items = collect(stream_of(&[DELTA, r#"{"error":"boom"}"#, DONE])).await;
        assert_eq!(items.len(), 2);
        let err = items[1].as_ref().expect_err("error line");
        assert_eq!(err.code, ErrorCode::UpstreamUnavailable);
        assert!(!err.message.contains("boom"));
    }
}
