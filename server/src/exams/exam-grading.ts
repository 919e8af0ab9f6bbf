import type { ClusterPort, NodeAccess, ScriptRunner } from '../../../graders/src/cluster/port.ts';
import { CheckSlots, gradeLab, type GradeOptions } from '../../../graders/src/engine/engine.ts';
import type { TaskReport } from '../../../graders/src/engine/types.ts';
import type { DomainId } from '../labs/format.ts';
import type { Lab } from '../labs/loader.ts';
import type { ExamTask } from './loader.ts';
import { errorMessage } from '../errors.ts';

/** What grading needs of an exam: its tasks (with their clusters) and the pass mark. */
export interface GradableExam {
  passPercent: number;
  tasks: readonly ExamTask[];
}

/** One exam task's result: its weighted score and the lab task reports behind it. */
export interface ExamTaskResult {
  number: number;
  labId: string;
  title: string;
  domain: DomainId;
  cluster: string;
  weight: number;
  /** weight × earned / possible, rounded to 2 decimals. */
  score: number;
  /** The lab task reports (each check with expected, actual and explanation). */
  reports: TaskReport[];
  /** Set when the task could not be graded at all (lab gone, cluster lost). */
  error?: string;
}

/** The result of grading a whole exam. */
export interface ExamResult {
  score: number;
  maxScore: number;
  percent: number;
  passPercent: number;
  passed: boolean;
  gradedAt: string;
  durationMs: number;
  tasks: ExamTaskResult[];
}

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * Checks running at once across the whole exam, as many as one lab's Check runs. Every lab is graded
 * at the same time, four checks each: on a cluster of twelve labs that was 46 checks at once (24 of
 * them scripts, each a bash with kubectl calls on this host), and on a host of two cores checks
 * began together and many missed their 20 s deadline. A check's deadline starts when it gets a slot.
 */
export const EXAM_CHECKS_AT_ONCE = 8;

/**
 * Grades every task of an exam at once, each lab on its own cluster's port (the same engine as a lab
 * Check). A task earns its weight in proportion to the points its lab task(s) earned.
 */
export async function gradeExam(
  exam: GradableExam,
  deps: {
    lab: (id: string) => Lab | undefined;
    cluster: (context: string) => { port: ClusterPort; scripts?: ScriptRunner; nodes?: NodeAccess } | undefined;
    engine?: Omit<GradeOptions, 'port' | 'scripts' | 'signal'>;
    signal?: AbortSignal;
    now?: () => number;
  },
): Promise<ExamResult> {
  const now = deps.now ?? Date.now;
  const started = performance.now();
  // One grade per lab: its tasks of this exam, on its cluster.
  const byLab = new Map<string, { cluster: string; taskIds: Set<string> }>();
  for (const t of exam.tasks) {
    const entry = byLab.get(t.labId) ?? { cluster: t.cluster, taskIds: new Set<string>() };
    for (const id of t.taskIds) entry.taskIds.add(id);
    byLab.set(t.labId, entry);
  }
  const reports = new Map<string, Promise<Map<string, TaskReport> | string>>();
  const slots = new CheckSlots(EXAM_CHECKS_AT_ONCE);
  for (const [labId, { cluster, taskIds }] of byLab) {
    reports.set(
      labId,
      (async () => {
        const lab = deps.lab(labId);
        if (!lab) return `lab ${labId} is no longer in the catalog`;
        const c = deps.cluster(cluster);
        if (!c) return `cluster ${cluster} is gone`;
        const report = await gradeLab(
          { id: lab.id, dir: lab.dir, tasks: lab.meta.tasks.filter((t) => taskIds.has(t.id)) },
          {
            concurrency: 4,
            slots,
            ...deps.engine,
            port: c.port,
            ...(c.scripts ? { scripts: c.scripts } : {}),
            ...(c.nodes ? { nodes: c.nodes } : {}),
            ...(deps.signal ? { signal: deps.signal } : {}),
          },
        );
        return new Map(report.tasks.map((t) => [t.id, t]));
      })().catch((e: unknown) => `grading failed: ${errorMessage(e)}`),
    );
  }
  const tasks: ExamTaskResult[] = [];
  for (const t of exam.tasks) {
    const r = await reports.get(t.labId)!;
    const base = { number: t.number, labId: t.labId, title: t.title, domain: t.domain, cluster: t.cluster, weight: t.weight };
    if (typeof r === 'string') {
      tasks.push({ ...base, score: 0, reports: [], error: r });
      continue;
    }
    const own = t.taskIds.map((id) => r.get(id)).filter((x): x is TaskReport => x !== undefined);
    const possible = own.reduce((s, x) => s + x.points, 0);
    const earned = own.reduce((s, x) => s + x.score, 0);
    tasks.push({ ...base, score: possible ? round((t.weight * earned) / possible) : 0, reports: own });
  }
  const score = round(tasks.reduce((s, t) => s + t.score, 0));
  const maxScore = exam.tasks.reduce((s, t) => s + t.weight, 0);
  const percent = maxScore ? Math.round((score / maxScore) * 1000) / 10 : 0;
  return {
    score,
    maxScore,
    percent,
    passPercent: exam.passPercent,
    passed: percent >= exam.passPercent,
    gradedAt: new Date(now()).toISOString(),
    durationMs: Math.round(performance.now() - started),
    tasks,
  };
}
