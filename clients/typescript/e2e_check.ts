/**
 * End-to-end check of the generated TypeScript client and stream.ts against a running AI Hub.
 * Prints `ok <name>` per check and `all checks passed`; exits non-zero at the first failure.
 *
 * Build: dir=$(scripts/sdk-typescript.sh); run: node "$dir/e2e_check.js" with
 *   AIHUB_BASE_URL       server root, e.g. http://127.0.0.1:8000
 *   AIHUB_UPSTREAM_URL   an OpenAI-compatible upstream base URL ending in /v1
 *   AIHUB_MODEL          model the upstream serves, e.g. gpt-4o-mini
 *   AIHUB_EXPECTED_TEXT  optional: the exact reply text the upstream gives
 *   AIHUB_EXPECTED_STREAM_TEXT
 *                        optional: the same for streamed replies (default AIHUB_EXPECTED_TEXT)
 *   AIHUB_ADMIN_USERNAME, AIHUB_ADMIN_PASSWORD
 *                        optional admin account: the checks after `login` then run as it
 *                        (an organization provider is usable only by its creator until granted,
 *                        and grants have no HTTP API); without them the user registered here
 *                        must be the server's first, and so its admin.
 */
import { randomUUID } from 'node:crypto';

import { createClient, createConfig } from '../../sdk/typescript/client/index.js';
import {
  createConversation,
  createProvider,
  getCurrentUser,
  listConversations,
  loginUser,
  registerUser,
  sendMessage,
  type ConversationStreamEvent,
  type ErrorResponse,
} from '../../sdk/typescript/index.js';
import { streamChat, streamNewConversation, streamReply } from './stream.js';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

class CheckFailed extends Error {}

function expect(condition: boolean, what: string): asserts condition {
  if (!condition) throw new CheckFailed(what);
}

async function check(name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    // With throwOnError the generated client throws the parsed error body (an ErrorResponse).
    const detail = e instanceof CheckFailed ? e.message : e instanceof Error ? (e.stack ?? e.message) : JSON.stringify(e);
    console.error(`FAIL ${name}: ${detail}`);
    process.exit(1);
  }
  console.log(`ok ${name}`);
}

async function collect<E>(events: AsyncIterable<E>): Promise<E[]> {
  const out: E[] = [];
  for await (const e of events) out.push(e);
  return out;
}

function replyText(events: ConversationStreamEvent[]): string {
  return events.map((e) => (e.type === 'content' ? e.content : '')).join('');
}

const baseUrl = env('AIHUB_BASE_URL').replace(/\/+$/, '');
const upstreamUrl = env('AIHUB_UPSTREAM_URL');
const model = env('AIHUB_MODEL');
const expectedText = process.env.AIHUB_EXPECTED_TEXT;
const expectedStreamText = process.env.AIHUB_EXPECTED_STREAM_TEXT ?? expectedText;
const run = randomUUID().slice(0, 8);

// `auth` is asked for the bearer token on each secured call: the admin's once logged in.
let token = '';
const anonymous = createClient(createConfig({ baseUrl }));
const client = createClient(createConfig({ baseUrl, auth: () => token }));

const username = `ts_e2e_${run}`;
const password = `pw-${randomUUID()}`;

function checkReply(text: string, what: string, expected = expectedStreamText) {
  expect(text.length > 0, `${what}: empty reply`);
  if (expected !== undefined) expect(text === expected, `${what}: reply ${JSON.stringify(text)} != ${JSON.stringify(expected)}`);
}

await check('register', async () => {
  const { data } = await registerUser({
    client: anonymous,
    body: { username, email: `${username}@example.test`, password },
    throwOnError: true,
  });
  expect(data.user.username === username, 'registered username');
  expect(data.token_type.toLowerCase() === 'bearer' && data.access_token.length > 0, 'access token');
  const adminName = process.env.AIHUB_ADMIN_USERNAME;
  if (!adminName) {
    expect(data.user.role === 'admin', 'not admin: the server has other users, so set AIHUB_ADMIN_USERNAME/PASSWORD');
  }
});

await check('login', async () => {
  const { data } = await loginUser({ client: anonymous, body: { username, password }, throwOnError: true });
  token = data.access_token;
  const me = await getCurrentUser({ client, throwOnError: true });
  expect(me.data.username === username, 'GET /auth/me answers the logged-in user');
  const adminName = process.env.AIHUB_ADMIN_USERNAME;
  if (adminName) {
    const admin = await loginUser({
      client: anonymous,
      body: { username: adminName, password: env('AIHUB_ADMIN_PASSWORD') },
      throwOnError: true,
    });
    expect(admin.data.user.role === 'admin', `${adminName} is an admin`);
    token = admin.data.access_token;
  }
});

let providerId = 0;
await check('create_provider', async () => {
  const { data } = await createProvider({
    client,
    body: {
      name: `ts-e2e-${run}`,
      kind: 'openai_compatible',
      scope: 'organization',
      api_key: `sk-ts-e2e-${run}`,
      base_url: upstreamUrl,
      config: { default_model: model },
    },
    throwOnError: true,
  });
  expect(data.scope === 'organization' && data.kind === 'openai_compatible', 'provider scope and kind');
  expect(data.has_api_key && !data.api_key?.includes(run), 'the key is stored and never returned');
  providerId = data.id;
});

