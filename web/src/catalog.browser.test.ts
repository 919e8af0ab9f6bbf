// Headless Chromium against the real server (buildApp + listen on a loopback port) and the built
// web app: the catalog, its filters, the lab9server lab, the theme, hints and the solution reveal.
// Screenshots of both themes land in $KUBEDRILL_SCREENSHOTS (default: a temp folder) to look at.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSkip as skip, startBrowserServer, type BrowserServer } from '../../server/src/testing/browser.ts';

const SHOTS = process.env.KUBEDRILL_SCREENSHOTS ?? path.join(tmpdir(), 'kubedrill-screenshots');

let server: BrowserServer | undefined;
let base = '';
const errors = new WeakMap<Page, string[]>();

before(async () => {
  if (skip) return;
  server = await startBrowserServer();
  base = server.base;
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await server?.close();
});

async function newPage(theme: 'dark' | 'light'): Promise<Page> {
  const { page, problems } = await server!.newPage(
    { viewport: { width: 1360, height: 900 }, colorScheme: theme, reducedMotion: 'reduce' },
    { consoleErrors: true },
  );
  errors.set(page, problems);
  return page;
}
const pageErrors = (page: Page) => errors.get(page) ?? [];

test('the catalog lists the networking labs and its filters narrow the list', { skip }, async () => {
  const page = await newPage('dark');
  await page.goto(`${base}/`);
  await page.getByRole('heading', { name: 'Services & Networking' }).waitFor();
  const cards = page.locator('.lab-card');
  const total = await cards.count();
  assert.ok(total >= 11, `expected the networking track, saw ${total} cards`);
  await page.screenshot({ path: path.join(SHOTS, 'catalog-dark.png'), fullPage: true });

  await page.getByRole('searchbox', { name: 'Search labs' }).fill('networkpolicy');
  const afterSearch = await cards.count();
  assert.ok(afterSearch >= 4 && afterSearch < total, `searching narrows the list (${afterSearch} of ${total})`);
  await page.getByRole('button', { name: 'hard' }).click();
  assert.equal(await page.getByRole('button', { name: 'hard' }).getAttribute('aria-pressed'), 'true');
  assert.deepEqual(await cards.evaluateAll((els) => els.map((e) => e.getAttribute('data-lab-id'))), ['netpol-egress-dns']);
  await page.getByRole('button', { name: 'hard' }).click();
  await page.getByRole('searchbox', { name: 'Search labs' }).fill('no lab is called this');
  await page.getByText('No lab matches these filters.').waitFor();
  await page.getByRole('searchbox', { name: 'Search labs' }).fill('');
  await page.getByRole('combobox', { name: 'Time' }).selectOption({ label: '≤ 15 min' });
  const short = await cards.count();
  assert.ok(short > 0 && short < total, `the time filter narrows the list (${short} of ${total})`);
  assert.deepEqual(pageErrors(page), []);
  await page.context().close();
});

test('the lab9server lab opens with its tasks; theme, hint and solution work', { skip }, async () => {
  const page = await newPage('dark');
  await page.goto(`${base}/`);
  await page.locator('[data-lab-id="netpol-lab9server"]').click();
  await page.getByRole('heading', { level: 1, name: 'Only sleepybox1 may reach lab9server' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/labs/netpol-lab9server');
  const tasks = page.getByRole('region', { name: 'Tasks' });
  assert.match((await tasks.textContent()) ?? '', /Allow only sleepybox1 \(namespace default\) to reach lab9server\s*10 pts/);
  await page.getByRole('heading', { level: 2, name: 'Allow only sleepybox1 (namespace default) to reach lab9server' }).waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'lab-dark.png'), fullPage: true });

  // Theme: the toggle switches and the choice survives a reload.
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');
  await page.getByRole('button', { name: 'Switch to light theme' }).click();
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'light');
  await page.reload();
  await page.getByRole('heading', { level: 1 }).waitFor();
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'light');
  // The instructions load after the page: the screenshot waits for them.
  await page.getByRole('heading', { level: 2, name: 'Allow only sleepybox1 (namespace default) to reach lab9server' }).waitFor();
  await page.screenshot({ path: path.join(SHOTS, 'lab-light.png'), fullPage: true });

  // A hint opens on demand, from the keyboard too.
  const hint = page.locator('details.hint').filter({ hasText: 'One peer or two?' });
  assert.equal(await hint.getAttribute('open'), null, 'hints start collapsed');
  await hint.locator('summary').focus();
  await page.keyboard.press('Enter');
  assert.equal(await hint.getAttribute('open'), '', 'Enter on the summary opens it');
  await hint.getByText('ANDed').waitFor();

  // The solution needs a confirmation; "Keep trying" hides it again.
  await page.getByRole('button', { name: 'Reveal solution' }).click();
  await page.getByRole('alertdialog').getByText('Show the reference solution?').waitFor();
  await page.getByRole('button', { name: 'Keep trying' }).click();
  assert.equal(await page.getByRole('alertdialog').count(), 0);
  await page.getByRole('button', { name: 'Reveal solution' }).click();
  await page.getByRole('button', { name: 'Yes, show it' }).click();
  const solution = page.locator('.solution-body');
  await solution.waitFor();
  assert.match((await solution.textContent()) ?? '', /kind: NetworkPolicy[\s\S]*run: sleepybox1/);
  await page.screenshot({ path: path.join(SHOTS, 'lab-light-solution.png'), fullPage: true });
  assert.deepEqual(pageErrors(page), []);
  await page.context().close();
});

