import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CheckDecl, PodRef } from '../../../graders/src/checks/schema.ts';
import { MdxCompileError, type CompiledBody, type MdxCompiler } from './bundle.ts';
import {
  ADDON_SERVICES,
  EXAM_KUBERNETES_VERSION,
  imageProblem,
  LAB_COMPONENTS,
  LabFrontMatter,
  MistakeDecl,
  NODE_ROLES,
  TrackDecl,
  type DomainId,
} from './format.ts';
import { JsonPathError, parseJsonPath } from '../../../graders/src/engine/jsonpath.ts';
import { labelSelectorTerms, parseLabelSelector } from '../../../graders/src/netpol/selectors.ts';
import { imagesOf, parseManifests, podLabelsOf, type ManifestObject } from './manifests.ts';
import type { LabOrigin, ScenarioSetup, ScenarioSolution, ScenarioWalkthrough } from './scenarios.ts';
import { earlyExitPipes, setsPipefail, sourcedNames } from './shell-lint.ts';
import { describeYamlError, didYouMean, PositionedYaml, zodProblems, type Problem } from './problems.ts';
import { filesBelow, LabParamsText, labFilesOf, type ParamValues } from './params.ts';
import type { ParamsDecl } from './format.ts';
import { fullImageRef } from '../provisioner/kind-driver.ts';

/** Setup and reference-solution files of a lab, as paths relative to the lab folder. */
export interface LabFiles {
  setupManifests: string[];
  setupScript: string | undefined;
  /** setup/node.<role>.sh: run as root on that node after the rest of setup is ready. */
  setupNodeScripts: NodeScript[];
  solutionManifests: string[];
  solutionScript: string | undefined;
  /** solution/node.<role>.sh: the part of the reference solution done on a node. */
  solutionNodeScripts: NodeScript[];
  /** solution/workstation.sh: the part of the reference solution done in the learner's workstation. */
  solutionWorkstationScript: string | undefined;
}

/** A lab with no setup and no reference solution yet (the loader fills it; a scenario's stays so). */
export function emptyLabFiles(): LabFiles {
  return {
    setupManifests: [],
    setupScript: undefined,
    setupNodeScripts: [],
    solutionManifests: [],
    solutionScript: undefined,
    solutionNodeScripts: [],
    solutionWorkstationScript: undefined,
  };
}

/** A common wrong answer shipped with a lab (mistakes/<name>/), with the most it may score. */
export interface LabMistake {
  name: string;
  title: string;
  maxPercent: number;
  why: string | undefined;
  /** Manifests (relative to the lab folder) applied after setup, in file-name order. */
  manifests: string[];
  /** mistakes/<name>/mistake.sh, run after the manifests like solution.sh. */
  script: string | undefined;
  /** mistakes/<name>/node.<role>.sh: the part of the wrong answer done on a node, as root. */
  nodeScripts: NodeScript[];
  /** mistakes/<name>/workstation.sh: the part done in the learner's workstation. */
  workstationScript: string | undefined;
}

/** The script files of a mistake, for messages and for deciding it needs a real cluster. */
export function mistakeScripts(m: LabMistake): string[] {
  return [m.script, ...m.nodeScripts.map((n) => n.file), m.workstationScript].filter((f): f is string => f !== undefined);
}

/** A script run as root on one node of the lab's cluster, by role. */
export interface NodeScript {
  role: NodeRoleName;
  file: string;
}

type NodeRoleName = (typeof NODE_ROLES)[number];

/** Where a lab's honesty gates can run: on the in-memory model cluster in CI, or only on a real cluster. */
export type GateSite = 'model' | 'real';

/** A lab that loaded cleanly (it may still carry warnings). */
export interface Lab {
  id: string;
  track: string;
  /** Absolute path of the lab folder. */
  dir: string;
  meta: LabFrontMatter;
  body: CompiledBody;
  files: LabFiles;
  /** The lab's common wrong answers, by folder name. */
  mistakes: LabMistake[];
  gate: GateSite;
  /** Why the gate site is "real", if it is. */
  gateReason: string | undefined;
  warnings: Problem[];
  /** Hash of all the lab's files, to notice changes. */
  hash: string;
  /** Where the lab came from when it is not a kubedrill lab (a Killercoda scenario folder). */
  origin?: LabOrigin;
  /** A scenario's setup, run as root in the learner's workstation after the cluster is ready. */
  scenarioSetup?: ScenarioSetup;
  /** A scenario's reference solution (its steps' solution.sh), for labs:verify. */
  scenarioSolution?: ScenarioSolution;
  /** Set for a scenario without verify scripts: ungraded (meta.tasks is empty), stepped through with Next step. */
  walkthrough?: ScenarioWalkthrough;
  /** The lab's parameters (front matter `params`), drawn anew by each attempt (see params.ts). */
  params?: ParamsDecl | undefined;
  /** The values this instance of the lab was made with (instantiateLab); absent on the catalog's lab. */
  draw?: ParamValues;
}

/** A lab with errors: listed to instructors with its problems, never offered to learners. */
export interface BrokenLab {
  id: string;
  track: string;
  dir: string;
  title: string | undefined;
  problems: Problem[];
}

export interface Track extends TrackDecl {
  id: string;
  /** Set for tracks made from Killercoda scenario folders. */
  origin?: LabOrigin;
}

export interface Catalog {
  tracks: Track[];
  labs: Lab[];
  broken: BrokenLab[];
  /** Problems outside any single lab (bad track.yaml, stray files, duplicate ids). */
  problems: Problem[];
}

const MANIFEST_RE = /\.ya?ml$/;

/** Services every kind cluster has before any lab runs; checks may target them without creating them. */
const CLUSTER_SERVICES = ['default/kubernetes', 'kube-system/kube-dns'];

