import { randomBytes } from 'node:crypto';
import type { ClusterPort, WorkstationAccess } from '../../../graders/src/cluster/port.ts';
import type { Config } from '../config/config.ts';
import type { ServiceLog } from '../log.ts';
import { AppError, errorMessage, notFound } from '../errors.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import type { AddonName } from '../labs/format.ts';
import type { Lab } from '../labs/loader.ts';
import { shapeFromKey, shapeKey } from '../provisioner/kind-config.ts';
import type { ClusterInfo, KindDriver } from '../provisioner/kind-driver.ts';
import type { NetpolVerdicts } from '../provisioner/netpol-verdicts.ts';
import { planEntries, runPlan } from '../provisioner/pipeline.ts';
import { ProvisionError, type StepSink } from '../provisioner/steps.ts';
import { AttemptEvents } from './attempt-events.ts';
import { planAttempt, planTimeouts, PRESET_STEP, WARM_STEP, type AttemptStep } from './attempt-plan.ts';
import { labSetupOf, provisionWork } from './provision-steps.ts';
import { ENDED, type Attempt, type AttemptEvent, type AttemptRepository, type AttemptStatus } from './attempt-repository.ts';
import { ClusterPool, type OwnedCluster } from './cluster-pool.ts';
import type { SpareWorkstations } from '../terminal/spare-workstations.ts';
import { PresetPool, type PresetPoolOptions, type PresetStatus } from './preset-pool.ts';
import { reconcileClusters, type ReconcileResult } from './reconcile.ts';
import { drawForLabs, type ParamValues } from '../labs/params.ts';
import { BackgroundTasks } from '../background-tasks.ts';

/** Checks NetworkPolicy enforcement on a fresh cluster (injectable so tests need no real cluster). */
export type NetpolCheck = (cluster: ClusterInfo, port: ClusterPort, onStep: StepSink, signal: AbortSignal) => Promise<unknown>;

/** Installs a cluster's add-ons (injectable so tests need no real cluster). */
export type AddonInstall = (cluster: ClusterInfo, addons: readonly AddonName[], port: ClusterPort, onStep: StepSink, signal: AbortSignal) => Promise<unknown>;

export interface AttemptServiceOptions extends PresetPoolOptions {
  repo: AttemptRepository;
  driver: Pick<KindDriver, 'newName' | 'create' | 'delete' | 'list' | 'preloadImages' | 'paths' | 'nodeImage' | 'nodes'>;
  labs: { get(id: string): Lab | undefined; forAttempt(id: string, params: Attempt['params']): Lab | undefined; readonly current: { labs: readonly Lab[] } };
  /** A cluster port for a kubeconfig file (the real one is @kubernetes/client-node). */
  portFor: (kubeconfigPath: string) => ClusterPort;
  runner: CommandRunner;
  clusters: Config['clusters'];
  log: ServiceLog;
  now?: () => number;
  verifyNetworkPolicy?: NetpolCheck;
  /** Remembered NetworkPolicy self-test verdicts (per node image and host); without it every cluster is tested. */
  netpolVerdicts?: NetpolVerdicts;
  installAddons?: AddonInstall;
  /** How often the reaper looks for expired and idle attempts; 0 disables the timer (tests call reap()). */
  reapIntervalMs?: number;
  setupPollMs?: number;
  /** After a warm cluster failed to be created, wait this long before trying again. */
  poolRetryMs?: number;
  /** Shapes besides the labs' that the default warm pool keeps (the clusters of exams). */
  extraPoolShapes?: () => readonly string[];
  /** Images a warm cluster of a shape gets besides those of the labs of that shape (labs an exam places on it). */
  extraPoolImages?: (shape: string) => readonly string[];
  /** Workstations made ahead for clusters set up in advance (the terminal service's; looked up late, it is made after this). */
  spareWorkstations?: () => SpareWorkstations | undefined;
  /** The attempt's workstation, where a Killercoda scenario's setup runs (the terminal service's launcher). */
  workstationFor?: (attemptId: string) => WorkstationAccess | undefined;
}

