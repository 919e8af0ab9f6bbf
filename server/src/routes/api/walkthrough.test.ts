import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { WorkstationExecOptions } from '../../../../graders/src/cluster/port.ts';
import { ModelCluster } from '../../../../graders/src/model/model-cluster.ts';
import { buildApp } from '../../app.ts';
import type { App } from '../../app-types.ts';
import { harness } from '../../attempts/test-harness.ts';
import { loadConfig } from '../../config/config.ts';
import { GradeRepository } from '../../grading/grade-repository.ts';
import { GradingService } from '../../grading/grading-service.ts';
import { LabCatalog } from '../../labs/catalog-service.ts';
import { openMemoryDatabase } from '../../storage/db.ts';
import { FIXTURE_LABS } from '../../testing/test-app.ts';

// A Killercoda scenario without verify scripts through the API: listed as an ungraded walkthrough,
// started like any scenario, moved through with Next step (each step's background runs when its step
// is reached), and never scored: Check is refused and nothing lands in the grades or the progress.

const SCENARIOS = path.resolve(import.meta.dirname, '..', '..', 'labs', 'test-fixtures', 'scenarios');
const ORIGIN = 'http://127.0.0.1:3000';
const TOUR = 'kc-scenarios-walkthroughs-label-tour';
const GRADED = 'kc-scenarios-practice-course-note-on-host';
let app: App;
let labs: LabCatalog;
let cookie: string;
let h: ReturnType<typeof harness>;
/** Every script run as root in a workstation: the Start setup and the step backgrounds. */
const rootRuns: { attemptId: string; stdin: string; opts: WorkstationExecOptions | undefined }[] = [];
let backgroundExit = 0;

before(async () => {
  const boot = loadConfig({
    argv: ['--data-dir', '/nonexistent/kd-walkthrough', '--web-dir', '/nonexistent/kd-web', '--labs-dir', FIXTURE_LABS, '--scenarios-dir', SCENARIOS],
    env: {},
    cwd: process.cwd(),
  });
  labs = new LabCatalog(boot.config.labsDir, undefined, [boot.config.scenariosDir!]);
  await labs.reload();
  const workstationFor = (attemptId: string) => ({
    exec: async (argv: readonly string[], opts?: WorkstationExecOptions) => {
      if (opts?.user !== 'root') return { stdout: '', stderr: '', exitCode: 0 };
      rootRuns.push({ attemptId, stdin: opts.stdin ?? '', opts });
      const isStep = (opts.stdin ?? '').includes('kd-step-');
      return isStep && backgroundExit
        ? { stdout: '== relabel.sh (step 2)', stderr: 'pods "pod-green" already exists', exitCode: backgroundExit }
        : { stdout: '', stderr: '', exitCode: 0 };
    },
  });
  h = harness({ labs: labs.current.labs, workstationFor });
  const db = openMemoryDatabase();
  const grading = new GradingService({
    attempts: h.service,
    labs,
    grades: new GradeRepository(db),
    portFor: () => new ModelCluster(),
    hostsFor: (attemptId) => ({ workstation: workstationFor(attemptId) }),
    engine: { probeWindowMs: 0, retryDelayMs: 0 },
  });
  app = await buildApp(boot, { checkResponses: true, db, labs, grading, logger: false, attemptService: h.service, shellLauncher: null });
  cookie = String((await app.inject({ method: 'GET', url: '/api/session' })).headers['set-cookie']).split(';')[0]!;
});
after(async () => {
  await app.close();
  labs.compiler.close();
});

const post = (url: string, body?: unknown) =>
  app.inject({ method: 'POST', url, headers: { cookie, origin: ORIGIN }, ...(body === undefined ? {} : { payload: body as object }) });
const get = (url: string) => app.inject({ method: 'GET', url, headers: { cookie } });
interface State {
  step: number;
  steps: number;
  done: boolean;
  stepsPrepared: { step: number; title: string; ok: boolean; output: string }[];
}
const next = async (id: string, from: number) => {
  const res = await post(`/api/attempts/${id}/walkthrough/next`, { from });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<State>();
};
const start = async (labId: string) => {
  const res = await post('/api/attempts', { labId });
  assert.equal(res.statusCode, 201, res.body);
  const id = res.json<{ id: string }>().id;
  await h.service.idle();
  assert.equal((await get(`/api/attempts/${id}`)).json<{ status: string }>().status, 'ready');
  return id;
};
const finish = async (id: string) => {
  await post(`/api/attempts/${id}/finish`, {});
  await h.service.idle();
};

