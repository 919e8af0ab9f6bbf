// npm run bench:terminal — kubedrill's terminal against ttyd, side by side, on loopback.
// Same machine, same shell command, permessage-deflate off, 1 warm-up + 5 runs; prints median and
// spread. Server CPU is counted from the start of a stream until 1.5 s after its end. ttyd runs in a container (kubedrill/bench-ttyd:sid, made by scripts/build-images ttyd)
// with --network host, so nothing from Debian sid lands on this host. Both servers run at once and
// their runs alternate (the first side alternates too), so load from other work on the machine
// falls on both alike.
//   --mb N              size of the base64 stream (default 200)
//   --runs N            measured runs (default 5)
//   --parsed-mb N       size of the stream a client parses with xterm.js (default: --mb; the ttyd
//                       client's flow control lets a loaded machine overflow xterm.js beyond ~100 MB)
//   --only NAME         measure only kubedrill or only ttyd
//   --node-args "…"     extra node flags for the kubedrill server (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p")
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import xtermHeadless from '@xterm/headless';
import WebSocket from 'ws';
import { DATA_HEADER, Op, TERMINAL_SUBPROTOCOL, TICKET_SUBPROTOCOL_PREFIX } from '../../server/src/terminal/protocol.ts';
import { freePort } from '../../server/src/testing/free-port.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const strArg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const MB = arg('--mb', 200);
const RUNS = arg('--runs', 5);
const PARSED_MB = arg('--parsed-mb', MB);
const ONLY = strArg('--only');
const NODE_ARGS = (strArg('--node-args') ?? '').split(' ').filter(Boolean);
const KEYS = 2000;
const SETTLE_MS = 1500;
const TTYD_IMAGE = 'kubedrill/bench-ttyd:sid';
const END = '__KD_END__';
const PROMPT = 'KDB$ ';

