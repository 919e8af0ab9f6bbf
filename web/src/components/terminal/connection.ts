import type { Terminal } from '@xterm/xterm';
import { api, ApiError, type TerminalTicket } from '../../api/client.ts';
import { Close, DATA_HEADER, frameOffset, Op, type ClientControl, type ServerControl } from './protocol.ts';

/** What the connection is doing, for the banner. */
export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'replaying' }
  | { kind: 'live' }
  | { kind: 'reconnecting'; attempt: number; inMs: number }
  | { kind: 'gave-up'; reason: string }
  | { kind: 'ended'; reason: string };

const BACKOFF_MS = [200, 500, 1000, 2000, 3500, 5000];
/** WebSocket.OPEN, spelled out so the module loads where WebSocket is a test's double. */
const OPEN = 1;
const GIVE_UP_MS = 5 * 60_000;
const MAX_INPUT_FRAME = 32 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The wait before reconnect try number failures+1, or null once the server has been unreachable for longer than GIVE_UP_MS. */
export function reconnectDelay(failures: number, downForMs: number): number | null {
  if (downForMs > GIVE_UP_MS) return null;
  return BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)]!;
}

/**
 * Where an OUTPUT or SNAPSHOT frame of len bytes at stream offset `at` goes, given `written` bytes
 * already handed to xterm.js: a snapshot resets the screen and the stream restarts at its offset;
 * output already written before a reconnect (the server replays from a frame boundary) is skipped.
 */
export function placeFrame(written: number, snapshot: boolean, at: number, len: number): { reset: boolean; skip: number; written: number } {
  if (snapshot) return { reset: true, skip: 0, written: at };
  return { reset: false, skip: Math.min(len, Math.max(0, written - at)), written: Math.max(written, at + len) };
}

/** What a connection needs of xterm.js's Terminal. */
export type TerminalScreen = Pick<Terminal, 'cols' | 'rows' | 'reset' | 'write'>;

/** The socket calls a connection makes: the browser's WebSocket, or a test's double. */
export type TerminalSocket = {
  readonly readyState: number;
  send(frame: Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
  binaryType: BinaryType;
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent<ArrayBuffer>) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
};

/** Time and timers a connection uses for its backoff (a test passes a clock it moves itself). */
export type ConnectionClock = { now(): number; setTimeout(fn: () => void, ms: number): unknown; clearTimeout(timer: unknown): void };

const realClock: ConnectionClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
};

/**
 * One terminal's WebSocket: attach with replay from the last offset written, acknowledge output once
 * xterm.js has written it (the server's flow control), and reconnect with backoff. Input typed
 * while the replay is being written is dropped, so replayed queries are never answered twice.
 */
export class TerminalConnection {
  readonly #attemptId: string;
  readonly #terminalId: string;
  readonly #term: TerminalScreen;
  readonly #onState: (s: ConnectionState) => void;
  readonly #onRole: (writer: boolean, reason: string) => void;
  readonly #onNotice: ((message: string) => void) | undefined;
  readonly #ticket: () => Promise<TerminalTicket>;
  readonly #readOnly: boolean;
  readonly #openSocket: (path: string, protocols: string[]) => TerminalSocket;
  readonly #clock: ConnectionClock;
  #ws: TerminalSocket | undefined;
  #state: ConnectionState = { kind: 'connecting' };
  /** Stream offset one past the last byte handed to xterm.js. */
  #offset = 0;
  #writer = false;
  #disposed = false;
  #failures = 0;
  #downSince = 0;
  #timer: unknown;

  /**
   * `ticket` replaces the learner's own ticket (an instructor's watch ticket); `readOnly` never asks for input;
   * `openSocket` and `clock` are the browser's WebSocket and timers unless a test passes its own.
   */
  constructor(o: {
    attemptId: string;
    terminalId: string;
    term: TerminalScreen;
    onState: (s: ConnectionState) => void;
    onRole: (writer: boolean, reason: string) => void;
    onNotice?: (message: string) => void;
    ticket?: () => Promise<TerminalTicket>;
    readOnly?: boolean;
    openSocket?: (path: string, protocols: string[]) => TerminalSocket;
    clock?: ConnectionClock;
  }) {
    this.#attemptId = o.attemptId;
    this.#terminalId = o.terminalId;
    this.#term = o.term;
    this.#onState = o.onState;
    this.#onRole = o.onRole;
    this.#onNotice = o.onNotice;
    this.#ticket = o.ticket ?? (() => api.terminals.ticket(this.#attemptId, this.#terminalId));
    this.#readOnly = o.readOnly ?? false;
    this.#openSocket = o.openSocket ?? ((path, protocols) => new WebSocket(api.terminals.socketUrl(path), protocols));
    this.#clock = o.clock ?? realClock;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get writer(): boolean {
    return this.#writer;
  }

  start(): void {
    void this.#connect();
  }

  /** Tries again after giving up. */
  retry(): void {
    this.#failures = 0;
    this.#downSince = 0;
    this.#set({ kind: 'connecting' });
    void this.#connect();
  }

