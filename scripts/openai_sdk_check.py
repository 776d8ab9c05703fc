"""Drives AI Hub's /v1 API with the official OpenAI Python SDK, unmodified.

Run by crates/aihub-server/tests/it/sdk.rs against a test server in front of a fake
upstream. Environment: AIHUB_BASE_URL (".../v1"), AIHUB_KEY (a developer API key),
AIHUB_MODEL, AIHUB_EMBED_MODEL, AIHUB_EXPECTED_TEXT. Prints one line per check and
exits non-zero on the first failure.
"""

import os
import sys

import openai

BASE = os.environ["AIHUB_BASE_URL"]
KEY = os.environ["AIHUB_KEY"]
MODEL = os.environ["AIHUB_MODEL"]
EMBED_MODEL = os.environ["AIHUB_EMBED_MODEL"]
EXPECTED = os.environ["AIHUB_EXPECTED_TEXT"]

client = openai.OpenAI(base_url=BASE, api_key=KEY, max_retries=0, timeout=30)


def check(name, cond, detail=""):
    if not cond:
        print(f"FAIL {name}: {detail}")
        sys.exit(1)
    print(f"ok {name}")


# Chat, non-streaming.
r = client.chat.completions.create(
    model=MODEL, messages=[{"role": "user", "content": "Hi"}], max_tokens=20
)
check("chat object", r.object == "chat.completion", r)
check("chat text", r.choices[0].message.content == EXPECTED, r.choices[0].message)
check("chat finish", r.choices[0].finish_reason == "stop", r.choices[0])
check("chat usage", r.usage is not None and r.usage.total_tokens > 0, r.usage)

# Chat, streaming with usage.
text = []
usage = None
chunks = 0
with client.chat.completions.create(
    model=MODEL,
    messages=[{"role": "user", "content": "Hi"}],
    stream=True,
    stream_options={"include_usage": True},
) as stream:
    for chunk in stream:
        chunks += 1
        check_obj = chunk.object == "chat.completion.chunk"
        if not check_obj:
            check("stream chunk object", False, chunk)
        if chunk.choices and chunk.choices[0].delta.content:
            text.append(chunk.choices[0].delta.content)
        if chunk.usage is not None:
            usage = chunk.usage
check("stream text", "".join(text) == EXPECTED, text)
check("stream usage", usage is not None and usage.total_tokens > 0, usage)

# Models.
ids = [m.id for m in client.models.list()]
check("models list", MODEL in ids, ids)
m = client.models.retrieve(MODEL)
check("models retrieve", m.id == MODEL and m.object == "model", m)

# Embeddings (the SDK asks for base64 and decodes it).
e = client.embeddings.create(model=EMBED_MODEL, input=["hello", "world!"])
check("embeddings count", len(e.data) == 2, e)
check("embeddings vectors", all(len(d.embedding) > 0 for d in e.data), e.data)
check("embeddings floats", isinstance(e.data[0].embedding[0], float), e.data[0])

# A bad key raises AuthenticationError.
bad = openai.OpenAI(base_url=BASE, api_key="sk-aihub-wrong", max_retries=0)
try:
    bad.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    check("bad key raises", False, "no exception")
except openai.AuthenticationError as err:
    check("bad key raises AuthenticationError", err.status_code == 401, err)

# An unknown model raises NotFoundError.
try:
    client.chat.completions.create(
        model="nobody/no-such-model", messages=[{"role": "user", "content": "x"}]
    )
    check("unknown model raises", False, "no exception")
except openai.NotFoundError as err:
    check("unknown model raises NotFoundError", err.status_code == 404, err)

print("all checks passed")
