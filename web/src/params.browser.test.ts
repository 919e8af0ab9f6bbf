/// <reference lib="dom" />
// Lab params in headless Chromium: before an attempt the text names each param (‹ns›); once the
// attempt is ready it shows the values the attempt drew, in prose and inside <Run> commands, and a
// reload shows the same ones.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { harness } from '../../server/src/attempts/test-harness.ts';
import { LabCatalog } from '../../server/src/labs/catalog-service.ts';
import { openMemoryDatabase } from '../../server/src/storage/db.ts';
import { browserSkip, REPO_ROOT, startBrowserServer } from '../../server/src/testing/browser.ts';

const LAB = 'clusterip-endpoints';

test("the lab text shows the attempt's drawn values, the same after a reload", { skip: browserSkip }, async () => {
  const labs = new LabCatalog(path.join(REPO_ROOT, 'labs'));
  await labs.reload();
  const h = harness({ labs: [labs.get(LAB)!], fake: { missingImages: [] } });
  const server = await startBrowserServer({
    deps: () => ({ db: openMemoryDatabase(), labs, attemptService: h.service, shellLauncher: null }),
    cleanup: async () => {
      await h.service.idle();
      labs.compiler.close();
    },
  });
  try {
    const { page, problems } = await server.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(`${server.base}/labs/${LAB}`);
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
    await server.close();
  }
});
