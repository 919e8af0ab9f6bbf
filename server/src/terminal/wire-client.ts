import { DATA_HEADER, Op, readOffset, type ClientControl, type ServerControl } from './protocol.ts';

/**
 * The client side of the terminal protocol without a screen: collects output, answers with acks,
 * and lets tests and the benchmark wait for text. Transport-agnostic (in-process or WebSocket).
 */
export class WireClient {
  /** Output bytes received, in order, since attach (after a snapshot: the snapshot, then output). */
  chunks: Buffer[] = [];
  bytes = 0;
  /** Stream offset one past the last byte received. */
  offset = 0;
  controls: ServerControl[] = [];
  snapshots = 0;
  /** Data bytes received and not yet acknowledged. */
  unacked = 0;
  /** Acknowledge automatically on receipt (a client that renders instantly). */
  autoAck: boolean;
  readonly #send: (frame: Uint8Array) => void;
  #waiters: (() => void)[] = [];

  constructor(send: (frame: Uint8Array) => void, opts: { autoAck?: boolean } = {}) {
    this.#send = send;
    this.autoAck = opts.autoAck ?? true;
  }

  /** Feeds one frame from the server. */
  receive(frame: Uint8Array): void {
    const op = frame[0];
    if (op === Op.output || op === Op.snapshot) {
      const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
      const at = readOffset(view, 1);
      let data = Buffer.from(frame.buffer, frame.byteOffset + DATA_HEADER, frame.byteLength - DATA_HEADER);
      if (op === Op.snapshot) {
        this.snapshots++;
        this.chunks = [];
        this.bytes = 0;
        this.offset = at;
      } else if (at < this.offset) {
        data = data.subarray(this.offset - at); // overlap: already seen
      }
      if (op === Op.output) this.offset = Math.max(this.offset, at) + data.length;
      this.chunks.push(Buffer.from(data));
      this.bytes += data.length;
      this.unacked += frame.byteLength - DATA_HEADER;
      if (this.autoAck) this.ackAll();
    } else if (op === Op.control) {
      const msg = JSON.parse(Buffer.from(frame.subarray(1)).toString('utf8')) as ServerControl;
      this.controls.push(msg);
      if (msg.type === 'replay-done') this.control({ type: 'ready' });
    }
    const w = this.#waiters;
    this.#waiters = [];
    w.forEach((f) => f());
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  control(msg: ClientControl): void {
    const body = Buffer.from(JSON.stringify(msg));
    this.#send(Buffer.concat([Buffer.from([Op.control]), body]));
  }

  attach(from = 0, cols = 80, rows = 24, readOnly = false): void {
    this.control({ type: 'attach', from, cols, rows, ...(readOnly ? { readOnly } : {}) });
  }

  input(data: string | Buffer): void {
    this.#send(Buffer.concat([Buffer.from([Op.input]), Buffer.from(data)]));
  }

  resize(cols: number, rows: number): void {
    const f = Buffer.alloc(5);
    f[0] = Op.resize;
    f.writeUInt16BE(cols, 1);
    f.writeUInt16BE(rows, 3);
    this.#send(f);
  }

  /** Acknowledges everything received so far. */
  ackAll(): void {
    const n = this.unacked;
    this.unacked = 0;
    if (n) this.ack(n);
  }

  ack(n: number): void {
    const f = Buffer.alloc(5);
    f[0] = Op.ack;
    f.writeUInt32BE(n, 1);
    this.#send(f);
  }

  /** Resolves when pred() holds after some frame (or now); rejects after timeoutMs with `what`. */
  waitFor(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err?: Error) => {
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}; output tail: ${JSON.stringify(this.text().slice(-300))}`)), timeoutMs);
      // Also poll: some conditions (a paused pty) change without a frame arriving.
      const poll = setInterval(() => !done && pred() && finish(), 25);
      const check = () => {
        if (done) return;
        if (pred()) finish();
        else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  /** Waits until the output (since `since` bytes of text) contains `needle`. */
  waitForText(needle: string | RegExp, timeoutMs = 10_000): Promise<void> {
    const test = typeof needle === 'string' ? (t: string) => t.includes(needle) : (t: string) => needle.test(t);
    return this.waitFor(() => test(this.text()), timeoutMs, `output ${String(needle)}`);
  }
}
