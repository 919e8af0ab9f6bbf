import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type WebSocket from 'ws';
import { buildApp } from '../../app.ts';
import type { App } from '../../app-types.ts';
import { loadConfig } from '../../config/config.ts';
import { createCommandRunner } from '../../exec/command-runner.ts';
import { LabCatalog } from '../../labs/catalog-service.ts';
import { openMemoryDatabase } from '../../storage/db.ts';
import { StaticAttempts } from '../../terminal/attempts.ts';
import { HostLauncher } from '../../terminal/launchers.ts';
import { Close, TERMINAL_SUBPROTOCOL, TICKET_SUBPROTOCOL_PREFIX } from '../../terminal/protocol.ts';
import { SSH_SCRIPT } from '../../terminal/create-terminal-service.ts';
import { WireClient } from '../../terminal/wire-client.ts';
import { eventually } from '../../testing/eventually.ts';

// The terminal API and its WebSocket, through app.inject()/injectWS(): host-mode shells, real ptys.

const ORIGIN = 'http://127.0.0.1:3000';
const dir = mkdtempSync(path.join(tmpdir(), 'kdtest-term-'));
const attempts = new StaticAttempts();

async function makeApp(flags: string[] = [], now?: () => number): Promise<App> {
  const boot = loadConfig({ argv: ['--data-dir', dir, '--labs-dir', dir, ...flags], env: {}, cwd: dir });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
  const launcher = new HostLauncher({ runner: createCommandRunner(env), hostEnv: env, stateDir: path.join(dir, 'terminals'), sshScript: SSH_SCRIPT });
  return buildApp(boot, {
    checkResponses: true,
    db: openMemoryDatabase(),
    labs: new LabCatalog(dir),
    logger: false,
    attempts,
    shellLauncher: launcher,
    ...(now ? { now } : {}),
  });
}

