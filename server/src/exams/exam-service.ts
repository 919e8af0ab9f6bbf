import { randomBytes } from 'node:crypto';
import type { ClusterPort, NodeAccess, ScriptRunner } from '../../../graders/src/cluster/port.ts';
import type { GradeOptions } from '../../../graders/src/engine/engine.ts';
import type { AttemptEvent } from '../attempts/attempt-repository.ts';
import type { AttemptService } from '../attempts/attempt-service.ts';
import { stepLines, type StepLine } from '../attempts/attempt-events.ts';
import { AppError, errorMessage, notFound } from '../errors.ts';
import type { Lab } from '../labs/loader.ts';
import type { ServiceLog } from '../log.ts';
import { drawForLabs, type ParamValues } from '../labs/params.ts';
import { adoptPresetDraws, examClusterRecipes } from './cluster-recipes.ts';
import type { TerminalAttempt } from '../terminal/attempts.ts';
import { gradeExam, type ExamResult } from './exam-grading.ts';
import { EXAM_ENDED, type ExamAttempt, type ExamRepository, type ExamSnapshot, type ExamTaskState } from './exam-repository.ts';
import type { Exam, ExamTask } from './loader.ts';
import { BackgroundTasks } from '../background-tasks.ts';

export interface ExamServiceOptions {
  repo: ExamRepository;
  exams: { get(id: string): Exam | undefined };
  labs: { get(id: string): Lab | undefined; forAttempt(id: string, params: Record<string, ParamValues> | null | undefined): Lab | undefined };
  attempts: Pick<AttemptService, 'startCluster' | 'get' | 'subscribe' | 'finish' | 'beginGrading' | 'endGrading'> &
    Partial<Pick<AttemptService, 'presetParams'>>;
  portFor: (kubeconfigPath: string) => ClusterPort;
  scriptsFor?: (kubeconfigPath: string) => ScriptRunner;
  /** Node access for a cluster attempt (node checks, kube-proxy waits): the terminal service's ssh path. */
  nodesFor?: (attemptId: string) => NodeAccess | undefined;
  /** Clusters this host may run at once: an exam needing more can never start. */
  maxClusters: number;
  reviewMinutes: number;
  log: ServiceLog;
  now?: () => number;
  /** How often deadlines and review ends are checked; 0 disables the timer (tests call sweep()). */
  sweepMs?: number;
  engine?: Omit<GradeOptions, 'port' | 'scripts' | 'signal'>;
}

/** A cluster of an exam attempt as the page shows it. */
export interface ExamClusterView {
  context: string;
  attemptId: string;
  status: string;
  queuePosition: number | null;
  /** The nodes as `ssh` accepts them (<context>-controlplane, <context>-node01…) and their kind containers. */
  nodes: { name: string; container: string }[];
  /** Provisioning steps (while the exam starts). */
  steps: StepLine[];
  failure: string | null;
}

/** What the API returns for an exam attempt: the attempt, the server's clock and the learner's marks. */
export interface ExamAttemptView extends Omit<ExamAttempt, 'learnerId'> {
  learnerId: string;
  serverNow: string;
  /** Milliseconds left on the countdown (running), else null. */
  remainingMs: number | null;
  tasks: (ExamTask & ExamTaskState)[];
  clusters: ExamClusterView[];
}

const NOTES_MAX = 20_000;

/** How many checks of a result could not be answered. */
const errors = (r: ExamResult) =>
  r.tasks.reduce((n, t) => n + (t.error ? 1 : 0) + t.reports.reduce((m, rep) => m + rep.checks.filter((c) => c.status === 'error').length, 0), 0);

/**
 * Mock exams: an attempt owns one cluster attempt per exam cluster (provisioned by the attempt
 * service, in parallel and from the warm pool), keeps a server-side countdown in SQLite, the
 * learner's flags, notes and time per task, submits at time-up or on request, grades every task at
 * once on the live clusters, keeps the clusters for review (Re-grade), then deletes them.
 */
