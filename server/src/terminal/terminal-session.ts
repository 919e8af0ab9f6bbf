import { z } from 'zod';
import { OutputRing, chunkLength, outputFrame, type OutputChunk } from './output-ring.ts';
import { Close, DATA_HEADER, MAX_COLS, MAX_ROWS, MIN_COLS, MIN_ROWS, Op, type ServerControl } from './protocol.ts';
import type { PtyProcess } from './pty.ts';
import type { ScreenMirrors } from './screen-mirror.ts';
import { errorMessage } from '../errors.ts';

/** One connected browser tab (or test client), as the session sees it. */
export interface TerminalClient {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
}

/** What a connection does with incoming frames, and tells the session when it goes away. */
export interface ClientHandle {
  /** Handles one binary frame; malformed frames close the client with a reason. */
  receive(frame: Buffer): void;
  detach(): void;
}

export type TerminalKind = 'shell' | 'node';

/** Flow-control and buffering limits of a session. */
export interface SessionLimits {
  /** Bytes of recent output kept for exact replay. */
  replayBytes: number;
  /** Pause the pty when this many bytes are sent but not acknowledged by the writer. */
  highWater: number;
  /** Resume it at or below this many. */
  lowWater: number;
  /** Largest OUTPUT frame, in data bytes. */
  maxFrame: number;
}

export const DEFAULT_LIMITS: SessionLimits = { replayBytes: 2 * 1024 * 1024, highWater: 512 * 1024, lowWater: 128 * 1024, maxFrame: 64 * 1024 };

/** Opens the node shell for `ssh <node>` typed in this terminal; rejects with a message for the learner. */
export type SshHandler = (node: string) => Promise<PtyProcess>;

/** Runs `ssh <node> <command>` typed in this terminal: the command as root on the node, not interactive (as ssh without -t). */
export type SshRunHandler = (node: string, command: string, stdin: Buffer) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

export interface SessionOptions {
  id: string;
  attemptId: string;
  kind: TerminalKind;
  title: string;
  pty: PtyProcess;
  cols: number;
  rows: number;
  mirrors: ScreenMirrors;
  limits?: Partial<SessionLimits>;
  /** Token the workstation's `ssh` script must present; with onSsh, enables node shells by `ssh`. */
  sshToken?: string;
  onSsh?: SshHandler;
  onSshRun?: SshRunHandler;
  now?: () => number;
}

const ClientControlSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('attach'),
      from: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      cols: z.number().int(),
      rows: z.number().int(),
      readOnly: z.boolean().optional(),
    })
    .strict(),
  z.object({ type: z.literal('ready') }).strict(),
  z.object({ type: z.literal('take-input') }).strict(),
  z.object({ type: z.literal('ping') }).strict(),
]);

interface ClientState {
  client: TerminalClient;
  attached: boolean;
  /** Stream offset sent up to. */
  sent: number;
  /** Data bytes sent and not yet acknowledged. */
  unacked: number;
  replayEnd: number;
  replayDoneSent: boolean;
  /** Replay written by the client; only then is its input accepted. */
  ready: boolean;
  snapshotting: boolean;
  pumping: boolean;
  closed: boolean;
  /** Someone watching (an instructor): never has input, and the others are told they are there. */
  watcher?: string;
}

/** Bytes from which a pty read counts as full (Linux hands out at most 4095 per read). */
const FULL_READ = 2048;

const SSH_PREFIX = Buffer.from('\x1b]7337;ssh;');
const BEL = 0x07;
// A request carries a command and its stdin (base64) when `ssh <node> <command>` runs in a terminal.
const MAX_OSC = 16 * 1024;
/** Most of a node command's stdout and stderr typed back into the terminal, each. */
const MAX_SSH_ANSWER = 256 * 1024;

const encoder = new TextEncoder();
function controlFrame(msg: ServerControl): Uint8Array {
  const body = encoder.encode(JSON.stringify(msg));
  const frame = new Uint8Array(1 + body.length);
  frame[0] = Op.control;
  frame.set(body, 1);
  return frame;
}

/**
 * One terminal: a shell on a pty (plus, while `ssh <node>` runs, a nested node shell), its output
 * stream with replay and screen snapshots, and the clients attached to it. The shell outlives
 * its clients; flow control follows the writer (the client that owns input), so a slow
 * read-only tab never slows the learner down.
 */