let app: App;
let cookie: string;
before(async () => {
  attempts.add({ id: 'a1', learnerId: 'local', clusterName: 'kdtest-term-none', status: 'running' });
  attempts.add({ id: 'other', learnerId: 'someone-else', clusterName: 'x', status: 'running' });
  app = await makeApp();
  const res = await app.inject({ method: 'GET', url: '/api/session' });
  cookie = String(res.headers['set-cookie']).split(';')[0]!;
});
after(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

async function openTerminal(a = app, c = cookie): Promise<string> {
  const res = await a.inject({ method: 'POST', url: '/api/attempts/a1/terminals', headers: { cookie: c, origin: ORIGIN }, payload: { kind: 'shell' } });
  assert.equal(res.statusCode, 201, res.body);
  return (res.json() as { id: string }).id;
}

async function ticket(terminalId: string, a = app, c = cookie): Promise<string> {
  const res = await a.inject({ method: 'POST', url: `/api/attempts/a1/terminals/${terminalId}/tickets`, headers: { cookie: c, origin: ORIGIN } });
  assert.equal(res.statusCode, 200, res.body);
  return (res.json() as { ticket: string }).ticket;
}

interface Conn {
  ws: WebSocket;
  client: WireClient;
  closed: Promise<{ code: number; reason: string }>;
}

async function connect(terminalId: string, opts: { ticket?: string | null; origin?: string | null; cookie?: string | null; a?: App } = {}): Promise<Conn> {
  const a = opts.a ?? app;
  const t = opts.ticket === undefined ? await ticket(terminalId, a) : opts.ticket;
  const headers: Record<string, string> = { 'sec-websocket-protocol': [TERMINAL_SUBPROTOCOL, ...(t ? [TICKET_SUBPROTOCOL_PREFIX + t] : [])].join(', ') };
  if (opts.origin !== null) headers.origin = opts.origin ?? ORIGIN;
  if (opts.cookie !== null) headers.cookie = opts.cookie ?? cookie;
  let client!: WireClient;
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  const ws = await a.injectWS(`/api/attempts/a1/terminals/${terminalId}/socket`, { headers } as never, {
    onInit: (w: WebSocket) => {
      client = new WireClient((f) => w.send(f));
      w.on('message', (data: Buffer) => client.receive(data));
      w.on('close', (code: number, reason: Buffer) => resolveClosed({ code, reason: reason.toString() }));
    },
  });
  return { ws, client, closed };
}

async function expectRefused(p: Promise<unknown>, status: number) {
  await assert.rejects(p, (e: Error) => e.message === `Unexpected server response: ${status}`);
}

test('a learner opens a terminal, connects with a ticket and types', async () => {
  const id = await openTerminal();
  const list = await app.inject({ method: 'GET', url: '/api/attempts/a1/terminals', headers: { cookie } });
  assert.equal(list.json().mode, 'host');
  assert.ok(list.json().terminals.some((t: { id: string }) => t.id === id));
  const { ws, client } = await connect(id);
  client.attach(0);
  await client.waitForText('kubedrill:');
  client.input("echo hel''lo\r");
  await client.waitForText(/\rhello\r\n/);
  // The shell got an explicit environment: nothing of the server's.
  client.input("env | sort | tr '\\n' ' '; echo ENV''END\r");
  await client.waitForText('ENVEND');
  assert.doesNotMatch(client.text(), /NODE_|npm_|KUBEDRILL_/);
  assert.ok(attempts.touched.includes('a1'), 'typing counts as activity for the attempt (idle timer)');
  ws.terminate();
});

test('upgrades are refused before any socket exists: origin, session, ticket', async () => {
  const id = await openTerminal();
  await expectRefused(connect(id, { origin: 'http://evil.example' }), 403);
  await expectRefused(connect(id, { origin: null }), 403);
  await expectRefused(connect(id, { cookie: null }), 401);
  await expectRefused(connect(id, { ticket: null }), 401);
  await expectRefused(connect(id, { ticket: 'made-up-ticket' }), 403);
  const t = await ticket(id);
  const ok = await connect(id, { ticket: t });
  ok.ws.terminate();
  await expectRefused(connect(id, { ticket: t }), 403); // single use
  const other = await openTerminal();
  await expectRefused(connect(id, { ticket: await ticket(other) }), 403); // bound to its terminal
  const foreign = await app.inject({ method: 'POST', url: '/api/attempts/other/terminals', headers: { cookie, origin: ORIGIN }, payload: {} });
  assert.equal(foreign.statusCode, 404, "another learner's attempt is invisible");
  // The server keeps serving.
  const again = await connect(id);
  again.client.attach(0);
  await again.client.waitForText('kubedrill:');
  again.ws.terminate();
});

test('a ticket is good until it expires, and refused from then on', async () => {
  // The app's clock, moved by hand: expiry is decided without waiting on real time.
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const a = await makeApp(['--terminal.ticket-seconds', '30'], () => clock);
  try {
    const c = String((await a.inject({ method: 'GET', url: '/api/session' })).headers['set-cookie']).split(';')[0]!;
    const id = await openTerminal(a, c);
    const good = await ticket(id, a, c);
    clock += 29_999;
    const conn = await connect(id, { a, ticket: good, cookie: c });
    conn.ws.terminate();
    const t = await ticket(id, a, c);
    clock += 30_000;
    await expectRefused(connect(id, { a, ticket: t, cookie: c }), 403);
  } finally {
    await a.close();
  }
});

test('upgrades are rate-limited per learner and IP', async () => {
  const a = await makeApp(['--terminal.upgrades-per-minute', '4']);
  try {
    const c = String((await a.inject({ method: 'GET', url: '/api/session' })).headers['set-cookie']).split(';')[0]!;
    const id = await openTerminal(a, c);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      try {
        const conn = await connect(id, { a, cookie: c, ticket: 'x' });
        conn.ws.terminate();
        statuses.push(101);
      } catch (e) {
        statuses.push(Number(/(\d+)$/.exec((e as Error).message)?.[1]));
      }
    }
    assert.deepEqual(statuses.slice(0, 4), [403, 403, 403, 403]);
    assert.equal(statuses.at(-1), 429);
  } finally {
    await a.close();
  }
});

test('oversized frames and bad opcodes close the socket with a reason; the server keeps serving', async () => {
  const id = await openTerminal();
  const big = await connect(id);
  big.client.attach(0);
  big.ws.send(Buffer.alloc(65 * 1024, 0x02));
  assert.equal((await big.closed).code, Close.tooBig);

  const bad = await connect(id);
  bad.client.attach(0);
  bad.ws.send(Buffer.from([0x99, 1, 2, 3]));
  const closed = await bad.closed;
  assert.equal(closed.code, Close.badFrame);
  assert.match(closed.reason, /unknown opcode 0x99/);

  const text = await connect(id);
  text.ws.send('hello');
  assert.equal((await text.closed).code, Close.badFrame);

  const good = await connect(id);
  good.client.attach(0);
  await good.client.waitFor(() => good.client.controls.some((c) => c.type === 'replay-done'), 10_000, 'replay');
  good.client.input("echo ST''ILL\r");
  await good.client.waitForText('STILL');
  good.ws.terminate();
});

