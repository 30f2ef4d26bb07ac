// Browser tests of the BUILT UI (dist/) in Debian's Chromium, with Tauri's IPC mocked by mock-ipc.js.
// Run with `npm run test:browser` (builds first). Exits non-zero when a test fails; screenshots go to
// ui/test-results/. Uses playwright-core only: no browser download, the system Chromium does the work.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { preview } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const uiDir = resolve(here, '..');
const resultsDir = join(uiDir, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Close to what the shell's tauri.conf.json enforces: nothing remote, no inline script or style markup.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ipc: http://ipc.localhost";

/** @typedef {import('playwright-core').Page} Page */
/** @type {{ name: string, fn: (page: Page) => Promise<void> }[]} */
const tests = [];
/** @param {string} name @param {(page: Page) => Promise<void>} fn */
const test = (name, fn) => tests.push({ name, fn });

/** @param {unknown} cond @param {string} message */
function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

/** @param {Page} page @param {number} id */
const row = (page, id) => page.locator(`[data-task-id="${id}"]`);

/** @param {Page} page @param {number} id @param {string | string[]} states */
async function waitForState(page, id, states, timeout = 8000) {
  const list = Array.isArray(states) ? states : [states];
  await page.waitForFunction(
    ({ id, list }) => list.includes(document.querySelector(`[data-task-id="${id}"]`)?.getAttribute('data-state') ?? ''),
    { id, list },
    { timeout },
  );
}

// ---- the flows ----------------------------------------------------------------------------------------------

test('add files: the picked files become rows, upload, and the footer counts them', async (page) => {
  await page.getByRole('button', { name: '+ Add files', exact: true }).first().click();
  await row(page, 1).waitFor();
  assert((await page.locator('[data-task-id]').count()) === 3, 'three rows');
  assert((await row(page, 1).getByRole('rowheader').innerText()).includes('IMG_0012.HEIC'), 'row 1 is named after the file');
  await waitForState(page, 1, 'done');
  assert((await row(page, 1).locator('.state').innerText()).trim() === 'Uploaded', 'state word "Uploaded"');
  assert((await row(page, 1).locator('.progress').innerText()).includes('100%'), 'a finished row says 100%');
  await waitForState(page, 2, 'uploading');
  await page.waitForFunction(() => /\d+%/.test(document.querySelector('[data-task-id="2"] .progress')?.textContent ?? ''));
  assert(/MB\/s/.test(await row(page, 2).locator('.speed').innerText()), 'an uploading row shows its speed');
  assert((await page.getByTestId('live-region').innerText()).includes('Added 3 files.'), 'the live region announced the batch');
  assert((await page.getByTestId('count-done').innerText()).includes('1 done'), 'footer counts the finished row');
  await page.screenshot({ path: join(resultsDir, 'queue.png') });
});

test('pause and resume a row (row button, then context menu)', async (page) => {
  await page.getByRole('button', { name: '+ Add files', exact: true }).first().click();
  await waitForState(page, 2, 'uploading');
  await row(page, 2).hover();
  await row(page, 2).locator('[data-action="pause"]').click();
  await waitForState(page, 2, 'paused');
  assert((await row(page, 2).locator('.state').innerText()).trim() === 'Paused', 'state word "Paused"');
  assert(/\d+%/.test(await row(page, 2).locator('.progress').innerText()), 'a paused row keeps its percent');
  await row(page, 2).click({ button: 'right' });
  await page.getByRole('menuitem', { name: 'Resume' }).click();
  await waitForState(page, 2, ['queued', 'uploading']);
  // Keyboard: select the row and press Space to pause it again.
  await row(page, 2).click();
  await page.keyboard.press('Space');
  await waitForState(page, 2, 'paused');
  const pauses = await page.evaluate(() => window.__fake.called('queue_pause'));
  assert(pauses.length === 2 && pauses.every((a) => a.ids.length === 1 && a.ids[0] === 2), `queue_pause got ${JSON.stringify(pauses)}`);
});

test('a failed row shows its error in plain words and can be retried', async (page) => {
  await page.getByRole('button', { name: '+ Add files', exact: true }).first().click();
  await waitForState(page, 3, 'failed');
  const r = row(page, 3);
  assert((await r.locator('.state').innerText()).trim() === 'Failed', 'state word "Failed"');
  assert((await r.innerText()).includes('name has | which 123pan forbids'), 'the error message is shown');
  await page.getByRole('button', { name: /Failed 1/ }).click();
  assert((await page.locator('[data-task-id]').count()) === 1, 'the Failed filter shows only the failed row');
  await r.getByRole('button', { name: 'Retry', includeHidden: true }).click();
  await page.waitForFunction(() => window.__fake.called('queue_retry').length === 1);
  await page.screenshot({ path: join(resultsDir, 'failed-filter.png') });
});

test('switching the language to 中文 changes the labels', async (page) => {
  await page.getByRole('button', { name: '+ Add files', exact: true }).first().click();
  await waitForState(page, 1, 'done');
  await page.getByTestId('open-settings').click();
  await page.getByTestId('language-select').selectOption('zh-CN');
  await page.getByTestId('settings-save').click();
  await page.getByRole('button', { name: '+ 添加文件', exact: true }).waitFor();
  assert((await row(page, 1).locator('.state').innerText()).trim() === '已上传', 'state word in Chinese');
  assert((await page.locator('[role="columnheader"]').nth(1).innerText()).trim() === '名称', 'column header in Chinese');
  assert((await page.evaluate(() => document.documentElement.lang)) === 'zh-CN', '<html lang> follows');
  const saved = await page.evaluate(() => window.__fake.state.settings.language);
  assert(saved === 'zh-CN', 'the setting went to the shell');
  await page.screenshot({ path: join(resultsDir, 'zh-CN.png') });
});

test('files dragged over the window: overlay names the target, drop adds them', async (page) => {
  await page.waitForFunction(() => window.__fake.called('queue_subscribe').length === 1);
  await page.evaluate(() => window.__fake.emit('tauri://drag-enter', { paths: ['/tmp/x.iso'], position: { x: 10, y: 10 } }));
  const overlay = page.getByTestId('drop-overlay');
  await overlay.waitFor();
  assert((await overlay.innerText()).includes('Upload to 123pan · /照片/2026'), 'overlay names provider and folder');
  await page.screenshot({ path: join(resultsDir, 'drop-overlay.png') });
  await page.evaluate(() => window.__fake.emit('tauri://drag-drop', { paths: ['/tmp/x.iso'], position: { x: 10, y: 10 } }));
  await overlay.waitFor({ state: 'detached' });
  await row(page, 1).waitFor();
});

test('10 000 rows: the DOM stays small and scrolling reaches the end', async (page) => {
  await page.waitForFunction(() => window.__fake.called('queue_subscribe').length === 1);
  await page.evaluate(() => window.__fake.seed(10_000));
  await row(page, 1).waitFor();
  const grid = page.getByRole('grid');
  assert((await grid.getAttribute('aria-rowcount')) === '10001', 'aria-rowcount counts every row');
  const rendered = await page.locator('[data-task-id]').count();
  assert(rendered > 5 && rendered < 100, `rendered rows: ${rendered}`);

  // Scroll through the list frame by frame and measure how long frames take.
  const timing = await page.evaluate(async () => {
    const vp = /** @type {HTMLElement} */ (document.querySelector('.viewport'));
    const frames = [];
    let last = performance.now();
    for (let i = 0; i < 120; i++) {
      vp.scrollTop += 400;
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      frames.push(now - last);
      last = now;
    }
    frames.sort((a, b) => a - b);
    return { median: frames[60], p95: frames[114], rows: document.querySelectorAll('[data-task-id]').length };
  });
  console.log(`    scroll: median frame ${timing.median.toFixed(1)} ms, p95 ${timing.p95.toFixed(1)} ms, ${timing.rows} rows in the DOM`);
  assert(timing.rows < 100, 'still few rows after scrolling');

  // Keyboard: End goes to the last row, which is then in the DOM with the right aria-rowindex.
  await grid.focus();
  await page.keyboard.press('End');
  await row(page, 10_000).waitFor();
  assert((await row(page, 10_000).getAttribute('aria-rowindex')) === '10001', 'last row has aria-rowindex 10001');
  assert((await row(page, 10_000).getAttribute('aria-selected')) === 'true', 'End selects the last row');
  assert((await page.locator('[data-task-id]').count()) < 100, 'and the DOM is still small');
  await page.screenshot({ path: join(resultsDir, '10000-rows.png') });
});

test('first start without an account offers the sandbox', async (page) => {
  // Init scripts run in order: this one runs after mock-ipc.js and before the app, on the reload.
  await page.addInitScript(() => {
    window.__fake.state.profiles = [];
  });
  await page.reload();
  await page.getByTestId('try-sandbox').waitFor();
  assert((await page.getByText('Drop files or folders here').count()) === 1, 'the empty queue invites a drop');
  await page.screenshot({ path: join(resultsDir, 'first-start.png') });
});

test('accounts: stored secrets are write-only and Test connection shows the server’s answer', async (page) => {
  await page.evaluate(() => {
    window.__fake.state.testAnswer = { ok: false, message: 'clientSecret rejected by 123pan (401)' };
  });
  await page.getByRole('button', { name: /^Account:/ }).click();
  await page.getByRole('menuitem', { name: 'Manage accounts…' }).click();
  const dialog = page.getByTestId('accounts-dialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Test connection' }).click();
  await dialog.getByTestId('connection-report').waitFor();
  assert((await dialog.getByTestId('connection-report').innerText()).includes('clientSecret rejected by 123pan (401)'), 'server answer shown');
  await dialog.getByRole('button', { name: 'Edit' }).click();
  assert((await dialog.getByTestId('secret-stored').innerText()).includes('stored in the system keyring'), 'stored, not shown');
  assert((await dialog.locator('input[type="password"]').count()) === 0, 'no secret input until Replace');
  await page.screenshot({ path: join(resultsDir, 'accounts.png') });
});

