import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { CheckDecl, PodRef } from '../../../graders/src/checks/schema.ts';
import { MdxCompileError, type CompiledBody, type MdxCompiler } from './bundle.ts';
import { ADDON_SERVICES, EXAM_KUBERNETES_VERSION, imageProblem, LAB_COMPONENTS, LabFrontMatter, TrackDecl, type DomainId } from './format.ts';
import { imagesOf, parseManifests, podLabelsOf, type ManifestObject } from './manifests.ts';
import { describeYamlError, didYouMean, PositionedYaml, zodProblems, type Problem } from './problems.ts';

/** Setup and reference-solution files of a lab, as paths relative to the lab folder. */
export interface LabFiles {
  setupManifests: string[];
  setupScript: string | undefined;
  solutionManifests: string[];
  solutionScript: string | undefined;
}

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
  gate: GateSite;
  /** Why the gate site is "real", if it is. */
  gateReason: string | undefined;
  warnings: Problem[];
  /** Hash of all the lab's files, to notice changes. */
  hash: string;
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
  const trackDirs = readdirSync(labsDir, { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('.') && !d.name.startsWith('_'));
  const pending: Promise<Lab | BrokenLab>[] = [];
  for (const t of trackDirs.sort((a, b) => a.name.localeCompare(b.name))) {
    const trackDir = path.join(labsDir, t.name);
    catalog.tracks.push(readTrack(trackDir, t.name, rel, catalog.problems));
    for (const l of readdirSync(trackDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!l.isDirectory() || l.name.startsWith('.') || l.name.startsWith('_')) continue;
      const labDir = path.join(trackDir, l.name);
      if (!existsSync(path.join(labDir, 'lab.mdx'))) {
        catalog.problems.push({ file: rel(labDir), line: 1, col: 1, severity: 'error', message: 'folder has no lab.mdx', hint: 'every folder in a track is a lab: add lab.mdx or move the folder out' });
        continue;
      }
      pending.push(loadLab(labDir, t.name, compiler, root));
    }
  }
  const results = await Promise.all(pending);
  const byId = new Map<string, string>();
  for (const r of results) {
    const file = rel(path.join(r.dir, 'lab.mdx'));
    const other = byId.get(r.id);
    if (other) {
      const dup: Problem = { file, line: 1, col: 1, severity: 'error', message: `lab id "${r.id}" is also used by ${other}`, hint: 'lab ids are unique across all tracks' };
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
  catalog.tracks.sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
  // Labs in track order, then in the order each track.yaml lists them (unlisted ones last, by id).
  const trackIndex = new Map(catalog.tracks.map((t, i) => [t.id, i]));
  const position = (lab: { id: string; track: string }) => {
    const listed = catalog.tracks[trackIndex.get(lab.track) ?? -1]?.labs.indexOf(lab.id) ?? -1;
    return listed === -1 ? Number.MAX_SAFE_INTEGER : listed;
  };
  catalog.labs.sort((a, b) => (trackIndex.get(a.track) ?? 0) - (trackIndex.get(b.track) ?? 0) || position(a) - position(b) || a.id.localeCompare(b.id));
  for (const track of catalog.tracks) {
    const here = results.filter((r) => r.track === track.id).map((r) => r.id);
    track.labs.forEach((id, i) => {
      if (here.includes(id)) return;
      const file = path.join(labsDir, track.id, 'track.yaml');
      const yaml = new PositionedYaml(readFileSync(file, 'utf8'));
      const guess = didYouMean(id, here);
      catalog.problems.push({ file: rel(file), ...yaml.at(['labs', i]), severity: 'error', message: `labs lists "${id}", but track ${track.id} has no lab with that id`, hint: guess ? `did you mean "${guess}"?` : `labs in this track: ${here.join(', ') || '(none)'}` });
    });
  }
  return catalog;
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

// Files below dir (relative paths, sorted), for hashing helpers that check scripts source.
function listFilesDeep(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

/** Loads and validates one lab folder. */
export async function loadLab(labDir: string, track: string, compiler: MdxCompiler, root: string): Promise<Lab | BrokenLab> {
  const folder = path.basename(labDir);
  const mdxPath = path.join(labDir, 'lab.mdx');
  const relLab = (p: string) => path.relative(root, path.join(labDir, p));
  const mdxFile = relLab('lab.mdx');
  const problems: Problem[] = [];
  const err = (file: string, line: number, col: number, message: string, hint?: string) =>
    problems.push({ file, line, col, message, severity: 'error', ...(hint ? { hint } : {}) });
  const warn = (file: string, line: number, col: number, message: string, hint?: string) =>
    problems.push({ file, line, col, message, severity: 'warning', ...(hint ? { hint } : {}) });
  // Problems in file order, as an instructor reads them (the checks above run in another order).
  const sorted = () => problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
  const broken = (title?: string): BrokenLab => ({ id: folder, track, dir: labDir, title, problems: sorted() });

  const source = readFileSync(mdxPath, 'utf8');
  const hash = createHash('sha256');
  hash.update(source);

  // 1. Front matter.
  const fm = splitFrontMatter(source);
  if (!fm) {
    err(mdxFile, 1, 1, 'lab.mdx must start with YAML front matter between --- lines', 'see labs/README.md for a complete example');
    return broken();
  }
  const yaml = new PositionedYaml(fm.yaml, fm.startLine);
  if (yaml.doc.errors.length) {
    // Only the first YAML error: the parser's later errors are usually consequences of it.
    const d = describeYamlError(fm.yaml, yaml.doc.errors[0]!);
    err(mdxFile, yaml.pos(d.offset).line, yaml.pos(d.offset).col, d.message, d.hint);
    return broken();
  }
  const raw = yaml.doc.toJS() as unknown;
  const parsed = LabFrontMatter.safeParse(raw);
  if (!parsed.success) {
    problems.push(...zodProblems(parsed.error, yaml, mdxFile, (p) => knownKeysAt(raw, p)));
    // Still compile the body, so one run reports every problem in the file.
    const rawTasks = (raw as { tasks?: unknown } | null)?.tasks;
    const ids = Array.isArray(rawTasks) ? rawTasks.map((t) => (t as { id?: unknown })?.id).filter((id): id is string => typeof id === 'string') : [];
    await checkBody(source, compiler, new Set(ids), mdxFile, err, warn);
    const title = typeof raw === 'object' && raw && 'title' in raw ? String((raw as { title: unknown }).title) : undefined;
    return broken(title);
  }
  const meta = parsed.data;
  const at = (p: readonly PropertyKey[], key = false) => yaml.at(p, key);

  if (meta.id !== folder) {
    const pos = at(['id']);
    err(mdxFile, pos.line, pos.col, `id "${meta.id}" must match the folder name "${folder}"`, `rename the folder or set id: ${folder}`);
  }
  if (meta.kubernetes !== EXAM_KUBERNETES_VERSION) {
    const pos = at(['kubernetes']);
    warn(mdxFile, pos.line, pos.col, `lab targets Kubernetes ${meta.kubernetes}, the exam runs ${EXAM_KUBERNETES_VERSION}`);
  }

  // 2. Tasks, checks and points.
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
      if (check.kind === 'script' && check.file) {
        const target = path.join(labDir, check.file);
        if (!existsSync(target)) {
          const pos = at(['tasks', ti, 'checks', ci, 'file']);
          err(mdxFile, pos.line, pos.col, `script file ${check.file} does not exist in the lab folder`);
        } else hash.update(readFileSync(target));
      }
      if (check.kind === 'field' && check.matches !== undefined) {
        try {
          new RegExp(check.matches);
        } catch (e) {
          const pos = at(['tasks', ti, 'checks', ci, 'matches']);
          err(mdxFile, pos.line, pos.col, `matches is not a valid regular expression: ${(e as Error).message}`);
        }
      }
    });
    if (task.checks.every((c) => c.guard)) {
      const pos = at(['tasks', ti, 'checks']);
      err(mdxFile, pos.line, pos.col, `task ${task.id} has only guard checks, so it can never earn points`, 'mark at least one check that needs the learner\'s work as guard: false');
    }
  });
  const total = meta.tasks.reduce((s, t) => s + t.points, 0);
  if (meta.points !== undefined && meta.points !== total) {
    const pos = at(['points']);
    err(mdxFile, pos.line, pos.col, `points is ${meta.points} but the tasks add up to ${total}`, `tasks: ${meta.tasks.map((t) => `${t.id}=${t.points}`).join(', ')}`);
  }

  // 3. Setup and solution files.
  const files: LabFiles = { setupManifests: [], setupScript: undefined, solutionManifests: [], solutionScript: undefined };
  const created: { obj: ManifestObject; file: string; stage: 'setup' | 'solution' }[] = [];
  for (const stage of ['setup', 'solution'] as const) {
    for (const name of listFiles(path.join(labDir, stage))) {
      const relPath = `${stage}/${name}`;
      const abs = path.join(labDir, relPath);
      if (MANIFEST_RE.test(name)) {
        const text = readFileSync(abs, 'utf8');
        hash.update(relPath).update(text);
        (stage === 'setup' ? files.setupManifests : files.solutionManifests).push(relPath);
        const parsedManifests = parseManifests(text, relLab(relPath));
        problems.push(...parsedManifests.problems);
        for (const { object, line, images } of parsedManifests.objects) {
          created.push({ obj: object, file: relPath, stage });
          for (const image of imagesOf(object)) {
            const at = images.find((i) => i.image === image) ?? { line, col: 1 };
            const why = imageProblem(image);
            if (why) err(relLab(relPath), at.line, at.col, why, 'pin the tag, e.g. docker.io/library/busybox:1.37.0, and list it under images in lab.mdx');
            else if (!meta.images.includes(image)) {
              // Same repository with another tag is the likely slip; a different image just needs listing.
              const repo = (ref: string) => ref.replace(/[:@][^/]*$/, '');
              const sameRepo = meta.images.find((i) => repo(i) === repo(image));
              err(relLab(relPath), at.line, at.col, `${object.kind} ${object.metadata.name} runs image ${image}, which is not listed in the front matter's images`, sameRepo ? `the front matter lists ${sameRepo}: use the same tag in both places` : 'list every image the lab runs under images in lab.mdx, so it can be preloaded into the cluster');
            }
          }
        }
      } else if (name === `${stage}.sh`) {
        hash.update(relPath).update(readFileSync(abs));
        if (stage === 'setup') files.setupScript = relPath;
        else files.solutionScript = relPath;
      } else {
        warn(relLab(relPath), 1, 1, `ignored: ${stage}/ holds *.yaml manifests and ${stage}.sh only`);
      }
    }
  }
  for (const name of listFilesDeep(path.join(labDir, 'checks'))) hash.update(name).update(readFileSync(path.join(labDir, 'checks', name)));
  if (files.solutionManifests.length === 0 && !files.solutionScript) {
    err(mdxFile, 1, 1, 'the lab has no reference solution', 'add solution/*.yaml manifests and/or solution/solution.sh that make every check pass');
  }

  // 4. Checks that name pods/services the lab never creates will always fail: catch typos now.
  // (Skipped without a solution: "add a solution" is the one problem worth reporting then.)
  const hasSolution = files.solutionManifests.length > 0 || files.solutionScript !== undefined;
  if (!files.setupScript && !files.solutionScript && hasSolution) {
    const pods = created.filter((c) => c.obj.kind === 'Pod').map((c) => `${c.obj.metadata.namespace ?? 'default'}/${c.obj.metadata.name}`);
    const services = [...CLUSTER_SERVICES, ...meta.cluster.addons.flatMap((a) => ADDON_SERVICES[a]), ...created.filter((c) => c.obj.kind === 'Service').map((c) => `${c.obj.metadata.namespace ?? 'default'}/${c.obj.metadata.name}`)];
    const workloads = created.map((c) => ({ ns: c.obj.metadata.namespace ?? 'default', labels: podLabelsOf(c.obj) })).filter((w) => w.labels !== undefined);
    meta.tasks.forEach((task, ti) =>
      task.checks.forEach((check, ci) => {
        for (const [refPath, ref] of podRefsOf(check)) {
          const p = ['tasks', ti, 'checks', ci, ...refPath];
          const pos = at(p);
          if (typeof ref === 'string' || ref.name) {
            const full = typeof ref === 'string' ? ref : `${ref.namespace}/${ref.name}`;
            if (!pods.includes(full)) {
              const guess = didYouMean(full, pods);
              err(mdxFile, pos.line, pos.col, `check refers to pod ${full}, but neither setup nor solution creates it`, guess ? `did you mean ${guess}?` : 'pods created by a Deployment have generated names: use { namespace, selector } instead');
            }
          } else if (ref.selector && /^[\w./-]+=[\w.-]+(,[\w./-]+=[\w.-]+)*$/.test(ref.selector)) {
            const want = Object.fromEntries(ref.selector.split(',').map((kv) => kv.split('=') as [string, string]));
            const match = workloads.some((w) => w.ns === ref.namespace && Object.entries(want).every(([k, v]) => w.labels![k] === v));
            if (!match) err(mdxFile, pos.line, pos.col, `no pod that setup or solution creates in namespace ${ref.namespace} has labels ${ref.selector}`);
          }
        }
        if (check.kind === 'probe' && 'service' in check.to) {
          const [ns, name] = check.to.service.includes('/') ? check.to.service.split('/') : [podNamespace(check.from), check.to.service];
          const full = `${ns}/${name}`;
          if (!services.includes(full)) {
            const pos = at(['tasks', ti, 'checks', ci, 'to', 'service']);
            const guess = didYouMean(full, services);
            const own = created.filter((c) => c.obj.kind === 'Service').map((c) => `${c.obj.metadata.namespace ?? 'default'}/${c.obj.metadata.name}`);
            err(mdxFile, pos.line, pos.col, `probe targets service ${full}, but neither setup nor solution creates it`, guess ? `did you mean ${guess}?` : own.length ? `the lab creates: ${own.join(', ')}` : 'setup and solution create no Service');
          }
        }
        // dns address "namespace/service" stands for that Service's cluster IP; an IP is used as written.
        if (check.kind === 'dns' && check.address !== undefined && /^[a-z0-9-]+\/[a-z0-9-]+$/.test(check.address) && !services.includes(check.address)) {
          const pos = at(['tasks', ti, 'checks', ci, 'address']);
          const guess = didYouMean(check.address, services);
          err(mdxFile, pos.line, pos.col, `dns address names service ${check.address}, but neither setup nor solution creates it`, guess ? `did you mean ${guess}?` : undefined);
        }
      }),
    );
  }

  // 5. The MDX body: compiles, uses only known components, binds every task.
  const checked = await checkBody(source, compiler, taskIds, mdxFile, err, warn);
  const body = checked?.body;
  if (checked) {
    meta.tasks.forEach((t, ti) => {
      // A misspelt <Task id> was already reported with a did-you-mean for this task.
      if (!checked.bound.has(t.id) && !checked.misspelt.has(t.id)) {
        const pos = at(['tasks', ti, 'id']);
        err(mdxFile, pos.line, pos.col, `task ${t.id} has no <Task id="${t.id}"> section in the instructions`, 'learners need to read what each task asks');
      }
    });
  }

  if (problems.some((p) => p.severity === 'error') || !body) return broken(meta.title);

  const realOnly = [files.setupScript, files.solutionScript].filter((f): f is string => f !== undefined);
  if (meta.tasks.some((t) => t.checks.some((c) => c.kind === 'script'))) realOnly.push('script checks');
  // The model cluster does not run controllers that labs install (an ingress controller routes by Ingress objects).
  if (meta.images.some((i) => /traefik|ingress-nginx|haproxy-ingress/.test(i))) realOnly.push('its ingress controller');
  // Nor does it run cluster add-ons (metrics, Gateway controllers, load balancers, node tools).
  if (meta.cluster.addons.length) realOnly.push(`its add-ons (${meta.cluster.addons.join(', ')})`);
  const gate: GateSite = realOnly.length ? 'real' : 'model';
  const gateReason = realOnly.length ? `${realOnly.join(' and ')} can only run against a real cluster` : undefined;
  return { id: meta.id, track, dir: labDir, meta, body, files, gate, gateReason, warnings: sorted(), hash: hash.digest('hex').slice(0, 16) };
}

