import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterPort, KubeObject, NodeAccess, ScriptRunner, WorkstationAccess } from '../cluster/port.ts';
import { gradeLab, scoreTask, type GradeOptions } from './engine.ts';
import type { GradableLab, GradeReport } from './types.ts';
import { errorMessage } from '../shared/error-message.ts';

// Honesty gates: a lab's checks must give nothing for doing nothing and everything for the
// reference solution, and say the same thing twice in a row. Mistake gates: each common wrong
// answer the lab ships scores no more than its author allows. A lab failing a gate has wrong
// checks (or a wrong solution or mistake) — a real finding, never something to retry away.

/** How to bring the cluster to a state: objects to server-side apply, or a function (scripts). */
export type StateStep = readonly KubeObject[] | (() => Promise<void>);

/** A common wrong answer shipped with a lab (labs/<track>/<lab>/mistakes/<name>/) and the most it may score. */
export interface MistakeCase {
  name: string;
  /** What the wrong answer is, e.g. "a deny-all policy". */
  title: string;
  /** The highest percentage of the lab this wrong answer may score. */
  maxPercent: number;
  why?: string;
}

/** How one mistake is brought onto a cluster, and (on a shared cluster) taken off again. */
export interface MistakeRun {
  mistake: MistakeCase;
  /** From the state right after setup to the mistake's state; returns where to grade it (a fresh model, or the same cluster). */
  enter: () => Promise<{ port: ClusterPort; scripts?: ScriptRunner }>;
  /**
   * Back to the state right after setup, when the next step reuses the cluster. The gate then grades
   * until the lab grades exactly as it did right after setup, so the next mistake starts clean.
   */
  leave?: () => Promise<void>;
}

export interface GateInput {
  lab: GradableLab;
  /** A fresh cluster for this lab: the model cluster in CI, a kind cluster in labs:verify. */
  port: ClusterPort;
  setup: StateStep;
  /**
   * The reference solution. Without one (a Killercoda scenario ships none) only "nothing earns
   * nothing" and the mistake gates run: the gates a lab without a solution can honestly have.
   */
  solution?: StateStep;
  scripts?: ScriptRunner;
  /** For node checks (real clusters). */
  nodes?: NodeAccess;
  /** For workstation checks. */
  workstation?: WorkstationAccess;
  grade?: Omit<GradeOptions, 'port' | 'scripts' | 'nodes' | 'workstation'>;
  /** Field manager for applied objects (setup and solution use one, so re-applied fields are replaced). */
  fieldManager?: string;
  /** The lab's mistakes, graded after gate 1 and before the solution. */
  mistakes?: readonly MistakeRun[];
  /**
   * Real clusters apply policy changes a moment after the API accepts them: grade a mistake until
   * two grades in a row agree (at most this many grades), and wait this long for a clean state after
   * leaving one and for the reference solution to earn everything. Default: one grade, no waiting (the model cluster is consistent at once).
   */
  settle?: {
    maxGrades: number;
    cleanTimeoutMs: number;
    errorRetryMs?: number;
    /**
     * Whether a mistake's grade needs a second one that agrees with it (default true). A mistake is
     * graded once its state has settled; only what a real cluster programs after that (connections
     * through NetworkPolicy, Services and DNS; metrics an add-on samples) can read differently a
     * moment later, so a lab that reads nothing of the kind grades a mistake again only while a check
     * could not be answered (errored). The state right after setup is always graded until two agree:
     * setup does not wait for workloads broken on purpose.
     */
    confirm?: boolean;
  };
}

export interface GateResult {
  name: 'nothing-earns-nothing' | 'mistake-is-capped' | 'solution-earns-all' | 'grading-is-stable';
  passed: boolean;
  /** What is wrong, one line per problem, naming task and check. */
  problems: string[];
  report: GradeReport;
  /** For mistake-is-capped: which mistake, and the most it could score had every unanswered check passed. */
  mistake?: MistakeCase;
  ceilingPercent?: number;
  /** Wall time of the gate (bringing the state and grading). */
  durationMs: number;
  /** For mistake-is-capped: where its time went (applying, grading until two grades agree, taking off, grading until clean). */
  phases?: MistakePhases;
}

/** Milliseconds spent in each phase of a mistake gate, and how many grades each grading phase took. */
export interface MistakePhases {
  enterMs: number;
  gradeMs: number;
  grades: number;
  leaveMs: number;
  cleanMs: number;
  cleanGrades: number;
}

export interface GatesReport {
  labId: string;
  passed: boolean;
  gates: GateResult[];
}

async function bring(port: ClusterPort, step: StateStep, fieldManager: string): Promise<void> {
  if (typeof step === 'function') await step();
  else await port.apply(step, { fieldManager, timeoutMs: 120_000 });
}

