// npm run labs:verify [lab-id …] [--keep] — honesty gates on real kind clusters: for each lab a fresh
// cluster of its shape, its setup (then every task must score 0), its reference solution (then the
// lab must score 100%), graded twice. Labs that cannot get a cluster here are skipped with the reason.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createKubePort } from '../graders/src/cluster/kube-port.ts';
import type { KubeObject } from '../graders/src/cluster/port.ts';
import { createKubeconfigScriptRunner } from '../graders/src/cluster/script-runner.ts';
import { runHonestyGates } from '../graders/src/engine/gates.ts';
import { createCommandRunner } from '../server/src/exec/command-runner.ts';
import { gradableLab, labStates } from '../server/src/grading/lab-states.ts';
import { LabCatalog } from '../server/src/labs/catalog-service.ts';
import type { Lab } from '../server/src/labs/loader.ts';
import { DEFAULT_NODE_IMAGE } from '../server/src/provisioner/kind-config.ts';
import { KindDriver } from '../server/src/provisioner/kind-driver.ts';
import { verifyNetworkPolicy } from '../server/src/provisioner/netpol-selftest.ts';
import { applyLabSetup, notReady } from '../server/src/provisioner/setup.ts';
import type { StepSink } from '../server/src/provisioner/steps.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { keep: { type: 'boolean', default: false }, 'node-image': { type: 'string' } } });

// A command-line tool: its child processes get only what they need from this shell.
const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir() };
const runner = createCommandRunner(env);
const work = mkdtempSync(path.join(tmpdir(), 'kubedrill-verify-'));
const driver = new KindDriver({ runner, clustersDir: work, namePrefix: 'kdverify', nodeImage: values['node-image'] ?? DEFAULT_NODE_IMAGE, createTimeoutMs: 15 * 60_000 });
const onStep: StepSink = (e) => {
  if (e.status !== 'running') console.log(`    ${e.status === 'done' ? '✓' : '✗'} ${e.step}`);
};

async function preflight(): Promise<string | undefined> {
  for (const argv of [
    ['docker', 'info', '--format', '{{.ServerVersion}}'],
    ['kind', 'version'],
    ['kubectl', 'version', '--client'],
  ]) {
    try {
      await runner.run({ argv, timeoutMs: 20_000 });
    } catch (e) {
      return `${argv[0]} is not usable here: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  return undefined;
}

async function waitReady(port: ReturnType<typeof createKubePort>, objects: readonly KubeObject[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problems = await notReady(port, objects, { timeoutMs: 15_000 });
    if (problems.length === 0) return;
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs / 1000} s: ${problems.slice(0, 3).join('; ')}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function verify(lab: Lab): Promise<'passed' | 'failed' | 'skipped'> {
  console.log(`\n${lab.id}`);
  const name = driver.newName();
  let cluster;
  try {
    cluster = await driver.create(name, lab.meta.cluster, onStep);
  } catch (e) {
    console.log(`  skipped: no cluster could be created here: ${(e as Error).message.split('\n')[0]}`);
    await driver.delete(name).catch(() => {});
    return 'skipped';
  }
  try {
    await driver.preloadImages(name, lab.meta.images);
    const port = createKubePort(cluster.kubeconfigPath);
    if (lab.meta.cluster.networkPolicy) await verifyNetworkPolicy(cluster, { port, runner }, onStep);
    const { solution } = await labStates(lab);
    const result = await runHonestyGates({
      lab: gradableLab(lab),
      port,
      scripts: createKubeconfigScriptRunner(runner, cluster.kubeconfigPath),
      setup: () => applyLabSetup({ dir: lab.dir, setupManifests: lab.files.setupManifests, setupScript: lab.files.setupScript }, cluster, { port, runner }, onStep, { timeoutMs: 300_000 }),
      solution: async () => {
        // The same field manager as setup, so fields the solution changes are replaced, not merged.
        if (solution.length) await port.apply(solution, { fieldManager: 'kubedrill-setup', timeoutMs: 120_000 });
        if (lab.files.solutionScript) await runner.run({ argv: ['bash', path.join(lab.dir, lab.files.solutionScript)], cwd: lab.dir, env: { KUBECONFIG: cluster.kubeconfigPath }, timeoutMs: 300_000 });
        await waitReady(port, solution, 300_000);
      },
    });
    for (const g of result.gates) {
      console.log(`  ${g.passed ? '✓' : '✗'} ${g.name} (${g.report.score}/${g.report.maxScore})`);
      for (const p of g.problems) console.log(`      ${p}`);
    }
    return result.passed ? 'passed' : 'failed';
  } catch (e) {
    console.log(`  ✗ could not run the gates: ${(e as Error).message}`);
    return 'failed';
  } finally {
    if (values.keep) console.log(`  kept cluster ${name} (kubeconfig ${cluster.kubeconfigPath})`);
    else await driver.delete(name).catch((e: Error) => console.log(`  could not delete cluster ${name}: ${e.message}`));
  }
}

const catalog = new LabCatalog(path.join(ROOT, 'labs'));
await catalog.reload();
catalog.compiler.close();
const unknown = positionals.filter((id) => !catalog.get(id));
if (unknown.length) {
  console.error(`no lab ${unknown.join(', ')}; labs: ${catalog.current.labs.map((l) => l.id).join(', ')}`);
  process.exit(2);
}
const labs = positionals.length ? positionals.map((id) => catalog.get(id) as Lab) : catalog.current.labs;
const why = await preflight();
if (why) {
  console.log(`labs:verify skipped ${labs.length} lab(s): ${why}`);
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}
const counts = { passed: 0, failed: 0, skipped: 0 };
for (const lab of labs) counts[await verify(lab)]++;
rmSync(work, { recursive: true, force: true });
console.log(`\n${labs.length} lab(s): ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
process.exitCode = counts.failed ? 1 : 0;
