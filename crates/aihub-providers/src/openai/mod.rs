//! The OpenAI wire family: OpenAI itself, OpenRouter, Ollama (through its `/v1` endpoint) and
//! any OpenAI-compatible server (llama.cpp, vLLM, LM Studio, …).
//!
//! `convert` holds the pure conversions, `errors` the error mapping, `wire` the few serde types
//! async-openai is too strict for; this module only builds the HTTP clients and sends.

mod convert;
mod errors;
mod wire;

use crate::ssrf::{SsrfResolver, check_base_url};
use crate::{ChatProvider, ChatStream, ProviderError, ProviderSettings};
use aihub_domain::{ChatChunk, ChatRequest, ChatResponse, ErrorCode, ModelInfo, ProviderKind};
use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::middleware::ReqwestService;
use async_openai::types::chat::ChatCompletionResponseStream;
use errors::{Detail, Op};
use futures_util::StreamExt;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use secrecy::ExposeSecret;
use std::time::Duration;

/// Upper bound on the TCP/TLS connect phase; `settings.timeout` lowers it further.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for one OpenAI-wire upstream.
///
/// Holds two HTTP clients: non-streaming calls run under the whole-request
/// `settings.timeout`; streams only have a connect timeout and an idle timeout between reads
/// (`settings.timeout`), since a reply may stream for minutes. Both refuse redirects (a redirect
/// would carry the key elsewhere), ignore proxy environment variables, send the provider's extra
/// headers, and resolve names through [`SsrfResolver`]. One call sends exactly one upstream
/// request: async-openai's built-in retries are switched off.
pub struct OpenAiProvider {
    kind: ProviderKind,
    base_url: String,
    chat: Client<OpenAIConfig>,
    stream: Client<OpenAIConfig>,
    http: reqwest::Client,
    authorization: Option<HeaderValue>,
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
    /// The base URL is `settings.base_url` or the kind's default, without a trailing `/`; for
    /// Ollama `/v1` is appended (unless already there), since its base is the server root.
    ///
    /// # Errors
    /// - `validation_error` when an `openai_compatible` provider has no `base_url`, the base URL
    ///   has a query or fragment, an extra header has an invalid name or value, or the API key
    ///   cannot be sent in a header;
    /// - `unsafe_base_url` when the base URL fails [`check_base_url`];
    /// - `internal_error` when the HTTP client cannot be built.
    pub fn new(settings: ProviderSettings) -> Result<Self, ProviderError> {
        let base_url = base_url(&settings)?;
        let parsed = check_base_url(&base_url, settings.allow_private_network)?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            // Paths are appended to the base as text: a query would swallow them.
            return Err(ProviderError::new(
                ErrorCode::ValidationError,
                "base_url must not have a query or fragment",
            ));
        }
        let headers = extra_headers(&settings)?;
        let connect_timeout = settings.timeout.min(MAX_CONNECT_TIMEOUT);
        let builder = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .dns_resolver(SsrfResolver::new(settings.allow_private_network))
                .default_headers(headers.clone())
                .user_agent(concat!("aihub/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(connect_timeout)
        };
        let http = build(builder().timeout(settings.timeout))?;
        let stream_http = build(builder().read_timeout(settings.timeout))?;

        let key = settings
            .api_key
            .as_ref()
            .map(|k| k.expose_secret().to_owned())
            .unwrap_or_default();
        // Checked here also because async-openai panics on a key that is no valid header value.
        let authorization = match settings.api_key.as_ref() {
            Some(k) => {
                let mut value = HeaderValue::try_from(format!("Bearer {}", k.expose_secret()))
                    .map_err(|_| {
                        ProviderError::new(
                            ErrorCode::ValidationError,
                            "api_key contains invalid characters",
                        )
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        // The org and project ids are cleared: OpenAIConfig would otherwise read them from the
        // server's environment and send them to every upstream.
        let config = OpenAIConfig::new()
            .with_api_base(base_url.clone())
            .with_api_key(key)
            .with_org_id("")
            .with_project_id("");
        Ok(OpenAiProvider {
            kind: settings.kind,
            chat: sdk_client(config.clone(), http.clone()),
            stream: sdk_client(config, stream_http),
            http,
            base_url,
            authorization,
        })
    }

    /// The base URL requests go to, e.g. `http://localhost:11434/v1`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

/// An async-openai client sending through `http` without async-openai's default retry layer
/// (up to 3 hidden retries, honoring `Retry-After`): one call is one upstream request, and
/// whether to retry is decided above the adapter ([`ProviderError::is_retryable`]).
fn sdk_client(config: OpenAIConfig, http: reqwest::Client) -> Client<OpenAIConfig> {
    Client::with_config(config)
        .with_http_client(http.clone())
        .with_http_service(ReqwestService::new(http))
}

fn build(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, ProviderError> {
    builder.build().map_err(|_| {
        ProviderError::new(
            ErrorCode::InternalError,
            "the HTTP client could not be built",
        )
    })
}

fn base_url(settings: &ProviderSettings) -> Result<String, ProviderError> {
    let configured = settings
        .base_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    let base = configured
        .or_else(|| settings.kind.default_base_url())
        .ok_or_else(|| ProviderError::new(ErrorCode::ValidationError, "base_url is required"))?;
    let base = base.trim_end_matches('/');
    Ok(
        if settings.kind == ProviderKind::Ollama && !base.ends_with("/v1") {
            format!("{base}/v1")
        } else {
            base.to_owned()
        },
    )
}

fn extra_headers(settings: &ProviderSettings) -> Result<HeaderMap, ProviderError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &settings.headers {
        let header = HeaderName::try_from(name.as_str()).map_err(|_| {
            ProviderError::new(
                ErrorCode::ValidationError,
                format!("headers: `{name}` is not a valid header name"),
            )
        })?;
        let value = HeaderValue::try_from(value.as_str()).map_err(|_| {
            ProviderError::new(
                ErrorCode::ValidationError,
                format!("headers: the value of `{name}` is not valid"),
            )
        })?;
        headers.insert(header, value);
    }
    Ok(headers)
}

#[async_trait::async_trait]
impl ChatProvider for OpenAiProvider {
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let wire = convert::to_wire_request(request, self.kind, false);
        let response = self
            .chat
            .chat()
            .create(wire)
            .await
            .map_err(|e| errors::from_openai(&e, Op::Chat))?;
        convert::from_wire_response(response)
    }

    async fn chat_stream(&self, request: &ChatRequest) -> Result<ChatStream, ProviderError> {
        let wire = convert::to_wire_request(request, self.kind, true);
        let upstream = self
            .stream
            .chat()
            .create_stream(wire)
            .await
            .map_err(|e| errors::from_openai(&e, Op::Chat))?;
        Ok(canonical_stream(upstream))
    }

    async fn list_models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        // Sent directly rather than through async-openai, whose model type requires fields
        // that compatible servers omit (see `wire`); this also keeps `Retry-After`.
        let mut request = self.http.get(format!("{}/models", self.base_url));
        if let Some(auth) = &self.authorization {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let response = request.send().await.map_err(|e| errors::from_reqwest(&e))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            let body = response.bytes().await.unwrap_or_default();
            let detail = wire::parse_error_body(&body);
            let detail = detail.as_ref().map(Detail::from_wire).unwrap_or_default();
            let mut e = errors::from_status(status.as_u16(), detail, Op::Models);
            if e.code == ErrorCode::UpstreamRateLimited {
                e.retry_after = retry_after;
            }
            return Err(e);
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| errors::from_reqwest(&e))?;
        let list: wire::WireModelList = serde_json::from_slice(&body).map_err(|_| {
            ProviderError::new(
                ErrorCode::UpstreamInvalidResponse,
                "the upstream model list is not in the OpenAI format",
            )
        })?;
        Ok(convert::models(list))
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// Progress of a converted stream.
struct StreamState {
    upstream: ChatCompletionResponseStream,
    /// A finish reason or usage arrived: the reply is complete.
    finished: bool,
    /// An error was yielded; nothing follows it.
    done: bool,
}

/// Converts the upstream's chunks, drops empty ones, ends after the first error, and reports a
/// stream that ends before any finish reason or usage as `upstream_unavailable` (the connection
/// broke off without `[DONE]`). Dropping the returned stream drops async-openai's reader, which
/// closes the upstream connection.
fn canonical_stream(upstream: ChatCompletionResponseStream) -> ChatStream {
    let state = StreamState {
        upstream,
        finished: false,
        done: false,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            match st.upstream.next().await {
                Some(Ok(chunk)) => {
                    if let Some(c) = convert::from_wire_chunk(chunk) {
                        st.finished |= c.finish_reason.is_some() || c.usage.is_some();
                        return Some((Ok::<ChatChunk, ProviderError>(c), st));
                    }
                }
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(errors::from_stream(&e)), st));
                }
                None if st.finished => return None,
                None => {
                    st.done = true;
                    let e = ProviderError::new(
                        ErrorCode::UpstreamUnavailable,
                        "the upstream closed the stream before the reply finished",
                    );
                    return Some((Err(e), st));
                }
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn settings(kind: ProviderKind, base_url: Option<&str>) -> ProviderSettings {
        ProviderSettings {
            kind,
            base_url: base_url.map(str::to_owned),
            api_key: None,
            headers: BTreeMap::new(),
            timeout: Duration::from_secs(30),
            allow_private_network: true,
        }
    }

    #[test]
    fn base_urls_follow_each_kind() {
        let cases = [
            (ProviderKind::Openai, None, "https://api.openai.com/v1"),
            (
                ProviderKind::Openrouter,
                None,
                "https://openrouter.ai/api/v1",
            ),
            (ProviderKind::Ollama, None, "http://localhost:11434/v1"),
            (
                ProviderKind::Ollama,
                Some("http://gpu-box:11434/"),
                "http://gpu-box:11434/v1",
            ),
            (
                ProviderKind::Ollama,
                Some("http://gpu-box:11434/v1"),
                "http://gpu-box:11434/v1",
            ),
            (
                ProviderKind::OpenaiCompatible,
                Some("http://llama:8080/v1/"),
                "http://llama:8080/v1",
            ),
        ];
        for (kind, base, want) in cases {
            assert_eq!(
                base_url(&settings(kind, base)).expect("valid"),
                want,
                "{kind:?} {base:?}"
            );
        }
    }

    #[test]
    fn compatible_without_base_url_is_a_validation_error() {
        let err = OpenAiProvider::new(settings(ProviderKind::OpenaiCompatible, None))
            .expect_err("no base");
        assert_eq!(err.code, ErrorCode::ValidationError);
        assert_eq!(err.message, "base_url is required");
    }

    #[test]
    fn base_url_with_a_query_is_refused() {
        let s = settings(
            ProviderKind::OpenaiCompatible,
            Some("http://llama:8080/v1?x=1"),
        );
        let err = OpenAiProvider::new(s).expect_err("query");
        assert_eq!(err.code, ErrorCode::ValidationError);
    }

    #[test]
    fn invalid_header_names_are_refused() {
        let mut s = settings(ProviderKind::Openai, None);
        s.headers.insert("bad header".into(), "x".into());
        let err = OpenAiProvider::new(s).expect_err("invalid");
        assert_eq!(err.code, ErrorCode::ValidationError);
    }

    #[test]
    fn retry_after_reads_seconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("20"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(20)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
