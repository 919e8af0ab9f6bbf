import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import xtermHeadless from '@xterm/headless';
import { eventually } from '../testing/eventually.ts';
import { Close } from './protocol.ts';
import { sessionPids, spawnPty, type PtyProcess } from './pty.ts';
import { MIRROR_BACKLOG_BYTES, ScreenMirrors } from './screen-mirror.ts';
import { DEFAULT_LIMITS, TerminalSession, type SessionLimits } from './terminal-session.ts';
import { WireClient } from './wire-client.ts';

// Host-mode ptys for real: bash on a pty, driven through the session like a browser would.

const mirrors = new ScreenMirrors();
after(() => mirrors.dispose());
let n = 0;

/** True while the process exists and is not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function shell(limits: Partial<SessionLimits> = {}, screens = mirrors) {
  const pty = spawnPty({
    file: 'bash',
    args: ['--norc', '--noprofile', '-i'],
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', TERM: 'xterm-256color', LANG: 'C.UTF-8', PS1: 'PROMPT$ ' },
    cwd: '/tmp',
    cols: 80,
    rows: 24,
  });
  return new TerminalSession({ id: `t${++n}`, attemptId: 'a1', kind: 'shell', title: 'shell', pty, cols: 80, rows: 24, mirrors: screens, limits });
}

function connect(session: TerminalSession, opts: { autoAck?: boolean; watcher?: string } = {}) {
  let closed: { code: number; reason: string } | undefined;
  // eslint-disable-next-line prefer-const
  let handle: ReturnType<TerminalSession['attach']>;
  const client = new WireClient((f) => handle.receive(Buffer.from(f)), opts);
  handle = session.attach(
    { send: (f) => client.receive(f), close: (code, reason) => (closed = { code, reason }) },
    opts.watcher ? { watcher: opts.watcher } : {},
  );
  return { client, handle, closed: () => closed };
}

async function ready(session: TerminalSession, from = 0) {
  const c = connect(session);
  c.client.attach(from);
  await c.client.waitForText('PROMPT$ ');
  return c;
}

test('a shell echoes what is typed, and resizes', async () => {
  const s = shell();
  try {
    const { client } = await ready(s);
    client.input("echo hel''lo\r");
    await client.waitForText(/\rhello\r\n/);
    client.resize(100, 30);
    client.input('stty size\r');
    await client.waitForText('30 100');
  } finally {
    await s.close('test over');
  }
});

test('Ctrl-C while `yes` floods the screen brings the prompt back', async () => {
  const s = shell();
  try {
    const { client } = await ready(s);
    client.input('yes\r');
    await client.waitFor(() => client.bytes > 2_000_000, 20_000, '2 MB of yes');
    const before = client.bytes;
    client.input('\x03');
    await client.waitFor(() => Buffer.concat(client.chunks).subarray(before).includes('PROMPT$ '), 10_000, 'the prompt after Ctrl-C');
  } finally {
    await s.close('test over');
  }
});

/**
 * A pty that gives `reads` full reads of 4095 bytes (Linux's most), one per turn of the event loop, like `yes`.
 * `heldBack` resolves when it had a read ready but was paused; `drained` when it has given every read.
 */
function floodingPty(reads: number): PtyProcess & { heldBack: Promise<void>; drained: Promise<void> } {
  let deliver: (d: Buffer) => void = () => {};
  let paused = false;
  let given = 0;
  let heldBack!: () => void;
  let drained!: () => void;
  const next = () => {
    if (given >= reads) return drained();
    if (paused) return heldBack();
    given++;
    deliver(Buffer.alloc(4095, 0x79));
    setImmediate(next);
  };
  return {
    heldBack: new Promise((r) => (heldBack = r)),
    drained: new Promise((r) => (drained = r)),
    pid: 0,
    onData: (cb) => {
      deliver = cb;
      setImmediate(next);
    },
    onExit: () => {},
    write: () => {},
    resize: () => {},
    pause: () => void (paused = true),
    resume: () => {
      paused = false;
      setImmediate(next);
    },
    kill: async () => {},
  };
}

test('a flood goes out in frames of many pty reads, not one frame per read', async () => {
  const reads = 2000;
  const s = new TerminalSession({ id: `t${++n}`, attemptId: 'a1', kind: 'shell', title: 'shell', pty: floodingPty(reads), cols: 80, rows: 24, mirrors });
  try {
    const { client } = connect(s);
    client.attach(0);
    await client.waitFor(() => client.bytes === reads * 4095, 20_000, 'the whole flood');
    // One frame per read would cost a syscall and an acknowledgement each.
    assert.ok(client.chunks.length <= reads / 4, `${reads} reads went out in ${client.chunks.length} frames`);
  } finally {
    await s.close('test over');
  }
});