let conversationId = 0;
await check('create_conversation', async () => {
  const { data } = await createConversation({
    client,
    body: { title: `ts-e2e ${run}`, provider_id: providerId, model },
    throwOnError: true,
  });
  expect(data.provider_id === providerId && data.message_count === 0, 'new conversation');
  conversationId = data.id;
});

await check('send_message', async () => {
  const { data } = await sendMessage({ client, path: { id: conversationId }, body: { content: 'Say hello.' }, throwOnError: true });
  expect(data.user_message.content === 'Say hello.' && data.user_message.role === 'user', 'stored user message');
  expect(data.assistant_message.role === 'assistant', 'stored reply');
  checkReply(data.assistant_message.content, 'send_message', expectedText);
});

await check('stream_reply', async () => {
  const events = await collect(
    streamReply({ path: { id: conversationId }, body: { content: 'Say hello again.' } }, { baseUrl, token }),
  );
  const [first, last] = [events[0], events.at(-1)];
  expect(first?.type === 'start' && first.conversation_id === conversationId, `first event is start: ${JSON.stringify(first)}`);
  expect(events.some((e) => e.type === 'content'), 'content events');
  expect(last?.type === 'done' && last.status === 'complete', `last event is done: ${JSON.stringify(last)}`);
  checkReply(replyText(events), 'stream_reply');
});

await check('stream_new_conversation', async () => {
  const events = await collect(
    streamNewConversation({ body: { content: 'Hi there.', provider_id: providerId, title: `ts-e2e ${run} streamed` } }, { baseUrl, token }),
  );
  const first = events[0];
  expect(first?.type === 'conversation' && first.conversation.title === `ts-e2e ${run} streamed`, 'first event is the conversation');
  expect(events.at(-1)?.type === 'done', 'ends with done');
  checkReply(replyText(events), 'stream_new_conversation');
});

await check('stream_chat', async () => {
  const events = await collect(streamChat({ message: 'Hello?', provider_id: providerId }, { baseUrl, token }));
  const first = events[0];
  expect(first?.type === 'session' && first.provider.id === providerId, `first event is session: ${JSON.stringify(first)}`);
  const text = events.map((e) => (e.type === 'content' ? e.content : '')).join('');
  expect(events.at(-1)?.type === 'done', 'ends with done');
  checkReply(text, 'stream_chat');
});

await check('list_conversations', async () => {
  const tag = `tsl-${run}`;
  const ids: number[] = [];
  const rows: Array<[string, boolean]> = [['a', false], ['b', false], ['c', true]];
  for (const [suffix, pinned] of rows) {
    const { data } = await createConversation({ client, body: { title: `${tag} ${suffix}`, is_pinned: pinned }, throwOnError: true });
    ids.push(data.id);
  }
  await createConversation({ client, body: { title: `other ${run}` }, throwOnError: true });

  const page1 = await listConversations({ client, query: { page_size: 2, search: tag, ordering: 'title' }, throwOnError: true });
  const p = page1.data.pagination;
  expect(p.total === 3 && p.total_pages === 2 && p.has_next && !p.has_prev, `page 1 pagination ${JSON.stringify(p)}`);
  expect(page1.data.items.map((c) => c.title).join() === `${tag} a,${tag} b`, 'page 1 rows, ordered by title');

  const page2 = await listConversations({ client, query: { page: 2, page_size: 2, search: tag, ordering: 'title' }, throwOnError: true });
  expect(page2.data.items.length === 1 && page2.data.items[0]?.id === ids[2], 'page 2 rows');
  expect(!page2.data.pagination.has_next && page2.data.pagination.has_prev, 'page 2 pagination');

  const pinned = await listConversations({ client, query: { search: tag, is_pinned: true }, throwOnError: true });
  expect(pinned.data.pagination.total === 1 && pinned.data.items[0]?.is_pinned === true, 'is_pinned filter');

  const byProvider = await listConversations({ client, query: { provider_id: providerId, page_size: 100 }, throwOnError: true });
  expect(byProvider.data.items.every((c) => c.provider_id === providerId), 'provider_id filter');
  expect(byProvider.data.items.some((c) => c.id === conversationId), 'provider_id filter finds the first conversation');
});

function errorCode(error: ErrorResponse | undefined): string | undefined {
  return error?.error.code;
}

await check('error_401', async () => {
  const { data, error, response } = await listConversations({ client: anonymous });
  expect(data === undefined && response.status === 401, `status ${response.status}`);
  expect(errorCode(error) === 'missing_token', `error.code ${errorCode(error)}`);
  expect(typeof error?.error.message === 'string' && error.error.type === 'authentication_error', 'error body');
});

await check('error_422', async () => {
  const { error, response } = await registerUser({
    client: anonymous,
    body: { username: `ts_short_${run}`, email: `ts_short_${run}@example.test`, password: 'short' },
  });
  expect(response.status === 422, `status ${response.status}`);
  expect(errorCode(error) === 'validation_error', `error.code ${errorCode(error)}`);
  expect(error?.error.param === 'password', `error.param ${error?.error.param}`);
});

console.log('all checks passed');