/** Loads every lab under labsDir (labs/<track>/<lab>/lab.mdx); broken labs are reported, never thrown. */
export async function loadCatalog(labsDir: string, compiler: MdxCompiler, opts: { relativeTo?: string } = {}): Promise<Catalog> {
  const root = opts.relativeTo ?? path.dirname(labsDir);
  const rel = (p: string) => path.relative(root, p) || '.';
  const catalog: Catalog = { tracks: [], labs: [], broken: [], problems: [] };
  if (!existsSync(labsDir)) {
    catalog.problems.push({ file: rel(labsDir), line: 1, col: 1, severity: 'error', message: 'labs folder does not exist' });
    return catalog;
  }
  const trackDirs = readdirSync(labsDir, { withFileTypes: true }).filter(
    (d) => !d.name.startsWith('.') && !d.name.startsWith('_') && isFolder(path.join(labsDir, d.name), d, rel, catalog.problems),
  );
  const pending: Promise<Lab | BrokenLab>[] = [];
  for (const t of trackDirs.sort((a, b) => a.name.localeCompare(b.name))) {
    const trackDir = path.join(labsDir, t.name);
    catalog.tracks.push(readTrack(trackDir, t.name, rel, catalog.problems));
    for (const l of readdirSync(trackDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (l.name.startsWith('.') || l.name.startsWith('_') || !isFolder(path.join(trackDir, l.name), l, rel, catalog.problems)) continue;
      const labDir = path.join(trackDir, l.name);
      if (!existsSync(path.join(labDir, 'lab.mdx'))) {
        catalog.problems.push({
          file: rel(labDir),
          line: 1,
          col: 1,
          severity: 'error',
          message: 'folder has no lab.mdx',
          hint: 'every folder in a track is a lab: add lab.mdx or move the folder out',
        });
        continue;
      }
      pending.push(loadLab(labDir, t.name, compiler, root));
    }
  }
  const results = await Promise.all(pending);
  placeLabs(results, catalog, rel);
  sortCatalog(catalog);
  checkTrackListings(results, catalog, labsDir, rel);
  return catalog;
}

/** Files each loaded lab as good or broken; a lab id used twice makes the second one broken. */
function placeLabs(results: (Lab | BrokenLab)[], catalog: Catalog, rel: (p: string) => string): void {
  const byId = new Map<string, string>();
  for (const r of results) {
    const file = rel(path.join(r.dir, 'lab.mdx'));
    const other = byId.get(r.id);
    if (other) {
      const dup: Problem = {
        file,
        line: 1,
        col: 1,
        severity: 'error',
        message: `lab id "${r.id}" is also used by ${other}`,
        hint: 'lab ids are unique across all tracks',
      };
      if ('problems' in r) r.problems.push(dup);
      else {
        catalog.broken.push({ id: r.id, track: r.track, dir: r.dir, title: r.meta.title, problems: [dup] });
        continue;
      }
    }
    byId.set(r.id, file);
    if ('problems' in r) catalog.broken.push(r);
    else catalog.labs.push(r);
  }
}

/** Tracks by their order; labs in track order, then in the order each track.yaml lists them (unlisted ones last, by id). */
function sortCatalog(catalog: Catalog): void {
  catalog.tracks.sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
  const trackIndex = new Map(catalog.tracks.map((t, i) => [t.id, i]));
  const position = (lab: { id: string; track: string }) => {
    const listed = catalog.tracks[trackIndex.get(lab.track) ?? -1]?.labs.indexOf(lab.id) ?? -1;
    return listed === -1 ? Number.MAX_SAFE_INTEGER : listed;
  };
  catalog.labs.sort((a, b) => (trackIndex.get(a.track) ?? 0) - (trackIndex.get(b.track) ?? 0) || position(a) - position(b) || a.id.localeCompare(b.id));
}

/** Every lab a track.yaml lists must exist in that track (a misspelt id gets a did-you-mean). */
function checkTrackListings(results: (Lab | BrokenLab)[], catalog: Catalog, labsDir: string, rel: (p: string) => string): void {
  for (const track of catalog.tracks) {
    const here = results.filter((r) => r.track === track.id).map((r) => r.id);
    track.labs.forEach((id, i) => {
      if (here.includes(id)) return;
      const file = path.join(labsDir, track.id, 'track.yaml');
      const yaml = new PositionedYaml(readFileSync(file, 'utf8'));
      const guess = didYouMean(id, here);
      catalog.problems.push({
        file: rel(file),
        ...yaml.at(['labs', i]),
        severity: 'error',
        message: `labs lists "${id}", but track ${track.id} has no lab with that id`,
        hint: guess ? `did you mean "${guess}"?` : `labs in this track: ${here.join(', ') || '(none)'}`,
      });
    });
  }
}

/** A folder entry, following symlinks (a track or lab linked in from elsewhere); a dangling link is reported. */
function isFolder(full: string, entry: { isDirectory(): boolean; isSymbolicLink(): boolean }, rel: (p: string) => string, problems: Problem[]): boolean {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return statSync(full).isDirectory();
  } catch (e) {
    problems.push({
      file: rel(full),
      line: 1,
      col: 1,
      severity: 'error',
      message: `symbolic link points to nothing (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      hint: 'fix or remove the link; links to track or lab folders are followed',
    });
    return false;
  }
}

function readTrack(trackDir: string, id: string, rel: (p: string) => string, problems: Problem[]): Track {
  const file = path.join(trackDir, 'track.yaml');
  const fallback: Track = { id, title: id.replace(/-/g, ' ').replace(/^\w/, (c) => c.toUpperCase()), summary: '', order: 100, labs: [] };
  if (!existsSync(file)) return fallback;
  const yaml = new PositionedYaml(readFileSync(file, 'utf8'));
  if (yaml.doc.errors.length) {
    const d = describeYamlError(readFileSync(file, 'utf8'), yaml.doc.errors[0]!);
    problems.push({ file: rel(file), ...yaml.pos(d.offset), severity: 'error', message: d.message, ...(d.hint ? { hint: d.hint } : {}) });
    return fallback;
  }
  const parsed = TrackDecl.safeParse(yaml.doc.toJS());
  if (!parsed.success) {
    problems.push(...zodProblems(parsed.error, yaml, rel(file), () => Object.keys(TrackDecl.shape)));
    return fallback;
  }
  return { id, ...parsed.data };
}

/** Splits lab.mdx into its YAML front matter and the line the YAML starts on. */
function splitFrontMatter(source: string): { yaml: string; startLine: number } | undefined {
  const m = /^---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(\r?\n|$)/.exec(source);
  if (!m) return undefined;
  return { yaml: m[1]!, startLine: 1 };
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir).sort();
}

/** What the phases of loading one lab share: its folder, where problems go, and the running hash of its files. */
interface LabLoad {
  labDir: string;
  /** A path in the lab folder as problems name it (relative to the catalog's root). */
  relLab: (p: string) => string;
  /** lab.mdx as problems name it. */
  mdxFile: string;
  problems: Problem[];
  err: Report;
  warn: Report;
  hash: Hash;
  /** The lab's params: what is validated is the first draw's text (problems keep their written columns). */
  params: LabParamsText;
}

/** The position of a front-matter path in lab.mdx (of its key with key = true). */
type At = (p: readonly PropertyKey[], key?: boolean) => { line: number; col: number };

/** A setup or solution object with the file and stage that create it. */
interface CreatedObject {
  obj: ManifestObject;
  file: string;
  stage: 'setup' | 'solution';
}

/**
 * Loads and validates one lab folder, phase by phase: front matter, tasks and checks, setup and
 * solution files, mistakes, what the cluster must offer, objects the checks name, the instructions,
 * and where its honesty gates can run. Every phase reports what it finds; errors make the lab broken.
 */
export async function loadLab(labDir: string, track: string, compiler: MdxCompiler, root: string): Promise<Lab | BrokenLab> {
  const folder = path.basename(labDir);
  const ctx = newLabLoad(labDir, root);
  const { params } = ctx;
  // Problems in file order, as an instructor reads them (the phases run in another order).
  const sorted = () => params.finish(ctx.problems).sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
  const broken = (title?: string): BrokenLab => ({ id: folder, track, dir: labDir, title, problems: sorted() });

  const source = params.source;
  ctx.hash.update(params.raw);
  const front = await readFrontMatter(source, compiler, ctx);
  if (!front.ok) return broken(front.title);
  const { meta, raw, yaml } = front;
  const at: At = (p, key = false) => yaml.at(p, key);

  checkIdentity(meta, folder, at, ctx);
  checkTasks(meta, yaml, at, ctx);
  const { files, created, readLabManifest } = readSetupAndSolution(meta, ctx);
  const mistakes = readMistakes(labDir, ctx.relLab, readLabManifest, ctx.hash, ctx.err, ctx.warn);
  for (const name of filesBelow(path.join(labDir, 'checks'))) ctx.hash.update(name).update(readFileSync(path.join(labDir, 'checks', name)));
  checkClusterNeeds(meta, raw, files, at, ctx);
  checkShellScripts(ctx);
  checkNamedObjects(meta, files, created, at, ctx);
  const body = await checkInstructions(source, compiler, meta, at, ctx);

  if (params.finish(ctx.problems).some((p) => p.severity === 'error') || !body) return broken(meta.title);
  const { gate, gateReason } = gateSite(meta, files);
  return {
    id: meta.id,
    track,
    dir: labDir,
    meta,
    body,
    files,
    mistakes,
    gate,
    gateReason,
    warnings: sorted(),
    hash: ctx.hash.digest('hex').slice(0, 16),
    ...(params.params ? { params: params.params } : {}),
  };
}

function newLabLoad(labDir: string, root: string): LabLoad {
  const problems: Problem[] = [];
  const relLab = (p: string) => path.relative(root, path.join(labDir, p));
  return {
    labDir,
    relLab,
    mdxFile: relLab('lab.mdx'),
    params: new LabParamsText(readFileSync(path.join(labDir, 'lab.mdx'), 'utf8'), relLab('lab.mdx')),
    problems,
    err: (file, line, col, message, hint) => problems.push({ file, line, col, message, severity: 'error', ...(hint ? { hint } : {}) }),
    warn: (file, line, col, message, hint) => problems.push({ file, line, col, message, severity: 'warning', ...(hint ? { hint } : {}) }),
    hash: createHash('sha256'),
  };
}

/** Phase 1: the YAML front matter, parsed and validated; on failure the body is still compiled, so one run reports every problem. */
async function readFrontMatter(
  source: string,
  compiler: MdxCompiler,
  ctx: LabLoad,
): Promise<{ ok: true; meta: LabFrontMatter; raw: unknown; yaml: PositionedYaml } | { ok: false; title: string | undefined }> {
  const { mdxFile, err, warn } = ctx;
  const fm = splitFrontMatter(source);
  if (!fm) {
    err(mdxFile, 1, 1, 'lab.mdx must start with YAML front matter between --- lines', 'see labs/README.md for a complete example');
    return { ok: false, title: undefined };
  }
  const yaml = new PositionedYaml(fm.yaml, fm.startLine);
  if (yaml.doc.errors.length) {
    // Only the first YAML error: the parser's later errors are usually consequences of it.
    const d = describeYamlError(fm.yaml, yaml.doc.errors[0]!);
    err(mdxFile, yaml.pos(d.offset).line, yaml.pos(d.offset).col, d.message, d.hint);
    return { ok: false, title: undefined };
  }
  const raw = yaml.doc.toJS() as unknown;
  const parsed = LabFrontMatter.safeParse(raw);
  if (!parsed.success) {
    ctx.problems.push(...zodProblems(parsed.error, yaml, mdxFile, (p) => knownKeysAt(raw, p)));
    // Still compile the body, so one run reports every problem in the file.
    const rawTasks = (raw as { tasks?: unknown } | null)?.tasks;
    const ids = Array.isArray(rawTasks) ? rawTasks.map((t) => (t as { id?: unknown })?.id).filter((id): id is string => typeof id === 'string') : [];
    await checkBody(source, compiler, new Set(ids), mdxFile, err, warn);
    const title = typeof raw === 'object' && raw && 'title' in raw ? String((raw as { title: unknown }).title) : undefined;
    return { ok: false, title };
  }
  return { ok: true, meta: parsed.data, raw, yaml };
}

/** Phase 2: the lab's id matches its folder; a Kubernetes version other than the exam's is worth a warning. */
function checkIdentity(meta: LabFrontMatter, folder: string, at: At, ctx: LabLoad): void {
  const { mdxFile, err, warn } = ctx;
  if (meta.id !== folder) {
    const pos = at(['id']);
    err(mdxFile, pos.line, pos.col, `id "${meta.id}" must match the folder name "${folder}"`, `rename the folder or set id: ${folder}`);
  }
  if (meta.kubernetes !== EXAM_KUBERNETES_VERSION) {
    const pos = at(['kubernetes']);
    warn(mdxFile, pos.line, pos.col, `lab targets Kubernetes ${meta.kubernetes}, the exam runs ${EXAM_KUBERNETES_VERSION}`);
  }
}

/** Phase 3: tasks, their checks and points (unique ids, valid patterns and paths, nodes that exist, tasks that can be earned honestly). */
function checkTasks(meta: LabFrontMatter, yaml: PositionedYaml, at: At, ctx: LabLoad): void {
  const { mdxFile, err } = ctx;
  const taskIds = new Set<string>();
  meta.tasks.forEach((task, ti) => {
    if (taskIds.has(task.id)) {
      const pos = at(['tasks', ti, 'id']);
      err(mdxFile, pos.line, pos.col, `task id "${task.id}" is used twice`);
    }
    taskIds.add(task.id);
    const checkIds = new Set<string>();
    task.checks.forEach((check, ci) => {
      if (check.id) {
        if (checkIds.has(check.id)) {
          const pos = at(['tasks', ti, 'checks', ci, 'id']);
          err(mdxFile, pos.line, pos.col, `check id "${check.id}" is used twice in task ${task.id}`);
        }
        checkIds.add(check.id);
      }
      checkCheck(check, ['tasks', ti, 'checks', ci], meta, yaml, at, ctx);
    });
    checkTaskScoring(task, ['tasks', ti], at, ctx);
  });
  const total = meta.tasks.reduce((s, t) => s + t.points, 0);
  if (meta.points !== undefined && meta.points !== total) {
    const pos = at(['points']);
    err(
      mdxFile,
      pos.line,
      pos.col,
      `points is ${meta.points} but the tasks add up to ${total}`,
      `tasks: ${meta.tasks.map((t) => `${t.id}=${t.points}`).join(', ')}`,
    );
  }
}

/** One task of phase 3: its score cannot be earned by a broken answer (required guards, more than negative checks) and can be earned at all. */
function checkTaskScoring(task: LabFrontMatter['tasks'][number], where: readonly PropertyKey[], at: At, ctx: LabLoad): void {
  const { mdxFile, err } = ctx;
  task.checks.forEach((check, ci) => {
    if (check.guard && !check.required) {
      const pos = at([...where, 'checks', ci, 'guard'], true);
      err(
        mdxFile,
        pos.line,
        pos.col,
        `check ${check.id ?? `${task.id}-${ci + 1}`} is a guard but not required: a guard protects what must keep working, and if breaking it costs only its own share, a broken answer still scores most of the task`,
        'add required: true, so the task scores 0 when this check does not pass',
      );
    }
  });
  const work = task.checks.filter((c) => !c.guard);
  if (work.length > 0 && work.every(isNegativeCheck) && !task.checks.some((c) => c.required && !isNegativeCheck(c))) {
    const pos = at([...where, 'checks']);
    err(
      mdxFile,
      pos.line,
      pos.col,
      `task ${task.id} checks only that things do not work (${work.map(negativeKind).join(', ')}), which a deny-all policy, a deleted server or a crashed pod also achieves`,
      'add a required check of something that must keep working (e.g. the allowed client still reaches the server, or the server pod is Ready), with required: true',
    );
  }
  if (task.checks.every((c) => c.guard)) {
    const pos = at([...where, 'checks']);
    err(
      mdxFile,
      pos.line,
      pos.col,
      `task ${task.id} has only guard checks, so it can never earn points`,
      "mark at least one check that needs the learner's work as guard: false",
    );
  }
}

/** One check of phase 3: its script exists, its pattern and JSONPath parse, and the nodes it names exist in the lab's cluster. */
function checkCheck(check: CheckDecl, where: readonly PropertyKey[], meta: LabFrontMatter, yaml: PositionedYaml, at: At, ctx: LabLoad): void {
  const { labDir, mdxFile, err, hash } = ctx;
  if (check.kind === 'script' && check.file) {
    const target = path.join(labDir, check.file);
    if (!existsSync(target)) {
      const pos = at([...where, 'file']);
      err(mdxFile, pos.line, pos.col, `script file ${check.file} does not exist in the lab folder`);
    } else hash.update(readFileSync(target));
  }
  if ((check.kind === 'field' || check.kind === 'node' || check.kind === 'workstation' || check.kind === 'volume') && check.matches !== undefined) {
    try {
      new RegExp(check.matches);
    } catch (e) {
      const pos = at([...where, 'matches']);
      err(mdxFile, pos.line, pos.col, `matches is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  if (check.kind === 'field') {
    // The grader's own parser: what loads here is what the grader can evaluate.
    try {
      parseJsonPath(check.path);
    } catch (e) {
      if (!(e instanceof JsonPathError)) throw e;
      const pos = at([...where, 'path']);
      const quoted = /^["']/.test(yaml.lineText(pos.line).slice(pos.col - 1)) ? 1 : 0;
      err(
        mdxFile,
        pos.line,
        pos.col + quoted + e.col - 1,
        `JSONPath ${check.path}: ${e.message}`,
        "kubedrill evaluates kubectl's JSONPath: fields, [n], [a:b], [*], ['key'], ..name, filters [?(@.key==\"value\")] and {range …}{end}",
      );
    }
  }
  const resourceRole =
    check.kind === 'exists' || check.kind === 'absent' || check.kind === 'field' || check.kind === 'count' ? check.resource.nodeRole : undefined;
  const roles =
    check.kind === 'node' ? [check.node] : check.kind === 'placement' && 'role' in check.nodes ? [check.nodes.role].flat() : resourceRole ? [resourceRole] : [];
  for (const role of roles) {
    const lack = roleLacking(role, meta.cluster);
    if (lack) {
      const pos = at([...where, ...(check.kind === 'node' ? ['node'] : check.kind === 'placement' ? ['nodes'] : ['resource', 'nodeRole'])]);
      err(mdxFile, pos.line, pos.col, `the check names node ${role}, but ${lack.has}`, lack.hint);
    }
  }
}

/** Phase 4: setup/ and solution/ files (manifests, scripts, node scripts), with the objects they create. */
function readSetupAndSolution(
  meta: LabFrontMatter,
  ctx: LabLoad,
): { files: LabFiles; created: CreatedObject[]; readLabManifest: (relPath: string, text: string) => ManifestObject[] } {
  const { labDir, relLab, err, warn, hash } = ctx;
  // Parses one manifest file, reporting its problems and every image not pinned or not listed.
  const readLabManifest = (relPath: string, written: string): ManifestObject[] => {
    const text = ctx.params.text(relLab(relPath), written);
    const parsedManifests = parseManifests(text, relLab(relPath));
    ctx.problems.push(...parsedManifests.problems);
    for (const { object, line, images } of parsedManifests.objects) {
      for (const image of imagesOf(object)) {
        const at = images.find((i) => i.image === image) ?? { line, col: 1 };
        const why = imageProblem(image);
        if (why) err(relLab(relPath), at.line, at.col, why, 'pin the tag, e.g. docker.io/library/busybox:1.37.0, and list it under images in lab.mdx');
        else if (!meta.images.includes(image) && !meta.images.some((i) => fullImageRef(i) === fullImageRef(image))) {
          // Same repository with another tag is the likely slip; a different image just needs listing.
          const repo = (ref: string) => fullImageRef(ref).replace(/[:@][^/]*$/, '');
          const sameRepo = meta.images.find((i) => repo(i) === repo(image));
          err(
            relLab(relPath),
            at.line,
            at.col,
            `${object.kind} ${object.metadata.name} runs image ${image}, which is not listed in the front matter's images`,
            sameRepo
              ? `the front matter lists ${sameRepo}: use the same tag in both places`
              : 'list every image the lab runs under images in lab.mdx, so it can be preloaded into the cluster',
          );
        }
      }
    }
    return parsedManifests.objects.map((o) => o.object);
  };
  const files = emptyLabFiles();
  const created: CreatedObject[] = [];
  for (const stage of ['setup', 'solution'] as const) {
    for (const name of listFiles(path.join(labDir, stage))) {
      const relPath = `${stage}/${name}`;
      const abs = path.join(labDir, relPath);
      if (MANIFEST_RE.test(name)) {
        const text = readFileSync(abs, 'utf8');
        hash.update(relPath).update(text);
        (stage === 'setup' ? files.setupManifests : files.solutionManifests).push(relPath);
        for (const object of readLabManifest(relPath, text)) created.push({ obj: object, file: relPath, stage });
      } else if (name === `${stage}.sh`) {
        hash.update(relPath).update(readFileSync(abs));
        if (stage === 'setup') files.setupScript = relPath;
        else files.solutionScript = relPath;
      } else if (/^node\.[^.]+\.sh$/.test(name)) {
        hash.update(relPath).update(readFileSync(abs));
        const role = name.slice('node.'.length, -'.sh'.length);
        if (!(NODE_ROLES as readonly string[]).includes(role)) {
          const guess = didYouMean(role, NODE_ROLES);
          err(
            relLab(relPath),
            1,
            1,
            `node script for unknown node "${role}"`,
            guess ? `did you mean node.${guess}.sh?` : `name it node.<role>.sh with a role of ${NODE_ROLES.join(', ')}`,
          );
        } else if (roleLacking(role, meta.cluster)) {
          const lack = roleLacking(role, meta.cluster)!;
          err(relLab(relPath), 1, 1, `${name} runs on ${role}, but ${lack.has}`, lack.hint);
        } else (stage === 'setup' ? files.setupNodeScripts : files.solutionNodeScripts).push({ role: role as NodeRoleName, file: relPath });
      } else if (stage === 'solution' && name === 'workstation.sh') {
        hash.update(relPath).update(readFileSync(abs));
        files.solutionWorkstationScript = relPath;
      } else {
        warn(
          relLab(relPath),
          1,
          1,
          `ignored: ${stage}/ holds *.yaml manifests, ${stage}.sh, node.<role>.sh${stage === 'solution' ? ' and workstation.sh' : ''} only`,
        );
      }
    }
  }
  return { files, created, readLabManifest };
}

/** Phase 5: what the lab asks of its cluster (a dedicated one for node changes, enough workers) and that it has a reference solution. */
function checkClusterNeeds(meta: LabFrontMatter, raw: unknown, files: LabFiles, at: At, ctx: LabLoad): void {
  const { mdxFile, err } = ctx;
  if (files.setupNodeScripts.length && !meta.cluster.dedicated) {
    const pos = meta.cluster.workers || (raw && typeof raw === 'object' && 'cluster' in raw) ? at(['cluster'], true) : { line: 1, col: 1 };
    err(
      mdxFile,
      pos.line,
      pos.col,
      `${files.setupNodeScripts.map((n) => n.file).join(', ')} change${files.setupNodeScripts.length === 1 ? 's' : ''} a node, so the lab needs a cluster of its own`,
      'add dedicated: true under cluster, so its cluster is never handed to another lab',
    );
  }
  for (const [i, role] of (meta.broken?.nodes ?? []).entries()) {
    const lack = roleLacking(role, meta.cluster);
    if (lack) {
      const pos = at(['broken', 'nodes', i]);
      err(mdxFile, pos.line, pos.col, `broken names node ${role}, but ${lack.has}`, lack.hint);
    }
  }
  if (meta.broken && !meta.cluster.dedicated) {
    const pos = at(['broken'], true);
    err(mdxFile, pos.line, pos.col, 'a lab that breaks nodes or cluster components needs a cluster of its own', 'add dedicated: true under cluster');
  }
  if (files.solutionManifests.length === 0 && !files.solutionScript && !files.solutionNodeScripts.length && !files.solutionWorkstationScript) {
    err(mdxFile, 1, 1, 'the lab has no reference solution', 'add solution/*.yaml manifests and/or solution/solution.sh that make every check pass');
  }
}

/**
 * Phase 6: checks that name pods/services the lab never creates will always fail: catch typos now.
 * (Skipped without a solution: "add a solution" is the one problem worth reporting then.)
 */
function checkNamedObjects(meta: LabFrontMatter, files: LabFiles, created: CreatedObject[], at: At, ctx: LabLoad): void {
  const { labDir, mdxFile, err } = ctx;
  const hasSolution =
    files.solutionManifests.length > 0 ||
    files.solutionScript !== undefined ||
    files.solutionNodeScripts.length > 0 ||
    files.solutionWorkstationScript !== undefined;
  // Scripts can create objects too (kubectl run, helm): a name that appears in a script counts as
  // created by it; one that appears nowhere is still a typo.
  const scriptText = [files.setupScript, files.solutionScript, ...files.setupNodeScripts.map((n) => n.file), ...files.solutionNodeScripts.map((n) => n.file)]
    .filter((f): f is string => f !== undefined)
    .map((f) => ctx.params.text(ctx.relLab(f), readFileSync(path.join(labDir, f), 'utf8')))
    .join('\n');
  ctx.params.scanFiles(labDir, labFilesOf(labDir), ctx.relLab);
  const inScripts = (name: string) =>
    scriptText !== '' && new RegExp(`(^|[^\\w-])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w-])`, 'm').test(scriptText);
  if (hasSolution) {
    const pods = created.filter((c) => c.obj.kind === 'Pod').map((c) => `${c.obj.metadata.namespace ?? 'default'}/${c.obj.metadata.name}`);
    const services = [
      ...CLUSTER_SERVICES,
      ...meta.cluster.addons.flatMap((a) => ADDON_SERVICES[a]),
      ...created.filter((c) => c.obj.kind === 'Service').map((c) => `${c.obj.metadata.namespace ?? 'default'}/${c.obj.metadata.name}`),
    ];
    const workloads = created.map((c) => ({ ns: c.obj.metadata.namespace ?? 'default', labels: podLabelsOf(c.obj) })).filter((w) => w.labels !== undefined);
    meta.tasks.forEach((task, ti) =>
      task.checks.forEach((check, ci) => {
        for (const [refPath, ref] of podRefsOf(check)) {
          const p = ['tasks', ti, 'checks', ci, ...refPath];
          const pos = at(p);
          // kube-system pods come with the cluster (control-plane static pods, CoreDNS, kube-proxy).
          if (podNamespace(ref) === 'kube-system') continue;
          if (typeof ref === 'string' || ref.name) {
            const full = typeof ref === 'string' ? ref : `${ref.namespace}/${ref.name}`;
            if (!pods.includes(full) && !inScripts(full.split('/')[1]!)) {
              const guess = didYouMean(full, pods);
              err(
                mdxFile,
                pos.line,
                pos.col,
                `check refers to pod ${full}, but neither setup nor solution creates it`,
                guess ? `did you mean ${guess}?` : 'pods created by a Deployment have generated names: use { namespace, selector } instead',
              );
            }
          } else if (ref.selector && /^[\w./-]+=[\w.-]+(,[\w./-]+=[\w.-]+)*$/.test(ref.selector)) {
            const selects = parseLabelSelector(ref.selector);
            const match = workloads.some((w) => w.ns === ref.namespace && selects(w.labels));
            if (!match && !labelSelectorTerms(ref.selector).every((t) => t.values.every((v) => inScripts(v))))
              err(mdxFile, pos.line, pos.col, `no pod that setup or solution creates in namespace ${ref.namespace} has labels ${ref.selector}`);
          }
        }
        if (check.kind === 'probe' && 'service' in check.to) {
          const [ns, name] = check.to.service.includes('/') ? check.to.service.split('/') : [podNamespace(check.from), check.to.service];
          const full = `${ns}/${name}`;
          if (!services.includes(full) && !inScripts(name!)) {
            const pos = at(['tasks', ti, 'checks', ci, 'to', 'service']);
            const guess = didYouMean(full, services);
            const own = created.filter((c) => c.obj.kind === 'Service').map((c) => `${c.obj.metadata.namespace ?? 'default'}/${c.obj.metadata.name}`);
            err(
              mdxFile,
              pos.line,
              pos.col,
              `probe targets service ${full}, but neither setup nor solution creates it`,
              guess ? `did you mean ${guess}?` : own.length ? `the lab creates: ${own.join(', ')}` : 'setup and solution create no Service',
            );
          }
        }
        // A volume check's claim lives in its pods' namespace; its volume is cluster-scoped.
        if (check.kind === 'volume') {
          const ns = podNamespace(check.pods);
          const named = (kind: string, namespaced: boolean) =>
            created
              .filter((c) => c.obj.kind === kind)
              .map((c) => (namespaced ? `${c.obj.metadata.namespace ?? 'default'}/${c.obj.metadata.name}` : c.obj.metadata.name));
          // A name the check reads that neither setup nor solution creates (nor a script mentions).
          const mustBeCreated = (field: 'claim' | 'persistentVolume', what: string, kind: string, name: string, list: string[]) => {
            if (list.includes(name) || inScripts(name.split('/').pop()!)) return;
            const pos = at(['tasks', ti, 'checks', ci, field]);
            const guess = didYouMean(name, list);
            err(
              mdxFile,
              pos.line,
              pos.col,
              `volume check names ${what} ${name}, but neither setup nor solution creates it`,
              guess ? `did you mean ${guess}?` : list.length ? `the lab creates: ${list.join(', ')}` : `setup and solution create no ${kind}`,
            );
          };
          mustBeCreated('claim', 'claim', 'PersistentVolumeClaim', `${ns}/${check.claim}`, named('PersistentVolumeClaim', true));
          if (check.persistentVolume !== undefined) {
            mustBeCreated('persistentVolume', 'PersistentVolume', 'PersistentVolume', check.persistentVolume, named('PersistentVolume', false));
          }
        }
        // dns address "namespace/service" stands for that Service's cluster IP; an IP is used as written.
        if (
          check.kind === 'dns' &&
          check.address !== undefined &&
          /^[a-z0-9-]+\/[a-z0-9-]+$/.test(check.address) &&
          !services.includes(check.address) &&
          !inScripts(check.address.split('/')[1]!)
        ) {
          const pos = at(['tasks', ti, 'checks', ci, 'address']);
          const guess = didYouMean(check.address, services);
          err(
            mdxFile,
            pos.line,
            pos.col,
            `dns address names service ${check.address}, but neither setup nor solution creates it`,
            guess ? `did you mean ${guess}?` : undefined,
          );
        }
      }),
    );
  }
}

/** Phase 7: the MDX body compiles, uses only known components, and has a section for every task. */
async function checkInstructions(source: string, compiler: MdxCompiler, meta: LabFrontMatter, at: At, ctx: LabLoad): Promise<CompiledBody | undefined> {
  const { mdxFile, err, warn } = ctx;
  const taskIds = new Set(meta.tasks.map((t) => t.id));
  const checked = await checkBody(source, compiler, taskIds, mdxFile, err, warn);
  if (checked) ctx.params.checkComponents(checked.body.components);
  if (checked) {
    meta.tasks.forEach((t, ti) => {
      // A misspelt <Task id> was already reported with a did-you-mean for this task.
      if (!checked.bound.has(t.id) && !checked.misspelt.has(t.id)) {
        const pos = at(['tasks', ti, 'id']);
        err(mdxFile, pos.line, pos.col, `task ${t.id} has no <Task id="${t.id}"> section in the instructions`, 'learners need to read what each task asks');
      }
    });
  }

  return checked?.body;
}

/** Every shell script of the lab (setup, solution, mistakes, checks): pipelines that fail now and then under pipefail. */
function checkShellScripts(ctx: LabLoad): void {
  const scripts = filesBelow(ctx.labDir)
    .filter((f) => f.endsWith('.sh'))
    .map((rel) => ({ rel, text: readFileSync(path.join(ctx.labDir, rel), 'utf8') }));
  // A library runs with the options of the script that sources it.
  const sourcedStrict = new Set(scripts.filter((s) => setsPipefail(s.text)).flatMap((s) => sourcedNames(s.text)));
  for (const { rel, text } of scripts) {
    const pipefail = setsPipefail(text) || sourcedStrict.has(path.basename(rel));
    for (const f of earlyExitPipes(text, { pipefail })) ctx.err(ctx.relLab(rel), f.line, f.col, f.message, f.hint);
  }
}

/** Phase 8: where the lab's honesty gates can run: on the model cluster, or only on a real one (and why). */
function gateSite(meta: LabFrontMatter, files: LabFiles): { gate: GateSite; gateReason: string | undefined } {
  const realOnly = [
    files.setupScript,
    files.solutionScript,
    ...files.setupNodeScripts.map((n) => n.file),
    ...files.solutionNodeScripts.map((n) => n.file),
    files.solutionWorkstationScript,
  ].filter((f): f is string => f !== undefined);
  // A mistake's own script makes only that mistake real-only (the model gates skip it and say so).
  const kinds = new Set(meta.tasks.flatMap((t) => t.checks.map((c) => c.kind)));
  if (kinds.has('script')) realOnly.push('script checks');
  // The model cluster simulates the API and pods, not node machines or the learner's container.
  if (kinds.has('node')) realOnly.push('node checks (the model cluster has no node machines)');
  if (kinds.has('workstation')) realOnly.push('workstation checks (the model cluster has no workstation)');
  // RBAC answers depend on the built-in ClusterRoles (view, edit, admin, system:*) and their
  // aggregation, which the model cluster does not carry: a can-i answered without them would lie.
  if (meta.tasks.some((t) => t.checks.some((c) => c.kind === 'volume' && c.file !== undefined)))
    realOnly.push('volume checks that read a file (the model cluster has no container filesystems)');
  if (kinds.has('access')) realOnly.push('access checks (the model cluster has no built-in RBAC roles to evaluate can-i against)');
  if (meta.realClusterOnly) realOnly.push(`the lab says: ${meta.realClusterOnly}`);
  // The model cluster does not run controllers that labs install (an ingress controller routes by Ingress objects).
  if (meta.images.some((i) => /traefik|ingress-nginx|haproxy-ingress/.test(i))) realOnly.push('its ingress controller');
  // Nor does it run cluster add-ons (metrics, Gateway controllers, load balancers, node tools).
  if (meta.cluster.addons.length) realOnly.push(`its add-ons (${meta.cluster.addons.join(', ')})`);
  return realOnly.length
    ? { gate: 'real', gateReason: `${realOnly.join(' and ')} can only run against a real cluster` }
    : { gate: 'model', gateReason: undefined };
}

/**
 * Whether the cluster shape lacks the node a role names (worker2 needs two workers, control-plane3
 * three control-plane nodes): what it has and how to fix it, or undefined when the node exists.
 */
function roleLacking(role: string, cluster: LabFrontMatter['cluster']): { has: string; hint: string } | undefined {
  const cp = /^control-plane(\d*)$/.exec(role);
  if (cp) {
    const needed = cp[1] ? Number(cp[1]) : 1;
    const has = cluster.controlPlanes ?? 1;
    return needed > has
      ? { has: `the lab's cluster has ${has} control-plane node(s)`, hint: `set cluster.controlPlanes to ${needed === 2 ? '2 or 3' : needed}` }
      : undefined;
  }
  const needed = role === 'worker' ? 1 : Number(role.slice('worker'.length));
  return needed > cluster.workers
    ? { has: `the lab's cluster has ${cluster.workers} worker(s)`, hint: `set cluster.workers to at least ${needed}` }
    : undefined;
}

type Report = (file: string, line: number, col: number, message: string, hint?: string) => void;
type Hash = ReturnType<typeof createHash>;

const MISTAKE_NAME = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;

/**
 * Reads mistakes/<name>/ folders: mistake.yaml (title, maxPercent, why) plus the manifests and
 * optional mistake.sh that bring a freshly set-up cluster to that wrong answer.
 */
function readMistakes(
  labDir: string,
  relLab: (p: string) => string,
  readManifest: (relPath: string, text: string) => ManifestObject[],
  hash: Hash,
  err: Report,
  warn: Report,
): LabMistake[] {
  const out: LabMistake[] = [];
  for (const name of listFiles(path.join(labDir, 'mistakes'))) {
    if (name.startsWith('.') || name.startsWith('_')) continue;
    const folder = `mistakes/${name}`;
    const dir = path.join(labDir, folder);
    if (!statSync(dir).isDirectory()) {
      warn(relLab(folder), 1, 1, 'ignored: mistakes/ holds one folder per mistake', 'move it into mistakes/<name>/ next to a mistake.yaml');
      continue;
    }
    if (!MISTAKE_NAME.test(name)) err(relLab(folder), 1, 1, `mistake folder name "${name}" must be lowercase letters, digits and "-"`);
    const declFile = `${folder}/mistake.yaml`;
    let decl: MistakeDecl | undefined;
    if (!existsSync(path.join(labDir, declFile))) {
      err(
        relLab(folder),
        1,
        1,
        `mistake ${name} has no mistake.yaml`,
        'mistake.yaml gives title: (what the wrong answer is), maxPercent: (the most it may score, 0-100) and optionally why:',
      );
    } else {
      const text = readFileSync(path.join(labDir, declFile), 'utf8');
      hash.update(declFile).update(text);
      const yaml = new PositionedYaml(text);
      if (yaml.doc.errors.length) {
        const d = describeYamlError(text, yaml.doc.errors[0]!);
        const pos = yaml.pos(d.offset);
        err(relLab(declFile), pos.line, pos.col, d.message, d.hint);
      } else {
        const parsed = MistakeDecl.safeParse(yaml.doc.toJS());
        if (parsed.success) decl = parsed.data;
        else
          for (const p of zodProblems(parsed.error, yaml, relLab(declFile), () => Object.keys(MistakeDecl.shape), 'mistake.yaml'))
            err(p.file, p.line, p.col, p.message, p.hint);
      }
    }
    const manifests: string[] = [];
    let script: string | undefined;
    let workstationScript: string | undefined;
    const nodeScripts: NodeScript[] = [];
    let misnamed = false;
    for (const file of listFiles(dir)) {
      const rel = `${folder}/${file}`;
      if (file === 'mistake.yaml') continue;
      if (MANIFEST_RE.test(file)) {
        const text = readFileSync(path.join(labDir, rel), 'utf8');
        hash.update(rel).update(text);
        readManifest(rel, text);
        manifests.push(rel);
      } else if (file === 'mistake.sh') {
        hash.update(rel).update(readFileSync(path.join(labDir, rel)));
        script = rel;
      } else if (file === 'workstation.sh') {
        hash.update(rel).update(readFileSync(path.join(labDir, rel)));
        workstationScript = rel;
      } else if (/^node\.[a-z0-9-]+\.sh$/.test(file) && (NODE_ROLES as readonly string[]).includes(file.slice('node.'.length, -'.sh'.length))) {
        hash.update(rel).update(readFileSync(path.join(labDir, rel)));
        nodeScripts.push({ role: file.slice('node.'.length, -'.sh'.length) as NodeRoleName, file: rel });
      } else if (file.endsWith('.sh')) {
        misnamed = true;
        err(
          relLab(rel),
          1,
          1,
          `a mistake's scripts are mistake.sh (on the grading host, like solution.sh), node.<role>.sh (as root on that node) and workstation.sh (in the workstation); ${file} is none of them, so it would be silently skipped`,
          `rename it, e.g. to ${folder}/mistake.sh, or node.<role>.sh with a role of ${NODE_ROLES.join(', ')}`,
        );
      } else {
        warn(relLab(rel), 1, 1, `ignored: ${folder}/ holds mistake.yaml, *.yaml manifests, mistake.sh, node.<role>.sh and workstation.sh only`);
      }
    }
    if (manifests.length === 0 && !script && !workstationScript && nodeScripts.length === 0 && !misnamed) {
      err(
        relLab(folder),
        1,
        1,
        `mistake ${name} applies nothing`,
        'add the manifests (and/or mistake.sh) that make the wrong answer, as solution/ does for the right one',
      );
    }
    if (decl) out.push({ name, title: decl.title, maxPercent: decl.maxPercent, why: decl.why, manifests, script, nodeScripts, workstationScript });
  }
  return out;
}

/** Checks that pass when something does not work (a refused connection, a missing name or object). */
function isNegativeCheck(c: CheckDecl): boolean {
  return (c.kind === 'probe' && c.expect === 'blocked') || (c.kind === 'dns' && c.expect === 'fails') || c.kind === 'absent';
}

function negativeKind(c: CheckDecl): string {
  return c.kind === 'probe' ? 'probe expect: blocked' : c.kind === 'dns' ? 'dns expect: fails' : c.kind;
}

/** Compiles the MDX body and checks its components; returns the body and the task ids it binds. */
async function checkBody(
  source: string,
  compiler: MdxCompiler,
  taskIds: ReadonlySet<string>,
  mdxFile: string,
  err: Report,
  warn: Report,
): Promise<{ body: CompiledBody; bound: Set<string>; misspelt: Set<string> } | undefined> {
  let body: CompiledBody;
  try {
    body = await compiler.compile(source);
  } catch (e) {
    if (e instanceof MdxCompileError) for (const p of [e, ...e.more]) err(mdxFile, p.line, p.col, `MDX: ${p.message}`, p.hint);
    else err(mdxFile, 1, 1, `MDX: ${(e as Error).message}`);
    return undefined;
  }
  const bound = new Set<string>();
  const misspelt = new Set<string>();
  for (const c of body.components) {
    const spec = (LAB_COMPONENTS as Record<string, { required: readonly string[]; optional: readonly string[] }>)[c.name];
    if (!spec) {
      if (/^[A-Z]/.test(c.name) || c.name.includes('.')) {
        const guess = didYouMean(c.name, Object.keys(LAB_COMPONENTS));
        err(
          mdxFile,
          c.line,
          c.col,
          `unknown component <${c.name}>`,
          guess
            ? `did you mean <${guess}>?`
            : `labs can use ${Object.keys(LAB_COMPONENTS)
                .map((n) => `<${n}>`)
                .join(', ')}`,
        );
      }
      continue;
    }
    for (const a of spec.required) if (!(a in c.attributes)) err(mdxFile, c.line, c.col, `<${c.name}> needs the attribute ${a}`);
    for (const a of Object.keys(c.attributes)) {
      if (!spec.required.includes(a) && !spec.optional.includes(a)) {
        const takes = [...spec.required, ...spec.optional];
        warn(mdxFile, c.line, c.col, `<${c.name}> ignores attribute ${a}`, takes.length ? `it takes ${takes.join(', ')}` : 'it takes no attributes');
      }
    }
    if (c.name === 'Node' && typeof c.attributes.name === 'string' && !/^(controlplane[23]?|node(0[1-9]|[1-9]\d))$/.test(c.attributes.name)) {
      err(
        mdxFile,
        c.line,
        c.col,
        `<Node name="${c.attributes.name}"> is not a node name`,
        'nodes are named as in the exam: controlplane (controlplane2, controlplane3 with cluster.controlPlanes), node01, node02, …',
      );
    }
    if (c.name === 'Run' && c.text && c.text.rendered !== c.text.source) {
      warn(
        mdxFile,
        c.line,
        c.col,
        `<Run> shows the command as "${c.text.rendered}", not as written: Markdown changed it`,
        'wrap the command in backticks, <Run>`…`</Run>, so characters like * _ \\ [ ] reach the terminal unchanged',
      );
    }
    if (c.name === 'Task' && typeof c.attributes.id === 'string') {
      const id = c.attributes.id;
      if (!taskIds.has(id)) {
        const guess = didYouMean(id, [...taskIds]);
        if (guess) misspelt.add(guess);
        err(
          mdxFile,
          c.line,
          c.col,
          `<Task id="${id}"> does not match any task in the front matter`,
          guess ? `did you mean "${guess}"?` : `tasks: ${[...taskIds].join(', ')}`,
        );
      } else if (bound.has(id)) err(mdxFile, c.line, c.col, `<Task id="${id}"> appears twice`);
      bound.add(id);
    }
  }
  return { body, bound, misspelt };
}

function podNamespace(ref: PodRef): string {
  return typeof ref === 'string' ? ref.split('/')[0]! : ref.namespace;
}

function podRefsOf(check: CheckDecl): [PropertyKey[], PodRef][] {
  const out: [PropertyKey[], PodRef][] = [];
  if (check.kind === 'probe') {
    out.push([['from'], check.from]);
    if ('pod' in check.to) out.push([['to', 'pod'], check.to.pod]);
  } else if (check.kind === 'dns') out.push([['from'], check.from]);
  else if (check.kind === 'podReady') out.push([['pod'], check.pod]);
  else if (check.kind === 'placement' || check.kind === 'volume') out.push([['pods'], check.pods]);
  return out;
}

// The keys the schema allows at a path of the raw front matter, for "did you mean" hints.
function knownKeysAt(raw: unknown, p: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = LabFrontMatter;
  let node: unknown = raw;
  for (const part of p) {
    schema = unwrapSchema(schema);
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(part)] ?? z.never();
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    node = (node as Record<PropertyKey, unknown> | undefined)?.[part];
  }
  schema = unwrapSchema(schema);
  if (schema instanceof z.ZodDiscriminatedUnion) {
    const kind = (node as { kind?: unknown } | undefined)?.kind;
    const option = (schema.options as z.ZodType[]).find((o) => {
      const s = unwrapSchema(o);
      return s instanceof z.ZodObject && (s.shape.kind as z.ZodLiteral).value === kind;
    });
    schema = option ? unwrapSchema(option) : schema;
  }
  if (schema instanceof z.ZodUnion) {
    const objects = (schema.options as z.ZodType[]).map(unwrapSchema).filter((o): o is z.ZodObject => o instanceof z.ZodObject);
    return [...new Set(objects.flatMap((o) => Object.keys(o.shape)))];
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrapSchema(s: z.ZodType): z.ZodType {
  let cur = s;
  for (;;) {
    if (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional) cur = cur.unwrap() as z.ZodType;
    else if (cur instanceof z.ZodPipe) cur = cur.in as z.ZodType;
    else return cur;
  }
}

/** The domain names shown to learners, keyed by id (re-exported for routes). */
export type { DomainId };
