import os from 'node:os';
import { errorMessage } from '../errors.ts';
import type { Lab } from '../labs/loader.ts';
import { drawForLabs, type ParamValues } from '../labs/params.ts';
import { shapeFromKey, shapeKey } from '../provisioner/kind-config.ts';
import type { Attempt } from './attempt-repository.ts';
import type { AttemptServiceOptions } from './attempt-service.ts';
import type { ClusterPool, OwnedCluster } from './cluster-pool.ts';
import { applyLabSetups } from './lab-setups.ts';

/** Rough memory one kind node needs with a lab's workloads (the doctor sizes hosts by the same figure). */
export const MEM_PER_NODE = 1.2 * 1024 ** 3;

/** What a pre-set-up cluster already has on it; stored beside its row so a restart adopts it only for the same setup. */
export interface Preset {
  /** The lab id, or an exam cluster's label (`exam:<exam>/<cluster>`): the attempt's labId that may claim it. */
  key: string;
  labIds: string[];
  /** The labs' hashes when their setups were applied: a changed lab no longer matches. */
  hashes: string[];
  /** The draw the setups were applied with (only these labs'); the learner who claims the cluster gets it. */
  params: Record<string, ParamValues> | null;
  kubernetes: string;
  /** Setups applied and waited for. */
  ready: boolean;
}

/** A recipe for a pre-set-up cluster: which labs' setups on which shape. */
export interface PresetRecipe {
  key: string;
  shape: string;
  kubernetes: string;
  labIds: readonly string[];
}

/** One line of the pre-set-up pool's status, for the operator (admin health). */
export interface PresetStatus {
  key: string;
  shape: string;
  /** config: clusters.presetLabs; demand: among the clusters.presetRecent labs started last. */
  source: 'config' | 'demand' | 'config+demand';
  wanted: number;
  ready: number;
  settingUp: number;
  /** Why this one is not kept pre-set-up, if it is not. */
  excluded?: string;
}

export interface PresetPoolOptions {
  /** The clusters of an exam (labels, shapes, labs), for exam:<id> in clusters.presetLabs. */
  examClusters?: (examId: string) => readonly PresetRecipe[] | undefined;
  /** Free memory on the host now (default: the OS's figure); no cluster is pre-set-up below its nodes' need. */
  freeMemBytes?: () => number;
}

type Target = { recipe: PresetRecipe; count: number; source: PresetStatus['source']; excluded?: string };

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const pick = (params: Record<string, ParamValues> | null, labIds: readonly string[]): string =>
  JSON.stringify(Object.fromEntries(labIds.filter((id) => params?.[id]).map((id) => [id, params![id]])));

/**
 * Warm clusters with a lab's setup already applied and waited for, so Start of that lab only assigns
 * the cluster. Which labs: clusters.presetLabs (the operator) and the clusters.presetRecent labs or
 * exam clusters started last (demand). Each cluster counts against clusters.maxConcurrent like any, is
 * started only while the host has memory for its nodes, is refilled after a claim, and is handed only
 * to an attempt of the same lab(s), lab files, Kubernetes version and parameter draw.
 */
export class PresetPool {
  readonly #o: AttemptServiceOptions & PresetPoolOptions;
  readonly #pool: ClusterPool;
  readonly #h: { now: () => number; background: (p: Promise<unknown>) => void; changed: () => void };
  readonly #aborts = new Set<AbortController>();
  readonly #pausedUntil = new Map<string, number>();
  readonly #warned = new Set<string>();

  constructor(
    o: AttemptServiceOptions & PresetPoolOptions,
    pool: ClusterPool,
    hooks: { now: () => number; background: (p: Promise<unknown>) => void; changed: () => void },
  ) {
    this.#o = o;
    this.#pool = pool;
    this.#h = hooks;
  }

  /** The recipe for a lab or an exam cluster, or why it cannot be pre-set-up. */
  #check(r: PresetRecipe): string | undefined {
    const labs = r.labIds.map((id) => this.#o.labs.get(id));
    const gone = r.labIds.filter((_, i) => !labs[i]);
    if (gone.length) return `lab "${gone.join('", "')}" is not in the catalog`;
    // A Killercoda scenario's setup runs in the learner's own workstation, which exists only once an attempt does.
    if (labs.some((l) => l!.scenarioSetup)) return "its setup runs in the learner's workstation (a Killercoda scenario), which exists only after Start";
    return undefined;
  }