type Report = (file: string, line: number, col: number, message: string, hint?: string) => void;

/** Compiles the MDX body and checks its components; returns the body and the task ids it binds. */
async function checkBody(source: string, compiler: MdxCompiler, taskIds: ReadonlySet<string>, mdxFile: string, err: Report, warn: Report): Promise<{ body: CompiledBody; bound: Set<string>; misspelt: Set<string> } | undefined> {
  let body: CompiledBody;
  try {
    body = await compiler.compile(source);
  } catch (e) {
    if (e instanceof MdxCompileError) err(mdxFile, e.line, e.col, `MDX: ${e.message}`, e.hint);
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
        err(mdxFile, c.line, c.col, `unknown component <${c.name}>`, guess ? `did you mean <${guess}>?` : `labs can use ${Object.keys(LAB_COMPONENTS).map((n) => `<${n}>`).join(', ')}`);
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
    if (c.name === 'Run' && c.text && c.text.rendered !== c.text.source) {
      warn(mdxFile, c.line, c.col, `<Run> shows the command as "${c.text.rendered}", not as written: Markdown changed it`, 'wrap the command in backticks, <Run>`…`</Run>, so characters like * _ \\ [ ] reach the terminal unchanged');
    }
    if (c.name === 'Task' && typeof c.attributes.id === 'string') {
      const id = c.attributes.id;
      if (!taskIds.has(id)) {
        const guess = didYouMean(id, [...taskIds]);
        if (guess) misspelt.add(guess);
        err(mdxFile, c.line, c.col, `<Task id="${id}"> does not match any task in the front matter`, guess ? `did you mean "${guess}"?` : `tasks: ${[...taskIds].join(', ')}`);
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
