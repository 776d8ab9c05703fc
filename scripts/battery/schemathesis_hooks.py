"""Schemathesis hooks for scripts/battery/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

They keep the fuzzed server safe to run here and its seeded state usable; they never touch
what the checks judge (status codes, headers, bodies of responses):

* Provider bodies (POST /api/v1/providers, PUT|PATCH /api/v1/providers/{id}): a string,
  null or absent `base_url` becomes the fake upstream (AIHUB_BATTERY_UPSTREAM_URL), and the
  `api_base_url` alias is dropped, and a missing/null `scope` of a new provider becomes
  `organization` (the only scope a loopback URL is allowed in). Otherwise a fuzzed provider of kind openai/anthropic/
  gemini/openrouter with no base URL would send the server's calls to the vendor's public
  host, and this machine talks to no address but loopback. A `base_url` of another JSON type
  is left alone (a negative case: the server refuses it before connecting anywhere).
* POST /api/v1/conversations/bulk-delete: the seeded conversation ids
  (AIHUB_BATTERY_PROTECTED_CONVERSATIONS) are removed from `ids`, so that the operations whose
  `{id}` is pinned to them keep finding them.
* POST /v1/chat/completions and /v1/embeddings: in about half of the cases an empty
  `messages` / `input` gets one short user turn / text, and an `n` other than 1 is dropped.
  The document states neither constraint in the schema (see positive_data_acceptance), so
  most generated bodies stop at that 422 and never reach the proxy and its responses.
* A `model` (string) in a request body, or the `{model}` of GET /v1/models/{model}, is
  replaced by a model the fake upstream serves (AIHUB_BATTERY_MODEL) in about half of the
  cases (chosen from a hash of the generated value, so runs stay reproducible): random
  model names only ever reach the 404 `model_not_found` branch, and the point of the run is
  also to drive the proxy path with fuzzed parameters. Model preferences are left alone
  (their `model` is stored, not resolved).
"""

from __future__ import annotations

import os
import zlib

import schemathesis

UPSTREAM = os.environ.get("AIHUB_BATTERY_UPSTREAM_URL", "")
MODEL = os.environ.get("AIHUB_BATTERY_MODEL", "")
PROTECTED = {
    int(x) for x in os.environ.get("AIHUB_BATTERY_PROTECTED_CONVERSATIONS", "").split(",") if x.strip()
}

_PROVIDER_WRITE = {
    ("POST", "/api/v1/providers"),
    ("PUT", "/api/v1/providers/{id}"),
    ("PATCH", "/api/v1/providers/{id}"),
}
_MODEL_BODY_SKIP = ("/api/v1/model-preferences",)


def _pick(value: str) -> bool:
    return zlib.crc32(value.encode("utf-8", "surrogatepass")) % 2 == 0


@schemathesis.hook
def before_call(ctx, case, kwargs):
    op = case.operation
    method, path = op.method.upper(), op.path
    body = case.body if isinstance(case.body, dict) else None

    if (method, path) in _PROVIDER_WRITE and body is not None and UPSTREAM:
        body.pop("api_base_url", None)
        if method == "POST":
            if body.get("base_url") is None or isinstance(body.get("base_url"), str):
                body["base_url"] = UPSTREAM
            # A loopback base URL is for organization providers only (personal ones get 422
            # unsafe_base_url); for the ordinary user this turns into the 403 of that scope.
            if body.get("scope") is None:
                body["scope"] = "organization"
        elif "base_url" in body and (body["base_url"] is None or isinstance(body["base_url"], str)):
            body["base_url"] = UPSTREAM

    if (method, path) == ("POST", "/api/v1/conversations/bulk-delete") and body is not None:
        ids = body.get("ids")
        if isinstance(ids, list) and PROTECTED:
            kept = [i for i in ids if not (isinstance(i, int) and not isinstance(i, bool) and i in PROTECTED)]
            if len(kept) != len(ids):
                body["ids"] = kept

    if path in ("/v1/chat/completions", "/v1/embeddings") and body is not None and _pick(repr(sorted(body, key=str))):
        if body.get("messages") == []:
            body["messages"] = [{"role": "user", "content": "Hello"}]
        if body.get("input") in ([], ""):
            body["input"] = "Hello"
        if "n" in body and body["n"] != 1:
            del body["n"]

    if MODEL and body is not None and not path.startswith(_MODEL_BODY_SKIP):
        model = body.get("model")
        if isinstance(model, str) and _pick(model):
            body["model"] = MODEL

    if MODEL and path == "/v1/models/{model}" and isinstance(case.path_parameters, dict):
        model = case.path_parameters.get("model")
        if isinstance(model, str) and _pick(model):
            case.path_parameters["model"] = MODEL
