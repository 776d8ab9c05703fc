//! The HTTP layer: the error format, `X-Request-Id`,
//! the body limit, JSON errors naming the field, path ids, health and readiness, Swagger UI and
//! the served OpenAPI document.

use aihub_testkit::app::test_http_options;
use aihub_testkit::{HeaderMap, StatusCode, TEST_PASSWORD, TestApp, both_backends};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// A reply as the test kit returns it: status, JSON body, headers.
pub(crate) type Reply = (StatusCode, Value, HeaderMap);

/// The `X-Request-Id` of a reply.
pub(crate) fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .expect("every response carries X-Request-Id")
        .to_str()
        .expect("X-Request-Id is ASCII")
        .to_owned()
}

/// The keys of a JSON object, sorted.
pub(crate) fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

/// Sorted key set from a list.
pub(crate) fn key_set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// Asserts `reply` is an error in the OpenAI-style error format with exactly these status,
/// `type`, `code` and `param`, a non-empty message, `details`, and a `request_id` equal to the
/// `X-Request-Id` header. Returns the `error` object.
pub(crate) fn assert_error(
    reply: &Reply,
    status: u16,
    kind: &str,
    code: &str,
    param: Option<&str>,
) -> Value {
    let (s, body, headers) = reply;
    assert_eq!(s.as_u16(), status, "{body}");
    assert!(
        body.is_object(),
        "expected a {status} `{code}` error in the error format, got {s} with body {body}"
    );
    assert_eq!(keys(body), key_set(&["error", "request_id"]), "{body}");
    let error = &body["error"];
    assert_eq!(
        keys(error),
        key_set(&["type", "code", "message", "param", "details"]),
        "{body}"
    );
    assert_eq!(error["type"], kind, "{body}");
    assert_eq!(error["code"], code, "{body}");
    assert_eq!(error["param"], json!(param), "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["request_id"], json!(request_id(headers)), "{body}");
    error.clone()
}

/// Sends a raw request (any body, any headers) and returns it like [`TestApp::send`].
pub(crate) async fn raw(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Reply {
    let mut request = app.client.request(method, app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body read");
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, value, headers)
}

fn register_body(username: &str) -> Value {
    json!({
        "username": username,
        "email": format!("{username}@example.com"),
        "password": TEST_PASSWORD,
        "confirm_password": TEST_PASSWORD,
    })
}

async fn unknown_route_is_404_in_error_format(app: TestApp) {
    for path in [
        "/nope",
        "/api/v1/nope",
        "/api/v2/auth/login",
        "/v1/unknown/thing",
    ] {
        let reply = app.get(path, None).await;
        let error = assert_error(&reply, 404, "not_found_error", "route_not_found", None);
        assert_eq!(
            reply.1,
            json!({
                "error": {
                    "type": "not_found_error",
                    "code": "route_not_found",
                    "message": "no such route",
                    "param": null,
                    "details": null
                },
                "request_id": request_id(&reply.2)
            }),
            "{path}"
        );
        assert_eq!(error["message"], "no such route");
        assert_eq!(
            reply.2.get("content-type").unwrap(),
            "application/json",
            "{path}"
        );
    }
    // Other methods on unknown paths too.
    let reply = app.post("/api/v1/nope", None, json!({})).await;
    assert_error(&reply, 404, "not_found_error", "route_not_found", None);
    let reply = app.delete("/api/v1/auth", None).await;
    assert_error(&reply, 404, "not_found_error", "route_not_found", None);
    // A known path with a method it does not answer is 405, naming the methods it does.
    for (m, path, allow) in [
        (reqwest::Method::DELETE, "/health", "GET"),
        (reqwest::Method::POST, "/api/v1/users/me", "GET, PUT"),
        (reqwest::Method::GET, "/api/v1/auth/login", "POST"),
        (
            reqwest::Method::POST,
            "/api/v1/conversations/12",
            "GET, PUT, PATCH, DELETE",
        ),
    ] {
        let reply = raw(&app, m.clone(), path, &[], None).await;
        assert_error(
            &reply,
            405,
            "invalid_request_error",
            "method_not_allowed",
            None,
        );
        assert_eq!(reply.2.get("allow").unwrap(), allow, "{m} {path}");
    }
}

async fn client_request_id_is_echoed(app: TestApp) {
    let given = "client-req.42:abc_DEF";
    let reply = raw(
        &app,
        reqwest::Method::GET,
        "/health",
        &[("x-request-id", given)],
        None,
    )
    .await;
    assert_eq!(reply.0, 200);
    assert_eq!(request_id(&reply.2), given);

    // On an error the body's request_id is the client's id as well.
    let reply = raw(
        &app,
        reqwest::Method::GET,
        "/api/v1/auth/me",
        &[("x-request-id", given)],
        None,
    )
    .await;
    assert_error(&reply, 401, "authentication_error", "missing_token", None);
    assert_eq!(reply.1["request_id"], given);

    // An id that is not sane (too long, or with characters outside [A-Za-z0-9._:-]) is
    // replaced by a generated one rather than echoed.
    let too_long = "a".repeat(129);
    for bad in [too_long.as_str(), "has space", "semi;colon", "<script>"] {
        let reply = raw(
            &app,
            reqwest::Method::GET,
            "/api/v1/nope",
            &[("x-request-id", bad)],
            None,
        )
        .await;
        let id = request_id(&reply.2);
        assert_ne!(id, bad);
        assert!(!id.is_empty());
        assert_eq!(reply.1["request_id"], json!(id));
    }

    // Generated ids differ between requests.
    let (_, _, a) = app.get("/health", None).await;
    let (_, _, b) = app.get("/health", None).await;
    assert_ne!(request_id(&a), request_id(&b));
}

async fn every_response_has_a_request_id(app: TestApp) {
    let reply = app.get("/health", None).await;
    assert_eq!(reply.0, 200);
    assert!(!request_id(&reply.2).is_empty());

    let reply = app
        .post("/api/v1/auth/register", None, register_body("alice"))
        .await;
    assert_eq!(reply.0, 201, "{}", reply.1);
    assert!(!request_id(&reply.2).is_empty());

    let reply = app.get("/api/v1/nope", None).await;
    assert_error(&reply, 404, "not_found_error", "route_not_found", None);

    let reply = app
        .post("/api/v1/auth/register", None, json!({"username": "bob"}))
        .await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("email"),
    );

    let reply = app.get("/api/v1/users/me", None).await;
    assert_error(&reply, 401, "authentication_error", "missing_token", None);

    let reply = app.get("/openapi.json", None).await;
    assert_eq!(reply.0, 200);
    assert!(!request_id(&reply.2).is_empty());

    let reply = app.get("/docs", None).await;
    assert_eq!(reply.0, 308);
    assert!(!request_id(&reply.2).is_empty());
}

async fn body_over_the_limit_is_413(app: TestApp) {
    let t = TestApp::start_with_options(
        app.backend,
        |_| {},
        aihub_http::HttpOptions {
            body_limit_bytes: 1024,
            ..test_http_options()
        },
    )
    .await
    .unwrap();
    let mut big = register_body("alice");
    big["full_name"] = json!("x".repeat(4096));
    let reply = t.post("/api/v1/auth/register", None, big).await;
    assert_error(
        &reply,
        413,
        "invalid_request_error",
        "payload_too_large",
        None,
    );
    // Nothing was created: the first account to register is still the admin.
    let reply = t
        .post("/api/v1/auth/register", None, register_body("alice"))
        .await;
    assert_eq!(reply.0, 201, "{}", reply.1);
    assert_eq!(reply.1["user"]["role"], "admin");

    // A chunked body (no Content-Length) is cut off at the limit just the same.
    let mut big = register_body("bob");
    big["full_name"] = json!("x".repeat(4096));
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
        .to_string()
        .into_bytes()
        .chunks(512)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let response = t
        .client
        .post(t.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    let headers = response.headers().clone();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_error(
        &(status, body, headers),
        413,
        "invalid_request_error",
        "payload_too_large",
        None,
    );
    t.stop().await;
}

/// The OAuth2 form endpoint reads its body itself (`web::Bytes`): an oversized form must get
/// the same 413 in the error format.
async fn form_body_over_the_limit_is_413(app: TestApp) {
    let t = TestApp::start_with_options(
        app.backend,
        |_| {},
        aihub_http::HttpOptions {
            body_limit_bytes: 1024,
            ..test_http_options()
        },
    )
    .await
    .unwrap();
    t.register("alice").await;
    let form = format!("username=alice&password={}", "x".repeat(4096));
    let reply = raw(
        &t,
        reqwest::Method::POST,
        "/api/v1/auth/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(form.into_bytes()),
    )
    .await;
    assert_error(
        &reply,
        413,
        "invalid_request_error",
        "payload_too_large",
        None,
    );
    t.stop().await;
}

async fn malformed_json_is_422(app: TestApp) {
    let json_ct = [("content-type", "application/json")];
    for body in [
        &b"{\"username\": "[..],
        b"{username: 'alice'}",
        b"not json",
        b"{\"username\": \"a\",}",
    ] {
        let reply = raw(
            &app,
            reqwest::Method::POST,
            "/api/v1/auth/register",
            &json_ct,
            Some(body.to_vec()),
        )
        .await;
        assert_error(&reply, 422, "invalid_request_error", "invalid_json", None);
    }
    // An empty body.
    let reply = raw(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/register",
        &json_ct,
        None,
    )
    .await;
    assert_error(&reply, 422, "invalid_request_error", "invalid_json", None);
    // Valid JSON declared as something else.
    let reply = raw(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/register",
        &[("content-type", "text/plain")],
        Some(register_body("alice").to_string().into_bytes()),
    )
    .await;
    assert_error(&reply, 422, "invalid_request_error", "invalid_json", None);
    // Not an object.
    let reply = app
        .post("/api/v1/auth/register", None, json!(["alice"]))
        .await;
    assert_eq!(reply.0, 422, "{}", reply.1);
    assert_eq!(reply.1["error"]["type"], "invalid_request_error");
}

async fn wrong_type_or_missing_field_names_it(app: TestApp) {
    let mut body = register_body("alice");
    body["username"] = json!(5);
    let reply = app.post("/api/v1/auth/register", None, body).await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("username"),
    );

    let mut body = register_body("alice");
    body["confirm_password"] = json!(["x"]);
    let reply = app.post("/api/v1/auth/register", None, body).await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("confirm_password"),
    );

    for missing in ["username", "email", "password"] {
        let mut body = register_body("alice");
        body.as_object_mut().unwrap().remove(missing);
        let reply = app.post("/api/v1/auth/register", None, body).await;
        let error = assert_error(
            &reply,
            422,
            "invalid_request_error",
            "validation_error",
            Some(missing),
        );
        assert!(
            error["message"].as_str().unwrap().contains(missing),
            "{error}"
        );
    }

    // A wrong type in an authenticated body.
    let alice = app.register("alice").await;
    let reply = app
        .put(
            "/api/v1/users/me",
            Some(&alice.access_token),
            json!({"full_name": 5}),
        )
        .await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("full_name"),
    );
}

