import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../app.ts';
import type { App } from '../../app-types.ts';
import { harness } from '../../attempts/test-harness.ts';
import { loadConfig } from '../../config/config.ts';
import { ExamRepository } from '../../exams/exam-repository.ts';
import { GradeRepository } from '../../grading/grade-repository.ts';
import { sessionCookie, loadedCatalog } from '../../testing/test-app.ts';
import { openMemoryDatabase } from '../../storage/db.ts';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Study groups through app.inject(): the real attempt service on a fake kind host, one database.

const ORIGIN = 'http://127.0.0.1:3000';
const LAB = 'valid-lab';
let app: App;
let h: ReturnType<typeof harness>;
const db = openMemoryDatabase();

before(async () => {
  const labs = await loadedCatalog();
  h = harness({ db, labs: labs.current.labs, nodeImage: 'kindest/node:v1.35.8', fake: { missingImages: [] }, clusters: { perLearner: 5, maxConcurrent: 20 } });
  // One mock exam over the fixture lab, so exams can be assigned.
  const examsDir = mkdtempSync(path.join(os.tmpdir(), 'kd-groups-exams-'));
  mkdirSync(path.join(examsDir, 'fixture-mock'));
  writeFileSync(
    path.join(examsDir, 'fixture-mock', 'exam.yaml'),
    `title: Fixture mock exam\nsummary: One task on one cluster.\nminutes: 10\nclusters:\n  - name: k8s\n    workers: 1\ntasks:\n  - lab: ${LAB}\n    cluster: k8s\n    weight: 100\n`,
  );
  const boot = loadConfig({
    argv: [
      '--data-dir',
      '/nonexistent/kd-groups',
      '--web-dir',
      '/nonexistent/kd-web',
      '--exams-dir',
      examsDir,
      '--auth.mode',
      'multi',
      '--auth.registration',
      'closed',
    ],
    env: {},
    cwd: process.cwd(),
  });
  app = await buildApp(boot, { checkResponses: true, db, labs, logger: false, attemptService: h.service, shellLauncher: null });
});
after(async () => {
  await h.service.idle();
  await app.close();
});

interface Who {
  id: string;
  cookie: string;
}
const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, who?: Who, payload?: object): Promise<LightMyRequestResponse> =>
  app.inject({ method, url, headers: { origin: ORIGIN, ...(who ? { cookie: who.cookie } : {}) }, ...(payload ? { payload } : {}) });
async function register(username: string, inviteCode?: string, displayName?: string): Promise<Who> {
  const res = await call('POST', '/api/session/register', undefined, {
    username,
    password: 'correct horse battery',
    ...(inviteCode ? { inviteCode } : {}),
    ...(displayName ? { displayName } : {}),
  });
  assert.equal(res.statusCode, 200, res.body);
  return { id: res.json().learner.id, cookie: sessionCookie(res) };
}

let admin: Who;
async function instructor(username: string): Promise<Who> {
  admin ??= await register('root-admin');
  // Accounts come through a group's invite when registration is closed; the admin then promotes.
  const lobby = (await call('POST', '/api/groups', admin, { name: `lobby for ${username}` })).json();
  const who = await register(username, lobby.inviteCode);
  const promoted = await call('PATCH', `/api/learners/${who.id}`, admin, { role: 'instructor' });
  assert.equal(promoted.json().role, 'instructor');
  return who;
}

