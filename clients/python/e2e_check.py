"""End-to-end check of a running AI Hub server through the generated Python client.

Every call goes through the generated ``aihub_client`` functions, except the streams
(conversation reply, create-and-stream, ``/chat``), which go through the hand-written
``aihub_stream`` helper. Prints ``ok <name>`` per check
and ``all checks passed`` at the end; exits 1 at the first failure.

Environment:
  AIHUB_BASE_URL       server root, e.g. http://127.0.0.1:8080 (a fresh server: the user
                       registered here must be its first, hence admin)
  AIHUB_UPSTREAM_URL   base URL of an OpenAI-compatible upstream, ending in /v1
  AIHUB_MODEL          model to ask for, e.g. gpt-4o-mini
  AIHUB_EXPECTED_TEXT  exact reply text of that upstream, streamed or not (optional: when
                       empty, replies are only checked to be non-empty)

Run: python=$(scripts/sdk-python.sh) && "$python" clients/python/e2e_check.py
"""

import os
import secrets
import sys
import traceback

import httpx

import aihub_stream
from aihub_client import AuthenticatedClient, Client
from aihub_client.api.auth import get_current_user, login_user, register_user
from aihub_client.api.conversations import (
    create_conversation,
    list_conversations,
    send_message,
    update_conversation,
)
from aihub_client.api.providers import create_provider
from aihub_client.models import (
    AuthResponse,
    ChatContentEvent,
    ChatDoneEvent,
    ChatRequestBody,
    ChatSessionEvent,
    ChatUsageEvent,
    ConversationCreatedEvent,
    ConversationDetailResponse,
    ConversationResponse,
    CreateAndStreamRequest,
    CreateConversationRequest,
    CreateProviderRequest,
    ErrorResponse,
    ExchangeResponse,
    ListResponseConversationResponse,
    LoginRequest,
    ProviderConfig,
    ProviderKind,
    ProviderResponse,
    ProviderScope,
    RegisterRequest,
    ReplyContentEvent,
    ReplyDoneEvent,
    ReplyStartEvent,
    ReplyUsageEvent,
    Role,
    SendMessageRequest,
    UpdateConversationRequest,
    UserResponse,
)

BASE_URL = os.environ["AIHUB_BASE_URL"].rstrip("/")
UPSTREAM_URL = os.environ["AIHUB_UPSTREAM_URL"]
MODEL = os.environ["AIHUB_MODEL"]
EXPECTED_TEXT = os.environ.get("AIHUB_EXPECTED_TEXT", "")
TIMEOUT = httpx.Timeout(60.0)


class CheckFailed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise CheckFailed(what)


def expect(response, status, model):
    """The parsed body of a generated ``sync_detailed`` response, checked for status and type."""
    check(
        response.status_code == status and isinstance(response.parsed, model),
        f"expected {status} {model.__name__}, got {int(response.status_code)}: {response.content[:500]!r}",
    )
    return response.parsed


def check_reply_text(text):
    if EXPECTED_TEXT:
        check(text == EXPECTED_TEXT, f"reply {text!r} != expected {EXPECTED_TEXT!r}")
    else:
        check(text != "", "empty reply")


def check_reply_events(events, content, usage, done):
    """``events`` are ``content``s with the expected text, one ``usage``, then ``done`` last."""
    kinds = [type(e) for e in events]
    check(kinds[-2:] == [usage, done] and set(kinds[:-2]) == {content}, f"event kinds: {kinds}")
    check_reply_text("".join(e.content for e in events[:-2]))


def page_ids(page):
    return [c.id for c in page.items]


