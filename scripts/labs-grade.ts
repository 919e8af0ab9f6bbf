// npm run labs:grade -- <lab-id> --cluster NAME [--param name=value …] [--labs-dir DIR] — grades a
// lab on a kind cluster that is already running: one kept by `labs:verify --keep`, or any kind
// cluster an instructor set up by hand. Prints every check (pass or not) with its explanation and its
// time, so an instructor can change the cluster by hand and grade again, as often as they like.
// Exit 0 when the lab scores full marks, 1 when it does not, 2 for bad input.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKubePort, createKubeconfigScriptRunner } from '../graders/src/cluster/kube-port.ts';
import type { NodeAccess } from '../graders/src/cluster/port.ts';
import { gradeLab } from '../graders/src/engine/engine.ts';
import { createCommandRunner, minimalEnv } from '../server/src/exec/command-runner.ts';
import { gradableLab } from '../server/src/grading/lab-states.ts';
import { LabCatalog } from '../server/src/labs/catalog-service.ts';
import { execOnKindNode } from '../server/src/terminal/launchers.ts';
import { labsDirOf } from './lib/labs-verify.ts';
import { parseCli } from './lib/cli.ts';

const USAGE = `usage: npm run labs:grade -- <lab-id> --cluster NAME [--param name=value …] [--labs-dir DIR]
  grades the lab on the running kind cluster NAME (kind get clusters lists them; labs:verify --keep prints it)
  --param name=value  the values a parametrised lab was set up with (labs:verify prints its draw); repeat per param
  workstation checks report an error here: a kept cluster has no learner workstation`;

const { values, positionals } = parseCli('labs:grade', USAGE, {
  allowPositionals: true,
  options: {
    cluster: { type: 'string' },
    param: { type: 'string', multiple: true, default: [] },
    'labs-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const [labId, ...extra] = positionals;
if (!labId || extra.length || !values.cluster) {
  console.error(`labs:grade: name one lab and --cluster\n${USAGE}`);
  process.exit(2);
}
const params: Record<string, string> = {};
for (const p of values.param) {
  const m = /^([A-Za-z][\w-]*)=(.*)$/.exec(p);
  if (!m) {
    console.error(`labs:grade: --param "${p}" is not name=value\n${USAGE}`);
    process.exit(2);
  }
  params[m[1]!] = m[2]!;
}

const runner = createCommandRunner(minimalEnv(process.env));
const labs = new LabCatalog(labsDirOf(values['labs-dir']));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kubedrill-grade-'));
try {
  await labs.reload();
  const catalogLab = labs.get(labId);
  if (!catalogLab) {
    const broken = labs.current.broken.find((b) => b.id === labId);
    console.error(
      `labs:grade: ${broken ? `lab "${labId}" is broken (npm run labs:check says why)` : `no lab "${labId}"; ids: ${labs.current.labs.map((l) => l.id).join(', ')}`}`,
    );
    process.exit(2);
  }
  const declared = Object.keys(catalogLab.params ?? {});
  const unknown = Object.keys(params).filter((n) => !declared.includes(n));
  const missing = declared.filter((n) => !(n in params));
  if (unknown.length || missing.length) {
    console.error(
      `labs:grade: ${[unknown.length ? `lab ${labId} has no param ${unknown.join(', ')}` : '', missing.length ? `give the value it was set up with for --param ${missing.map((n) => `${n}=…`).join(' ')}` : ''].filter(Boolean).join('; ')}`,
    );
    process.exit(2);
  }
  const lab = declared.length ? labs.forAttempt(labId, { [labId]: params })! : catalogLab;

  const cluster = values.cluster;
  const kc = await runner.run({ argv: ['kind', 'get', 'kubeconfig', '--name', cluster], timeoutMs: 30_000 }).catch((e: unknown) => e as Error);
  if (kc instanceof Error || kc.exitCode !== 0) {
    console.error(`labs:grade: kind has no cluster "${cluster}" (kind get clusters lists them): ${kc instanceof Error ? kc.message : kc.stderr.trim()}`);
    process.exit(2);
  }
  const kubeconfigPath = path.join(tmp, 'kubeconfig');
  writeFileSync(kubeconfigPath, kc.stdout, { mode: 0o600 });
  const nodes: NodeAccess = { exec: (node, argv, o) => execOnKindNode(runner, cluster, node, argv, o) };
  const report = await gradeLab(gradableLab(lab), {
    port: createKubePort(kubeconfigPath),
    scripts: createKubeconfigScriptRunner(runner, kubeconfigPath),
    nodes,
  });

  console.log(
    `${lab.id} on ${cluster}${
      lab.draw
        ? ` (params ${Object.entries(params)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')})`
        : ''
    }: ${report.score}/${report.maxScore} = ${report.percent}% (graded in ${(report.durationMs / 1000).toFixed(1)} s)`,
  );
  for (const t of report.tasks) {
    console.log(`  task ${t.id}: ${t.score}/${t.points}${t.vetoedBy?.length ? ` (vetoed by ${t.vetoedBy.join(', ')})` : ''}`);
    for (const c of t.checks) {
      const mark = c.status === 'pass' ? '✓' : c.status === 'fail' ? '✗' : '!';
      console.log(
        `    ${mark} ${c.id} ${c.status} ${c.points}/${c.maxPoints} (${(c.durationMs / 1000).toFixed(1)} s): ${c.explanation ?? c.actual ?? c.message}${c.scoreNote ? ` — ${c.scoreNote}` : ''}`,
      );
    }
  }
  process.exitCode = report.score === report.maxScore ? 0 : 1;
} finally {
  labs.compiler.close();
  rmSync(tmp, { recursive: true, force: true });
}
