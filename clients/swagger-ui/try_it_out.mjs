// Browser check of the Swagger UI a running AI Hub serves at /docs/: authorize with a session
// token, then "Try it out" + "Execute" on a list operation (one filter filled) and on
// send_message (path id + a body with only `content`); each must answer 200 with no
// "Please correct the following validation errors" (what a required-but-optional parameter
// causes). Prints `ok <name>` per check and `all checks passed`; exits 1 at the first failure.
//
// Run: NODE_PATH="$(scripts/swagger-ui-env.sh)" node clients/swagger-ui/try_it_out.mjs
// Environment:
//   AIHUB_BASE_URL          server root, e.g. http://127.0.0.1:8000
//   AIHUB_TOKEN             a session JWT (the `bearer` scheme)
//   AIHUB_CONVERSATION_ID   a conversation of that user whose provider answers
//   AIHUB_SCREENSHOT_DIR    optional: where to save a screenshot on failure
//   AIHUB_CHROMIUM          optional: the browser (default /usr/bin/chromium, Debian's)
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// playwright-core is CommonJS; require() honours NODE_PATH, which import does not.
const { chromium } = createRequire(import.meta.url)('playwright-core');

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const baseUrl = env('AIHUB_BASE_URL').replace(/\/+$/, '');
const token = env('AIHUB_TOKEN');
const conversationId = env('AIHUB_CONVERSATION_ID');
const VALIDATION = 'Please correct the following validation errors';

const browser = await chromium.launch({
  executablePath: process.env.AIHUB_CHROMIUM || '/usr/bin/chromium',
  headless: true,
});
const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
page.setDefaultTimeout(30_000);
let focus = null; // the operation block being tried, screenshot on failure instead of the page

/** Runs one named check; on failure saves a screenshot (if asked), reports and exits 1. */
async function check(name, body) {
  try {
    await body();
  } catch (e) {
    console.error(`FAIL ${name}: ${e instanceof Error ? e.message : e}`);
    const dir = process.env.AIHUB_SCREENSHOT_DIR;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      const path = join(dir, `swagger-ui-${name}.png`);
      const shot = focus ? focus.screenshot({ path, timeout: 5_000 }) : page.screenshot({ path });
      await shot.then(
        () => console.error(`screenshot: ${path}`),
        (err) => console.error(`screenshot failed: ${err.message}`),
      );
    }
    await browser.close();
    process.exit(1);
  }
  console.log(`ok ${name}`);
}

function assert(condition, what) {
  if (!condition) throw new Error(what);
}

/** Expands an operation, turns on "Try it out", lets `fill` fill it, executes; returns the body. */
async function tryItOut(tag, operationId, fill) {
  const op = page.locator(`#operations-${tag}-${operationId}`);
  focus = op;
  await op.locator('.opblock-summary').first().click();
  // With `tryItOutEnabled` (AI Hub sets it) the block opens in try-it-out mode already: its
  // button reads "Cancel", and clicking it would turn the inputs off.
  const tryOut = op.locator('button.try-out__btn');
  if ((await tryOut.innerText()).trim() === 'Try it out') await tryOut.click();
  await tryOut.filter({ hasText: 'Cancel' }).waitFor();
  await fill(op);
  await op.locator('button.execute').click();
  const status = op.locator('.live-responses-table tr.response .response-col_status').first();
  const refused = op.locator('.validation-errors', { hasText: VALIDATION });
  await status.or(refused).first().waitFor();
  if (await refused.count()) throw new Error(`Swagger UI refused to execute: ${await refused.innerText()}`);
  assert((await page.getByText(VALIDATION).count()) === 0, `"${VALIDATION}" is shown`);
  const code = (await status.innerText()).trim();
  const body = await op.locator('.live-responses-table tr.response .response-col_description').first().innerText();
  assert(code.startsWith('200'), `status ${code}: ${body.slice(0, 300)}`);
  return body;
}

await check('swagger_ui_loads', async () => {
  const res = await page.goto(`${baseUrl}/docs/`);
  assert(res?.ok(), `GET /docs/ answered ${res?.status()}`);
  await page.locator('.information-container .title').waitFor();
  const title = await page.locator('.information-container .title').innerText();
  assert(title.includes('AI Hub'), `title ${JSON.stringify(title)}`);
  assert((await page.locator('.errors-wrapper').count()) === 0, 'Swagger UI shows document errors');
});

await check('authorize_bearer', async () => {
  await page.locator('.auth-wrapper button.authorize').click();
  const scheme = page.locator('.auth-container', { has: page.locator('h4 code', { hasText: /^bearer$/ }) });
  await scheme.locator('input').first().fill(token);
  await scheme.locator('button.authorize').click();
  await scheme.locator('button', { hasText: 'Logout' }).waitFor();
  await page.locator('.modal-ux button.btn-done').first().click();
  await page.locator('.modal-ux').waitFor({ state: 'detached' });
});

await check('list_conversations_try_it_out', async () => {
  const body = await tryItOut('conversations', 'list_conversations', async (op) => {
    await op.locator('tr[data-param-name="search"] input').fill('a');
  });
  assert(body.includes('"pagination"'), 'the body is a list response');
  const url = await page.locator('#operations-conversations-list_conversations .request-url').innerText();
  assert(/\/api\/v1\/conversations\?search=a$/.test(url.trim()), `request URL ${url}`);
});

await check('send_message_try_it_out', async () => {
  const body = await tryItOut('conversations', 'send_message', async (op) => {
    await op.locator('tr[data-param-name="id"] input').fill(conversationId);
    await op.locator('textarea.body-param__text').fill(JSON.stringify({ content: 'Hello from Swagger UI' }));
  });
  assert(body.includes('"assistant_message"'), 'the body is an exchange response');
});

await browser.close();
console.log('all checks passed');
