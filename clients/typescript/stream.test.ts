/**
 * Offline unit tests of stream.ts: a local HTTP server replays recorded SSE bodies.
 * Run: node --test "$(scripts/sdk-typescript.sh)"/stream.test.js
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ChatStreamEvent, ConversationStreamEvent } from '../../sdk/typescript/index.js';
import { ApiError, StreamProtocolError, streamChat, streamNewConversation, streamReply } from './stream.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => Promise<void>;
let handler: Handler = async (_req, _body, res) => void res.writeHead(500).end();
let baseUrl = '';
const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => void handler(req, body, res).catch((e: unknown) => res.destroy(e instanceof Error ? e : undefined)));
});

before(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  baseUrl = `http://127.0.0.1:${address.port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const frame = (v: object) => `data: ${JSON.stringify(v)}\n\n`;
const sse = { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' };

/** Writes `body` in pieces cut at the given byte offsets, pausing between writes. */
async function writeInPieces(res: ServerResponse, body: string, cuts: number[]) {
  const bytes = Buffer.from(body, 'utf8');
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    res.write(bytes.subarray(start, end));
    start = end;
    await sleep(5);
  }
  res.end();
}

async function collect<E>(events: AsyncIterable<E>): Promise<E[]> {
  const out: E[] = [];
  for await (const e of events) out.push(e);
  return out;
}

const reply = [
  frame({ type: 'start', conversation_id: 7, user_message_id: 1, message_id: 2, model: 'm', provider_id: 3 }),
  ': keep-alive comment\n\n',
  frame({ type: 'content', content: 'Hé' }),
  frame({ type: 'content', content: 'llo 🌍' }),
  frame({ type: 'future_kind', x: 1 }),
  frame({ type: 'usage', prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, cost: 0, cost_nanos: 0, estimated: false }),
  frame({ type: 'done', message_id: 2, finish_reason: 'stop', status: 'complete', response_time_ms: 4 }),
].join('');

test('frames split across writes (mid-line, mid-UTF-8) arrive whole and in order', async () => {
  let seen: { method?: string; url?: string; auth?: string; body?: string } = {};
  handler = async (req, body, res) => {
    seen = { method: req.method, url: req.url, auth: req.headers.authorization, body };
    res.writeHead(200, sse);
    const emoji = Buffer.from(reply).indexOf(Buffer.from('🌍'));
    await writeInPieces(res, reply, [3, 40, 41, emoji + 1, emoji + 3, Buffer.byteLength(reply) - 2]);
  };
  const events: ConversationStreamEvent[] = await collect(
    streamReply({ path: { id: 7 }, query: { use_context: false }, body: { content: 'hi' } }, { baseUrl: `${baseUrl}/`, token: 'tok' }),
  );
  assert.deepEqual(seen, { method: 'POST', url: '/api/v1/conversations/7/stream?use_context=false', auth: 'Bearer tok', body: '{"content":"hi"}' });
  assert.deepEqual(events.map((e) => e.type), ['start', 'content', 'content', 'usage', 'done']);
  const text = events.map((e) => (e.type === 'content' ? e.content : '')).join('');
  assert.equal(text, 'Héllo 🌍');
  const last = events.at(-1);
  assert.ok(last?.type === 'done' && last.status === 'complete');
});

test('an error event is yielded last, with its typed error', async () => {
  handler = async (_req, _body, res) => {
    res.writeHead(200, sse);
    const error = { type: 'upstream_error', code: 'upstream_unavailable', message: 'boom', param: null, details: null };
    await writeInPieces(res, frame({ type: 'content', content: 'par' }) + frame({ type: 'error', message_id: 9, error }), [20]);
  };
  const events = await collect(streamNewConversation({ body: { content: 'x', provider_id: 1 } }, { baseUrl }));
  const last = events.at(-1);
  assert.equal(events.length, 2);
  assert.ok(last?.type === 'error');
  assert.equal(last.error.code, 'upstream_unavailable');
  assert.equal(last.message_id, 9);
});

test('a non-2xx JSON answer throws ApiError with the parsed ErrorResponse', async () => {
  handler = async (_req, _body, res) => {
    const body = { error: { type: 'invalid_request_error', code: 'validation_error', message: 'content: required', param: 'content' }, request_id: 'r1' };
    res.writeHead(422, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  };
  await assert.rejects(collect(streamReply({ path: { id: 1 }, body: { content: '' } }, { baseUrl })), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 422);
    assert.equal(e.code, 'validation_error');
    assert.equal(e.body?.error.param, 'content');
    assert.equal(e.body?.request_id, 'r1');
    return true;
  });
});

test('a non-2xx answer that is not JSON still throws ApiError', async () => {
  handler = async (_req, _body, res) => void res.writeHead(502, { 'Content-Type': 'text/plain' }).end('bad gateway');
  await assert.rejects(collect(streamChat({ message: 'x' }, { baseUrl })), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 502);
    assert.equal(e.body, undefined);
    assert.equal(e.code, undefined);
    return true;
  });
});

test('chat streams send stream: true and yield the chat union', async () => {
  let sent = '';
  handler = async (_req, body, res) => {
    sent = body;
    res.writeHead(200, sse);
    res.write(frame({ type: 'session', id: 'chat-1', model: 'm', provider: { id: 1, slug: 's', kind: 'openai_compatible' } }));
    res.write(frame({ type: 'content', content: 'ok' }));
    res.end(frame({ type: 'done', finish_reason: 'stop', response_time_ms: 1 }));
  };
  const events: ChatStreamEvent[] = await collect(streamChat({ message: 'x', provider_id: 1 }, { baseUrl }));
  assert.deepEqual(JSON.parse(sent), { message: 'x', provider_id: 1, stream: true });
  const first = events[0];
  assert.ok(first?.type === 'session' && first.provider.kind === 'openai_compatible');
  assert.deepEqual(events.map((e) => e.type), ['session', 'content', 'done']);
});

test('a stream that ends before done or error throws StreamProtocolError', async () => {
  handler = async (_req, _body, res) => void res.writeHead(200, sse).end(frame({ type: 'content', content: 'cut' }));
  await assert.rejects(collect(streamReply({ path: { id: 1 }, body: { content: 'x' } }, { baseUrl })), StreamProtocolError);
});

test('a 200 that is not an event stream throws StreamProtocolError', async () => {
  handler = async (_req, _body, res) => void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
  await assert.rejects(collect(streamReply({ path: { id: 1 }, body: { content: 'x' } }, { baseUrl })), StreamProtocolError);
});

test('leaving the loop early closes the connection', async () => {
  let closed: Promise<unknown> = Promise.resolve();
  handler = async (_req, _body, res) => {
    closed = once(res, 'close');
    res.writeHead(200, sse);
    res.write(frame({ type: 'content', content: 'first' }));
    await closed; // never ends on its own
  };
  for await (const ev of streamReply({ path: { id: 1 }, body: { content: 'x' } }, { baseUrl })) {
    assert.equal(ev.type, 'content');
    break;
  }
  await closed;
});
