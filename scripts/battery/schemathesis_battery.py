#!/usr/bin/env python3
"""Helper of scripts/battery/schemathesis.sh (see its header): seeds the server, writes the
per-run schemathesis configuration, and turns the NDJSON reports into the battery's figures.

Standard library only (it runs under the system python3 or the battery venv alike).

  seed BASE_URL UPSTREAM_URL STATE.json     register/log in, create the state, write STATE
  config STATE.json RUN DOC.json OUT.toml   schemathesis config for RUN (user|admin|key)
  env STATE.json RUN                        shell assignments for RUN (tokens, hook inputs)
  summarize RUN NDJSON OUT.json             per-run figures and deduplicated failures
  verdict OUT.json...                       the R1 lines; exit 1 when a bar fails
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shlex
import sys
import time
import urllib.error
import urllib.request
from collections import Counter, OrderedDict

# --------------------------------------------------------------------------------------------
# HTTP


def call(base, method, path, body=None, token=None, expect=(200, 201, 204)):
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    payload = json.loads(raw) if raw else None
    if expect is not None and status not in expect:
        raise SystemExit(f"schemathesis battery: seeding: {method} {path} -> {status}: {raw[:300]!r}")
    return status, payload


# --------------------------------------------------------------------------------------------
# seed

ADMIN = ("battery-admin", "battery-admin@example.com", "Battery-admin-pass-1")
USER = ("battery-user", "battery-user@example.com", "Battery-user-pass-1")


def register_or_login(base, who):
    username, email, password = who
    status, body = call(
        base,
        "POST",
        "/api/v1/auth/register",
        {"username": username, "email": email, "password": password},
        expect=None,
    )
    if status not in (201, 409):
        raise SystemExit(f"schemathesis battery: register {username} -> {status}: {body}")
    return login(base, who)


def login(base, who):
    _, email, password = who
    _, body = call(base, "POST", "/api/v1/auth/login", {"email": email, "password": password})
    return {
        "user": body["user"],
        "access_token": body["access_token"],
        "refresh_token": body["refresh_token"],
        "expires_in": body.get("expires_in", 0),
        "issued_at": time.time(),
    }


def seed_user(base, tok, tag, suffix, model=None, provider_id=None):
    """Creates, for one user, a resource kept for the pinned `{id}` and one for DELETE."""
    out = {}

    def mk(kind, path, body):
        _, res = call(base, "POST", path, body, tok)
        out[kind] = res["id"]
        return res

    mk("category", "/api/v1/categories", {"name": f"battery {tag} {suffix}", "color": "#4B0082"})
    mk("category_del", "/api/v1/categories", {"name": f"battery {tag} del {suffix}"})
    mk(
        "prompt",
        "/api/v1/prompts",
        {"title": "battery", "content": "Tell me about {topic}", "category_id": out["category"]},
    )
    mk("prompt_del", "/api/v1/prompts", {"title": "battery del", "content": "Hello {name}"})
    conv = {"title": "battery", "initial_message": "Hello", "category_id": out["category"]}
    if model:
        conv["model"] = model
    if provider_id:
        conv["provider_id"] = provider_id
    mk("conversation", "/api/v1/conversations", conv)
    mk("conversation_del", "/api/v1/conversations", {"title": "battery del"})
    mk("preference", "/api/v1/model-preferences", {"provider_kind": "openai_compatible", "model": "gpt-4o-mini"})
    mk("preference_del", "/api/v1/model-preferences", {"provider_kind": "openai", "model": "gpt-4o"})
    mk("key", "/api/v1/keys", {"name": f"battery {tag} target"})
    mk("key_del", "/api/v1/keys", {"name": f"battery {tag} del"})
    return out


def cmd_seed(base, upstream, state_path):
    base = base.rstrip("/")
    suffix = secrets.token_hex(3)
    admin = register_or_login(base, ADMIN)
    if admin["user"].get("role") != "admin":
        raise SystemExit(
            "schemathesis battery: the first account on this server is not battery-admin; "
            "run the battery against a fresh server (empty database)"
        )
    user = register_or_login(base, USER)
    if user["user"].get("role") == "admin":
        raise SystemExit("schemathesis battery: battery-user is an admin; use a fresh server")
    at, ut = admin["access_token"], user["access_token"]

    slug = f"battery-{suffix}"

    def provider(name_slug):
        _, res = call(
            base,
            "POST",
            "/api/v1/providers",
            {
                "name": name_slug,
                "slug": name_slug,
                "kind": "openai_compatible",
                "scope": "organization",
                "base_url": upstream,
                "api_key": "sk-battery-0123456789",
                "config": {"default_model": "gpt-4o-mini"},
            },
            at,
        )
        return res["id"]

    providers = {
        "main": provider(slug),  # serves the chat of the admin run and the key run
        "target": provider(f"{slug}-t"),  # pinned {id} of GET/PUT/PATCH /providers/{id}, /test
        "del": provider(f"{slug}-d"),  # pinned {id} of DELETE /providers/{id}
    }
    # A model the fake upstream lists (bench-upstream serves any name, lists `bench-model`).
    model = f"{slug}/bench-model"
    seeded_user = seed_user(base, ut, "user", suffix)
    seeded_admin = seed_user(base, at, "admin", suffix, model=model, provider_id=providers["main"])
    # The developer key of the /v1 run. Organization providers reach an ordinary user only
    # through a grant, which the HTTP API cannot create, so the key is the admin's (the owner
    # of the provider) so that /v1 calls reach the fake upstream.
    _, dev = call(base, "POST", "/api/v1/keys", {"name": f"battery dev {suffix}"}, at)
    # A session of each user for POST /auth/logout alone (it revokes the session it is sent with).
    state = {
        "base_url": base,
        "upstream": upstream,
        "suffix": suffix,
        "model": model,
        "providers": providers,
        "user": {"session": user, "logout": login(base, USER), "ids": seeded_user, "creds": USER},
        "admin": {"session": admin, "logout": login(base, ADMIN), "ids": seeded_admin, "creds": ADMIN},
        "dev_key": dev["key"],
        "dev_key_id": dev["id"],
    }
    fd = os.open(state_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(state, f, indent=1)
    print(
        f"seeded: admin #{admin['user']['id']}, user #{user['user']['id']}, providers {providers}, "
        f"user ids {seeded_user}, admin ids {seeded_admin}, developer key #{dev['id']}"
    )


# --------------------------------------------------------------------------------------------
# per-run configuration

# `{id}` path parameters, by path prefix, to the seeded resource key.
ID_RESOURCES = [
    ("/api/v1/categories/", "category"),
    ("/api/v1/conversations/", "conversation"),
    ("/api/v1/keys/", "key"),
    ("/api/v1/model-preferences/", "preference"),
    ("/api/v1/prompts/", "prompt"),
    ("/api/v1/providers/", "provider"),
]


def toml_str(s):
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def cmd_config(state_path, run, doc_path, out_path):
    state = json.load(open(state_path))
    doc = json.load(open(doc_path))
    lines = [
        "# Generated by scripts/battery/schemathesis_battery.py; tokens come from the environment.",
        'headers = { Authorization = "Bearer ${AIHUB_BATTERY_TOKEN}" }',
        "",
    ]
    if run in ("user", "admin"):
        ids = state[run]["ids"]
        prov = state["providers"]
        lines += [
            "[[operations]]",
            'include-name = "POST /api/v1/auth/logout"',
            'headers = { Authorization = "Bearer ${AIHUB_BATTERY_LOGOUT_TOKEN}" }',
            "",
        ]
        for path, item in sorted(doc["paths"].items()):
            for method in sorted(item):
                if method not in ("get", "put", "post", "patch", "delete"):
                    continue
                if "{id}" not in path:
                    continue
                resource = next((r for p, r in ID_RESOURCES if path.startswith(p)), None)
                if resource is None:
                    continue
                delete = method == "delete" and path.endswith("/{id}")
                if resource == "provider":
                    value = prov["del"] if delete else prov["target"]
                else:
                    value = ids[resource + "_del"] if delete else ids[resource]
                # One `include-name` ("METHOD /path"): separate include-* keys are OR-ed.
                lines += [
                    "[[operations]]",
                    f"include-name = {toml_str(method.upper() + ' ' + path)}",
                    f"parameters = {{ id = {value} }}",
                    "",
                ]
    with open(out_path, "w") as f:
        f.write("\n".join(lines))


def cmd_env(state_path, run):
    """Prints `export` lines for RUN; refreshes a session older than half its lifetime."""
    state = json.load(open(state_path))
    env = {
        "AIHUB_BATTERY_UPSTREAM_URL": state["upstream"],
        "AIHUB_BATTERY_MODEL": state["model"],
        "AIHUB_BATTERY_PROTECTED_CONVERSATIONS": ",".join(
            str(state[r]["ids"][k]) for r in ("user", "admin") for k in ("conversation", "conversation_del")
        ),
    }
    if run == "key":
        env["AIHUB_BATTERY_TOKEN"] = state["dev_key"]
        env["AIHUB_BATTERY_LOGOUT_TOKEN"] = ""
    else:
        sess = state[run]["session"]
        if time.time() - sess["issued_at"] > max(60, sess["expires_in"] / 2):
            # Access tokens live minutes: a long battery renews the session between runs.
            status, body = call(
                state["base_url"],
                "POST",
                "/api/v1/auth/refresh",
                {"refresh_token": sess["refresh_token"]},
                expect=None,
            )
            if status == 200:
                sess.update(
                    access_token=body["access_token"],
                    refresh_token=body.get("refresh_token", sess["refresh_token"]),
                    issued_at=time.time(),
                )
            else:
                state[run]["session"] = login(state["base_url"], state[run]["creds"])
            with open(state_path, "w") as f:
                json.dump(state, f, indent=1)
            sess = state[run]["session"]
        env["AIHUB_BATTERY_TOKEN"] = sess["access_token"]
        env["AIHUB_BATTERY_LOGOUT_TOKEN"] = state[run]["logout"]["access_token"]
    for k, v in env.items():
        print(f"export {k}={shlex.quote(v)}")


# --------------------------------------------------------------------------------------------
# reports

# Bars: a failure of any of these checks fails the battery.
BARS = OrderedDict(
    [
        ("server errors", ["not_a_server_error"]),
        ("undocumented status codes", ["status_code_conformance"]),
        ("response-schema violations", ["response_schema_conformance"]),
        ("content-type mismatches", ["content_type_conformance"]),
        ("response-header violations", ["response_headers_conformance"]),
        ("auth bypasses", ["ignored_auth"]),
    ]
)
BAR_CHECKS = {c for cs in BARS.values() for c in cs}


def _b64(x):
    if isinstance(x, dict) and "$base64" in x:
        return base64.b64decode(x["$base64"])
    if isinstance(x, str):
        return x.encode()
    return b""


def _curl(req):
    parts = ["curl", "-sS", "-i", "-X", req.get("method", "GET")]
    body = _b64(req.get("body")) if req.get("body") is not None else None
    for name, values in (req.get("headers") or {}).items():
        if name.lower() in ("authorization", "x-api-key"):
            parts += ["-H", f"{name}: Bearer $TOKEN"] if name.lower() == "authorization" else ["-H", f"{name}: $TOKEN"]
            continue
        if name.lower() in ("user-agent", "accept-encoding", "accept", "connection", "content-length"):
            continue
        if name.lower().startswith("x-schemathesis"):
            continue
        for v in values if isinstance(values, list) else [values]:
            parts += ["-H", f"{name}: {v}"]
    uri = req.get("uri", "")
    printable = body is not None and _printable(body)
    if body is not None and printable:
        parts += ["--data-binary", body.decode()]
    quoted = " ".join(
        (f'"{p}"' if "$TOKEN" in p else shlex.quote(p)) for p in parts
    ) + " " + shlex.quote(uri)
    if body is not None and not printable:
        quoted = (
            f"printf %s {shlex.quote(base64.b64encode(body).decode())} | base64 -d | "
            + quoted.replace("curl ", "curl --data-binary @- ", 1)
        )
    return quoted


def _printable(b):
    try:
        s = b.decode()
    except UnicodeDecodeError:
        return False
    return all(c >= " " or c in "\t" for c in s) and "\x7f" not in s


def _response_digest(resp):
    if not resp:
        return None, ""
    raw = _b64(resp.get("content"))
    text = raw[:400].decode("utf-8", "replace")
    return resp.get("status_code"), text


def _one_line(text, limit):
    text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + "..."


def _api_error(text):
    """`(code, param, message)` of an AI Hub error body, or None."""
    try:
        err = json.loads(text).get("error")
    except Exception:
        return None
    if not isinstance(err, dict):
        return None
    return err.get("code"), err.get("param"), err.get("message")


def _group_key(text, message):
    err = _api_error(text)
    if err is not None:
        return f"{err[0]}:{err[1]}"
    # Not an error body (a 200, an event stream): what the check said, ids and counts blurred.
    first = message.splitlines()[0] if message else ""
    return re.sub(r"\d+", "N", first)[:60]


def cmd_summarize(run, ndjson_path, out_path):
    cases = 0
    requests = 0
    tested = set()
    skipped = set()
    errors = []
    per_check = Counter()
    groups = OrderedDict()
    engine_finished = False
    running_time = None
    with open(ndjson_path) as f:
        for line in f:
            ev = json.loads(line)
            kind, data = next(iter(ev.items()))
            if kind == "EngineFinished":
                engine_finished = True
                running_time = data.get("running_time")
            elif kind == "NonFatalError":
                errors.append(str(data.get("label") or "") + ": " + str(data.get("info") or data)[:300])
            elif kind == "ScenarioFinished":
                rec = data.get("recorder") or {}
                label = rec.get("label")
                if data.get("status") == "skip":
                    skipped.add(label)
                    continue
                tested.add(label)
                if data.get("status") == "error":
                    errors.append(f"{label}: scenario error")
                rec_cases = rec.get("cases") or {}
                cases += len(rec_cases)
                interactions = rec.get("interactions") or {}
                requests += len(interactions)
                for case_id, checks in (rec.get("checks") or {}).items():
                    failed = {c["name"]: c for c in checks if c.get("status") == "failure"}
                    for name, c in failed.items():
                        per_check[name] += 1
                        inter = interactions.get(case_id) or {}
                        status, text = _response_digest(inter.get("response"))
                        fi = (c.get("failure_info") or {}).get("failure") or {}
                        key = (name, label, status, _group_key(text, fi.get("message") or ""))
                        g = groups.get(key)
                        if g is None:
                            req = inter.get("request") or {}
                            groups[key] = {
                                "check": name,
                                "code": fi.get("code"),
                                "operation": label,
                                "status": status,
                                "title": fi.get("title"),
                                "message": (fi.get("message") or "").strip(),
                                "response": text,
                                "curl": _curl(req) if req else "",
                                "count": 1,
                            }
                        else:
                            g["count"] += 1
    result = {
        "run": run,
        "completed": engine_finished,
        "running_time": running_time,
        "operations_tested": len(tested),
        "operations_skipped": sorted(skipped - tested),
        "cases": cases,
        "requests": requests,
        "per_check": dict(per_check),
        "errors": errors,
        "groups": list(groups.values()),
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)

    secs = f"{running_time:.1f}s" if running_time is not None else "?"
    print(
        f"[{run}] operations tested: {len(tested)}, requests sent: {requests}, "
        f"time: {secs}{'' if engine_finished else ' (run did not complete)'}"
    )
    checks = sorted(set(per_check) | BAR_CHECKS)
    print(f"[{run}] failing cases per check: " + ", ".join(f"{c}={per_check.get(c, 0)}" for c in checks))
    for e in errors:
        print(f"[{run}] error: {e}")
    by_check = OrderedDict()
    for g in groups.values():
        by_check.setdefault(g["check"], []).append(g)
    for check in sorted(by_check, key=lambda c: (c not in BAR_CHECKS, c)):
        kind = "BAR" if check in BAR_CHECKS else "info"
        print(f"[{run}] --- {check} ({kind}): {len(by_check[check])} distinct")
        for g in by_check[check]:
            head = f"[{run}]   {g['operation']} -> {g['status']} x{g['count']}"
            err = _api_error(g["response"])
            if check not in BAR_CHECKS and err is not None:
                # One line: the param the server named and its words.
                print(f"{head}: {err[1]}: {_one_line(str(err[2]), 160)}")
            else:
                lines = [ln.strip() for ln in g["message"].splitlines() if ln.strip()]
                print(f"{head}: {_one_line(' | '.join(lines), 300)}")
                print(f"[{run}]     response: {_one_line(g['response'], 300)}")
            if check in BAR_CHECKS or os.environ.get("AIHUB_BATTERY_VERBOSE"):
                print(f"[{run}]     repro: {g['curl']}")


def cmd_verdict(paths):
    results = [json.load(open(p)) for p in paths]
    failed = False
    total = Counter()
    bar_total = Counter()
    for r in results:
        total.update(r["per_check"])
        for g in r["groups"]:
            # A 5xx is counted once, as a server error, though it is undocumented as well.
            if g["check"] == "status_code_conformance" and (g["status"] or 0) >= 500:
                continue
            bar_total[g["check"]] += g["count"]
    for bar, checks in BARS.items():
        n = sum(bar_total.get(c, 0) for c in checks)
        ok = n == 0
        failed |= not ok
        print(f"R1 {bar}: {n} ({'holds' if ok else 'FAILS'})")
    incomplete = [r["run"] for r in results if not r["completed"] or r["errors"]]
    ok = not incomplete
    failed |= not ok
    print(
        f"R1 runs completed without errors: {len(results) - len(incomplete)}/{len(results)} "
        f"({'holds' if ok else 'FAILS'})"
    )
    info = sorted(c for c in total if c not in BAR_CHECKS)
    if info:
        print("(informational, not bars) " + ", ".join(f"{c}={total[c]}" for c in info))
    return 1 if failed else 0


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "seed":
        cmd_seed(*args)
    elif cmd == "config":
        cmd_config(*args)
    elif cmd == "env":
        cmd_env(*args)
    elif cmd == "summarize":
        cmd_summarize(*args)
    elif cmd == "verdict":
        return cmd_verdict(args)
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
