import { randomBytes } from 'node:crypto';
import type { ClusterPort } from '../../../graders/src/cluster/port.ts';
import type { Config } from '../config/config.ts';
import { AppError, errorMessage, notFound } from '../errors.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import type { AddonName } from '../labs/format.ts';
import type { Lab } from '../labs/loader.ts';
import { shapeFromKey, shapeKey } from '../provisioner/kind-config.ts';
import type { ClusterInfo, KindDriver } from '../provisioner/kind-driver.ts';
import { enforceNetworkPolicy, fallbackImages, KUBE_ROUTER_MANIFEST, SELFTEST_IMAGE } from '../provisioner/netpol-selftest.ts';
import { netpolFacts, type NetpolVerdicts } from '../provisioner/netpol-verdicts.ts';
import { installAddons } from '../provisioner/addons.ts';
import { applyLabSetup } from '../provisioner/setup.ts';
import { execOnKindNode } from '../terminal/launchers.ts';
import { ProvisionError, step, type StepEvent, type StepSink } from '../provisioner/steps.ts';
import { ENDED, type Attempt, type AttemptEvent, type AttemptRepository, type AttemptStatus } from './attempt-repository.ts';
import { drawForLabs, type ParamValues } from '../labs/params.ts';

/** A cluster this server owns, in memory: being created, warm in the pool, claimed by an attempt, or being deleted. */
interface OwnedCluster {
  name: string;
  shape: string;
  state: 'creating' | 'warm' | 'claimed' | 'deleting';
  attemptId: string | undefined;
  info: ClusterInfo | undefined;
  createdAt: string;
  /** Images known to be in every node (loaded when the cluster was made); unknown after a restart. */
  images?: ReadonlySet<string>;
}

/** Checks NetworkPolicy enforcement on a fresh cluster (injectable so tests need no real cluster). */
export type NetpolCheck = (cluster: ClusterInfo, port: ClusterPort, onStep: StepSink, signal: AbortSignal) => Promise<unknown>;

/** Installs a cluster's add-ons (injectable so tests need no real cluster). */
export type AddonInstall = (cluster: ClusterInfo, addons: readonly AddonName[], port: ClusterPort, onStep: StepSink, signal: AbortSignal) => Promise<unknown>;

export interface AttemptServiceOptions {
  repo: AttemptRepository;
  driver: Pick<KindDriver, 'newName' | 'create' | 'delete' | 'list' | 'preloadImages' | 'paths' | 'nodeImage' | 'nodes'>;
  labs: { get(id: string): Lab | undefined; forAttempt(id: string, params: Attempt['params']): Lab | undefined; readonly current: { labs: readonly Lab[] } };
  /** A cluster port for a kubeconfig file (the real one is @kubernetes/client-node). */
  portFor: (kubeconfigPath: string) => ClusterPort;
  runner: CommandRunner;
  clusters: Config['clusters'];
  log: { info(msg: string): void; warn(msg: string): void; error(msg: string): void };
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
}

/** What the API returns for an attempt. */
export interface AttemptView extends Attempt {
  /** 1-based place in the queue while queued. */
  queuePosition: number | null;
  /** While being prepared: how long Start → ready took recently for this shape (median), if known. */
  estimateMs: number | null;
}

const ACTIVE_CLUSTER: ReadonlySet<AttemptStatus> = new Set(['provisioning', 'setting-up', 'ready', 'grading']);
const TOUCH_PERSIST_MS = 30_000;
/** The step of an attempt that got a warm cluster (estimates tell warm and new-cluster starts apart by it). */
export const WARM_STEP = 'Claiming a warm cluster';

/**
 * Attempts from Start to the end: queue with global and per-learner caps, warm pool per cluster
 * shape, provisioning and setup as named steps (persisted and pushed live), grading hand-off,
 * reaper for expired and idle attempts, and start-up reconcile of the clusters on this host.
 */
