/**
 * Streaming helper for AI Hub's server-sent-event operations, typed with the generated client's
 * types (sdk/typescript/, made by scripts/sdk-typescript.sh).
 *
 *   for await (const ev of streamReply({ path: { id }, body: { content: 'Hi' } }, { baseUrl, token })) {
 *     if (ev.type === 'content') process.stdout.write(ev.content);
 *   }
 *
 * Each function POSTs with fetch, parses the `text/event-stream` body incrementally
 * (eventsource-parser) and yields one event per `data: {json}` frame, a discriminated union on
 * `type`. The last event is `done` or `error` (a failure after the stream began: yielded, not
 * thrown). A non-2xx answer throws {@link ApiError} carrying the parsed `ErrorResponse`; a
 * broken stream (not SSE, a frame that is not an event, no `done`/`error` before the end)
 * throws {@link StreamProtocolError}. Events of a type this client does not know are skipped.
 * Leaving the loop early closes the connection, which stops the generation on the server.
 *
 * Why not the generated `streamConversationReply`/`createConversationAndStream`: hey-api's SSE
 * client retries any failure by POSTing again, without limit unless `sseMaxRetryAttempts` is
 * set (a 404 or 422 included; a dropped connection re-sends the message), and drops the
 * `ErrorResponse` body.
 */
import { createParser } from 'eventsource-parser';
import type {
  ChatRequestBody,
  ChatStreamEvent,
  ConversationStreamEvent,
  CreateConversationAndStreamData,
  ErrorResponse,
  StreamConversationReplyData,
} from '../../sdk/typescript/index.js';

/** Where and as whom to connect. */
export interface StreamOptions {
  /** Server root, e.g. `http://127.0.0.1:8000` (a path prefix is kept). */
  baseUrl: string;
  /** Session JWT or developer API key, sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Aborts the request and the stream. */
  signal?: AbortSignal;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** A non-2xx answer; `body` is the parsed `ErrorResponse` when the body is AI Hub's envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorResponse | undefined,
    text: string,
  ) {
    super(body ? `HTTP ${status} ${body.error.code}: ${body.error.message}` : `HTTP ${status}: ${text.slice(0, 200)}`);
    this.name = 'ApiError';
  }

  /** The stable error code (`error.code`), when the body was an `ErrorResponse`. */
  get code(): ErrorResponse['error']['code'] | undefined {
    return this.body?.error.code;
  }
}

/** The answer was 2xx but not a well-formed AI Hub event stream. */
export class StreamProtocolError extends Error {
  override name = 'StreamProtocolError';
}

/** Every `type` of each union, checked both ways against the generated types by `satisfies`. */
const CONVERSATION_TYPES = {
  conversation: true,
  start: true,
  content: true,
  usage: true,
  done: true,
  error: true,
} satisfies Record<ConversationStreamEvent['type'], true>;
const CHAT_TYPES = {
  session: true,
  content: true,
  usage: true,
  done: true,
  error: true,
} satisfies Record<ChatStreamEvent['type'], true>;

type Query = Record<string, string | number | boolean | null | undefined>;

/** `POST /api/v1/conversations/{id}/stream`: sends a message and streams the reply. */
export function streamReply(
  req: Pick<StreamConversationReplyData, 'path' | 'query' | 'body'>,
  opts: StreamOptions,
): AsyncGenerator<ConversationStreamEvent, void, undefined> {
  const url: StreamConversationReplyData['url'] = '/api/v1/conversations/{id}/stream';
  const path = url.replace('{id}', encodeURIComponent(String(req.path.id)));
  return streamEvents(CONVERSATION_TYPES, path, req.query, req.body, opts);
}

/** `POST /api/v1/conversations/stream`: creates a conversation (first event) and streams its reply. */
export function streamNewConversation(
  req: Pick<CreateConversationAndStreamData, 'query' | 'body'>,
  opts: StreamOptions,
): AsyncGenerator<ConversationStreamEvent, void, undefined> {
  const url: CreateConversationAndStreamData['url'] = '/api/v1/conversations/stream';
  return streamEvents(CONVERSATION_TYPES, url, req.query, req.body, opts);
}

/** `POST /api/v1/chat` with `stream: true`: `session`, `content`…, `usage`, `done` or `error`. */
export function streamChat(
  body: Omit<ChatRequestBody, 'stream'>,
  opts: StreamOptions,
): AsyncGenerator<ChatStreamEvent, void, undefined> {
  return streamEvents(CHAT_TYPES, '/api/v1/chat', undefined, { ...body, stream: true }, opts);
}

/** POSTs `body` as JSON and yields the events of the types in `types` (see the module comment). */
export async function* streamEvents<E extends { type: string }>(
  types: Record<E['type'], true>,
  path: string,
  query: Query | undefined,
  body: unknown,
  opts: StreamOptions,
): AsyncGenerator<E, void, undefined> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) params.set(k, String(v));
  const search = params.toString();
  const url = opts.baseUrl.replace(/\/+$/, '') + path + (search ? `?${search}` : '');
  const res = await (opts.fetch ?? fetch)(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'text/event-stream',
      ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    body: JSON.stringify(body),
    signal: opts.signal,
  });
  if (!res.ok) throw await apiError(res);
  const contentType = res.headers.get('content-type') ?? '';
  if (!res.body || !contentType.startsWith('text/event-stream')) {
    await res.body?.cancel();
    throw new StreamProtocolError(`expected text/event-stream, got ${contentType || 'no body'}`);
  }

  const ready: E[] = [];
  let failure: Error | undefined;
  let ended = false;
  const parser = createParser({
    onEvent(message) {
      if (failure) return;
      let value: unknown;
      try {
        value = JSON.parse(message.data);
      } catch {
        failure = new StreamProtocolError(`event data is not JSON: ${message.data.slice(0, 200)}`);
        return;
      }
      if (!hasType(value)) {
        failure = new StreamProtocolError(`event without a type: ${message.data.slice(0, 200)}`);
      } else if (isEventOf(types, value)) {
        ready.push(value);
        ended ||= value.type === 'done' || value.type === 'error';
      }
    },
    onError(err) {
      // Unknown fields and bad `retry:` lines are ignored, as the SSE standard says.
      if (err.type === 'max-buffer-size-exceeded') failure ??= new StreamProtocolError(err.message);
    },
  });

  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        parser.feed(decoder.decode());
        parser.reset({ consume: true });
      } else {
        parser.feed(decoder.decode(value, { stream: true }));
      }
      if (failure) throw failure;
      yield* ready.splice(0);
      if (done) break;
    }
  } finally {
    // Normal end: a no-op. Early exit or error: closes the connection.
    await reader.cancel().catch(() => undefined);
  }
  if (!ended) throw new StreamProtocolError('the stream ended before a done or error event');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function hasType(v: unknown): v is { type: string } {
  return isObject(v) && typeof v.type === 'string';
}

/** Trusts the server for the fields of an event whose `type` is one of `types`. */
function isEventOf<E extends { type: string }>(types: Record<E['type'], true>, v: { type: string }): v is E {
  return Object.hasOwn(types, v.type);
}

function isErrorResponse(v: unknown): v is ErrorResponse {
  return isObject(v) && isObject(v.error) && typeof v.error.code === 'string' && typeof v.error.message === 'string';
}

async function apiError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return new ApiError(res.status, isErrorResponse(parsed) ? parsed : undefined, text);
}
