// Headless Chromium against the real server and the built web app, in multi-user mode with the
// real attempt service on a fake kind host: an instructor creates a group, a learner registers with
// its invite link and starts the assigned lab, the instructor watches it live (and the learner's
// terminal, read-only, which the learner is told) and exports the CSV.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { harness } from '../../server/src/attempts/test-harness.ts';
import { CommandError } from '../../server/src/exec/command-runner.ts';
import { openMemoryDatabase } from '../../server/src/storage/db.ts';
import { browserSkip as skip, hostShells, startBrowserServer, type BrowserServer } from '../../server/src/testing/browser.ts';
import { loadedCatalog } from '../../server/src/testing/test-app.ts';

let server: BrowserServer | undefined;
let base = '';

before(async () => {
  if (skip) return;
  const db = openMemoryDatabase();
  const labs = await loadedCatalog();
  const h = harness({ db, labs: labs.current.labs, nodeImage: 'kindest/node:v1.35.8', fake: { missingImages: [] } });
  server = await startBrowserServer({
    argv: ['--auth.mode', 'multi', '--auth.registration', 'closed'],
    // Shells run on this machine (host mode); the fake clusters have no kubeconfig, so kind has none to give.
    deps: (dir) => ({
      db,
      labs,
      attemptService: h.service,
      shellLauncher: hostShells(dir, {
        runner: (real) => ({
          run: async (spec) => (spec.argv[0] === 'kind' ? Promise.reject(new CommandError('exit-code', spec.argv, 1, '', 'no such cluster')) : real.run(spec)),
        }),
      }),
    }),
    cleanup: () => h.service.idle(),
  });
  base = server.base;
});

after(async () => {
  await server?.close();
});

async function newPage(): Promise<Page & { errors: string[] }> {
  // HTTP errors the app expects (401 before signing in) are logged by Chromium as "Failed to load
  // resource"; anything else (a CSP refusal above all) is a failure.
  const { page, problems } = await server!.newPage(
    { viewport: { width: 1360, height: 900 }, acceptDownloads: true },
    { consoleErrors: /^Failed to load resource: the server responded with a status of 401/ },
  );
  return Object.assign(page, { errors: problems });
}

async function register(page: Page, username: string) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
}

test('an instructor runs a group: invite, assignment, live view and CSV', { skip }, async () => {
  const teacher = await newPage();
  await teacher.goto(`${base}/`);
  await teacher.getByRole('heading', { name: 'Sign in' }).waitFor();
  await teacher.getByRole('button', { name: 'Create one' }).click();
  await register(teacher, 'teacher'); // the first account: the admin
  await teacher.getByRole('link', { name: 'Groups' }).click();
  const form = teacher.getByRole('form', { name: 'New group' });
  await form.getByLabel('Name').fill('Evening cohort');
  await form.getByRole('button', { name: 'Create group' }).click();
  await teacher.getByRole('heading', { level: 1, name: 'Evening cohort' }).waitFor();
  const inviteUrl = (await teacher.locator('.invite-url').textContent()) ?? '';
  assert.match(inviteUrl, new RegExp(`^${base}/\\?invite=`));
  await teacher.getByLabel('Lab or mock exam to assign').selectOption('lab:valid-lab');
  await teacher.getByRole('button', { name: 'Assign' }).click();
  await teacher.getByText(/Fixture lab valid-lab — due/).waitFor();

  // The learner opens the invite link: registration is closed, the group's invite lets them in.
  const learner = await newPage();
  await learner.goto(inviteUrl);
  await learner.getByRole('heading', { name: 'Create your account' }).waitFor();
  await register(learner, 'lena');
  await learner.getByRole('heading', { name: 'Assigned to you' }).waitFor();
  const assigned = learner.locator('section.assigned [data-lab-id="valid-lab"]');
  await assigned.click();
  await learner.getByRole('heading', { level: 1, name: 'Fixture lab valid-lab' }).waitFor();
  await learner.getByRole('button', { name: 'Start lab' }).click();

  // The instructor's table shows it without a reload.
  const row = teacher.locator('tr[data-learner="lena"]');
  await row.getByText('Fixture lab valid-lab').waitFor({ timeout: 15_000 });
  await row.getByText('ready').waitFor({ timeout: 15_000 });

  // The instructor watches lena's terminal; lena's terminal says so.
  await learner.locator('.term-view[data-state="live"]').waitFor({ timeout: 15_000 });
  await row.getByRole('button', { name: 'Watch terminal' }).click();
  await teacher.locator('.watch-panel .term-view[data-state="live"]').waitFor({ timeout: 15_000 });
  await teacher.getByText("Watching lena's terminal — read-only").waitFor();
  await learner.locator('[data-notice]').getByText('teacher is watching this terminal (read-only)').waitFor({ timeout: 5000 });
  await teacher.getByRole('button', { name: 'Stop watching' }).click();
  await learner.locator('[data-notice]').getByText('teacher stopped watching').waitFor({ timeout: 5000 });

  const [download] = await Promise.all([teacher.waitForEvent('download'), teacher.getByRole('link', { name: 'Download results (CSV)' }).click()]);
  const csv = readFileSync((await download.path())!, 'utf8');
  assert.match(csv.split('\r\n')[0] ?? '', /^username,display_name,kind,item_id/);
  assert.match(csv, /\r\nlena,lena,lab,valid-lab,Fixture lab valid-lab,[^,]+,yes,,1,,,,,/);
  assert.deepEqual(teacher.errors, []);
  assert.deepEqual(learner.errors, []);
});