test('the catalogue lists a walkthrough with its steps and no points, tasks or score', async () => {
  const list = (await get('/api/labs')).json<{
    labs: { id: string; points: number; taskCount: number; walkthrough?: { steps: { step: number; title: string }[] } }[];
  }>();
  const tour = list.labs.find((l) => l.id === TOUR);
  assert.ok(tour, 'a scenario without verify scripts is offered, not refused');
  assert.equal(tour.points, 0);
  assert.equal(tour.taskCount, 0);
  assert.deepEqual(
    tour.walkthrough?.steps.map((s) => s.title),
    ['Look at the pods', 'Select by label', 'Put a Service in front'],
  );
  assert.equal(list.labs.find((l) => l.id === GRADED)?.walkthrough, undefined, 'a graded scenario is not a walkthrough');
  const detail = (await get(`/api/labs/${TOUR}`)).json<{ tasks: unknown[]; walkthrough?: unknown; stepSetups?: { step: number; after: string[] }[] }>();
  assert.deepEqual(detail.tasks, []);
  assert.ok(detail.walkthrough);
  assert.deepEqual(detail.stepSetups, [{ step: 2, after: ['step-1'] }]);
});

test("Next step moves the learner on once per step and runs the reached step's background; Done ends it", async () => {
  const id = await start(TOUR);
  const setup = rootRuns.filter((r) => r.attemptId === id);
  assert.equal(setup.length, 1, 'only the Start setup ran');
  assert.match(setup[0]!.stdin, /== start-pods\.sh/);
  assert.doesNotMatch(setup[0]!.stdin, /== relabel\.sh/, "step 2's background waits for step 2");

  assert.deepEqual(await (await get(`/api/attempts/${id}/walkthrough`)).json<State>(), { step: 1, steps: 3, done: false, stepsPrepared: [] });

  const two = await next(id, 1);
  assert.deepEqual([two.step, two.done], [2, false]);
  assert.deepEqual(
    two.stepsPrepared.map((s) => [s.step, s.title, s.ok]),
    [[2, 'Select by label', true]],
  );
  const ran = rootRuns.filter((r) => r.attemptId === id);
  assert.equal(ran.length, 2);
  assert.match(ran[1]!.stdin, /== relabel\.sh \(step 2\)/);
  assert.equal(ran[1]!.opts?.user, 'root');

  // A second press for step 1 (another tab, a retry) moves nothing and runs nothing again.
  const again = await next(id, 1);
  assert.deepEqual([again.step, again.stepsPrepared.length], [2, 0]);
  assert.equal(rootRuns.filter((r) => r.attemptId === id).length, 2);

  const three = await next(id, 2);
  assert.deepEqual([three.step, three.done, three.stepsPrepared.length], [3, false, 0], 'step 3 has no background of its own');
  const done = await next(id, 3);
  assert.deepEqual([done.step, done.done], [4, true]);
  assert.deepEqual([(await next(id, 4)).step, (await next(id, 4)).done], [4, true], 'Done is the end');

  // A reload reads where the learner is, with the backgrounds that ran.
  const read = (await get(`/api/attempts/${id}/walkthrough`)).json<State>();
  assert.deepEqual([read.step, read.done, read.stepsPrepared.map((s) => s.step)], [4, true, [2]]);
  await finish(id);
});

test('a failed step background is shown with its output and not run again; the learner still moves on', async () => {
  const id = await start(TOUR);
  backgroundExit = 1;
  try {
    const two = await next(id, 1);
    assert.equal(two.step, 2);
    assert.deepEqual(
      two.stepsPrepared.map((s) => [s.step, s.ok]),
      [[2, false]],
    );
    assert.match(two.stepsPrepared[0]!.output, /already exists/);
  } finally {
    backgroundExit = 0;
    await finish(id);
  }
});

test('a walkthrough is never scored: Check is refused and nothing lands in the history or the progress', async () => {
  const id = await start(TOUR);
  await next(id, 1);
  const check = await post(`/api/attempts/${id}/grade`);
  assert.equal(check.statusCode, 409, check.body);
  assert.equal(check.json<{ error: { code: string } }>().error.code, 'lab_not_graded');
  assert.match(check.json<{ error: { message: string } }>().error.message, /nothing to grade/);
  assert.deepEqual((await get(`/api/attempts/${id}/grades`)).json<{ grades: unknown[] }>().grades, []);
  const progress = (await get('/api/progress')).json<{ labs: { labId: string }[] }>().labs;
  assert.ok(!progress.some((p) => p.labId === TOUR), `no progress entry for a walkthrough: ${JSON.stringify(progress)}`);
  assert.equal((await get(`/api/progress/${TOUR}`)).json<{ result: unknown }>().result, null);
  await finish(id);
});

test('a graded scenario has no Next step; steps count from 1', async () => {
  const graded = await start(GRADED);
  const res = await post(`/api/attempts/${graded}/walkthrough/next`, { from: 1 });
  assert.equal(res.statusCode, 409);
  assert.equal(res.json<{ error: { code: string } }>().error.code, 'lab_graded');
  assert.equal((await get(`/api/attempts/${graded}/walkthrough`)).statusCode, 409);
  await finish(graded);

  const id = await start(TOUR);
  assert.equal((await get(`/api/attempts/${id}/walkthrough`)).json<State>().step, 1);
  assert.equal((await post(`/api/attempts/${id}/walkthrough/next`, { from: 0 })).statusCode, 400, 'steps count from 1');
  assert.equal((await get('/api/attempts/nosuchattempt/walkthrough')).statusCode, 404);
  await finish(id);
});
