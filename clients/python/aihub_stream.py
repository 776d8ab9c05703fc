"""Streaming helper for the generated AI Hub client (package ``aihub_client``).

The generated endpoint functions read a response whole, which does not work for AI Hub's
server-sent event streams. This module sends the same requests through the generated client's
own ``httpx`` client (so base URL, auth headers and transport are the client's), reads the
``text/event-stream`` body as it arrives (parsed by ``httpx-sse``) and yields one generated
model per event, chosen by the event's ``type``:

- conversation streams (``POST /api/v1/conversations/{id}/stream``,
  ``POST /api/v1/conversations/stream``): ``ConversationCreatedEvent`` (``conversation``),
  ``ReplyStartEvent`` (``start``), ``ReplyContentEvent`` (``content``), ``ReplyUsageEvent``
  (``usage``), then ``ReplyDoneEvent`` (``done``) or ``ReplyErrorEvent`` (``error``);
- ``POST /api/v1/chat`` with ``stream: true``: ``ChatSessionEvent``, ``ChatContentEvent``,
  ``ChatUsageEvent``, then ``ChatDoneEvent`` or ``ChatErrorEvent``.

An ``error`` event (a failure after the stream began) is yielded like any other event; it is
the last one. An event whose ``type`` this module does not know (or whose model the generated
package lacks) is yielded as the plain ``dict`` it was sent as, so a newer server does not break
an older client. The request is sent on the first ``next``; a non-2xx answer then raises
:class:`AihubApiError` carrying the parsed ``ErrorResponse``.

Example::

    from aihub_client import AuthenticatedClient
    from aihub_client.models import SendMessageRequest, ReplyContentEvent
    import aihub_stream

    client = AuthenticatedClient(base_url="http://127.0.0.1:8080", token=access_token)
    for event in aihub_stream.stream_conversation_reply(client, 42, SendMessageRequest(content="Hi")):
        if isinstance(event, ReplyContentEvent):
            print(event.content, end="")

Leaving the loop early closes the response once the iterator is dropped or ``.close()``d (the
server then stores the partial reply as ``stopped``). Read timeouts are the client's (``AuthenticatedClient(timeout=httpx.Timeout(...))``);
``timeout=`` below is the server's cap on the generation.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import httpx
from httpx_sse import EventSource

from aihub_client.api.chat import create_chat
from aihub_client.api.conversations import create_conversation_and_stream as _create_and_stream
from aihub_client.api.conversations import stream_conversation_reply as _stream_reply
from aihub_client.models import ErrorResponse
from aihub_client.types import UNSET, Unset

__all__ = [
    "AihubApiError",
    "CHAT_EVENTS",
    "CONVERSATION_EVENTS",
    "create_conversation_and_stream",
    "iter_events",
    "stream_chat",
    "stream_conversation_reply",
]

#: Event ``type`` -> generated model class name, per stream.
CONVERSATION_EVENTS = {
    "conversation": "ConversationCreatedEvent",
    "start": "ReplyStartEvent",
    "content": "ReplyContentEvent",
    "usage": "ReplyUsageEvent",
    "done": "ReplyDoneEvent",
    "error": "ReplyErrorEvent",
}
CHAT_EVENTS = {
    "session": "ChatSessionEvent",
    "content": "ChatContentEvent",
    "usage": "ChatUsageEvent",
    "done": "ChatDoneEvent",
    "error": "ChatErrorEvent",
}


class AihubApiError(Exception):
    """A non-2xx answer to a streaming request.

    ``error`` is the parsed ``ErrorResponse`` (``None`` when the body is not one; ``body`` then
    has the raw bytes). ``code``, ``type`` and ``message`` are shortcuts into ``error.error``.
    """

    def __init__(self, status_code: int, error: ErrorResponse | None, body: bytes) -> None:
        self.status_code = status_code
        self.error = error
        self.body = body
        detail = f"{self.code}: {self.message}" if error is not None else body[:200].decode("utf-8", "replace")
        super().__init__(f"HTTP {status_code}: {detail}")

    @property
    def code(self) -> str | None:
        """``error.code`` as a string, e.g. ``validation_error``."""
        if self.error is None:
            return None
        return str(getattr(self.error.error.code, "value", self.error.error.code))

    @property
    def type(self) -> str | None:
        """``error.type``, e.g. ``invalid_request_error``."""
        return None if self.error is None else self.error.error.type_

    @property
    def message(self) -> str | None:
        """``error.message``."""
        return None if self.error is None else self.error.error.message


def stream_conversation_reply(
    client: Any,
    conversation_id: int,
    body: Any,
    *,
    use_context: bool | Unset = UNSET,
    timeout: int | Unset = UNSET,
) -> Iterator[Any]:
    """Sends ``body`` (``SendMessageRequest`` or its dict) and yields the reply's events."""
    body = _model("SendMessageRequest", body)
    kwargs = _stream_reply._get_kwargs(conversation_id, body=body, use_context=use_context, timeout=timeout)
    return _events(client, kwargs, CONVERSATION_EVENTS)


