import { errorMessage } from '../errors.ts';
import type { ServiceLog } from '../log.ts';
import type { PlanEntry } from '../provisioner/pipeline.ts';
import type { StepEvent, StepSink } from '../provisioner/steps.ts';
import type { AttemptEvent, AttemptRepository, AttemptStatus } from './attempt-repository.ts';

/** One line of an attempt's progress: a planned step with its state so far. */
export interface StepLine {
  name: string;
  state: 'pending' | NonNullable<AttemptEvent['state']>;
  elapsedMs: number;
  note?: string;
}

/**
 * The attempt's steps as lines: its latest plan (every step pending, or skipped with a note), each
 * updated by its latest step event; steps the plan did not name are placed after the step reported before them.
 */
export function stepLines(events: readonly AttemptEvent[]): StepLine[] {
  const plan = events.findLast((e) => e.type === 'plan')?.plan ?? [];
  const lines: StepLine[] = plan.map((p) => ({ name: p.name, state: p.state, elapsedMs: 0, ...(p.note ? { note: p.note } : {}) }));
  let last = -1;
  for (const e of events) {
    if (e.type !== 'step' || !e.state) continue;
    let i = lines.findIndex((l) => l.name === e.name);
    if (i < 0) lines.splice((i = last + 1), 0, { name: e.name, state: e.state, elapsedMs: 0 });
    const note = e.state === 'skipped' ? lines[i]!.note : undefined;
    lines[i] = { name: e.name, state: e.state, elapsedMs: e.elapsedMs, ...(note ? { note } : {}) };
    last = Math.max(last, i);
  }
  return lines;
}

/**
 * The event stream of attempts: every status, step and queue move is stored (numbered per attempt)
 * and pushed to live subscribers, so a page that reconnects replays what it missed and then follows.
 * Also the in-process listeners of status changes and ends (terminals, exams).
 */
export class AttemptEvents {
  readonly #repo: AttemptRepository;
  readonly #now: () => number;
  readonly #log: Pick<ServiceLog, 'warn'>;
  readonly #listeners = new Map<string, Set<(e: AttemptEvent) => void>>();
  readonly #ended = new Set<(id: string) => void>();
  readonly #statusListeners = new Set<(id: string, status: AttemptStatus) => void>();
  readonly #seq = new Map<string, number>();
  readonly #stepStarted = new Map<string, Map<string, number>>();
  readonly #plans = new Map<string, string>();

  constructor(repo: AttemptRepository, now: () => number, log: Pick<ServiceLog, 'warn'>) {
    this.#repo = repo;
    this.#now = now;
    this.#log = log;
  }

  /** Stored events after `after`, and live ones from now on via cb; returns them and an unsubscribe function. */
  subscribe(id: string, after: number, cb: (e: AttemptEvent) => void): { replay: AttemptEvent[]; unsubscribe: () => void } {
    let set = this.#listeners.get(id);
    if (!set) this.#listeners.set(id, (set = new Set()));
    set.add(cb);
    const replay = this.#repo.events(id, after);
    return {
      replay,
      unsubscribe: () => {
        set.delete(cb);
        if (!set.size) this.#listeners.delete(id);
      },
    };
  }

  /** Stores the attempt's next event and pushes it to its subscribers. */
  emit(id: string, e: Omit<AttemptEvent, 'seq' | 'at'>): void {
    const seq = (this.#seq.get(id) ?? this.#repo.lastSeq(id)) + 1;
    this.#seq.set(id, seq);
    const event: AttemptEvent = { seq, at: new Date(this.#now()).toISOString(), ...e };
    this.#repo.addEvent(id, event);
    for (const l of this.#listeners.get(id) ?? []) l(event);
  }

  /** Sends the attempt's plan (every step, before any runs); a plan equal to the last one sent is not sent again. */
  plan(id: string, entries: PlanEntry[]): void {
    const key = JSON.stringify(entries);
    if (this.#plans.get(id) === key) return;
    this.#plans.set(id, key);
    this.emit(id, { type: 'plan', name: 'plan', state: null, elapsedMs: this.sinceStart(id), position: null, output: null, plan: entries });
  }

  /** Milliseconds since the attempt was created (0 for an unknown attempt). */
  sinceStart(id: string): number {
    const a = this.#repo.get(id);
    return a ? this.#now() - Date.parse(a.createdAt) : 0;
  }

  /** A step sink that records the attempt's steps with their elapsed times. */
  sink(id: string): StepSink {
    let started = this.#stepStarted.get(id);
    if (!started) this.#stepStarted.set(id, (started = new Map()));
    const s = started;
    return (e: StepEvent) => {
      const now = this.#now();
      if (e.status === 'running') s.set(e.step, now);
      const elapsedMs = e.status === 'skipped' || e.status === 'not-run' ? 0 : now - (s.get(e.step) ?? now);
      this.emit(id, { type: 'step', name: e.step, state: e.status, elapsedMs, position: null, output: e.output ?? null });
    };
  }

  /** Calls cb whenever an attempt changes status; returns an unsubscribe function. */
  onStatus(cb: (id: string, status: AttemptStatus) => void): () => void {
    this.#statusListeners.add(cb);
    return () => this.#statusListeners.delete(cb);
  }

  /** Calls cb when an attempt ends (finished, failed, expired); returns an unsubscribe function. */
  onEnded(cb: (id: string) => void): () => void {
    this.#ended.add(cb);
    return () => this.#ended.delete(cb);
  }

  /** Tells the status listeners; one that throws is logged and does not stop the others. */
  statusChanged(id: string, status: AttemptStatus): void {
    for (const cb of this.#statusListeners) {
      try {
        cb(id, status);
      } catch (e) {
        this.#log.warn({ error: errorMessage(e) }, 'attempts: an onStatus listener failed');
      }
    }
  }

  /** Forgets the attempt's counters and tells the end listeners. */
  ended(id: string): void {
    this.#stepStarted.delete(id);
    this.#plans.delete(id);
    this.#seq.delete(id);
    for (const cb of this.#ended) {
      try {
        cb(id);
      } catch (e) {
        this.#log.warn({ error: errorMessage(e) }, 'attempts: an onEnded listener failed');
      }
    }
  }
}