/** A terminal client the benchmark drives: raw bytes in, keystrokes out. */
interface Driver {
  name: string;
  pid: number;
  /** Consumer of output; `parse` routes output through a headless xterm.js before acknowledging. */
  onOutput: (data: Buffer) => void;
  parse: boolean;
  input(s: string): void;
  close(): Promise<void>;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (100/s)
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function newTerm() {
  return new xtermHeadless.Terminal({ cols: 120, rows: 40, scrollback: 1000, allowProposedApi: true });
}

/** A server under test; `file` is the stream's path as its shells see it. */
interface Server {
  driver: () => Promise<Driver>;
  stop: () => Promise<void>;
  pid: number;
}

// ── kubedrill ────────────────────────────────────────────────────────────

async function kubedrill(): Promise<Server> {
  const port = await freePort();
  // The flags scripts/start and npm start give the server.
  const child = spawn(process.execPath, ['--max-semi-space-size=4', ...NODE_ARGS, path.join(ROOT, 'scripts/bench/terminal-server.ts'), String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', () => reject(new Error('the kubedrill server exited')));
  });
  const base = `http://127.0.0.1:${port}`;
  const origin = base;
  const session = await fetch(`${base}/api/session`);
  const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0]!;
  const headers = { cookie, origin, 'content-type': 'application/json' };
  const driver = async (): Promise<Driver> => {
    const t = (await (await fetch(`${base}/api/attempts/bench/terminals`, { method: 'POST', headers, body: '{"kind":"shell"}' })).json()) as { id: string };
    const tk = (await (await fetch(`${base}/api/attempts/bench/terminals/${t.id}/tickets`, { method: 'POST', headers, body: '{}' })).json()) as {
      ticket: string;
      path: string;
    };
    const ws = new WebSocket(`ws://127.0.0.1:${port}${tk.path}`, [TERMINAL_SUBPROTOCOL, TICKET_SUBPROTOCOL_PREFIX + tk.ticket], {
      headers: { cookie, origin },
      perMessageDeflate: false,
    });
    const term = newTerm();
    const d: Driver = {
      name: 'kubedrill',
      pid: child.pid!,
      parse: false,
      onOutput: () => {},
      input: (s) => ws.send(Buffer.concat([Buffer.from([Op.input]), Buffer.from(s)])),
      close: async () => {
        ws.close();
        await fetch(`${base}/api/attempts/bench/terminals/${t.id}`, { method: 'DELETE', headers: { cookie, origin } });
      },
    };
    const ack = (n: number) => {
      const f = Buffer.alloc(5);
      f[0] = Op.ack;
      f.writeUInt32BE(n, 1);
      ws.send(f);
    };
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    ws.on('message', (buf: Buffer) => {
      const op = buf[0];
      if (op === Op.output || op === Op.snapshot) {
        const data = buf.subarray(DATA_HEADER);
        if (d.parse) {
          term.write(data, () => {
            ack(data.length);
            d.onOutput(data);
          });
        } else {
          ack(data.length);
          d.onOutput(data);
        }
      } else if (op === Op.control && buf.includes('replay-done')) {
        ws.send(Buffer.concat([Buffer.from([Op.control]), Buffer.from('{"type":"ready"}')]));
        ready();
      }
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(Buffer.concat([Buffer.from([Op.control]), Buffer.from(JSON.stringify({ type: 'attach', from: 0, cols: 120, rows: 40 }))]));
    await isReady;
    return d;
  };
  const stop = async () => {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited; // a --cpu-prof profile is written on exit
  };
  return { driver, stop, pid: child.pid! };
}

// ── ttyd (subprotocol "tty": '0' input/output, '1' resize/title, '2' pause, '3' resume; first a JSON hello) ──

async function ttyd(dataDir: string): Promise<Server | string> {
  if (spawnSync('docker', ['image', 'inspect', TTYD_IMAGE], { stdio: 'ignore' }).status !== 0) {
    const b = spawnSync(path.join(ROOT, 'scripts/build-images'), ['ttyd'], { stdio: 'inherit' });
    if (b.status !== 0) return `ttyd image ${TTYD_IMAGE} could not be built (scripts/build-images ttyd)`;
  }
  const port = await freePort();
  const name = `kdtest-term-bench-ttyd-${process.pid}`;
  const r = spawnSync(
    'docker',
    [
      'run',
      '-d',
      '--rm',
      '--name',
      name,
      '--network',
      'host',
      '-v',
      `${dataDir}:/bench:ro`,
      '-e',
      'HOME=/tmp',
      TTYD_IMAGE,
      'ttyd',
      '-p',
      String(port),
      '-i',
      '127.0.0.1',
      '-W',
      'bash',
      '--norc',
      '-i',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return `ttyd container did not start: ${r.stderr.trim()}`;
  const pid = Number(spawnSync('docker', ['inspect', '-f', '{{.State.Pid}}', name], { encoding: 'utf8' }).stdout.trim());
  const stop = async () => void spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      await sleep(100);
    }
  }
  const driver = async (): Promise<Driver> => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ['tty'], { perMessageDeflate: false });
    const term = newTerm();
    // ttyd's own client flow control (html/src/components/terminal/xterm): count writes, pause above 10 pending.
    let written = 0;
    let pending = 0;
    const d: Driver = {
      name: 'ttyd',
      pid,
      parse: false,
      onOutput: () => {},
      input: (s) => ws.send(Buffer.concat([Buffer.from('0'), Buffer.from(s)])),
      close: async () => {
        ws.close();
        await sleep(100);
      },
    };
    ws.on('message', (buf: Buffer) => {
      if (buf[0] !== 0x30) return;
      const data = buf.subarray(1);
      if (!d.parse) return d.onOutput(data);
      written += data.length;
      if (written > 100_000) {
        term.write(data, () => {
          pending = Math.max(pending - 1, 0);
          if (pending < 4) ws.send(Buffer.from('3'));
          d.onOutput(data);
        });
        pending++;
        written = 0;
        if (pending > 10) ws.send(Buffer.from('2'));
      } else term.write(data, () => d.onOutput(data));
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(Buffer.from(JSON.stringify({ AuthToken: '', columns: 120, rows: 40 })));
    await sleep(300);
    return d;
  };
  return { driver, stop, pid };
}

// ── measurements ─────────────────────────────────────────────────────────

function waitFor(d: Driver, needle: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let tail = '';
    const timer = setTimeout(() => reject(new Error(`${d.name}: timed out waiting for ${JSON.stringify(needle)}`)), timeoutMs);
    d.onOutput = (data) => {
      const s = tail + data.toString('latin1');
      if (s.includes(needle)) {
        clearTimeout(timer);
        d.onOutput = () => {};
        resolve();
      } else tail = s.slice(-needle.length);
    };
  });
}