/** What the API returns for an attempt. */
export interface AttemptView extends Attempt {
  /** 1-based place in the queue while queued. */
  queuePosition: number | null;
  /** While being prepared: how long Start → ready took recently for this shape (median), if known. */
  estimateMs: number | null;
  /**
   * While queued: the latest time until a cluster frees up for this place in the queue, from the
   * running lab attempts' time limits and idle timeouts (learners who finish earlier free it sooner);
   * null when it cannot be told (exam clusters end with their exam).
   */
  queueWaitMs: number | null;
}

const ACTIVE_CLUSTER: ReadonlySet<AttemptStatus> = new Set(['provisioning', 'setting-up', 'ready', 'grading']);
const TOUCH_PERSIST_MS = 30_000;
export { PRESET_STEP, WARM_STEP };

/**
 * Attempts from Start to the end: queue with global and per-learner caps, provisioning and setup as
 * named steps, grading hand-off, and the reaper for expired and idle attempts. The clusters and warm
 * pool are ClusterPool's, the event stream AttemptEvents', start-up reconcile is reconcileClusters.
 */
export class AttemptService {
  readonly #o: AttemptServiceOptions;
  readonly #now: () => number;
  readonly #queue: string[] = [];
  readonly #pool: ClusterPool;
  readonly #presets: PresetPool;
  readonly #events: AttemptEvents;
  readonly #runs = new Map<string, { abort: AbortController; done: Promise<void> }>();
  readonly #positions = new Map<string, number>();
  readonly #activity = new Map<string, { at: number; persisted: number }>();
  readonly #tasks: BackgroundTasks;
  /** Some queued attempt is waiting for capacity (not just for its learner's other attempt): the pool yields. */
  #waitingForSlot = false;
  #reaper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(o: AttemptServiceOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#events = new AttemptEvents(o.repo, this.#now, o.log);
    this.#tasks = new BackgroundTasks((e) => o.log.error({ error: errorMessage(e) }, 'attempts: background task failed'));
    this.#pool = new ClusterPool(o, {
      now: this.#now,
      background: (p) => this.#tasks.add(p),
      runDone: (id) => this.#runs.get(id)?.done,
      changed: () => this.#pump(),
      // An unclaimed cluster set up in advance takes its spare workstation with it.
      released: (c) => {
        if (c.preset && !c.attemptId) o.spareWorkstations?.()?.discard(c.name);
      },
    });
    this.#presets = new PresetPool(o, this.#pool, { now: this.#now, background: (p) => this.#tasks.add(p), changed: () => this.#pump() });
    if (o.reapIntervalMs !== 0) {
      this.#reaper = setInterval(() => this.reap(), o.reapIntervalMs ?? 30_000);
      this.#reaper.unref();
    }
  }

  #iso(ms = this.#now()): string {
    return new Date(ms).toISOString();
  }

  /** Resolves when no background work (creates, setups, deletes) is left; for tests and benchmarks. */
  async idle(): Promise<void> {
    await this.#tasks.idle();
  }

  // ---- reading ----

  /** The attempt with its queue position, or undefined. */
  get(id: string): AttemptView | undefined {
    const a = this.#o.repo.get(id);
    return a ? this.#view(a) : undefined;
  }

  /** The learner's attempts, newest first. */
  listForLearner(learnerId: string): AttemptView[] {
    return this.#o.repo.forLearner(learnerId).map((a) => this.#view(a));
  }

  #view(a: Attempt): AttemptView {
    const i = this.#queue.indexOf(a.id);
    const activity = this.#activity.get(a.id);
    const queuePosition = a.status === 'queued' && i >= 0 ? i + 1 : null;
    return {
      ...a,
      ...(activity ? { lastActivityAt: this.#iso(activity.at) } : {}),
      queuePosition,
      estimateMs: this.#estimate(a),
      queueWaitMs: queuePosition ? this.#queueWait(queuePosition) : null,
    };
  }

  /**
   * When the queue's place-th attempt gets a cluster at the latest: each running lab attempt ends by
   * its time limit or its idle timeout (the reaper's rules), whichever comes first; the place-th of
   * those ends frees the slot that place waits for. Attempts still being prepared count a full time limit.
   */
  #queueWait(place: number): number | null {
    const now = this.#now();
    const { attemptMinutes, idleMinutes } = this.#o.clusters;
    const ends = this.#o.repo
      .active()
      .filter((r) => r.status !== 'queued' && !r.examAttemptId)
      .map((r) => {
        const limit = r.expiresAt ? Date.parse(r.expiresAt) : now + attemptMinutes * 60_000;
        const last = this.#activity.get(r.id)?.at ?? Date.parse(r.lastActivityAt);
        return Math.max(0, Math.min(limit, last + idleMinutes * 60_000) - now);
      })
      .sort((x, y) => x - y);
    const end = ends[place - 1];
    return end === undefined ? null : end;
  }

  /** Median Start → ready of the last few attempts of the shape that went the same way (warm claim or new cluster). */
  #estimate(a: Attempt): number | null {
    if (a.status !== 'queued' && a.status !== 'provisioning' && a.status !== 'setting-up') return null;
    const warm =
      a.status === 'queued' ? this.#pool.warmOf(a.shape) !== undefined : this.#o.repo.events(a.id).some((e) => e.type === 'step' && e.name === WARM_STEP);
    // Starts from a cluster set up in advance take no time; they would make the others' estimate wrong.
    const recent = this.#o.repo.recentStartMs(a.shape, WARM_STEP, warm, 5, PRESET_STEP);
    return recent.length ? recent.sort((x, y) => x - y)[Math.floor(recent.length / 2)]! : null;
  }

  /** The attempt if it belongs to the learner, else 404. */
  owned(id: string, learnerId: string): AttemptView {
    const a = this.get(id);
    if (!a || a.learnerId !== learnerId) throw new AppError(404, 'attempt_not_found', `no attempt with id "${id}"`, { id });
    return a;
  }

  /** Cluster counts by state, for health and benchmarks. */
  stats(): { clusters: Record<OwnedCluster['state'], number>; queued: number; running: number } {
    return { clusters: this.#pool.stats(), queued: this.#queue.length, running: this.#runs.size };
  }

  /** The pre-set-up pool per lab or exam cluster (wanted, ready, being set up, or why excluded), for the operator. */
  presetStatus(): PresetStatus[] {
    return this.#presets.status();
  }

  // ---- events ----

  /** Stored events after `after`, and live ones from now on via cb; returns them and an unsubscribe function. */
  subscribe(id: string, after: number, cb: (e: AttemptEvent) => void): { replay: AttemptEvent[]; unsubscribe: () => void } {
    return this.#events.subscribe(id, after, cb);
  }

  #setStatus(id: string, status: AttemptStatus, fields: Partial<Attempt> = {}, output: string | null = null): void {
    this.#o.repo.update(id, { status, updatedAt: this.#iso(), ...fields });
    this.#events.emit(id, { type: 'status', name: status, state: null, elapsedMs: this.#events.sinceStart(id), position: null, output });
    this.#events.statusChanged(id, status);
  }

  /** Calls cb whenever an attempt changes status; returns an unsubscribe function. */
  onStatus(cb: (id: string, status: AttemptStatus) => void): () => void {
    return this.#events.onStatus(cb);
  }

  /** Calls cb when an attempt ends (finished, failed, expired); returns an unsubscribe function. */
  onEnded(cb: (id: string) => void): () => void {
    return this.#events.onEnded(cb);
  }

  #notifyEnded(id: string): void {
    this.#activity.delete(id);
    this.#positions.delete(id);
    this.#events.ended(id);
  }

  // ---- starting ----

  /** Starts an attempt of the lab (queued until capacity allows), or returns the learner's running attempt of it. */
  start(learnerId: string, labId: string): { attempt: AttemptView; created: boolean } {
    if (this.#closed) throw new AppError(503, 'shutting_down', 'the server is shutting down');
    const lab = this.#o.labs.get(labId);
    if (!lab) throw notFound('lab', labId);
    const running = this.#o.repo.forLearner(learnerId).find((a) => a.labId === labId && !ENDED.has(a.status));
    if (running) return { attempt: this.#view(running), created: false };
    // With a pre-set-up cluster of the lab, the learner gets the draw its setup was made with (a fresh one, made when it was set up).
    const preset = this.#presets.paramsFor(lab.id, [lab.id]);
    return {
      attempt: this.#enqueue({
        learnerId,
        labId,
        shape: shapeKey(lab.meta.cluster),
        kubernetes: lab.meta.kubernetes,
        examAttemptId: null,
        setupLabs: null,
        params: preset !== undefined ? preset : drawForLabs([lab]),
      }),
      created: true,
    };
  }

  // ---- exam clusters: one cluster of an exam attempt, with several labs' setups ----

  /** The draw a ready cluster set up in advance for this exam cluster (label) and labs was made with, or undefined; an exam's Start adopts it. */
  presetParams(label: string, labIds: readonly string[]): Record<string, ParamValues> | null | undefined {
    return this.#presets.paramsFor(label, labIds);
  }

  /**
   * Queues one cluster of an exam attempt: a cluster of the shape with the setups of the given labs.
   * An exam attempt's clusters count as one running attempt for clusters.perLearner; its lifetime is the exam's (the
   * reaper leaves it alone), and the exam ends it with finish().
   */
  startCluster(
    learnerId: string,
    spec: { examAttemptId: string; label: string; shape: string; kubernetes: string; labIds: readonly string[]; params?: Record<string, ParamValues> | null },
  ): AttemptView {
    if (this.#closed) throw new AppError(503, 'shutting_down', 'the server is shutting down');
    for (const id of spec.labIds) if (!this.#o.labs.get(id)) throw notFound('lab', id);
    return this.#enqueue({
      learnerId,
      labId: spec.label,
      shape: spec.shape,
      kubernetes: spec.kubernetes,
      examAttemptId: spec.examAttemptId,
      setupLabs: [...spec.labIds],
      params: spec.params ?? drawForLabs(spec.labIds.map((id) => this.#o.labs.get(id))),
    });
  }

  #enqueue(a: Pick<Attempt, 'learnerId' | 'labId' | 'shape' | 'kubernetes' | 'examAttemptId' | 'setupLabs' | 'params'>): AttemptView {
    const now = this.#iso();
    const attempt: Attempt = {
      // Hex, not base64url: ids name containers and folders, which must start with a letter or digit
      // (a base64url id starting with "_" or "-" made the terminal refuse ~3% of attempts).
      id: randomBytes(9).toString('hex'),
      ...a,
      status: 'queued',
      clusterName: null,
      createdAt: now,
      updatedAt: now,
      readyAt: null,
      endedAt: null,
      expiresAt: null,
      lastActivityAt: now,
      endReason: null,
      failureStep: null,
      failureMessage: null,
      failureOutput: null,
    };
    this.#o.repo.insert(attempt);
    // The plan goes first, so the page lists every step from the start: as things stand now (a warm
    // cluster of the shape or a new one); the attempt's run sends it again if that changed meanwhile.
    const plan = this.#plan(attempt, attempt.setupLabs ?? [attempt.labId], (id) => this.#o.labs.get(id), this.#pool.warmOf(attempt.shape));
    if (plan) this.#events.plan(attempt.id, planEntries(plan));
    this.#events.emit(attempt.id, { type: 'status', name: 'queued', state: null, elapsedMs: 0, position: null, output: null });
    this.#queue.push(attempt.id);
    this.#pump();
    return this.get(attempt.id)!;
  }

  #learnerBusy(a: Attempt): boolean {
    // The clusters of one exam attempt count once, and never hold each other back.
    const running = new Set<string>();
    for (const b of this.#o.repo.active()) if (b.learnerId === a.learnerId && ACTIVE_CLUSTER.has(b.status)) running.add(b.examAttemptId ?? b.id);
    if (a.examAttemptId && running.has(a.examAttemptId)) return false;
    return running.size >= this.#o.clusters.perLearner;
  }

  /** Hands queued attempts a warm cluster or a free slot, in order; then tops up the pool. */
  #pump(): void {
    if (this.#closed) return;
    this.#waitingForSlot = false;
    for (const id of [...this.#queue]) {
      const a = this.#o.repo.get(id);
      if (!a || a.status !== 'queued') {
        this.#queue.splice(this.#queue.indexOf(id), 1);
        continue;
      }
      if (this.#learnerBusy(a)) continue;
      const preset = this.#presets.match(a);
      if (preset) {
        this.#pool.claim(preset, id);
        this.#dispatch(a, preset);
        continue;
      }
      const warm = this.#pool.warmOf(a.shape);
      if (warm) {
        this.#pool.claim(warm, id);
        this.#dispatch(a, warm);
        continue;
      }
      if (this.#pool.slotsUsed < this.#o.clusters.maxConcurrent) {
        this.#dispatch(a, this.#pool.reserve(a.shape, id));
        continue;
      }
      // Full: a warm cluster of another shape makes room for a learner who is waiting.
      this.#waitingForSlot = true;
      const spare = this.#pool.all().find((c) => c.state === 'warm' && (c.shape !== a.shape || c.preset));
      if (spare) this.#pool.release(spare.name, 'evicted from the warm pool for a queued attempt');
    }
    for (const [i, id] of this.#queue.entries()) {
      if (this.#positions.get(id) !== i + 1) {
        this.#positions.set(id, i + 1);
        this.#events.emit(id, { type: 'queue', name: 'queued', state: null, elapsedMs: this.#events.sinceStart(id), position: i + 1, output: null });
      }
    }
    if (!this.#waitingForSlot) {
      this.#pool.fill();
      this.#presets.fill();
    }
  }

  #dispatch(a: Attempt, cluster: OwnedCluster): void {
    this.#queue.splice(this.#queue.indexOf(a.id), 1);
    this.#positions.delete(a.id);
    const abort = new AbortController();
    const done = this.#run(a, cluster, abort.signal).finally(() => this.#runs.delete(a.id));
    this.#runs.set(a.id, { abort, done });
    this.#tasks.add(done);
  }

  /** The declared steps for the attempt's labs on a new cluster, or on the given warm one; undefined when a lab is gone. */
  #plan(a: Attempt, labIds: readonly string[], lab: (id: string) => Lab | undefined, warm: OwnedCluster | undefined): AttemptStep[] | undefined {
    const labs = labIds.map(lab);
    if (labs.some((l) => !l)) return undefined;
    return planAttempt({
      shape: shapeFromKey(a.shape),
      cluster: warm ? { warm: true, images: warm.images, setUp: Boolean(warm.preset?.ready) } : { warm: false },
      images: [...new Set(labs.flatMap((l) => l!.meta.images))],
      labs: labs.map((l) => ({ id: l!.id, setup: labSetupOf(l!), scenario: Boolean(l!.scenarioSetup) })),
      timeouts: planTimeouts(this.#o.clusters),
    });
  }

  /** Prepares the attempt's cluster: its plan (sent again if it changed since Start), run by the one runner. */
  async #run(a: Attempt, cluster: OwnedCluster, signal: AbortSignal): Promise<void> {
    const sink = this.#events.sink(a.id);
    const labIds = a.setupLabs ?? [a.labId];
    // A parametrised lab is set up as the attempt's draw made it.
    const drawn = new Map(labIds.map((id) => [id, this.#o.labs.forAttempt(id, a.params)]));
    try {
      const cold = cluster.state === 'creating';
      const plan = this.#plan(a, labIds, (id) => drawn.get(id), cold ? undefined : cluster);
      if (!plan) throw new ProvisionError('Preparing', `lab "${labIds.filter((id) => !drawn.get(id)).join('", "')}" is no longer in the catalog`);
      this.#events.plan(a.id, planEntries(plan));
      const labs = labIds.map((id) => drawn.get(id)!);
      const shape = shapeFromKey(a.shape);
      const images = [...new Set(labs.flatMap((l) => l.meta.images))];
      const prov = provisionWork(this.#o, { cluster, shape, warm: !cold, images, labs, attemptId: a.id });
      // The cluster steps done, the cluster is the attempt's and the lab steps begin (setting-up).
      const made = () => {
        if (cluster.state !== 'creating') return;
        cluster.info = prov.info();
        cluster.state = 'claimed';
        this.#pool.save(cluster);
        signal.throwIfAborted();
        this.#setStatus(a.id, 'setting-up');
      };
      // The cluster is the attempt's from Start on (a warm one is claimed, a new one is being made).
      if (cold) this.#setStatus(a.id, 'provisioning', { clusterName: cluster.name });
      else this.#setStatus(a.id, 'setting-up', { clusterName: cluster.name });
      const work = {
        ...prov.work,
        claim: async () => {
          // Set up in advance for exactly this lab and draw (PresetPool.match): its workstation was
          // made ahead too (lab attempts; an exam's one workstation is the exam's).
          if (cluster.preset?.ready && !a.examAttemptId)
            await this.#o
              .spareWorkstations?.()
              ?.claim(cluster.name, a.id)
              .catch(() => false);
        },
      };
      await runPlan(plan, work, sink, signal, { onStepStart: (s) => s.stage === 'lab' && made() });
      made();
      signal.throwIfAborted();
      const now = this.#now();
      this.#setStatus(a.id, 'ready', {
        readyAt: this.#iso(now),
        expiresAt: this.#iso(now + this.#o.clusters.attemptMinutes * 60_000),
        lastActivityAt: this.#iso(now),
      });
      this.#activity.set(a.id, { at: now, persisted: now });
    } catch (e) {
      if (signal.aborted) return; // finished (or shut down) while being prepared; finish() cleans up
      const err = e instanceof ProvisionError ? e : new ProvisionError('Preparing', errorMessage(e).split('\n')[0]!, errorMessage(e));
      this.#o.log.warn({ attemptId: a.id, labId: a.labId, step: err.step, error: err.message }, 'attempt failed');
      this.#setStatus(
        a.id,
        'failed',
        { endedAt: this.#iso(), endReason: 'failed', failureStep: err.step, failureMessage: err.message, failureOutput: err.output || null },
        err.output || null,
      );
      this.#pool.releaseFor(a.id);
      this.#notifyEnded(a.id);
      this.#pump();
    }
  }

  // ---- ending ----

  /** Ends the attempt and deletes its cluster; finishing an ended attempt changes nothing. */
  finish(id: string, reason = 'finished', status: 'finished' | 'expired' = 'finished'): AttemptView | undefined {
    const a = this.#o.repo.get(id);
    if (!a) return undefined;
    if (ENDED.has(a.status)) return this.#view(a);
    this.#runs.get(id)?.abort.abort();
    const q = this.#queue.indexOf(id);
    if (q >= 0) this.#queue.splice(q, 1);
    this.#setStatus(id, status, { endedAt: this.#iso(), endReason: reason });
    this.#pool.releaseFor(id);
    this.#notifyEnded(id);
    this.#pump();
    return this.get(id);
  }

  /** Terminal input: the learner is active, so the idle timer starts again. */
  touch(id: string): void {
    const now = this.#now();
    const t = this.#activity.get(id);
    if (!t) {
      const a = this.#o.repo.get(id);
      if (!a || !ACTIVE_CLUSTER.has(a.status)) return;
      this.#activity.set(id, { at: now, persisted: 0 });
    } else t.at = now;
    const entry = this.#activity.get(id)!;
    if (now - entry.persisted >= TOUCH_PERSIST_MS) {
      entry.persisted = now;
      this.#o.repo.update(id, { lastActivityAt: this.#iso(now) });
    }
  }

  /** Finishes attempts past their time limit (expired) or idle too long; returns the ids it ended. */
  reap(): string[] {
    const now = this.#now();
    const ended: string[] = [];
    for (const a of this.#o.repo.active()) {
      // Exam clusters live as long as their exam says (the exam service ends them).
      if (a.status !== 'ready' || a.examAttemptId) continue;
      if (a.expiresAt && Date.parse(a.expiresAt) <= now) {
        this.finish(a.id, `time limit of ${this.#o.clusters.attemptMinutes} min reached`, 'expired');
        ended.push(a.id);
        continue;
      }
      const last = this.#activity.get(a.id)?.at ?? Date.parse(a.lastActivityAt);
      if (now - last >= this.#o.clusters.idleMinutes * 60_000) {
        this.finish(a.id, `idle for ${this.#o.clusters.idleMinutes} min`);
        ended.push(a.id);
      }
    }
    return ended;
  }

  // ---- grading ----

  /** Marks a ready attempt as being graded (ready → grading) and returns where its cluster is. */
  async beginGrading(id: string, learnerId: string): Promise<{ id: string; labId: string; kubeconfigPath: string; params: Attempt['params'] }> {
    const a = this.owned(id, learnerId);
    if (a.status === 'grading') throw new AppError(409, 'attempt_busy', 'this attempt is being graded already; wait for the result');
    if (a.status !== 'ready' || !a.clusterName)
      throw new AppError(409, 'attempt_not_ready', `this attempt is ${a.status}; checks run once it is ready`, { status: a.status });
    this.#setStatus(id, 'grading');
    this.touch(id);
    return { id, labId: a.labId, kubeconfigPath: this.#o.driver.paths(a.clusterName).kubeconfig, params: a.params };
  }

  /** grading → ready (no-op otherwise, e.g. when the attempt ended meanwhile). */
  endGrading(id: string): void {
    if (this.#o.repo.get(id)?.status === 'grading') this.#setStatus(id, 'ready');
  }

  // ---- start-up and shutdown ----

  /**
   * Start-up: adopt clusters the database knows that still exist, delete clusters with our prefix it
   * does not know, fail attempts whose cluster vanished or whose preparation a restart interrupted.
   */
  async reconcile(): Promise<ReconcileResult> {
    const out = await reconcileClusters({
      repo: this.#o.repo,
      driver: this.#o.driver,
      log: this.#o.log,
      pool: this.#pool,
      events: this.#events,
      queue: this.#queue,
      now: this.#now,
      setStatus: (id, status) => this.#setStatus(id, status),
    });
    // Before anything is handed out: a warm cluster that was set up for a lab is that lab's only, or deleted.
    const stale = this.#presets.adoptAfterRestart();
    out.adopted = out.adopted.filter((n) => !stale.includes(n));
    out.deleted.push(...stale);
    this.#pump();
    return out;
  }

  /** Shutdown: stops the reaper and in-flight preparations; ready clusters stay for the next start-up to adopt. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reaper) clearInterval(this.#reaper);
    for (const r of this.#runs.values()) r.abort.abort();
    this.#pool.abortWarming();
    this.#presets.abort();
    await this.#tasks.settle(8000);
  }
}