def create_conversation_and_stream(
    client: Any,
    body: Any,
    *,
    use_context: bool | Unset = UNSET,
    timeout: int | Unset = UNSET,
) -> Iterator[Any]:
    """Creates a conversation (``CreateAndStreamRequest`` or its dict) and yields the events of
    its first reply, starting with ``conversation``."""
    body = _model("CreateAndStreamRequest", body)
    kwargs = _create_and_stream._get_kwargs(body=body, use_context=use_context, timeout=timeout)
    return _events(client, kwargs, CONVERSATION_EVENTS)


def stream_chat(client: Any, body: Any) -> Iterator[Any]:
    """Sends a ``/chat`` request (``ChatRequestBody`` or its dict) with ``stream: true`` and
    yields its events."""
    body = attrs.evolve(_model("ChatRequestBody", body), stream=True)
    return _events(client, create_chat._get_kwargs(body=body), CHAT_EVENTS)


def iter_events(response: httpx.Response, types: Mapping[str, str]) -> Iterator[Any]:
    """Yields the events of an open streaming ``response``, each as the model ``types`` names
    for its ``type`` (else the plain dict). Raises :class:`AihubApiError` on a non-2xx status."""
    if not response.is_success:
        raise _api_error(response)
    for sse in EventSource(response).iter_sse():
        if not sse.data:
            continue
        data = json.loads(sse.data)
        cls = _event_class(types.get(data.get("type"))) if isinstance(data, dict) else None
        yield cls.from_dict(data) if cls is not None else data


def _events(client: Any, kwargs: dict[str, Any], types: Mapping[str, str]) -> Iterator[Any]:
    # The generated request (method, url, query, JSON body, headers) is sent by the client's
    # httpx client; `_get_kwargs` is what the generated sync functions use themselves.
    headers = {**kwargs.pop("headers", {}), "Accept": "text/event-stream"}
    with client.get_httpx_client().stream(**kwargs, headers=headers) as response:
        yield from iter_events(response, types)


def _model(name: str, body: Any) -> Any:
    """``body`` as the generated request model ``name`` (a dict is parsed into it)."""
    return _generated(name).from_dict(body) if isinstance(body, Mapping) else body


def _event_class(name: str | None) -> Any:
    return None if name is None else _generated(name)


def _generated(name: str) -> Any:
    """The generated model class ``name``, or ``None`` when the package has none."""
    return getattr(importlib.import_module("aihub_client.models"), name, None)


def _api_error(response: httpx.Response) -> AihubApiError:
    body = response.read()
    try:
        error = ErrorResponse.from_dict(json.loads(body))
    except (ValueError, TypeError, KeyError, AttributeError):
        error = None
    return AihubApiError(response.status_code, error, body)
