// The honesty gates of every shipped mock exam on real kind clusters (npm run exams:verify, as tests).
// Skips with the reason where no node image is available.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
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

// CI's budget (90 min on 2 cores, the cluster stage within 80) no longer holds a full mock beside every
// lab's gates: on 2026-12-06 night the stage ran out of its 80 minutes on this kind of host with one
// (cka-full-mock 338 s). Every exam's labs are gated one by one by labs:verify in this same stage, and
// every exam's composition on model clusters by the unit stage (server/src/exams/model-gates.test.ts);
// the exam flow on real clusters (several clusters, contexts, the workstation, all tasks' setups side by
// side) is left to `npm run exams:verify`, which gates every exam. KUBEDRILL_VERIFY_EXAMS=<id>,<id> picks
// exams for this stage, KUBEDRILL_VERIFY_FULL_MOCK=1 the first full-length mock by name, and
// KUBEDRILL_VERIFY_ALL_EXAMS=1 takes them all.
const FULL_LENGTH = 15;
// Parsed, not pattern-matched: a reformatted exam.yaml must not silently count as short and be skipped.
const taskCount = (id: string): number => {
  const tasks = (parseYaml(readFileSync(path.join(ROOT, 'exams', id, 'exam.yaml'), 'utf8')) as { tasks?: unknown } | null)?.tasks;
  if (!Array.isArray(tasks)) throw new Error(`exams/${id}/exam.yaml has no tasks list (npm run labs:check says why)`);
  return tasks.length;
};
const picked = (process.env.KUBEDRILL_VERIFY_EXAMS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const id of picked)
  if (!examIds.includes(id)) throw new Error(`KUBEDRILL_VERIFY_EXAMS names ${id}, but exams/ has no such exam (there are: ${examIds.join(', ')})`);
const gated: string[] =
  process.env.KUBEDRILL_VERIFY_ALL_EXAMS === '1'
    ? examIds
    : picked.length
      ? picked
      : process.env.KUBEDRILL_VERIFY_FULL_MOCK === '1'
        ? examIds.filter((id) => taskCount(id) >= FULL_LENGTH).slice(0, 1)
        : [];
const notGated = examIds.filter((id) => !gated.includes(id));
if (notGated.length && !('skip' in target))
  console.log(
    `exams:verify: this stage gates ${gated.join(', ') || 'no exam'} on real clusters; not ${notGated.join(', ')} (npm run exams:verify gates every exam; KUBEDRILL_VERIFY_EXAMS=<ids> or KUBEDRILL_VERIFY_ALL_EXAMS=1 here)`,
  );

let verifier: ExamVerifier | undefined;
before(async () => {
  if (!('skip' in target) && gated.length) verifier = await ExamVerifier.create(target.image);
});
after(async () => verifier?.close());

for (const id of examIds) {
  const skip =
    'skip' in target
      ? target.skip
      : notGated.includes(id)
        ? `${taskCount(id)} tasks; not gated on real clusters in this stage (its labs are, one by one): npm run exams:verify -- ${id} gates it`
        : false;
  test(`exam ${id}: nothing earns nothing, every solution earns everything, on real clusters`, { skip }, async () => {
    const v = await verifier!.verify(id, workstationImage ? { workstationImage } : {});
    assert.ok(v.passed, describeExamVerdict(v).join('\n'));
    // Every parametrised lab was set up with this attempt's random draw, read back from its cluster.
    const parametrised = [...new Set(verifier!.exams.get(id)!.tasks.map((t) => t.labId))].filter((l) => verifier!.labs.get(l)?.params).sort();
    assert.deepEqual((v.draws ?? []).map((d) => d.labId).sort(), parametrised, describeExamVerdict(v).join('\n'));
    for (const d of v.draws ?? []) assert.ok(d.found.length > 0 && d.missing.length === 0, describeExamVerdict(v).join('\n'));
  });
}
