// npm run bench:behind-proxy -- --url https://localhost:3105 --ca <root.crt> --invite <code> [--lab <lab-id>]
// What a learner's browser does through a TLS reverse proxy in front of a multi-mode kubedrill server
// (README "Exposing a server to a study group"), each step timed and checked:
//   the page (HSTS, CSP), registration and login with a Secure cookie, rate limits keyed on the
//   client's address (X-Forwarded-For with trustProxy: clients on different loopback addresses
//   127.0.0.x are different learners to the server), and — with --lab, which creates a real cluster,
//   so run it under the cluster lock — a lab started, its Server-Sent Events progress arriving as the
//   steps happen (not buffered until the stream ends), a terminal WebSocket upgraded through the proxy
//   running `kubectl get nodes`, Check, and Finish with the cluster and workstation gone.
// Every request goes to --url, which must be on this machine.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { createCommandRunner } from '../../server/src/exec/command-runner.ts';
import { WireClient } from '../../server/src/terminal/wire-client.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'https://localhost:3105' },
    ca: { type: 'string' },
    invite: { type: 'string' },
    lab: { type: 'string' },
  },
});
if (!values.ca || !values.invite) {
  console.error('usage: npm run bench:behind-proxy -- --url https://localhost:3105 --ca <proxy root CA .crt> --invite <auth.inviteCode> [--lab <lab-id>]');
  process.exit(2);
}
const base = values.url.replace(/\/$/, '');
const ca = readFileSync(values.ca);
const host = new URL(base).hostname;
if (!/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(host)) throw new Error(`${base}: this tool talks to a proxy on this machine only`);
const runner = createCommandRunner({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' });
const t0 = Date.now();
const at = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
let failures = 0;
function check(ok: boolean, what: string): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} [${at()}] ${what}`);
  if (!ok) failures++;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
/** One HTTPS request through the proxy from the given loopback source address. */
function request(method: string, path: string, o: { from?: string; cookie?: string; body?: unknown } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    const req = https.request(
      `${base}${path}`,
      {
        method,
        ca,
        localAddress: o.from ?? '127.0.0.1',
        headers: { origin: base, ...(o.cookie ? { cookie: o.cookie } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
        timeout: 60_000,
      },
      (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (body += c))
          .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 60 s`))).on('error', reject);
    req.end(payload);
  });
}
const cookieOf = (a: Answer) => String([a.headers['set-cookie']].flat()[0] ?? '');