test('flow control: the session takes no more from the pty once the unacknowledged output passes the high-water mark, and does again after acks', async () => {
  const reads = 2000; // 8 MB on offer
  const limits = { highWater: 256 * 1024, lowWater: 64 * 1024 };
  const pty = floodingPty(reads);
  const s = new TerminalSession({ id: `t${++n}`, attemptId: 'a1', kind: 'shell', title: 'shell', pty, cols: 80, rows: 24, mirrors, limits });
  try {
    const { client } = connect(s, { autoAck: false });
    client.attach(0);
    // Either the pty comes back with its next read and finds itself paused, or it gives all 8 MB unpaused.
    const held = await Promise.race([pty.heldBack.then(() => true), pty.drained.then(() => false)]);
    assert.ok(held, `the pty was never paused: ${s.outputEnd} bytes taken without an acknowledgement`);
    assert.ok(s.paused);
    // What fits under the watermark, plus the batch in which it was crossed (a frame, overshot by at most one read).
    assert.ok(s.outputEnd <= limits.highWater + DEFAULT_LIMITS.maxFrame + 4095, `${s.outputEnd} bytes taken without an acknowledgement`);
    client.autoAck = true;
    client.ackAll();
    await client.waitFor(() => client.bytes === reads * 4095, 10_000, 'the rest of the flood after acks');
  } finally {
    await s.close('test over');
  }
});

test('flow control with a real shell: the pty pauses while the writer has not acknowledged, and resumes after acks', async () => {
  const limits = { highWater: 256 * 1024, lowWater: 64 * 1024 };
  const s = shell(limits);
  try {
    const { client } = await ready(s);
    client.autoAck = false;
    client.input('yes\r');
    await client.waitFor(() => s.paused, 10_000, 'the pty to pause');
    const unacked = client.bytes;
    assert.ok(s.outputEnd < 2 * 1024 * 1024, `paused only after ${s.outputEnd} bytes`);
    client.autoAck = true;
    client.ackAll();
    await client.waitFor(() => client.bytes > unacked + 1_000_000, 10_000, 'output to resume after acks');
    client.input('\x03');
  } finally {
    await s.close('test over');
  }
});

test('closing a terminal kills the shell and everything it started (no orphans)', async () => {
  const s = shell();
  const { client } = await ready(s);
  client.input('sleep 1000 & nohup sleep 1001 >/dev/null 2>&1 & (trap "" HUP; sleep 1002) & echo PIDS $$ $(jobs -p | tr "\\n" " ")END\r');
  await client.waitForText(/PIDS (\d+) ([\d ]+)END/);
  const m = /PIDS (\d+) ([\d ]+)END/.exec(client.text())!;
  const shellPid = Number(m[1]);
  const jobPids = m[2]!.trim().split(/\s+/).map(Number);
  assert.equal(jobPids.length, 3);
  assert.ok(sessionPids(shellPid).length >= 4, "the shell and its jobs share the shell's session");
  await s.close('closed by the test');
  // close() waits for the shell's exit; its jobs were re-parented to init when it died, and Node
  // offers no event (no pidfd) for the death of a process that is not its child: poll /proc.
  await eventually(() => sessionPids(shellPid).length === 0, "every process of the shell's session to end", 5_000);
  for (const pid of [shellPid, ...jobPids]) assert.equal(alive(pid), false, `process ${pid} survived`);
});

test('reattach without loss: bytes before the drop + after the reconnect equal the stream exactly', async () => {
  const s = shell({ highWater: 128 * 1024, lowWater: 32 * 1024, replayBytes: 256 * 1024 });
  try {
    const a = await ready(s);
    a.client.input("printf 'ST''ART\\n'; seq 1 300000; printf 'E''ND\\n'\r");
    await a.client.waitFor(() => a.client.bytes > 400_000, 10_000, 'part of the stream');
    a.handle.detach(); // the socket drops mid-stream
    const seen = a.client.text();
    // The shell keeps running meanwhile: a watcher (which never holds back the stream) sees 100 KB more go by.
    const w = connect(s, { watcher: 'an instructor' });
    w.client.attach(a.client.offset);
    await w.client.waitFor(() => w.client.offset > a.client.offset + 100_000, 10_000, '100 KB of output after the drop');
    w.handle.detach();
    const b = connect(s);
    b.client.attach(a.client.offset);
    await b.client.waitForText('END\r\n', 20_000);
    assert.equal(b.client.snapshots, 0, 'the gap is inside the replay buffer');
    const all = seen + b.client.text();
    const stream = all.slice(all.indexOf('START\r\n') + 7, all.indexOf('END\r\n'));
    let expected = '';
    for (let i = 1; i <= 300000; i++) expected += `${i}\r\n`;
    assert.equal(stream.length, expected.length);
    assert.ok(stream === expected, 'the stream differs');
  } finally {
    await s.close('test over');
  }
});

test('a client older than the replay buffer gets a screen snapshot', async () => {
  const s = shell({ replayBytes: 64 * 1024, highWater: 32 * 1024, lowWater: 8 * 1024 });
  try {
    const a = await ready(s);
    a.client.input("seq 1 100000; echo DO''NE\r");
    await a.client.waitForText('DONE');
    const b = connect(s);
    b.client.attach(0);
    await b.client.waitFor(() => b.client.controls.some((c) => c.type === 'replay-done'), 10_000, 'replay');
    assert.equal(b.client.snapshots, 1);
    assert.match(b.client.text(), /100000/);
    assert.match(b.client.text(), /DONE/);
  } finally {
    await s.close('test over');
  }
});

