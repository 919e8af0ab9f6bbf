import type { FastifyBaseLogger } from 'fastify';
import type { ClusterPort, NodeAccess, ScriptRunner, WorkstationAccess } from '../../../graders/src/cluster/port.ts';
import { gradeLab, type GradeOptions } from '../../../graders/src/engine/engine.ts';
import { AppError } from '../errors.ts';
import type { Lab } from '../labs/loader.ts';
import type { ParamValues } from '../labs/params.ts';
import { dueStepSetups } from '../labs/scenarios.ts';
import type { GradeRepository, PreparedStep, StoredGrade } from './grade-repository.ts';
import { gradableLab } from './lab-states.ts';

/**
 * Attempts as grading needs them; the provisioner's attempt service implements this.
 * beginGrading marks the attempt busy for the duration of one grade and says where its cluster is.
 */
export interface GradableAttempts {
  /** Throws AppError 404 attempt_not_found, 409 attempt_not_ready or 409 attempt_busy. */
  beginGrading(id: string, learnerId: string): Promise<{ id: string; labId: string; kubeconfigPath: string; params?: Record<string, ParamValues> | null }>;
  /** Ends what beginGrading began (called exactly once per successful beginGrading). */
  endGrading(id: string): void;
}

/** The catalog lookup grading needs (LabCatalog fits). */
export interface LabLookup {
  get(id: string): Lab | undefined;
  /** The lab with the attempt's drawn param values (LabCatalog.forAttempt). */
  forAttempt(id: string, params: Record<string, ParamValues> | null | undefined): Lab | undefined;
}

export interface GradingDeps {
  attempts: GradableAttempts;
  labs: LabLookup;
  grades: GradeRepository;
  /** The cluster port for an attempt's kubeconfig (createKubePort in production, a model cluster in tests). */
  portFor: (kubeconfigPath: string) => ClusterPort;
  /** Script runner for labs with script checks (createKubeconfigScriptRunner in production). */
  scriptsFor?: (kubeconfigPath: string) => ScriptRunner;
  /** Reach into the attempt's nodes and workstation for node and workstation checks (the terminal service's launcher). */
  hostsFor?: (attemptId: string) => { nodes?: NodeAccess; workstation?: WorkstationAccess };
  /** Engine settings (concurrency, deadlines, probe window). */
  engine?: Omit<GradeOptions, 'port' | 'scripts' | 'signal'>;
  log?: FastifyBaseLogger;
  /** How long a scenario step's setup may run when a Check reaches its step (default 10 min). */
  stepSetupTimeoutMs?: number;
}

/** How much of a failed step setup's output the learner sees (its end, where the error is). */
const STEP_OUTPUT_MAX = 4000;

/** Where a learner is in a walkthrough attempt (an ungraded Killercoda scenario). */
export interface WalkthroughState {
  /** The step the learner is on, from 1; steps + 1 once they pressed Done on the last. */
  step: number;
  steps: number;
  done: boolean;
  /** Step backgrounds that ran when the learner reached their step: those of this move, or (when read) all so far. */
  stepsPrepared: PreparedStep[];
}

/** Grades attempts on their clusters and keeps every report. */
export class GradingService {
  readonly #deps: GradingDeps;

  constructor(deps: GradingDeps) {
    this.#deps = deps;
  }

