import { Worker } from 'node:worker_threads';

/** Messages to the mirror worker. */
export type MirrorRequest =
  | { t: 'open'; id: string; cols: number; rows: number; scrollback: number }
  | { t: 'data'; id: string; offset: number; data: Uint8Array }
  | { t: 'resize'; id: string; cols: number; rows: number }
  | { t: 'snapshot'; id: string; req: number; scrollback: number }
  | { t: 'close'; id: string };

/** Replies from the mirror worker. */
export type MirrorReply = { t: 'snapshot'; req: number; offset: number; data: string };

/** A serialized screen that equals the output stream up to `offset`. */
export interface ScreenSnapshot {
  offset: number;
  data: string;
}

/** Output kept for a mirror while output flows: the screen is decided by its newest bytes. */
export const MIRROR_BACKLOG_BYTES = 1024 * 1024;
/** Quiet time after which kept output is handed to the mirror to parse. */
export const MIRROR_IDLE_MS = 1000;

interface Backlog {
  /** Chunks not yet posted to the worker, oldest first; views into ring frames, never copied. */
  parts: { offset: number; data: Uint8Array }[];
  bytes: number;
  lastWrite: number;
}

/**
 * Server-side copies of terminal screens (headless xterm.js in one worker thread), for snapshots.
 * Output that left the replay ring is only referenced here until the terminal has been quiet for
 * MIRROR_IDLE_MS or a snapshot (or resize) needs the mirror current; then it is copied once and
 * parsed. During a flood only the newest MIRROR_BACKLOG_BYTES are kept, so a `cat` of 100 MB
 * costs the parse of 1 MB, not 100 MB — the snapshot is then approximate, which is acceptable
 * because it is only used when exact replay is impossible anyway.
 */
export class ScreenMirrors {
  #worker: Worker | undefined;
  #nextReq = 1;
  #waiting = new Map<number, (s: ScreenSnapshot) => void>();
  #backlogs = new Map<string, Backlog>();
  #timer: NodeJS.Timeout | undefined;
  #bytesParsed = 0;
  readonly scrollback: number;
  readonly #idleMs: number;

  constructor(scrollback = 1000, idleMs = MIRROR_IDLE_MS) {
    this.scrollback = scrollback;
    this.#idleMs = idleMs;
  }

  #w(): Worker {
    if (!this.#worker) {
      const w = new Worker(new URL('./screen-mirror-worker.ts', import.meta.url));
      w.unref();
      w.on('message', (m: MirrorReply) => {
        const done = this.#waiting.get(m.req);
        this.#waiting.delete(m.req);
        done?.({ offset: m.offset, data: m.data });
      });
      w.on('error', () => {
        // A crashed mirror only costs snapshots: answer waiting requests with an empty screen.
        for (const done of this.#waiting.values()) done({ offset: 0, data: '' });
        this.#waiting.clear();
        this.#worker = undefined;
      });
      this.#worker = w;
    }
    return this.#worker;
  }

  /** Output bytes handed to the worker to parse so far (diagnostics and tests). */
  get bytesParsed(): number {
    return this.#bytesParsed;
  }

  open(id: string, cols: number, rows: number): void {
    this.#w().postMessage({ t: 'open', id, cols, rows, scrollback: this.scrollback } satisfies MirrorRequest);
  }

  /** Keeps output for the mirror; `data` must not change afterwards (ring frames never do). */
  write(id: string, offset: number, data: Uint8Array): void {
    let b = this.#backlogs.get(id);
    if (!b) this.#backlogs.set(id, (b = { parts: [], bytes: 0, lastWrite: 0 }));
    b.parts.push({ offset, data });
    b.bytes += data.length;
    while (b.bytes > MIRROR_BACKLOG_BYTES && b.parts.length > 1) b.bytes -= b.parts.shift()!.data.length;
    b.lastWrite = performance.now();
    this.#timer ??= setTimeout(() => this.#postIdle(), this.#idleMs).unref();
  }

  #postIdle(): void {
    this.#timer = undefined;
    const now = performance.now();
    let next = Infinity;
    for (const [id, b] of this.#backlogs) {
      const quietFor = now - b.lastWrite;
      if (quietFor >= this.#idleMs) this.#post(id);
      else next = Math.min(next, this.#idleMs - quietFor);
    }
    if (next !== Infinity) this.#timer = setTimeout(() => this.#postIdle(), next).unref();
  }

  #post(id: string): void {
    const b = this.#backlogs.get(id);
    this.#backlogs.delete(id);
    if (!b?.parts.length) return;
    // Parts are contiguous: only the oldest are ever dropped.
    this.#bytesParsed += b.bytes;
    const data = new Uint8Array(b.bytes);
    let at = 0;
    for (const part of b.parts) {
      data.set(part.data, at);
      at += part.data.length;
    }
    this.#w().postMessage({ t: 'data', id, offset: b.parts[0]!.offset, data } satisfies MirrorRequest, [data.buffer]);
  }

  resize(id: string, cols: number, rows: number): void {
    this.#post(id);
    this.#w().postMessage({ t: 'resize', id, cols, rows } satisfies MirrorRequest);
  }

  /** The screen (with scrollback) as escape sequences, and the stream offset it corresponds to. */
  snapshot(id: string): Promise<ScreenSnapshot> {
    this.#post(id);
    const req = this.#nextReq++;
    return new Promise((resolve) => {
      this.#waiting.set(req, resolve);
      this.#w().ref();
      this.#w().postMessage({ t: 'snapshot', id, req, scrollback: this.scrollback } satisfies MirrorRequest);
    }).finally(() => {
      if (this.#waiting.size === 0) this.#worker?.unref();
    }) as Promise<ScreenSnapshot>;
  }

  close(id: string): void {
    this.#backlogs.delete(id);
    this.#worker?.postMessage({ t: 'close', id } satisfies MirrorRequest);
  }

  /** Stops the worker. */
  async dispose(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#backlogs.clear();
    const w = this.#worker;
    this.#worker = undefined;
    if (w) await w.terminate();
  }
}
