/// <reference lib="dom" />
// A Killercoda walkthrough (a scenario without verify scripts) in headless Chromium: the catalogue
// and the lab page say "walkthrough — not graded" instead of points, the lab page offers Next step /
// Done instead of Check, each Next runs the reached step's background in the (fake) workstation,
// Done shows the finish text, and nothing is graded. Screenshots land in $KUBEDRILL_SCREENSHOTS.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import type { WorkstationExecOptions } from '../../graders/src/cluster/port.ts';
import { ModelCluster } from '../../graders/src/model/model-cluster.ts';
import { buildApp } from '../../server/src/app.ts';
import { harness } from '../../server/src/attempts/test-harness.ts';
import { loadConfig } from '../../server/src/config/config.ts';
import { GradeRepository } from '../../server/src/grading/grade-repository.ts';
import { GradingService } from '../../server/src/grading/grading-service.ts';
import { LabCatalog } from '../../server/src/labs/catalog-service.ts';
import { openMemoryDatabase } from '../../server/src/storage/db.ts';
import { freePort } from '../../server/src/testing/free-port.ts';
import { FIXTURE_LABS } from '../../server/src/testing/test-app.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCENARIOS = path.join(ROOT, 'server/src/labs/test-fixtures/scenarios');
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = process.env.KUBEDRILL_SCREENSHOTS ?? path.join(tmpdir(), 'kubedrill-screenshots');
const TOUR = 'kc-scenarios-walkthroughs-label-tour';
const built = existsSync(path.join(ROOT, 'web/dist/index.html'));
const skip = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !built ? 'web app not built (npm run build:web)' : false;

test('a walkthrough: no score anywhere, Next step runs the next background, Done shows the finish', { skip }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kdtest-walk-'));
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  const boot = loadConfig({
    argv: ['--data-dir', dir, '--labs-dir', FIXTURE_LABS, '--scenarios-dir', SCENARIOS, '--web-dir', path.join(ROOT, 'web/dist'), '--port', String(port)],
    env: {},
    cwd: ROOT,
  });
  const labs = new LabCatalog(FIXTURE_LABS, undefined, [SCENARIOS]);
  await labs.reload();
  const rootRuns: string[] = [];
  const workstationFor = () => ({
    exec: async (_argv: readonly string[], opts?: WorkstationExecOptions) => {
      if (opts?.user === 'root') rootRuns.push(opts.stdin ?? '');
      // A background takes a moment, as on a real workstation, so the page can be seen moving on.
      if (opts?.stdin?.includes('kd-step-')) await new Promise((r) => setTimeout(r, 400));
      return { stdout: '', stderr: '', exitCode: 0 };
    },
  });
  const h = harness({ labs: [labs.get(TOUR)!], fake: { missingImages: [] }, workstationFor });
  const db = openMemoryDatabase();
  const grading = new GradingService({
    attempts: h.service,
    labs,
    grades: new GradeRepository(db),
    portFor: () => new ModelCluster(),
    hostsFor: () => ({ workstation: workstationFor() }),
  });
  const app = await buildApp(boot, { db, labs, grading, logger: false, attemptService: h.service, shellLauncher: null });
  await app.listen({ host: '127.0.0.1', port });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));

    // The catalogue: the card says what the lab is, not "0 pts".
    await page.goto(`http://127.0.0.1:${port}/`);
    const card = page.locator(`[data-lab-id="${TOUR}"]`);
    await card.waitFor();
    const cardText = await card.innerText();
    assert.match(cardText, /walkthrough — not graded/);
    assert.doesNotMatch(cardText, /\bpts\b/);

    await page.goto(`http://127.0.0.1:${port}/labs/${TOUR}`);
    await page.waitForSelector('.lab-header .tag-walkthrough');
    assert.doesNotMatch(await page.locator('.lab-meta').innerText(), /\bpts\b/);
    assert.deepEqual(await page.locator('.walkthrough-steps li').allInnerTexts(), ['Look at the pods\n○', 'Select by label\n○', 'Put a Service in front\n○']);
    assert.match(await page.locator('.finish-pending').innerText(), /press Done on the last step/);

    await page.click('button:has-text("Start lab")');
    await page.waitForSelector('.walkthrough-next', { timeout: 30_000 });
    assert.equal(await page.locator('.grade-check-button').count(), 0, 'no Check button on a walkthrough');
    const status = page.locator('.walkthrough-panel .grade-status');
    await page.waitForFunction(() => document.querySelector('.walkthrough-panel .grade-status')?.textContent === 'Step 1 of 3: Look at the pods');
    assert.equal(await page.locator('.walkthrough-current').innerText(), 'Look at the pods\n→');
    assert.equal(rootRuns.filter((r) => r.includes('== relabel.sh')).length, 0);

    await page.click('button.walkthrough-next:has-text("Next step")');
    await page.waitForSelector('.grade-prepared-ok');
    assert.equal(await status.innerText(), 'Step 2 of 3: Select by label');
    assert.match(await page.locator('.grade-prepared-ok').innerText(), /Step 2 \(Select by label\) is ready/);
    assert.equal(rootRuns.filter((r) => r.includes('== relabel.sh (step 2)')).length, 1, "step 2's background ran when step 2 was reached");
    assert.deepEqual(await page.locator('.walkthrough-steps .task-list-status').allInnerTexts(), ['✓', '→', '○']);
    // The text has moved to step 2's heading; the panel is at the top of the instructions.
    await page.waitForTimeout(600);
    await page.screenshot({ path: path.join(SHOTS, 'walkthrough-step2-text.png') });
    await page.locator('.walkthrough-panel').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, 'walkthrough-step2.png') });

    await page.click('button.walkthrough-next:has-text("Next step")');
    await page.waitForFunction(() => document.querySelector('.walkthrough-next')?.textContent === 'Done');
    assert.equal(await status.innerText(), 'Step 3 of 3: Put a Service in front');
    await page.click('button.walkthrough-next:has-text("Done")');
    await page.waitForSelector('.finish-done');
    assert.equal(await status.innerText(), 'Walkthrough done · not graded');
    assert.match(await page.locator('.finish-done').innerText(), /labels are how a Service/);
    assert.ok(await page.locator('.walkthrough-next').isDisabled());
    await page.screenshot({ path: path.join(SHOTS, 'walkthrough-done.png') });

    // A reload keeps the place; nothing was graded.
    await page.reload();
    await page.waitForFunction(() => document.querySelector('.walkthrough-panel .grade-status')?.textContent === 'Walkthrough done · not graded', undefined, {
      timeout: 30_000,
    });
    const progress = await page.evaluate(() => fetch('/api/progress').then((r) => r.json() as Promise<{ labs: unknown[] }>));
    assert.deepEqual(progress.labs, []);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await app.close();
    labs.compiler.close();
  }
});
