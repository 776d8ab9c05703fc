//! Request extractors: the authenticated caller, JSON and query bodies whose errors name the
//! field (422), and path ids (a malformed id is a 404, like a missing one).

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use aihub_core::auth::CurrentUser;
use aihub_core::{App, Error};
use aihub_domain::ErrorCode;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// The caller of a management route, from `Authorization: Bearer <access token>`.
pub struct AuthUser(pub CurrentUser);

pub(crate) fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

pub(crate) fn app_of(req: &HttpRequest) -> Result<App, ApiError> {
    req.app_data::<web::Data<App>>()
        .map(|d| d.get_ref().clone())
        .ok_or_else(|| ApiError(Error::internal("application state missing")))
}

/// The outcome of authenticating a request's session token, computed by
/// [`crate::middleware::authenticate`] before any extractor runs and taken by [`AuthUser`].
pub(crate) struct SessionOutcome(pub(crate) Result<CurrentUser, ApiError>);

/// Resolves an access token to its user: from the session cache when it was checked moments
/// ago (no database, no hop to the app runtime), otherwise by a query on the app runtime.
pub(crate) async fn authenticate_session(app: App, token: String) -> Result<CurrentUser, ApiError> {
    if let Some(user) = app.authenticate_cached(&token)? {
        return Ok(user);
    }
    let a = app.clone();
    Ok(app.run(async move { a.authenticate(&token).await }).await?)
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Normally the middleware has authenticated already, so this answers at the first poll,
        // before any body or query extractor of the same handler can answer with its error.
        if let Some(SessionOutcome(outcome)) = req.extensions_mut().remove::<SessionOutcome>() {
            return Box::pin(std::future::ready(outcome.map(AuthUser)));
        }
        let token = bearer(req);
        let app = app_of(req);
        Box::pin(async move {
            let token = token
                .ok_or_else(|| ApiError::new(ErrorCode::MissingToken, "missing bearer token"))?;
            Ok(AuthUser(authenticate_session(app?, token).await?))
        })
    }
}

/// A JSON body. Malformed JSON, a wrong type, a missing or unknown field give 422 with the
/// field in `param`; a body over the limit gives 413.
pub struct ValidJson<T>(pub T);

/// Turns a serde error at `path` into a 422 naming the field.
fn field_error(path: &str, message: &str) -> ApiError {
    // `unknown field `x``/`missing field `x`` name the field in the message, not the path.
    let named = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("unknown field") || message.starts_with("missing field"));
    // serde_path_to_error already ends the path with an unknown field's name, but not with a
    // missing one's (the error is raised on the parent object).
    let param = match (named, path) {
        (Some(name), "." | "") => name.to_owned(),
        (Some(name), p) if p == name || p.ends_with(&format!(".{name}")) => p.to_owned(),
        (Some(name), p) => format!("{p}.{name}"),
        (None, p) => p.to_owned(),
    };
    let clean = message.split(" at line ").next().unwrap_or(message);
    let param = (!param.is_empty() && param != ".").then_some(param);
    let msg = match &param {
        Some(p) => format!("invalid value for `{p}`: {clean}"),
        None => format!("invalid JSON body: {clean}"),
    };
    ApiError(Error {
        param,
        ..Error::new(ErrorCode::ValidationError, msg)
    })
}

pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidJson,
            "request body is empty; expected a JSON object",
        ));
    }
    // serde would also read a struct from a JSON array of its fields in order
    // (`["alice", "secret"]`); the API takes objects only.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::new(
            ErrorCode::InvalidJson,
            "request body must be a JSON object",
        ));
    }
    refuse_nul_in_json(bytes)?;
    let malformed = |e: serde_json::Error| {
        ApiError::new(ErrorCode::InvalidJson, format!("malformed JSON: {e}"))
    };
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(&mut *de) {
        Ok(value) => {
            // Nothing but whitespace may follow the value.
            de.end().map_err(malformed)?;
            Ok(value)
        }
        Err(e) => {
            // A body that is not JSON is malformed, whatever error deserializing it met first.
            // In a JSON body every error is about a field, though serde_json words some as
            // syntax errors: a value of the wrong type for an enum ("expected value"), a number
            // too large for `f64`. The body is scanned again only on this error path.
            serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(malformed)?;
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            let message = if message.starts_with("expected value") {
                "invalid type, expected one of the allowed values".to_owned()
            } else {
                message
            };
            Err(field_error(&path, &message))
        }
    }
}

