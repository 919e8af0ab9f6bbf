/// <reference lib="dom" />
// The lab loop in headless Chromium against the real server (attempts on a fake kind host, grades
// on the in-memory model cluster, shells on this host): one running step at a time with timers that
// never go negative, named terminal tabs that do not wrap, ≥ 120 columns at 1440 px, a visible
// "Type here" without a page scrollbar, no jump while Check runs, Finish that asks and keeps the
// result, the catalog's done mark, and a phone-width table that scrolls in its own box.
// Screenshots land in $KUBEDRILL_SCREENSHOTS (default: a temp folder) to look at.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { harness } from '../../server/src/attempts/test-harness.ts';
import { GradingService } from '../../server/src/grading/grading-service.ts';
import { labStates } from '../../server/src/grading/lab-states.ts';
import { openMemoryDatabase } from '../../server/src/storage/db.ts';
import type { TerminalAttempt } from '../../server/src/terminal/attempts.ts';
import { HostLauncher, type ShellRequest } from '../../server/src/terminal/launchers.ts';
import { browserSkip, hostShells, labGradedOnModel, startBrowserServer } from '../../server/src/testing/browser.ts';

const SHOTS = process.env.KUBEDRILL_SCREENSHOTS ?? path.join(tmpdir(), 'kubedrill-screenshots');

/** Host shells, with the fake cluster's nodes named as kind names them (a node shell is a host shell too). */
class FakeNodesLauncher extends HostLauncher {
  override async listNodes(attempt: TerminalAttempt): Promise<string[]> {
    return [`${attempt.clusterName}-worker`, `${attempt.clusterName}-control-plane`];
  }
  override async spawnNodeShell(attempt: TerminalAttempt, _node: string, req: ShellRequest) {
    return this.spawnShell(attempt, req);
  }
}

/** Grading that takes a while, as on a real cluster, so the page can be watched while it runs. */
class SlowGrading extends GradingService {
  override async grade(...args: Parameters<GradingService['grade']>) {
    await new Promise((r) => setTimeout(r, 1200));
    return super.grade(...args);
  }
}

const box = (page: Page, selector: string) =>
  page.evaluate((s) => document.querySelector(s)?.getBoundingClientRect().toJSON() as DOMRect | undefined, selector);

