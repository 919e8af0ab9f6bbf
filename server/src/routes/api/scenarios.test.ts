import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { WorkstationExecOptions } from '../../../../graders/src/cluster/port.ts';
import { buildApp } from '../../app.ts';
import type { App } from '../../app-types.ts';
import { harness } from '../../attempts/test-harness.ts';
import { loadConfig } from '../../config/config.ts';
import { LabCatalog } from '../../labs/catalog-service.ts';
import { openMemoryDatabase } from '../../storage/db.ts';
import { FIXTURE_LABS } from '../../testing/test-app.ts';

// Killercoda scenario folders through the API: listed in the catalogue as their own track, and
// started like any lab, with their setup run as root in the (fake) workstation.

const SCENARIOS = path.resolve(import.meta.dirname, '..', '..', 'labs', 'test-fixtures', 'scenarios');
const ORIGIN = 'http://127.0.0.1:3000';
const NOTE = 'kc-scenarios-practice-course-note-on-host';
let app: App;
let labs: LabCatalog;
let cookie: string;
const ran: { attemptId: string; argv: readonly string[]; opts: WorkstationExecOptions | undefined }[] = [];
let workstationFails = false;
let h: ReturnType<typeof harness>;

before(async () => {
  const boot = loadConfig({
    argv: ['--data-dir', '/nonexistent/kd-scenarios', '--web-dir', '/nonexistent/kd-web', '--labs-dir', FIXTURE_LABS, '--scenarios-dir', SCENARIOS],
    env: {},
    cwd: process.cwd(),
  });
  assert.equal(boot.config.scenariosDir, SCENARIOS);
  labs = new LabCatalog(boot.config.labsDir, undefined, [boot.config.scenariosDir!]);
  await labs.reload();
  h = harness({
    labs: labs.current.labs,
    workstationFor: (attemptId) => ({
      exec: async (argv, opts) => {
        ran.push({ attemptId, argv, opts });
        return workstationFails ? { stdout: 'creating namespace', stderr: 'namespace exists', exitCode: 3 } : { stdout: '', stderr: '', exitCode: 0 };
      },
    }),
  });
  app = await buildApp(boot, { db: openMemoryDatabase(), labs, logger: false, attemptService: h.service, shellLauncher: null });
  const res = await app.inject({ method: 'GET', url: '/api/session' });
  cookie = String(res.headers['set-cookie']).split(';')[0]!;
});
after(async () => {
  await app.close();
  labs.compiler.close();
});

const post = (url: string, body: unknown) => app.inject({ method: 'POST', url, headers: { cookie, origin: ORIGIN }, payload: body as object });

test('scenarios are listed as their own track, marked as Killercoda scenarios; refused ones say why to staff', async () => {
  const body = (await app.inject({ method: 'GET', url: '/api/labs' })).json<{
    tracks: { id: string; origin?: { kind: string; source: string } }[];
    labs: { id: string; track: string; origin?: { kind: string; source: string }; cluster: { workers: number } }[];
    broken: { id: string; problems: { message: string }[] }[];
  }>();
  const course = body.tracks.find((t) => t.id === 'killercoda-scenarios-practice-course');
  assert.deepEqual(course?.origin, { kind: 'killercoda', source: 'scenarios/practice-course' });
  const note = body.labs.find((l) => l.id === NOTE);
  assert.deepEqual(note?.origin, { kind: 'killercoda', source: 'scenarios/practice-course/note-on-host' });
  assert.equal(note?.track, 'killercoda-scenarios-practice-course');
  assert.ok(
    body.labs.some((l) => l.id === 'valid-lab' && !l.origin),
    'kubedrill labs are still listed, unmarked',
  );
  const ubuntu = body.broken.find((b) => b.id === 'kc-scenarios-refused-plain-ubuntu');
  assert.match(ubuntu?.problems[0]?.message ?? '', /plain Linux machine without Kubernetes/);
  const detail = (await app.inject({ method: 'GET', url: `/api/labs/${NOTE}` })).json<{ tasks: { id: string; checks: { kind: string }[] }[]; code: string }>();
  assert.deepEqual(
    detail.tasks.map((t) => [t.id, t.checks.map((c) => c.kind)]),
    [
      ['step-1', ['workstation']],
      ['step-2', ['workstation']],
    ],
  );
  assert.doesNotMatch(detail.code, /check-note|\/root\/note\.txt" \]/, 'verify scripts are not sent to the page');
});

test('starting a scenario runs its setup as root in the workstation; a failing setup fails the attempt with its output', async () => {
  const res = await post('/api/attempts', { labId: NOTE });
  assert.equal(res.statusCode, 201, res.body);
  const a = res.json<{ id: string }>();
  await h.service.idle();
  const ready = (await app.inject({ method: 'GET', url: `/api/attempts/${a.id}`, headers: { cookie } })).json<{ status: string }>();
  assert.equal(ready.status, 'ready');
  // The learner first opens the folders the image gave them (/opt/course), where root without capabilities cannot write.
  const opened = ran.find((r) => r.attemptId === a.id);
  assert.equal(opened?.opts?.user, 'candidate');
  assert.match(opened?.argv.join(' ') ?? '', /chmod 1777/);
  const setup = ran.find((r) => r.attemptId === a.id && r.opts?.user === 'root');
  assert.deepEqual(setup?.argv, ['bash', '-s']);
  assert.equal(setup?.opts?.user, 'root');
  assert.match(setup?.opts?.stdin ?? '', /== setup-namespace\.sh/);
  await post(`/api/attempts/${a.id}/finish`, {});
  await h.service.idle();

  workstationFails = true;
  const second = await post('/api/attempts', { labId: NOTE });
  const b = second.json<{ id: string }>();
  await h.service.idle();
  const failed = (await app.inject({ method: 'GET', url: `/api/attempts/${b.id}`, headers: { cookie } })).json<{
    status: string;
    failure: { step: string; message: string; output: string };
  }>();
  assert.equal(failed.status, 'failed');
  assert.equal(failed.failure.step, "Running the scenario's setup in the workstation");
  assert.match(failed.failure.message, /exited with 3/);
  assert.match(failed.failure.output, /namespace exists/);
});