  /** Grades the attempt's cluster now, stores the report and returns it. */
  async grade(attemptId: string, learnerId: string, opts: { signal?: AbortSignal } = {}): Promise<StoredGrade> {
    const attempt = await this.#deps.attempts.beginGrading(attemptId, learnerId);
    try {
      // Graded against the values the attempt drew (the same ones its setup and text used).
      const lab = this.#deps.labs.forAttempt(attempt.labId, attempt.params);
      if (!lab) throw new AppError(409, 'lab_unavailable', `lab "${attempt.labId}" of this attempt is no longer in the catalog`);
      // Nothing is stored for a walkthrough: no 0/10 in the history, no pass in the progress.
      if (lab.walkthrough)
        throw new AppError(
          409,
          'lab_not_graded',
          `lab "${lab.id}" is a walkthrough (a Killercoda scenario without verify scripts): there is nothing to grade; move through its steps with Next step`,
        );
      const port = this.#deps.portFor(attempt.kubeconfigPath);
      const scripts = this.#deps.scriptsFor?.(attempt.kubeconfigPath);
      const hosts = this.#deps.hostsFor?.(attempt.id) ?? {};
      const report = await gradeLab(gradableLab(lab), {
        ...this.#deps.engine,
        port,
        ...hosts,
        ...(scripts ? { scripts } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const errors = report.tasks.flatMap((t) => t.checks.filter((c) => c.status === 'error'));
      if (errors.length > 0)
        this.#deps.log?.warn(
          { attemptId, labId: lab.id, errors: errors.map((c) => ({ id: c.id, explanation: c.explanation })) },
          'grading: some checks could not be answered',
        );
      const grade = this.#deps.grades.add({ attemptId: attempt.id, learnerId, report });
      const history = this.#deps.grades.forAttempt(grade.attemptId, grade.learnerId);
      const passed = new Set(history.flatMap((g) => g.report.tasks.filter((t) => t.points > 0 && t.score >= t.points).map((t) => t.id)));
      const prepared = await this.#prepareReachedSteps(lab, grade.attemptId, grade.id, passed, hosts.workstation);
      return prepared.length ? { ...grade, stepsPrepared: prepared } : grade;
    } finally {
      this.#deps.attempts.endGrading(attempt.id);
    }
  }

  /**
   * A walkthrough's Next step (Done on the last): moves the learner from step `from` to the next and
   * runs the background of the step reached, as Killercoda does. A press for a step the learner has
   * already left (a second tab, a retried request) moves nothing and runs nothing. Holds the attempt
   * as a Check does, so two presses cannot run a background twice.
   */
  async advanceWalkthrough(attemptId: string, learnerId: string, from: number): Promise<WalkthroughState> {
    const attempt = await this.#deps.attempts.beginGrading(attemptId, learnerId);
    try {
      const lab = this.#deps.labs.forAttempt(attempt.labId, attempt.params);
      if (!lab) throw new AppError(409, 'lab_unavailable', `lab "${attempt.labId}" of this attempt is no longer in the catalog`);
      const steps = lab.walkthrough?.steps;
      if (!steps)
        throw new AppError(
          409,
          'lab_graded',
          `lab "${lab.id}" is graded: press Check, which runs its checks (Next step is for walkthroughs, scenarios without verify scripts)`,
        );
      const at = this.#deps.grades.walkthroughStep(attempt.id, learnerId) ?? 1;
      if (from !== at || at > steps.length) return { step: at, steps: steps.length, done: at > steps.length, stepsPrepared: [] };
      const next = at + 1;
      this.#deps.grades.setWalkthroughStep(attempt.id, learnerId, next);
      const left = new Set(steps.filter((s) => s.step < next).map((s) => `step-${s.step}`));
      const prepared = await this.#prepareReachedSteps(lab, attempt.id, '', left, this.#deps.hostsFor?.(attempt.id).workstation);
      return { step: next, steps: steps.length, done: next > steps.length, stepsPrepared: prepared };
    } finally {
      this.#deps.attempts.endGrading(attempt.id);
    }
  }

  /** Where the learner is in a walkthrough attempt of lab (theirs: the caller checked), with every step background run so far. */
  walkthrough(attemptId: string, learnerId: string, lab: Lab): WalkthroughState | undefined {
    const steps = lab.walkthrough?.steps;
    const at = this.#deps.grades.walkthroughStep(attemptId, learnerId);
    if (!steps || at === undefined) return undefined;
    const prepared = this.#deps.grades.preparedSteps(attemptId).map(({ gradeId: _, ...s }) => s);
    return { step: at, steps: steps.length, done: at > steps.length, stepsPrepared: prepared };
  }

  /**
   * Killercoda scenarios: runs the setup of each later step now reached (every step in its `after`
   * is done: passed, in this or an earlier grade of the attempt, or for a walkthrough moved past
   * with Next step), once per attempt, in step order, as root in the workstation, as Killercoda does
   * when the learner moves on. It runs while the attempt is still marked as being graded, so no
   * second Check can run it again, and is not stopped by a learner who leaves: a background cut off
   * halfway would leave its step half set up. gradeId is the grade that reached it ('' for Next step).
   */
  async #prepareReachedSteps(
    lab: Lab,
    attemptId: string,
    gradeId: string,
    passed: ReadonlySet<string>,
    workstation: WorkstationAccess | undefined,
  ): Promise<PreparedStep[]> {
    if (!lab.scenarioSetup?.steps.length) return [];
    const done = new Set(this.#deps.grades.preparedSteps(attemptId).map((s) => s.step));
    const out: PreparedStep[] = [];
    for (const s of dueStepSetups(lab.scenarioSetup, passed, done)) {
      let step: PreparedStep;
      if (!workstation) {
        step = {
          step: s.step,
          title: s.title,
          ok: false,
          output: "this step's setup runs in the learner's workstation, and this attempt has none (scenarios need terminal.mode=container)",
        };
      } else {
        try {
          const r = await workstation.exec(['bash', '-s'], { user: 'root', stdin: s.script, timeoutMs: this.#deps.stepSetupTimeoutMs ?? 600_000 });
          step = { step: s.step, title: s.title, ok: r.exitCode === 0, output: `${r.stdout}${r.stderr ? `\n${r.stderr}` : ''}`.trim().slice(-STEP_OUTPUT_MAX) };
        } catch (e) {
          step = { step: s.step, title: s.title, ok: false, output: `could not run ${s.from}: ${(e as Error).message}` };
        }
      }
      if (!step.ok) this.#deps.log?.warn({ attemptId, labId: lab.id, step: s.step, from: s.from }, 'grading: a scenario step setup failed');
      this.#deps.grades.recordPreparedStep(attemptId, gradeId, step);
      out.push(step);
      // A step whose setup failed is still reached: what follows may not depend on it, and running it again could do harm twice.
    }
    return out;
  }

  /** Per lab the learner has graded: best score and whether that is done (full marks), partial or only tried (0). */
  progress(learnerId: string): { labId: string; score: number; maxScore: number; status: 'done' | 'partial' | 'tried' }[] {
    return this.#deps.grades
      .bestPerLab(learnerId)
      .map((b) => ({ ...b, status: b.maxScore > 0 && b.score >= b.maxScore ? 'done' : b.score > 0 ? 'partial' : 'tried' }));
  }

  /** The learner's newest grade of a lab, which the lab page keeps showing after Finish. */
  lastResult(learnerId: string, labId: string): StoredGrade | undefined {
    return this.#deps.grades.latestForLab(learnerId, labId);
  }

  /** The learner's earlier grades of an attempt, oldest first. */
  history(attemptId: string, learnerId: string): StoredGrade[] {
    return this.#deps.grades.forAttempt(attemptId, learnerId);
  }
}