function describeCheck(task: string, c: { id: string; status: string; explanation?: string; actual?: string }): string {
  return `${task}/${c.id} is ${c.status}${c.actual ? ` (actual: ${c.actual})` : ''}${c.explanation ? `: ${c.explanation}` : ''}`;
}

/** Per-check statuses of a report, to compare two grades. */
function statuses(r: GradeReport): string {
  return r.tasks.map((t) => t.checks.map((c) => `${t.id}/${c.id}=${c.status}`).join(' ')).join(' ');
}

/**
 * The percentage a report would reach had every check that errored passed: an error scores nothing,
 * so a mistake's honest upper bound counts it as passed (an unanswered check may hide credit).
 */
export function ceilingPercent(r: GradeReport): number {
  const score = r.tasks.reduce(
    (sum, t) =>
      sum +
      scoreTask(
        t.points,
        t.checks.map((c) => ({ ...c, status: c.status === 'error' ? 'pass' : c.status })),
      ).score,
    0,
  );
  return r.maxScore > 0 ? Math.round((score / r.maxScore) * 1000) / 10 : 0;
}

function describeEarned(r: GradeReport): string[] {
  return r.tasks
    .filter((t) => t.score > 0 || t.checks.some((c) => c.status === 'error'))
    .map(
      (t) =>
        `  task ${t.id} scores ${t.score}/${t.points}: ${t.checks
          .filter((c) => c.status !== 'fail')
          .map((c) => `${c.id} ${c.status === 'pass' ? `passed (${c.points})` : 'errored'}`)
          .join(', ')}`,
    );
}

/** Runs the honesty and mistake gates for one lab on one fresh cluster; never throws for lab problems. */
export async function runHonestyGates(input: GateInput): Promise<GatesReport> {
  const manager = input.fieldManager ?? 'kubedrill';
  const gradeOn = (port: ClusterPort, scripts: ScriptRunner | undefined) =>
    gradeLab(input.lab, {
      ...input.grade,
      port,
      ...(scripts ? { scripts } : {}),
      ...(input.nodes ? { nodes: input.nodes } : {}),
      ...(input.workstation ? { workstation: input.workstation } : {}),
    });
  const grade = () => gradeOn(input.port, input.scripts);
  const gates: GateResult[] = [];
  let started = performance.now();
  const elapsed = () => {
    const ms = Math.round(performance.now() - started);
    started = performance.now();
    return ms;
  };

  await bring(input.port, input.setup, manager);
  // A cluster that has just been made may still be settling (a NetworkPolicy controller's first
  // sync, a container of a workload broken on purpose, which setup does not wait for, still
  // starting): it is graded again, settle.errorRetryMs apart, until two grades agree and every
  // check was answered, up to settle.maxGrades grades. The later gates compare with this state, so
  // it must be the settled one, not a snapshot of the first second after setup.
  let before = await grade();
  for (let i = 1; i < (input.settle?.maxGrades ?? 1); i++) {
    await sleep(input.settle?.errorRetryMs ?? 2000);
    const next = await grade();
    const agreed = statuses(next) === statuses(before) && !errors(next);
    before = next;
    if (agreed) break;
  }
  const earned = before.tasks.filter((t) => t.score > 0);
  const errored = before.tasks.flatMap((t) => t.checks.filter((c) => c.status === 'error').map((c) => describeCheck(t.id, c)));
  gates.push({
    name: 'nothing-earns-nothing',
    passed: earned.length === 0 && errored.length === 0,
    problems: [
      ...earned.flatMap((t) => [
        `task ${t.id} scores ${t.score}/${t.points} before the learner did anything`,
        ...t.checks
          .filter((c) => c.points > 0)
          .map((c) => `  ${describeCheck(t.id, c)}${c.guard ? '' : ' — already true after setup: make it a guard or change the setup'}`),
      ]),
      ...errored.map((e) => `after setup, ${e}`),
    ],
    report: before,
    durationMs: elapsed(),
  });

  const shared = { port: input.port, ...(input.scripts ? { scripts: input.scripts } : {}) };
  for (const run of input.mistakes ?? []) gates.push(await mistakeGate(run, before, gradeOn, shared, input.settle, elapsed));

  if (input.solution === undefined) return { labId: input.lab.id, passed: gates.every((g) => g.passed), gates };
  await bring(input.port, input.solution, manager);
  // Controllers keep acting after the solution is in (an autoscaler raising replicas mid-rollout):
  // on a real cluster it is graded until it earns everything or settle.cleanTimeoutMs has passed, as
  // a learner checks again once their rollout finished. Gate 4 then asks that it stays so.
  const { last: after } = await gradeUntil(
    grade,
    (r) => r.score === r.maxScore && r.tasks.every((t) => t.checks.every((c) => c.status === 'pass')),
    input.settle?.cleanTimeoutMs ?? 0,
  );
  const missing = after.tasks.flatMap((t) => t.checks.filter((c) => c.status !== 'pass').map((c) => describeCheck(t.id, c)));
  gates.push({
    name: 'solution-earns-all',
    passed: after.score === after.maxScore && missing.length === 0,
    problems: missing.map((m) => `after the reference solution, ${m}`),
    report: after,
    durationMs: elapsed(),
  });

  const again = await grade();
  const changed = again.tasks.flatMap((t) =>
    t.checks
      .filter((c, i) => c.status !== after.tasks.find((x) => x.id === t.id)?.checks[i]?.status)
      .map((c) => `grading twice gave different results: ${describeCheck(t.id, c)}`),
  );
  gates.push({ name: 'grading-is-stable', passed: changed.length === 0, problems: changed, report: again, durationMs: elapsed() });

  return { labId: input.lab.id, passed: gates.every((g) => g.passed), gates };
}

