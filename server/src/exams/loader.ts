import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { DomainId } from '../labs/format.ts';
import type { Catalog, Lab } from '../labs/loader.ts';
import { describeYamlError, didYouMean, PositionedYaml, zodProblems, type Problem } from '../labs/problems.ts';
import { collide, labFootprint } from './collisions.ts';
import { ExamDecl, type ExamClusterDecl } from './format.ts';

/** One task of a loaded exam: a lab's task(s) on a named cluster, with its weight. */
export interface ExamTask {
  /** 1-based number shown in the navigator. */
  number: number;
  labId: string;
  /** The lab tasks this exam task grades (all of the lab's when exam.yaml names no task). */
  taskIds: string[];
  /** The cluster (context) name. */
  cluster: string;
  weight: number;
  title: string;
  domain: DomainId;
}

/** An exam that loaded cleanly. */
export interface Exam {
  id: string;
  dir: string;
  title: string;
  summary: string;
  minutes: number;
  passPercent: number;
  kubernetes: string;
  clusters: ExamClusterDecl[];
  tasks: ExamTask[];
  /** Where its honesty gates run: on the model cluster in CI (every lab can), or only on real clusters. */
  gate: 'model' | 'real';
  gateReason: string | undefined;
  warnings: Problem[];
  hash: string;
}

/** An exam with errors: reported by labs:check and to instructors, never offered to learners. */
export interface BrokenExam {
  id: string;
  dir: string;
  title: string | undefined;
  problems: Problem[];
}

export interface ExamCatalog {
  exams: Exam[];
  broken: BrokenExam[];
  problems: Problem[];
}

/** Loads every exams/<id>/exam.yaml against the loaded labs; broken exams are reported, never thrown. */
export function loadExams(examsDir: string, labs: Pick<Catalog, 'labs' | 'broken'>, opts: { relativeTo?: string } = {}): ExamCatalog {
  const root = opts.relativeTo ?? path.dirname(examsDir);
  const out: ExamCatalog = { exams: [], broken: [], problems: [] };
  if (!existsSync(examsDir)) return out;
  for (const d of readdirSync(examsDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!d.isDirectory() || d.name.startsWith('.') || d.name.startsWith('_')) continue;
    const dir = path.join(examsDir, d.name);
    if (!existsSync(path.join(dir, 'exam.yaml'))) {
      out.problems.push({
        file: path.relative(root, dir),
        line: 1,
        col: 1,
        severity: 'error',
        message: 'folder has no exam.yaml',
        hint: 'every folder under exams/ is an exam: add exam.yaml or move the folder out',
      });
      continue;
    }
    const r = loadExam(dir, labs, root);
    if ('problems' in r) out.broken.push(r);
    else out.exams.push(r);
  }
  return out;
}

