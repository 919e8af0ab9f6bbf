import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runHonestyGates, type MistakeRun } from '../../../graders/src/engine/gates.ts';
import { ModelCluster } from '../../../graders/src/model/model-cluster.ts';
import { MdxCompiler } from '../labs/bundle.ts';
import { loadCatalog, type Catalog } from '../labs/loader.ts';
import { describeDraw, distinctDraws, instantiateLab, seededRandom } from '../labs/params.ts';
import { gradableLab, labStates, mistakeObjects, modelGateSkipReason, modelMistakeSkipReason } from './lab-states.ts';

// Honesty gates for every shipped lab that the in-memory model cluster can simulate: after setup
// every task scores 0, each shipped mistake scores at most its maxPercent, after the reference
// solution the lab scores 100%, and grading is stable.

const LABS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../labs');
const compiler = new MdxCompiler();
/** How many distinct draws of a parametrised lab the model gates grade. */
const DRAWS_PER_LAB = 3;
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
    // A parametrised lab is gated over several distinct draws (the first one and random others; the
    // seed is printed, so a failing draw can be replayed), so one value that happens to work cannot
    // hide a lab that is broken for another.
    const seed = Date.now() % 1_000_000;
    t.diagnostic(`params seed ${seed}`);
    const variants = mkdtempSync(path.join(tmpdir(), 'kubedrill-gate-variants-'));
    t.after(() => rmSync(variants, { recursive: true, force: true }));
    const instances = catalog.labs.flatMap((lab) =>
      lab.params ? distinctDraws(lab.params, DRAWS_PER_LAB, seededRandom(seed)).map((d) => instantiateLab(lab, d, variants)) : [lab],
    );
    for (const lab of instances) {
      const skip = modelGateSkipReason(lab);
      const name = lab.draw ? `${lab.id} with ${describeDraw(lab.draw)}` : lab.id;
      await t.test(name, { skip: skip ? `gated on real clusters only: ${skip}` : false }, async () => {
        const states = await labStates(lab);
        const port = new ModelCluster({ workers: lab.meta.cluster.workers });
        // Each mistake on a fresh model cluster: setup, then the mistake's manifests.
        const mistakes: MistakeRun[] = [];
        for (const m of lab.mistakes) {
          const skip = modelMistakeSkipReason(lab, m);
          if (skip) {
            t.diagnostic(`${name}: mistake ${m.name} is gated on real clusters only: ${skip}`);
            continue;
          }
          const objects = await mistakeObjects(lab, m);
          mistakes.push({
            mistake: m,
            enter: async () => {
              const fresh = new ModelCluster({ workers: lab.meta.cluster.workers });
              await fresh.apply(states.setup, { fieldManager: 'kubedrill' });
              await fresh.apply(objects, { fieldManager: 'kubedrill' });
              return { port: fresh };
            },
          });
        }
        const result = await runHonestyGates({ lab: gradableLab(lab), port, ...states, mistakes, grade: { probeWindowMs: 0, retryDelayMs: 0 } });
        for (const g of result.gates)
          if (g.mistake) t.diagnostic(`${name}: mistake ${g.mistake.name} scored ${g.report.percent}% (at most ${g.mistake.maxPercent}%)`);
        const problems = result.gates.filter((g) => !g.passed).flatMap((g) => [`gate ${g.name}:`, ...g.problems.map((p) => `  ${p}`)]);
        assert.ok(result.passed, `${name} fails its honesty gates:\n${problems.join('\n')}`);
      });
    }
  });
});
