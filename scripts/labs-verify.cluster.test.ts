// The honesty gates of every shipped lab on real kind clusters (npm run labs:verify, as tests).
// Skips with the reason where no node image is available.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describeVerdict, LabVerifier, ROOT, verifyTarget } from './lib/labs-verify.ts';

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

let verifier: LabVerifier | undefined;
before(async () => {
  if (!('skip' in target)) verifier = await LabVerifier.create(target.image);
});
after(async () => verifier?.close());

for (const id of labIds) {
  test(`lab ${id}: nothing earns nothing, the solution earns everything, on a real cluster`, { skip: 'skip' in target ? target.skip : false }, async () => {
    const v = await verifier!.verify(id);
    assert.ok(v.passed, describeVerdict(v).join('\n'));
  });
}