/// Refuses a JSON body with a NUL character (`\u0000`) in any string or key, naming where:
/// no stored text may hold one (PostgreSQL cannot), and no use for one exists. The byte scan
/// is the cheap common path; only a body that contains the escape is parsed to find it (an
/// escaped backslash followed by `u0000` is text, not NUL, and passes).
fn refuse_nul_in_json(bytes: &[u8]) -> Result<(), ApiError> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(()); // malformed: the typed parse reports it
    };
    match nul_path(&value, String::new()) {
        Some(path) => Err(ApiError(Error::validation(
            path.trim_start_matches('.'),
            "text must not contain the NUL character (U+0000)",
        ))),
        None => Ok(()),
    }
}

/// The path (`.a.b[2]`) of the first string or key holding U+0000, if any.
fn nul_path(value: &serde_json::Value, at: String) -> Option<String> {
    match value {
        serde_json::Value::String(s) => s.contains('\0').then_some(at),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v, format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(at.clone())
            } else {
                nul_path(v, format!("{at}.{k}"))
            }
        }),
        _ => None,
    }
}

/// Refuses URL-encoded pairs (a query string or a form body) with a NUL character, naming
/// the parameter.
pub(crate) fn refuse_nul_in_pairs(encoded: &[u8]) -> Result<(), ApiError> {
    if !encoded.windows(3).any(|w| w == b"%00") && !encoded.contains(&0) {
        return Ok(());
    }
    match form_urlencoded::parse(encoded).find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        Some((k, _)) => Err(ApiError(Error::validation(
            k.replace('\0', ""),
            "text must not contain the NUL character (U+0000)",
        ))),
        None => Ok(()),
    }
}

pub(crate) fn payload_error(e: actix_web::error::PayloadError) -> ApiError {
    match e {
        actix_web::error::PayloadError::Overflow => ApiError::new(
            ErrorCode::PayloadTooLarge,
            "request body is over the size limit",
        ),
        other => ApiError::new(
            ErrorCode::InvalidJson,
            format!("could not read the request body: {other}"),
        ),
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.to_ascii_lowercase().contains("json"))
            .unwrap_or(true);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(|e| {
                let too_large = e
                    .as_error::<actix_web::error::PayloadError>()
                    .is_some_and(|p| matches!(p, actix_web::error::PayloadError::Overflow))
                    || e.as_response_error().status_code()
                        == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE;
                if too_large {
                    payload_error(actix_web::error::PayloadError::Overflow)
                } else {
                    ApiError::new(
                        ErrorCode::InvalidJson,
                        format!("could not read the request body: {e}"),
                    )
                }
            })?;
            if !content_type_ok {
                return Err(ApiError::new(
                    ErrorCode::InvalidJson,
                    "content type must be application/json",
                ));
            }
            Ok(ValidJson(parse_json(&bytes)?))
        })
    }
}

/// A query string; an invalid parameter gives 422 naming it.
pub struct ValidQuery<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ValidQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Err(e) = refuse_nul_in_pairs(req.query_string().as_bytes()) {
            return std::future::ready(Err(e));
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(
            req.query_string().as_bytes(),
        ));
        let result = serde_path_to_error::deserialize(de)
            .map(ValidQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                field_error(&path, &e.into_inner().to_string())
            });
        std::future::ready(result)
    }
}

/// A numeric id in the path. Anything else answers 404, the same as a missing id.
pub struct PathId(pub i64);

impl FromRequest for PathId {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .match_info()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|id| *id > 0);
        std::future::ready(
            id.map(PathId)
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "not found")),
        )
    }
}

/// The peer address, for login throttling (the socket address; proxies are not trusted).
pub(crate) fn client_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// Runs a use case on the app's runtime ([`App::run`]), so it finishes even when the client
/// goes away; `f` gets its own handle to the app.
///
/// # Errors
/// The use case's error, as an [`ApiError`].
pub(crate) async fn call<T, F, Fut>(app: &App, f: F) -> Result<T, ApiError>
where
    F: FnOnce(App) -> Fut,
    Fut: std::future::Future<Output = aihub_core::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    Ok(app.run(f(app.clone())).await?)
}