test('an instructor creates a group; its invite lets learners register though registration is closed', async () => {
  const ines = await instructor('ines');
  const created = await call('POST', '/api/groups', ines, { name: 'Tuesday CKA group', maxClusters: 3 });
  assert.equal(created.statusCode, 201, created.body);
  const g = created.json();
  assert.equal(g.yourRole, 'instructor');
  assert.match(g.inviteUrl, /^http:\/\/127\.0\.0\.1:3000\/\?invite=/);

  assert.equal(
    (await call('POST', '/api/session/register', undefined, { username: 'walkin', password: 'correct horse battery' })).json().error.code,
    'registration_closed',
  );
  const lea = await register('lea', g.inviteCode);
  const detail = (await call('GET', `/api/groups/${g.id}`, ines)).json();
  assert.deepEqual(
    detail.members.map((m: { username: string; groupRole: string }) => `${m.username}:${m.groupRole}`),
    ['ines:instructor', 'lea:learner'],
  );

  // A learner sees the group, not its invite; and not the management view.
  const mine = (await call('GET', '/api/groups', lea)).json().groups;
  assert.deepEqual(
    mine.map((x: { name: string; inviteCode: string | null; yourRole: string }) => [x.name, x.inviteCode, x.yourRole]),
    [['Tuesday CKA group', null, 'learner']],
  );
  assert.equal((await call('GET', `/api/groups/${g.id}`, lea)).statusCode, 404);
  assert.equal((await call('POST', '/api/groups', lea, { name: 'mine' })).statusCode, 403, 'learners cannot create groups');

  // Another instructor sees only their own groups.
  const otto = await instructor('otto');
  assert.equal((await call('GET', `/api/groups/${g.id}`, otto)).statusCode, 404);
  assert.ok(!(await call('GET', '/api/groups', otto)).json().groups.some((x: { id: string }) => x.id === g.id));
  assert.equal((await call('GET', `/api/groups/${g.id}/results.csv`, otto)).statusCode, 404);
  // The admin sees every group.
  assert.ok((await call('GET', '/api/groups', admin)).json().groups.some((x: { id: string }) => x.id === g.id));

  // Rotating the invite ends the old link.
  const rotated = (await call('POST', `/api/groups/${g.id}/invite`, ines)).json();
  assert.notEqual(rotated.inviteCode, g.inviteCode);
  assert.equal(
    (await call('POST', '/api/session/register', undefined, { username: 'late', password: 'correct horse battery', inviteCode: g.inviteCode })).statusCode,
    403,
  );
});

test("a group's share of clusters: its learners queue for it in turn; asking again for a running attempt is fine", async () => {
  const ines = await instructor('ines2');
  const g = (await call('POST', '/api/groups', ines, { name: 'one cluster', maxClusters: 1 })).json();
  const a = await register('amy', g.inviteCode);
  const b = await register('bo', g.inviteCode);
  const first = await call('POST', '/api/attempts', a, { labId: LAB });
  assert.equal(first.statusCode, 201, first.body);
  assert.equal((await call('POST', '/api/attempts', a, { labId: LAB })).statusCode, 200, 'the same attempt again');
  const full = await call('POST', '/api/attempts', b, { labId: LAB });
  assert.equal(full.statusCode, 409);
  assert.equal(full.json().error.code, 'group_capacity_full');
  assert.match(full.json().error.message, /"one cluster" is using all of its 1 cluster/);
  assert.equal((await call('GET', '/api/groups', ines)).json().groups.find((x: { id: string }) => x.id === g.id).activeAttempts, 1);
  await call('POST', `/api/attempts/${first.json().id}/finish`, a);
  assert.equal((await call('POST', '/api/attempts', b, { labId: LAB })).statusCode, 201, 'a finished attempt frees the share');
  await h.service.idle();
});

test('a group that has ended: its invite is dead and its learners cannot start labs', async () => {
  const ines = await instructor('ines3');
  const g = (await call('POST', '/api/groups', ines, { name: 'autumn course' })).json();
  const cy = await register('cy', g.inviteCode);
  const ended = await call('PATCH', `/api/groups/${g.id}`, ines, { expiresAt: '2020-01-01T00:00:00Z' });
  assert.equal(ended.json().expired, true);
  const late = await call('POST', '/api/session/register', undefined, { username: 'dee', password: 'correct horse battery', inviteCode: g.inviteCode });
  assert.equal(late.json().error.code, 'group_expired');
  const start = await call('POST', '/api/attempts', cy, { labId: LAB });
  assert.equal(start.statusCode, 403);
  assert.equal(start.json().error.code, 'group_expired');
  assert.equal((await call('POST', '/api/attempts', ines, { labId: LAB })).statusCode, 201, 'instructors are not held by their groups');
  await h.service.idle();
});

