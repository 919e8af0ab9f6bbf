// The honesty gates of every shipped mock exam on real kind clusters (npm run exams:verify, as tests).
// Skips with the reason where no node image is available.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { describeExamVerdict, ExamVerifier } from './lib/exams-verify.ts';
import { ROOT, verifyTarget } from './lib/labs-verify.ts';

const target = await verifyTarget();
if ('skip' in target) console.log(`exams:verify skipped: ${target.skip}`);
// The learner's side too (contexts, nodes, ssh) when the docker stage built the workstation image.
const WORKSTATION = process.env.KUBEDRILL_TEST_WORKSTATION_IMAGE ?? 'kubedrill/workstation:1.35';
const workstationImage = spawnSync('docker', ['image', 'inspect', WORKSTATION], { timeout: 30_000 }).status === 0 ? WORKSTATION : undefined;
if (!workstationImage && !('skip' in target)) console.log(`exams:verify: no ${WORKSTATION} image (scripts/build-images), so the workstation is not checked`);

// Exam ids are folder names under exams/.
const examIds = readdirSync(path.join(ROOT, 'exams'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.startsWith('_') && !d.name.startsWith('.'))
  .map((d) => d.name)
  .sort();

let verifier: ExamVerifier | undefined;
before(async () => {
  if (!('skip' in target)) verifier = await ExamVerifier.create(target.image);
});
after(async () => verifier?.close());

for (const id of examIds) {
  test(`exam ${id}: nothing earns nothing, every solution earns everything, on real clusters`, { skip: 'skip' in target ? target.skip : false }, async () => {
    const v = await verifier!.verify(id, workstationImage ? { workstationImage } : {});
    assert.ok(v.passed, describeExamVerdict(v).join('\n'));
    // Every parametrised lab was set up with this attempt's random draw, read back from its cluster.
    const parametrised = [...new Set(verifier!.exams.get(id)!.tasks.map((t) => t.labId))].filter((l) => verifier!.labs.get(l)?.params).sort();
    assert.deepEqual((v.draws ?? []).map((d) => d.labId).sort(), parametrised, describeExamVerdict(v).join('\n'));
    for (const d of v.draws ?? []) assert.ok(d.found.length > 0 && d.missing.length === 0, describeExamVerdict(v).join('\n'));
  });
}