test('accounts: sign in with a code, entered at the website, saves the account', async (page) => {
  await page.getByRole('button', { name: /^Account:/ }).click();
  await page.getByRole('menuitem', { name: 'Manage accounts…' }).click();
  const dialog = page.getByTestId('accounts-dialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: '+ Add account' }).click();
  await dialog.getByLabel('Cloud').selectOption('halalcloud');
  await dialog.getByLabel('Name', { exact: true }).fill('清真云');
  await dialog.getByRole('button', { name: 'Sign in with a code' }).click();
  const code = dialog.getByTestId('device-code');
  await code.waitFor();
  const shown = (await code.innerText()).trim();
  assert(shown === 'CODE-0001', `the code is shown: ${shown}`);
  assert((await dialog.getByTestId('device-countdown').innerText()).includes('The code expires in'), 'a countdown');
  assert(await dialog.getByRole('button', { name: 'Copy code' }).evaluate((b) => b === document.activeElement), 'Copy code has focus');
  await page.screenshot({ path: join(resultsDir, 'device-sign-in.png') });
  await page.evaluate((c) => window.__fake.approve(c), shown);
  await dialog.getByTestId('profile-form').waitFor({ state: 'detached' });
  await dialog.locator('li', { hasText: '清真云' }).waitFor();
  /** @type {{ input: { secret: unknown; provider: string } }[]} */
  const finish = /** @type {any} */ (await page.evaluate(() => window.__fake.called('device_sign_in_finish')));
  assert(finish.length === 1 && finish[0].input.secret === null && finish[0].input.provider === 'halalcloud', `finish got ${JSON.stringify(finish)}`);
});

// ---- the runner ---------------------------------------------------------------------------------------------

async function main() {
  const dist = join(uiDir, 'dist', 'index.html');
  await readFile(dist).catch(() => {
    throw new Error('ui/dist is missing: run `npm run build` first (npm run test:browser does)');
  });
  await rm(resultsDir, { recursive: true, force: true }); // no stale FAILED-* shots from an earlier run
  await mkdir(resultsDir, { recursive: true });
  // The mock shell sends each row with what the engine's lifecycle allows, from the table written from the engine.
  const lifecycle = await readFile(join(uiDir, 'src', 'test', 'lifecycle.json'), 'utf8');
  const providers = await readFile(join(uiDir, 'src', 'test', 'providers.json'), 'utf8');
  const mock = `window.__LIFECYCLE__ = ${lifecycle};\nwindow.__PROVIDERS__ = ${providers};\n${await readFile(join(here, 'mock-ipc.js'), 'utf8')}`;

  const server = await preview({
    root: uiDir,
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port: 4319, strictPort: false, headers: { 'Content-Security-Policy': CSP } },
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a URL');

  const profile = await mkdtemp(join(tmpdir(), 'pandrop-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1200, height: 760 },
    locale: 'en-US',
  });
  await context.addInitScript({ content: mock });

  let failed = 0;
  const only = process.argv[2];
  for (const { name, fn } of tests) {
    if (only && !name.includes(only)) continue;
    const page = await context.newPage();
    /** @type {string[]} */
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    const started = Date.now();
    try {
      await page.goto(url);
      await page.getByRole('button', { name: /Add files|添加文件/ }).first().waitFor();
      await fn(page);
      // A CSP violation or an uncaught error fails the test even when the flow looked fine.
      if (problems.length) throw new Error(problems.join('\n'));
      console.log(`  ✓ ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      failed += 1;
      const shot = join(resultsDir, `FAILED-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`);
      await page.screenshot({ path: shot }).catch(() => {});
      console.log(`  ✗ ${name}\n    ${String(e instanceof Error ? e.stack : e).split('\n').join('\n    ')}\n    screenshot: ${shot}`);
    } finally {
      await page.close();
    }
  }

  await context.close();
  await new Promise((r) => server.httpServer.close(r));
  await rm(profile, { recursive: true, force: true });
  console.log(failed ? `\n${failed} browser test(s) failed` : `\nall browser tests passed; screenshots in ${resultsDir}`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