  /** Labs and exam clusters to keep pre-set-up, with how many clusters each. */
  #targets(): Map<string, Target> {
    const out = new Map<string, Target>();
    const add = (recipe: PresetRecipe, count: number, source: 'config' | 'demand') => {
      const had = out.get(recipe.key);
      if (had) {
        had.count = Math.max(had.count, count);
        if (had.source !== source) had.source = 'config+demand';
        return;
      }
      const excluded = this.#check(recipe);
      out.set(recipe.key, { recipe, count, source, ...(excluded ? { excluded } : {}) });
    };
    for (const entry of this.#o.clusters.presetLabs ?? []) {
      const m = /^(exam:)?([^:]+)(?::(\d+))?$/.exec(entry);
      if (!m) continue;
      const count = m[3] === undefined ? 1 : Number(m[3]);
      if (m[1]) {
        const recipes = this.#o.examClusters?.(m[2]!);
        if (!recipes) {
          out.set(`exam:${m[2]}`, {
            recipe: { key: `exam:${m[2]}`, shape: '', kubernetes: '', labIds: [] },
            count,
            source: 'config',
            excluded: `no exam "${m[2]}" in the catalog`,
          });
          continue;
        }
        for (const r of recipes) add(r, count, 'config');
        continue;
      }
      const lab = this.#o.labs.get(m[2]!);
      if (!lab) {
        out.set(m[2]!, {
          recipe: { key: m[2]!, shape: '', kubernetes: '', labIds: [m[2]!] },
          count,
          source: 'config',
          excluded: `no lab "${m[2]}" in the catalog`,
        });
        continue;
      }
      add(labRecipe(lab), count, 'config');
    }
    const recent = this.#o.clusters.presetRecent ?? 0;
    if (recent > 0) {
      const seen = new Set<string>();
      for (const a of this.#o.repo.recentStarts(200)) {
        if (seen.size >= recent) break;
        if (seen.has(a.labId)) continue;
        seen.add(a.labId);
        add({ key: a.labId, shape: a.shape, kubernetes: a.kubernetes, labIds: a.setupLabs ?? [a.labId] }, 1, 'demand');
      }
    }
    return out;
  }

  /** Whether the preset still describes what its labs' setups are now. */
  #current(p: Preset): boolean {
    return p.labIds.every((id, i) => this.#o.labs.get(id)?.hash === p.hashes[i]);
  }

  /** A ready pre-set-up cluster for exactly this attempt (same labs, lab files, Kubernetes version and draw), if any. */
  match(a: Pick<Attempt, 'labId' | 'shape' | 'kubernetes' | 'setupLabs' | 'params'>): OwnedCluster | undefined {
    const labIds = a.setupLabs ?? [a.labId];
    return this.#pool
      .all()
      .find(
        (c) =>
          c.state === 'warm' &&
          c.preset?.ready === true &&
          c.preset.key === a.labId &&
          c.shape === a.shape &&
          c.preset.kubernetes === a.kubernetes &&
          sameList(c.preset.labIds, labIds) &&
          this.#current(c.preset) &&
          pick(c.preset.params, labIds) === pick(a.params, labIds),
      );
  }

  /**
   * The draw of a ready pre-set-up cluster for the lab (or exam cluster) and labs: Start gives it to
   * the learner, so the cluster fits their attempt; undefined when there is none.
   */
  paramsFor(key: string, labIds: readonly string[]): Record<string, ParamValues> | null | undefined {
    const c = this.#pool
      .all()
      .find((x) => x.state === 'warm' && x.preset?.ready && x.preset.key === key && sameList(x.preset.labIds, labIds) && this.#current(x.preset));
    return c ? c.preset!.params : undefined;
  }

  /** Starts pre-set-up clusters until each target has its count, within clusters.maxConcurrent and the host's free memory; drops stale ones. */
  fill(): void {
    const targets = this.#targets();
    this.#prune(targets);
    const now = this.#h.now();
    const free = this.#o.freeMemBytes ?? (() => os.freemem());
    for (const [key, t] of targets) {
      if (t.excluded) {
        if (!this.#warned.has(key)) this.#o.log.warn({ preset: key, reason: t.excluded }, 'pre-set-up pool: not kept pre-set-up');
        this.#warned.add(key);
        continue;
      }
      if (now < (this.#pausedUntil.get(key) ?? 0)) continue;
      let have = this.#pool.all().filter((c) => c.preset?.key === key && !c.attemptId && (c.state === 'warm' || c.state === 'creating')).length;
      const need = (1 + shapeFromKey(t.recipe.shape).workers) * MEM_PER_NODE;
      while (have < t.count && this.#pool.slotsUsed < this.#o.clusters.maxConcurrent) {
        if (free() < need) {
          if (!this.#warned.has(`mem:${key}`))
            this.#o.log.warn(
              { preset: key, freeGiB: Number((free() / 1024 ** 3).toFixed(1)), needGiB: Number((need / 1024 ** 3).toFixed(1)) },
              'pre-set-up pool: not setting up in advance: the host has less memory free than its nodes need',
            );
          this.#warned.add(`mem:${key}`);
          break;
        }
        this.#warned.delete(`mem:${key}`);
        this.#start(t.recipe);
        have++;
      }
    }
  }

  /** Deletes warm pre-set-up clusters no target wants any more, or whose labs changed since their setup. */
  #prune(targets: Map<string, Target>): void {
    for (const c of this.#pool.all()) {
      if (c.state !== 'warm' || !c.preset || c.attemptId) continue;
      const t = targets.get(c.preset.key);
      if (!this.#current(c.preset)) this.#pool.release(c.name, `its setup of ${c.preset.key} is out of date (the lab changed)`);
      else if (!t || t.excluded) this.#pool.release(c.name, `${c.preset.key} is no longer kept pre-set-up`);
      else {
        const extra = this.#pool.all().filter((x) => x.state === 'warm' && x.preset?.key === c.preset!.key && !x.attemptId);
        if (extra.length > t.count && extra[0] === c) this.#pool.release(c.name, `more pre-set-up clusters of ${c.preset.key} than wanted`);
      }
    }
  }

  #start(recipe: PresetRecipe): void {
    const labs = recipe.labIds.map((id) => this.#o.labs.get(id)!);
    // A fresh draw, as Start would make; the learner (or exam) that claims this cluster is given it.
    const params = drawForLabs(labs);
    const c = this.#pool.reserve(recipe.shape, undefined);
    c.preset = { key: recipe.key, labIds: [...recipe.labIds], hashes: labs.map((l) => l.hash), params, kubernetes: recipe.kubernetes, ready: false };
    this.#o.repo.savePreset(c.name, c.preset);
    this.#h.background(this.#setUp(c, c.preset));
  }

  async #setUp(c: OwnedCluster, preset: Preset): Promise<void> {
    const abort = new AbortController();
    this.#aborts.add(abort);
    const quiet = () => {};
    try {
      const labs = preset.labIds.map((id) => this.#o.labs.forAttempt(id, preset.params));
      if (labs.some((l) => !l)) throw new Error(`lab "${preset.labIds.join('", "')}" left the catalog`);
      const images = [...new Set(labs.flatMap((l) => l!.meta.images))];
      c.info = await this.#pool.prepare(c, quiet, abort.signal, images);
      abort.signal.throwIfAborted();
      await applyLabSetups(
        labs.map((l) => l!),
        c.info,
        {
          port: this.#o.portFor(c.info.kubeconfigPath),
          runner: this.#o.runner,
          timeoutMs: this.#o.clusters.setupTimeoutMinutes * 60_000,
          pollMs: this.#o.setupPollMs,
        },
        quiet,
        abort.signal,
      );
      if (c.state === 'creating') {
        preset.ready = true;
        c.state = 'warm';
        this.#pool.save(c);
        this.#o.repo.savePreset(c.name, preset);
        this.#o.log.info({ cluster: c.name, preset: preset.key }, 'pre-set-up cluster is ready');
        this.#spare(c, preset);
      }
    } catch (e) {
      if (!abort.signal.aborted) {
        this.#o.log.warn({ cluster: c.name, preset: preset.key, error: errorMessage(e).split('\n')[0] }, 'pre-set-up cluster could not be prepared');
        this.#pausedUntil.set(preset.key, this.#h.now() + (this.#o.poolRetryMs ?? 60_000));
      }
      this.#pool.release(c.name, `setting up ${preset.key} in advance stopped`);
    } finally {
      this.#aborts.delete(abort);
    }
    this.#h.changed();
  }

  /**
   * Start-up, after the clusters were reconciled: warm clusters that were pre-set-up get their
   * preset back if their labs are unchanged and the setup had finished; the others are deleted
   * (a plain warm cluster must never carry another lab's setup). Returns the names deleted.
   */
  adoptAfterRestart(): string[] {
    const rows = this.#o.repo.presets();
    const deleted: string[] = [];
    for (const c of this.#pool.all()) {
      const p = rows.get(c.name) as Preset | undefined;
      if (!p || c.state !== 'warm' || c.attemptId) continue;
      if (p.ready && this.#current(p)) {
        c.preset = p;
        this.#spare(c, p);
        continue;
      }
      c.preset = p;
      this.#pool.release(
        c.name,
        p.ready ? `its setup of ${p.key} is out of date (the lab changed while the server was down)` : `its setup of ${p.key} was interrupted by a restart`,
      );
      deleted.push(c.name);
    }
    return deleted;
  }

  /** A lab's cluster gets its workstation made ahead (an exam's clusters share the exam's one workstation). */
  #spare(c: OwnedCluster, p: Preset): void {
    if (!p.key.startsWith('exam:')) this.#o.spareWorkstations?.()?.prepare(c.name, p.kubernetes);
  }

  /** Per lab or exam cluster kept pre-set-up: wanted, ready and being set up, or why it is excluded. */
  status(): PresetStatus[] {
    const all = this.#pool.all();
    return [...this.#targets().values()].map((t) => ({
      key: t.recipe.key,
      shape: t.recipe.shape,
      source: t.source,
      wanted: t.excluded ? 0 : t.count,
      ready: all.filter((c) => c.preset?.key === t.recipe.key && c.state === 'warm').length,
      settingUp: all.filter((c) => c.preset?.key === t.recipe.key && c.state === 'creating' && !c.attemptId).length,
      ...(t.excluded ? { excluded: t.excluded } : {}),
    }));
  }

  /** Shutdown: stops setups in flight (their clusters are deleted). */
  abort(): void {
    for (const a of this.#aborts) a.abort();
  }
}

/** The recipe of a lab's own cluster. */
export function labRecipe(lab: Lab): PresetRecipe {
  return { key: lab.id, shape: shapeKey(lab.meta.cluster), kubernetes: lab.meta.kubernetes, labIds: [lab.id] };
}
