import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Work a service starts and does not await (creates, setups, deletes, grades): tracked, so tests
 * can wait until none is left and shutdown can wait a while for it. A failure is reported, never thrown.
 */
export class BackgroundTasks {
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #failed: (e: unknown) => void;

  constructor(failed: (e: unknown) => void) {
    this.#failed = failed;
  }

  /** Tracks p until it settles; a rejection goes to the failure handler. */
  add(p: Promise<unknown>): void {
    const t = p.catch(this.#failed).finally(() => this.#tasks.delete(t));
    this.#tasks.add(t);
  }

  /** Resolves when no tracked work is left, including work the tracked work started meanwhile. */
  async idle(): Promise<void> {
    while (this.#tasks.size) await Promise.all([...this.#tasks]);
  }

  /** Waits for idle() at most ms, so a shutdown does not hang on a stuck command. */
  async settle(ms: number): Promise<void> {
    await Promise.race([this.idle(), sleep(ms, undefined, { ref: false })]);
  }
}