async function prepare(d: Driver) {
  const ok = waitFor(d, 'READY', 10_000);
  d.input(`PS1='K''DB$ '; stty cols 120 rows 40; echo RE''ADY\r`);
  await ok;
  await sleep(200);
}

async function throughput(d: Driver, file: string, bytes: number): Promise<number> {
  const done = waitFor(d, END, 600_000);
  const t0 = performance.now();
  d.input(`cat ${file}; echo __KD_''END__\r`);
  await done;
  const s = (performance.now() - t0) / 1000;
  await sleep(300);
  return bytes / 1e6 / s;
}

async function echoLatencies(d: Driver): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < KEYS; i++) {
    const key = i % 2 === 0 ? 'x' : '\x7f';
    const got = new Promise<void>((r) => (d.onOutput = () => r()));
    const t0 = performance.now();
    d.input(key);
    await got;
    out.push(performance.now() - t0);
  }
  d.onOutput = () => {};
  return out;
}

async function ctrlC(d: Driver): Promise<number> {
  d.parse = true;
  d.input('yes\r');
  await sleep(700);
  const back = waitFor(d, PROMPT, 30_000);
  const t0 = performance.now();
  d.input('\x03');
  await back;
  const ms = performance.now() - t0;
  d.parse = false;
  await sleep(500);
  return ms;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]) => pct(xs, 50);
const spread = (xs: number[], digits: number) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

interface Result {
  raw: number[];
  parsed: number[];
  echoP50: number[];
  echoP99: number[];
  ctrlC: number[];
  cpuPer100: number[];
  rss: number;
}

async function runOnce(server: Server, d: Driver, dataDir: string, r: Result, warm: boolean, run: number) {
  d.parse = false;
  const c0 = cpuSeconds(server.pid);
  const raw = await throughput(d, `${dataDir}/${streams.raw.name}`, streams.raw.bytes);
  await sleep(SETTLE_MS); // work a server defers until output pauses counts too
  const cpu = ((cpuSeconds(server.pid) - c0) / (streams.raw.bytes / 1e6)) * 100;
  d.parse = true;
  const parsed = await throughput(d, `${dataDir}/${streams.parsed.name}`, streams.parsed.bytes);
  d.parse = false;
  const lat = await echoLatencies(d);
  d.input('\x15');
  await sleep(200);
  const cc = await ctrlC(d);
  process.stdout.write(
    `  ${d.name} ${warm ? 'warm-up' : `run ${run}`}: raw ${raw.toFixed(0)} MB/s, parsed ${parsed.toFixed(0)} MB/s, echo p50 ${median(lat).toFixed(2)} ms p99 ${pct(lat, 99).toFixed(2)} ms, Ctrl-C ${cc.toFixed(0)} ms, CPU ${cpu.toFixed(2)} s/100 MB\n`,
  );
  if (warm) return;
  r.raw.push(raw);
  r.parsed.push(parsed);
  r.echoP50.push(median(lat));
  r.echoP99.push(pct(lat, 99));
  r.ctrlC.push(cc);
  r.cpuPer100.push(cpu);
}

