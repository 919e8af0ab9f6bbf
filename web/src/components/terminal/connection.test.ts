// The terminal's connection logic without a browser: attach and replay, acknowledgements, reconnects
// with backoff, and when it stops trying. The socket, the clock and xterm.js are test doubles.
import assert from 'node:assert/strict';
import test from 'node:test';
import { ApiError, type TerminalTicket } from '../../api/client.ts';
import {
  placeFrame,
  reconnectDelay,
  TerminalConnection,
  type ConnectionClock,
  type ConnectionState,
  type TerminalScreen,
  type TerminalSocket,
} from './connection.ts';
import { Close, DATA_HEADER, Op, type ClientControl, type ServerControl } from './protocol.ts';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A socket the test drives: it records what the connection sends and delivers the server's frames. */
class FakeSocket implements TerminalSocket {
  readyState = 0;
  binaryType: BinaryType = 'blob';
  onopen: TerminalSocket['onopen'] = null;
  onmessage: TerminalSocket['onmessage'] = null;
  onclose: TerminalSocket['onclose'] = null;
  readonly sent: Uint8Array[] = [];
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  send(frame: Uint8Array<ArrayBuffer>) {
    this.sent.push(frame.slice());
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  /** The server closes the socket (code 1006: the network dropped it). */
  drop(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason } as CloseEvent);
  }
  deliver(frame: Uint8Array) {
    this.onmessage?.({ data: frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) } as MessageEvent<ArrayBuffer>);
  }
  /** The control messages sent so far. */
  controls(): ClientControl[] {
    return this.sent.filter((f) => f[0] === Op.control).map((f) => JSON.parse(decoder.decode(f.subarray(1))) as ClientControl);
  }
  /** The byte counts acknowledged so far. */
  acks(): number[] {
    return this.sent.filter((f) => f[0] === Op.ack).map((f) => new DataView(f.buffer, f.byteOffset).getUint32(1));
  }
  inputs(): string[] {
    return this.sent.filter((f) => f[0] === Op.input).map((f) => decoder.decode(f.subarray(1)));
  }
}

/** xterm.js as the connection sees it: writes complete only when the test says so, like a busy renderer. */
class FakeScreen implements TerminalScreen {
  cols = 120;
  rows = 30;
  text = '';
  resets = 0;
  readonly #pending: (() => void)[] = [];
  reset() {
    this.resets++;
    this.text = '';
  }
  write(data: string | Uint8Array, done?: () => void) {
    this.text += typeof data === 'string' ? data : decoder.decode(data);
    if (done) this.#pending.push(done);
  }
  /** xterm.js finishes every write it was given. */
  flush() {
    for (const done of this.#pending.splice(0)) done();
  }
}

/** A clock that moves only when the test moves it. */
class FakeClock implements ConnectionClock {
  #now = 1_000_000;
  #timers: { at: number; fn: () => void }[] = [];
  now() {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number) {
    const t = { at: this.#now + ms, fn };
    this.#timers.push(t);
    return t;
  }
  clearTimeout(t: unknown) {
    this.#timers = this.#timers.filter((x) => x !== t);
  }
  /** Moves time on by ms and runs the timers that come due. */
  advance(ms: number) {
    this.#now += ms;
    const due = this.#timers.filter((t) => t.at <= this.#now);
    this.#timers = this.#timers.filter((t) => t.at > this.#now);
    for (const t of due) t.fn();
  }
}

function dataFrame(op: number, at: number, text: string): Uint8Array {
  const body = encoder.encode(text);
  const f = new Uint8Array(DATA_HEADER + body.length);
  f[0] = op;
  const v = new DataView(f.buffer);
  v.setUint32(1, Math.floor(at / 0x1_0000_0000));
  v.setUint32(5, at % 0x1_0000_0000);
  f.set(body, DATA_HEADER);
  return f;
}

function control(msg: ServerControl): Uint8Array {
  const body = encoder.encode(JSON.stringify(msg));
  const f = new Uint8Array(1 + body.length);
  f[0] = Op.control;
  f.set(body, 1);
  return f;
}

const ticketFor = (path: string): TerminalTicket => ({ ticket: 'tk', expiresAt: '2030-01-01T00:00:00Z', protocols: ['kubedrill.terminal.v1'], path });
const hello = (writer: boolean) => control({ type: 'hello', terminalId: 't1', kind: 'shell', title: 'shell 1', writer, cols: 120, rows: 30 });

/** Lets the connection's awaited ticket request settle (it is a promise, not a timer). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function connection(ticket: () => Promise<TerminalTicket> = async () => ticketFor('/ws/t1')) {
  const sockets: FakeSocket[] = [];
  const states: ConnectionState[] = [];
  const roles: [boolean, string][] = [];
  const screen = new FakeScreen();
  const clock = new FakeClock();
  const conn = new TerminalConnection({
    attemptId: 'a1',
    terminalId: 't1',
    term: screen,
    onState: (s) => states.push(s),
    onRole: (writer, reason) => roles.push([writer, reason]),
    ticket,
    openSocket: (path) => {
      const s = new FakeSocket(path);
      sockets.push(s);
      return s;
    },
    clock,
  });
  const socket = () => sockets.at(-1)!;
  return { conn, sockets, socket, states, roles, screen, clock };
}

/** Attaches and finishes an empty replay, so the connection is live and may type. */
async function live(c: ReturnType<typeof connection>) {
  c.conn.start();
  await settle();
  c.socket().open();
  c.socket().deliver(hello(true));
  c.socket().deliver(control({ type: 'replay-done', offset: 0 }));
  c.screen.flush();
}

test('the reconnect schedule backs off to 5 s and gives up after 5 minutes down', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 20].map((n) => reconnectDelay(n, 0)),
    [200, 500, 1000, 2000, 3500, 5000, 5000, 5000],
  );
  assert.equal(reconnectDelay(3, 5 * 60_000), 2000, 'exactly 5 minutes is still within the limit');
  assert.equal(reconnectDelay(3, 5 * 60_000 + 1), null);
});