/** Whether a check of the report could not be answered. */
const errors = (r: GradeReport) => r.tasks.some((t) => t.checks.some((c) => c.status === 'error'));

/** One mistake's gate (exported for mistakes that need a cluster of their own; runHonestyGates runs the rest). */
export async function mistakeGate(
  run: MistakeRun,
  setupReport: GradeReport,
  gradeOn: (port: ClusterPort, scripts: ScriptRunner | undefined) => Promise<GradeReport>,
  shared: { port: ClusterPort; scripts?: ScriptRunner },
  settle: GateInput['settle'],
  elapsed: () => number,
): Promise<GateResult> {
  const m = run.mistake;
  const problems: string[] = [];
  let report = setupReport;
  let ceiling = 0;
  let target: { port: ClusterPort; scripts?: ScriptRunner } | undefined;
  const phases: MistakePhases = { enterMs: 0, gradeMs: 0, grades: 0, leaveMs: 0, cleanMs: 0, cleanGrades: 0 };
  let mark = performance.now();
  const lap = () => {
    const ms = Math.round(performance.now() - mark);
    mark = performance.now();
    return ms;
  };
  try {
    target = await run.enter();
    phases.enterMs = lap();
    const on = target;
    report = await gradeOn(on.port, on.scripts);
    phases.grades = 1;
    // On a real cluster the first grade may still see the old policy: grade until two agree (where
    // the lab reads such things; otherwise only while a check could not be answered).
    for (let i = 1; i < (settle?.maxGrades ?? 1); i++) {
      if (settle?.confirm === false && !errors(report)) break;
      const next = await gradeOn(on.port, on.scripts);
      phases.grades++;
      const same = statuses(next) === statuses(report);
      report = next;
      if (same) break;
    }
    phases.gradeMs = lap();
    ceiling = ceilingPercent(report);
    if (ceiling > m.maxPercent) {
      const unanswered = ceiling > report.percent ? ` (${report.percent}% scored; ${ceiling}% if the checks that errored had passed)` : '';
      problems.push(
        `mistake ${m.name} ("${m.title}") may score ${ceiling}%${unanswered}, more than its maxPercent ${m.maxPercent}%`,
        ...describeEarned(report),
      );
    }
  } catch (e) {
    problems.push(`mistake ${m.name} ("${m.title}") could not be applied: ${errorMessage(e)}`);
  }
  lap();
  // Taken off even when applying failed half-way: the cluster is shared with the next mistake.
  if (run.leave) {
    const on = target ?? shared;
    try {
      await run.leave();
      phases.leaveMs = lap();
      const clean = await gradeUntil(
        () => {
          phases.cleanGrades++;
          return gradeOn(on.port, on.scripts);
        },
        (r) => statuses(r) === statuses(setupReport),
        settle?.cleanTimeoutMs ?? 0,
      );
      phases.cleanMs = lap();
      if (!clean.ok) {
        problems.push(
          `after taking mistake ${m.name} off again, the lab does not grade as it did right after setup, so later gates would start from a wrong state:`,
          ...clean.last.tasks.flatMap((t) =>
            t.checks.filter((c, i) => c.status !== setupReport.tasks.find((x) => x.id === t.id)?.checks[i]?.status).map((c) => `  ${describeCheck(t.id, c)}`),
          ),
        );
      }
    } catch (e) {
      problems.push(`mistake ${m.name} could not be taken off again: ${errorMessage(e)}`);
    }
  }
  return { name: 'mistake-is-capped', passed: problems.length === 0, problems, report, mistake: m, ceilingPercent: ceiling, durationMs: elapsed(), phases };
}

/** Grades until the result satisfies done or timeoutMs has passed (at least once), a second apart. */
export async function gradeUntil<R>(grade: () => Promise<R>, done: (r: R) => boolean, timeoutMs: number): Promise<{ ok: boolean; last: R }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await grade();
    if (done(last)) return { ok: true, last };
    if (Date.now() >= deadline) return { ok: false, last };
    await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
  }
}