/** Loads and validates one exam folder against the loaded labs. */
export function loadExam(dir: string, labs: Pick<Catalog, 'labs' | 'broken'>, root: string, labsRoot = root): Exam | BrokenExam {
  const id = path.basename(dir);
  const abs = path.join(dir, 'exam.yaml');
  const file = path.relative(root, abs);
  const rel = (p: string) => path.relative(labsRoot, p);
  const problems: Problem[] = [];
  const err = (pos: { line: number; col: number }, message: string, hint?: string) =>
    problems.push({ file, ...pos, severity: 'error', message, ...(hint ? { hint } : {}) });
  const warn = (pos: { line: number; col: number }, message: string, hint?: string) =>
    problems.push({ file, ...pos, severity: 'warning', message, ...(hint ? { hint } : {}) });
  const broken = (title?: string): BrokenExam => ({ id, dir, title, problems: problems.sort((a, b) => a.line - b.line || a.col - b.col) });
  const text = readFileSync(abs, 'utf8');
  const yaml = new PositionedYaml(text);
  if (yaml.doc.errors.length) {
    const d = describeYamlError(text, yaml.doc.errors[0]!);
    err(yaml.pos(d.offset), d.message, d.hint);
    return broken();
  }
  const raw = yaml.doc.toJS() as unknown;
  const parsed = ExamDecl.safeParse(raw);
  if (!parsed.success) {
    problems.push(...zodProblems(parsed.error, yaml, file, (p) => examKeysAt(p)));
    return broken(typeof raw === 'object' && raw && 'title' in raw ? String((raw as { title: unknown }).title) : undefined);
  }
  const decl = parsed.data;
  if (!/^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(id))
    err({ line: 1, col: 1 }, `exam folder name "${id}" must be lowercase letters, digits and "-": it is the exam's id`);

  // Clusters: unique names (they are kubeconfig contexts).
  const clusters = new Map<string, { decl: ExamClusterDecl; index: number }>();
  decl.clusters.forEach((c, i) => {
    if (clusters.has(c.name))
      err(yaml.at(['clusters', i, 'name']), `cluster name "${c.name}" is used twice`, 'each cluster is one kubeconfig context; names must differ');
    else clusters.set(c.name, { decl: c, index: i });
  });

  // Tasks: the lab exists, the task exists, the cluster exists and fits the lab.
  const labById = new Map(labs.labs.map((l) => [l.id, l]));
  const brokenLabs = new Set(labs.broken.map((b) => b.id));
  const labCluster = new Map<string, { cluster: string; index: number }>();
  const taken = new Map<string, number>();
  const tasks: ExamTask[] = [];
  const placed = new Map<string, { lab: Lab; index: number }[]>();
  decl.tasks.forEach((t, i) => {
    const lab = labById.get(t.lab);
    const cluster = clusters.get(t.cluster);
    if (!cluster) {
      const guess = didYouMean(t.cluster, [...clusters.keys()]);
      err(
        yaml.at(['tasks', i, 'cluster']),
        `task ${i + 1} runs on cluster "${t.cluster}", which the exam does not declare`,
        guess ? `did you mean "${guess}"?` : `clusters: ${[...clusters.keys()].join(', ')}`,
      );
    }
    if (!lab) {
      if (brokenLabs.has(t.lab)) err(yaml.at(['tasks', i, 'lab']), `lab "${t.lab}" is broken (run npm run labs:check)`);
      else {
        const guess = didYouMean(t.lab, [...labById.keys()]);
        err(yaml.at(['tasks', i, 'lab']), `no lab "${t.lab}"`, guess ? `did you mean "${guess}"?` : 'exam tasks name labs by their id');
      }
      return;
    }
    if (lab.origin) {
      // An exam's clusters share one workstation and exams grade without it: a scenario's setup and
      // verify scripts, which run in its own attempt's workstation, would have nowhere to run.
      err(
        yaml.at(['tasks', i, 'lab']),
        `lab "${t.lab}" is a Killercoda scenario, which exams cannot place: its setup and verify scripts run in a lab attempt's own workstation`,
      );
      return;
    }
    let taskIds = lab.meta.tasks.map((x) => x.id);
    if (t.task !== undefined) {
      if (!taskIds.includes(t.task)) {
        const guess = didYouMean(t.task, taskIds);
        err(yaml.at(['tasks', i, 'task']), `lab ${lab.id} has no task "${t.task}"`, guess ? `did you mean "${guess}"?` : `its tasks: ${taskIds.join(', ')}`);
        return;
      }
      taskIds = [t.task];
    }
    // Exam grading reads the clusters, not the learner's workstation: an answer-file check could never pass.
    const answerFiles = lab.meta.tasks.filter((x) => taskIds.includes(x.id) && x.checks.some((c) => c.kind === 'workstation')).map((x) => x.id);
    if (answerFiles.length)
      err(
        yaml.at(['tasks', i, t.task ? 'task' : 'lab']),
        `lab ${lab.id} task(s) ${answerFiles.join(', ')} check answer files in the workstation, which exam grading does not read`,
        'pick another task of the lab, or another lab',
      );
    for (const tid of taskIds) {
      const before = taken.get(`${lab.id}/${tid}`);
      if (before !== undefined)
        err(
          yaml.at(['tasks', i, t.task ? 'task' : 'lab']),
          `task ${tid} of lab ${lab.id} is already graded by exam task ${before + 1}`,
          'each lab task may appear in an exam once',
        );
      else taken.set(`${lab.id}/${tid}`, i);
    }
    const first = labCluster.get(lab.id);
    if (first && first.cluster !== t.cluster) {
      err(
        yaml.at(['tasks', i, 'cluster']),
        `lab ${lab.id} is already placed on cluster ${first.cluster} (task ${first.index + 1}); all tasks of one lab share its setup, so they must run on one cluster`,
      );
    } else if (!first) labCluster.set(lab.id, { cluster: t.cluster, index: i });
    if (cluster) {
      const c = cluster.decl;
      const need = lab.meta.cluster;
      const misfit: string[] = [];
      if (need.workers > c.workers) misfit.push(`${need.workers} worker(s) (the cluster has ${c.workers})`);
      if (need.networkPolicy && !c.networkPolicy) misfit.push('NetworkPolicy enforcement (set networkPolicy: true on the cluster)');
      if (need.cni !== c.cni) misfit.push(`cni: ${need.cni} (the cluster has ${c.cni})`);
      const lacking = need.addons.filter((a) => !c.addons.includes(a));
      if (lacking.length)
        misfit.push(`add-on(s) ${lacking.join(', ')} (set addons: [${[...new Set([...c.addons, ...lacking])].sort().join(', ')}] on the cluster)`);
      if (misfit.length)
        err(
          yaml.at(['tasks', i, 'cluster']),
          `lab ${lab.id} needs ${misfit.join(' and ')}, so it cannot run on cluster ${c.name}`,
          `change cluster ${c.name} (exam.yaml line ${yaml.at(['clusters', cluster.index]).line}) or place the task on another cluster`,
        );
    }
    if (lab.meta.kubernetes !== decl.kubernetes)
      warn(yaml.at(['tasks', i, 'lab']), `lab ${lab.id} targets Kubernetes ${lab.meta.kubernetes}, the exam runs ${decl.kubernetes}`);
    if (!first || first.cluster === t.cluster) {
      const list = placed.get(t.cluster) ?? [];
      if (!list.some((p) => p.lab.id === lab.id)) list.push({ lab, index: i });
      placed.set(t.cluster, list);
    }
    const title = t.task ? lab.meta.tasks.find((x) => x.id === t.task)!.title : lab.meta.title;
    tasks.push({ number: i + 1, labId: lab.id, taskIds, cluster: t.cluster, weight: t.weight, title, domain: lab.meta.domain });
  });

  // Labs sharing a cluster must not touch the same things.
  for (const [clusterName, list] of placed) {
    const prints = list.map((p) => ({ ...p, print: labFootprint(p.lab, rel) }));
    for (let x = 0; x < prints.length; x++) {
      for (let y = x + 1; y < prints.length; y++) {
        const a = prints[x]!;
        const b = prints[y]!;
        for (const c of collide(a.print, b.print).slice(0, 3)) {
          err(
            yaml.at(['tasks', b.index, 'lab']),
            `labs ${a.lab.id} (task ${a.index + 1}) and ${b.lab.id} (task ${b.index + 1}) collide on cluster ${clusterName}: ${c.why} — ${c.a.file}:${c.a.line} and ${c.b.file}:${c.b.line}`,
            'place one of them on another cluster of the exam',
          );
        }
      }
    }
  }
  for (const [name, c] of clusters)
    if (!placed.has(name)) warn(yaml.at(['clusters', c.index, 'name']), `cluster ${name} has no task; it would cost a cluster for nothing`);

  const total = decl.tasks.reduce((s, t) => s + t.weight, 0);
  if (total !== 100)
    warn(
      yaml.at(['tasks']),
      `the task weights add up to ${total}, not 100`,
      'scores are shown in percent of the total either way; weights that add up to 100 read like the real exam',
    );

  if (problems.some((p) => p.severity === 'error')) return broken(decl.title);
  const usedLabs = [...new Set(tasks.map((t) => t.labId))].map((l) => labById.get(l)!);
  const real = usedLabs.filter((l) => l.gate === 'real');
  const hash = createHash('sha256').update(text);
  for (const l of usedLabs) hash.update(l.hash);
  return {
    id,
    dir,
    title: decl.title,
    summary: decl.summary,
    minutes: decl.minutes,
    passPercent: decl.passPercent,
    kubernetes: decl.kubernetes,
    clusters: decl.clusters,
    tasks,
    gate: real.length ? 'real' : 'model',
    gateReason: real.length ? `lab(s) ${real.map((l) => l.id).join(', ')} can only be gated on real clusters` : undefined,
    warnings: problems,
    hash: hash.digest('hex').slice(0, 16),
  };
}

// The keys exam.yaml allows at a path, for "did you mean" hints.
function examKeysAt(p: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = ExamDecl;
  for (const part of p) {
    for (;;) {
      if (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) schema = schema.unwrap() as z.ZodType;
      else break;
    }
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(part)] ?? z.never();
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
  }
  while (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) schema = schema.unwrap() as z.ZodType;
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}
