import { tmpdir } from 'node:os';
import path from 'node:path';
import { MdxCompiler } from './bundle.ts';
import { loadCatalog, type Catalog, type Lab } from './loader.ts';
import { loadScenarios } from './scenarios.ts';
import { labForAttempt, type ParamValues } from './params.ts';

/** Holds the loaded lab catalog; reload() re-reads the labs folder and the scenario folders (unchanged labs come from the MDX cache). */
export class LabCatalog {
  readonly labsDir: string;
  /** Folders of Killercoda scenarios, read as labs beside labsDir. */
  readonly scenariosDirs: readonly string[];
  readonly compiler: MdxCompiler;
  /** Where a parametrised lab's folder is copied with one draw's values (see instantiateLab). */
  readonly variantsDir: string;
  #catalog: Catalog = { tracks: [], labs: [], broken: [], problems: [] };
  #byId = new Map<string, Lab>();
  loadedAt: Date | undefined;
  loadMs = 0;

  constructor(labsDir: string, cacheDir?: string, scenariosDirs: readonly string[] = []) {
    this.labsDir = labsDir;
    this.scenariosDirs = scenariosDirs;
    this.compiler = new MdxCompiler(cacheDir ? path.join(cacheDir, 'mdx') : undefined);
    this.variantsDir = cacheDir ? path.join(cacheDir, 'variants') : path.join(tmpdir(), `kubedrill-variants-${process.getuid?.() ?? 'user'}`);
  }

  /** Loads (or reloads) every lab; never throws for a broken lab. */
  async reload(): Promise<Catalog> {
    const started = performance.now();
    const catalog = await loadCatalog(this.labsDir, this.compiler);
    for (const dir of this.scenariosDirs) mergeCatalog(catalog, await loadScenarios(dir, this.compiler));
    this.#catalog = catalog;
    this.#byId = new Map(catalog.labs.map((l) => [l.id, l]));
    this.loadedAt = new Date();
    this.loadMs = performance.now() - started;
    return catalog;
  }

  get current(): Catalog {
    return this.#catalog;
  }

  get(id: string): Lab | undefined {
    return this.#byId.get(id);
  }

  /**
   * The lab as an attempt sees it: with the attempt's drawn values when the lab has params (its
   * front matter re-read and its files copied with the values in), the catalog's lab otherwise.
   * `params` is the attempt's map of lab id → values.
   */
  forAttempt(id: string, params: Readonly<Record<string, ParamValues>> | null | undefined): Lab | undefined {
    const lab = this.#byId.get(id);
    return lab && labForAttempt(lab, params, this.variantsDir);
  }
}

/** Adds another source's tracks and labs; a lab id already taken makes the newcomer a broken lab saying so. */
export function mergeCatalog(into: Catalog, more: Catalog): void {
  const ids = new Set([...into.labs, ...into.broken].map((l) => l.id));
  for (const t of more.tracks) if (!into.tracks.some((x) => x.id === t.id)) into.tracks.push(t);
  for (const l of more.labs) {
    if (ids.has(l.id))
      into.broken.push({
        id: l.id,
        track: l.track,
        dir: l.dir,
        title: l.meta.title,
        problems: [{ file: l.dir, line: 1, col: 1, severity: 'error', message: `lab id "${l.id}" is used twice (two scenario folders with the same path?)` }],
      });
    else {
      into.labs.push(l);
      ids.add(l.id);
    }
  }
  into.broken.push(...more.broken);
  into.problems.push(...more.problems);
}