test('assignments: learners see theirs with state and due date; the instructor watches activity and exports CSV', async () => {
  const ines = await instructor('ines4');
  const g = (await call('POST', '/api/groups', ines, { name: 'assigned' })).json();
  const ed = await register('ed', g.inviteCode, '=HYPERLINK("http://evil.example","x")');
  await register('fay', g.inviteCode);
  assert.equal((await call('POST', `/api/groups/${g.id}/assignments`, ines, { labId: 'no-such-lab' })).statusCode, 404);
  const assigned = await call('POST', `/api/groups/${g.id}/assignments`, ines, { labId: LAB, dueAt: '2099-01-01T18:00:00Z' });
  assert.equal(assigned.statusCode, 201, assigned.body);

  const mine = async (who: Who) =>
    (await call('GET', '/api/assignments', who)).json().assignments as {
      kind: string;
      itemId: string;
      title: string;
      state: string;
      dueAt: string;
      groupName: string;
      overdue: boolean;
    }[];
  assert.deepEqual(
    (await mine(ed)).map((a) => [a.kind, a.itemId, a.title, a.state, a.dueAt, a.groupName, a.overdue]),
    [['lab', LAB, `Fixture lab ${LAB}`, 'todo', '2099-01-01T18:00:00Z', 'assigned', false]],
  );
  const other = await instructor('ines5');
  const stranger = await register('gus', (await call('POST', '/api/groups', other, { name: 'elsewhere' })).json().inviteCode);
  assert.deepEqual(await mine(stranger), [], "another group's assignments are not yours");

  const started = await call('POST', '/api/attempts', ed, { labId: LAB });
  assert.equal(started.statusCode, 201);
  await h.service.idle();
  assert.equal((await mine(ed))[0]?.state, 'started');
  const attemptId = started.json().id as string;
  new GradeRepository(db).add({
    attemptId,
    learnerId: ed.id,
    report: { labId: LAB, score: 5, maxScore: 5, percent: 100, tasks: [], gradedAt: new Date().toISOString(), durationMs: 1 },
  });
  assert.equal((await mine(ed))[0]?.state, 'done');

  const activity = (await call('GET', `/api/groups/${g.id}/activity`, ines)).json();
  const byName = Object.fromEntries(activity.members.map((m: { learner: { username: string }; attempt: unknown }) => [m.learner.username, m.attempt]));
  assert.deepEqual(Object.keys(byName).sort(), ['ed', 'fay'], 'learners only, not the instructor');
  assert.equal(byName.fay, null);
  assert.equal(byName.ed.labId, LAB);
  assert.equal(byName.ed.status, 'ready');
  assert.equal(byName.ed.active, true);
  assert.equal(byName.ed.lastScore, 5);
  assert.equal((await call('GET', `/api/groups/${g.id}/activity`, ed)).statusCode, 404, 'learners do not see the live view');

  const csv = await call('GET', `/api/groups/${g.id}/results.csv`, ines);
  assert.equal(csv.statusCode, 200);
  assert.match(String(csv.headers['content-type']), /^text\/csv/);
  const lines = csv.body.trimEnd().split('\r\n');
  assert.equal(lines[0], 'username,display_name,kind,item_id,title,domain,assigned,due_at,attempts,best_score,max_score,percent,passed,last_attempt_at');
  const edLine = lines.find((l) => l.startsWith('ed,'))!;
  assert.ok(edLine.startsWith(`ed,"'=HYPERLINK(""http://evil.example"",""x"")",lab,${LAB},Fixture lab ${LAB},`), `a formula in a name is defused: ${edLine}`);
  assert.match(edLine, /,yes,2099-01-01T18:00:00Z,1,5,5,100,,/);
  assert.match(
    lines.find((l) => l.startsWith('fay,'))!,
    new RegExp(`^fay,fay,lab,${LAB},.*,yes,2099-01-01T18:00:00Z,0,,,,,$`),
    'an assigned lab not yet tried is still a row',
  );
  await call('POST', `/api/attempts/${attemptId}/finish`, ed);
  await h.service.idle();
});

