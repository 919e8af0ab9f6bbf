import type { Catalog } from '../labs/loader.ts';
import { loadExams, type Exam, type ExamCatalog } from './loader.ts';

/** Holds the loaded exams; reload() re-reads exams/ against the current labs. */
export class ExamCatalogService {
  readonly examsDir: string;
  #catalog: ExamCatalog = { exams: [], broken: [], problems: [] };
  #byId = new Map<string, Exam>();
  /** With a live lab catalog, exams are re-read whenever the labs were (POST /api/labs/reload). */
  readonly #labs: { current: Pick<Catalog, 'labs' | 'broken'>; loadedAt: Date | undefined } | undefined;
  #labsLoadedAt: Date | undefined;

  constructor(examsDir: string, labs?: { current: Pick<Catalog, 'labs' | 'broken'>; loadedAt: Date | undefined }) {
    this.examsDir = examsDir;
    this.#labs = labs;
  }

  #fresh(): void {
    if (this.#labs && this.#labs.loadedAt !== this.#labsLoadedAt) this.reload(this.#labs.current);
  }

  /** Loads (or reloads) every exam; never throws for a broken exam. */
  reload(labs: Pick<Catalog, 'labs' | 'broken'>): ExamCatalog {
    this.#labsLoadedAt = this.#labs?.loadedAt;
    this.#catalog = loadExams(this.examsDir, labs);
    this.#byId = new Map(this.#catalog.exams.map((e) => [e.id, e]));
    return this.#catalog;
  }

  get current(): ExamCatalog {
    this.#fresh();
    return this.#catalog;
  }

  get(id: string): Exam | undefined {
    this.#fresh();
    return this.#byId.get(id);
  }
}
