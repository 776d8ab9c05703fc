//! Transport pieces every adapter shares: building the HTTP clients (SSRF-checked resolver, no
//! redirects, no proxy, per-provider headers and timeouts), reading error responses, mapping an
//! HTTP status or a transport failure onto a [`ProviderError`], and turning a response body
//! into Server-Sent Events.
//!
//! The mapping: 401/403 → `provider_key_invalid`, 402 and quota 429s →
//! `upstream_billing`, 429 → `upstream_rate_limited` (with `Retry-After`), context-length 4xx →
//! `context_length_exceeded`, 404 on a chat → `model_not_found`, 5xx → `upstream_unavailable`,
//! timeouts → `upstream_timeout`. Messages are fixed sentences: an upstream body is never copied
//! (it can quote the prompt or part of a key).

use crate::ssrf::{SsrfResolver, check_base_url};
use crate::{ProviderError, ProviderSettings};
use aihub_domain::ErrorCode;
use bytes::Bytes;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Upper bound on the TCP/TLS connect phase; `settings.timeout` lowers it further.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An error body is read up to this many bytes (only its code and type are looked at).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The two HTTP clients of one provider.
///
/// `call` runs under the whole-request `settings.timeout` (non-streaming calls); `stream` has
/// only the connect timeout and a read timeout between bytes (`settings.timeout`), since a
/// reply may stream for minutes. Both refuse redirects (a redirect would carry the key
/// elsewhere), ignore proxy environment variables, send the provider's extra headers, and
/// resolve names through [`SsrfResolver`].
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    /// Non-streaming calls.
    pub call: reqwest::Client,
    /// Streaming calls.
    pub stream: reqwest::Client,
}