test(
  'the lab loop: steps, terminal tabs and width, read-only banner, Check without a jump, Finish keeps the result, catalog marks, phone tables',
  { skip: browserSkip },
  async () => {
    mkdirSync(SHOTS, { recursive: true });
    const h = harness({ fake: { stageDelayMs: 250 }, portReadyAfterPolls: 3, setupPollMs: 100 });
    const db = openMemoryDatabase();
    const { labs, lab, model, grading } = await labGradedOnModel(h.service, 'netpol-lab9server', { db, Grading: SlowGrading });
    const server = await startBrowserServer({
      deps: (dir) => ({
        db,
        labs,
        grading,
        attemptService: h.service,
        shellLauncher: hostShells(dir, { env: { TERM: 'xterm-256color' }, Launcher: FakeNodesLauncher }),
      }),
      cleanup: async () => {
        await h.service.idle();
        labs.compiler.close();
      },
    });
    const { base, browser } = server;
    try {
      const { page, problems } = await server.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'light', reducedMotion: 'reduce' });
      const context = page.context();
      await context.addInitScript(() => localStorage.setItem('kd-term-renderer', 'dom'));

      // Start: at any moment at most one step spins and no timer is negative.
      await page.goto(`${base}/labs/netpol-lab9server`);
      await page.click('button:has-text("Start lab")');
      const seen = {
        maxRunning: 0,
        negative: [] as string[],
        elapsed: false,
        samples: 0,
        firstList: [] as string[],
        pendingAtFirst: 0,
        lists: new Set<string>(),
        pendingShot: false,
      };
      while (!(await page.locator('.term-view[data-state="live"]').count())) {
        const s = await page.evaluate(() => ({
          running: document.querySelectorAll('.attempt-step-running').length,
          pending: document.querySelectorAll('.attempt-step-pending').length,
          names: [...document.querySelectorAll('.attempt-step-name')].map((e) => e.textContent ?? ''),
          times: [...document.querySelectorAll('.attempt-step-time')].map((e) => e.textContent ?? ''),
          elapsed: Boolean(document.querySelector('.attempt-elapsed')),
        }));
        seen.samples++;
        if (s.names.length && !seen.firstList.length) {
          seen.firstList = s.names;
          seen.pendingAtFirst = s.pending;
        }
        if (s.names.length) seen.lists.add(s.names.join('|'));
        if (!seen.pendingShot && s.running && s.pending > 3) {
          seen.pendingShot = true;
          await page.screenshot({ path: path.join(SHOTS, 'labloop-plan.png') });
        }
        seen.maxRunning = Math.max(seen.maxRunning, s.running);
        seen.negative.push(...s.times.filter((t) => t.includes('-')));
        seen.elapsed ||= s.elapsed;
        if (seen.samples === 8) await page.screenshot({ path: path.join(SHOTS, 'labloop-starting.png') });
        await new Promise((r) => setTimeout(r, 40));
        if (seen.samples > 1500) throw new Error(`no live terminal: ${await page.textContent('.lab-side')}`);
      }
      assert.ok(seen.samples > 10, 'the steps were watched while they ran');
      assert.equal(seen.maxRunning, 1, 'one step spins at a time');
      assert.deepEqual(seen.negative, [], 'no negative timers');
      assert.ok(seen.elapsed, 'the overall elapsed time is shown');
      // The plan: every step is listed from the first moment (pending), and the list never changes as they run.
      assert.ok(
        seen.firstList.length >= 10 && seen.pendingAtFirst >= seen.firstList.length - 2,
        `the first list showed the plan: ${seen.firstList.join(', ')} (${seen.pendingAtFirst} pending)`,
      );
      assert.deepEqual([...seen.lists], [seen.firstList.join('|')], 'the step list is the plan throughout');
      assert.ok(seen.firstList.includes('Waiting for setup to be ready') && seen.firstList.includes('Checking NetworkPolicy enforcement'));
      const stepNames = await h.service
        .subscribe(h.service.listForLearner('local')[0]!.id, 0, () => {})
        .replay.filter((e) => e.type === 'step')
        .map((e) => e.name);
      assert.ok(stepNames.includes('Waiting for the control plane') && !stepNames.some((n) => /≤|m0s/.test(n)), `plain step names: ${stepNames.join(', ')}`);

      // The terminal: named tab, ≥ 120 columns by default at 1440 px.
      await page.waitForFunction(() => document.querySelector('.term-view:not([hidden]) .xterm-rows')?.textContent?.includes('kubedrill:'), null, {
        timeout: 30_000,
      });
      assert.deepEqual(await page.locator('.term-tab [role="tab"]').allTextContents(), ['workstation 1']);
      await page.click('.term-host');
      await page.keyboard.type("echo COLS=$(tput cols)''");
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => /COLS=\d+/.test(document.querySelector('.term-view:not([hidden]) .xterm-rows')?.textContent ?? ''));
      const cols = Number(/COLS=(\d+)/.exec((await page.textContent('.term-view:not([hidden]) .xterm-rows')) ?? '')?.[1]);
      assert.ok(cols >= 120, `the terminal has ${cols} columns at 1440 px`);
      console.log(`terminal columns at 1440 px: ${cols}`);

      // Node shells are offered and named as in the exam; the tab title stays on one line.
      assert.deepEqual(await page.locator('.term-node-select option').allTextContents(), ['node shell…', 'controlplane', 'node01']);
      await page.selectOption('.term-node-select', 'node01');
      await page.waitForSelector('.term-tab [role="tab"]:has-text("node01")');
      const tabs = await page.evaluate(() =>
        [...document.querySelectorAll('.term-tab [role="tab"]')].map((b) => ({
          text: b.textContent,
          lines: Math.round(b.getBoundingClientRect().height / parseFloat(getComputedStyle(b).lineHeight || '18')),
        })),
      );
      assert.deepEqual(
        tabs.map((t) => t.text),
        ['workstation 1', '⚙ node01'],
      );
      assert.ok(
        tabs.every((t) => t.lines <= 1),
        `tab titles wrap: ${JSON.stringify(tabs)}`,
      );
      await page.click('.term-tab [role="tab"]:has-text("workstation 1")');

      // A second window takes input: the first says so with a visible "Type here" and no page scrollbar.
      const other = await context.newPage();
      await other.goto(`${base}/labs/netpol-lab9server`);
      await other.waitForSelector('.term-view[data-state="live"]');
      await page.waitForSelector('.term-view:not([hidden]) .term-banner-info button:has-text("Type here")');
      const contrast = await page.evaluate(() => {
        const btn = document.querySelector('.term-view:not([hidden]) .term-banner-info button')!;
        const lum = (c: string) => {
          const [r, g, b] = (c.match(/[\d.]+/g) ?? [])
            .map(Number)
            .map((v) => v / 255)
            .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
          return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
        };
        const fg = lum(getComputedStyle(btn).color);
        const bg = lum('rgb(11, 14, 19)'); // the terminal's background under the translucent banner
        return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      });
      assert.ok(contrast >= 4.5, `"Type here" text contrast ${contrast.toFixed(1)}:1 on the dark banner`);
      assert.ok(await page.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight), 'the banner adds no page scrollbar');
      await page.screenshot({ path: path.join(SHOTS, 'labloop-readonly-light.png') });
      await page.click('.term-view:not([hidden]) button:has-text("Type here")');
      await other.close();

      // Check: nothing below the button moves while the checks run, and the report arrives.
      const before = await box(page, '.task-list');
      const proseBefore = await box(page, '.prose');
      await page.click('.grade-panel button:has-text("Check")');
      await page.waitForSelector('.grade-panel button:has-text("Checking…")');
      const during = await box(page, '.prose');
      await page.screenshot({ path: path.join(SHOTS, 'labloop-checking.png') });
      assert.ok(Math.abs(during!.top - proseBefore!.top) < 1, `the instructions moved ${during!.top - proseBefore!.top} px when Check started`);
      await page.waitForSelector('.grade-panel button:has-text("Check"):not([disabled])');
      const after = await box(page, '.task-list');
      assert.equal(after!.top, before!.top);
      assert.match((await page.textContent('.grade-report')) ?? '', /0 \/ 10/);
      // A second Check keeps the first report in place until the new one arrives.
      await page.click('.grade-panel button:has-text("Check")');
      const proseWithReport = await box(page, '.prose');
      await page.waitForSelector('.grade-stale .grade-report');
      assert.ok(Math.abs((await box(page, '.prose'))!.top - proseWithReport!.top) < 1, 'the report stays while checking again');
      await page.waitForSelector('.grade-panel button:has-text("Check"):not([disabled])');

      // Solve, then Finish: it asks first, says the cluster goes, grades once more and keeps the result.
      await model.apply((await labStates(lab)).solution);
      await page.click('.attempt-bar button:has-text("Finish")');
      const confirm = (await page.textContent('.attempt-confirm')) ?? '';
      assert.match(confirm, /deleted/);
      await page.screenshot({ path: path.join(SHOTS, 'labloop-finish-confirm.png') });
      await page.click('.attempt-confirm button:has-text("Keep working")');
      assert.equal(await page.locator('.attempt-confirm').count(), 0, 'Keep working keeps the cluster');
      await page.click('.attempt-bar button:has-text("Finish")');
      await page.click('.attempt-confirm button:has-text("Grade and delete the cluster")');
      await page.waitForSelector('button:has-text("Start again")', { timeout: 30_000 });
      await page.waitForSelector('.last-result');
      const kept = (await page.textContent('.last-result')) ?? '';
      assert.match(kept, /10 \/ 10/);
      assert.match(kept, /worked \d+ s/);
      assert.equal(await page.locator('.task-list-status.status-passed').count(), lab.meta.tasks.length, 'the task list keeps the final result');
      await page.screenshot({ path: path.join(SHOTS, 'labloop-finished.png') });
      await page.reload();
      await page.waitForSelector('.last-result');
      assert.match((await page.textContent('.last-result')) ?? '', /10 \/ 10/, 'the result survives a reload');

      // The catalog marks the lab done (best stored grade), the others not at all.
      await page.goto(`${base}/`);
      await page.waitForSelector('[data-lab-id="netpol-lab9server"][data-progress="done"]');
      assert.match((await page.textContent('[data-lab-id="netpol-lab9server"] .lab-progress')) ?? '', /Done · 10\/10/);
      assert.equal(await page.locator('[data-progress="none"]').count(), labs.current.labs.length - 1);
      await page.locator('[data-lab-id="netpol-lab9server"]').screenshot({ path: path.join(SHOTS, 'labloop-catalog-done.png') });

      // A 390 px phone: the instructions' table scrolls in its own box; the page never scrolls sideways.
      const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
      await phone.goto(`${base}/labs/netpol-lab9server`);
      await phone.waitForSelector('.table-scroll table');
      const widths = await phone.evaluate(() => {
        const t = document.querySelector<HTMLElement>('.table-scroll')!;
        return { page: document.documentElement.scrollWidth, view: window.innerWidth, table: t.scrollWidth, box: t.clientWidth };
      });
      assert.ok(widths.page <= widths.view, `the page scrolls sideways: ${JSON.stringify(widths)}`);
      assert.ok(widths.table > widths.box, `the table fits anyway, so this proves nothing: ${JSON.stringify(widths)}`);
      await phone.screenshot({ path: path.join(SHOTS, 'labloop-phone.png'), fullPage: false });
      assert.deepEqual(problems, []);
    } finally {
      await server.close();
    }
  },
);
