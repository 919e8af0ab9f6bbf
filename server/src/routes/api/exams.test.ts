import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildApp } from '../../app.ts';
import type { App } from '../../app-types.ts';
import { loadConfig } from '../../config/config.ts';
import { wireExams } from '../../exams/create-exams.ts';
import { examHarness, REPO, shippedLabs } from '../../exams/test-harness.ts';
import type { LabCatalog } from '../../labs/catalog-service.ts';
import { sessionCookie } from '../../testing/test-app.ts';

// The exam API on a fake kind host with model clusters: the contract the exam screen relies on.

let labs: LabCatalog;
let app: App;
let h: ReturnType<typeof examHarness>;
let cookie = '';

before(async () => {
  labs = await shippedLabs();
  h = examHarness({ labs });
  const boot = loadConfig({ argv: ['--data-dir', '/nonexistent/kubedrill-test', '--web-dir', '/nonexistent/kubedrill-web'], env: {}, cwd: REPO });
  app = await buildApp(boot, {
    checkResponses: true,
    db: h.db,
    labs,
    logger: false,
    attemptService: h.attempts,
    exams: wireExams(h.catalog, h.exams, labs),
    shellLauncher: null,
  });
  cookie = sessionCookie(await app.inject({ method: 'GET', url: '/api/session' }));
});
after(async () => {
  await app.close();
  labs.compiler.close();
});

const call = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
  app.inject({ method, url, headers: { cookie }, ...(payload === undefined ? {} : { payload: payload as object }) });

test('the exam list, start (again: the same attempt), marks, submit, result, solution, history', async () => {
  const list = await call('GET', '/api/exams');
  assert.equal(list.statusCode, 200);
  const mock = list.json().exams.find((e: { id: string }) => e.id === 'networking-mock');
  assert.equal(mock.tasks.length, 8);
  assert.deepEqual(
    mock.clusters.map((c: { name: string }) => c.name),
    ['k8s-netpol', 'k8s-svc'],
  );

  const started = await call('POST', '/api/exams/networking-mock/attempts');
  assert.equal(started.statusCode, 201, started.body);
  const id = started.json().id as string;
  assert.equal((await call('POST', '/api/exams/networking-mock/attempts')).statusCode, 200);
  assert.equal((await call('POST', '/api/exams/no-such-exam/attempts')).statusCode, 404);
  await h.started(id);

  const view = (await call('GET', `/api/exam-attempts/${id}`)).json();
  assert.equal(view.status, 'running');
  assert.ok(view.remainingMs > 44 * 60_000);
  assert.ok(Date.parse(view.serverNow) > 0);
  assert.equal((await call('POST', `/api/exam-attempts/${id}/focus`, { number: 2 })).statusCode, 204);
  const marked = await call('PUT', `/api/exam-attempts/${id}/tasks/2`, { flagged: true, notes: 'two of three' });
  assert.deepEqual({ ...(marked.json() as object), timeMs: 0 }, { number: 2, opened: true, flagged: true, notes: 'two of three', timeMs: 0 });
  const long = await call('PUT', `/api/exam-attempts/${id}/tasks/2`, { notes: 'x'.repeat(20_001) });
  assert.equal(long.statusCode, 400);
  assert.equal((await call('PUT', `/api/exam-attempts/${id}/tasks/9`, { flagged: true })).statusCode, 404);
  const early = await call('GET', `/api/exam-attempts/${id}/tasks/1/solution`);
  assert.equal(early.statusCode, 409, 'no solutions before submitting');
  assert.equal((await call('POST', `/api/exam-attempts/${id}/regrade`)).statusCode, 409);

  const submitted = await call('POST', `/api/exam-attempts/${id}/submit`);
  assert.equal(submitted.statusCode, 200, submitted.body);
  const result = submitted.json().result;
  assert.equal(result.percent, 0);
  assert.equal(result.tasks[0].reports[0].checks[0].status, 'pass', 'the guard check of task 1 passes (and earns nothing alone)');
  const solution = await call('GET', `/api/exam-attempts/${id}/tasks/1/solution`);
  assert.equal(solution.statusCode, 200);
  assert.match(solution.json().files[0].text, /kind: NetworkPolicy/);

  const history = (await call('GET', '/api/exam-attempts')).json();
  assert.equal(history.attempts[0].percent, 0);
  assert.deepEqual(history.attempts[0].domains, [{ id: 'services-networking', score: 0, maxScore: 100 }]);
  assert.ok(history.attempts[0].seconds >= 0);
  assert.equal((await call('GET', '/api/exam-attempts/0123456789abcdef00')).statusCode, 404);
  const ended = await call('POST', `/api/exam-attempts/${id}/finish`);
  assert.equal(ended.json().status, 'finished');
  await h.attempts.idle();
  assert.equal(h.host.clusters.size, 0);
  assert.equal((await call('GET', '/api/history/labs')).json().labs.length, 0, 'exam clusters are not lab attempts');
  const openapi = (await call('GET', '/api/openapi.json')).json();
  assert.ok(openapi.paths['/api/exam-attempts/{examAttemptId}/submit']);
});
