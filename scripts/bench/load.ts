// npm run bench:load [-- --learners 40 --seconds 600] — a study group on one server, on loopback:
// N learners log in, join a group, start a lab (fake clusters: the server's own work, not kind's),
// hold a terminal WebSocket each (typing a line every 20 s), poll their attempt (5 s), browse the
// catalogue, a lab and its assignments (15 s); the instructor polls the live view (3 s). Reports
// requests, errors, p50/p99 latency and the server's RSS (its own process) over time.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { WireClient } from '../../server/src/terminal/wire-client.ts';
import { freePort } from '../../server/src/testing/free-port.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const LEARNERS = arg('--learners', 40);
const SECONDS = arg('--seconds', 600);
const PASSWORD = 'load-test-password';

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const ORIGIN = base;
const server = spawn(process.execPath, [path.join(ROOT, 'scripts/bench/load-server.ts'), String(port), String(LEARNERS)], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise<void>((resolve, reject) => {
  server.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
  server.once('exit', (code) => reject(new Error(`the server exited (${code}) before it was ready`)));
});

const latencies: number[] = [];
const errors: string[] = [];
let requests = 0;
async function call(method: string, url: string, cookie: string | undefined, body?: unknown): Promise<Response> {
  const t0 = performance.now();
  requests++;
  let res: Response;
  try {
    res = await fetch(base + url, {
      method,
      headers: { origin: ORIGIN, ...(cookie ? { cookie } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch (e) {
    errors.push(`${method} ${url}: ${(e as Error).message}`);
    throw e;
  }
  latencies.push(performance.now() - t0);
  if (!res.ok) errors.push(`${method} ${url}: HTTP ${res.status} ${await res.clone().text()}`);
  return res;
}
const json = async <T>(p: Promise<Response>) => (await (await p).json()) as T;
async function login(username: string): Promise<string> {
  const res = await call('POST', '/api/session/login', undefined, { username, password: PASSWORD });
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const mib = (b: number) => `${(b / 1024 ** 2).toFixed(1)} MiB`;

const teacher = await login('teacher');
const group = await json<{ id: string; inviteCode: string }>(call('POST', '/api/groups', teacher, { name: 'load test' }));
const catalog = await json<{ labs: { id: string }[] }>(call('GET', '/api/labs', teacher));
const labIds = catalog.labs.map((l) => l.id);
for (const id of labIds.slice(0, 3)) await call('POST', `/api/groups/${group.id}/assignments`, teacher, { labId: id, dueAt: null });

interface Learner {
  cookie: string;
  attemptId: string;
  labId: string;
  ws: WebSocket;
  client: WireClient;
  closedUnexpectedly: boolean;
}
const learners: Learner[] = [];
let stopping = false;
const setupStart = performance.now();
for (let i = 0; i < LEARNERS; i++) {
  const cookie = await login(`learner${i}`);
  await call('POST', '/api/groups/join', cookie, { inviteCode: group.inviteCode });
  const labId = labIds[i % labIds.length]!;
  const attempt = await json<{ id: string; status: string }>(call('POST', '/api/attempts', cookie, { labId }));
  for (let s = attempt.status; s !== 'ready'; s = (await json<{ status: string }>(call('GET', `/api/attempts/${attempt.id}`, cookie))).status) await sleep(50);
  const terminal = await json<{ id: string }>(call('POST', `/api/attempts/${attempt.id}/terminals`, cookie, { kind: 'shell' }));
  const ticket = await json<{ protocols: string[]; path: string }>(call('POST', `/api/attempts/${attempt.id}/terminals/${terminal.id}/tickets`, cookie, {}));
  const ws = new WebSocket(`ws://127.0.0.1:${port}${ticket.path}`, ticket.protocols, { headers: { origin: ORIGIN, cookie } });
  const client = new WireClient((f) => ws.send(f), { autoAck: true });
  const learner: Learner = { cookie, attemptId: attempt.id, labId, ws, client, closedUnexpectedly: false };
  ws.on('message', (d: Buffer) => client.receive(d));
  ws.on('close', (code) => {
    if (!stopping) {
      learner.closedUnexpectedly = true;
      errors.push(`learner${i}: terminal closed (${code})`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  client.attach(0);
  learners.push(learner);
}
console.log(
  `${LEARNERS} learners logged in, started a lab and hold a terminal (${((performance.now() - setupStart) / 1000).toFixed(1)} s); running for ${SECONDS} s`,
);
// Latency is reported for the steady state (setup logs in: scrypt is slow on purpose).
const setupRequests = requests;
latencies.length = 0;
const timers: NodeJS.Timeout[] = [];
const every = (ms: number, f: () => Promise<unknown>) => {
  // Spread the clients over the period so they do not all fire at once.
  const t = setTimeout(() => timers.push(setInterval(() => void f().catch(() => {}), ms)), Math.random() * ms);
  timers.push(t);
};
learners.forEach((l, i) => {
  every(5000, () => call('GET', `/api/attempts/${l.attemptId}`, l.cookie));
  every(15_000, async () => {
    await call('GET', '/api/labs', l.cookie);
    const lab = await json<{ hash: string }>(call('GET', `/api/labs/${l.labId}`, l.cookie));
    await call('GET', `/api/labs/${l.labId}/body.js?v=${lab.hash}`, l.cookie);
    await call('GET', '/api/assignments', l.cookie);
  });
  let n = 0;
  every(20_000, async () => {
    const marker = `tick-${i}-${++n}`;
    l.client.input(`echo ${marker}\r`);
    await l.client.waitForText(marker, 10_000).catch(() => errors.push(`learner${i}: no echo of ${marker} within 10 s`));
  });
});
every(3000, () => call('GET', `/api/groups/${group.id}/activity`, teacher));

const samples: { at: number; rss: number }[] = [];
const started = performance.now();
samples.push({ at: 0, rss: rss() });
const sampler = setInterval(() => samples.push({ at: (performance.now() - started) / 1000, rss: rss() }), 5000);
await sleep(SECONDS * 1000);
stopping = true;
clearInterval(sampler);
for (const t of timers) clearInterval(t);
const csv = await call('GET', `/api/groups/${group.id}/results.csv`, teacher);
const rows = (await csv.text()).trim().split('\r\n').length - 1;
for (const l of learners) l.ws.close();
server.kill('SIGTERM');

const sorted = [...latencies].sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const afterMinute = samples.filter((s) => s.at >= Math.min(60, SECONDS / 2));
const firstAfter = afterMinute[0]?.rss ?? 0;
const last = samples.at(-1)?.rss ?? 0;
console.log(
  `requests ${requests - setupRequests} (after ${setupRequests} for setup), errors ${errors.length}${errors.length ? `: ${errors.slice(0, 5).join(' | ')}` : ''}`,
);
console.log(`latency p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms`);
console.log(
  `server RSS: start ${mib(samples[0]!.rss)}, at ${afterMinute[0]?.at.toFixed(0) ?? '?'} s ${mib(firstAfter)}, end ${mib(last)}, max after that ${mib(Math.max(...afterMinute.map((s) => s.rss)))}; growth after the first minute ${mib(last - firstAfter)}`,
);
console.log(`CSV export: ${rows} rows; terminals closed unexpectedly: ${learners.filter((l) => l.closedUnexpectedly).length}`);
process.exit(errors.length ? 1 : 0);
