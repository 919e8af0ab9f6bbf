// npm run bench — numbers for the lab catalog, printed (never asserted):
//   1. cold bundle of every shipped lab (fresh MDX compiler, no cache)      goal ≤ 3 s
//   2. warm GET /api/labs/:id latency, in-process (inject) and over loopback HTTP   goal p95 ≤ 20 ms
//   3. resident memory of a real server (server/src/main.ts) idle after loading every lab   goal ≤ 150 MB
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp } from '../../server/src/app.ts';
import { loadConfig } from '../../server/src/config/config.ts';
import { MdxCompiler } from '../../server/src/labs/bundle.ts';
import { LabCatalog } from '../../server/src/labs/catalog-service.ts';
import { loadCatalog } from '../../server/src/labs/loader.ts';
import { openMemoryDatabase } from '../../server/src/storage/db.ts';
import { freePort } from '../../server/src/testing/free-port.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const LABS = path.join(ROOT, 'labs');

const ms = (n: number) => `${n.toFixed(1)} ms`;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const verdict = (ok: boolean) => (ok ? 'ok' : 'OVER GOAL');

function report(label: string, value: string, goal: string, ok: boolean) {
  console.log(`  ${label.padEnd(46)} ${value.padStart(12)}   goal ${goal.padEnd(9)} ${verdict(ok)}`);
}

async function coldBundle() {
  console.log('\n1. Cold bundle of all shipped labs');
  const runs: number[] = [];
  let labs = 0;
  for (let i = 0; i < 4; i++) {
    const compiler = new MdxCompiler();
    const started = performance.now();
    const catalog = await loadCatalog(LABS, compiler);
    runs.push(performance.now() - started);
    labs = catalog.labs.length;
    if (catalog.broken.length) throw new Error(`broken labs: ${catalog.broken.map((b) => b.id).join(', ')}`);
    if (compiler.compiles !== labs) throw new Error(`expected ${labs} compiles, saw ${compiler.compiles}`);
  }
  const [first, ...rest] = runs;
  const median = [...rest].sort((a, b) => a - b)[Math.floor(rest.length / 2)]!;
  console.log(`  ${labs} labs, load + validate + compile, no cache; first run includes esbuild start-up`);
  report('first cold load (fresh process)', ms(first!), '≤ 3000 ms', first! <= 3000);
  report(`cold load, median of ${rest.length} more (new compiler)`, ms(median), '≤ 3000 ms', median <= 3000);
  console.log(`  ${''.padEnd(46)} ${ms(median / labs).padStart(12)}   per lab`);

  const warm = new MdxCompiler();
  await loadCatalog(LABS, warm);
  const started = performance.now();
  await loadCatalog(LABS, warm);
  console.log(`  ${'reload with every lab cached in memory'.padEnd(46)} ${ms(performance.now() - started).padStart(12)}`);
}

async function latency() {
  console.log('\n2. Warm lab API latency, GET /api/labs/:id');
  const labs = new LabCatalog(LABS);
  await labs.reload();
  const port = await freePort();
  const boot = loadConfig({
    argv: ['--port', String(port), '--data-dir', mkdtempSync(path.join(tmpdir(), 'kd-bench-')), '--web-dir', '/nonexistent'],
    env: {},
    cwd: ROOT,
  });
  const app = await buildApp(boot, { db: openMemoryDatabase(), labs, logger: false });
  const ids = labs.current.labs.map((l) => l.id);
  const N = 2000;
  try {
    for (let i = 0; i < 200; i++) await app.inject({ method: 'GET', url: `/api/labs/${ids[i % ids.length]}` }); // warm-up
    const inject: number[] = [];
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      const res = await app.inject({ method: 'GET', url: `/api/labs/${ids[i % ids.length]}` });
      inject.push(performance.now() - t);
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    }
    await app.listen({ host: '127.0.0.1', port });
    const http: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 200; i++) await (await fetch(`http://127.0.0.1:${port}/api/labs/${ids[i % ids.length]}`)).arrayBuffer();
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/api/labs/${ids[i % ids.length]}`);
      bytes += (await res.arrayBuffer()).byteLength;
      http.push(performance.now() - t);
    }
    for (const [label, xs] of [
      ['in-process (app.inject)', inject],
      ['loopback HTTP (fetch, keep-alive)', http],
    ] as const) {
      const sorted = [...xs].sort((a, b) => a - b);
      console.log(
        `  ${label}: ${N} requests over ${ids.length} labs — p50 ${ms(quantile(sorted, 0.5))}, p99 ${ms(quantile(sorted, 0.99))}, max ${ms(sorted.at(-1)!)}`,
      );
      report(`  p95 ${label}`, ms(quantile(sorted, 0.95)), '≤ 20 ms', quantile(sorted, 0.95) <= 20);
    }
    console.log(`  average response ${(bytes / N / 1024).toFixed(1)} KiB (compiled instructions included)`);
  } finally {
    await app.close();
  }
}

async function idleRss() {
  console.log('\n3. Server memory at idle after loading every lab');
  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kd-bench-rss-'));
  // The real entry point, as `npm start` runs it (same V8 flags); a fresh data dir, so every lab is compiled cold.
  const child = spawn(
    process.execPath,
    [
      '--max-semi-space-size=4',
      path.join(ROOT, 'server', 'src', 'main.ts'),
      '--port',
      String(port),
      '--data-dir',
      dataDir,
      '--labs-dir',
      LABS,
      '--log-level',
      'warn',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('ready:')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code} before it was ready: ${out}`)));
    });
    const health = (await (await fetch(`http://127.0.0.1:${port}/api/health`)).json()) as { labs: { loaded: number } };
    await fetch(`http://127.0.0.1:${port}/api/labs`);
    await sleep(3000); // idle
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    const rss = kb('VmRSS') / 1024;
    console.log(`  ${health.labs.loaded} labs loaded; peak RSS during start-up ${(kb('VmHWM') / 1024).toFixed(1)} MB`);
    report('RSS at idle (server/src/main.ts)', `${rss.toFixed(1)} MB`, '≤ 150 MB', rss <= 150);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(`kubedrill catalog benchmark — Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), shared machine: expect noise`);
await coldBundle();
await latency();
await idleRss();
