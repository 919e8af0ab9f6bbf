// npm run bench:cluster-size -- --url http://127.0.0.1:3000 <lab-id>… — what a running cluster costs
// the host, by lab shape: through a running kubedrill server (single mode, e.g. the container of
// compose.yaml), starts each lab in turn, waits until it is ready, opens a workstation terminal and runs
// `kubectl get nodes` in it, then samples `docker stats` of the attempt's node containers and its
// workstation, finishes the attempt and waits until its containers are gone. One cluster at a time:
// on a shared machine run it under the cluster lock (README "Self-hosting").
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { createCommandRunner } from '../../server/src/exec/command-runner.ts';
import { parseSize } from '../../server/src/groups/usage.ts';
import { WireClient } from '../../server/src/terminal/wire-client.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: 'string', default: 'http://127.0.0.1:3000' }, samples: { type: 'string', default: '6' }, settle: { type: 'string', default: '20' } },
});
if (positionals.length === 0) {
  console.error('usage: npm run bench:cluster-size -- [--url http://127.0.0.1:3000] [--samples 6] [--settle 20] <lab-id>…');
  process.exit(2);
}
const base = values.url.replace(/\/$/, '');
const runner = createCommandRunner({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' });

const session = await fetch(`${base}/api/session`, { signal: AbortSignal.timeout(10_000) });
const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
if (!cookie) throw new Error(`${base} handed out no session: this tool needs a single-mode server`);

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Attempt {
  id: string;
  status: string;
  shape: string;
  clusterName: string | null;
  createdAt: string;
  readyAt: string | null;
  failure: { step: string | null; message: string } | null;
}

/** Runs `kubectl get nodes` in a workstation terminal of the attempt; resolves with the Ready count. */
async function workstationNodes(attemptId: string): Promise<number> {
  const terminal = await call<{ id: string }>('POST', `/api/attempts/${attemptId}/terminals`, { kind: 'shell' });
  const ticket = await call<{ protocols: string[]; path: string }>('POST', `/api/attempts/${attemptId}/terminals/${terminal.id}/tickets`, {});
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}${ticket.path}`, ticket.protocols, { headers: { origin: base, cookie } });
  const client = new WireClient((f) => ws.send(f), { autoAck: true });
  ws.on('message', (d: Buffer) => client.receive(d));
  try {
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    client.attach(0, 160, 40);
    await client.waitForText('candidate@', 60_000);
    client.input("kubectl get nodes --no-headers | grep -c ' Ready '; echo NODES''DONE\r");
    await client.waitForText(/(\d+)\s+NODESDONE/, 60_000);
    return Number(/(\d+)\s+NODESDONE/.exec(client.text())?.[1]);
  } finally {
    ws.close();
  }
}

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
  let attempt = await call<Attempt>('POST', '/api/attempts', { labId });
  while (!['ready', 'failed', 'expired', 'finished'].includes(attempt.status)) {
    await sleep(2000);
    attempt = await call<Attempt>('GET', `/api/attempts/${attempt.id}`);
  }
  if (attempt.status !== 'ready' || !attempt.clusterName) {
    console.error(`${labId}: ${attempt.status} at ${attempt.failure?.step ?? '?'}: ${attempt.failure?.message ?? ''}`);
    process.exitCode = 1;
    continue;
  }
  const startSeconds = (Date.parse(attempt.readyAt ?? '') - Date.parse(attempt.createdAt)) / 1000;
  const cluster = attempt.clusterName;
  try {
    const ready = await workstationNodes(attempt.id);
    await sleep(Number(values.settle) * 1000); // the first seconds after ready are the lab's own start-up
    const nodes = await containersOf(cluster);
    const workstation = await workstationOf(attempt.id);
    const samples: { cpu: number; mem: number; ws: { cpu: number; mem: number } }[] = [];
    for (let i = 0; i < Number(values.samples); i++) samples.push({ ...(await sample(nodes)), ws: await sample(workstation) });
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const max = (xs: number[]) => Math.max(...xs);
    const row = `| ${labId} | ${attempt.shape} | ${nodes.length} | ${startSeconds.toFixed(0)} s | ${(med(samples.map((s) => s.mem)) / MiB).toFixed(0)} MiB (max ${(max(samples.map((s) => s.mem)) / MiB).toFixed(0)}) | ${med(samples.map((s) => s.cpu)).toFixed(0)} % (max ${max(samples.map((s) => s.cpu)).toFixed(0)}) | ${(med(samples.map((s) => s.ws.mem)) / MiB).toFixed(0)} MiB | ${ready} Ready |`;
    console.log(row);
    rows.push(row);
  } finally {
    await call('POST', `/api/attempts/${attempt.id}/finish`, {});
    for (let i = 0; i < 60 && (await containersOf(cluster)).length > 0; i++) await sleep(2000);
  }
}
console.log('\n| lab | shape | node containers | Start → ready | memory, median of samples | CPU (% of one core), median | workstation memory | workstation `kubectl get nodes` |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
