import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runHonestyGates } from '../../../graders/src/engine/gates.ts';
import { ModelCluster } from '../../../graders/src/model/model-cluster.ts';
import { MdxCompiler } from '../labs/bundle.ts';
import { loadCatalog, type Catalog } from '../labs/loader.ts';
import { gradableLab, labStates, modelGateSkipReason } from './lab-states.ts';

// Honesty gates for every shipped lab that the in-memory model cluster can simulate: after setup
// every task scores 0, after the reference solution the lab scores 100%, and grading is stable.

const LABS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../labs');
const compiler = new MdxCompiler();
let catalog: Catalog;

before(async () => {
  catalog = await loadCatalog(LABS_DIR, compiler);
});
after(() => compiler.close());

describe('honesty gates on the model cluster', () => {
  it('loads the shipped labs', () => {
    assert.ok(catalog.labs.length >= 10, `only ${catalog.labs.length} labs loaded; broken: ${catalog.broken.map((b) => b.id).join(', ')}`);
  });

  it('runs every lab the model can simulate', async (t) => {
    for (const lab of catalog.labs) {
      const skip = modelGateSkipReason(lab);
      await t.test(lab.id, { skip: skip ? `gated on real clusters only: ${skip}` : false }, async () => {
        const states = await labStates(lab);
        const port = new ModelCluster({ workers: lab.meta.cluster.workers });
        const result = await runHonestyGates({ lab: gradableLab(lab), port, ...states, grade: { probeWindowMs: 0, retryDelayMs: 0 } });
        const problems = result.gates.filter((g) => !g.passed).flatMap((g) => [`gate ${g.name}:`, ...g.problems.map((p) => `  ${p}`)]);
        assert.ok(result.passed, `${lab.id} fails its honesty gates:\n${problems.join('\n')}`);
      });
    }
  });
});