def run(step):
    """Runs the checks in order; ``step(name)`` announces each one's success."""
    suffix = secrets.token_hex(4)
    public = Client(base_url=BASE_URL, timeout=TIMEOUT)
    username, password = f"e2e_{suffix}", f"pw-{suffix}-secret"

    auth = expect(register_user.sync_detailed(client=public, body=RegisterRequest(
        username=username, email=f"{username}@example.com", password=password)), 201, AuthResponse)
    check(auth.user.username == username, "registered username")
    check(auth.user.role == Role.ADMIN, f"first user is admin (got {auth.user.role}): is the server fresh?")
    step("register_user")

    auth = expect(login_user.sync_detailed(client=public, body=LoginRequest(
        username=username, password=password)), 200, AuthResponse)
    check(auth.access_token and auth.token_type.lower() == "bearer", "login tokens")
    client = AuthenticatedClient(base_url=BASE_URL, token=auth.access_token, timeout=TIMEOUT)
    me = expect(get_current_user.sync_detailed(client=client), 200, UserResponse)
    check(me.id == auth.user.id, "get_current_user is the logged-in user")
    step("login_user")

    provider = expect(create_provider.sync_detailed(client=client, body=CreateProviderRequest(
        name=f"e2e upstream {suffix}", kind=ProviderKind.OPENAI_COMPATIBLE,
        scope=ProviderScope.ORGANIZATION, api_key=f"sk-e2e-{suffix}-key", base_url=UPSTREAM_URL,
        config=ProviderConfig(default_model=MODEL))), 201, ProviderResponse)
    check(provider.kind == ProviderKind.OPENAI_COMPATIBLE and provider.has_api_key, "provider as created")
    check(provider.api_key != f"sk-e2e-{suffix}-key", "provider api_key is masked")
    step("create_provider")

    conv = expect(create_conversation.sync_detailed(client=client, body=CreateConversationRequest(
        title=f"e2e main {suffix}", provider_id=provider.id, model=MODEL)), 201, ConversationDetailResponse)
    check(conv.provider_id == provider.id and conv.model == MODEL and conv.messages == [], "conversation as created")
    step("create_conversation")

    exchange = expect(send_message.sync_detailed(conv.id, client=client, body=SendMessageRequest(
        content="Say hello.")), 200, ExchangeResponse)
    check(exchange.user_message.content == "Say hello.", "stored user message")
    check_reply_text(exchange.assistant_message.content)
    step("send_message")

    events = list(aihub_stream.stream_conversation_reply(client, conv.id, SendMessageRequest(content="Again.")))
    check(isinstance(events[0], ReplyStartEvent) and events[0].conversation_id == conv.id,
          f"stream starts with start: {events[:1]}")
    check_reply_events(events[1:], ReplyContentEvent, ReplyUsageEvent, ReplyDoneEvent)
    check(events[-1].total_tokens > 0 and events[-1].status == "complete", f"done event: {events[-1]}")
    step("stream_conversation_reply")

    term = f"Zebra{suffix}"

    def new_conversation(title, **fields):
        return expect(create_conversation.sync_detailed(client=client, body=CreateConversationRequest(
            title=title, provider_id=provider.id, **fields)), 201, ConversationDetailResponse)

    pinned = new_conversation(f"e2e pinned {suffix}", is_pinned=True)
    archived = new_conversation(f"e2e archived {suffix}")
    archived = expect(update_conversation.sync_detailed(archived.id, client=client, body=UpdateConversationRequest(
        is_archived=True)), 200, ConversationResponse)
    check(archived.is_archived, "update_conversation archived it")
    searched = new_conversation(f"e2e about {term} stripes")

    def listing(**query):
        return expect(list_conversations.sync_detailed(client=client, **query), 200, ListResponseConversationResponse)

    first = listing(page=1, page_size=3)
    check(first.pagination.total == 4 and first.pagination.total_pages == 2, f"totals: {first.pagination}")
    check(len(first.items) == 3 and first.pagination.has_next and not first.pagination.has_prev, "page 1")
    check(first.items[0].id == pinned.id, "pinned first by default")
    second = listing(page=2, page_size=3)
    check(len(second.items) == 1 and not second.pagination.has_next and second.pagination.has_prev, "page 2")
    check(sorted(page_ids(first) + page_ids(second)) == sorted([conv.id, pinned.id, archived.id, searched.id]),
          "pages cover every conversation once")
    found = listing(search=term.lower())
    check(page_ids(found) == [searched.id] and found.pagination.total == 1, "search (case-insensitive)")
    check(page_ids(listing(is_archived=True)) == [archived.id], "is_archived=true")
    check(listing(is_archived=False).pagination.total == 3, "is_archived=false")
    check(page_ids(listing(is_pinned=True)) == [pinned.id], "is_pinned=true")
    check(page_ids(listing(skip=3, limit=1, ordering="created_at")) == [searched.id], "skip/limit/ordering")
    step("list_conversations")

    bad = AuthenticatedClient(base_url=BASE_URL, token="not-a-token", timeout=TIMEOUT)
    err = expect(get_current_user.sync_detailed(client=bad), 401, ErrorResponse)
    check(err.error.code == "invalid_token" and err.error.type_ == "authentication_error", f"401: {err.error}")
    step("error_401")

    err = expect(create_conversation.sync_detailed(client=client, body=CreateConversationRequest(
        title="x" * 201, provider_id=provider.id)), 422, ErrorResponse)
    check(err.error.type_ == "invalid_request_error" and err.error.code == "validation_error"
          and err.error.param == "title", f"422: {err.error}")
    check(err.request_id, "error carries request_id")
    step("error_422")

    try:
        next(aihub_stream.stream_conversation_reply(client, 2**53, SendMessageRequest(content="Hi?")))
        check(False, "streaming into a missing conversation succeeded")
    except aihub_stream.AihubApiError as e:
        check(e.status_code == 404 and e.code == "not_found" and e.type == "not_found_error", f"404: {e}")
    step("stream_error_404")

    events = list(aihub_stream.create_conversation_and_stream(client, CreateAndStreamRequest(
        content="Hello there.", provider_id=provider.id, model=MODEL)))
    created = events[0]
    check(isinstance(created, ConversationCreatedEvent) and created.conversation.provider_id == provider.id,
          f"first event is the conversation: {created}")
    check(isinstance(events[1], ReplyStartEvent) and events[1].conversation_id == created.conversation.id,
          f"then start: {events[1]}")
    check_reply_events(events[2:], ReplyContentEvent, ReplyUsageEvent, ReplyDoneEvent)
    step("create_conversation_and_stream")

    events = list(aihub_stream.stream_chat(client, ChatRequestBody(message="Hello?", provider_id=provider.id)))
    check(isinstance(events[0], ChatSessionEvent) and events[0].provider.id == provider.id,
          f"first event is the session: {events[0]}")
    check_reply_events(events[1:], ChatContentEvent, ChatUsageEvent, ChatDoneEvent)
    check(events[-2].total_tokens > 0, f"usage: {events[-2]}")
    step("stream_chat")


def main():
    passed = []

    def step(name):
        passed.append(name)
        print(f"ok {name}", flush=True)

    try:
        run(step)
    except Exception as e:  # a failed check, or the client or server failing outright
        after = f" (after {passed[-1]})" if passed else ""
        if not isinstance(e, CheckFailed):
            traceback.print_exc()
        print(f"FAILED{after}: {e}", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
