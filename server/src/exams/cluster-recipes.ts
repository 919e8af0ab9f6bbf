import { shapeKey } from '../provisioner/kind-config.ts';
import type { Exam } from './loader.ts';

/** One cluster of an exam as Start makes it: its label (the cluster attempt's lab id), shape and the labs set up on it. */
export interface ExamClusterRecipe {
  /** `exam:<exam>/<cluster>`; also the key of its pre-set-up clusters. */
  key: string;
  context: string;
  shape: string;
  kubernetes: string;
  labIds: string[];
}

/** The clusters an exam's Start provisions, in exam.yaml's order (clusters no task uses are left out). */
export function examClusterRecipes(exam: Pick<Exam, 'id' | 'clusters' | 'tasks' | 'kubernetes'>): ExamClusterRecipe[] {
  return exam.clusters
    .map((c) => ({ key: `exam:${exam.id}/${c.name}`, context: c.name, shape: shapeKey(c), kubernetes: exam.kubernetes, labIds: [...new Set(exam.tasks.filter((t) => t.cluster === c.name).map((t) => t.labId))] }))
    .filter((r) => r.labIds.length > 0);
}