export class TerminalSession {
  readonly id: string;
  readonly attemptId: string;
  readonly kind: TerminalKind;
  readonly title: string;
  readonly createdAt: number;
  readonly #limits: SessionLimits;
  readonly #mirrors: ScreenMirrors;
  readonly #now: () => number;
  readonly #ring: OutputRing;
  readonly #main: PtyProcess;
  #nested: PtyProcess | undefined;
  readonly #sshToken: string | undefined;
  readonly #onSsh: SshHandler | undefined;
  readonly #onSshRun: SshRunHandler | undefined;
  #oscCarry: Buffer | undefined;
  #cols: number;
  #rows: number;
  #clients = new Set<ClientState>();
  #writer: ClientState | undefined;
  #stickyFloor = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #flushScheduled = false;
  #flushTimer: NodeJS.Timeout | undefined;
  #lastFrameBytes = 0;
  #paused = false;
  #ended = false;
  #exitCode: number | null = null;
  #lastDetach: number;
  #endedListeners: ((reason: string) => void)[] = [];
  /** Why input is refused for now (an exam submitted: the terminal is read-only), or null. */
  #inputLocked: string | null = null;

  constructor(o: SessionOptions) {
    this.id = o.id;
    this.attemptId = o.attemptId;
    this.kind = o.kind;
    this.title = o.title;
    this.#limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.#mirrors = o.mirrors;
    this.#now = o.now ?? Date.now;
    this.createdAt = this.#now();
    this.#lastDetach = this.createdAt;
    this.#main = o.pty;
    this.#cols = o.cols;
    this.#rows = o.rows;
    this.#sshToken = o.sshToken;
    this.#onSsh = o.onSsh;
    this.#onSshRun = o.onSshRun;
    this.#mirrors.open(this.id, o.cols, o.rows);
    this.#ring = new OutputRing(this.#limits.replayBytes, (c) => this.#mirrors.write(this.id, c.offset, c.frame.subarray(DATA_HEADER)));
    this.#main.onData((d) => this.#onMainData(d));
    this.#main.onExit((code) => {
      this.#exitCode = code;
      void this.#end(`the shell exited${code === null ? '' : ` with code ${code}`}`, true);
    });
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Milliseconds since the last client left (0 while any client is attached). */
  idleMs(): number {
    return this.#clients.size ? 0 : this.#now() - this.#lastDetach;
  }

  get size(): { cols: number; rows: number } {
    return { cols: this.#cols, rows: this.#rows };
  }

  /** Offset one past the last output byte. */
  get outputEnd(): number {
    return this.#ring.end + this.#pendingBytes;
  }

  /** Whether the pty is paused by flow control (exposed for tests and diagnostics). */
  get paused(): boolean {
    return this.#paused;
  }

  onEnded(cb: (reason: string) => void): void {
    this.#endedListeners.push(cb);
  }

  /**
   * Connects a client; it must send an `attach` CONTROL frame first. A `watcher` (named) is
   * read-only whatever it asks for, and every other client is told it is watching.
   */
  attach(client: TerminalClient, opts: { watcher?: string } = {}): ClientHandle {
    const st: ClientState = {
      client,
      attached: false,
      sent: 0,
      unacked: 0,
      replayEnd: 0,
      replayDoneSent: false,
      ready: false,
      snapshotting: false,
      pumping: false,
      closed: false,
      ...(opts.watcher ? { watcher: opts.watcher } : {}),
    };
    if (this.#ended) {
      client.close(Close.terminalClosed, 'this terminal has ended');
      return { receive: () => {}, detach: () => {} };
    }
    this.#clients.add(st);
    return {
      receive: (frame) => this.#receive(st, frame),
      detach: () => this.#detach(st),
    };
  }

  /** Kills the shell (and a nested node shell) and disconnects every client. */
  async close(reason: string): Promise<void> {
    await this.#end(reason, false);
  }

  // ── output ────────────────────────────────────────────────────────────────

  #onMainData(data: Buffer): void {
    if (this.#sshToken && this.#onSsh) data = this.#scanSsh(data);
    if (data.length) this.#enqueue(data);
  }

  #enqueue(data: Buffer): void {
    this.#pending.push(data);
    this.#pendingBytes += data.length;
    if (this.#pendingBytes >= this.#limits.maxFrame) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // A read that filled the pty's buffer (or follows a large frame) means more is on its way:
      // gather it for a millisecond into one frame (a flood then costs a fraction of the frames,
      // syscalls and acks). Other short reads — an echo, a prompt — go out in this turn of the loop.
      if (data.length >= FULL_READ || this.#lastFrameBytes >= FULL_READ) this.#flushTimer = setTimeout(() => this.#flush(), 1);
      else setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    clearTimeout(this.#flushTimer);
    if (!this.#pendingBytes) return;
    this.#lastFrameBytes = this.#pendingBytes;
    const chunk = this.#ring.push(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    for (const st of this.#clients) {
      if (st.attached && !st.snapshotting && !st.pumping && st.sent === chunk.offset && st.unacked < this.#limits.highWater) this.#sendChunk(st, chunk);
      else this.#pump(st);
    }
    this.#updatePause();
  }

  #sendChunk(st: ClientState, chunk: OutputChunk): void {
    const len = chunkLength(chunk);
    st.sent = chunk.offset + len;
    st.unacked += len; // before sending: an in-process client may acknowledge synchronously
    st.client.send(chunk.frame);
    this.#maybeReplayDone(st);
  }

  #pump(st: ClientState): void {
    if (!st.attached || st.snapshotting || st.closed || st.pumping) return;
    if (st.sent < this.#ring.start) {
      void this.#sendSnapshot(st);
      return;
    }
    st.pumping = true; // an ack handled while sending must not start a second pump
    try {
      while (st.sent < this.#ring.end && st.unacked < this.#limits.highWater && !st.closed) {
        const [f] = this.#ring.framesFrom(st.sent, this.#limits.maxFrame);
        if (!f) break;
        const len = f.length - DATA_HEADER;
        st.sent += len;
        st.unacked += len;
        st.client.send(f);
      }
    } finally {
      st.pumping = false;
    }
    this.#maybeReplayDone(st);
  }

  async #sendSnapshot(st: ClientState): Promise<void> {
    st.snapshotting = true;
    const snap = await this.#mirrors.snapshot(this.id);
    st.snapshotting = false;
    if (st.closed || this.#ended) return;
    const data = encoder.encode(snap.data);
    st.unacked += data.length;
    // Continue from the snapshot; if the mirror had to drop output, skip to what is still here.
    st.sent = Math.max(snap.offset, this.#ring.start);
    st.client.send(outputFrame(snap.offset, data, Op.snapshot));
    this.#pump(st);
  }

  #maybeReplayDone(st: ClientState): void {
    if (!st.replayDoneSent && st.sent >= st.replayEnd) {
      st.replayDoneSent = true;
      st.client.send(controlFrame({ type: 'replay-done', offset: st.sent }));
    }
  }

  /** The writer's acknowledged offset, or where the last writer stopped: output is retained from here. */
  #floor(): number {
    const w = this.#writer;
    return w && !w.snapshotting ? w.sent - w.unacked : this.#stickyFloor;
  }

  #updatePause(): void {
    const behind = this.outputEnd - this.#floor();
    if (!this.#paused && behind > this.#limits.highWater) {
      this.#paused = true;
      this.#main.pause();
      this.#nested?.pause();
    } else if (this.#paused && behind <= this.#limits.lowWater) {
      this.#paused = false;
      this.#main.resume();
      this.#nested?.resume();
    }
  }

  // ── input ─────────────────────────────────────────────────────────────────

  #receive(st: ClientState, frame: Buffer): void {
    if (st.closed) return;
    const op = frame[0];
    switch (op) {
      case Op.input: {
        if (!st.ready || this.#writer !== st || this.#inputLocked) return; // replayed sequences never answer into the shell
        (this.#nested ?? this.#main).write(frame.subarray(1));
        return;
      }
      case Op.resize: {
        if (frame.length !== 5) return this.#reject(st, 'resize frame must be 5 bytes');
        const cols = frame.readUInt16BE(1);
        const rows = frame.readUInt16BE(3);
        if (cols < MIN_COLS || cols > MAX_COLS || rows < MIN_ROWS || rows > MAX_ROWS) return this.#reject(st, `resize ${cols}x${rows} is out of bounds`);
        if (this.#writer === st) this.#resize(cols, rows);
        return;
      }
      case Op.ack: {
        if (frame.length !== 5) return this.#reject(st, 'ack frame must be 5 bytes');
        const n = frame.readUInt32BE(1);
        if (n > st.unacked) return this.#reject(st, `ack of ${n} bytes exceeds the ${st.unacked} unacknowledged`);
        st.unacked -= n;
        this.#pump(st);
        if (st === this.#writer) this.#updatePause();
        return;
      }
      case Op.control:
        return this.#control(st, frame);
      default:
        return this.#reject(st, op === undefined ? 'empty frame' : `unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }

  #control(st: ClientState, frame: Buffer): void {
    if (frame.length > 1024) return this.#reject(st, 'control frame too long');
    let parsed: z.infer<typeof ClientControlSchema>;
    try {
      const r = ClientControlSchema.safeParse(JSON.parse(frame.subarray(1).toString('utf8')));
      if (!r.success) return this.#reject(st, `bad control message: ${r.error.issues[0]?.message ?? 'invalid'}`);
      parsed = r.data;
    } catch {
      return this.#reject(st, 'control frame is not JSON');
    }
    switch (parsed.type) {
      case 'attach': {
        if (st.attached) return this.#reject(st, 'attach sent twice');
        const { cols, rows } = parsed;
        if (cols < MIN_COLS || cols > MAX_COLS || rows < MIN_ROWS || rows > MAX_ROWS) return this.#reject(st, `size ${cols}x${rows} is out of bounds`);
        const writer = !parsed.readOnly && !st.watcher;
        if (writer) this.#resize(cols, rows);
        this.#flush(); // everything up to now is replay
        st.attached = true;
        st.client.send(controlFrame({ type: 'hello', terminalId: this.id, kind: this.kind, title: this.title, writer, cols: this.#cols, rows: this.#rows }));
        if (writer) this.#setWriter(st, 'input moved to a newer window');
        if (this.#inputLocked) st.client.send(controlFrame({ type: 'role', writer: false, reason: this.#inputLocked }));
        if (st.watcher) this.#notice(st, `${st.watcher} is watching this terminal (read-only)`);
        else for (const w of this.watchers) st.client.send(controlFrame({ type: 'notice', message: `${w} is watching this terminal (read-only)` }));
        // A client that claims more output than exists (another server's terminal) starts over.
        st.replayEnd = this.#ring.end;
        st.sent = parsed.from <= this.#ring.end ? parsed.from : 0;
        if (writer) this.#stickyFloor = Math.min(this.#stickyFloor, st.sent);
        this.#pump(st);
        return;
      }
      case 'ready':
        if (st.replayDoneSent) st.ready = true;
        return;
      case 'take-input':
        if (st.attached && this.#inputLocked) st.client.send(controlFrame({ type: 'role', writer: false, reason: this.#inputLocked }));
        else if (st.attached && !st.watcher && this.#writer !== st) this.#setWriter(st, 'input moved to another window');
        return;
      case 'ping':
        return;
    }
  }

  /** Refuses all input (reason, told to every window) or accepts it again (null); output keeps flowing. */
  lockInput(reason: string | null): void {
    if (this.#inputLocked === reason) return;
    this.#inputLocked = reason;
    for (const c of this.#clients) {
      if (!c.attached || c.closed) continue;
      if (reason) c.client.send(controlFrame({ type: 'role', writer: false, reason }));
      else if (c === this.#writer) c.client.send(controlFrame({ type: 'role', writer: true, reason: 'input is open again' }));
    }
  }

  #setWriter(st: ClientState, reason: string): void {
    const old = this.#writer;
    if (old && old !== st && !old.closed) old.client.send(controlFrame({ type: 'role', writer: false, reason }));
    this.#writer = st;
    if (old) st.client.send(controlFrame({ type: 'role', writer: true, reason: 'this window has input' }));
  }

  // Tells every client but `from` (the learner sees who watches; watchers see each other).
  #notice(from: ClientState, message: string): void {
    for (const c of this.#clients) if (c !== from && c.attached && !c.closed) c.client.send(controlFrame({ type: 'notice', message }));
  }

  /** Names of the watchers attached now. */
  get watchers(): string[] {
    return [...this.#clients].filter((c) => c.watcher && c.attached && !c.closed).map((c) => c.watcher!);
  }

  #resize(cols: number, rows: number): void {
    if (cols === this.#cols && rows === this.#rows) return;
    this.#cols = cols;
    this.#rows = rows;
    this.#flush(); // the mirror resizes in stream order
    this.#mirrors.resize(this.id, cols, rows);
    this.#main.resize(cols, rows);
    this.#nested?.resize(cols, rows);
  }

  #reject(st: ClientState, reason: string): void {
    this.#detach(st);
    st.client.close(Close.badFrame, reason.slice(0, 120));
  }

  #detach(st: ClientState): void {
    if (st.closed) return;
    st.closed = true;
    this.#clients.delete(st);
    if (st.watcher && st.attached) this.#notice(st, `${st.watcher} stopped watching`);
    if (this.#writer === st) {
      this.#stickyFloor = st.sent - st.unacked;
      this.#writer = undefined;
      // Input passes to the most recently attached window that is still here.
      const next = [...this.#clients].reverse().find((c) => c.attached && !c.closed && !c.watcher);
      if (next) {
        this.#writer = next;
        next.client.send(controlFrame({ type: 'role', writer: true, reason: 'the window with input went away' }));
      }
    }
    if (!this.#clients.size) this.#lastDetach = this.#now();
    this.#updatePause();
  }

  // ── ssh <node> ───────────────────────────────────────────────────────────

  /** Removes `ESC ] 7337;ssh;<token>;<node> BEL` requests from the output and acts on them. */
  #scanSsh(data: Buffer): Buffer {
    if (this.#oscCarry) {
      data = Buffer.concat([this.#oscCarry, data]);
      this.#oscCarry = undefined;
    }
    let out: Buffer[] | undefined;
    let from = 0;
    for (;;) {
      const at = data.indexOf(SSH_PREFIX, from);
      if (at === -1) break;
      const bel = data.indexOf(BEL, at + SSH_PREFIX.length);
      if (bel === -1) {
        if (data.length - at < MAX_OSC) {
          (out ??= []).push(data.subarray(from, at));
          this.#oscCarry = Buffer.from(data.subarray(at));
          from = data.length;
        }
        break;
      }
      (out ??= []).push(data.subarray(from, at));
      this.#sshRequest(data.subarray(at + SSH_PREFIX.length, bel).toString('utf8'));
      from = bel + 1;
    }
    // A partial prefix at the very end may be completed by the next read.
    if (!this.#oscCarry) {
      const esc = data.lastIndexOf(0x1b);
      if (esc >= from && esc > data.length - SSH_PREFIX.length && SSH_PREFIX.subarray(0, data.length - esc).equals(data.subarray(esc))) {
        (out ??= []).push(data.subarray(from, esc));
        this.#oscCarry = Buffer.from(data.subarray(esc));
        from = data.length;
      }
    }
    if (!out) return data;
    out.push(data.subarray(from));
    return Buffer.concat(out);
  }

  #sshRequest(body: string): void {
    const [token, node = '', command, stdin] = body.split(';');
    if (token !== this.#sshToken || !this.#onSsh) return; // not from our ssh script
    const answer = (line: string) => this.#main.write(`${line}\r`);
    if (this.#nested) return answer('KDSSH-ERR a node shell is already open in this terminal');
    if (command !== undefined) {
      // ssh <node> <command>: run it and type the result back for the script to print.
      if (!this.#onSshRun) return answer('KDSSH-ERR running a command over ssh is not available here; log in and type it');
      const b64 = (s: string) => Buffer.from(s.slice(0, MAX_SSH_ANSWER)).toString('base64') || '-';
      this.#onSshRun(node, Buffer.from(command, 'base64').toString('utf8'), Buffer.from(stdin ?? '', 'base64')).then(
        (r) => !this.#ended && answer(`KDSSH-RESULT ${r.exitCode} ${b64(r.stdout)} ${b64(r.stderr)}`),
        (err: unknown) =>
          !this.#ended &&
          answer(
            `KDSSH-ERR ${errorMessage(err)
              .replace(/[\r\n]+/g, ' ')
              .slice(0, 200)}`,
          ),
      );
      return;
    }
    this.#onSsh(node).then(
      (p) => {
        if (this.#ended) {
          void p.kill();
          return;
        }
        answer('KDSSH-OK');
        this.#nested = p;
        p.resize(this.#cols, this.#rows);
        if (this.#paused) p.pause();
        p.onData((d) => this.#enqueue(d));
        p.onExit((code) => {
          if (this.#nested === p) this.#nested = undefined;
          answer(`KDSSH-DONE ${code ?? 255}`);
        });
      },
      (err: unknown) =>
        answer(
          `KDSSH-ERR ${errorMessage(err)
            .replace(/[\r\n]+/g, ' ')
            .slice(0, 200)}`,
        ),
    );
  }

  // ── end ───────────────────────────────────────────────────────────────────

  async #end(reason: string, exited: boolean): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#flush();
    for (const st of this.#clients) {
      st.client.send(controlFrame({ type: 'exit', code: exited ? this.#exitCode : null, reason }));
      st.closed = true;
      st.client.close(Close.terminalClosed, reason.slice(0, 120));
    }
    this.#clients.clear();
    this.#writer = undefined;
    this.#mirrors.close(this.id);
    const nested = this.#nested;
    this.#nested = undefined;
    await Promise.all([nested?.kill(), this.#main.kill()]);
    for (const cb of this.#endedListeners) cb(reason);
  }
}
