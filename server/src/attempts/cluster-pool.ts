import { errorMessage } from '../errors.ts';
import { shapeFromKey, shapeKey } from '../provisioner/kind-config.ts';
import type { ClusterInfo } from '../provisioner/kind-driver.ts';
import { runPlan } from '../provisioner/pipeline.ts';
import type { StepSink } from '../provisioner/steps.ts';
import { planAttempt, planTimeouts } from './attempt-plan.ts';
import { provisionWork } from './provision-steps.ts';
import type { AttemptServiceOptions } from './attempt-service.ts';
import type { Preset } from './preset-pool.ts';

/** A cluster this server owns, in memory: being created, warm in the pool, claimed by an attempt, or being deleted. */
export interface OwnedCluster {
  name: string;
  shape: string;
  state: 'creating' | 'warm' | 'claimed' | 'deleting';
  attemptId: string | undefined;
  info: ClusterInfo | undefined;
  createdAt: string;
  /** Images known to be in every node (loaded when the cluster was made); unknown after a restart. */
  images?: ReadonlySet<string>;
  /** A pre-set-up cluster: the lab setup(s) it has (or is getting) already; never handed to another lab. */
  preset?: Preset;
}

/** What the pool needs from the attempt service that owns it. */
export interface ClusterPoolHooks {
  now: () => number;
  /** Runs work in the background (tracked, so idle() and close() can wait for it). */
  background: (p: Promise<unknown>) => void;
  /** Resolves when the attempt's preparation has stopped (a cluster is deleted only after). */
  runDone: (attemptId: string) => Promise<void> | undefined;
  /** A cluster became warm, failed or was deleted: queued attempts may move. */
  changed: () => void;
  /** A cluster is about to be deleted (what was made for it ahead, such as a spare workstation, goes too). */
  released?: (c: OwnedCluster) => void;
}

/**
 * The clusters this server owns and its warm pool: creates and prepares clusters of a shape (images,
 * NetworkPolicy enforcement, add-ons), keeps the pool topped up per shape, and deletes clusters.
 */
export class ClusterPool {
  readonly #o: AttemptServiceOptions;
  readonly #h: ClusterPoolHooks;
  readonly #clusters = new Map<string, OwnedCluster>();
  /** Cancels warm clusters still being created (at shutdown). */
  readonly #aborts = new Set<AbortController>();
  #pausedUntil = 0;

  constructor(o: AttemptServiceOptions, hooks: ClusterPoolHooks) {
    this.#o = o;
    this.#h = hooks;
  }

