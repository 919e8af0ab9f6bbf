import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { KubeObject } from '../../../graders/src/cluster/port.ts';
import type { GradableLab } from '../../../graders/src/engine/types.ts';
import { mistakeScripts, type Lab, type LabMistake } from '../labs/loader.ts';
import { parseManifests } from '../labs/manifests.ts';

/** The engine's view of a loaded lab: id, folder and tasks with their checks. */
export function gradableLab(lab: Lab): GradableLab {
  return { id: lab.id, dir: lab.dir, tasks: lab.meta.tasks };
}

async function readObjects(lab: Lab, files: readonly string[]): Promise<KubeObject[]> {
  // The catalog's copy of a parametrised lab still says {{name}}: only a draw of it can be applied.
  if (lab.params && !lab.draw)
    throw new Error(`lab ${lab.id} has params: read the states of a draw of it (labForAttempt / instantiateLab), not of the catalog's lab`);
  const out: KubeObject[] = [];
  for (const file of files) {
    const parsed = parseManifests(await readFile(path.join(lab.dir, file), 'utf8'), file);
    // The loader already rejected labs with manifest problems; these objects are plain data.
    for (const o of parsed.objects) out.push(JSON.parse(JSON.stringify(o.object)) as KubeObject);
  }
  return out;
}

/** The objects a lab's setup and reference solution apply, in file order. */
export async function labStates(lab: Lab): Promise<{ setup: KubeObject[]; solution: KubeObject[] }> {
  return { setup: await readObjects(lab, lab.files.setupManifests), solution: await readObjects(lab, lab.files.solutionManifests) };
}

/** Why a lab's gates cannot run on the in-memory model cluster, or undefined when they can. */
export function modelGateSkipReason(lab: Lab): string | undefined {
  return lab.gate === 'real' ? (lab.gateReason ?? 'the lab needs a real cluster') : undefined;
}

/** The objects one mistake applies after setup, in file order (its mistake.sh, if any, is separate). */
export async function mistakeObjects(lab: Lab, mistake: LabMistake): Promise<KubeObject[]> {
  return readObjects(lab, mistake.manifests);
}

/** Why a mistake cannot be gated on the model cluster, or undefined when it can. */
export function modelMistakeSkipReason(lab: Lab, mistake: LabMistake): string | undefined {
  const scripts = mistakeScripts(mistake);
  return modelGateSkipReason(lab) ?? (scripts.length ? `its ${scripts.join(', ')} can only run against a real cluster` : undefined);
}
