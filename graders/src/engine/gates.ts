import type { ClusterPort, KubeObject, NodeAccess, ScriptRunner, WorkstationAccess } from '../cluster/port.ts';
import { gradeLab, type GradeOptions } from './engine.ts';
import type { GradableLab, GradeReport } from './types.ts';

// Honesty gates: a lab's checks must give nothing for doing nothing and everything for the
// reference solution, and say the same thing twice in a row. A lab failing a gate has wrong checks
// (or a wrong solution) — a real finding, never something to retry away.

/** How to bring the cluster to a state: objects to server-side apply, or a function (scripts). */
export type StateStep = readonly KubeObject[] | (() => Promise<void>);

export interface GateInput {
  lab: GradableLab;
  /** A fresh cluster for this lab: the model cluster in CI, a kind cluster in labs:verify. */
  port: ClusterPort;
  setup: StateStep;
  solution: StateStep;
  scripts?: ScriptRunner;
  /** For node checks (real clusters). */
  nodes?: NodeAccess;
  /** For workstation checks. */
  workstation?: WorkstationAccess;
  grade?: Omit<GradeOptions, 'port' | 'scripts' | 'nodes' | 'workstation'>;
  /** Field manager for applied objects (setup and solution use one, so re-applied fields are replaced). */
  fieldManager?: string;
}

export interface GateResult {
  name: 'nothing-earns-nothing' | 'solution-earns-all' | 'grading-is-stable';
  passed: boolean;
  /** What is wrong, one line per problem, naming task and check. */
  problems: string[];
  report: GradeReport;
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

/** Runs the honesty gates for one lab on one fresh cluster; never throws for lab problems. */
export async function runHonestyGates(input: GateInput): Promise<GatesReport> {
  const manager = input.fieldManager ?? 'kubedrill';
  const grade = () =>
    gradeLab(input.lab, { ...input.grade, port: input.port, ...(input.scripts ? { scripts: input.scripts } : {}), ...(input.nodes ? { nodes: input.nodes } : {}), ...(input.workstation ? { workstation: input.workstation } : {}) });
  const gates: GateResult[] = [];

  await bring(input.port, input.setup, manager);
  const before = await grade();
  const earned = before.tasks.filter((t) => t.score > 0);
  const errored = before.tasks.flatMap((t) => t.checks.filter((c) => c.status === 'error').map((c) => describeCheck(t.id, c)));
  gates.push({
    name: 'nothing-earns-nothing',
    passed: earned.length === 0 && errored.length === 0,
    problems: [
      ...earned.flatMap((t) => [
        `task ${t.id} scores ${t.score}/${t.points} before the learner did anything`,
        ...t.checks.filter((c) => c.points > 0).map((c) => `  ${describeCheck(t.id, c)}${c.guard ? '' : ' — already true after setup: make it a guard or change the setup'}`),
      ]),
      ...errored.map((e) => `after setup, ${e}`),
    ],
    report: before,
  });

  await bring(input.port, input.solution, manager);
  const after = await grade();
  const missing = after.tasks.flatMap((t) => t.checks.filter((c) => c.status !== 'pass').map((c) => describeCheck(t.id, c)));
  gates.push({
    name: 'solution-earns-all',
    passed: after.score === after.maxScore && missing.length === 0,
    problems: missing.map((m) => `after the reference solution, ${m}`),
    report: after,
  });

  const again = await grade();
  const changed = again.tasks.flatMap((t) =>
    t.checks.filter((c, i) => c.status !== after.tasks.find((x) => x.id === t.id)?.checks[i]?.status).map((c) => `grading twice gave different results: ${describeCheck(t.id, c)}`),
  );
  gates.push({ name: 'grading-is-stable', passed: changed.length === 0, problems: changed, report: again });

  return { labId: input.lab.id, passed: gates.every((g) => g.passed), gates };
}
