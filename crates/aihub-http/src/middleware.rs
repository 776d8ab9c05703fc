//! Request ids, access log, and the request id inside error bodies.

use crate::error::{ApiError, ErrorBody};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use std::time::Instant;

/// The request id header.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request: the client's `X-Request-Id` when it sent a sane one
/// (≤ 128 of `[A-Za-z0-9._:-]`), else a generated one. `unique` is what usage records use: the
/// same as `id` when generated, else `id` plus a random suffix, since clients may reuse ids.
#[derive(Debug, Clone)]
pub struct RequestId {
    /// Echoed in `X-Request-Id` and error bodies.
    pub id: String,
    /// Unique per request.
    pub unique: String,
}

fn sane(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

impl FromRequest for RequestId {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| {
                let id = aihub_core::crypto::random_token(12);
                RequestId {
                    unique: id.clone(),
                    id,
                }
            });
        std::future::ready(Ok(id))
    }
}

/// Authenticates the caller before the handler's extractors run, and stashes the outcome for
/// [`AuthUser`](crate::extract::AuthUser) (a session token on `/api/…`) or
/// [`ApiKeyAuth`](crate::api_key::ApiKeyAuth) (a developer key on `/v1/…`). A handler's
/// extractors are polled together and the first error wins, so without this a quick body or
/// query error (422) could answer before a slower credential check (401) and tell an
/// unauthenticated caller about bodies. Nothing is answered here: a route that needs no
/// credentials ignores the stash, and a request without credentials gets its 401 from the
/// extractor at once.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Ok(app) = crate::extract::app_of(req.request()) {
        let path = req.path();
        if path.starts_with("/v1/") {
            if let Ok(secret) = crate::api_key::candidate(req.headers()) {
                let outcome = app.authenticate_api_key(&secret).await.map_err(ApiError);
                req.extensions_mut()
                    .insert(crate::api_key::KeyOutcome(outcome));
            }
        } else if path.starts_with("/api/")
            && let Some(token) = crate::extract::bearer(req.request())
        {
            let outcome = crate::extract::authenticate_session(app, token).await;
            req.extensions_mut()
                .insert(crate::extract::SessionOutcome(outcome));
        }
    }
    next.call(req).await
}

/// Assigns the request id, logs the request, echoes `X-Request-Id` on every response, and
/// writes it into error bodies.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let given = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_owned);
    let rid = match given {
        Some(id) => RequestId {
            unique: format!("{id}.{}", aihub_core::crypto::random_token(6)),
            id,
        },
        None => {
            let id = aihub_core::crypto::random_token(12);
            RequestId {
                unique: id.clone(),
                id,
            }
        }
    };
    req.extensions_mut().insert(rid.clone());
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    // Every log line written while the request is handled (here and on the app runtime, see
    // `App::run`) carries its id.
    let span = tracing::info_span!("request", request_id = %rid.id);
    let res = tracing::Instrument::instrument(next.call(req), span).await?;
    let status = res.status();
    let mut error_body = res.response().extensions().get::<ErrorBody>().cloned();
    let is_json = res
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if error_body.is_none() && !is_json && (status.is_client_error() || status.is_server_error()) {
        // An error actix produced itself (an extractor's overflow, a panic): same format.
        error_body = Some(crate::error::ErrorBody(crate::error::body_for_status(
            status,
        )));
    }
    let mut res = match error_body {
        Some(ErrorBody(mut body)) => {
            body.request_id = Some(rid.id.clone());
            let (http_req, old) = res.into_parts();
            let mut builder = HttpResponse::build(old.status());
            for (name, value) in old.headers() {
                if name != actix_web::http::header::CONTENT_LENGTH
                    && name != actix_web::http::header::CONTENT_TYPE
                {
                    builder.append_header((name.clone(), value.clone()));
                }
            }
            ServiceResponse::new(http_req, builder.json(body))
        }
        None => res.map_into_boxed_body(),
    };
    if let Ok(v) = HeaderValue::from_str(&rid.id) {
        res.headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    tracing::info!(
        request_id = %rid.id,
        %method,
        path = %path,
        status = status.as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(res)
}