test('a frame is placed after what was written: replayed bytes are skipped, a snapshot restarts the stream', () => {
  assert.deepEqual(placeFrame(0, false, 0, 5), { reset: false, skip: 0, written: 5 });
  assert.deepEqual(placeFrame(10, false, 8, 6), { reset: false, skip: 2, written: 14 }, 'a replay from an earlier frame boundary overlaps');
  assert.deepEqual(placeFrame(10, false, 2, 4), { reset: false, skip: 4, written: 10 }, 'a frame wholly written before is skipped whole');
  assert.deepEqual(placeFrame(10, true, 500, 80), { reset: true, skip: 0, written: 500 }, "a snapshot's offset is where the stream goes on");
});

test('attach asks for the replay from offset 0; input counts only once xterm.js has written the replay', async () => {
  const c = connection();
  c.conn.start();
  await settle();
  assert.equal(c.socket().path, '/ws/t1');
  c.socket().open();
  assert.deepEqual(c.states.at(-1), { kind: 'replaying' });
  assert.deepEqual(c.socket().controls(), [{ type: 'attach', from: 0, cols: 120, rows: 30 }]);
  c.socket().deliver(hello(true));
  c.socket().deliver(dataFrame(Op.output, 0, '$ ls\r\n'));
  c.socket().deliver(control({ type: 'replay-done', offset: 0 }));
  // Typed (or answered by the replayed escape sequences) before the replay is on screen: dropped.
  assert.equal(c.conn.sendInput('x'), false);
  assert.deepEqual(c.socket().acks(), [], 'nothing is acknowledged before xterm.js has written it');
  assert.equal(c.conn.state.kind, 'replaying');
  c.screen.flush();
  assert.deepEqual(c.socket().acks(), [6]);
  assert.deepEqual(c.socket().controls().at(-1), { type: 'ready' });
  assert.deepEqual(c.states.at(-1), { kind: 'live' });
  assert.equal(c.conn.sendInput('kubectl get pods\r'), true);
  assert.deepEqual(c.socket().inputs(), ['kubectl get pods\r']);
  assert.equal(c.screen.text, '$ ls\r\n');
});

test('output is acknowledged per frame once written, so the server can send more', async () => {
  const c = connection();
  await live(c);
  c.socket().deliver(dataFrame(Op.output, 0, 'abc'));
  c.socket().deliver(dataFrame(Op.output, 3, 'defgh'));
  assert.deepEqual(c.socket().acks(), []);
  c.screen.flush();
  assert.deepEqual(c.socket().acks(), [3, 5]);
  assert.equal(c.screen.text, 'abcdefgh');
});

test('a reconnect attaches from the last offset written and writes the overlap of the replay only once', async () => {
  const c = connection();
  await live(c);
  c.socket().deliver(dataFrame(Op.output, 0, '0123456789'));
  c.screen.flush();
  c.socket().drop();
  assert.deepEqual(c.states.at(-1), { kind: 'reconnecting', attempt: 1, inMs: 200 });
  assert.equal(c.conn.sendInput('lost'), false, 'no input while down');
  c.clock.advance(199);
  await settle();
  assert.equal(c.sockets.length, 1, 'not before the backoff');
  c.clock.advance(1);
  await settle();
  assert.equal(c.sockets.length, 2);
  c.socket().open();
  assert.deepEqual(c.socket().controls(), [{ type: 'attach', from: 10, cols: 120, rows: 30 }]);
  // The server replays from a frame boundary before that offset.
  c.socket().deliver(dataFrame(Op.output, 8, '89AB'));
  c.screen.flush();
  assert.equal(c.screen.text, '0123456789AB');
  assert.deepEqual(c.socket().acks(), [4], 'the whole frame is acknowledged: the server counts what it sent');
});