  dispose(): void {
    this.#disposed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#ws?.close(1000, 'closed');
  }

  /** Sends keystrokes or pasted text; false while not live or read-only. */
  sendInput(data: string): boolean {
    if (this.#state.kind !== 'live' || !this.#writer) return false;
    const bytes = encoder.encode(data);
    for (let i = 0; i < bytes.length; i += MAX_INPUT_FRAME) {
      const part = bytes.subarray(i, i + MAX_INPUT_FRAME);
      const frame = new Uint8Array(1 + part.length);
      frame[0] = Op.input;
      frame.set(part, 1);
      this.#send(frame);
    }
    return true;
  }

  resize(cols: number, rows: number): void {
    const f = new Uint8Array(5);
    const v = new DataView(f.buffer);
    f[0] = Op.resize;
    v.setUint16(1, cols);
    v.setUint16(3, rows);
    if (this.#state.kind === 'live' || this.#state.kind === 'replaying') this.#send(f);
  }

  /** Asks the server to move input to this window. */
  takeInput(): void {
    this.#control({ type: 'take-input' });
  }

  #set(s: ConnectionState): void {
    this.#state = s;
    this.#onState(s);
  }

  #send(frame: Uint8Array<ArrayBuffer>): void {
    if (this.#ws?.readyState === OPEN) this.#ws.send(frame);
  }

  #control(msg: ClientControl): void {
    const body = encoder.encode(JSON.stringify(msg));
    const f = new Uint8Array(1 + body.length);
    f[0] = Op.control;
    f.set(body, 1);
    this.#send(f);
  }

  #ack(n: number): void {
    const f = new Uint8Array(5);
    f[0] = Op.ack;
    new DataView(f.buffer).setUint32(1, n);
    this.#send(f);
  }

  async #connect(): Promise<void> {
    if (this.#disposed) return;
    let ticket;
    try {
      ticket = await this.#ticket();
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 401 || e.status === 409)) {
        this.#set({ kind: 'ended', reason: e.message });
        return;
      }
      this.#scheduleReconnect();
      return;
    }
    if (this.#disposed) return;
    const ws = this.#openSocket(ticket.path, ticket.protocols);
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.onopen = () => {
      this.#set({ kind: 'replaying' });
      this.#control({ type: 'attach', from: this.#offset, cols: this.#term.cols, rows: this.#term.rows, ...(this.#readOnly ? { readOnly: true } : {}) });
    };
    ws.onmessage = (ev) => this.#onFrame(new Uint8Array(ev.data));
    ws.onclose = (ev) => {
      if (this.#ws !== ws || this.#disposed) return;
      this.#ws = undefined;
      if (ev.code === Close.terminalClosed || ev.code === Close.attemptEnded) {
        this.#set({ kind: 'ended', reason: ev.reason || 'the terminal has ended' });
        return;
      }
      this.#scheduleReconnect();
    };
  }

  #scheduleReconnect(): void {
    if (this.#disposed) return;
    const now = this.#clock.now();
    if (!this.#downSince) this.#downSince = now;
    const inMs = reconnectDelay(this.#failures, now - this.#downSince);
    if (inMs === null) {
      this.#set({ kind: 'gave-up', reason: 'the server could not be reached for 5 minutes' });
      return;
    }
    this.#failures++;
    this.#set({ kind: 'reconnecting', attempt: this.#failures, inMs });
    this.#timer = this.#clock.setTimeout(() => void this.#connect(), inMs);
  }

  #onFrame(f: Uint8Array): void {
    const op = f[0];
    if (op === Op.output || op === Op.snapshot) {
      const at = frameOffset(new DataView(f.buffer, f.byteOffset, f.byteLength));
      const len = f.length - DATA_HEADER;
      const place = placeFrame(this.#offset, op === Op.snapshot, at, len);
      if (place.reset) this.#term.reset();
      this.#offset = place.written;
      // The whole frame is acknowledged, skipped bytes too: the server counts what it sent.
      this.#term.write(f.subarray(DATA_HEADER + place.skip), () => this.#ack(len));
      return;
    }
    if (op !== Op.control) return;
    const msg = JSON.parse(decoder.decode(f.subarray(1))) as ServerControl;
    switch (msg.type) {
      case 'hello':
        this.#writer = msg.writer;
        this.#onRole(msg.writer, msg.writer ? '' : 'another window has input');
        return;
      case 'replay-done':
        // Only once xterm.js has written the replay does input count again.
        this.#term.write('', () => {
          this.#control({ type: 'ready' });
          this.#failures = 0;
          this.#downSince = 0;
          this.#set({ kind: 'live' });
        });
        return;
      case 'role':
        this.#writer = msg.writer;
        this.#onRole(msg.writer, msg.reason);
        return;
      case 'exit':
        this.#set({ kind: 'ended', reason: msg.reason });
        return;
      case 'notice':
        this.#onNotice?.(msg.message);
        return;
    }
  }
}
