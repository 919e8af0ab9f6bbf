import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkstationExecOptions } from '../../../graders/src/cluster/port.ts';
import { ModelCluster } from '../../../graders/src/model/model-cluster.ts';
import { buildApp } from '../app.ts';
import type { App } from '../app-types.ts';
import { loadConfig } from '../config/config.ts';
import { LabCatalog } from '../labs/catalog-service.ts';
import { openMemoryDatabase } from '../storage/db.ts';
import { FIXTURE_LABS } from '../testing/test-app.ts';
import { GradeRepository } from './grade-repository.ts';
import { GradingService, type GradableAttempts } from './grading-service.ts';

// Killercoda scenarios whose later steps have a background script: a Check that finds the steps
// before such a step passed runs its setup in the workstation, once per attempt, and the grade (and
// the attempt's grade history) says so. The workstation is a fake that plays the verify scripts.

const SCENARIOS = path.resolve(import.meta.dirname, '..', 'labs', 'test-fixtures', 'scenarios');
const NOTE = 'kc-scenarios-practice-course-note-on-host';
const ORIGIN = 'http://127.0.0.1:3000';
const dir = mkdtempSync(path.join(tmpdir(), 'kdtest-steps-'));

class Attempts implements GradableAttempts {
  readonly labs = new Map<string, string>();
  async beginGrading(id: string) {
    return { id, labId: this.labs.get(id)!, kubeconfigPath: `/kubeconfigs/${id}` };
  }
  endGrading() {}
}

/** A workstation where the note exists once `noteWritten`, and step setups exit `setupExit`. */
class Workstation {
  noteWritten = false;
  configMapMade = false;
  setupExit = 0;
  readonly setups: { attemptId: string; stdin: string; opts: WorkstationExecOptions | undefined }[] = [];
  for(attemptId: string) {
    return {
      exec: async (argv: readonly string[], opts?: WorkstationExecOptions) => {
        const script = argv.join(' ');
        if (argv[0] === 'bash' && argv[1] === '-s') {
          this.setups.push({ attemptId, stdin: opts?.stdin ?? '', opts });
          return { stdout: '== prepare-step2.sh (step 2)\n', stderr: this.setupExit ? 'namespace "memo" not found' : '', exitCode: this.setupExit };
        }
        if (script.includes('/root/note.txt')) return { stdout: '', stderr: '', exitCode: this.noteWritten ? 0 : 1 };
        if (script.includes('configmap note')) return { stdout: '', stderr: '', exitCode: this.configMapMade ? 0 : 1 };
        return { stdout: '', stderr: `unexpected: ${script}`, exitCode: 99 };
      },
    };
  }
}

let catalog: LabCatalog;
let app: App;
let cookie: string;
const attempts = new Attempts();
const ws = new Workstation();

before(async () => {
  catalog = new LabCatalog(FIXTURE_LABS, undefined, [SCENARIOS]);
  await catalog.reload();
  const boot = loadConfig({ argv: ['--data-dir', dir, '--labs-dir', FIXTURE_LABS, '--scenarios-dir', SCENARIOS], env: {}, cwd: dir });
  const db = openMemoryDatabase();
  const grading = new GradingService({
    attempts,
    labs: catalog,
    grades: new GradeRepository(db),
    portFor: () => new ModelCluster(),
    hostsFor: (attemptId) => ({ workstation: ws.for(attemptId) }),
    engine: { probeWindowMs: 0, retryDelayMs: 0 },
  });
  app = await buildApp(boot, { checkResponses: true, db, labs: catalog, grading, logger: false });
  cookie = String((await app.inject({ method: 'GET', url: '/api/session' })).headers['set-cookie']).split(';')[0] ?? '';
});

after(async () => {
  await app.close();
  catalog.compiler.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Grade {
  id: string;
  score: number;
  stepsPrepared?: { step: number; title: string; ok: boolean; output: string }[];
}
const grade = async (id: string) => {
  const res = await app.inject({ method: 'POST', url: `/api/attempts/${id}/grade`, headers: { cookie, origin: ORIGIN } });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<Grade>();
};

describe('scenario steps reached by a Check', () => {
  it('the lab page learns which steps have a setup of their own', async () => {
    const detail = (await app.inject({ method: 'GET', url: `/api/labs/${NOTE}` })).json<{ stepSetups?: { step: number; after: string[] }[] }>();
    assert.deepEqual(detail.stepSetups, [{ step: 2, after: ['step-1'] }]);
    const plain = (await app.inject({ method: 'GET', url: '/api/labs/valid-lab' })).json<{ stepSetups?: unknown }>();
    assert.equal(plain.stepSetups, undefined);
  });

  it("step 2's setup runs as root when step 1 passes, once, and shows with the grade that reached it", async () => {
    attempts.labs.set('s1', NOTE);
    const first = await grade('s1');
    assert.equal(first.score, 0);
    assert.equal(first.stepsPrepared, undefined, 'nothing is reached before step 1 passes');
    assert.equal(ws.setups.length, 0);

    ws.noteWritten = true;
    const second = await grade('s1');
    assert.equal(second.score, 10);
    assert.deepEqual(
      second.stepsPrepared?.map((s) => [s.step, s.title, s.ok]),
      [[2, 'Store it in a ConfigMap', true]],
    );
    assert.equal(ws.setups.length, 1);
    assert.equal(ws.setups[0]!.opts?.user, 'root');
    assert.match(ws.setups[0]!.stdin, /== prepare-step2\.sh/);

    // Later Checks do not run it again, even when step 1 fails meanwhile (the learner has moved on).
    ws.noteWritten = false;
    const third = await grade('s1');
    assert.equal(third.stepsPrepared, undefined);
    ws.noteWritten = true;
    ws.configMapMade = true;
    const fourth = await grade('s1');
    assert.equal(fourth.score, 20);
    assert.equal(ws.setups.length, 1, 'a step setup runs at most once per attempt');

    // The history (what a reload shows) keeps which Check prepared the step.
    const history = (await app.inject({ method: 'GET', url: '/api/attempts/s1/grades', headers: { cookie } })).json<{ grades: Grade[] }>().grades;
    assert.deepEqual(
      history.map((g) => g.stepsPrepared?.map((s) => s.step) ?? []),
      [[], [2], [], []],
    );
    ws.configMapMade = false;
  });

  it('each attempt reaches its steps on its own; a failed setup is shown with its output and not run again', async () => {
    attempts.labs.set('s2', NOTE);
    ws.noteWritten = true;
    ws.setupExit = 3;
    const g = await grade('s2');
    assert.deepEqual(
      g.stepsPrepared?.map((s) => [s.step, s.ok]),
      [[2, false]],
    );
    assert.match(g.stepsPrepared![0]!.output, /namespace "memo" not found/);
    const before = ws.setups.length;
    await grade('s2');
    assert.equal(ws.setups.length, before, 'running a background twice could do its harm twice');
    ws.setupExit = 0;
  });
});