test('reattach over the WebSocket without loss: before + after equal the stream', async () => {
  const id = await openTerminal();
  const a = await connect(id);
  a.client.attach(0);
  await a.client.waitForText('kubedrill:');
  a.client.input("printf 'ST''ART\\n'; seq 1 200000; printf 'E''ND\\n'\r");
  await a.client.waitFor(() => a.client.bytes > 300_000, 10_000, 'part of the stream');
  a.ws.terminate(); // the network drops mid-stream
  const seen = a.client.text();
  const from = a.client.offset;
  // Reattach only once the server saw the drop and the shell ran on with nobody attached until flow
  // control held it back, so the stream after `from` was made while detached. Neither is announced
  // by an event, so this polls the session.
  const session = app.terminals.get('a1', id)!;
  await eventually(() => session.clientCount === 0 && session.paused, 'the shell to fill the high-water mark with nobody attached');
  const b = await connect(id);
  b.client.attach(from);
  await b.client.waitForText('END\r\n', 20_000);
  const all = seen + b.client.text();
  const stream = all.slice(all.indexOf('START\r\n') + 7, all.indexOf('END\r\n'));
  let expected = '';
  for (let i = 1; i <= 200000; i++) expected += `${i}\r\n`;
  assert.equal(stream.length, expected.length);
  assert.ok(stream === expected, 'the stream differs');
  b.ws.terminate();
});

test('closing a terminal over the API ends its socket; the attempt ending closes the rest', async () => {
  const id = await openTerminal();
  const c = await connect(id);
  c.client.attach(0);
  const del = await app.inject({ method: 'DELETE', url: `/api/attempts/a1/terminals/${id}`, headers: { cookie, origin: ORIGIN } });
  assert.equal(del.statusCode, 204);
  assert.equal((await c.closed).code, Close.terminalClosed);
  const id2 = await openTerminal();
  const c2 = await connect(id2);
  c2.client.attach(0);
  attempts.end('a1');
  assert.equal((await c2.closed).code, Close.terminalClosed);
  const list = await app.inject({ method: 'GET', url: '/api/attempts/a1/terminals', headers: { cookie } });
  assert.deepEqual(list.json().terminals, []);
  attempts.add({ id: 'a1', learnerId: 'local', clusterName: 'kdtest-term-none', status: 'running' });
});

test("one learner's failed upgrades do not lock out another learner's valid ticket behind the same address", async () => {
  const boot = loadConfig({
    argv: ['--data-dir', dir, '--labs-dir', dir, '--auth.mode', 'multi', '--auth.registration', 'open', '--terminal.upgrades-per-minute', '3'],
    env: {},
    cwd: dir,
  });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
  const launcher = new HostLauncher({ runner: createCommandRunner(env), hostEnv: env, stateDir: path.join(dir, 'terminals-multi'), sshScript: SSH_SCRIPT });
  const shared = new StaticAttempts();
  const a = await buildApp(boot, {
    checkResponses: true,
    db: openMemoryDatabase(),
    labs: new LabCatalog(dir),
    logger: false,
    attempts: shared,
    shellLauncher: launcher,
  });
  try {
    const account = async (username: string) => {
      const res = await a.inject({ method: 'POST', url: '/api/session/register', payload: { username, password: 'correct horse battery' } });
      return { id: res.json().learner.id as string, cookie: String(res.headers['set-cookie']).split(';')[0]! };
    };
    const mallory = await account('mallory');
    const alice = await account('alice');
    shared.add({ id: 'm1', learnerId: mallory.id, clusterName: 'x', status: 'running' });
    shared.add({ id: 'al1', learnerId: alice.id, clusterName: 'y', status: 'running' });
    const term = async (attempt: string, c: string) =>
      (await a.inject({ method: 'POST', url: `/api/attempts/${attempt}/terminals`, headers: { cookie: c, origin: ORIGIN }, payload: {} })).json().id as string;
    const upgrade = (attempt: string, terminal: string, headers: Record<string, string>) =>
      a.injectWS(`/api/attempts/${attempt}/terminals/${terminal}/socket`, { headers: { origin: ORIGIN, ...headers } } as never);
    const protocols = (t: string) => ({ 'sec-websocket-protocol': `${TERMINAL_SUBPROTOCOL}, ${TICKET_SUBPROTOCOL_PREFIX}${t}` });
    const mt = await term('m1', mallory.cookie);
    // Mallory (same address as Alice: one proxy) burns through bad tickets until refused.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      await upgrade('m1', mt, { cookie: mallory.cookie, ...protocols('bogus') }).then(
        () => statuses.push(101),
        (e: Error) => statuses.push(Number(/(\d+)$/.exec(e.message)?.[1])),
      );
    }
    assert.deepEqual(statuses, [403, 403, 403, 429, 429]);
    // Anonymous failures from that address do not count against learners either.
    for (let i = 0; i < 5; i++) await upgrade('al1', 'x', protocols('bogus')).catch(() => {});
    const at = await term('al1', alice.cookie);
    // As many upgrades as tickets may be issued a minute: none is refused.
    for (let i = 0; i < 3; i++) {
      const tk = (
        await a.inject({ method: 'POST', url: `/api/attempts/al1/terminals/${at}/tickets`, headers: { cookie: alice.cookie, origin: ORIGIN } })
      ).json().ticket as string;
      const ws = await upgrade('al1', at, { cookie: alice.cookie, ...protocols(tk) });
      ws.terminate();
    }
  } finally {
    await a.close();
  }
});
