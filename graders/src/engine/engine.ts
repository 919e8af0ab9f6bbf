import type { CheckDecl } from '../checks/schema.ts';
import { ClusterError, type ClusterPort, type NodeAccess, type ScriptRunner, type WorkstationAccess } from '../cluster/port.ts';
import { GradeContext, runCheck } from './checks.ts';
import type { CheckOutcome, CheckReport, GradableLab, GradeReport, TaskReport } from './types.ts';
import { errorMessage } from '../shared/error-message.ts';

export type { CheckReport, CheckStatus, GradableLab, GradableTask, GradeReport, TaskReport } from './types.ts';

export interface GradeOptions {
  port: ClusterPort;
  /** Needed only by labs with script checks (real clusters). */
  scripts?: ScriptRunner;
  /** Needed only by node checks (real clusters): commands as root on the attempt's nodes. */
  nodes?: NodeAccess;
  /** Needed only by workstation checks: commands in the learner's workstation container. */
  workstation?: WorkstationAccess;
  signal?: AbortSignal;
  /** Checks running at once (default 8). */
  concurrency?: number;
  /**
   * Shared with other grades running at the same time (an exam grades all its labs at once): at most
   * its size of checks run across all of them, and a check's deadline starts when it gets a slot.
   */
  slots?: CheckSlots;
  /** Deadline per check unless the check declares timeoutSeconds (default 20 s). */
  checkTimeoutMs?: number;
  /** How long a probe keeps retrying for its expected outcome (default 3 s). */
  probeWindowMs?: number;
  /** Pause between probe tries (default 500 ms). */
  retryDelayMs?: number;
  /** How long a probe through a Service waits for kube-proxy to program its ClusterIP on the source node (default 10 s; needs nodes). */
  kubeProxyWaitMs?: number;
  /** Called as each check finishes, for progress in the UI. */
  onCheck?: (taskId: string, check: CheckReport) => void;
}

/** A check's outcome before scoring (required defaults to false). */
export type ScorableCheck = Omit<CheckReport, 'points' | 'maxPoints' | 'required' | 'scoreNote'> & { required?: boolean };

const DEFAULT_CONCURRENCY = 8;
const DEFAULT_CHECK_TIMEOUT_MS = 20_000;

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function checkId(c: CheckDecl, index: number): string {
  return c.id ?? `${c.kind}-${index + 1}`;
}

/** Turns anything a check threw into a learner-facing `error` outcome that blames the right party. */
function errorOutcome(err: unknown, timedOut: boolean, timeoutMs: number): CheckOutcome {
  if (timedOut)
    return {
      status: 'error',
      actual: 'no answer',
      explanation: `the check did not finish within ${Math.round(timeoutMs / 1000)} s; the cluster may be overloaded, so try Check again`,
    };
  if (err instanceof ClusterError) {
    const where =
      err.reason === 'forbidden'
        ? 'the grader is not allowed to read this'
        : err.reason === 'unreachable'
          ? 'the cluster did not answer'
          : err.reason === 'aborted'
            ? 'grading was cancelled'
            : 'the cluster reported an error';
    return { status: 'error', actual: 'no answer', explanation: `${where}: ${err.message}` };
  }
  return { status: 'error', actual: 'no answer', explanation: `the grader failed on this check: ${errorMessage(err)}` };
}

async function runOne(
  ctx: GradeContext,
  c: CheckDecl,
  defaultTimeoutMs: number,
  outer: AbortSignal | undefined,
): Promise<{ outcome: CheckOutcome; durationMs: number }> {
  const started = performance.now();
  const timeoutMs = c.timeoutSeconds !== undefined ? c.timeoutSeconds * 1000 : defaultTimeoutMs;
  const ctrl = new AbortController();
  let timedOut = false;
  const onOuter = () => ctrl.abort();
  outer?.addEventListener('abort', onOuter, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      ctrl.abort();
      reject(new Error('deadline'));
    }, timeoutMs);
  });
  try {
    if (outer?.aborted) throw new ClusterError('aborted', 'grading was cancelled');
    // The race guarantees the deadline even if a port call ignores its signal.
    const outcome = await Promise.race([runCheck(ctx, c, { signal: ctrl.signal, timeoutMs }), deadline]);
    return { outcome, durationMs: performance.now() - started };
  } catch (err) {
    return { outcome: errorOutcome(err, timedOut, timeoutMs), durationMs: performance.now() - started };
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}

/**
 * At most `size` checks at once across every grade that shares it, first come first served. A lab's
 * own concurrency limits one grade; this limits several graded together, which otherwise add up.
 */
