import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { App } from '../../app-types.ts';
import { BROKEN_FIXTURES, FIXTURE_LABS, sessionCookie, testApp } from '../../testing/test-app.ts';

const INVITE = 'study-group-2026';

// A multi-user app with an admin (the first account) and a learner, and their session cookies.
async function multiUserApp(labsDir?: string): Promise<{ app: App; admin: string; learner: string }> {
  const app = await testApp(['--auth.mode', 'multi', '--auth.invite-code', INVITE], labsDir);
  const admin = await app.inject({ method: 'POST', url: '/api/session/register', payload: { username: 'ada', password: 'correct horse battery' } });
  const learner = await app.inject({
    method: 'POST',
    url: '/api/session/register',
    payload: { username: 'bob', password: 'correct horse battery', inviteCode: INVITE },
  });
  return { app, admin: sessionCookie(admin), learner: sessionCookie(learner) };
}

test('GET /api/labs lists domains, tracks and the labs that loaded', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/api/labs' });
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.domains.length, 5);
  assert.deepEqual(body.domains[2], { id: 'services-networking', name: 'Services & Networking' });
  assert.deepEqual(
    body.tracks.map((tr: { id: string }) => tr.id),
    ['good', 'broken', 'warned'],
  );
  assert.deepEqual(body.labs.map((l: { id: string }) => l.id).sort(), ['run-markdown', 'valid-lab']);
  const valid = body.labs.find((l: { id: string }) => l.id === 'valid-lab');
  assert.deepEqual(valid, {
    id: 'valid-lab',
    track: 'good',
    title: 'Fixture lab valid-lab',
    summary: 'A small lab the loader tests use.',
    domain: 'services-networking',
    difficulty: 'easy',
    minutes: 5,
    kubernetes: '1.35',
    cluster: { workers: 0, cni: 'kindnet', networkPolicy: false, dedicated: false, addons: [] },
    points: 5,
    taskCount: 1,
    tags: [],
    competencies: [],
  });
  assert.equal(body.broken.length, BROKEN_FIXTURES, 'single-user mode: the one user is the local admin, cookie or not');
});

test('multi-user mode: broken labs are listed, with their problems, to admins only', async (t) => {
  const { app, admin, learner } = await multiUserApp();
  t.after(() => app.close());
  const anonymous = await app.inject({ method: 'GET', url: '/api/labs' });
  assert.deepEqual(anonymous.json().broken, []);
  const asLearner = await app.inject({ method: 'GET', url: '/api/labs', headers: { cookie: learner } });
  assert.deepEqual(asLearner.json().broken, []);
  const asAdmin = await app.inject({ method: 'GET', url: '/api/labs', headers: { cookie: admin } });
  const broken = asAdmin.json().broken as {
    id: string;
    track: string;
    title?: string;
    problems: { file: string; line: number; col: number; message: string }[];
  }[];
  assert.equal(broken.length, BROKEN_FIXTURES);
  const points = broken.find((b) => b.id === 'points-mismatch');
  assert.deepEqual(points, {
    id: 'points-mismatch',
    track: 'broken',
    title: 'Fixture lab points-mismatch',
    problems: [
      {
        file: 'labs/broken/points-mismatch/lab.mdx',
        line: 8,
        col: 9,
        severity: 'error',
        message: 'points is 10 but the tasks add up to 5',
        hint: 'tasks: make-client=5',
      },
    ],
  });
});

test('GET /api/labs/:id returns tasks, check summaries and the compiled instructions', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/api/labs/valid-lab' });
  assert.equal(res.statusCode, 200);
  const lab = res.json();
  assert.deepEqual(lab.tasks, [
    {
      id: 'make-client',
      title: 'Create pod client',
      points: 5,
      checks: [{ id: 'make-client-1', kind: 'podReady', message: 'pod client in namespace fixture is Ready', weight: 1, guard: false, required: false }],
    },
  ]);
  assert.deepEqual(lab.images, ['docker.io/library/busybox:1.37.0']);
  assert.match(lab.code, /Create pod/);
  assert.doesNotMatch(lab.code, /podReady/, 'the checks (front matter) are not shipped inside the browser bundle');
  assert.match(lab.hash, /^[0-9a-f]{16}$/);
  assert.equal(lab.trackTitle, 'Good labs', 'the track title, for the breadcrumb');
});

test('GET /api/labs/:id is 404 for unknown and for broken labs', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  for (const id of ['no-such-lab', 'points-mismatch']) {
    const res = await app.inject({ method: 'GET', url: `/api/labs/${id}` });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: { code: 'lab_not_found', message: `no lab with id "${id}"`, details: { id } } });
  }
});

test('POST /api/labs/reload needs an instructor or admin, and picks up edits', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-reload-'));
  const labsDir = path.join(dir, 'labs');
  cpSync(path.join(FIXTURE_LABS, 'good'), path.join(labsDir, 'good'), { recursive: true });
  const { app, admin, learner } = await multiUserApp(labsDir);
  t.after(() => app.close());

  assert.equal((await app.inject({ method: 'POST', url: '/api/labs/reload' })).statusCode, 401);
  const denied = await app.inject({ method: 'POST', url: '/api/labs/reload', headers: { cookie: learner } });
  assert.equal(denied.statusCode, 403);
  assert.deepEqual(denied.json(), { error: { code: 'forbidden', message: 'this needs the instructor or admin role' } });

  const mdx = path.join(labsDir, 'good', 'valid-lab', 'lab.mdx');
  writeFileSync(mdx, readFileSync(mdx, 'utf8').replace('title: Fixture lab valid-lab', 'title: Renamed fixture lab'));
  const instructor = app.learners.create({ username: 'ivy', displayName: 'Ivy', role: 'instructor', passwordHash: null });
  const { token } = app.learners.createSession(instructor.id, 1);
  const asInstructor = await app.inject({ method: 'POST', url: '/api/labs/reload', headers: { cookie: `kd_session=${token}` } });
  assert.equal(asInstructor.statusCode, 200, 'instructors may reload');
  const ok = await app.inject({ method: 'POST', url: '/api/labs/reload', headers: { cookie: admin } });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().loaded, 1);
  assert.equal(ok.json().broken, 0);
  assert.deepEqual(ok.json().problems, []);
  const lab = await app.inject({ method: 'GET', url: '/api/labs/valid-lab' });
  assert.equal(lab.json().title, 'Renamed fixture lab');

  // Breaking the lab on disk: reload reports the problem and the lab disappears for learners.
  writeFileSync(mdx, readFileSync(mdx, 'utf8').replace('difficulty: easy', 'difficulty: meduim'));
  const broken = await app.inject({ method: 'POST', url: '/api/labs/reload', headers: { cookie: admin } });
  assert.equal(broken.json().broken, 1);
  assert.equal(broken.json().problems[0].message, 'difficulty: must be one of "easy", "medium", "hard" (got "meduim")');
  assert.equal((await app.inject({ method: 'GET', url: '/api/labs/valid-lab' })).statusCode, 404);
});