test('the results CSV reports mock exams (assigned or tried) with the best attempt and whether any passed, and no exam cluster as a lab', async () => {
  const ines = await instructor('ines9');
  const g = (await call('POST', '/api/groups', ines, { name: 'exam results' })).json();
  const kim = await register('kim', g.inviteCode);
  await register('lou', g.inviteCode);
  assert.equal((await call('POST', `/api/groups/${g.id}/assignments`, ines, { examId: 'fixture-mock', dueAt: '2099-02-01T00:00:00Z' })).statusCode, 201);
  const exams = new ExamRepository(db);
  const snapshot = { id: 'fixture-mock', title: 'Fixture mock exam', minutes: 30, passPercent: 66, kubernetes: '1.35', clusters: [], tasks: [] };
  const result = (score: number, passed: boolean) => ({
    score,
    maxScore: 20,
    percent: score * 5,
    passPercent: 66,
    passed,
    gradedAt: '2026-12-01T10:00:00Z',
    durationMs: 1,
    tasks: [],
  });
  const attempt = (id: string, createdAt: string, r: ReturnType<typeof result> | null) => ({
    id,
    learnerId: kim.id,
    examId: 'fixture-mock',
    status: (r ? 'finished' : 'running') as 'finished' | 'running',
    exam: snapshot,
    createdAt,
    startedAt: createdAt,
    deadlineAt: null,
    submittedAt: null,
    submitReason: null,
    reviewUntil: null,
    endedAt: null,
    failure: null,
    focusTask: null,
    focusSince: null,
    inputUnlocked: false,
    result: r,
    regrade: null,
  });
  exams.insert(attempt('ex-1', '2026-12-01T09:00:00Z', result(15, true)), []);
  exams.insert(attempt('ex-2', '2026-12-02T09:00:00Z', result(9, false)), []);
  exams.insert(attempt('ex-3', '2026-12-03T09:00:00Z', null), []);
  // One of the exam's cluster attempts: it is part of the exam, not a lab the learner tried.
  db.prepare(
    `INSERT INTO attempts (id, learner_id, lab_id, status, shape, kubernetes, created_at, updated_at, last_activity_at, exam_attempt_id) VALUES ('ex-1-c1', ?, ?, 'finished', 'w1', '1.35', '2026-12-01T09:00:00Z', '2026-12-01T09:00:00Z', '2026-12-01T09:00:00Z', 'ex-1')`,
  ).run(kim.id, LAB);

  const lines = (await call('GET', `/api/groups/${g.id}/results.csv`, ines)).body.trimEnd().split('\r\n');
  assert.deepEqual(
    lines.slice(1).filter((l) => l.startsWith('kim,')),
    ['kim,kim,exam,fixture-mock,Fixture mock exam,,yes,2099-02-01T00:00:00Z,3,15,20,75,yes,2026-12-03T09:00:00Z'],
  );
  assert.deepEqual(
    lines.slice(1).filter((l) => l.startsWith('lou,')),
    ['lou,lou,exam,fixture-mock,Fixture mock exam,,yes,2099-02-01T00:00:00Z,0,,,,,'],
    'an assigned exam not yet tried is still a row',
  );
});

test('a mock exam can be assigned like a lab: learners see it with its title, an unknown exam is 404, naming both a lab and an exam is 400', async () => {
  const ines = await instructor('ines7');
  const g = (await call('POST', '/api/groups', ines, { name: 'exam prep' })).json();
  const ivy = await register('ivy', g.inviteCode);
  assert.equal((await call('POST', `/api/groups/${g.id}/assignments`, ines, { examId: 'no-such-exam' })).statusCode, 404);
  const both = await call('POST', `/api/groups/${g.id}/assignments`, ines, { labId: LAB, examId: 'fixture-mock' });
  assert.equal(both.statusCode, 400, both.body);
  const exam = await call('POST', `/api/groups/${g.id}/assignments`, ines, { examId: 'fixture-mock', dueAt: '2000-01-01T00:00:00Z' });
  assert.equal(exam.statusCode, 201, exam.body);
  assert.deepEqual([exam.json().kind, exam.json().itemId, exam.json().title], ['exam', 'fixture-mock', 'Fixture mock exam']);
  // The same id as a lab is another assignment: the kind is part of what is assigned.
  assert.equal((await call('POST', `/api/groups/${g.id}/assignments`, ines, { labId: LAB })).statusCode, 201);
  const detail = (await call('GET', `/api/groups/${g.id}`, ines)).json();
  assert.deepEqual(
    detail.assignments.map((a: { kind: string; itemId: string }) => `${a.kind}:${a.itemId}`),
    ['exam:fixture-mock', `lab:${LAB}`],
  );
  const mine = (await call('GET', '/api/assignments', ivy)).json().assignments as {
    kind: string;
    itemId: string;
    state: string;
    overdue: boolean;
    bestScore: number | null;
  }[];
  assert.deepEqual(
    mine.map((a) => [a.kind, a.itemId, a.state, a.overdue, a.bestScore]),
    [
      ['exam', 'fixture-mock', 'todo', true, null],
      ['lab', LAB, 'todo', false, null],
    ],
  );
  // Assigning again changes the due date, not the number of assignments.
  assert.equal((await call('POST', `/api/groups/${g.id}/assignments`, ines, { examId: 'fixture-mock', dueAt: null })).statusCode, 201);
  assert.equal((await call('GET', `/api/groups/${g.id}`, ines)).json().assignments.length, 2);
});

test('only an admin changes roles, and not their own', async () => {
  await instructor('ines6');
  const hal = await register('hal', (await call('POST', '/api/groups', admin, { name: 'roles' })).json().inviteCode);
  assert.equal((await call('PATCH', `/api/learners/${hal.id}`, hal, { role: 'admin' })).statusCode, 403);
  assert.equal((await call('PATCH', `/api/learners/${admin.id}`, admin, { role: 'learner' })).statusCode, 409);
  assert.equal((await call('PATCH', '/api/learners/nobody', admin, { role: 'learner' })).statusCode, 404);
});