export class CheckSlots {
  #free: number;
  readonly #waiting: (() => void)[] = [];
  constructor(size: number) {
    this.#free = Math.max(1, Math.floor(size));
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer cannot overtake it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/** Runs items through fn with at most `limit` in flight, keeping results in input order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Scores one task. Each check's share of the points is its weight over the task's total weight.
 * A required check that does not pass vetoes the task: it scores 0, whatever else passed. A guard
 * (already true after setup) earns only when a non-guard check of the same task passes, so doing
 * nothing scores 0. Otherwise partial credit: the shares of the passing checks add up.
 */
export function scoreTask(points: number, checks: readonly ScorableCheck[]): { score: number; checks: CheckReport[]; vetoedBy?: string[] } {
  const total = checks.reduce((s, c) => s + c.weight, 0);
  const vetoes = checks.filter((c) => c.required === true && c.status !== 'pass');
  const hasWork = checks.some((c) => !c.guard);
  const workDone = checks.some((c) => !c.guard && c.status === 'pass');
  const vetoText = vetoes.map((c) => `"${c.message}"`).join(' and ');
  const scored: CheckReport[] = checks.map((c) => {
    const maxPoints = total > 0 ? (points * c.weight) / total : 0;
    const waiting = c.guard && hasWork && !workDone;
    const earns = c.status === 'pass' && vetoes.length === 0 && !waiting;
    let scoreNote: string | undefined;
    if (c.status === 'pass' && !earns) {
      scoreNote =
        vetoes.length > 0
          ? `earns nothing: the task scores 0 because the required ${vetoes.length === 1 ? 'check' : 'checks'} ${vetoText} did not pass`
          : "earns nothing yet: it was already true when you started, so it counts only once the task's own work passes";
    }
    return { ...c, required: c.required === true, maxPoints: round(maxPoints), points: earns ? round(maxPoints) : 0, ...(scoreNote ? { scoreNote } : {}) };
  });
  const raw = checks.reduce((s, c, i) => s + (scored[i]?.points ? (points * c.weight) / total : 0), 0);
  return { score: round(raw), checks: scored, ...(vetoes.length ? { vetoedBy: vetoes.map((c) => c.id) } : {}) };
}

/** Grades a lab against one cluster. Never throws: every failure is inside the report. */
export async function gradeLab(lab: GradableLab, opts: GradeOptions): Promise<GradeReport> {
  const started = performance.now();
  const gradedAt = new Date().toISOString();
  const ctx = new GradeContext({
    port: opts.port,
    ...(opts.scripts ? { scripts: opts.scripts } : {}),
    ...(opts.nodes ? { nodes: opts.nodes } : {}),
    ...(opts.workstation ? { workstation: opts.workstation } : {}),
    labDir: lab.dir,
    probeWindowMs: opts.probeWindowMs ?? 3000,
    retryDelayMs: opts.retryDelayMs ?? 500,
    ...(opts.kubeProxyWaitMs !== undefined ? { kubeProxyWaitMs: opts.kubeProxyWaitMs } : {}),
  });
  const jobs = lab.tasks.flatMap((task) => task.checks.map((check, index) => ({ task, check, index })));
  const results = await pool(jobs, opts.concurrency ?? DEFAULT_CONCURRENCY, async (job) => {
    const one = () => runOne(ctx, job.check, opts.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS, opts.signal);
    const { outcome, durationMs } = await (opts.slots ? opts.slots.run(one) : one());
    const report: CheckReport = {
      id: checkId(job.check, job.index),
      kind: job.check.kind,
      message: job.check.message,
      status: outcome.status,
      guard: job.check.guard,
      required: job.check.required,
      weight: job.check.weight,
      points: 0,
      maxPoints: 0,
      ...(outcome.expected !== undefined ? { expected: outcome.expected } : {}),
      ...(outcome.actual !== undefined ? { actual: outcome.actual } : {}),
      ...(outcome.explanation !== undefined ? { explanation: outcome.explanation } : {}),
      durationMs: Math.round(durationMs),
    };
    try {
      opts.onCheck?.(job.task.id, report);
    } catch {
      // progress reporting must not break grading
    }
    return report;
  });
  let offset = 0;
  const tasks: TaskReport[] = lab.tasks.map((task) => {
    const mine = results.slice(offset, offset + task.checks.length);
    offset += task.checks.length;
    const { score, checks, vetoedBy } = scoreTask(task.points, mine);
    return { id: task.id, title: task.title, points: task.points, score, ...(vetoedBy ? { vetoedBy } : {}), checks };
  });
  const score = round(tasks.reduce((s, t) => s + t.score, 0));
  const maxScore = tasks.reduce((s, t) => s + t.points, 0);
  return {
    labId: lab.id,
    score,
    maxScore,
    percent: maxScore > 0 ? round((score / maxScore) * 100, 1) : 0,
    tasks,
    gradedAt,
    durationMs: Math.round(performance.now() - started),
  };
}
