"""Offline tests of aihub_stream: a MockTransport replays SSE bodies to the generated client.

Run: python -m pytest clients/python   (python from scripts/sdk-python.sh)
"""

import json

import httpx
import pytest

import aihub_stream
from aihub_client import AuthenticatedClient
from aihub_client.models import (
    ChatContentEvent,
    ChatDoneEvent,
    ChatSessionEvent,
    ConversationCreatedEvent,
    ReplyContentEvent,
    ReplyDoneEvent,
    ReplyErrorEvent,
    ReplyStartEvent,
    ReplyUsageEvent,
    SendMessageRequest,
)

SSE = {"content-type": "text/event-stream"}
START = {"type": "start", "conversation_id": 7, "user_message_id": 1, "message_id": 2,
         "assistant_message_id": 2, "model": "gpt-4o-mini", "provider_id": 3}
USAGE = {"type": "usage", "prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7,
         "cost": 0.0, "cost_nanos": 0, "estimated": False}
DONE = {"type": "done", "message_id": 2, "finish_reason": "stop", "status": "complete",
        "prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7, "cost": 0.0,
        "cost_nanos": 0, "response_time_ms": 12}
# As the server sends it: every key present, unset ones as null.
CONVERSATION = {"id": 7, "user_id": 1, "title": "t", "provider_id": 3, "model": "gpt-4o-mini",
                "system_prompt": None, "max_tokens": None, "temperature": None,
                "is_pinned": False, "is_archived": False, "metadata": {}, "message_count": 0,
                "last_message_at": None, "category_id": None, "category": None,
                "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}


def frames(*events):
    return b"".join(b"data: " + json.dumps(e, ensure_ascii=False).encode() + b"\n\n" for e in events)


def split(body, *cuts):
    """``body`` as chunks cut at the given offsets."""
    edges = [0, *cuts, len(body)]
    return [body[a:b] for a, b in zip(edges, edges[1:])]


class Server:
    """Records each request and answers it with ``status``, ``headers`` and ``chunks``."""

    def __init__(self, chunks, status=200, headers=SSE):
        self.chunks, self.status, self.headers, self.requests = chunks, status, headers, []

    def __call__(self, request):
        self.requests.append(request)
        return httpx.Response(self.status, headers=self.headers, content=iter(self.chunks))

    def client(self):
        return AuthenticatedClient(base_url="http://aihub.test", token="tok",
                                   httpx_args={"transport": httpx.MockTransport(self)})


def test_reply_events_are_typed_and_frames_may_split_anywhere():
    body = frames(START, {"type": "content", "content": "héllo "}, {"type": "content", "content": "world"},
                  USAGE, DONE)
    accent = body.index("é".encode())
    # Cuts inside "data:", inside the JSON, between the two newlines, inside a UTF-8 character.
    cuts = [3, 40, body.index(b"\n\n") + 1, accent + 1, len(body) - 5]
    server = Server(split(body, *sorted(cuts)))
    events = list(aihub_stream.stream_conversation_reply(
        server.client(), 7, SendMessageRequest(content="hi"), use_context=False))

    assert [type(e) for e in events] == [ReplyStartEvent, ReplyContentEvent, ReplyContentEvent,
                                         ReplyUsageEvent, ReplyDoneEvent]
    assert "".join(e.content for e in events[1:3]) == "héllo world"
    assert events[0].provider_id == 3 and events[4].total_tokens == 7
    request = server.requests[0]
    assert request.method == "POST" and request.url.path == "/api/v1/conversations/7/stream"
    assert request.url.params["use_context"] == "false"
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["accept"] == "text/event-stream"
    assert json.loads(request.content) == {"content": "hi"}


def test_error_event_is_yielded_last():
    error = {"type": "error", "message_id": 2,
             "error": {"type": "upstream_error", "code": "upstream_unavailable", "message": "gone",
                       "param": None, "details": None}}
    server = Server([frames(START, {"type": "content", "content": "par"}, USAGE, error)])
    events = list(aihub_stream.stream_conversation_reply(server.client(), 7, {"content": "hi"}))

    assert isinstance(events[-1], ReplyErrorEvent)
    assert events[-1].error.code == "upstream_unavailable"
    assert events[-1].error.message == "gone" and events[-1].message_id == 2


def test_non_2xx_raises_with_the_parsed_error_response():
    body = {"error": {"type": "invalid_request_error", "code": "validation_error",
                      "message": "content is empty", "param": "content", "details": None},
            "request_id": "req-1"}
    server = Server([json.dumps(body).encode()], status=422, headers={"content-type": "application/json"})
    with pytest.raises(aihub_stream.AihubApiError) as caught:
        list(aihub_stream.stream_conversation_reply(server.client(), 7, {"content": ""}))

    err = caught.value
    assert err.status_code == 422 and err.code == "validation_error"
    assert err.type == "invalid_request_error" and err.message == "content is empty"
    assert err.error.error.param == "content" and err.error.request_id == "req-1"


def test_non_2xx_without_an_error_body_keeps_the_raw_body():
    server = Server([b"<html>bad gateway</html>"], status=502, headers={"content-type": "text/html"})
    with pytest.raises(aihub_stream.AihubApiError) as caught:
        list(aihub_stream.stream_conversation_reply(server.client(), 7, {"content": "hi"}))

    assert caught.value.error is None and caught.value.code is None
    assert caught.value.body == b"<html>bad gateway</html>"


def test_unknown_event_types_are_plain_dicts_and_comments_are_ignored():
    server = Server([b": keep-alive\n\n", frames({"type": "thinking", "content": "hm"}, DONE)])
    events = list(aihub_stream.stream_conversation_reply(server.client(), 7, {"content": "hi"}))

    assert events[0] == {"type": "thinking", "content": "hm"}
    assert isinstance(events[1], ReplyDoneEvent)


def test_create_and_stream_starts_with_the_conversation():
    server = Server([frames({"type": "conversation", "conversation": CONVERSATION}, START, DONE)])
    events = list(aihub_stream.create_conversation_and_stream(
        server.client(), {"content": "hi", "provider_id": 3}, timeout=30))

    assert isinstance(events[0], ConversationCreatedEvent) and events[0].conversation.id == 7
    assert server.requests[0].url.path == "/api/v1/conversations/stream"
    assert server.requests[0].url.params["timeout"] == "30"


def test_chat_stream_forces_stream_true():
    session = {"type": "session", "id": "chat-1", "model": "m",
               "provider": {"id": 3, "slug": "p", "kind": "openai_compatible"}}
    server = Server([frames(session, {"type": "content", "content": "x"},
                            {"type": "done", "finish_reason": "stop", "response_time_ms": 3})])
    events = list(aihub_stream.stream_chat(server.client(), {"message": "hi", "model": "p/m"}))

    assert [type(e) for e in events] == [ChatSessionEvent, ChatContentEvent, ChatDoneEvent]
    assert server.requests[0].url.path == "/api/v1/chat"
    assert json.loads(server.requests[0].content)["stream"] is True


def test_leaving_early_closes_the_response():
    closed = []

    class Body(httpx.SyncByteStream):
        def __iter__(self):
            yield frames(START, {"type": "content", "content": "a"})
            yield frames({"type": "content", "content": "b"})

        def close(self):
            closed.append(True)

    transport = httpx.MockTransport(lambda request: httpx.Response(200, headers=SSE, stream=Body()))
    client = AuthenticatedClient(base_url="http://aihub.test", token="t", httpx_args={"transport": transport})
    events = aihub_stream.stream_conversation_reply(client, 7, {"content": "hi"})
    assert isinstance(next(events), ReplyStartEvent)
    events.close()
    assert closed == [True]
