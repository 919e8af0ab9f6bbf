// npm run exams:verify [exam-id …] — the honesty gates of mock exams on real kind clusters: every
// cluster of the exam made by the product's services with every task's setup on it, then 0 points,
// every reference solution, 100 %, and a second grade that agrees. Skips (exit 0) with the reason
// where no cluster can be created here; exit 1 when an exam fails a gate or cannot be prepared.
import path from 'node:path';
import { describeExamVerdict, ExamVerifier, type ExamVerdict } from './lib/exams-verify.ts';
import { nodeImageOrSkip, parseCli } from './lib/cli.ts';

const USAGE = `usage: npm run exams:verify -- [exam-id …] [--keep] [--node-image IMAGE] [--exams-dir DIR] [--workstation-image IMAGE]
  --workstation-image also checks a real workstation: one context per cluster, ssh <context>-<node> on each
  --warm fills a warm pool of the exam's shapes first and measures Start → every cluster ready from it
  --preset sets the exam's clusters up in advance first (clusters.presetLabs exam:<id>) and measures Start from them
  default: every exam in exams/ (or DIR); --keep leaves the clusters running for a look (delete with kind delete cluster)
  node image: --node-image, else KUBEDRILL_NODE_IMAGE, else the testbed image, else kind's pinned one`;
const { values, positionals: args } = parseCli('exams:verify', USAGE, {
  allowPositionals: true,
  options: {
    keep: { type: 'boolean', default: false },
    'node-image': { type: 'string' },
    'exams-dir': { type: 'string' },
    'workstation-image': { type: 'string' },
    warm: { type: 'boolean', default: false },
    preset: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
const image = await nodeImageOrSkip('exams:verify', values['node-image']);
const verifier = await ExamVerifier.create(image, console.log, values['exams-dir'] ? path.resolve(values['exams-dir']) : undefined);
const ids = args.length ? args : verifier.exams.current.exams.map((e) => e.id);
for (const id of ids) {
  if (!verifier.exams.get(id)) {
    console.error(`exams:verify: no exam "${id}"; known: ${verifier.exams.current.exams.map((e) => e.id).join(', ')}`);
    process.exit(2);
  }
}
console.log(`exams:verify: ${ids.length} exam(s) on ${image}, fresh clusters each`);
const verdicts: ExamVerdict[] = [];
let interrupted = false;
process.once('SIGINT', () => {
  interrupted = true;
  console.log('\ninterrupted: finishing the current exam and deleting its clusters…');
});
for (const id of ids) {
  if (interrupted) break;
  console.log(`\n▶ ${id}`);
  const v = await verifier.verify(id, {
    keep: values.keep,
    warm: values.warm,
    preset: values.preset,
    ...(values['workstation-image'] ? { workstationImage: values['workstation-image'] } : {}),
  });
  verdicts.push(v);
  console.log(describeExamVerdict(v).join('\n'));
}
await verifier.close({ keepData: values.keep });
const failed = verdicts.filter((v) => !v.passed);
console.log(
  `\nexams:verify: ${verdicts.length - failed.length}/${verdicts.length} exams passed their gates${failed.length ? `; failed: ${failed.map((v) => v.examId).join(', ')}` : ''}`,
);
process.exit(failed.length || interrupted ? 1 : 0);
