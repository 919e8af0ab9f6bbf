import type { ParamValues } from '../labs/params.ts';
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
    .map((c) => ({
      key: `exam:${exam.id}/${c.name}`,
      context: c.name,
      shape: shapeKey(c),
      kubernetes: exam.kubernetes,
      labIds: [...new Set(exam.tasks.filter((t) => t.cluster === c.name).map((t) => t.labId))],
    }))
    .filter((r) => r.labIds.length > 0);
}

/**
 * The exam's draw with the values of clusters set up in advance put in, so those clusters fit the
 * attempt (each lab keeps one draw for the whole exam): a cluster's draw is taken only when it
 * agrees with what an earlier such cluster fixed for a lab they share; otherwise that cluster is set up at Start.
 */
export function adoptPresetDraws(
  drawn: Record<string, ParamValues> | null,
  recipes: readonly ExamClusterRecipe[],
  presetDraw: (r: ExamClusterRecipe) => Record<string, ParamValues> | null | undefined,
): Record<string, ParamValues> | null {
  const out: Record<string, ParamValues> = { ...drawn };
  const fixed = new Set<string>();
  // Clusters set up at Start use whatever the draw ends as; only clusters set up in advance are bound to theirs.
  for (const r of recipes) {
    const pre = presetDraw(r);
    if (pre === undefined) continue;
    const clash = r.labIds.some((id) => fixed.has(id) && JSON.stringify(out[id] ?? null) !== JSON.stringify(pre?.[id] ?? null));
    if (clash) {
      for (const id of r.labIds) fixed.add(id);
      continue;
    }
    for (const id of r.labIds) {
      if (pre?.[id]) out[id] = pre[id];
      fixed.add(id);
    }
  }
  return Object.keys(out).length ? out : null;
}
