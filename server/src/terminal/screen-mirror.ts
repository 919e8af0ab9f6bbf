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

/** Server-side copies of terminal screens (headless xterm.js in one worker thread), for snapshots. */
export class ScreenMirrors {
  #worker: Worker | undefined;
  #nextReq = 1;
  #waiting = new Map<number, (s: ScreenSnapshot) => void>();
  #pending = new Map<string, { offset: number; bytes: number; parts: Buffer[] }>();
  #timer: NodeJS.Timeout | undefined;
  readonly scrollback: number;

  constructor(scrollback = 1000) {
    this.scrollback = scrollback;
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

  open(id: string, cols: number, rows: number): void {
    this.#w().postMessage({ t: 'open', id, cols, rows, scrollback: this.scrollback } satisfies MirrorRequest);
  }

  /** Feeds output; batched for up to 50 ms so a flood costs one message per batch, not per chunk. */
  write(id: string, offset: number, data: Uint8Array): void {
    let p = this.#pending.get(id);
    if (!p || p.offset + p.bytes !== offset) {
      if (p) this.#post(id);
      p = { offset, bytes: 0, parts: [] };
      this.#pending.set(id, p);
    }
    p.parts.push(Buffer.from(data));
    p.bytes += data.length;
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      for (const key of [...this.#pending.keys()]) this.#post(key);
    }, 50);
  }

  #post(id: string): void {
    const p = this.#pending.get(id);
    this.#pending.delete(id);
    if (!p) return;
    const data = new Uint8Array(p.bytes);
    let at = 0;
    for (const part of p.parts) {
      data.set(part, at);
      at += part.length;
    }
    this.#w().postMessage({ t: 'data', id, offset: p.offset, data } satisfies MirrorRequest, [data.buffer]);
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
    this.#pending.delete(id);
    this.#worker?.postMessage({ t: 'close', id } satisfies MirrorRequest);
  }

  /** Stops the worker. */
  async dispose(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    if (w) await w.terminate();
  }
}