impl Clients {
    /// Builds both clients for `settings`, with `headers` (the provider's extra headers plus
    /// whatever the adapter adds, e.g. its auth header marked sensitive) sent on every request.
    ///
    /// # Errors
    /// `internal_error` when a client cannot be built.
    pub(crate) fn new(
        settings: &ProviderSettings,
        headers: HeaderMap,
    ) -> Result<Self, ProviderError> {
        let connect_timeout = settings.timeout.min(MAX_CONNECT_TIMEOUT);
        let builder = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .dns_resolver(SsrfResolver::new(settings.allow_private_network))
                .default_headers(headers.clone())
                .user_agent(concat!("aihub/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(connect_timeout)
                .tcp_nodelay(true)
        };
        Ok(Clients {
            call: build(builder().timeout(settings.timeout))?,
            stream: build(builder().read_timeout(settings.timeout))?,
        })
    }
}

fn build(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, ProviderError> {
    builder.build().map_err(|_| {
        ProviderError::new(
            ErrorCode::InternalError,
            "the HTTP client could not be built",
        )
    })
}

/// The base URL requests go to: `settings.base_url` or the kind's default, trimmed, without a
/// trailing `/`, checked against the SSRF policy, with no query or fragment.
///
/// # Errors
/// `validation_error` when no base URL is known or it has a query/fragment; `unsafe_base_url`
/// when it fails [`check_base_url`].
pub(crate) fn base_url(settings: &ProviderSettings) -> Result<String, ProviderError> {
    let configured = settings
        .base_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    let base = configured
        .or_else(|| settings.kind.default_base_url())
        .ok_or_else(|| ProviderError::new(ErrorCode::ValidationError, "base_url is required"))?;
    let base = base.trim_end_matches('/').to_owned();
    let parsed = check_base_url(&base, settings.allow_private_network)?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        // Paths are appended to the base as text: a query would swallow them.
        return Err(ProviderError::new(
            ErrorCode::ValidationError,
            "base_url must not have a query or fragment",
        ));
    }
    Ok(base)
}

/// The provider's configured extra headers as a header map.
///
/// # Errors
/// `validation_error` naming the header when a name or value is invalid.
pub(crate) fn extra_headers(settings: &ProviderSettings) -> Result<HeaderMap, ProviderError> {
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

/// A header value holding a credential, marked sensitive (never printed by `Debug`).
///
/// # Errors
/// `validation_error` when the value contains characters a header cannot carry.
pub(crate) fn secret_header(value: &str) -> Result<HeaderValue, ProviderError> {
    let mut v = HeaderValue::try_from(value).map_err(|_| {
        ProviderError::new(
            ErrorCode::ValidationError,
            "api_key contains invalid characters",
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// `Retry-After` in seconds (the HTTP-date form is ignored).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// Which call failed: a 404 means "no such model" on a chat but "wrong base URL" on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// A chat completion (streaming or not).
    Chat,
    /// Listing models.
    Models,
    /// Embeddings.
    Embeddings,
}

/// What an adapter read from a vendor's error body to refine the mapping of its status.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ErrorHint<'a> {
    /// The body says the account is out of credit or quota.
    pub billing: bool,
    /// The body says the prompt does not fit the context window.
    pub context_length: bool,
    /// The body says the API key is invalid (Gemini answers 400 `API_KEY_INVALID`).
    pub key_invalid: bool,
    /// The vendor's error code, appended to `upstream_bad_request` messages when it looks like
    /// an identifier (so it cannot smuggle text).
    pub code: Option<&'a str>,
}

impl<'a> ErrorHint<'a> {
    fn safe_code(&self) -> Option<&'a str> {
        self.code.filter(|c| {
            !c.is_empty()
                && c.len() <= 64
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        })
    }
}

fn err(code: ErrorCode, message: impl Into<String>) -> ProviderError {
    ProviderError::new(code, message)
}

/// Maps an upstream HTTP error status, refined by what the body said.
pub(crate) fn from_status(status: u16, hint: ErrorHint<'_>, op: Op) -> ProviderError {
    let mut e = match status {
        401 | 403 => err(
            ErrorCode::ProviderKeyInvalid,
            "the upstream rejected the provider's API key",
        ),
        _ if hint.key_invalid => err(
            ErrorCode::ProviderKeyInvalid,
            "the upstream rejected the provider's API key",
        ),
        402 => err(
            ErrorCode::UpstreamBilling,
            "the upstream account is out of credit",
        ),
        429 if hint.billing => err(
            ErrorCode::UpstreamBilling,
            "the upstream account is out of credit or quota",
        ),
        429 => err(
            ErrorCode::UpstreamRateLimited,
            "the upstream is rate limiting this provider",
        ),
        404 if op == Op::Models => err(
            ErrorCode::UpstreamUnavailable,
            "the upstream has no model list at this base_url",
        ),
        404 => err(
            ErrorCode::ModelNotFound,
            "the model does not exist upstream",
        ),
        408 => err(ErrorCode::UpstreamTimeout, "the upstream timed out"),
        400..=499 if hint.context_length => err(
            ErrorCode::ContextLengthExceeded,
            "the prompt does not fit the model's context window",
        ),
        400..=499 if hint.billing => err(
            ErrorCode::UpstreamBilling,
            "the upstream account is out of credit or quota",
        ),
        400..=499 => {
            let message = match hint.safe_code() {
                Some(code) => format!("the upstream refused the request as invalid (code: {code})"),
                None => "the upstream refused the request as invalid".to_owned(),
            };
            err(ErrorCode::UpstreamBadRequest, message)
        }
        504 => err(
            ErrorCode::UpstreamTimeout,
            "the upstream timed out (HTTP 504)",
        ),
        500..=599 => err(
            ErrorCode::UpstreamUnavailable,
            format!("the upstream failed (HTTP {status})"),
        ),
        _ => err(
            ErrorCode::UpstreamInvalidResponse,
            format!("the upstream answered HTTP {status}"),
        ),
    };
    e.status = Some(status);
    e
}

/// Reads a failed response: its status, `Retry-After` and up to 64 KiB of body (for the
/// adapter to parse a code out of; never to show).
pub(crate) async fn read_error(response: reqwest::Response) -> (u16, Option<Duration>, Bytes) {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            body.truncate(MAX_ERROR_BODY);
            break;
        }
    }
    (status, retry_after, Bytes::from(body))
}

/// [`from_status`] plus the `Retry-After` kept on an `upstream_rate_limited` error.
pub(crate) fn from_response_parts(
    status: u16,
    retry_after: Option<Duration>,
    hint: ErrorHint<'_>,
    op: Op,
) -> ProviderError {
    let mut e = from_status(status, hint, op);
    if e.code == ErrorCode::UpstreamRateLimited {
        e.retry_after = retry_after;
    }
    e
}

/// Maps a transport failure. A refusal by the SSRF resolver is found in the source chain and
/// returned as is (`unsafe_base_url`).
pub(crate) fn from_reqwest(e: &reqwest::Error) -> ProviderError {
    if let Some(refused) = find_provider_error(e) {
        return refused;
    }
    let mapped = if e.is_timeout() {
        err(
            ErrorCode::UpstreamTimeout,
            "the upstream did not answer in time",
        )
    } else if e.is_connect() {
        err(
            ErrorCode::UpstreamUnavailable,
            "could not connect to the upstream",
        )
    } else if e.is_decode() {
        err(
            ErrorCode::UpstreamInvalidResponse,
            "the upstream answer could not be decoded",
        )
    } else if e.is_redirect() {
        err(
            ErrorCode::UpstreamInvalidResponse,
            "the upstream answered with a redirect",
        )
    } else {
        err(
            ErrorCode::UpstreamUnavailable,
            "the upstream connection failed",
        )
    };
    match e.status() {
        Some(s) => {
            let mut mapped = mapped;
            mapped.status = Some(s.as_u16());
            mapped
        }
        None => mapped,
    }
}

fn find_provider_error(e: &(dyn std::error::Error + 'static)) -> Option<ProviderError> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(inner) = current {
        if let Some(found) = inner.downcast_ref::<ProviderError>() {
            return Some(found.clone());
        }
        current = inner.source();
    }
    None
}

/// A transport failure in the middle of a streamed body: a read timeout is
/// `upstream_timeout` (the upstream stalled), anything else `upstream_unavailable`.
pub(crate) fn from_stream_reqwest(e: &reqwest::Error) -> ProviderError {
    if e.is_timeout() {
        err(
            ErrorCode::UpstreamTimeout,
            "the upstream stalled mid-stream",
        )
    } else {
        err(
            ErrorCode::UpstreamUnavailable,
            "the upstream stream broke off",
        )
    }
}

/// The error for a stream that ended (EOF) before the vendor's end marker.
pub(crate) fn cut_off() -> ProviderError {
    err(
        ErrorCode::UpstreamUnavailable,
        "the upstream closed the stream before the reply finished",
    )
}

/// The error for an unparsable streamed event or line.
pub(crate) fn malformed_chunk(vendor: &str) -> ProviderError {
    err(
        ErrorCode::UpstreamInvalidResponse,
        format!("the upstream sent a chunk that is not in the {vendor} format"),
    )
}

/// Parses one streamed event's data, or one NDJSON line, as `T`; `None` unless it is a JSON
/// object of that shape. Serde's derived structs would also read a JSON array as their fields
/// in order (`[]` as every field defaulted), turning data no vendor sends into a skipped event
/// or even a made-up chunk instead of [`malformed_chunk`].
pub(crate) fn parse_event<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    if data.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    serde_json::from_slice(data).ok()
}

/// The Server-Sent Events of a response body, parsed by `eventsource-stream` (the parser
/// reqwest-eventsource is built on). A transport failure maps through
/// [`from_stream_reqwest`]; a body that is not valid SSE or UTF-8 is
/// `upstream_invalid_response`. Dropping the stream closes the connection.
pub(crate) fn sse_events(
    response: reqwest::Response,
) -> impl Stream<Item = Result<Event, ProviderError>> + Send + 'static {
    response.bytes_stream().eventsource().map(|item| {
        item.map_err(|e| match e {
            EventStreamError::Transport(t) => from_stream_reqwest(&t),
            EventStreamError::Utf8(_) | EventStreamError::Parser(_) => err(
                ErrorCode::UpstreamInvalidResponse,
                "the upstream stream is not valid server-sent events",
            ),
        })
    })
}

/// A generated id for a tool call when the vendor gives none (Gemini, Ollama): `call_` and 24
/// hex digits, unique within the process.
pub(crate) fn tool_call_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    format!("call_{nanos:016x}{n:08x}")
}

#[cfg(test)]
mod tests;
