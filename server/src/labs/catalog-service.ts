import path from 'node:path';
import { MdxCompiler } from './bundle.ts';
import { loadCatalog, type Catalog, type Lab } from './loader.ts';

/** Holds the loaded lab catalog; reload() re-reads the labs folder (unchanged labs come from the MDX cache). */
export class LabCatalog {
  readonly labsDir: string;
  readonly compiler: MdxCompiler;
  #catalog: Catalog = { tracks: [], labs: [], broken: [], problems: [] };
  #byId = new Map<string, Lab>();
  loadedAt: Date | undefined;
  loadMs = 0;

  constructor(labsDir: string, cacheDir?: string) {
    this.labsDir = labsDir;
    this.compiler = new MdxCompiler(cacheDir ? path.join(cacheDir, 'mdx') : undefined);
  }

  /** Loads (or reloads) every lab; never throws for a broken lab. */
  async reload(): Promise<Catalog> {
    const started = performance.now();
    const catalog = await loadCatalog(this.labsDir, this.compiler);
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
}