/** What a browser shows after writing `chunks`: every line of the buffer (scrollback too) and the cursor. */
async function screen(chunks: Buffer[]): Promise<string[]> {
  const term = new xtermHeadless.Terminal({ cols: 80, rows: 24, scrollback: 1000, allowProposedApi: true });
  for (const c of chunks) await new Promise<void>((r) => term.write(c, r));
  const b = term.buffer.active;
  const lines = [];
  for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)!.translateToString(true));
  while (lines.at(-1) === '') lines.pop();
  lines.push(`cursor ${b.cursorX},${b.cursorY}`);
  term.dispose();
  return lines;
}

test('a snapshot taken before the mirror caught up shows exactly what a client that saw everything shows', async () => {
  // The mirror parses nothing until the snapshot asks for it (idle catch-up far away).
  const lazy = new ScreenMirrors(1000, 60_000);
  const s = shell({ replayBytes: 64 * 1024, highWater: 32 * 1024, lowWater: 8 * 1024 }, lazy);
  try {
    const a = await ready(s);
    a.client.input("for i in $(seq 1 12000); do printf '\\e[3%dmline %d\\e[0m\\n' $((i % 8)) $i; done; printf '\\e[1;31mDO''NE\\e[0m '\r");
    // Output reaches the mirror synchronously as it leaves the ring; only the idle catch-up (a minute away) is deferred.
    await a.client.waitForText('DONE\x1b[0m ');
    assert.equal(lazy.bytesParsed, 0, 'the mirror parsed output before anyone needed a snapshot');
    assert.equal(lazy.workerRunning, false, 'the mirror worker started before anyone needed it');
    const b = connect(s);
    b.client.attach(0);
    await b.client.waitFor(() => b.client.controls.some((c) => c.type === 'replay-done'), 10_000, 'replay');
    assert.equal(b.client.snapshots, 1);
    assert.ok(lazy.bytesParsed > 0);
    assert.equal(lazy.workerRunning, true);
    assert.deepEqual(await screen(b.client.chunks), await screen(a.client.chunks));
  } finally {
    await s.close('test over');
    await lazy.dispose();
  }
});

test('a flood is not parsed by the mirror beyond its newest bytes, and the snapshot still ends like the screen', async () => {
  const lazy = new ScreenMirrors(1000, 60_000);
  const s = shell({ replayBytes: 256 * 1024 }, lazy);
  try {
    const a = await ready(s);
    a.client.input("seq 1 700000; echo DO''NE\r"); // 5 MB
    const tail = () => Buffer.concat(a.client.chunks.slice(-8)).toString();
    await a.client.waitFor(() => /DONE\r\n.*PROMPT\$ $/s.test(tail()), 30_000, 'the end of the flood');
    const b = connect(s);
    b.client.attach(0);
    await b.client.waitFor(() => b.client.controls.some((c) => c.type === 'replay-done'), 10_000, 'replay');
    assert.ok(lazy.bytesParsed <= MIRROR_BACKLOG_BYTES, `the mirror parsed ${lazy.bytesParsed} bytes of a 5 MB flood`);
    assert.deepEqual(await screen(b.client.chunks), await screen(a.client.chunks));
  } finally {
    await s.close('test over');
    await lazy.dispose();
  }
});

test('the newest client owns input; the other becomes read-only and is told so', async () => {
  const s = shell();
  try {
    const a = await ready(s);
    const b = connect(s);
    b.client.attach(a.client.offset);
    await b.client.waitFor(() => b.client.controls.some((c) => c.type === 'replay-done'), 10_000, 'replay');
    assert.deepEqual(a.client.controls.at(-1), { type: 'role', writer: false, reason: 'input moved to a newer window' });
    a.client.input("echo FROM''A\r");
    b.client.input("echo FROM''B\r");
    await a.client.waitForText('FROMB\r\n');
    assert.doesNotMatch(a.client.text(), /FROMA\r\n/);
    a.client.control({ type: 'take-input' });
    a.client.input("echo AGA''IN\r");
    await b.client.waitForText('AGAIN\r\n');
  } finally {
    await s.close('test over');
  }
});

test('malformed frames close only that client, with a reason', async () => {
  const s = shell();
  try {
    const good = await ready(s);
    for (const frame of [
      Buffer.from([0x7f, 1, 2]),
      Buffer.alloc(0),
      Buffer.from([0x03, 0, 0, 0, 5]),
      Buffer.from([0x04, 0, 0, 0]),
      Buffer.from([0x05, 0x7b]),
    ]) {
      const bad = connect(s);
      bad.client.attach(0);
      bad.handle.receive(frame);
      assert.equal(bad.closed()?.code, Close.badFrame, `frame ${frame.toString('hex')} was accepted`);
      assert.ok(bad.closed()!.reason.length > 0);
    }
    good.client.input("echo STI''LL\r");
    await good.client.waitForText('STILL');
  } finally {
    await s.close('test over');
  }
});