test('the catalogue downloads neither the terminal nor the instructions renderer; the lab page loads the latter as a cacheable asset', { skip }, async () => {
  const page = await newPage('dark');
  const scripts: { path: string; cacheControl: string; body: string }[] = [];
  const documents: string[] = [];
  // Bodies arrive after the response event: each is awaited before the scripts are looked at.
  const reading: Promise<unknown>[] = [];
  page.on('response', (r) => {
    const url = new URL(r.url());
    if (r.request().resourceType() === 'document') documents.push(r.headers()['cache-control'] ?? '');
    if (r.request().resourceType() === 'script' && url.origin === base)
      reading.push(r.text().then((body) => scripts.push({ path: url.pathname, cacheControl: r.headers()['cache-control'] ?? '', body })));
  });
  // Markers that survive minification: a class name xterm.js gives its input element, and the global
  // the lab-instructions renderer sets for the compiled MDX bodies.
  const hasTerminal = (s: { body: string }) => s.body.includes('xterm-helper-textarea');
  const hasRenderer = (s: { body: string }) => s.body.includes('__kubedrillMdx');
  await page.goto(`${base}/`);
  await page.getByRole('heading', { name: 'Services & Networking' }).waitFor();
  await Promise.all(reading);
  assert.ok(scripts.length > 0, 'the catalogue loads the app');
  assert.deepEqual(
    scripts.filter(hasTerminal).map((s) => s.path),
    [],
    'the catalogue does not download the terminal',
  );
  assert.deepEqual(
    scripts.filter(hasRenderer).map((s) => s.path),
    [],
    'the catalogue does not download the instructions renderer',
  );
  assert.deepEqual(documents, ['no-cache'], 'the page is revalidated, so an upgrade is seen');

  await page.locator('[data-lab-id="netpol-lab9server"]').click();
  await page.getByRole('heading', { level: 2, name: 'Allow only sleepybox1 (namespace default) to reach lab9server' }).waitFor();
  await Promise.all(reading);
  // The lab's own text (/api/labs/:id/body.js, its cache rules tested beside its route) is not the app's code.
  const appScripts = scripts.filter((x) => !/^\/api\/labs\/[^/]+\/body\.js$/.test(x.path));
  assert.equal(appScripts.filter(hasRenderer).length, 1, `the lab page loads the instructions renderer once (${appScripts.map((s) => s.path).join(', ')})`);
  // Every script of the app is a hashed asset: cached for good, and allowed by script-src 'self'.
  for (const s of appScripts) {
    assert.match(s.path, /^\/assets\/[\w-]+\.js$/);
    assert.equal(s.cacheControl, 'public, max-age=31536000, immutable', s.path);
  }
  assert.deepEqual(pageErrors(page), []);
  await page.context().close();
});

test('the catalog in the light theme', { skip }, async () => {
  const page = await newPage('light');
  await page.goto(`${base}/`);
  await page.getByRole('heading', { name: 'Services & Networking' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('data-theme'), 'light', 'the system preference picks the theme');
  await page.screenshot({ path: path.join(SHOTS, 'catalog-light.png'), fullPage: true });
  await page.goto(`${base}/labs/no-such-lab`);
  await page.getByText('This lab could not be opened').waitFor();
  await page.context().close();
  console.log(`screenshots: ${SHOTS}`);
});
