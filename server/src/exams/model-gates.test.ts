import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ModelCluster } from '../../../graders/src/model/model-cluster.ts';
import { labStates } from '../grading/lab-states.ts';
import type { LabCatalog } from '../labs/catalog-service.ts';
import { describeDraw, drawForLabs } from '../labs/params.ts';
import { ExamCatalogService } from './exam-catalog.ts';
import { runExamGates } from './exam-gates.ts';
import { gradeExam } from './exam-grading.ts';
import { REPO, shippedLabs } from './test-harness.ts';

// Honesty gates of every shipped exam on one model cluster per exam cluster with every task's setup
// applied to it, as an exam attempt has them. An exam with labs only real clusters can gate
// (exams:verify) is gated here over the tasks of its other labs: their composition on shared
// clusters (nothing earns anything, every solution earns everything) is still checked in CI.

let labs: LabCatalog;
const catalog = new ExamCatalogService(path.join(REPO, 'exams'));
before(async () => {
  labs = await shippedLabs();
  catalog.reload(labs.current);
});
after(() => labs.compiler.close());

describe('exam honesty gates on model clusters', () => {
  it('loads the shipped exams', () => {
    assert.ok(catalog.current.exams.length >= 1, `broken: ${catalog.current.broken.map((b) => b.id).join(', ')}`);
  });

  it('runs every exam the model can simulate', async (t) => {
    for (const whole of catalog.current.exams) {
      const exam = { ...whole, tasks: whole.tasks.filter((x) => labs.get(x.labId)?.gate !== 'real') };
      const left = [...new Set(whole.tasks.filter((x) => !exam.tasks.includes(x)).map((x) => x.labId))];
      const title = left.length ? `${exam.id}, ${exam.tasks.length} of ${whole.tasks.length} tasks (real clusters only: ${left.join(', ')})` : exam.id;
      await t.test(title, { skip: exam.tasks.length ? false : whole.gateReason }, async () => {
        const clusters = new Map(exam.clusters.map((c) => [c.name, new ModelCluster({ workers: c.workers, name: c.name })]));
        const placed = [...new Map(exam.tasks.map((x) => [x.labId, x.cluster])).entries()];
        // One draw for the exam's parametrised labs, as an exam attempt makes (each run another one).
        const params = drawForLabs(exam.tasks.map((x) => labs.get(x.labId)));
        for (const [labId, values] of Object.entries(params ?? {})) t.diagnostic(`${exam.id}: ${labId} drew ${describeDraw(values)}`);
        for (const [labId, cluster] of placed)
          await clusters.get(cluster)!.apply((await labStates(labs.forAttempt(labId, params)!)).setup, { fieldManager: 'kubedrill-setup', timeoutMs: 10_000 });
        const r = await runExamGates(
          () =>
            gradeExam(exam, {
              lab: (id) => labs.forAttempt(id, params),
              cluster: (c) => (clusters.has(c) ? { port: clusters.get(c)! } : undefined),
              engine: { probeWindowMs: 0, retryDelayMs: 0 },
            }),
          async () => {
            for (const [labId, cluster] of placed)
              await clusters
                .get(cluster)!
                .apply((await labStates(labs.forAttempt(labId, params)!)).solution, { fieldManager: 'kubedrill-setup', timeoutMs: 10_000 });
          },
        );
        const problems = r.gates.filter((g) => !g.passed).flatMap((g) => [`gate ${g.name}:`, ...g.problems.map((p) => `  ${p}`)]);
        assert.ok(r.passed, `${exam.id} fails its honesty gates:\n${problems.join('\n')}`);
        assert.equal(r.gates[1]!.result.percent, 100);
      });
    }
  });
});