export class ExamService {
  readonly #o: ExamServiceOptions;
  readonly #now: () => number;
  readonly #subs = new Map<string, (() => void)[]>();
  readonly #ended = new Set<(id: string) => void>();
  readonly #locks = new Set<(id: string, reason: string | null) => void>();
  readonly #created = new Set<(id: string) => void>();
  /** Exam attempts whose clusters all exist (told once). */
  readonly #told = new Set<string>();
  readonly #grading = new Map<string, Promise<void>>();
  readonly #tasks: BackgroundTasks;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #sweep: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(o: ExamServiceOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#tasks = new BackgroundTasks((e) => o.log.error({ error: errorMessage(e) }, 'exams: background task failed'));
    if (o.sweepMs !== 0) {
      this.#sweep = setInterval(() => this.sweep(), o.sweepMs ?? 5000);
      this.#sweep.unref();
    }
  }

  #iso(ms = this.#now()): string {
    return new Date(ms).toISOString();
  }

  /** Resolves when no background work is left (tests, benchmarks). */
  async idle(): Promise<void> {
    await this.#tasks.idle();
  }

  /** Calls cb when an exam attempt ends (its terminals close); returns an unsubscribe function. */
  onEnded(cb: (id: string) => void): () => void {
    this.#ended.add(cb);
    return () => this.#ended.delete(cb);
  }

  /**
   * Calls cb once when every cluster of an exam attempt exists (their setups may still run), so the
   * exam's one workstation can be made meanwhile; returns an unsubscribe function.
   */
  onClustersCreated(cb: (id: string) => void): () => void {
    this.#created.add(cb);
    return () => this.#created.delete(cb);
  }

  /** Calls cb when an exam attempt's terminal input is locked (reason) or unlocked (null). */
  onInputLock(cb: (id: string, reason: string | null) => void): () => void {
    this.#locks.add(cb);
    return () => this.#locks.delete(cb);
  }

  #lock(id: string, reason: string | null): void {
    for (const cb of this.#locks) {
      try {
        cb(id, reason);
      } catch (e) {
        this.#o.log.warn({ error: errorMessage(e) }, 'exams: an input-lock listener failed');
      }
    }
  }

  // ---- reading ----

  /** The exam attempt if it belongs to the learner, else 404. */
  owned(id: string, learnerId: string): ExamAttempt {
    const a = this.#o.repo.get(id);
    if (!a || a.learnerId !== learnerId) throw new AppError(404, 'exam_attempt_not_found', `no exam attempt with id "${id}"`, { id });
    return a;
  }

  /** The learner's exam attempts, newest first. */
  listForLearner(learnerId: string): ExamAttempt[] {
    return this.#o.repo.forLearner(learnerId);
  }

  /** The full view of one exam attempt: countdown, tasks with marks, clusters with their progress. */
  view(a: ExamAttempt): ExamAttemptView {
    const now = this.#now();
    const marks = new Map(this.#o.repo.tasks(a.id).map((t) => [t.number, t]));
    const tasks = a.exam.tasks.map((t) => ({ ...t, ...(marks.get(t.number) ?? { number: t.number, opened: false, flagged: false, notes: '', timeMs: 0 }) }));
    // Time on the task in focus counts up to now.
    if (a.status === 'running' && a.focusTask !== null && a.focusSince) {
      const t = tasks.find((x) => x.number === a.focusTask);
      if (t) t.timeMs += Math.max(0, now - Date.parse(a.focusSince));
    }
    const clusters = this.#o.repo.clusters(a.id).map(({ context, attemptId }) => {
      const child = this.#o.attempts.get(attemptId);
      const decl = a.exam.clusters.find((c) => c.name === context);
      // kind's names are fixed by the shape: <cluster>-control-plane, -control-plane2…, <cluster>-worker, <cluster>-worker2…
      const kind = child?.clusterName ?? '';
      const nodes = [
        ...Array.from({ length: decl?.controlPlanes ?? 1 }, (_, i) => ({
          name: `${context}-controlplane${i ? i + 1 : ''}`,
          container: `${kind}-control-plane${i ? i + 1 : ''}`,
        })),
        ...Array.from({ length: decl?.workers ?? 0 }, (_, i) => ({
          name: `${context}-node${String(i + 1).padStart(2, '0')}`,
          container: `${kind}-worker${i ? i + 1 : ''}`,
        })),
      ];
      return {
        context,
        attemptId,
        status: child?.status ?? 'failed',
        queuePosition: child?.queuePosition ?? null,
        nodes,
        steps: a.status === 'starting' ? this.#steps(attemptId) : [],
        failure: child?.status === 'failed' ? `${child.failureStep ? `${child.failureStep}: ` : ''}${child.failureMessage ?? 'failed'}` : null,
      };
    });
    const remainingMs = a.status === 'running' && a.deadlineAt ? Math.max(0, Date.parse(a.deadlineAt) - now) : null;
    return { ...a, serverNow: this.#iso(now), remainingMs, tasks, clusters };
  }

  #steps(attemptId: string): ExamClusterView['steps'] {
    const sub = this.#o.attempts.subscribe(attemptId, 0, () => {});
    sub.unsubscribe();
    return stepLines(sub.replay);
  }

  /** The exam attempt as the terminal sees it: one workstation, a context per cluster. */
  terminalView(id: string): TerminalAttempt | undefined {
    const a = this.#o.repo.get(id);
    if (!a) return undefined;
    const clusters = this.#o.repo.clusters(id).map((c) => ({ context: c.context, name: this.#o.attempts.get(c.attemptId)?.clusterName ?? '' }));
    const status = a.status === 'starting' ? 'starting' : EXAM_ENDED.has(a.status) ? 'ended' : 'running';
    return {
      id,
      learnerId: a.learnerId,
      clusterName: clusters[0]?.name ?? '',
      clusters,
      status,
      kubernetesVersion: a.exam.kubernetes,
      ...(this.#lockReason(a) ? { inputLocked: this.#lockReason(a)! } : {}),
    };
  }

  #lockReason(a: ExamAttempt): string | null {
    if (a.status === 'grading') return 'the exam is submitted: the terminal is read-only';
    if (a.status === 'review' && !a.inputUnlocked)
      return 'the exam is submitted: the terminal is read-only (unlock it on the result page to explore; your score stays)';
    return null;
  }

  // ---- starting ----

  /** Starts the exam (its clusters queue for capacity), or returns the learner's running attempt of it. */
  start(learnerId: string, examId: string): { attempt: ExamAttempt; created: boolean } {
    if (this.#closed) throw new AppError(503, 'shutting_down', 'the server is shutting down');
    const exam = this.#o.exams.get(examId);
    if (!exam) throw notFound('exam', examId);
    const running = this.#o.repo.forLearner(learnerId).find((a) => !EXAM_ENDED.has(a.status));
    if (running) {
      if (running.examId === examId) return { attempt: running, created: false };
      throw new AppError(409, 'exam_running', `you are taking "${running.exam.title}"; finish it before starting another exam`, { examAttemptId: running.id });
    }
    if (exam.clusters.length > this.#o.maxClusters) {
      throw new AppError(
        409,
        'exam_too_big',
        `this exam needs ${exam.clusters.length} clusters at once, but this server runs at most ${this.#o.maxClusters} (clusters.maxConcurrent)`,
      );
    }
    const id = randomBytes(9).toString('hex');
    const snapshot: ExamSnapshot = {
      id: exam.id,
      title: exam.title,
      minutes: exam.minutes,
      passPercent: exam.passPercent,
      kubernetes: exam.kubernetes,
      clusters: exam.clusters,
      tasks: exam.tasks,
    };
    const children: { context: string; attemptId: string }[] = [];
    // One draw per exam attempt for each parametrised lab, shared by every cluster the lab is on.
    const recipes = examClusterRecipes(exam);
    const params = adoptPresetDraws(drawForLabs(exam.tasks.map((t) => this.#o.labs.get(t.labId))), recipes, (r) =>
      this.#o.attempts.presetParams?.(r.key, r.labIds),
    );
    // The same recipes the pre-set-up pool prepares clusters by (clusters.presetLabs exam:<id>).
    for (const c of recipes) {
      const child = this.#o.attempts.startCluster(learnerId, {
        examAttemptId: id,
        label: c.key,
        shape: c.shape,
        kubernetes: c.kubernetes,
        labIds: c.labIds,
        params,
      });
      children.push({ context: c.context, attemptId: child.id });
    }
    const now = this.#iso();
    const attempt: ExamAttempt = {
      id,
      learnerId,
      examId,
      status: 'starting',
      exam: snapshot,
      createdAt: now,
      startedAt: null,
      deadlineAt: null,
      submittedAt: null,
      submitReason: null,
      reviewUntil: null,
      endedAt: null,
      failure: null,
      focusTask: null,
      focusSince: null,
      inputUnlocked: false,
      result: null,
      regrade: null,
    };
    this.#o.repo.insert(attempt, children);
    this.#o.log.info({ examAttemptId: id, examId, clusters: children.length }, 'exam attempt started');
    this.#follow(id);
    this.#advance(id);
    return { attempt: this.#o.repo.get(id)!, created: true };
  }

  /** Listens to the exam's cluster attempts, so the exam moves on when they do. */
  #follow(id: string): void {
    if (this.#subs.has(id)) return;
    // Deferred: the attempt service is in the middle of a status change when it tells us.
    const subs = this.#o.repo
      .clusters(id)
      .map(
        (c) =>
          this.#o.attempts.subscribe(c.attemptId, Number.MAX_SAFE_INTEGER, (e: AttemptEvent) => e.type === 'status' && queueMicrotask(() => this.#advance(id)))
            .unsubscribe,
      );
    this.#subs.set(id, subs);
  }

  #unfollow(id: string): void {
    this.#told.delete(id);
    for (const u of this.#subs.get(id) ?? []) u();
    this.#subs.delete(id);
    clearTimeout(this.#timers.get(id));
    this.#timers.delete(id);
  }

  /** Moves the exam on: clusters ready → countdown; a cluster lost → failed; deadline → submit; review over → end. */
  #advance(id: string): void {
    const a = this.#o.repo.get(id);
    if (!a || EXAM_ENDED.has(a.status)) return;
    const now = this.#now();
    const children = this.#o.repo.clusters(id).map((c) => ({ ...c, attempt: this.#o.attempts.get(c.attemptId) }));
    const lost = children.find((c) => !c.attempt || ['failed', 'expired', 'finished'].includes(c.attempt.status));
    if (lost && a.status !== 'review') {
      const why =
        lost.attempt?.status === 'failed'
          ? `cluster ${lost.context} could not be prepared: ${lost.attempt.failureStep ? `${lost.attempt.failureStep}: ` : ''}${lost.attempt.failureMessage ?? 'failed'}`
          : `cluster ${lost.context} is gone (${lost.attempt?.endReason ?? 'deleted'})`;
      if (a.status === 'starting' || a.status === 'running') return this.#fail(id, why);
    }
    if (lost && a.status === 'review') return this.end(id, 'a cluster of the review is gone');
    if (
      a.status === 'starting' &&
      !this.#told.has(id) &&
      children.every((c) => c.attempt?.clusterName && (c.attempt.status === 'setting-up' || c.attempt.status === 'ready'))
    ) {
      this.#told.add(id);
      for (const cb of this.#created) {
        try {
          cb(id);
        } catch (e) {
          this.#o.log.warn({ error: errorMessage(e) }, 'exams: a clusters-created listener failed');
        }
      }
    }
    if (a.status === 'starting' && children.every((c) => c.attempt?.status === 'ready')) {
      this.#o.repo.update(id, { status: 'running', startedAt: this.#iso(now), deadlineAt: this.#iso(now + a.exam.minutes * 60_000) });
      this.#o.log.info({ examAttemptId: id, minutes: a.exam.minutes }, 'exam attempt: every cluster is ready, the clock runs');
      this.#schedule(id, a.exam.minutes * 60_000);
      return;
    }
    if (a.status === 'running' && a.deadlineAt) {
      const left = Date.parse(a.deadlineAt) - now;
      if (left <= 0)
        void this.submit(id, a.learnerId, 'time').catch((e: unknown) =>
          this.#o.log.error({ examAttemptId: id, error: errorMessage(e) }, 'exam attempt: submit at time-up failed'),
        );
      else this.#schedule(id, left);
      return;
    }
    if (a.status === 'review' && a.reviewUntil) {
      const left = Date.parse(a.reviewUntil) - now;
      if (left <= 0) this.end(id, 'the review period is over');
      else this.#schedule(id, left);
    }
  }

  /** Wakes #advance at the next deadline (the periodic sweep is the safety net). */
  #schedule(id: string, ms: number): void {
    clearTimeout(this.#timers.get(id));
    // setTimeout caps at ~24.8 days; exams are hours.
    const t = setTimeout(() => this.#advance(id), Math.min(ms + 50, 2 ** 31 - 1));
    t.unref();
    this.#timers.set(id, t);
  }

  /** Checks every exam attempt that has not ended (deadlines, review ends, lost clusters). */
  sweep(): void {
    for (const a of this.#o.repo.active()) this.#advance(a.id);
  }

  #fail(id: string, why: string): void {
    this.#o.log.warn({ examAttemptId: id, reason: why }, 'exam attempt failed');
    this.#o.repo.update(id, { status: 'failed', failure: why, endedAt: this.#iso() });
    this.#release(id, 'the exam failed');
  }

  #release(id: string, reason: string): void {
    this.#unfollow(id);
    for (const c of this.#o.repo.clusters(id)) this.#o.attempts.finish(c.attemptId, reason);
    for (const cb of this.#ended) {
      try {
        cb(id);
      } catch (e) {
        this.#o.log.warn({ error: errorMessage(e) }, 'exams: an onEnded listener failed');
      }
    }
  }

  // ---- the learner's marks ----

  /** The navigator shows task n: it is opened, and time counts for it from now. */
  focus(id: string, learnerId: string, number: number): void {
    const a = this.owned(id, learnerId);
    this.#task(a, number);
    if (a.status !== 'running') return;
    const now = this.#now();
    this.#closeFocus(a, now);
    this.#o.repo.updateTask(id, number, { opened: true });
    this.#o.repo.update(id, { focusTask: number, focusSince: this.#iso(now) });
  }

  #closeFocus(a: ExamAttempt, now: number): void {
    if (a.focusTask !== null && a.focusSince) this.#o.repo.updateTask(a.id, a.focusTask, { addMs: now - Date.parse(a.focusSince) });
    this.#o.repo.update(a.id, { focusTask: null, focusSince: null });
  }

  /** Flags a task for review or writes its notes (kept on the server). */
  mark(id: string, learnerId: string, number: number, fields: { flagged?: boolean; notes?: string }): ExamTaskState {
    const a = this.owned(id, learnerId);
    this.#task(a, number);
    if (fields.notes !== undefined && fields.notes.length > NOTES_MAX)
      throw new AppError(400, 'notes_too_long', `notes are limited to ${NOTES_MAX} characters`);
    if (EXAM_ENDED.has(a.status)) throw new AppError(409, 'exam_ended', 'this exam attempt has ended');
    this.#o.repo.updateTask(id, number, fields);
    return this.#o.repo.tasks(id).find((t) => t.number === number)!;
  }

  #task(a: ExamAttempt, number: number): ExamTask {
    const t = a.exam.tasks.find((x) => x.number === number);
    if (!t) throw new AppError(404, 'exam_task_not_found', `this exam has no task ${number} (it has ${a.exam.tasks.length})`);
    return t;
  }

  // ---- submit, grade, review ----

  /** Submits the exam (the learner, or time-up): locks the terminal, grades every task, opens the review. */
  async submit(id: string, learnerId: string, reason: 'learner' | 'time' = 'learner'): Promise<ExamAttempt> {
    const a = this.owned(id, learnerId);
    if (a.status === 'starting') throw new AppError(409, 'exam_not_started', 'the exam has not started yet: its clusters are being prepared');
    if (a.status === 'running') {
      const now = this.#now();
      this.#closeFocus(a, now);
      // At time-up the submission happens at the deadline, whenever the server noticed.
      const at = reason === 'time' && a.deadlineAt ? Math.min(now, Date.parse(a.deadlineAt)) : now;
      this.#o.repo.update(id, { status: 'grading', submittedAt: this.#iso(at), submitReason: reason });
      this.#o.log.info({ examAttemptId: id, reason }, 'exam attempt submitted');
      this.#lock(id, this.#lockReason(this.#o.repo.get(id)!));
    }
    if (this.#o.repo.get(id)!.status === 'grading') await this.#gradeOnce(id);
    return this.#o.repo.get(id)!;
  }

  #gradeOnce(id: string): Promise<void> {
    let p = this.#grading.get(id);
    if (!p) {
      p = this.#grade(id, 'result').finally(() => this.#grading.delete(id));
      this.#grading.set(id, p);
      this.#tasks.add(p);
    }
    return p;
  }

  async #grade(id: string, into: 'result' | 'regrade'): Promise<void> {
    const a = this.#o.repo.get(id)!;
    let result: ExamResult;
    try {
      result = await this.gradeClusters(a);
      // A check the cluster could not answer (an overloaded API server, a probe pod restarting) must not
      // cost points in the one grade that counts: grade again, up to twice, while any check errs.
      for (let retry = 0; retry < 2 && into === 'result' && errors(result) > 0; retry++) {
        const again = await this.gradeClusters(a);
        if (errors(again) <= errors(result)) result = again;
      }
    } catch (e) {
      if (into === 'regrade') throw e;
      this.#fail(id, `grading failed: ${errorMessage(e)}`);
      return;
    }
    if (into === 'regrade') {
      this.#o.repo.update(id, { regrade: result });
      return;
    }
    const reviewMs = this.#o.reviewMinutes * 60_000;
    this.#o.repo.update(id, { status: 'review', result, reviewUntil: this.#iso(this.#now() + reviewMs) });
    this.#o.log.info({ examAttemptId: id, percent: result.percent, passed: result.passed, ms: result.durationMs }, 'exam attempt graded');
    if (reviewMs <= 0) this.end(id, 'no review period');
    else this.#schedule(id, reviewMs);
  }

  /** The values the exam attempt drew for its parametrised labs (kept on its cluster attempts), or null. */
  paramsOf(examAttemptId: string): Record<string, ParamValues> | null {
    const merged: Record<string, ParamValues> = {};
    for (const c of this.#o.repo.clusters(examAttemptId)) Object.assign(merged, this.#o.attempts.get(c.attemptId)?.params ?? {});
    return Object.keys(merged).length ? merged : null;
  }

  /** Grades every task of the exam on its live cluster, all at once (clusters marked busy meanwhile). */
  async gradeClusters(a: ExamAttempt): Promise<ExamResult> {
    const begun = new Map<string, { kubeconfigPath: string; attemptId: string }>();
    try {
      for (const c of this.#o.repo.clusters(a.id)) {
        const g = await this.#o.attempts.beginGrading(c.attemptId, a.learnerId);
        begun.set(c.context, { kubeconfigPath: g.kubeconfigPath, attemptId: c.attemptId });
      }
      return await gradeExam(a.exam, {
        lab: (labId) => this.#o.labs.forAttempt(labId, this.paramsOf(a.id)),
        cluster: (context) => {
          const c = begun.get(context);
          if (!c) return undefined;
          const scripts = this.#o.scriptsFor?.(c.kubeconfigPath);
          const nodes = this.#o.nodesFor?.(c.attemptId);
          return { port: this.#o.portFor(c.kubeconfigPath), ...(scripts ? { scripts } : {}), ...(nodes ? { nodes } : {}) };
        },
        ...(this.#o.engine ? { engine: this.#o.engine } : {}),
        now: this.#now,
      });
    } finally {
      for (const c of begun.values()) this.#o.attempts.endGrading(c.attemptId);
    }
  }

  /** During review: grades the clusters again (the exam's score stays the one at submit). */
  async regrade(id: string, learnerId: string): Promise<ExamAttempt> {
    const a = this.owned(id, learnerId);
    if (a.status !== 'review') throw new AppError(409, 'exam_not_in_review', `re-grade works during the review period; this exam attempt is ${a.status}`);
    await this.#grade(id, 'regrade');
    return this.#o.repo.get(id)!;
  }

  /** During review: lets the learner type in the terminal again, to explore (the score stays). */
  unlock(id: string, learnerId: string): ExamAttempt {
    const a = this.owned(id, learnerId);
    if (a.status !== 'review') throw new AppError(409, 'exam_not_in_review', `the terminal unlocks during the review period; this exam attempt is ${a.status}`);
    this.#o.repo.update(id, { inputUnlocked: true });
    this.#lock(id, null);
    return this.#o.repo.get(id)!;
  }

  /** The learner ends the exam: while it runs this submits it; in review it deletes the clusters; while starting it stops. */
  async finish(id: string, learnerId: string): Promise<ExamAttempt> {
    const a = this.owned(id, learnerId);
    if (a.status === 'running' || a.status === 'grading') return this.submit(id, learnerId);
    if (a.status === 'starting') this.#fail(id, 'stopped by the learner before it started');
    else if (a.status === 'review') this.end(id, 'review ended by the learner');
    return this.#o.repo.get(id)!;
  }

  /** Ends the review: the exam attempt is finished and its clusters are deleted. */
  end(id: string, reason: string): void {
    const a = this.#o.repo.get(id);
    if (!a || EXAM_ENDED.has(a.status)) return;
    this.#o.repo.update(id, {
      status: 'finished',
      endedAt: this.#iso(),
      reviewUntil: a.reviewUntil && Date.parse(a.reviewUntil) > this.#now() ? this.#iso() : a.reviewUntil,
    });
    this.#o.log.info({ examAttemptId: id, reason }, 'exam attempt finished');
    this.#release(id, reason);
  }

  // ---- start-up and shutdown ----

  /**
   * Start-up (after the attempt service's reconcile): follows every exam that has not ended, grades
   * exams a restart interrupted while grading, and submits exams whose time ran out meanwhile.
   */
  reconcile(): { resumed: string[] } {
    const resumed: string[] = [];
    for (const a of this.#o.repo.active()) {
      this.#follow(a.id);
      resumed.push(a.id);
      if (a.status === 'grading') void this.#gradeOnce(a.id).catch(() => {});
      else this.#advance(a.id);
    }
    return { resumed };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweep) clearInterval(this.#sweep);
    for (const id of [...this.#subs.keys()]) this.#unfollow(id);
    await this.#tasks.settle(8000);
  }
}
