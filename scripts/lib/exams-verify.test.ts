import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ModelCluster } from '../../graders/src/model/model-cluster.ts';
import { shippedLabs } from '../../server/src/exams/test-harness.ts';
import { labStates } from '../../server/src/grading/lab-states.ts';
import type { LabCatalog } from '../../server/src/labs/catalog-service.ts';
import { paramSpaceSize, paramValueAt, type ParamValues } from '../../server/src/labs/params.ts';
import { proveDraw } from './exams-verify.ts';

// exams:verify reads a parametrised lab's drawn setup back from the cluster, so a setup that ignored
// the exam attempt's draw (or used another one) fails before the gates run.

let labs: LabCatalog;
before(async () => {
  labs = await shippedLabs();
});
after(() => labs.compiler.close());

/** The i-th value of every param of the lab (two different i give two draws that differ in every param with 2+ values). */
function drawAt(labId: string, i: number): Record<string, ParamValues> {
  const params = labs.get(labId)!.params!;
  return { [labId]: Object.fromEntries(Object.entries(params).map(([n, d]) => [n, paramValueAt(d, i % paramSpaceSize(d))])) };
}

test('a drawn setup on the cluster is proven; the same lab under another draw is not', async () => {
  const labId = 'clusterip-endpoints';
  const first = drawAt(labId, 1);
  const other = drawAt(labId, 2);
  assert.notEqual(first[labId]!.ns, other[labId]!.ns);
  const cluster = new ModelCluster({ workers: 1, name: 'c1' });
  await cluster.apply((await labStates(labs.forAttempt(labId, first)!)).setup, { fieldManager: 'kubedrill-setup', timeoutMs: 10_000 });

  const proven = await proveDraw(labs.forAttempt(labId, first)!, first[labId]!, 'c1', cluster);
  assert.deepEqual(proven.missing, []);
  assert.ok(proven.found.includes(`Namespace ${first[labId]!.ns}`), proven.found.join(', '));

  const wrong = await proveDraw(labs.forAttempt(labId, other)!, other[labId]!, 'c1', cluster);
  assert.ok(wrong.missing.includes(`Namespace ${other[labId]!.ns}`), wrong.missing.join(', '));
  assert.deepEqual(wrong.found, []);
});