test('a snapshot resets the screen and later output follows its offset', async () => {
  const c = connection();
  await live(c);
  c.socket().deliver(dataFrame(Op.output, 0, 'old'));
  c.socket().deliver(dataFrame(Op.snapshot, 1000, '[screen]'));
  c.socket().deliver(dataFrame(Op.output, 1000, 'new'));
  c.screen.flush();
  assert.equal(c.screen.resets, 1);
  assert.equal(c.screen.text, '[screen]new');
  c.socket().drop();
  c.clock.advance(200);
  await settle();
  c.socket().open();
  assert.equal((c.socket().controls()[0] as { from: number }).from, 1003);
});

test('failures back off step by step, a live connection resets the count, and 5 minutes down gives up', async () => {
  let reachable = false;
  const c = connection(async () => {
    if (!reachable) throw new ApiError(0, 'network', 'cannot reach the kubedrill server');
    return ticketFor('/ws/t1');
  });
  c.conn.start();
  await settle();
  const waits: number[] = [];
  for (let i = 0; i < 7; i++) {
    const s = c.states.at(-1)!;
    assert.equal(s.kind, 'reconnecting');
    waits.push((s as { inMs: number }).inMs);
    c.clock.advance((s as { inMs: number }).inMs);
    await settle();
  }
  assert.deepEqual(waits, [200, 500, 1000, 2000, 3500, 5000, 5000]);
  // Back up: once live, the next drop starts the schedule again.
  reachable = true;
  c.clock.advance(5000);
  await settle();
  c.socket().open();
  c.socket().deliver(control({ type: 'replay-done', offset: 0 }));
  c.screen.flush();
  assert.equal(c.conn.state.kind, 'live');
  c.socket().drop();
  assert.deepEqual(c.states.at(-1), { kind: 'reconnecting', attempt: 1, inMs: 200 });
  // Down for good: tries every 5 s until 5 minutes have passed since the drop.
  reachable = false;
  let tries = 0;
  const state = (): ConnectionState => c.conn.state;
  for (let s = state(); s.kind === 'reconnecting'; s = state()) {
    c.clock.advance(s.inMs);
    await settle();
    tries++;
    assert.ok(tries < 100, 'it gives up');
  }
  assert.deepEqual(c.conn.state, { kind: 'gave-up', reason: 'the server could not be reached for 5 minutes' });
  // Retry starts over.
  reachable = true;
  c.conn.retry();
  await settle();
  assert.equal(c.conn.state.kind, 'connecting');
  c.socket().open();
  assert.equal(c.conn.state.kind, 'replaying');
});

test('a terminal or attempt that ended, or a ticket refused, ends the connection without retrying', async () => {
  for (const code of [Close.terminalClosed, Close.attemptEnded]) {
    const c = connection();
    await live(c);
    c.socket().drop(code, code === Close.terminalClosed ? 'the shell exited' : '');
    assert.deepEqual(c.conn.state, { kind: 'ended', reason: code === Close.terminalClosed ? 'the shell exited' : 'the terminal has ended' });
    c.clock.advance(60_000);
    await settle();
    assert.equal(c.sockets.length, 1, `no reconnect after close code ${code}`);
  }
  for (const status of [401, 404, 409]) {
    const c = connection(async () => {
      throw new ApiError(status, 'x', `refused with ${status}`);
    });
    c.conn.start();
    await settle();
    assert.deepEqual(c.conn.state, { kind: 'ended', reason: `refused with ${status}` });
  }
  const c = connection(async () => {
    throw new ApiError(503, 'unavailable', 'busy');
  });
  c.conn.start();
  await settle();
  assert.equal(c.conn.state.kind, 'reconnecting', 'a 503 is worth another try');
});

test('a dispose stops the reconnect timer; read-only watchers attach read-only and the role follows the server', async () => {
  const c = connection();
  await live(c);
  c.socket().drop();
  c.conn.dispose();
  c.clock.advance(60_000);
  await settle();
  assert.equal(c.sockets.length, 1);

  const sockets: FakeSocket[] = [];
  const roles: [boolean, string][] = [];
  const watch = new TerminalConnection({
    attemptId: 'a1',
    terminalId: 't1',
    term: new FakeScreen(),
    onState: () => {},
    onRole: (w, r) => roles.push([w, r]),
    ticket: async () => ticketFor('/ws/watch'),
    readOnly: true,
    openSocket: (path) => {
      sockets.push(new FakeSocket(path));
      return sockets.at(-1)!;
    },
    clock: new FakeClock(),
  });
  watch.start();
  await settle();
  sockets[0]!.open();
  assert.deepEqual(sockets[0]!.controls(), [{ type: 'attach', from: 0, cols: 120, rows: 30, readOnly: true }]);
  sockets[0]!.deliver(hello(false));
  sockets[0]!.deliver(control({ type: 'role', writer: true, reason: '' }));
  assert.deepEqual(roles, [
    [false, 'another window has input'],
    [true, ''],
  ]);
});
