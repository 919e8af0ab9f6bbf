// npm run labs:verify [lab-id …] — the honesty gates of labs on real kind clusters (one fresh
// cluster per lab, made by the product's provisioner): after setup every task scores 0, each
// shipped mistake scores at most its maxPercent, after the reference solution 100%, and a second
// grade agrees. Skips (exit 0) with the reason where no
// cluster can be created here; exit 1 when any lab fails a gate or its cluster cannot be prepared.
import {
  costliestFirst,
  describeVerdict,
  drainLanes,
  kindNetworkExists,
  labsDirOf,
  lanePrefix,
  LabVerifier,
  shareGroups,
  type LabVerdict,
} from './lib/labs-verify.ts';
import { nodeImageOrSkip, parseCli } from './lib/cli.ts';

const USAGE = `usage: npm run labs:verify -- [lab-id …] [--keep] [--fresh] [--no-mistakes] [--no-fresh-mistakes] [--explain] [--lanes N] [--node-image IMAGE] [--labs-dir DIR]
  default: every lab; labs of one cluster shape that run no scripts and need no cluster of their own
  take turns on one cluster, reset between them (--fresh: one new cluster per lab, as a learner gets)
  --keep leaves each cluster running for a look (delete with kind delete cluster); implies --fresh
  --no-mistakes skips the mistake gates (each shipped wrong answer scores at most its maxPercent)
  --no-fresh-mistakes skips the mistakes with node or workstation scripts (each needs a cluster of its own)
  --explain prints every check of each mistake with its explanation
  --lanes N verifies N share groups at a time, each on its own cluster (CI uses 2 on 2 cores; lines are tagged [lane n])
  labs: --labs-dir, else KUBEDRILL_LABS_DIR, else ./labs
  Killercoda scenarios: --scenarios-dir, else KUBEDRILL_SCENARIOS_DIR (every step fails right after setup;
  where each step has solution.sh beside its verify script, all pass after them)
  node image: --node-image, else KUBEDRILL_NODE_IMAGE, else the testbed image, else kind's pinned one`;
const { values, positionals: args } = parseCli('labs:verify', USAGE, {
  allowPositionals: true,
  options: {
    keep: { type: 'boolean', default: false },
    'no-mistakes': { type: 'boolean', default: false },
    'no-fresh-mistakes': { type: 'boolean', default: false },
    explain: { type: 'boolean', default: false },
    fresh: { type: 'boolean', default: false },
    lanes: { type: 'string', default: '1' },
    'node-image': { type: 'string' },
    'labs-dir': { type: 'string' },
    'scenarios-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const image = await nodeImageOrSkip('labs:verify', values['node-image']);
const lanes = Number(values.lanes);
if (!Number.isInteger(lanes) || lanes < 1 || lanes > 8) {
  console.error(`labs:verify: --lanes must be a whole number from 1 to 8, not "${values.lanes}"\n${USAGE}`);
  process.exit(2);
}
const laneLog = (lane: number) =>
  lanes > 1 ? (line: string) => console.log(line.replace(/^(\n*)/, `$1[lane ${lane + 1}] `)) : (line: string) => console.log(line);
const scenariosDir = values['scenarios-dir'] ?? process.env.KUBEDRILL_SCENARIOS_DIR;
let verifier: LabVerifier;
try {
  verifier = await LabVerifier.create(image, {
    labsDir: labsDirOf(values['labs-dir']),
    ...(scenariosDir ? { scenariosDirs: [scenariosDir] } : {}),
    log: laneLog(0),
  });
} catch (e) {
  console.error(`labs:verify: ${(e as Error).message}`);
  process.exit(2);
}
const ids = args.length ? args : verifier.labs.current.labs.map((l) => l.id);
const unknown = ids.filter((id) => !verifier.labs.get(id));
if (unknown.length) {
  console.error(`labs:verify: no lab ${unknown.map((id) => `"${id}"`).join(', ')}; known: ${verifier.labs.current.labs.map((l) => l.id).join(', ')}`);
  // Every exit goes through close(), which removes the temporary data folder.
  await verifier.close();
  process.exit(2);
}
const share = !values['fresh'] && !values.keep;
const freshMistakes = !values['no-fresh-mistakes'];
const groups = share
  ? shareGroups(
      ids.map((id) => verifier.labs.get(id)!),
      { freshMistakes },
    )
  : ids.map((id) => [id]);
// Lanes take the next group whenever they finish one, most expensive first.
const queue = costliestFirst(
  groups.map((g) => g.map((id) => verifier.labs.get(id)!)),
  { freshMistakes },
).map((g) => g.map((l) => l.id));
const laneCount = Math.min(lanes, queue.length);
const verifiers = [verifier];
try {
  for (let i = 1; i < laneCount; i++)
    verifiers.push(
      await LabVerifier.create(image, {
        labsDir: labsDirOf(values['labs-dir']),
        ...(scenariosDir ? { scenariosDirs: [scenariosDir] } : {}),
        log: laneLog(i),
        namePrefix: lanePrefix(process.env.KUBEDRILL_CLUSTERS_NAME_PREFIX ?? 'kdverify', i),
      }),
    );
} catch (e) {
  console.error(`labs:verify: ${(e as Error).message}`);
  await Promise.all(verifiers.map((v) => v.close()));
  process.exit(2);
}
console.log(
  `labs:verify: ${ids.length} lab(s) on ${image}, ${share ? 'labs of one shape whose scripts only talk to the API share a cluster (reset between them; --fresh for one cluster each)' : 'one fresh cluster each'}${laneCount > 1 ? `, in ${laneCount} lanes` : ''}`,
);
let verdicts: LabVerdict[];
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.log('\ninterrupted: finishing the current lab and deleting its cluster…');
  });
}
try {
  const all: LabVerdict[] = [];
  const started = new Set<number>();
  await drainLanes(queue, laneCount, async (group, lane) => {
    // Later lanes start once the first has made Docker's kind network.
    if (lane > 0 && !started.has(lane)) await kindNetworkExists();
    started.add(lane);
    all.push(
      ...(await verifiers[lane]!.verifyAll(group, {
        keep: values.keep,
        mistakes: !values['no-mistakes'],
        freshMistakes,
        share,
        interrupted: () => interrupted,
        onVerdict: (verdict) => console.log(describeVerdict(verdict, { explain: values.explain }).join('\n')),
      })),
    );
  });
  verdicts = all;
} finally {
  await Promise.all(verifiers.map((v) => v.close({ keepData: values.keep })));
}
const failed = verdicts.filter((v) => !v.passed);
console.log(
  `\nlabs:verify: ${verdicts.length - failed.length}/${verdicts.length} labs passed their gates${failed.length ? `; failed: ${failed.map((v) => v.labId).join(', ')}` : ''}`,
);
process.exit(failed.length || interrupted ? 1 : 0);
