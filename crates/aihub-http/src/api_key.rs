//! The one authentication path of the `/v1` API: [`ApiKeyAuth`], a developer API key from
//! `Authorization: Bearer <key>` or `X-API-Key: <key>` (either header, same key), resolved by
//! [`App::authenticate_api_key`](aihub_core::App::authenticate_api_key).

use crate::error::ApiError;
use crate::extract::app_of;
use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, HeaderMap};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use aihub_core::keys::ApiKeyPrincipal;
use aihub_domain::ErrorCode;
use futures_util::future::LocalBoxFuture;
use std::sync::Arc;

/// The other header a key is accepted in, besides `Authorization: Bearer`.
pub const X_API_KEY: &str = "x-api-key";

/// The caller of a `/v1` request: a valid developer API key. Handlers check what it may do
/// with [`ApiKeyPrincipal::require`].
///
/// Errors (401, `WWW-Authenticate: Bearer`): `missing_api_key` when neither header carries a
/// key; `invalid_api_key` for a malformed, unknown, deleted, revoked or expired key, a key of
/// a deactivated account, an access token (JWT) instead of a key, or two different keys.
pub struct ApiKeyAuth(pub Arc<ApiKeyPrincipal>);

fn invalid(message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidApiKey, message)
}

/// Normalises both headers into one candidate secret. An `Authorization` header with
/// another scheme (e.g. `Basic` added by a proxy) is ignored when `X-API-Key` carries the key.
pub(crate) fn candidate(headers: &HeaderMap) -> Result<String, ApiError> {
    let bearer = headers.get(AUTHORIZATION).map(|v| {
        let v = v
            .to_str()
            .map_err(|_| invalid("Authorization header is not valid text"))?;
        match v.trim().split_once(' ') {
            Some((scheme, key))
                if scheme.eq_ignore_ascii_case("bearer") && !key.trim().is_empty() =>
            {
                Ok(key.trim())
            }
            _ => Err(invalid("Authorization header must be `Bearer <API key>`")),
        }
    });
    let header = match headers.get(X_API_KEY) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| invalid("X-API-Key header is not valid text"))?
                .trim(),
        )
        .filter(|k| !k.is_empty()),
    };
    match (bearer, header) {
        (Some(Ok(a)), Some(b)) if a != b => Err(invalid(
            "Authorization and X-API-Key carry different keys; send one",
        )),
        (_, Some(k)) | (Some(Ok(k)), None) => Ok(k.to_owned()),
        (Some(Err(e)), None) => Err(e),
        (None, None) => Err(ApiError::new(
            ErrorCode::MissingApiKey,
            "missing API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
        )),
    }
}

/// The outcome of authenticating a request's API key, computed by
/// [`crate::middleware::authenticate`] before any extractor runs and taken by [`ApiKeyAuth`].
pub(crate) struct KeyOutcome(pub(crate) Result<Arc<ApiKeyPrincipal>, ApiError>);

impl FromRequest for ApiKeyAuth {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Normally the middleware has authenticated already (see `AuthUser`).
        if let Some(KeyOutcome(outcome)) = req.extensions_mut().remove::<KeyOutcome>() {
            return Box::pin(std::future::ready(outcome.map(ApiKeyAuth)));
        }
        let secret = candidate(req.headers());
        let app = app_of(req);
        Box::pin(async move {
            let app = app?;
            let secret = secret?;
            // A warm cache answers in place; a miss runs its query on the app runtime.
            Ok(ApiKeyAuth(app.authenticate_api_key(&secret).await?))
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn code(r: Result<String, ApiError>) -> ErrorCode {
        r.unwrap_err().0.code
    }

    #[test]
    fn both_headers_give_one_candidate() {
        assert_eq!(
            candidate(&headers(&[("authorization", "Bearer sk-aihub-x")])).unwrap(),
            "sk-aihub-x"
        );
        assert_eq!(
            candidate(&headers(&[("authorization", "bearer  sk-aihub-x ")])).unwrap(),
            "sk-aihub-x"
        );
        assert_eq!(
            candidate(&headers(&[("x-api-key", " sk-aihub-y")])).unwrap(),
            "sk-aihub-y"
        );
        assert_eq!(
            candidate(&headers(&[
                ("authorization", "Bearer sk-aihub-z"),
                ("x-api-key", "sk-aihub-z")
            ]))
            .unwrap(),
            "sk-aihub-z"
        );
    }

    #[test]
    fn missing_and_malformed() {
        assert_eq!(code(candidate(&headers(&[]))), ErrorCode::MissingApiKey);
        assert_eq!(
            code(candidate(&headers(&[("x-api-key", "  ")]))),
            ErrorCode::MissingApiKey
        );
        assert_eq!(
            code(candidate(&headers(&[("authorization", "Bearer ")]))),
            ErrorCode::InvalidApiKey
        );
        assert_eq!(
            code(candidate(&headers(&[(
                "authorization",
                "Basic dXNlcjpwYXNz"
            )]))),
            ErrorCode::InvalidApiKey
        );
        assert_eq!(
            candidate(&headers(&[
                ("authorization", "Basic dXNlcjpwYXNz"),
                ("x-api-key", "sk-aihub-k")
            ]))
            .unwrap(),
            "sk-aihub-k"
        );
        assert_eq!(
            code(candidate(&headers(&[
                ("authorization", "Bearer sk-aihub-a"),
                ("x-api-key", "sk-aihub-b")
            ]))),
            ErrorCode::InvalidApiKey
        );
    }
}
