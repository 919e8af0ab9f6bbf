import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { browserSkip, hostShells, startBrowserServer } from '../testing/browser.ts';
import { wireExams } from './create-exams.ts';
import { examHarness, shippedLabs } from './test-harness.ts';

// A mock exam in a real browser, on a fake kind host with model clusters: start, navigate, flag, note,
// reload (countdown, flag and note are still there), the 30-minute warning, submit with its
// confirmation, and the result page with checks and a reference solution. Screenshots land in
// $KUBEDRILL_SCREENSHOTS (default: a temp folder).

const SHOTS = process.env.KUBEDRILL_SCREENSHOTS ?? path.join(tmpdir(), 'kubedrill-screenshots');

test('a learner takes a mock exam: start, navigate, flag, note, reload, warning, submit, result', { skip: browserSkip }, async () => {
  mkdirSync(SHOTS, { recursive: true });
  const labs = await shippedLabs();
  const h = examHarness({ labs, fake: { stageDelayMs: 150 } });
  const server = await startBrowserServer({
    deps: (dir) => ({ db: h.db, labs, attemptService: h.attempts, exams: wireExams(h.catalog, h.exams, labs), shellLauncher: hostShells(dir) }),
    cleanup: async () => {
      await h.exams.idle();
      await h.attempts.idle();
      labs.compiler.close();
    },
  });
  let problems: string[] = [];
  let page: Page | undefined;
  try {
    ({ page, problems } = await server.newPage({ viewport: { width: 1440, height: 900 } }, { consoleErrors: true }));
    await page.addInitScript(() => localStorage.setItem('kd-term-renderer', 'dom'));
    const p = page;
    const shot = (name: string) => p.screenshot({ path: path.join(SHOTS, `exam-${name}.png`) });

    // Start.
    await p.goto(`${server.base}/exams`);
    await p.getByRole('heading', { name: 'Services & Networking mock exam' }).waitFor();
    await shot('list');
    await p.locator('[data-exam-id="networking-mock"]').getByRole('button', { name: 'Start exam' }).click();
    await p.waitForURL(/\/exams\/attempts\/[0-9a-f]+$/);
    const attemptId = p.url().split('/').pop()!;
    await p.getByText(/The 45-minute countdown starts when all of them are ready/).waitFor();
    await p.locator('.attempt-step-done').first().waitFor();
    await shot('starting');
    await p.locator('.exam-bar').waitFor({ timeout: 60_000 });
    const timer = p.getByRole('timer', { name: 'Time left' });
    assert.match((await timer.textContent()) ?? '', /^4[45]:\d\d$/);
    await p.locator('.term-view[data-state="live"]').waitFor({ timeout: 60_000 });
    await shot('task1');

    // Navigate: task 3 shows its own text, its context with a copy button, and no hints or solutions.
    await p.getByRole('button', { name: /^Task 3, 14 %, not opened$/ }).click();
    await p.getByRole('heading', { name: 'Task 3 of 8' }).waitFor();
    assert.match((await p.locator('.exam-context').textContent()) ?? '', /kubectl config use-context k8s-netpol/);
    await p.locator('.exam-context').getByRole('button', { name: 'Copy to clipboard' }).waitFor();
    assert.equal(await p.locator('.exam-task details.hint').count(), 0, 'no hints in an exam');
    assert.equal(await p.getByRole('button', { name: /Reveal solution/ }).count(), 0, 'no solutions in an exam');
    await p.getByRole('button', { name: /^Task 1, 14 %, opened$/ }).waitFor();

    // Flag and note.
    await p.getByRole('button', { name: '⚐ Flag for review' }).click();
    await p.getByRole('button', { name: /^Task 3, 14 %, flagged$/ }).waitFor();
    await p.getByLabel(/^Notes/).fill('api-to-ledger still open');
    await p.getByText('saved on the server').waitFor();
    await shot('task3-flagged');
    // A note typed just before moving on is saved too.
    await p.getByRole('button', { name: /^Task 5, 12 %, not opened$/ }).click();
    await p.getByRole('heading', { name: 'Task 5 of 8' }).waitFor();
    await p.getByLabel(/^Notes/).fill('nodePort first');
    await p.getByRole('button', { name: /^Task 3, 14 %, flagged$/ }).click();
    await p.getByRole('heading', { name: 'Task 3 of 8' }).waitFor();

    // Reload: the countdown goes on, and task 3, its flag and its note are still there.
    const before = await timer.textContent();
    await p.reload();
    await p.getByRole('heading', { name: 'Task 3 of 8' }).waitFor();
    assert.ok(((await timer.textContent()) ?? '') <= (before ?? ''), `the countdown did not restart: ${before} → ${await timer.textContent()}`);
    await p.getByRole('button', { name: /^Task 3, 14 %, flagged$/ }).waitFor();
    assert.equal(await p.getByLabel(/^Notes/).inputValue(), 'api-to-ledger still open');
    await p.getByRole('button', { name: /^Task 5, 12 %, opened$/ }).click();
    assert.equal(await p.getByLabel(/^Notes/).inputValue(), 'nodePort first');
    await p.getByRole('button', { name: /^Task 3, 14 %, flagged$/ }).click();

    // The 30-minute warning: move the server's clock to 30 min 3 s before the deadline.
    const learnerId = (h.db.prepare('SELECT learner_id FROM exam_attempts WHERE id = ?').get(attemptId) as { learner_id: string }).learner_id;
    h.clock.now += h.exams.view(h.exams.owned(attemptId, learnerId)).remainingMs! - (30 * 60_000 + 3000);
    await p.reload();
    await p.getByRole('alert').filter({ hasText: '30 minutes left' }).waitFor({ timeout: 15_000 });
    await shot('warning');

    // Submit: the confirmation names the flagged and the never-opened tasks.
    await p.getByRole('button', { name: 'Submit exam' }).click();
    const dialog = p.getByRole('dialog', { name: 'Submit the exam now?' });
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? '', /Flagged for review: task 3/);
    assert.match((await dialog.textContent()) ?? '', /Never opened: task 2, task 4, task 6, task 7, task 8/);
    await shot('submit-confirm');
    await dialog.getByRole('button', { name: 'Submit now' }).click();

    // Result: total, pass mark, per task points and checks, time, the reference solution; review controls.
    await p.getByRole('heading', { name: /result$/ }).waitFor({ timeout: 60_000 });
    const head = (await p.locator('.exam-result-head').textContent()) ?? '';
    assert.match(head, /0 %\s*Not passed/);
    assert.match(head, /pass mark 66 %/);
    assert.equal(await p.locator('.exam-result-task').count(), 8);
    const t3 = p.locator('.exam-result-task').nth(2);
    await t3.locator('summary').click();
    assert.match((await t3.textContent()) ?? '', /0 \/ 14/);
    await t3.locator('.grade-check').first().waitFor();
    assert.match((await t3.textContent()) ?? '', /expected/);
    await t3.getByRole('button', { name: 'Show the reference solution' }).click();
    await t3.getByText('kind: NetworkPolicy').first().waitFor();
    await p.getByRole('button', { name: 'Re-grade' }).waitFor();
    await p.screenshot({ path: path.join(SHOTS, 'exam-result.png'), fullPage: true });

    // History lists the attempt with its score.
    await p.goto(`${server.base}/history`);
    await p.getByRole('img', { name: /Exam scores over time: 0 %/ }).waitFor();
    await shot('history');
    assert.deepEqual(
      problems.filter((x) => !/Failed to load resource/.test(x)),
      [],
    );
    console.log(`screenshots: ${SHOTS}`);
  } catch (e) {
    await page?.screenshot({ path: path.join(SHOTS, 'exam-failure.png'), fullPage: true }).catch(() => {});
    throw new Error(`${(e as Error).message}\npage problems: ${problems.join(' | ')}`, { cause: e });
  } finally {
    await server.close();
  }
});