const dir = mkdtempSync(path.join(tmpdir(), 'kdtest-term-bench-data-'));
/** Writes `mb` MB of base64 lines into dir/name. */
function makeStream(name: string, mb: number): { name: string; bytes: number } {
  const file = path.join(dir, name);
  spawnSync('sh', ['-c', `head -c ${Math.round((mb * 1e6 * 57) / 77)} /dev/urandom | base64 -w 76 > ${file}`]);
  return { name, bytes: statSync(file).size };
}
const raw = makeStream('data.b64', MB);
const streams = { raw, parsed: PARSED_MB === MB ? raw : makeStream('parsed.b64', PARSED_MB) };
console.log(
  `terminal benchmark: ${(streams.raw.bytes / 1e6).toFixed(0)} MB of base64 (${(streams.parsed.bytes / 1e6).toFixed(0)} MB through xterm.js), ${KEYS} keys, 1 warm-up + ${RUNS} runs each, interleaved, loopback, no compression`,
);

interface Side {
  server: Server;
  dataDir: string;
  d: Driver;
  r: Result;
}
const emptyResult = (): Result => ({ raw: [], parsed: [], echoP50: [], echoP99: [], ctrlC: [], cpuPer100: [], rss: 0 });
let oursResult: Result | string = 'not measured (--only)';
let ttydResult: Result | string = 'not measured (--only)';
const servers: Server[] = [];
const sides: Side[] = [];
try {
  if (ONLY !== 'ttyd') {
    const ours = await kubedrill();
    servers.push(ours);
    sides.push({ server: ours, dataDir: dir, d: await ours.driver(), r: (oursResult = emptyResult()) });
  }
  const peer = ONLY === 'kubedrill' ? undefined : await ttyd(dir);
  if (typeof peer === 'string') ttydResult = peer;
  else if (peer) {
    servers.push(peer);
    sides.push({ server: peer, dataDir: '/bench', d: await peer.driver(), r: (ttydResult = emptyResult()) });
  }
  for (const s of sides) await prepare(s.d);
  for (let run = 0; run <= RUNS; run++) {
    const order = run % 2 ? [...sides].reverse() : sides;
    for (const s of order) await runOnce(s.server, s.d, s.dataDir, s.r, run === 0, run);
  }
  for (const s of sides) {
    s.r.rss = peakRssMb(s.server.pid);
    await s.d.close();
  }
} finally {
  for (const s of servers) await s.stop();
}
rmSync(dir, { recursive: true, force: true });

const cell = (r: Result | string, f: (r: Result) => string) => (typeof r === 'string' ? 'n/a' : f(r));
const rows: [string, (r: Result) => string][] = [
  ['throughput, raw (MB/s)', (r) => `${median(r.raw).toFixed(0)} (${spread(r.raw, 0)})`],
  ['throughput through headless xterm.js (MB/s)', (r) => `${median(r.parsed).toFixed(0)} (${spread(r.parsed, 0)})`],
  ['keystroke echo p50 (ms)', (r) => `${median(r.echoP50).toFixed(2)} (${spread(r.echoP50, 2)})`],
  ['keystroke echo p99 (ms)', (r) => `${median(r.echoP99).toFixed(2)} (${spread(r.echoP99, 2)})`],
  ['Ctrl-C under `yes` → prompt (ms)', (r) => `${median(r.ctrlC).toFixed(0)} (${spread(r.ctrlC, 0)})`],
  ['server CPU per 100 MB (s)', (r) => `${median(r.cpuPer100).toFixed(2)} (${spread(r.cpuPer100, 2)})`],
  ['server peak RSS (MB)', (r) => r.rss.toFixed(0)],
];
console.log(`\n| metric (median, min–max of ${RUNS}) | kubedrill | ttyd 1.7 |\n| --- | --- | --- |`);
for (const [name, f] of rows) console.log(`| ${name} | ${cell(oursResult, f)} | ${cell(ttydResult, f)} |`);
if (typeof ttydResult === 'string' && ONLY !== 'kubedrill') console.log(`\nttyd not measured: ${ttydResult}`);
