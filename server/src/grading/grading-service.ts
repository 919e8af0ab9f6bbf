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
      const prepared = await this.#prepareReachedSteps(lab, grade, hosts.workstation);
      return prepared.length ? { ...grade, stepsPrepared: prepared } : grade;
    } finally {
      this.#deps.attempts.endGrading(attempt.id);
    }
  }

  /**
   * Killercoda scenarios: runs the setup of each later step this grade reached (every earlier step
   * with a verify script has passed, in this or an earlier grade of the attempt), once per attempt,
   * in step order, as root in the workstation, as Killercoda does when the learner moves on. It runs
   * while the attempt is still marked as being graded, so no second Check can run it again, and is
   * not stopped by a learner who leaves: a background cut off halfway would leave its step half set up.
   */
  async #prepareReachedSteps(lab: Lab, grade: StoredGrade, workstation: WorkstationAccess | undefined): Promise<PreparedStep[]> {
    if (!lab.scenarioSetup?.steps.length) return [];
    const history = this.#deps.grades.forAttempt(grade.attemptId, grade.learnerId);
    const passed = new Set(history.flatMap((g) => g.report.tasks.filter((t) => t.points > 0 && t.score >= t.points).map((t) => t.id)));
    const done = new Set(this.#deps.grades.preparedSteps(grade.attemptId).map((s) => s.step));
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
      if (!step.ok) this.#deps.log?.warn({ attemptId: grade.attemptId, labId: lab.id, step: s.step, from: s.from }, 'grading: a scenario step setup failed');
      this.#deps.grades.recordPreparedStep(grade.attemptId, grade.id, step);
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