// The page.
const page = await request('GET', '/');
check(page.status === 200 && /<script[^>]+src="\/assets\//.test(page.body), `GET / through the proxy: ${page.status}, the built web app`);
check(/max-age=\d+/.test(String(page.headers['strict-transport-security'] ?? '')), `HSTS: ${page.headers['strict-transport-security']}`);
check(/connect-src 'self'/.test(String(page.headers['content-security-policy'] ?? '')), "Content-Security-Policy with connect-src 'self'");

// Registration and login: the cookie must be Secure (publicUrl is https).
const user = `proxy-${randomBytes(3).toString('hex')}`;
const password = randomBytes(12).toString('hex');
const reg = await request('POST', '/api/session/register', { from: '127.0.0.5', body: { username: user, password, inviteCode: values.invite } });
const regCookie = cookieOf(reg);
check(
  reg.status === 200 && /;\s*Secure/i.test(regCookie) && /HttpOnly/i.test(regCookie),
  `register ${user}: ${reg.status}, Set-Cookie ${regCookie.replace(/=[^;]+/, '=…')}`,
);
const login = await request('POST', '/api/session/login', { from: '127.0.0.5', body: { username: user, password } });
const cookie = cookieOf(login).split(';')[0] ?? '';
check(login.status === 200 && /;\s*Secure/i.test(cookieOf(login)), `login: ${login.status}, Secure cookie`);
const me = await request('GET', '/api/session', { cookie });
check(me.status === 200 && me.body.includes(user), `GET /api/session with that cookie knows ${user}`);

// Rate limits see each client: wrong passwords (each for another name, so the per-account back-off
// never starts) from 127.0.0.7 until the per-address limit answers 429; 127.0.0.8 still logs in.
let tries = 0;
let limited: Answer | undefined;
for (; tries < 60 && !limited; tries++) {
  const r = await request('POST', '/api/session/login', { from: '127.0.0.7', body: { username: `nobody-${tries}`, password: 'wrong-password' } });
  if (r.status === 429) limited = r;
  else if (r.status !== 401) throw new Error(`a wrong password answered ${r.status}: ${r.body}`);
}
check(limited !== undefined, `client 127.0.0.7 limited after ${tries} wrong passwords (429, Retry-After ${limited?.headers['retry-after']})`);
const other = await request('POST', '/api/session/login', { from: '127.0.0.8', body: { username: user, password } });
check(other.status === 200, `client 127.0.0.8, same proxy, right password: ${other.status} (the limit keyed on the client, not the proxy)`);

if (values.lab) {
  // A real attempt: progress over SSE, watched as it arrives.
  const started = await request('POST', '/api/attempts', { cookie, body: { labId: values.lab } });
  if (started.status !== 201 && started.status !== 200) throw new Error(`start ${values.lab}: ${started.status} ${started.body}`);
  const attempt = JSON.parse(started.body) as { id: string };
  console.log(`     [${at()}] started ${values.lab}: attempt ${attempt.id}`);
  const arrivals: { type: string; name: string; ms: number }[] = [];
  const streamOpen = Date.now();
  const status = await new Promise<string>((resolve, reject) => {
    const req = https.request(`${base}/api/attempts/${attempt.id}/events`, { ca, headers: { cookie, accept: 'text/event-stream' } }, (res) => {
      let buf = '';
      let last = 'unknown';
      res
        .setEncoding('utf8')
        .on('data', (chunk: string) => {
          buf += chunk;
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const type = /^event: (.+)$/m.exec(block)?.[1];
            const data = /^data: (.+)$/m.exec(block)?.[1];
            if (!type || !data) continue;
            const e = JSON.parse(data) as { name?: string; state?: string };
            arrivals.push({ type, name: `${e.name ?? ''}${e.state ? ` ${e.state}` : ''}`, ms: Date.now() - streamOpen });
            if (type === 'status') last = e.name ?? last;
            if (type === 'status' && ['ready', 'failed', 'expired', 'finished'].includes(e.name ?? '')) {
              req.destroy();
              resolve(last);
            }
          }
        })
        .on('end', () => resolve(last))
        .on('error', reject);
    });
    req.on('error', (e) => (/aborted|socket hang up/.test(e.message) ? undefined : reject(e)));
    req.setTimeout(15 * 60_000, () => req.destroy(new Error('no ready within 15 min')));
    req.end();
  });
  const steps = arrivals.filter((a) => a.type === 'step');
  const spread = steps.length > 1 ? (steps.at(-1)?.ms ?? 0) - (steps[0]?.ms ?? 0) : 0;
  console.log(`     SSE events as they arrived (ms after the stream opened): ${arrivals.map((a) => `${a.type}:${a.name}@${a.ms}`).join(', ')}`);
  check(status === 'ready', `attempt ready after ${((Date.now() - streamOpen) / 1000).toFixed(0)} s of SSE`);
  // Buffered SSE would arrive in one lump when the stream ends; streamed, steps arrive over the start.
  check(steps.length >= 4 && spread > 5000, `${steps.length} step events arrived spread over ${(spread / 1000).toFixed(1)} s while the stream stayed open`);

  // The terminal WebSocket through the proxy.
  const terminal = JSON.parse((await request('POST', `/api/attempts/${attempt.id}/terminals`, { cookie, body: { kind: 'shell' } })).body) as { id: string };
  const ticket = JSON.parse((await request('POST', `/api/attempts/${attempt.id}/terminals/${terminal.id}/tickets`, { cookie, body: {} })).body) as {
    protocols: string[];
    path: string;
  };
  const ws = new WebSocket(`${base.replace(/^https/, 'wss')}${ticket.path}`, ticket.protocols, { ca, headers: { origin: base, cookie } });
  const client = new WireClient((f) => ws.send(f), { autoAck: true });
  ws.on('message', (d: Buffer) => client.receive(d));
  try {
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    check(true, 'terminal WebSocket upgraded through the proxy (wss)');
    client.attach(0, 160, 40);
    await client.waitForText('candidate@', 60_000);
    client.input("kubectl get nodes --no-headers | grep -c ' Ready '; echo NODES''DONE\r");
    await client.waitForText(/(\d+)\s+NODESDONE/, 60_000);
    const ready = Number(/(\d+)\s+NODESDONE/.exec(client.text())?.[1]);
    check(ready >= 1, `kubectl get nodes in the workstation: ${ready} Ready`);
  } finally {
    ws.close();
  }

  const gradeStart = Date.now();
  const grade = await request('POST', `/api/attempts/${attempt.id}/grade`, { cookie, body: {} });
  const g = JSON.parse(grade.body) as { score: number; maxScore: number };
  check(grade.status === 200, `Check: ${g.score}/${g.maxScore} in ${((Date.now() - gradeStart) / 1000).toFixed(1)} s`);
  const fin = await request('POST', `/api/attempts/${attempt.id}/finish`, { cookie, body: {} });
  check(fin.status === 200, `Finish: ${fin.status}`);
  const cluster = (JSON.parse(fin.body) as { clusterName: string | null }).clusterName;
  const left = async () =>
    (await runner.run({ argv: ['docker', 'ps', '-q', '--filter', `label=io.x-k8s.kind.cluster=${cluster}`], timeoutMs: 30_000 })).stdout.trim() +
    (await runner.run({ argv: ['docker', 'ps', '-q', '--filter', `label=io.kubedrill.workstation=${attempt.id}`], timeoutMs: 30_000 })).stdout.trim();
  const finStart = Date.now();
  while ((await left()) && Date.now() - finStart < 120_000) await new Promise((r) => setTimeout(r, 2000));
  check(!(await left()), `cluster ${cluster} and the workstation gone ${((Date.now() - finStart) / 1000).toFixed(0)} s after Finish`);
}
console.log(failures === 0 ? 'all passed' : `${failures} check(s) failed`);
process.exitCode = failures === 0 ? 0 : 1;
