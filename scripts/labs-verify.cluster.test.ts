// The honesty gates of every shipped lab on real kind clusters (npm run labs:verify, as tests).
// Skips with the reason where no node image is available.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describeVerdict, LabVerifier, ROOT, shareGroups, verifyTarget, type LabVerdict } from './lib/labs-verify.ts';

const target = await verifyTarget();
if ('skip' in target) console.log(`labs:verify skipped: ${target.skip}`);

// Lab ids are folder names under labs/<track>/ (the loader insists they match).
const labIds = readdirSync(path.join(ROOT, 'labs'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'test-fixtures')
  .flatMap((track) =>
    readdirSync(path.join(ROOT, 'labs', track.name), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name),
  )
  .sort();

// One run over every lab, as CI's labs:verify does it: labs of one shape that run no scripts share a
// cluster (reset between them). The tests are declared in the order the run reaches the labs, and
// each waits for its own lab's verdict (so each test's time is its lab's).
const verifier = 'skip' in target ? undefined : await LabVerifier.create(target.image);
const order = verifier ? shareGroups(labIds.map((id) => verifier.labs.get(id)!)).flat() : labIds;
interface Deferred {
  promise: Promise<LabVerdict>;
  resolve: (v: LabVerdict) => void;
  reject: (e: unknown) => void;
}
function deferred(): Deferred {
  const d = {} as Deferred;
  d.promise = new Promise<LabVerdict>((resolve, reject) => Object.assign(d, { resolve, reject }));
  d.promise.catch(() => {}); // the lab's test reports it; until then it must not count as unhandled
  return d;
}
const verdicts = new Map<string, Deferred>(order.map((id) => [id, deferred()]));
let run: Promise<unknown> | undefined;
before(() => {
  if (!verifier) return;
  run = verifier
    .verifyAll(order, { share: true, onVerdict: (v) => verdicts.get(v.labId)?.resolve(v) })
    .then(
      () => {
        for (const [id, p] of verdicts) p.reject(new Error(`labs:verify gave no verdict for ${id}`));
      },
      (e: unknown) => {
        for (const p of verdicts.values()) p.reject(e);
      },
    );
});
after(async () => {
  await run;
  await verifier?.close();
});

for (const id of order) {
  test(`lab ${id}: nothing earns nothing, mistakes stay capped, the solution earns everything, on a real cluster`, { skip: 'skip' in target ? target.skip : false }, async (t) => {
    const v = await verdicts.get(id)!.promise;
    // Each lab's time and its mistake gates' share, so the cost of the catalogue shows in CI's log.
    t.diagnostic(describeVerdict(v)[0]!);
    assert.ok(v.passed, describeVerdict(v).join('\n'));
  });
}
