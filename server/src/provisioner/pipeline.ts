// Provisioning as a declared pipeline, the way kind declares cluster creation as an ordered list of
// actions: a plan is made before anything runs (every step named, in order, with its own timeout and
// failure text), sent to the page first, and run by one runner. A step may report finer parts (kind's
// stages, one lab's setup phases); those are named in the plan too, so the page lists every step from
// the start and learns only of their state as they go.
import { outputOf, ProvisionError, type StepEvent, type StepSink } from './steps.ts';
import { errorMessage } from '../errors.ts';

/** One line of a plan as the page lists it: a step, or one part of a step that reports parts. */
export interface PlanEntry {
  name: string;
  /** The declared step this line belongs to (its own name for a step without parts). */
  phase: string;
  /** The declared step's own timeout. */
  timeoutMs: number;
  /** pending: will run; skipped: will not run here (a warm cluster did it when it was made). */
  state: 'pending' | 'skipped';
  /** Why a skipped line is skipped, in the learner's words. */
  note?: string;
}

/** A step of a plan: what the runner needs besides the work itself. */
export interface PlannedStep<Id extends string = string> {
  id: Id;
  name: string;
  timeoutMs: number;
  /** What failed, in the learner's words, for failures that do not say it themselves (timeouts, unexpected errors). */
  failure: string;
  /** The finer steps this step reports itself (in order); without parts the runner reports the step. */
  parts?: readonly string[];
  /** Parts that run only when needed, with when (the page says so beside them while they are pending). */
  ifNeeded?: Readonly<Record<string, string>>;
  /** Will not run here; listed so the page shows it as already done. */
  skipped?: string;
}

/** The work of each step id; a step reports its parts (if declared) through the sink it is given. */
export type StepWork<Id extends string> = Record<Id, (sink: StepSink, signal: AbortSignal) => Promise<unknown>>;

/** The lines the page lists for a plan, in order. */
export function planEntries(plan: readonly PlannedStep[]): PlanEntry[] {
  return plan.flatMap((s): PlanEntry[] => {
    const base = { phase: s.name, timeoutMs: s.timeoutMs };
    if (s.skipped) return [{ name: s.name, ...base, state: 'skipped', note: s.skipped }];
    return (s.parts?.length ? s.parts : [s.name]).map((name) => ({
      name,
      ...base,
      state: 'pending',
      ...(s.ifNeeded?.[name] ? { note: s.ifNeeded[name] } : {}),
    }));
  });
}

/** Hooks into a run: a step is about to start. */
export interface RunHooks<S> {
  onStepStart?: (step: S) => void;
}

const TIMEOUT = Symbol('step timeout');

/**
 * Runs the plan's steps in order, each within its own timeout and the run's signal. A step that fails
 * (or runs out of time: the error names it and its timeout) ends the run with a ProvisionError naming
 * the line that failed; every line after it is reported `not-run`. Parts a step did not report when it
 * ended are reported `skipped` (not needed on this cluster).
 */
export async function runPlan<Id extends string, S extends PlannedStep<Id>>(
  plan: readonly S[],
  work: StepWork<Id>,
  sink: StepSink,
  signal: AbortSignal,
  hooks: RunHooks<S> = {},
): Promise<void> {
  const lines = planEntries(plan);
  const reported = new Map<string, StepEvent['status']>();
  const report = (e: StepEvent) => {
    reported.set(e.step, e.status);
    sink(e);
  };
  for (const step of plan) {
    if (step.skipped) continue;
    signal.throwIfAborted();
    hooks.onStepStart?.(step);
    const parts = step.parts?.length ? step.parts : undefined;
    let current: string | undefined;
    // Work that outlived its timeout may still report as it unwinds; the run has moved on by then.
    let over = false;
    const partSink: StepSink = (e) => {
      if (over) return;
      if (e.status === 'running') current = e.step;
      else if (e.step === current) current = undefined;
      report(e);
    };
    if (!parts) report({ step: step.name, status: 'running' });
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<typeof TIMEOUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMEOUT), step.timeoutMs);
    });
    try {
      // The race stops waiting at the timeout even if the work ignores its signal; the abort lets it clean up.
      const running = work[step.id](parts ? partSink : () => {}, stop.signal);
      running.catch(() => {}); // after a timeout its rejection has no one waiting for it
      const r = await Promise.race([running, timedOut]);
      if (r === TIMEOUT) {
        over = true;
        stop.abort(new Error('timeout'));
        const at = current ?? (parts ? undefined : step.name);
        throw new ProvisionError(
          at ?? step.name,
          `${step.failure}: "${step.name}" did not finish within ${Math.ceil(step.timeoutMs / 1000)} s${at && at !== step.name ? ` (it was at "${at}")` : ''}`,
        );
      }
      if (!parts) report({ step: step.name, status: 'done' });
      for (const p of parts ?? []) if (!reported.has(p)) report({ step: p, status: 'skipped' });
    } catch (e) {
      if (signal.aborted) throw e;
      const err = e instanceof ProvisionError ? e : new ProvisionError(current ?? step.name, `${step.failure}: ${errorMessage(e).split('\n')[0]}`, outputOf(e));
      if (reported.get(err.step) !== 'failed') report({ step: err.step, status: 'failed', output: err.output });
      const failedAt = lines.findIndex((l) => l.name === err.step);
      const from = failedAt >= 0 ? failedAt + 1 : lines.findIndex((l) => l.phase === step.name);
      for (const l of lines.slice(Math.max(0, from))) if (l.state === 'pending' && !reported.has(l.name)) report({ step: l.name, status: 'not-run' });
      throw err;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }
}