export class AttemptService {
  readonly #o: AttemptServiceOptions;
  readonly #now: () => number;
  readonly #queue: string[] = [];
  readonly #clusters = new Map<string, OwnedCluster>();
  readonly #runs = new Map<string, { abort: AbortController; done: Promise<void> }>();
  readonly #listeners = new Map<string, Set<(e: AttemptEvent) => void>>();
  readonly #ended = new Set<(id: string) => void>();
  readonly #statusListeners = new Set<(id: string, status: AttemptStatus) => void>();
  readonly #seq = new Map<string, number>();
  readonly #stepStarted = new Map<string, Map<string, number>>();
  readonly #positions = new Map<string, number>();
  readonly #activity = new Map<string, { at: number; persisted: number }>();
  readonly #tasks = new Set<Promise<unknown>>();
  /** Cancels warm clusters still being created (at shutdown). */
  readonly #poolAborts = new Set<AbortController>();
  #poolPausedUntil = 0;
  /** Some queued attempt is waiting for capacity (not just for its learner's other attempt): the pool yields. */
  #waitingForSlot = false;
  #reaper: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(o: AttemptServiceOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    if (o.reapIntervalMs !== 0) {
      this.#reaper = setInterval(() => this.reap(), o.reapIntervalMs ?? 30_000);
      this.#reaper.unref();
    }
  }

  #iso(ms = this.#now()): string {
    return new Date(ms).toISOString();
  }

  #bg(p: Promise<unknown>): void {
    const t = p.catch((e: unknown) => this.#o.log.error(`attempts: background task failed: ${errorMessage(e)}`)).finally(() => this.#tasks.delete(t));
    this.#tasks.add(t);
  }

  /** Resolves when no background work (creates, setups, deletes) is left; for tests and benchmarks. */
  async idle(): Promise<void> {
    while (this.#tasks.size) await Promise.all([...this.#tasks]);
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
    return { ...a, ...(activity ? { lastActivityAt: this.#iso(activity.at) } : {}), queuePosition: a.status === 'queued' && i >= 0 ? i + 1 : null, estimateMs: this.#estimate(a) };
  }

  /** Median Start → ready of the last few attempts of the shape that went the same way (warm claim or new cluster). */
  #estimate(a: Attempt): number | null {
    if (a.status !== 'queued' && a.status !== 'provisioning' && a.status !== 'setting-up') return null;
    const warm =
      a.status === 'queued'
        ? [...this.#clusters.values()].some((c) => c.state === 'warm' && c.shape === a.shape)
        : this.#o.repo.events(a.id).some((e) => e.type === 'step' && e.name === WARM_STEP);
    const recent = this.#o.repo.recentStartMs(a.shape, WARM_STEP, warm, 5);
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
    const clusters = { creating: 0, warm: 0, claimed: 0, deleting: 0 };
    for (const c of this.#clusters.values()) clusters[c.state]++;
    return { clusters, queued: this.#queue.length, running: this.#runs.size };
  }

  // ---- events ----

  /** Stored events after `after`, and live ones from now on via cb; returns them and an unsubscribe function. */
  subscribe(id: string, after: number, cb: (e: AttemptEvent) => void): { replay: AttemptEvent[]; unsubscribe: () => void } {
    let set = this.#listeners.get(id);
    if (!set) this.#listeners.set(id, (set = new Set()));
    set.add(cb);
    const replay = this.#o.repo.events(id, after);
    return {
      replay,
      unsubscribe: () => {
        set.delete(cb);
        if (!set.size) this.#listeners.delete(id);
      },
    };
  }

  #emit(id: string, e: Omit<AttemptEvent, 'seq' | 'at'>): void {
    const seq = (this.#seq.get(id) ?? this.#o.repo.lastSeq(id)) + 1;
    this.#seq.set(id, seq);
    const event: AttemptEvent = { seq, at: this.#iso(), ...e };
    this.#o.repo.addEvent(id, event);
    for (const l of this.#listeners.get(id) ?? []) l(event);
  }

  #sinceStart(id: string): number {
    const a = this.#o.repo.get(id);
    return a ? this.#now() - Date.parse(a.createdAt) : 0;
  }

  /** A step sink that records the attempt's steps with their elapsed times. */
  #sink(id: string): StepSink {
    let started = this.#stepStarted.get(id);
    if (!started) this.#stepStarted.set(id, (started = new Map()));
    const s = started;
    return (e: StepEvent) => {
      const now = this.#now();
      if (e.status === 'running') s.set(e.step, now);
      const elapsedMs = now - (s.get(e.step) ?? now);
      this.#emit(id, { type: 'step', name: e.step, state: e.status, elapsedMs, position: null, output: e.output ?? null });
    };
  }

  #setStatus(id: string, status: AttemptStatus, fields: Partial<Attempt> = {}, output: string | null = null): void {
    this.#o.repo.update(id, { status, updatedAt: this.#iso(), ...fields });
    this.#emit(id, { type: 'status', name: status, state: null, elapsedMs: this.#sinceStart(id), position: null, output });
    for (const cb of this.#statusListeners) {
      try {
        cb(id, status);
      } catch (e) {
        this.#o.log.warn(`attempts: an onStatus listener failed: ${errorMessage(e)}`);
      }
    }
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

  #notifyEnded(id: string): void {
    this.#stepStarted.delete(id);
    this.#seq.delete(id);
    this.#activity.delete(id);
    this.#positions.delete(id);
    for (const cb of this.#ended) {
      try {
        cb(id);
      } catch (e) {
        this.#o.log.warn(`attempts: an onEnded listener failed: ${errorMessage(e)}`);
      }
    }
  }

  // ---- starting ----

  /** Starts an attempt of the lab (queued until capacity allows), or returns the learner's running attempt of it. */
  start(learnerId: string, labId: string): { attempt: AttemptView; created: boolean } {
    if (this.#closed) throw new AppError(503, 'shutting_down', 'the server is shutting down');
    const lab = this.#o.labs.get(labId);
    if (!lab) throw notFound('lab', labId);
    const running = this.#o.repo.forLearner(learnerId).find((a) => a.labId === labId && !ENDED.has(a.status));
    if (running) return { attempt: this.#view(running), created: false };
    return { attempt: this.#enqueue({ learnerId, labId, shape: shapeKey(lab.meta.cluster), kubernetes: lab.meta.kubernetes, examAttemptId: null, setupLabs: null, params: drawForLabs([lab]) }), created: true };
  }

  // ---- exam clusters: one cluster of an exam attempt, with several labs' setups ----

  /**
   * Queues one cluster of an exam attempt: a cluster of the shape with the setups of the given labs.
   * An exam attempt's clusters count as one running attempt for clusters.perLearner; its lifetime is the exam's (the
   * reaper leaves it alone), and the exam ends it with finish().
   */
  startCluster(learnerId: string, spec: { examAttemptId: string; label: string; shape: string; kubernetes: string; labIds: readonly string[]; params?: Record<string, ParamValues> | null }): AttemptView {
    if (this.#closed) throw new AppError(503, 'shutting_down', 'the server is shutting down');
    for (const id of spec.labIds) if (!this.#o.labs.get(id)) throw notFound('lab', id);
    return this.#enqueue({ learnerId, labId: spec.label, shape: spec.shape, kubernetes: spec.kubernetes, examAttemptId: spec.examAttemptId, setupLabs: [...spec.labIds], params: spec.params ?? drawForLabs(spec.labIds.map((id) => this.#o.labs.get(id))) });
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
    this.#emit(attempt.id, { type: 'status', name: 'queued', state: null, elapsedMs: 0, position: null, output: null });
    this.#queue.push(attempt.id);
    this.#pump();
    return this.get(attempt.id)!;
  }

  #slotsUsed(): number {
    return this.#clusters.size;
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
      const warm = [...this.#clusters.values()].find((c) => c.state === 'warm' && c.shape === a.shape);
      if (warm) {
        warm.state = 'claimed';
        warm.attemptId = id;
        this.#saveCluster(warm);
        this.#dispatch(a, warm);
        continue;
      }
      if (this.#slotsUsed() < this.#o.clusters.maxConcurrent) {
        const c: OwnedCluster = { name: this.#o.driver.newName(), shape: a.shape, state: 'creating', attemptId: id, info: undefined, createdAt: this.#iso() };
        this.#clusters.set(c.name, c);
        this.#saveCluster(c);
        this.#dispatch(a, c);
        continue;
      }
      // Full: a warm cluster of another shape makes room for a learner who is waiting.
      this.#waitingForSlot = true;
      const spare = [...this.#clusters.values()].find((c) => c.state === 'warm' && c.shape !== a.shape);
      if (spare) this.#release(spare.name, 'evicted from the warm pool for a queued attempt');
    }
    for (const [i, id] of this.#queue.entries()) {
      if (this.#positions.get(id) !== i + 1) {
        this.#positions.set(id, i + 1);
        this.#emit(id, { type: 'queue', name: 'queued', state: null, elapsedMs: this.#sinceStart(id), position: i + 1, output: null });
      }
    }
    this.#fillPool();
  }

  #dispatch(a: Attempt, cluster: OwnedCluster): void {
    this.#queue.splice(this.#queue.indexOf(a.id), 1);
    this.#positions.delete(a.id);
    const abort = new AbortController();
    const done = this.#run(a, cluster, abort.signal).finally(() => this.#runs.delete(a.id));
    this.#runs.set(a.id, { abort, done });
    this.#bg(done);
  }

  async #run(a: Attempt, cluster: OwnedCluster, signal: AbortSignal): Promise<void> {
    const sink = this.#sink(a.id);
    const labIds = a.setupLabs ?? [a.labId];
    // A parametrised lab is set up as the attempt's draw made it.
    const labs = labIds.map((id) => this.#o.labs.forAttempt(id, a.params));
    try {
      const gone = labIds.filter((_, i) => !labs[i]);
      if (gone.length) throw new ProvisionError('Preparing', `lab "${gone.join('", "')}" is no longer in the catalog`);
      const images = [...new Set(labs.flatMap((l) => l!.meta.images))];
      const cold = cluster.state === 'creating';
      if (cold) {
        this.#setStatus(a.id, 'provisioning', { clusterName: cluster.name });
        cluster.info = await this.#prepareCluster(cluster, sink, signal, images);
        cluster.state = 'claimed';
        this.#saveCluster(cluster);
        signal.throwIfAborted();
        this.#setStatus(a.id, 'setting-up');
      } else {
        sink({ step: WARM_STEP, status: 'running' });
        this.#setStatus(a.id, 'setting-up', { clusterName: cluster.name });
        sink({ step: WARM_STEP, status: 'done' });
      }
      const info = cluster.info!;
      // Clusters adopted after a restart come back without their node list; readiness reads kube-proxy's rules on each node.
      if (!info.nodes.length) info.nodes = await this.#o.driver.nodes(info.name);
      // A new cluster got the labs' images while kind was still starting it, a warm one when it was
      // made; only images it may lack (a lab added since, a cluster adopted after a restart) are checked.
      if (images.some((i) => !cluster.images?.has(i))) {
        await step('Loading lab images', sink, () => this.#o.driver.preloadImages(info.name, images, signal));
      }
      // Several labs on one cluster (an exam): their setups go on at once (exam.yaml's linter refuses
      // labs that touch the same things), each step named by its lab; the first failure stops the rest.
      const together = new AbortController();
      const stop = () => together.abort();
      signal.addEventListener('abort', stop, { once: true });
      try {
        await Promise.all(
          labs.map((lab) =>
            applyLabSetup(
              { dir: lab!.dir, setupManifests: lab!.files.setupManifests, setupScript: lab!.files.setupScript, nodeScripts: lab!.files.setupNodeScripts, ...(lab!.meta.broken ? { broken: lab!.meta.broken } : {}) },
              info,
              { port: this.#o.portFor(info.kubeconfigPath), runner: this.#o.runner, nodeExec: (node, argv, opts) => execOnKindNode(this.#o.runner, info.name, node, argv, opts) },
              labs.length > 1 ? (e) => sink({ ...e, step: `${lab!.id}: ${e.step}` }) : sink,
              { timeoutMs: this.#o.clusters.setupTimeoutMinutes * 60_000, signal: together.signal, ...(this.#o.setupPollMs ? { pollMs: this.#o.setupPollMs } : {}) },
            ).catch((e: unknown) => {
              together.abort();
              throw e;
            }),
          ),
        );
      } finally {
        signal.removeEventListener('abort', stop);
      }
      signal.throwIfAborted();
      const now = this.#now();
      this.#setStatus(a.id, 'ready', { readyAt: this.#iso(now), expiresAt: this.#iso(now + this.#o.clusters.attemptMinutes * 60_000), lastActivityAt: this.#iso(now) });
      this.#activity.set(a.id, { at: now, persisted: now });
    } catch (e) {
      if (signal.aborted) return; // finished (or shut down) while being prepared; finish() cleans up
      const err = e instanceof ProvisionError ? e : new ProvisionError('Preparing', errorMessage(e).split('\n')[0]!, errorMessage(e));
      this.#o.log.warn(`attempt ${a.id} (${a.labId}) failed at "${err.step}": ${err.message}`);
      this.#setStatus(a.id, 'failed', { endedAt: this.#iso(), endReason: 'failed', failureStep: err.step, failureMessage: err.message, failureOutput: err.output || null }, err.output || null);
      this.#releaseFor(a.id);
      this.#notifyEnded(a.id);
      this.#pump();
    }
  }

  /**
   * Creates a cluster of the shape with the given images loaded and, for NetworkPolicy shapes, makes
   * policies enforced, then installs its add-ons. Images go into the node containers while kind is still starting Kubernetes
   * (loading needs only containerd), so that wait hides most of the loading.
   */
  async #prepareCluster(cluster: OwnedCluster, sink: StepSink, signal: AbortSignal, images: readonly string[] = []): Promise<ClusterInfo> {
    const shape = shapeFromKey(cluster.shape);
    const wanted = [...new Set([...images, ...(shape.networkPolicy ? [SELFTEST_IMAGE, ...(await fallbackImages())] : [])])];
    let early: Promise<unknown> | undefined;
    const loadEarly = () => {
      // A node whose containerd is not up yet makes this fail; the load after the create does it then.
      early ??= this.#o.driver.preloadImages(cluster.name, wanted, signal).catch(() => undefined);
    };
    const info = await this.#o.driver.create(cluster.name, shape, sink, signal, wanted.length ? { onNodesCreated: loadEarly } : {});
    try {
      if (wanted.length) {
        await step('Loading lab images', sink, async () => {
          await early;
          const r = await this.#o.driver.preloadImages(info.name, wanted, signal);
          cluster.images = new Set([...r.loaded, ...r.present]);
        });
      }
      if (shape.networkPolicy) {
        const preload = (imgs: string[]) => this.#o.driver.preloadImages(info.name, imgs, signal);
        const check =
          this.#o.verifyNetworkPolicy ?? ((c, port, onStep, s) => enforceNetworkPolicy(c, { port, runner: this.#o.runner, preload, ...this.#verdicts() }, onStep, s));
        await check(info, this.#o.portFor(info.kubeconfigPath), sink, signal);
      }
      if (shape.addons.length) {
        const preload = (imgs: string[]) => this.#o.driver.preloadImages(info.name, imgs, signal);
        const install = this.#o.installAddons ?? ((c, addons, port, onStep, s) => installAddons(c, addons, { port, runner: this.#o.runner, preload }, onStep, s));
        await install(info, shape.addons, this.#o.portFor(info.kubeconfigPath), sink, signal);
      }
    } catch (e) {
      await this.#o.driver.delete(info.name).catch(() => {});
      throw e;
    }
    return info;
  }

  /** The remembered self-test verdict for this node image on this host, read and written through the store. */
  #verdicts(): { verdicts?: { get(): Promise<'kindnet' | 'kube-router' | undefined>; remember(v: 'kindnet' | 'kube-router'): Promise<void> } } {
    const store = this.#o.netpolVerdicts;
    if (!store) return {};
    const facts = netpolFacts(this.#o.runner, this.#o.driver.nodeImage, KUBE_ROUTER_MANIFEST);
    facts.catch(() => {});
    return { verdicts: { get: async () => store.get(await facts), remember: async (v) => store.remember(await facts, v) } };
  }

  // ---- warm pool ----

  /** How many warm clusters to keep per shape: clusters.poolShapes (shape[:count]) or every shape a lab uses. */
  #poolTargets(): Map<string, number> {
    const { poolSize, poolShapes } = this.#o.clusters;
    if (poolShapes.length) {
      return new Map(
        poolShapes.map((entry) => {
          const [shape, count] = entry.split(':');
          return [shape!, count === undefined ? poolSize : Number(count)];
        }),
      );
    }
    if (poolSize <= 0) return new Map();
    const shapes = [...this.#o.labs.current.labs.map((l) => shapeKey(l.meta.cluster)), ...(this.#o.extraPoolShapes?.() ?? [])];
    return new Map([...new Set(shapes)].sort().map((s) => [s, poolSize]));
  }

  #fillPool(): void {
    if (this.#closed || this.#waitingForSlot || this.#now() < this.#poolPausedUntil) return;
    for (const [shape, target] of this.#poolTargets()) {
      let have = [...this.#clusters.values()].filter((c) => c.shape === shape && (c.state === 'warm' || (c.state === 'creating' && !c.attemptId))).length;
      while (have < target && this.#slotsUsed() < this.#o.clusters.maxConcurrent) {
        const c: OwnedCluster = { name: this.#o.driver.newName(), shape, state: 'creating', attemptId: undefined, info: undefined, createdAt: this.#iso() };
        this.#clusters.set(c.name, c);
        this.#saveCluster(c);
        this.#bg(this.#warm(c));
        have++;
      }
    }
  }

  async #warm(c: OwnedCluster): Promise<void> {
    const abort = new AbortController();
    this.#poolAborts.add(abort);
    try {
      // The images of every lab of this shape go in now, so a claim only has setup left to do.
      const images = [...new Set([...this.#o.labs.current.labs.filter((l) => shapeKey(l.meta.cluster) === c.shape).flatMap((l) => l.meta.images), ...(this.#o.extraPoolImages?.(c.shape) ?? [])])];
      c.info = await this.#prepareCluster(c, () => {}, abort.signal, images);
      if (c.state === 'creating') {
        c.state = 'warm';
        this.#saveCluster(c);
        this.#o.log.info(`warm cluster ${c.name} (${c.shape}) is ready`);
      }
    } catch (e) {
      if (!abort.signal.aborted) {
        this.#o.log.warn(`warm cluster ${c.name} (${c.shape}) could not be created: ${errorMessage(e).split('\n')[0]}`);
        this.#poolPausedUntil = this.#now() + (this.#o.poolRetryMs ?? 60_000);
      }
      this.#clusters.delete(c.name);
      this.#o.repo.deleteCluster(c.name);
    } finally {
      this.#poolAborts.delete(abort);
    }
    this.#pump();
  }

  #saveCluster(c: OwnedCluster): void {
    if (c.state === 'deleting') return;
    this.#o.repo.saveCluster({ name: c.name, shape: c.shape, state: c.state, attemptId: c.attemptId ?? null, createdAt: c.createdAt });
  }

  /** Deletes the attempt's cluster (after its preparation stopped). */
  #releaseFor(attemptId: string): void {
    for (const c of this.#clusters.values()) if (c.attemptId === attemptId && c.state !== 'deleting') this.#release(c.name, `attempt ${attemptId} ended`);
  }

  #release(name: string, why: string): void {
    const c = this.#clusters.get(name);
    if (!c || c.state === 'deleting') return;
    const run = c.attemptId ? this.#runs.get(c.attemptId) : undefined;
    c.state = 'deleting';
    this.#o.repo.deleteCluster(name);
    this.#bg(
      (async () => {
        await run?.done.catch(() => {});
        try {
          await this.#o.driver.delete(name);
          this.#o.log.info(`deleted cluster ${name}: ${why}`);
        } catch (e) {
          this.#o.log.error(`deleting cluster ${name} failed (the next start-up removes it): ${errorMessage(e).split('\n')[0]}`);
        } finally {
          this.#clusters.delete(name);
          this.#pump();
        }
      })(),
    );
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
    this.#releaseFor(id);
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
    if (a.status !== 'ready' || !a.clusterName) throw new AppError(409, 'attempt_not_ready', `this attempt is ${a.status}; checks run once it is ready`, { status: a.status });
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
  async reconcile(): Promise<{ adopted: string[]; deleted: string[]; failed: string[] }> {
    const onHost = new Set(await this.#o.driver.list());
    const out = { adopted: [] as string[], deleted: [] as string[], failed: [] as string[] };
    const keep = new Set<string>();
    const rows = new Map(this.#o.repo.clusters().map((r) => [r.name, r]));
    for (const a of this.#o.repo.active()) {
      if (a.status === 'queued') {
        if (!this.#queue.includes(a.id)) this.#queue.push(a.id);
        continue;
      }
      const exists = a.clusterName !== null && onHost.has(a.clusterName);
      if ((a.status === 'ready' || a.status === 'grading') && exists) {
        const name = a.clusterName!;
        const p = this.#o.driver.paths(name);
        this.#clusters.set(name, { name, shape: a.shape, state: 'claimed', attemptId: a.id, info: { name, kubeconfigPath: p.kubeconfig, internalKubeconfigPath: p.internalKubeconfig, nodes: [] }, createdAt: rows.get(name)?.createdAt ?? a.createdAt });
        this.#saveCluster(this.#clusters.get(name)!);
        keep.add(name);
        if (a.status === 'grading') this.#setStatus(a.id, 'ready');
        out.adopted.push(name);
        continue;
      }
      const reason =
        a.status === 'ready' || a.status === 'grading'
          ? `its cluster ${a.clusterName ?? ''} no longer exists (deleted outside kubedrill, or the host restarted)`
          : 'the server stopped while this attempt was being prepared; start the lab again';
      this.#o.repo.update(a.id, { status: 'failed', updatedAt: this.#iso(), endedAt: this.#iso(), endReason: 'failed', failureStep: 'Reconcile', failureMessage: reason });
      this.#emit(a.id, { type: 'status', name: 'failed', state: null, elapsedMs: this.#sinceStart(a.id), position: null, output: reason });
      out.failed.push(a.id);
    }
    for (const r of rows.values()) {
      if (keep.has(r.name)) continue;
      if (r.state === 'warm' && onHost.has(r.name)) {
        const p = this.#o.driver.paths(r.name);
        this.#clusters.set(r.name, { name: r.name, shape: r.shape, state: 'warm', attemptId: undefined, info: { name: r.name, kubeconfigPath: p.kubeconfig, internalKubeconfigPath: p.internalKubeconfig, nodes: [] }, createdAt: r.createdAt });
        keep.add(r.name);
        out.adopted.push(r.name);
      } else this.#o.repo.deleteCluster(r.name);
    }
    await Promise.all(
      [...onHost]
        .filter((n) => !keep.has(n))
        .map(async (name) => {
          try {
            await this.#o.driver.delete(name);
            out.deleted.push(name);
          } catch (e) {
            this.#o.log.error(`reconcile: deleting leftover cluster ${name} failed: ${errorMessage(e).split('\n')[0]}`);
          }
        }),
    );
    this.#pump();
    return out;
  }

  /** Shutdown: stops the reaper and in-flight preparations; ready clusters stay for the next start-up to adopt. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reaper) clearInterval(this.#reaper);
    for (const r of this.#runs.values()) r.abort.abort();
    for (const a of this.#poolAborts) a.abort();
    await Promise.race([this.idle(), new Promise((r) => setTimeout(r, 8000).unref())]);
  }
}
