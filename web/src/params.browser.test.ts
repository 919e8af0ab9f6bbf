/// <reference lib="dom" />
// Lab params in headless Chromium: before an attempt the text names each param (‹ns›); once the
// attempt is ready it shows the values the attempt drew, in prose and inside <Run> commands, and a
// reload shows the same ones.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { freePort } from '../../server/src/testing/free-port.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { buildApp } from '../../server/src/app.ts';
import { harness } from '../../server/src/attempts/test-harness.ts';
import { loadConfig } from '../../server/src/config/config.ts';
import { LabCatalog } from '../../server/src/labs/catalog-service.ts';
import { openMemoryDatabase } from '../../server/src/storage/db.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const LAB = 'clusterip-endpoints';
const built = existsSync(path.join(ROOT, 'web/dist/index.html'));
const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !built ? 'web app not built (npm run build:web)' : false;

test("the lab text shows the attempt's drawn values, the same after a reload", { skip }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kdtest-params-'));
  const port = await freePort();
  const boot = loadConfig({
    argv: ['--data-dir', dir, '--labs-dir', path.join(ROOT, 'labs'), '--web-dir', path.join(ROOT, 'web/dist'), '--port', String(port)],
    env: {},
    cwd: ROOT,
  });
  const labs = new LabCatalog(path.join(ROOT, 'labs'));
  await labs.reload();
  const h = harness({ labs: [labs.get(LAB)!], fake: { missingImages: [] } });
  const app = await buildApp(boot, { db: openMemoryDatabase(), labs, logger: false, attemptService: h.service, shellLauncher: null });
  await app.listen({ host: '127.0.0.1', port });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/labs/${LAB}`);
    await page.waitForSelector('.param-unset');
    assert.ok((await page.locator('.param-unset').allTextContents()).includes('‹ns›'), 'before an attempt, the text names the param');
    await page.click('button:has-text("Start lab")');
    await page.waitForSelector('code.param:not(.param-unset)', { timeout: 30_000 });
    const attempt = h.service.listForLearner('local')[0]!;
    const ns = attempt.params?.[LAB]?.ns;
    assert.ok(ns, 'the attempt drew a namespace');
    const shown = async () => ({ prose: await page.locator('code.param').allTextContents(), run: await page.locator('.run-command').allTextContents() });
    const before = await shown();
    assert.ok(before.prose.includes(ns), `the text shows ns=${ns}: ${before.prose.join(', ')}`);
    assert.ok(before.prose.includes(attempt.params![LAB]!.appPort!), 'and the drawn app port');
    assert.ok(
      before.run.some((c) => c.includes(`kubectl get deploy,svc,endpointslices -n ${ns}`)),
      `a <Run> command carries the value: ${before.run.join(' | ')}`,
    );
    await page.reload();
    await page.waitForSelector('code.param:not(.param-unset)', { timeout: 30_000 });
    assert.deepEqual(await shown(), before, 'a reload shows the same values');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await app.close();
  }
});
