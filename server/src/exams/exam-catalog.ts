import type { Catalog } from '../labs/loader.ts';
import { loadExams, type Exam, type ExamCatalog } from './loader.ts';

/** Holds the loaded exams; reload() re-reads exams/ against the current labs. */
export class ExamCatalogService {
  readonly examsDir: string;
  #catalog: ExamCatalog = { exams: [], broken: [], problems: [] };
  #byId = new Map<string, Exam>();

  constructor(examsDir: string) {
    this.examsDir = examsDir;
  }

  /** Loads (or reloads) every exam; never throws for a broken exam. */
  reload(labs: Pick<Catalog, 'labs' | 'broken'>): ExamCatalog {
    this.#catalog = loadExams(this.examsDir, labs);
    this.#byId = new Map(this.#catalog.exams.map((e) => [e.id, e]));
    return this.#catalog;
  }

  get current(): ExamCatalog {
    return this.#catalog;
  }

  get(id: string): Exam | undefined {
    return this.#byId.get(id);
  }
}
