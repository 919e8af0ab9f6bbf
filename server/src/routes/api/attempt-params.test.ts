import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ModelCluster } from '../../../../graders/src/model/model-cluster.ts';
import { buildApp } from '../../app.ts';
import type { App } from '../../app-types.ts';
import { AttemptRepository } from '../../attempts/attempt-repository.ts';
import { harness } from '../../attempts/test-harness.ts';
import { loadConfig } from '../../config/config.ts';
import { GradeRepository } from '../../grading/grade-repository.ts';
import { GradingService } from '../../grading/grading-service.ts';
import { labStates } from '../../grading/lab-states.ts';
import { openMemoryDatabase } from '../../storage/db.ts';
import { loadedCatalog } from '../../testing/test-app.ts';

// Lab params through the API: each attempt of a parametrised lab (clusterip-endpoints) draws its own
// values, keeps them across reloads and restarts, and is graded against them.

const ORIGIN = 'http://127.0.0.1:3000';
const LAB = 'clusterip-endpoints';
const LABS_DIR = path.resolve(import.meta.dirname, '..', '..', '..', '..', 'labs');
let app: App;
let h: ReturnType<typeof harness>;
const db = openMemoryDatabase();

before(async () => {
  const labs = await loadedCatalog(LABS_DIR);
  assert.ok(labs.get(LAB)?.params, `${LAB} declares params`);
  h = harness({ db, labs: [labs.get(LAB)!], fake: { missingImages: [] }, clusters: { perLearner: 5, maxConcurrent: 10 } });
  const boot = loadConfig({ argv: ['--data-dir', '/nonexistent/kd-params', '--web-dir', '/nonexistent/kd-web'], env: {}, cwd: process.cwd() });
  app = await buildApp(boot, { db, labs, logger: false, attemptService: h.service, shellLauncher: null });
});
after(async () => {
  await app.close();
});

test('attempts of a parametrised lab draw their own values and keep them across reloads and a restart', async () => {
  const cookie = String((await app.inject({ method: 'GET', url: '/api/session' })).headers['set-cookie']).split(';')[0]!;
  const drawn: { id: string; params: Record<string, string> }[] = [];
  // Five attempts, one after the other: the chance that five draws of 2400 are all the same is negligible.
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/attempts', headers: { cookie, origin: ORIGIN }, payload: { labId: LAB } });
    assert.equal(res.statusCode, 201, res.body);
    const a = res.json<{ id: string; params: Record<string, string> }>();
    drawn.push(a);
    await h.service.idle();
    // Reloading the page asks again: the same values, before and after the attempt ends.
    const reloaded = await app.inject({ method: 'GET', url: `/api/attempts/${a.id}`, headers: { cookie } });
    assert.deepEqual(reloaded.json<{ params: unknown }>().params, a.params);
    const fin = await app.inject({ method: 'POST', url: `/api/attempts/${a.id}/finish`, headers: { cookie, origin: ORIGIN } });
    assert.ok(fin.statusCode < 300, fin.body);
    await h.service.idle();
  }
  for (const a of drawn) {
    assert.deepEqual(Object.keys(a.params).sort(), ['appPort', 'ns', 'wrongApp']);
    assert.ok(['store', 'retail', 'market', 'outlet', 'depot', 'bazaar'].includes(a.params.ns!), a.params.ns);
    assert.ok(Number(a.params.appPort) >= 8080 && Number(a.params.appPort) <= 8179, a.params.appPort);
  }
  assert.ok(new Set(drawn.map((a) => JSON.stringify(a.params))).size > 1, `every attempt drew the same values: ${JSON.stringify(drawn[0]!.params)}`);
  const ended = await app.inject({ method: 'GET', url: `/api/attempts/${drawn[0]!.id}`, headers: { cookie } });
  assert.deepEqual(ended.json<{ params: unknown }>().params, drawn[0]!.params);
  // The lab page, before any attempt, names the param instead of showing the first draw's value.
  const detail = await app.inject({ method: 'GET', url: `/api/labs/${LAB}`, headers: { cookie } });
  const messages = detail.json<{ tasks: { checks: { message: string }[] }[] }>().tasks.flatMap((t) => t.checks.map((c) => c.message));
  assert.ok(messages.includes('shopper in ‹ns› reaches Service inventory on port 80'), messages.join('\n'));
  // A restart reads them from the database.
  assert.deepEqual(new AttemptRepository(db).get(drawn[0]!.id)?.params, { [LAB]: drawn[0]!.params });
});

test("an attempt is set up and graded with its own draw: another draw's solution does not pass", async () => {
  const labs = await loadedCatalog(LABS_DIR);
  const started = h.service.start('grader-test', LAB).attempt;
  await h.service.idle();
  const mine = h.service.get(started.id)!;
  const lab = labs.forAttempt(LAB, mine.params)!;
  assert.deepEqual(lab.draw, mine.params![LAB]);
  // Another draw: a different namespace (the rest as drawn).
  const otherNs = ['store', 'retail'].find((ns) => ns !== lab.draw!.ns)!;
  const other = labs.forAttempt(LAB, { [LAB]: { ...lab.draw!, ns: otherNs } })!;
  const model = new ModelCluster({ workers: 0 });
  const grading = new GradingService({
    attempts: h.service,
    labs,
    grades: new GradeRepository(db),
    portFor: () => model,
    engine: { probeWindowMs: 0, retryDelayMs: 0 },
  });
  const mineStates = await labStates(lab);
  const otherStates = await labStates(other);
  await model.apply(mineStates.setup, { fieldManager: 'kubedrill' });
  await model.apply(otherStates.setup, { fieldManager: 'kubedrill' });
  await model.apply(otherStates.solution, { fieldManager: 'kubedrill' });
  const wrong = await grading.grade(started.id, 'grader-test');
  assert.equal(wrong.report.score, 0, 'solving another draw earns nothing');
  assert.ok(
    wrong.report.tasks.flatMap((t) => t.checks).some((c) => c.message.includes(lab.draw!.ns!)),
    "the report names the attempt's namespace",
  );
  await model.apply(mineStates.solution, { fieldManager: 'kubedrill' });
  const right = await grading.grade(started.id, 'grader-test');
  assert.equal(right.report.score, right.report.maxScore, "solving the attempt's own draw earns everything");
});
