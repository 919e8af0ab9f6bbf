import path from 'node:path';
import { runHonestyGates, type MistakeRun } from '../graders/src/engine/gates.ts';
import { ModelCluster } from '../graders/src/model/model-cluster.ts';
import { MdxCompiler } from '../server/src/labs/bundle.ts';
import { loadCatalog } from '../server/src/labs/loader.ts';
import { gradableLab, labStates, mistakeObjects, modelGateSkipReason, modelMistakeSkipReason } from '../server/src/grading/lab-states.ts';
const compiler = new MdxCompiler();
const catalog = await loadCatalog(path.resolve('labs'), compiler);
for (const lab of catalog.labs) {
  if (process.argv[2] && !lab.id.includes(process.argv[2])) continue;
  if (modelGateSkipReason(lab)) { console.log(`${lab.id}: real only`); continue; }
  const states = await labStates(lab);
  const mistakes: MistakeRun[] = [];
  for (const m of lab.mistakes) {
    if (modelMistakeSkipReason(lab, m)) continue;
    const objects = await mistakeObjects(lab, m);
    mistakes.push({ mistake: m, enter: async () => { const f = new ModelCluster({ workers: lab.meta.cluster.workers }); await f.apply(states.setup); await f.apply(objects); return { port: f }; } });
  }
  const r = await runHonestyGates({ lab: gradableLab(lab), port: new ModelCluster({ workers: lab.meta.cluster.workers }), ...states, mistakes, grade: { probeWindowMs: 0, retryDelayMs: 0 } });
  console.log(`${lab.id}: ${r.passed ? 'PASS' : 'FAIL'}`);
  for (const g of r.gates) {
    console.log(`  ${g.passed ? '✓' : '✗'} ${g.mistake ? `mistake ${g.mistake.name} ≤${g.mistake.maxPercent}` : g.name}: ${g.report.percent}% (ceiling ${g.ceilingPercent ?? '-'}) ${g.report.tasks.map((t) => `${t.id}=${t.score}${t.vetoedBy ? `[veto ${t.vetoedBy}]` : ''}`).join(' ')}`);
    for (const p of g.problems) console.log(`      ${p}`);
    if (process.env.V && g.mistake) for (const t of g.report.tasks) for (const c of t.checks) console.log(`        ${t.id}/${c.id} ${c.status} ${c.points} ${c.explanation ?? ''}`);
  }
}
compiler.close();
