// npm run bench:cluster-size -- --url http://127.0.0.1:3000 <lab-id>… — what a running cluster costs
// the host, by lab shape: through a running kubedrill server (single mode, e.g. the container of
// compose.yaml), starts each lab in turn, waits until it is ready, opens a workstation terminal and runs
// `kubectl get nodes` in it, then samples `docker stats` of the attempt's node containers and its
// workstation, presses Check (grades the untouched lab: the score right after setup), finishes the
// attempt and waits until its node containers and its workstation are gone. One cluster at a time:
// on a shared machine run it under the cluster lock (README "Self-hosting").
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createCommandRunner } from '../../server/src/exec/command-runner.ts';
import { parseSize } from '../../server/src/groups/usage.ts';
import { ServerClient } from '../lib/server-client.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: 'string', default: 'http://127.0.0.1:3000' }, samples: { type: 'string', default: '6' }, settle: { type: 'string', default: '20' } },
});
if (positionals.length === 0) {
  console.error('usage: npm run bench:cluster-size -- [--url http://127.0.0.1:3000] [--samples 6] [--settle 20] <lab-id>…');
  process.exit(2);
}
const client = await ServerClient.single(values.url);
const runner = createCommandRunner({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' });

async function containersOf(cluster: string): Promise<string[]> {
  const r = await runner.run({ argv: ['docker', 'ps', '-q', '--filter', `label=io.x-k8s.kind.cluster=${cluster}`], timeoutMs: 30_000 });
  return r.stdout.split('\n').filter(Boolean);
}

async function workstationOf(attemptId: string): Promise<string[]> {
  const r = await runner.run({ argv: ['docker', 'ps', '-q', '--filter', `label=io.kubedrill.workstation=${attemptId}`], timeoutMs: 30_000 });
  return r.stdout.split('\n').filter(Boolean);
}

/** One `docker stats` sample of the given containers: CPU (% of one core) and memory, summed. */
async function sample(ids: string[]): Promise<{ cpu: number; mem: number }> {
  if (ids.length === 0) return { cpu: 0, mem: 0 };
  const r = await runner.run({ argv: ['docker', 'stats', '--no-stream', '--format', '{{.CPUPerc}}|{{.MemUsage}}', ...ids], timeoutMs: 60_000 });
  let cpu = 0;
  let mem = 0;
  for (const line of r.stdout.split('\n').filter(Boolean)) {
    const [c = '', m = ''] = line.split('|');
    cpu += Number.parseFloat(c) || 0;
    mem += parseSize(m.split('/')[0] ?? '') || 0;
  }
  return { cpu, mem };
}

const MiB = 1024 ** 2;
const rows: string[] = [];
for (const labId of positionals) {
  const attempt = await client.startLab(labId);
  if (attempt.status !== 'ready' || !attempt.clusterName) {
    console.error(`${labId}: ${attempt.status} at ${attempt.failure?.step ?? '?'}: ${attempt.failure?.message ?? ''}`);
    process.exitCode = 1;
    continue;
  }
  const startSeconds = (Date.parse(attempt.readyAt ?? '') - Date.parse(attempt.createdAt)) / 1000;
  const cluster = attempt.clusterName;
  try {
    const ready = await client.workstationReadyNodes(attempt.id);
    await sleep(Number(values.settle) * 1000); // the first seconds after ready are the lab's own start-up
    const nodes = await containersOf(cluster);
    const workstation = await workstationOf(attempt.id);
    const samples: { cpu: number; mem: number; ws: { cpu: number; mem: number } }[] = [];
    for (let i = 0; i < Number(values.samples); i++) samples.push({ ...(await sample(nodes)), ws: await sample(workstation) });
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const max = (xs: number[]) => Math.max(...xs);
    const gradeStart = Date.now();
    const grade = await client.call<{ score: number; maxScore: number; report: { tasks: { checks: unknown[] }[] } }>(
      'POST',
      `/api/attempts/${attempt.id}/grade`,
      {},
      120_000,
    );
    const checks = grade.report.tasks.reduce((n, t) => n + t.checks.length, 0);
    const gradeSeconds = (Date.now() - gradeStart) / 1000;
    const row = `| ${labId} | ${attempt.shape} | ${nodes.length} | ${startSeconds.toFixed(0)} s | ${(med(samples.map((s) => s.mem)) / MiB).toFixed(0)} MiB (max ${(max(samples.map((s) => s.mem)) / MiB).toFixed(0)}) | ${med(samples.map((s) => s.cpu)).toFixed(0)} % (max ${max(samples.map((s) => s.cpu)).toFixed(0)}) | ${(med(samples.map((s) => s.ws.mem)) / MiB).toFixed(0)} MiB | ${ready} Ready | ${grade.score}/${grade.maxScore}, ${checks} checks, ${gradeSeconds.toFixed(1)} s |`;
    console.log(row);
    rows.push(row);
  } finally {
    const finishStart = Date.now();
    await client.call('POST', `/api/attempts/${attempt.id}/finish`, {});
    const left = async () => [...(await containersOf(cluster)), ...(await workstationOf(attempt.id))];
    for (let i = 0; i < 60 && (await left()).length > 0; i++) await sleep(2000);
    const remaining = await left();
    if (remaining.length > 0) {
      console.error(`${labId}: ${remaining.length} container(s) of ${cluster} or its workstation still there 120 s after Finish`);
      process.exitCode = 1;
    } else console.error(`${labId}: finished; cluster and workstation gone after ${((Date.now() - finishStart) / 1000).toFixed(0)} s`);
  }
}
console.log(
  '\n| lab | shape | node containers | Start → ready | memory, median of samples | CPU (% of one core), median | workstation memory | workstation `kubectl get nodes` | Check right after setup |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