  #iso(ms = this.#h.now()): string {
    return new Date(ms).toISOString();
  }

  /** Every owned cluster, whatever its state. */
  all(): OwnedCluster[] {
    return [...this.#clusters.values()];
  }

  /** How many clusters count against clusters.maxConcurrent (all of them, deleting ones included). */
  get slotsUsed(): number {
    return this.#clusters.size;
  }

  /** A warm cluster of the shape with no lab's setup on it, if any. */
  warmOf(shape: string): OwnedCluster | undefined {
    return this.all().find((c) => c.state === 'warm' && c.shape === shape && !c.preset);
  }

  /** Cluster counts by state, for health and benchmarks. */
  stats(): Record<OwnedCluster['state'], number> {
    const clusters = { creating: 0, warm: 0, claimed: 0, deleting: 0 };
    for (const c of this.#clusters.values()) clusters[c.state]++;
    return clusters;
  }

  /** Hands a warm cluster to an attempt. */
  claim(c: OwnedCluster, attemptId: string): void {
    c.state = 'claimed';
    c.attemptId = attemptId;
    this.save(c);
  }

  /** A new cluster of the shape, being created for the attempt (or for the pool without one). */
  reserve(shape: string, attemptId: string | undefined): OwnedCluster {
    const c: OwnedCluster = { name: this.#o.driver.newName(), shape, state: 'creating', attemptId, info: undefined, createdAt: this.#iso() };
    this.#clusters.set(c.name, c);
    this.save(c);
    return c;
  }

  /** Takes a cluster found on the host at start-up back into the pool's books. */
  adopt(c: OwnedCluster): void {
    this.#clusters.set(c.name, c);
  }

  /** Persists the cluster's row (its state survives a restart); deleting clusters have no row. */
  save(c: OwnedCluster): void {
    if (c.state === 'deleting') return;
    this.#o.repo.saveCluster({ name: c.name, shape: c.shape, state: c.state, attemptId: c.attemptId ?? null, createdAt: c.createdAt });
  }

  /**
   * Makes a new cluster of its shape ready for the pool: the cluster steps of the declared plan
   * (create, images, NetworkPolicy enforcement, add-ons; see attempt-plan.ts), run by the one runner.
   * A cluster that fails half-way is deleted.
   */
  async prepare(cluster: OwnedCluster, sink: StepSink, signal: AbortSignal, images: readonly string[] = []): Promise<ClusterInfo> {
    const shape = shapeFromKey(cluster.shape);
    const plan = planAttempt({ shape, cluster: { warm: false }, images, labs: [], timeouts: planTimeouts(this.#o.clusters) });
    const p = provisionWork(this.#o, { cluster, shape, warm: false, images, labs: [] });
    try {
      await runPlan(plan, p.work, sink, signal);
    } catch (e) {
      const made = p.info();
      if (made) await this.#o.driver.delete(made.name).catch(() => {});
      throw e;
    }
    return p.info()!;
  }

  /** How many warm clusters to keep per shape: clusters.poolShapes (shape[:count]) or every shape a lab uses. */
  #targets(): Map<string, number> {
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

  /** Starts warm clusters until every shape has its target (within clusters.maxConcurrent); paused a while after a failed one. */
  fill(): void {
    if (this.#h.now() < this.#pausedUntil) return;
    for (const [shape, target] of this.#targets()) {
      let have = this.all().filter((c) => c.shape === shape && !c.preset && (c.state === 'warm' || (c.state === 'creating' && !c.attemptId))).length;
      while (have < target && this.slotsUsed < this.#o.clusters.maxConcurrent) {
        const c = this.reserve(shape, undefined);
        this.#h.background(this.#warm(c));
        have++;
      }
    }
  }

  async #warm(c: OwnedCluster): Promise<void> {
    const abort = new AbortController();
    this.#aborts.add(abort);
    try {
      // The images of every lab of this shape go in now, so a claim only has setup left to do.
      const images = [
        ...new Set([
          ...this.#o.labs.current.labs.filter((l) => shapeKey(l.meta.cluster) === c.shape).flatMap((l) => l.meta.images),
          ...(this.#o.extraPoolImages?.(c.shape) ?? []),
        ]),
      ];
      c.info = await this.prepare(c, () => {}, abort.signal, images);
      if (c.state === 'creating') {
        c.state = 'warm';
        this.save(c);
        this.#o.log.info({ cluster: c.name, shape: c.shape }, 'warm cluster is ready');
      }
    } catch (e) {
      if (!abort.signal.aborted) {
        this.#o.log.warn({ cluster: c.name, shape: c.shape, error: errorMessage(e).split('\n')[0] }, 'warm cluster could not be created');
        this.#pausedUntil = this.#h.now() + (this.#o.poolRetryMs ?? 60_000);
      }
      this.#clusters.delete(c.name);
      this.#o.repo.deleteCluster(c.name);
    } finally {
      this.#aborts.delete(abort);
    }
    this.#h.changed();
  }

  /** Deletes the attempt's cluster (after its preparation stopped). */
  releaseFor(attemptId: string): void {
    for (const c of this.#clusters.values()) if (c.attemptId === attemptId && c.state !== 'deleting') this.release(c.name, `attempt ${attemptId} ended`);
  }

  /** Deletes a cluster in the background; it counts against the cap until it is gone. */
  release(name: string, why: string): void {
    const c = this.#clusters.get(name);
    if (!c || c.state === 'deleting') return;
    const run = c.attemptId ? this.#h.runDone(c.attemptId) : undefined;
    this.#h.released?.(c);
    c.state = 'deleting';
    this.#o.repo.deleteCluster(name);
    this.#h.background(
      (async () => {
        await run?.catch(() => {});
        try {
          await this.#o.driver.delete(name);
          this.#o.log.info({ cluster: name, reason: why }, 'deleted cluster');
        } catch (e) {
          this.#o.log.error({ cluster: name, error: errorMessage(e).split('\n')[0] }, 'deleting cluster failed (the next start-up removes it)');
        } finally {
          this.#clusters.delete(name);
          this.#h.changed();
        }
      })(),
    );
  }

  /** Shutdown: cancels warm clusters still being created. */
  abortWarming(): void {
    for (const a of this.#aborts) a.abort();
  }
}
