import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ModelCluster } from '../../../../graders/src/model/model-cluster.ts';
import { buildApp } from '../../app.ts';
import type { App } from '../../app-types.ts';
import { loadConfig } from '../../config/config.ts';
import { AppError } from '../../errors.ts';
import { GradeRepository } from '../../grading/grade-repository.ts';
import { GradingService, type GradableAttempts } from '../../grading/grading-service.ts';
import { labStates } from '../../grading/lab-states.ts';
import { LabCatalog } from '../../labs/catalog-service.ts';
import { openMemoryDatabase } from '../../storage/db.ts';

// POST /api/attempts/:id/grade and GET /api/attempts/:id/grades through app.inject(), with a fake
// attempt service and the in-memory model cluster standing in for the attempt's kind cluster.

const LABS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../labs');
const ORIGIN = 'http://127.0.0.1:3000';
const dir = mkdtempSync(path.join(tmpdir(), 'kdtest-grade-'));

class FakeAttempts implements GradableAttempts {
  readonly attempts = new Map<string, { learnerId: string; labId: string; ready: boolean; busy: boolean }>();
  ended = 0;
  async beginGrading(id: string, learnerId: string) {
    const a = this.attempts.get(id);
    if (!a || a.learnerId !== learnerId) throw new AppError(404, 'attempt_not_found', `no attempt with id "${id}"`);
    if (!a.ready) throw new AppError(409, 'attempt_not_ready', 'the cluster is still being prepared');
    if (a.busy) throw new AppError(409, 'attempt_busy', 'this attempt is already being graded');
    a.busy = true;
    return { id, labId: a.labId, kubeconfigPath: `/kubeconfigs/${id}` };
  }
  endGrading(id: string) {
    const a = this.attempts.get(id);
    if (a) a.busy = false;
    this.ended++;
  }
}

const attempts = new FakeAttempts();
const clusters = new Map<string, ModelCluster>();
let catalog: LabCatalog;
let app: App;
let cookie: string;

before(async () => {
  catalog = new LabCatalog(LABS);
  await catalog.reload();
  const lab = catalog.get('netpol-lab9server');
  assert.ok(lab, 'the netpol-lab9server lab loads');
  const model = new ModelCluster({ workers: 1 });
  await model.apply((await labStates(lab)).setup);
  clusters.set('/kubeconfigs/a1', model);
  attempts.attempts.set('a1', { learnerId: 'local', labId: 'netpol-lab9server', ready: true, busy: false });
  attempts.attempts.set('warming', { learnerId: 'local', labId: 'netpol-lab9server', ready: false, busy: false });
  attempts.attempts.set('theirs', { learnerId: 'someone-else', labId: 'netpol-lab9server', ready: true, busy: false });
  attempts.attempts.set('no-cluster', { learnerId: 'local', labId: 'netpol-lab9server', ready: true, busy: false });

  const boot = loadConfig({ argv: ['--data-dir', dir, '--labs-dir', LABS], env: {}, cwd: dir });
  const db = openMemoryDatabase();
  const grading = new GradingService({
    attempts,
    labs: catalog,
    grades: new GradeRepository(db),
    portFor: (kubeconfigPath) => {
      const c = clusters.get(kubeconfigPath);
      if (!c) throw new Error(`no cluster behind ${kubeconfigPath}`);
      return c;
    },
    engine: { probeWindowMs: 0, retryDelayMs: 0 },
  });
  app = await buildApp(boot, { checkResponses: true, db, labs: catalog, grading, logger: false });
  const res = await app.inject({ method: 'GET', url: '/api/session' });
  cookie = String(res.headers['set-cookie']).split(';')[0] ?? '';
});

after(async () => {
  await app.close();
  catalog.compiler.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Grade {
  score: number;
  maxScore: number;
  report: {
    percent: number;
    tasks: {
      id: string;
      score: number;
      checks: {
        id: string;
        status: string;
        points: number;
        explanation?: string;
        expected?: string;
        actual?: string;
        required?: boolean;
        scoreNote?: string;
      }[];
    }[];
  };
}

const grade = (id: string, c = cookie) => app.inject({ method: 'POST', url: `/api/attempts/${id}/grade`, headers: { cookie: c, origin: ORIGIN } });

describe('attempt grading routes', () => {
  it('grades an untouched lab as 0 and says why each probe came out as it did', async () => {
    const res = await grade('a1');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as Grade;
    assert.equal(body.score, 0);
    assert.equal(body.maxScore, 10);
    const checks = body.report.tasks[0]?.checks ?? [];
    const blocked = checks.find((c) => c.id === 'sleepybox2-blocked');
    assert.equal(blocked?.status, 'fail');
    assert.equal(blocked?.expected, 'blocked');
    assert.match(blocked?.actual ?? '', /^reachable/);
    assert.match(
      blocked?.explanation ?? '',
      /sleepybox2 reached Service restricted\/lab9server on port 80 through endpoint lab9server [\d.]+:80: no NetworkPolicy in namespace restricted selects lab9server for ingress/,
    );
    const guard = checks.find((c) => c.id === 'sleepybox1-allowed');
    assert.equal(guard?.points, 0, 'the guard earns nothing on its own');
    assert.equal(guard?.required, true);
    assert.match(guard?.scoreNote ?? '', /already true when you started/, 'the report says why a passing guard earned nothing');
  });

  it('grades the reference solution as full marks and keeps the history in order', async () => {
    const lab = catalog.get('netpol-lab9server');
    assert.ok(lab);
    await clusters.get('/kubeconfigs/a1')?.apply((await labStates(lab)).solution);
    const res = await grade('a1');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as Grade).report.percent, 100);
    const history = await app.inject({ method: 'GET', url: '/api/attempts/a1/grades', headers: { cookie } });
    assert.equal(history.statusCode, 200);
    assert.deepEqual(
      (history.json() as { grades: Grade[] }).grades.map((g) => g.score),
      [0, 10],
    );
  });

  it('passes on the attempt service refusals and always ends grading', async () => {
    const endedBefore = attempts.ended;
    assert.equal((await grade('nope')).statusCode, 404);
    assert.equal((await grade('theirs')).statusCode, 404, "another learner's attempt looks like no attempt");
    const warming = await grade('warming');
    assert.equal(warming.statusCode, 409);
    assert.equal((warming.json() as { error: { code: string } }).error.code, 'attempt_not_ready');
    assert.equal((await grade('no-cluster')).statusCode, 500);
    assert.equal(attempts.ended, endedBefore + 1, 'endGrading ran for the grade that began and failed');
    assert.equal(attempts.attempts.get('no-cluster')?.busy, false);
  });

  it('needs a session, and shows no grades of other learners', async () => {
    assert.equal((await app.inject({ method: 'POST', url: '/api/attempts/a1/grade', headers: { origin: ORIGIN } })).statusCode, 401);
    const res = await app.inject({ method: 'GET', url: '/api/attempts/theirs/grades', headers: { cookie } });
    assert.deepEqual(res.json(), { grades: [] });
  });
});
