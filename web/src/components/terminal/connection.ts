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
const GIVE_UP_MS = 5 * 60_000;
const MAX_INPUT_FRAME = 32 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * One terminal's WebSocket: attach with replay from the last offset written, acknowledge output once
 * xterm.js has written it (the server's flow control), and reconnect with backoff. Input typed
 * while the replay is being written is dropped, so replayed queries are never answered twice.
 */
export class TerminalConnection {
  readonly #attemptId: string;
  readonly #terminalId: string;
  readonly #term: Terminal;
  readonly #onState: (s: ConnectionState) => void;
  readonly #onRole: (writer: boolean, reason: string) => void;
  readonly #onNotice: ((message: string) => void) | undefined;
  readonly #ticket: () => Promise<TerminalTicket>;
  readonly #readOnly: boolean;
  #ws: WebSocket | undefined;
  #state: ConnectionState = { kind: 'connecting' };
  /** Stream offset one past the last byte handed to xterm.js. */
  #offset = 0;
  #writer = false;
  #disposed = false;
  #failures = 0;
  #downSince = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `ticket` replaces the learner's own ticket (an instructor's watch ticket); `readOnly` never asks for input. */
  constructor(o: {
    attemptId: string;
    terminalId: string;
    term: Terminal;
    onState: (s: ConnectionState) => void;
    onRole: (writer: boolean, reason: string) => void;
    onNotice?: (message: string) => void;
    ticket?: () => Promise<TerminalTicket>;
    readOnly?: boolean;
  }) {
    this.#attemptId = o.attemptId;
    this.#terminalId = o.terminalId;
    this.#term = o.term;
    this.#onState = o.onState;
    this.#onRole = o.onRole;
    this.#onNotice = o.onNotice;
    this.#ticket = o.ticket ?? (() => api.terminals.ticket(this.#attemptId, this.#terminalId));
    this.#readOnly = o.readOnly ?? false;
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
    clearTimeout(this.#timer);
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
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(frame);
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
    const ws = new WebSocket(api.terminals.socketUrl(ticket.path), ticket.protocols);
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.onopen = () => {
      this.#set({ kind: 'replaying' });
      this.#control({ type: 'attach', from: this.#offset, cols: this.#term.cols, rows: this.#term.rows, ...(this.#readOnly ? { readOnly: true } : {}) });
    };
    ws.onmessage = (ev: MessageEvent<ArrayBuffer>) => this.#onFrame(new Uint8Array(ev.data));
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
    const now = Date.now();
    if (!this.#downSince) this.#downSince = now;
    if (now - this.#downSince > GIVE_UP_MS) {
      this.#set({ kind: 'gave-up', reason: 'the server could not be reached for 5 minutes' });
      return;
    }
    const inMs = BACKOFF_MS[Math.min(this.#failures, BACKOFF_MS.length - 1)]!;
    this.#failures++;
    this.#set({ kind: 'reconnecting', attempt: this.#failures, inMs });
    this.#timer = setTimeout(() => void this.#connect(), inMs);
  }

  #onFrame(f: Uint8Array): void {
    const op = f[0];
    if (op === Op.output || op === Op.snapshot) {
      const at = frameOffset(new DataView(f.buffer, f.byteOffset, f.byteLength));
      const len = f.length - DATA_HEADER;
      let data = f.subarray(DATA_HEADER);
      if (op === Op.snapshot) {
        this.#term.reset();
        this.#offset = at;
      } else {
        if (at < this.#offset) data = data.subarray(this.#offset - at); // already written before a reconnect
        this.#offset = Math.max(this.#offset, at + len);
      }
      this.#term.write(data, () => this.#ack(len));
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
