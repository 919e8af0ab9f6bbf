import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { openMemoryDatabase } from '../storage/db.ts';
import { harness } from '../attempts/test-harness.ts';
import { browserSkip, hostShells, labGradedOnModel, startBrowserServer } from '../testing/browser.ts';

// The lab page in a real browser: Start (the attempt service on a fake kind host), live steps, then
// the terminal: type, see the echo, reload, and the screen and the shell are still there.

test(
  'Start shows the steps and then a terminal; type echo hello, reload: the output is still there and typing still works; Check grades and marks the tasks',
  { skip: browserSkip },
  async () => {
    const h = harness({ fake: { stageDelayMs: 50 }, portReadyAfterPolls: 3, setupPollMs: 100 });
    const db = openMemoryDatabase();
    const { labs, lab, grading } = await labGradedOnModel(h.service, 'netpol-lab9server', { db });
    const server = await startBrowserServer({
      deps: (dir) => ({ db, labs, grading, attemptService: h.service, shellLauncher: hostShells(dir) }),
      cleanup: async () => {
        await h.service.idle();
        labs.compiler.close();
      },
    });
    const dir = server.dir;
    try {
      const { page, problems } = await server.newPage({ viewport: { width: 1400, height: 900 } }, { consoleErrors: true });
      page.on('response', (r) => {
        if (r.status() >= 400)
          void r.text().then((body) => problems.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname} ${body.slice(0, 200)}`));
      });
      await page.addInitScript(() => localStorage.setItem('kd-term-renderer', 'dom'));
      const url = `${server.base}/labs/netpol-lab9server`;
      const screen = () => page.evaluate(() => document.querySelector('.term-view:not([hidden]) .xterm-rows')?.textContent ?? '');
      await page.goto(url);
      await page.click('button:has-text("Start lab")');
      await page.waitForSelector('.attempt-step-done:has-text("Creating the node containers")', { timeout: 30_000 });
      await page.waitForSelector('.term-view[data-state="live"]', { timeout: 60_000 }).catch(async (e: unknown) => {
        await page.screenshot({ path: '/tmp/kd-term-fail.png' });
        throw new Error(`${(e as Error).message}\npage problems: ${problems.join(' | ')}\nbody: ${(await page.textContent('body'))?.slice(0, 500)}`);
      });
      await page
        .waitForFunction(() => document.querySelector('.term-view:not([hidden]) .xterm-rows')?.textContent?.includes('kubedrill:'), null, { timeout: 60_000 })
        .catch(async (e: unknown) => {
          await page.screenshot({ path: '/tmp/kd-term-fail.png' });
          throw new Error(`${(e as Error).message}\nrows: ${await page.evaluate(() => document.querySelector('.term-view')?.innerHTML.slice(0, 1500))}`);
        });
      await page.click('.term-host');
      await page.keyboard.type("echo hel''lo");
      await page.keyboard.press('Enter');
      await page.waitForFunction(
        () => /hello/.test((document.querySelector('.term-view:not([hidden]) .xterm-rows')?.textContent ?? '').replace("hel''lo", '')),
        null,
        { timeout: 10_000 },
      );
      await page.screenshot({ path: path.join(dir, 'before-reload.png') });

      await page.reload();
      await page.waitForSelector('.term-view[data-state="live"]', { timeout: 60_000 });
      await page.waitForFunction(() => document.querySelector('.term-view:not([hidden]) .xterm-rows')?.textContent?.includes("echo hel''lo"), null, {
        timeout: 10_000,
      });
      assert.match((await screen()).replace("hel''lo", ''), /hello/, 'the output survived the reload');
      await page.click('.term-host');
      await page.keyboard.type("echo aga''in");
      await page.keyboard.press('Enter');
      await page.waitForFunction(
        () => /again/.test((document.querySelector('.term-view:not([hidden]) .xterm-rows')?.textContent ?? '').replace("aga''in", '')),
        null,
        { timeout: 10_000 },
      );

      // Check: the report appears under the task list, and each task is marked from it.
      await page.click('.grade-panel button:has-text("Check")');
      await page.waitForSelector('.grade-report', { timeout: 30_000 });
      const report = (await page.textContent('.grade-report')) ?? '';
      assert.match(report, /no NetworkPolicy in namespace restricted selects lab9server/, 'the report explains why sleepybox2 got through');
      assert.equal(await page.locator('.task-list-status.status-failed').count(), lab.meta.tasks.length, 'untouched tasks are marked not passed');
      if (process.env.KD_SCREENSHOT) await page.screenshot({ path: process.env.KD_SCREENSHOT, fullPage: true });
    } finally {
      await server.close();
    }
  },
);
