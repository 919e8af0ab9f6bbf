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
 * because it is only used when exact replay is impossible anyway. The worker (about 30 MB) and a
 * terminal's mirror in it are made only when output first has to be parsed: a terminal whose
 * output never outgrows the replay ring costs nothing here.
 */
export class ScreenMirrors {
  #worker: Worker | undefined;
  #nextReq = 1;
  #waiting = new Map<number, (s: ScreenSnapshot) => void>();
  #backlogs = new Map<string, Backlog>();
  #screens = new Map<string, { cols: number; rows: number; opened: boolean }>();
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
        // A crashed mirror only costs snapshots: answer waiting requests with an empty screen,
        // and open the mirrors again in the next worker.
        for (const done of this.#waiting.values()) done({ offset: 0, data: '' });
        this.#waiting.clear();
        for (const screen of this.#screens.values()) screen.opened = false;
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

  /** Whether the worker thread exists (diagnostics and tests). */
  get workerRunning(): boolean {
    return this.#worker !== undefined;
  }

  open(id: string, cols: number, rows: number): void {
    this.#screens.set(id, { cols, rows, opened: false });
  }

  /** The worker with this terminal's mirror in it, both made on first need; undefined once closed. */
  #opened(id: string): Worker | undefined {
    const screen = this.#screens.get(id);
    if (!screen) return undefined;
    const w = this.#w();
    if (!screen.opened) {
      w.postMessage({ t: 'open', id, cols: screen.cols, rows: screen.rows, scrollback: this.scrollback } satisfies MirrorRequest);
      screen.opened = true;
    }
    return w;
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
    const w = this.#opened(id);
    if (!w) return;
    // Parts are contiguous: only the oldest are ever dropped.
    this.#bytesParsed += b.bytes;
    const data = new Uint8Array(b.bytes);
    let at = 0;
    for (const part of b.parts) {
      data.set(part.data, at);
      at += part.data.length;
    }
    w.postMessage({ t: 'data', id, offset: b.parts[0]!.offset, data } satisfies MirrorRequest, [data.buffer]);
  }

  resize(id: string, cols: number, rows: number): void {
    this.#post(id);
    const screen = this.#screens.get(id);
    if (!screen) return;
    screen.cols = cols;
    screen.rows = rows;
    if (screen.opened) this.#worker?.postMessage({ t: 'resize', id, cols, rows } satisfies MirrorRequest);
  }

  /** The screen (with scrollback) as escape sequences, and the stream offset it corresponds to. */
  snapshot(id: string): Promise<ScreenSnapshot> {
    this.#post(id);
    const w = this.#screens.get(id)?.opened ? this.#worker : undefined;
    if (!w) return Promise.resolve({ offset: 0, data: '' }); // nothing has left the ring yet
    const req = this.#nextReq++;
    return new Promise((resolve) => {
      this.#waiting.set(req, resolve);
      w.ref();
      w.postMessage({ t: 'snapshot', id, req, scrollback: this.scrollback } satisfies MirrorRequest);
    }).finally(() => {
      if (this.#waiting.size === 0) this.#worker?.unref();
    }) as Promise<ScreenSnapshot>;
  }

  close(id: string): void {
    this.#backlogs.delete(id);
    const screen = this.#screens.get(id);
    this.#screens.delete(id);
    if (screen?.opened) this.#worker?.postMessage({ t: 'close', id } satisfies MirrorRequest);
  }

  /** Stops the worker. */
  async dispose(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#backlogs.clear();
    for (const screen of this.#screens.values()) screen.opened = false;
    const w = this.#worker;
    this.#worker = undefined;
    if (w) await w.terminate();
  }
}
