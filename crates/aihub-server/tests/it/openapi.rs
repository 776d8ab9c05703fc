//! The committed OpenAPI document (`openapi/openapi.json`) is the one the code generates, and
//! every operation is documented well enough for clients and fuzzers: a unique id, a success
//! response, documented 4xx errors and, when authenticated, security and a 401.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

const HINT: &str = "run `just openapi` (cargo run -p aihub-server -- openapi --output openapi/openapi.json) and commit the result";

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.json")
}

/// Exactly what `aihub openapi --output …` writes.
fn generated() -> String {
    let doc = aihub_http::openapi_document()
        .to_pretty_json()
        .expect("the OpenAPI document renders");
    format!("{doc}\n")
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Routes that need no credentials.
const PUBLIC: [&str; 6] = [
    "/health",
    "/health/ready",
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/token",
    "/api/v1/auth/refresh",
];

#[test]
fn committed_document_is_current() {
    let path = committed_path();
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; {HINT}", path.display()));
    let expected = generated();
    if committed != expected {
        let first_difference = committed
            .lines()
            .zip(expected.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map_or_else(
                || {
                    format!(
                        "the files differ in length ({} committed lines, {} generated)",
                        committed.lines().count(),
                        expected.lines().count()
                    )
                },
                |(i, (a, b))| {
                    format!(
                        "line {}: committed `{}`, generated `{}`",
                        i + 1,
                        a.trim(),
                        b.trim()
                    )
                },
            );
        panic!("openapi/openapi.json is out of date ({first_difference}); {HINT}");
    }
}

#[test]
fn every_operation_is_documented() {
    let doc: Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["oauth2"]["flows"]["password"]["tokenUrl"],
        "/api/v1/auth/token"
    );
    assert!(doc["components"]["schemas"]["ErrorResponse"].is_object());
    let paths = doc["paths"].as_object().expect("paths");
    assert!(!paths.is_empty());
    let mut ids = BTreeSet::new();
    let mut operations = 0;
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else {
                continue;
            };
            operations += 1;
            let what = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"]
                .as_str()
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| panic!("{what} has no operationId"));
            assert!(
                ids.insert(id.to_owned()),
                "{what}: duplicate operationId {id}"
            );
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{what} documents no responses"));
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{what} documents no success response"
            );
            // The system endpoints take no input and need no credentials: nothing to refuse.
            if !path.starts_with("/health") {
                assert!(
                    responses.keys().any(|s| s.starts_with('4')),
                    "{what} documents no 4xx response"
                );
                for (status, r) in responses.iter().filter(|(s, _)| s.starts_with('4')) {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorResponse",
                        "{what} {status} is not documented as the error format"
                    );
                }
            }
            if !PUBLIC.contains(&path.as_str()) {
                assert!(
                    op["security"].as_array().is_some_and(|s| !s.is_empty()),
                    "{what} needs credentials but declares no security"
                );
                assert!(
                    responses.contains_key("401"),
                    "{what} needs credentials but documents no 401"
                );
            }
        }
    }
    assert!(operations >= 20, "only {operations} operations documented");
    // Password-grant and refresh endpoints are present (Swagger UI's Authorize needs them).
    for p in PUBLIC {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
}

#[test]
fn v1_bodies_are_described_by_their_schemas() {
    let doc: Value = serde_json::from_str(&generated()).unwrap();
    let schema_ref = |v: &Value| v["content"]["application/json"]["schema"]["$ref"].clone();
    let op = |path: &str, method: &str| doc["paths"][path][method].clone();
    let cases = [
        (
            op("/v1/chat/completions", "post"),
            Some("openai.ChatCompletionRequest"),
            "openai.ChatCompletion",
        ),
        (op("/v1/models", "get"), None, "openai.ModelList"),
        (
            op("/v1/embeddings", "post"),
            Some("openai.EmbeddingsRequest"),
            "openai.EmbeddingsResponse",
        ),
    ];
    for (op, request, response) in cases {
        if let Some(request) = request {
            assert_eq!(
                schema_ref(&op["requestBody"]),
                format!("#/components/schemas/{request}")
            );
        }
        assert_eq!(
            schema_ref(&op["responses"]["200"]),
            format!("#/components/schemas/{response}")
        );
    }
    let schemas = &doc["components"]["schemas"];
    // Stream events are no response body of their own, but clients need their shape.
    for name in ["openai.ChatCompletionChunk", "openai.StreamError"] {
        assert!(schemas[name].is_object(), "{name} is not a component");
    }
    // Unknown request fields pass through, so the request schema must allow them.
    assert!(schemas["openai.ChatCompletionRequest"]["additionalProperties"].is_object());
}