async fn non_numeric_path_id_is_404(app: TestApp) {
    let alice = app.register("alice").await;
    let token = Some(alice.access_token.as_str());
    for id in [
        "abc",
        "1.5",
        "-1",
        "0",
        "99999999999999999999",
        "1%20OR%201=1",
    ] {
        let path = format!("/api/v1/conversations/{id}");
        let reply = app.get(&path, token).await;
        let error = assert_error(&reply, 404, "not_found_error", "not_found", None);
        assert_eq!(error["details"], Value::Null, "{path}");
        let reply = app.delete(&path, token).await;
        assert_error(&reply, 404, "not_found_error", "not_found", None);
    }
    // A well-formed id that does not exist is a 404 with the same type and code.
    let reply = app.get("/api/v1/conversations/999999", token).await;
    assert_error(&reply, 404, "not_found_error", "not_found", None);
    // Without a token the caller is refused before the id is looked at.
    let reply = app.get("/api/v1/conversations/abc", None).await;
    assert_error(&reply, 401, "authentication_error", "missing_token", None);
}

async fn health_is_ok(app: TestApp) {
    let (status, body, _) = app.get("/health", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), key_set(&["status", "version", "uptime_s"]));
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["uptime_s"].is_u64(), "{body}");
}

async fn readiness_reports_the_database_and_drain(app: TestApp) {
    let (status, body, _) = app.get("/health/ready", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["draining"], false);
    assert_eq!(
        keys(&body["database"]),
        key_set(&["status", "response_time_ms", "backend", "error"])
    );
    assert_eq!(body["database"]["status"], "ok");
    assert_eq!(body["database"]["backend"], app.backend.name());
    assert_eq!(body["database"]["error"], Value::Null);
    assert!(
        body["database"]["response_time_ms"]
            .as_f64()
            .is_some_and(|ms| ms >= 0.0),
        "{body}"
    );
    assert_eq!(body["active_generations"], 0);
    assert!(body["usage_pending"].is_u64(), "{body}");

    app.app.begin_drain();
    let (status, body, headers) = app.get("/health/ready", None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["draining"], true);
    assert_eq!(body["database"]["status"], "ok");
    assert!(!request_id(&headers).is_empty());
    // Liveness is unaffected by draining.
    let (status, body, _) = app.get("/health", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
}

async fn swagger_ui_is_served(app: TestApp) {
    let (status, _, headers) = app.get("/docs", None).await;
    assert_eq!(status, 308);
    assert_eq!(headers.get("location").unwrap(), "/docs/");

    let (status, body, headers) = app.get("/docs/", None).await;
    assert_eq!(status, 200);
    assert!(
        headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{headers:?}"
    );
    let html = body.as_str().expect("an HTML page").to_lowercase();
    assert!(html.contains("swagger"), "{html}");
}

async fn openapi_json_is_served(app: TestApp) {
    let (status, body, headers) = app.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(
        headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(body["openapi"], "3.1.0");
    let schemes = &body["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["bearer"]["bearerFormat"], "JWT");
    // The Authorize dialog tells the session token and the developer key apart.
    for name in ["bearer", "oauth2", "api_key", "x_api_key"] {
        assert!(
            schemes[name]["description"]
                .as_str()
                .is_some_and(|d| d.len() > 20),
            "{name}"
        );
    }
    assert_eq!(schemes["oauth2"]["type"], "oauth2");
    assert_eq!(
        schemes["oauth2"]["flows"]["password"]["tokenUrl"],
        "/api/v1/auth/token"
    );
    // The served document is the generated one (the same `aihub openapi` writes).
    let generated: Value =
        serde_json::from_str(&aihub_http::openapi_document().to_json().unwrap()).unwrap();
    assert_eq!(body, generated);
}

async fn responses_never_contain_password_hashes(app: TestApp) {
    let mut bodies = Vec::new();
    let reply = app
        .post("/api/v1/auth/register", None, register_body("alice"))
        .await;
    assert_eq!(reply.0, 201);
    let token = reply.1["access_token"].as_str().unwrap().to_owned();
    let refresh = reply.1["refresh_token"].as_str().unwrap().to_owned();
    bodies.push(reply.1);
    let t = Some(token.as_str());
    for reply in [
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"username": "alice", "password": TEST_PASSWORD}),
        )
        .await,
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"username": "alice", "password": "wrong password"}),
        )
        .await,
        app.post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh}),
        )
        .await,
        app.get("/api/v1/auth/me", t).await,
        app.get("/api/v1/users/me", t).await,
        app.put("/api/v1/users/me", t, json!({"full_name": "Alice"}))
            .await,
        app.put("/api/v1/users/me", t, json!({"password_hash": "x"}))
            .await,
        app.get("/openapi.json", None).await,
    ] {
        bodies.push(reply.1);
    }
    let form = format!(
        "username=alice&password={}",
        TEST_PASSWORD.replace(' ', "+")
    );
    let reply = raw(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(form.into_bytes()),
    )
    .await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    bodies.push(reply.1);
    for body in bodies {
        let text = body.to_string();
        // The 422 for an unknown `password_hash` field names the field, which is fine; it
        // must never carry a hash value.
        if body["error"]["param"] != "password_hash" {
            assert!(!text.contains("password_hash"), "{text}");
        }
        assert!(!text.contains("$2b$") && !text.contains("$2y$"), "{text}");
    }
}

both_backends!(
    unknown_route_is_404_in_error_format,
    client_request_id_is_echoed,
    every_response_has_a_request_id,
    body_over_the_limit_is_413,
    form_body_over_the_limit_is_413,
    malformed_json_is_422,
    wrong_type_or_missing_field_names_it,
    non_numeric_path_id_is_404,
    health_is_ok,
    readiness_reports_the_database_and_drain,
    swagger_ui_is_served,
    openapi_json_is_served,
    responses_never_contain_password_hashes,
);
