import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CheckDecl } from '../../../graders/src/checks/schema.ts';
import { MdxCompileError, MdxCompiler } from './bundle.ts';
import { LabFrontMatter, type DomainId } from './format.ts';
import { emptyLabFiles, type BrokenLab, type Catalog, type Lab, type Track } from './loader.ts';
import { formatProblem, type Problem } from './problems.ts';

// Killercoda scenarios as kubedrill labs. A scenario folder (index.json, Markdown step texts,
// shell scripts, assets/) is read into the same in-memory Lab the lab loader makes from lab.mdx, so
// the catalogue, attempts, grading and the lab page treat it like any lab. The mapping:
//   backend.imageid          → cluster shape (kubeadm 1 node → 0 workers, 2 nodes → 1 worker)
//   details.steps[] + verify → one task per step, graded by a workstation check that runs the
//                              verify script as root in the learner's workstation (exit 0 = pass)
//   no verify in any step    → an ungraded walkthrough: no tasks, no score; the learner moves
//                              through the steps with Next step / Done, as on Killercoda
//   intro/step background    → run as root in the workstation: the intro's (and those of steps no
//                              verify comes before) in one setup script at Start, a later step's
//                              when a Check finds every earlier step passed (the step is reached)
//   details.assets           → files written into the workstation by that same setup script
//   foreground scripts       → copied to /opt/kd-scenario/ and offered as a Run button
//   {{exec}} / {{copy}}      → the lab page's <Run> and copyable code blocks
// Scenario text is data: it is escaped into Markdown before the one MDX compile step labs use, so
// no HTML or JSX in it reaches the page. Scripts only ever run inside the attempt's workstation.

/** Where a lab came from, when it was not written as a kubedrill lab. */
export interface LabOrigin {
  kind: 'killercoda';
  /** The scenario folder, relative to the scenarios folder's parent. */
  source: string;
}

/** What a scenario runs in the learner's workstation at Start, as root (assets, then backgrounds). */
export interface ScenarioSetup {
  /** A bash script, fed to `bash -s` on stdin (assets are embedded as base64, so it may be large). */
  script: string;
  /** The files it came from, for messages. */
  from: string[];
  /** Backgrounds of later steps, run when the learner reaches their step (not at Start), in step order. */
  steps: ScenarioStepSetup[];
}

/**
 * A scenario without any verify script: Killercoda shows its steps and the learner presses Next,
 * nothing is checked. kubedrill runs it ungraded (no tasks, no score, nothing in the history): the
 * learner advances with Next step, and each step's background runs when the step is reached.
 */
export interface ScenarioWalkthrough {
  /** Every step, in order, by number (from 1) and title. */
  steps: { step: number; title: string }[];
}

/**
 * A step's background that runs when the learner reaches the step, as on Killercoda, where it runs
 * once the earlier steps' verify scripts passed: it may break or change what earlier steps built.
 */
export interface ScenarioStepSetup {
  /** The step, from 1. */
  step: number;
  title: string;
  /**
   * The step is reached once all of these are done: in a graded scenario the task ids (`step-N`) of
   * every earlier step with a verify script (done = passed a Check); in a walkthrough every earlier
   * step (done = the learner moved past it with Next step).
   */
  after: string[];
  /** A bash script for `bash -s`, as root in the workstation. */
  script: string;
  /** The background file, for messages. */
  from: string;
}

/**
 * The step setups a Check makes due: those not run yet (`done`) whose earlier verify steps have all
 * passed (`passed`: task ids that passed in this or an earlier grade of the attempt), in step order.
 */
export function dueStepSetups(setup: ScenarioSetup | undefined, passed: ReadonlySet<string>, done: ReadonlySet<number>): ScenarioStepSetup[] {
  return (setup?.steps ?? []).filter((s) => !done.has(s.step) && s.after.every((t) => passed.has(t)));
}

/**
 * A scenario's reference solution for labs:verify: each step's `solution.sh` beside its verify script
 * (kubedrill's convention; Killercoda has none), run in step order as root in the workstation, with
 * the setups of the steps each one reaches (ScenarioSetup.steps) run in between, as a learner's
 * Checks would run them.
 */
export interface ScenarioSolution {
  steps: { step: number; script: string; from: string }[];
  from: string[];
}

/** The backends kubedrill can give, by Killercoda image id, as workers beside the control plane. */
export const SCENARIO_BACKENDS: Record<string, number> = {
  'kubernetes-kubeadm-1node': 0,
  'kubernetes-kubeadm-2nodes': 1,
};

/**
 * The backend a Killercoda image id is a variant of: `kubernetes-kubeadm-2nodes-rapid` or
 * `kubernetes-kubeadm-1node-ubuntu20.04` are the same kubeadm clusters with another OS, version or
 * start-up image, so they run as the backend they extend. Undefined for backends kubedrill cannot give.
 */
export function backendBase(imageid: string): string | undefined {
  if (SCENARIO_BACKENDS[imageid] !== undefined) return imageid;
  return Object.keys(SCENARIO_BACKENDS).find((b) => imageid.startsWith(`${b}-`));
}

/** Where foreground scripts and the scenario's own files land in the workstation. */
export const SCENARIO_DIR_IN_WORKSTATION = '/opt/kd-scenario';

const TRACK_PREFIX = 'killercoda';

interface StepJson {
  title?: unknown;
  text?: unknown;
  verify?: unknown;
  background?: unknown;
  foreground?: unknown;
}

interface AssetJson {
  file?: unknown;
  target?: unknown;
  chmod?: unknown;
}

type Report = (file: string, line: number, col: number, message: string, hint?: string) => void;

/**
 * Loads every scenario under scenariosDir (a folder of scenario folders, courses with structure.json,
 * or one scenario itself) as labs and tracks; scenarios that cannot run are broken labs saying why.
 */
export async function loadScenarios(scenariosDir: string, compiler: MdxCompiler, opts: { relativeTo?: string } = {}): Promise<Catalog> {
  const root = opts.relativeTo ?? path.dirname(scenariosDir);
  const rel = (p: string) => path.relative(root, p) || '.';
  const catalog: Catalog = { tracks: [], labs: [], broken: [], problems: [] };
  if (!existsSync(scenariosDir) || !statSync(scenariosDir).isDirectory()) {
    catalog.problems.push({
      file: rel(scenariosDir),
      line: 1,
      col: 1,
      severity: 'error',
      message: 'scenarios folder does not exist',
      hint: 'point scenariosDir (--scenarios-dir, KUBEDRILL_SCENARIOS_DIR) at a folder of Killercoda scenarios',
    });
    return catalog;
  }
  const found: { dir: string; track: Track }[] = [];
  collectScenarios(scenariosDir, scenariosDir, rel, catalog, found, 0);
  // Lab ids come from the path below the scenarios folder's parent, wherever messages are relative to.
  const idRoot = path.dirname(scenariosDir);
  const results = await Promise.all(found.map((f) => loadScenario(f.dir, f.track.id, compiler, root, idRoot)));
  for (const r of results) {
    if ('problems' in r) catalog.broken.push(r);
    else catalog.labs.push(r);
  }
  // Tracks with nothing in them (a course whose scenarios all failed still shows, with its broken ones).
  const used = new Set([...catalog.labs, ...catalog.broken].map((l) => l.track));
  catalog.tracks = catalog.tracks.filter((t) => used.has(t.id));
  if (found.length === 0)
    catalog.problems.push({
      file: rel(scenariosDir),
      line: 1,
      col: 1,
      severity: 'error',
      message: 'no Killercoda scenario (a folder with index.json) in this folder or its subfolders',
    });
  return catalog;
}

// A folder is a scenario (index.json), a course (structure.json listing scenario folders) or holds them.
function collectScenarios(
  dir: string,
  top: string,
  rel: (p: string) => string,
  catalog: Catalog,
  found: { dir: string; track: Track }[],
  depth: number,
  track?: Track,
): void {
  const ownTrack = (): Track => {
    const id = `${TRACK_PREFIX}-${slugOf(path.relative(path.dirname(top), dir)) || 'scenarios'}`.slice(0, 60).replace(/-+$/, '');
    const existing = catalog.tracks.find((t) => t.id === id);
    if (existing) return existing;
    const t: Track = {
      id,
      title: `Killercoda scenarios: ${path.basename(dir)}`,
      summary: `Killercoda scenarios from ${rel(dir)}, run unchanged on kubedrill clusters.`,
      order: 900,
      labs: [],
      origin: { kind: 'killercoda', source: rel(dir) },
    };
    catalog.tracks.push(t);
    return t;
  };
  if (existsSync(path.join(dir, 'index.json'))) {
    found.push({ dir, track: track ?? ownTrack() });
    return;
  }
  if (depth > 3) return;
  const structureFile = path.join(dir, 'structure.json');
  let order: string[] | undefined;
  let courseTrack = track;
  if (existsSync(structureFile)) {
    const parsed = readJson(structureFile, rel, catalog.problems);
    const items = (parsed as { items?: unknown } | undefined)?.items;
    if (parsed !== undefined && !Array.isArray(items)) {
      catalog.problems.push({
        file: rel(structureFile),
        line: 1,
        col: 1,
        severity: 'error',
        message: 'structure.json needs "items": a list of { "path": "<scenario folder>" }',
      });
    } else if (Array.isArray(items)) {
      order = items
        .map((i) => (i && typeof i === 'object' && typeof (i as { path?: unknown }).path === 'string' ? (i as { path: string }).path : ''))
        .filter(Boolean);
      // A folder with structure.json is a course: its scenarios are one track, titled by the folder.
      courseTrack = ownTrack();
      const title = (parsed as { title?: unknown }).title;
      if (typeof title === 'string' && title.trim().length >= 3) courseTrack.title = `Killercoda: ${title.trim().slice(0, 90)}`;
      courseTrack.labs = [];
      for (const p of order) {
        const target = path.resolve(dir, p);
        if (!target.startsWith(dir + path.sep) || !existsSync(target)) {
          catalog.problems.push({
            file: rel(structureFile),
            line: lineOf(readFileSync(structureFile, 'utf8'), `"${p}"`),
            col: 1,
            severity: 'error',
            message: `structure.json lists "${p}", which is not a folder inside ${rel(dir)}`,
          });
        }
      }
    }
  }
  const children = readdirSync(dir, { withFileTypes: true })
    .filter(
      (d) =>
        !d.name.startsWith('.') &&
        !d.name.startsWith('_') &&
        (d.isDirectory() || (d.isSymbolicLink() && statSync(path.join(dir, d.name), { throwIfNoEntry: false })?.isDirectory())),
    )
    .map((d) => d.name)
    .sort((a, b) => rank(order, a) - rank(order, b) || a.localeCompare(b));
  // Loose scenarios (not in a course) are one track per folder that holds them.
  const holdsScenarios = children.some((name) => existsSync(path.join(dir, name, 'index.json')));
  const childTrack = courseTrack ?? (holdsScenarios ? ownTrack() : undefined);
  for (const name of children) collectScenarios(path.join(dir, name), top, rel, catalog, found, depth + 1, childTrack);
  if (courseTrack && courseTrack !== track)
    courseTrack.labs = found.filter((f) => f.track === courseTrack).map((f) => scenarioId(path.relative(path.dirname(top), f.dir)));
}

function rank(order: string[] | undefined, name: string): number {
  const i = order?.findIndex((p) => p.replace(/^\.\//, '').split('/')[0] === name) ?? -1;
  return i === -1 ? Number.MAX_SAFE_INTEGER : i;
}

/** Lowercase letters, digits and "-" from any text. */
function slugOf(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** The lab id of a scenario: kc- and its folder path, as a slug (unique per folder). */
export function scenarioId(relDir: string): string {
  const slug = slugOf(relDir) || 'scenario';
  const id = `kc-${slug}`;
  if (id.length <= 60) return id;
  // Long paths keep their end (the scenario's own name) and a hash of the whole path for uniqueness.
  const h = createHash('sha256').update(relDir).digest('hex').slice(0, 6);
  return `kc-${h}-${slug.slice(-(60 - 10)).replace(/^-+/, '')}`;
}

function lineOf(text: string, needle: string): number {
  const i = text.indexOf(needle);
  return i === -1 ? 1 : text.slice(0, i).split('\n').length;
}

/** Line and column (1-based) of a character offset. */
function position(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}

/** Parses a JSON file, or reports where it is broken (file:line:col) and returns undefined. */
function readJson(file: string, rel: (p: string) => string, problems: Problem[]): unknown {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const message = (e as Error).message;
    const at = /position (\d+)/.exec(message);
    const pos = at ? position(text, Number(at[1])) : /Unexpected end of JSON/.test(message) ? position(text, text.length) : { line: 1, col: 1 };
    problems.push({
      file: rel(file),
      ...pos,
      severity: 'error',
      message: `invalid JSON: ${message.replace(/\s*in JSON at position \d+.*$/, '').replace(/ \(line \d+ column \d+\)$/, '')}`,
      hint: 'a trailing comma or a missing quote is the usual cause',
    });
    return undefined;
  }
}

/** Reads one scenario folder into a Lab, or a BrokenLab whose problems say why it cannot run. */
export async function loadScenario(dir: string, track: string, compiler: MdxCompiler, root: string, idRoot = root): Promise<Lab | BrokenLab> {
  const rel = (p: string) => path.relative(root, p) || '.';
  const id = scenarioId(path.relative(idRoot, dir));
  const problems: Problem[] = [];
  const err: Report = (file, line, col, message, hint) => problems.push({ file, line, col, message, severity: 'error', ...(hint ? { hint } : {}) });
  const warn: Report = (file, line, col, message, hint) => problems.push({ file, line, col, message, severity: 'warning', ...(hint ? { hint } : {}) });
  const indexFile = path.join(dir, 'index.json');
  const indexText = readFileSync(indexFile, 'utf8');
  const hash = createHash('sha256').update('index.json').update(indexText);
  const broken = (title: string | undefined): BrokenLab => ({ id, track, dir, title, problems });
  const index = readJson(indexFile, rel, problems) as Record<string, unknown> | undefined;
  if (!index || typeof index !== 'object') {
    if (index !== undefined) err(rel(indexFile), 1, 1, 'index.json must hold an object with title, details and backend');
    return broken(undefined);
  }
  const at = (key: string) => ({ line: lineOf(indexText, `"${key}"`), col: 1 });
  const indexRel = rel(indexFile);
  const title = typeof index.title === 'string' && index.title.trim() ? index.title.trim() : path.basename(dir);
  const details = (index.details ?? {}) as Record<string, unknown>;

  // A file the scenario names: read it (inside the folder only), or report it missing.
  const files = new Map<string, string>();
  const readNamed = (name: unknown, key: string): string | undefined => {
    if (name === undefined) return undefined;
    if (typeof name !== 'string' || !name) {
      err(indexRel, at(key).line, 1, `${key} must name a file in the scenario folder`);
      return undefined;
    }
    const abs = path.resolve(dir, name);
    if (!abs.startsWith(dir + path.sep)) {
      err(indexRel, lineOf(indexText, `"${name}"`), 1, `${key} "${name}" points outside the scenario folder`);
      return undefined;
    }
    if (!existsSync(abs) || !statSync(abs).isFile()) {
      err(indexRel, lineOf(indexText, `"${name}"`), 1, `${key} names ${name}, which does not exist in ${rel(dir)}`);
      return undefined;
    }
    const text = readFileSync(abs, 'utf8');
    hash.update(name).update(text);
    files.set(name, text);
    return text;
  };

  // 1. The backend: which cluster the scenario needs.
  const backend = (index.backend ?? {}) as { imageid?: unknown };
  const imageid = typeof backend.imageid === 'string' ? backend.imageid : undefined;
  const base = imageid !== undefined ? backendBase(imageid) : undefined;
  const workers = base !== undefined ? SCENARIO_BACKENDS[base] : undefined;
  if (base !== undefined && base !== imageid) {
    warn(
      indexRel,
      at('imageid').line,
      1,
      `backend ${imageid} runs as ${base}: a kind cluster at kubedrill's Kubernetes version; what the variant changes (its OS, Kubernetes version or size) is not reproduced`,
    );
  }
  if (imageid === undefined)
    err(
      indexRel,
      at('backend').line,
      1,
      'index.json has no backend.imageid, so kubedrill cannot tell which cluster the scenario needs',
      `kubedrill runs ${Object.keys(SCENARIO_BACKENDS).join(' and ')}`,
    );
  else if (workers === undefined) {
    const why = /^ubuntu|^debian|^centos/.test(imageid)
      ? `the ${imageid} backend is a plain Linux machine without Kubernetes, where the learner is root and installs things from the internet; kubedrill gives every attempt a Kubernetes cluster and an unprivileged workstation without internet access, so it cannot stand in`
      : `kubedrill cannot give the ${imageid} backend`;
    err(
      indexRel,
      at('imageid').line,
      1,
      why,
      `kubedrill runs ${Object.keys(SCENARIO_BACKENDS).join(' and ')} as kind clusters (a control plane, and one worker for 2 nodes)`,
    );
  }
  const layout = ((index.interface ?? {}) as { layout?: unknown }).layout;
  if (typeof layout === 'string' && /ide|vscode|editor/i.test(layout))
    warn(
      indexRel,
      at('layout').line,
      1,
      `interface layout "${layout}" has an editor tab, which kubedrill does not have: the learner gets the terminal only (vim and nano are there)`,
    );

  // 2. Texts and scripts.
  const intro = (details.intro ?? {}) as StepJson;
  const finish = (details.finish ?? {}) as StepJson;
  const introText = readNamed(intro.text, 'details.intro.text');
  const finishText = readNamed(finish.text, 'details.finish.text');
  const steps = Array.isArray(details.steps) ? (details.steps as StepJson[]) : [];
  if (!Array.isArray(details.steps) || steps.length === 0)
    err(indexRel, at('details').line, 1, 'index.json has no details.steps, so there is nothing to do or grade');
  const background: { file: string; text: string }[] = [];
  const addBackground = (name: unknown, key: string) => {
    const text = readNamed(name, key);
    if (text !== undefined) background.push({ file: name as string, text });
  };
  // courseData is the older name for a script that prepares the host behind the intro: it runs first.
  addBackground((intro as { courseData?: unknown }).courseData, 'details.intro.courseData');
  addBackground(intro.background, 'details.intro.background');
  if (finish.background !== undefined)
    warn(indexRel, at('finish').line, 1, 'details.finish.background is not run: kubedrill has no moment when the learner opens the finish page');
  const foreground: { file: string; text: string; label: string }[] = [];
  const addForeground = (name: unknown, key: string, label: string) => {
    const text = readNamed(name, key);
    if (text !== undefined) foreground.push({ file: name as string, text, label });
  };
  addForeground(intro.foreground, 'details.intro.foreground', 'intro');
  const stepInfo = steps.map((s, i) => {
    const n = i + 1;
    const text = readNamed(s.text, `details.steps[${i}].text`);
    const verify = readNamed(s.verify, `details.steps[${i}].verify`);
    const bgText = readNamed(s.background, `details.steps[${i}].background`);
    addForeground(s.foreground, `details.steps[${i}].foreground`, `step${n}`);
    const stepTitle = typeof s.title === 'string' && s.title.trim() ? s.title.trim() : `Step ${n}`;
    // A solution only where the verify script has a folder of its own (step1/verify.sh → step1/solution.sh).
    const verifyDir = typeof s.verify === 'string' ? path.posix.dirname(s.verify) : '.';
    const solutionFile = verifyDir !== '.' && existsSync(path.join(dir, verifyDir, 'solution.sh')) ? `${verifyDir}/solution.sh` : undefined;
    const solution = solutionFile ? readNamed(solutionFile, `details.steps[${i}] solution`) : undefined;
    return {
      n,
      title: stepTitle,
      text,
      verify,
      verifyFile: typeof s.verify === 'string' ? s.verify : undefined,
      solution,
      solutionFile,
      background: bgText === undefined ? undefined : { file: s.background as string, text: bgText },
    };
  });
  // No verify script at all: an ungraded walkthrough, where the learner moves on with Next step.
  const walkthrough = stepInfo.length > 0 && stepInfo.every((s) => s.verify === undefined);
  // A step's background runs when the learner reaches the step. In a graded scenario: at Start when
  // no step before it has a verify script, otherwise once those steps' verify scripts passed (a step
  // without verify in between is text to read; kubedrill has no Next for it, so it is reached with
  // the graded steps around it). In a walkthrough: step 1's at Start, each later one when the learner
  // presses Next step on the step before it.
  const stepSetups: ScenarioStepSetup[] = [];
  for (const st of stepInfo) {
    if (!st.background) continue;
    const after = stepInfo.filter((x) => x.n < st.n && (walkthrough || x.verify !== undefined)).map((x) => `step-${x.n}`);
    if (after.length === 0) background.push(st.background);
    else stepSetups.push({ step: st.n, title: st.title, after, script: stepSetupScript(st.n, st.background), from: st.background.file });
  }

  // 3. Assets: files copied onto the host the learner works on (the workstation here).
  const assets = (details.assets ?? {}) as Record<string, unknown>;
  const assetFiles: { file: string; target: string; chmod: string | undefined; base64: string }[] = [];
  for (const [host, list] of Object.entries(assets)) {
    if (!Array.isArray(list)) continue;
    if (host !== 'host01') {
      err(
        indexRel,
        lineOf(indexText, `"${host}"`),
        1,
        `assets for ${host}: kubedrill copies assets into the learner's workstation (Killercoda's host01) only`,
        'scripts can still reach nodes through the cluster, e.g. a DaemonSet or hostPath volume',
      );
      continue;
    }
    for (const a of list as AssetJson[]) {
      // Killercoda's targets are absolute or in root's home (~ or ~/dir), the home of the user scripts run as.
      const target = typeof a.target === 'string' ? a.target.replace(/^~(?=\/|$)/, '/root') : undefined;
      if (typeof a.file !== 'string' || target === undefined || !target.startsWith('/')) {
        err(indexRel, at('assets').line, 1, 'each asset needs "file" (under assets/) and a "target" folder that is absolute or in root\'s home (~/…)');
        continue;
      }
      const matches = assetMatches(path.join(dir, 'assets'), a.file);
      if (matches.length === 0) {
        err(
          indexRel,
          lineOf(indexText, `"${a.file}"`),
          1,
          `asset ${a.file} does not exist in ${rel(path.join(dir, 'assets'))}`,
          /[*?]/.test(a.file) ? 'no file in assets/ matches the pattern' : 'an asset names a file in the assets/ folder, relative to it',
        );
        continue;
      }
      const chmod = typeof a.chmod === 'string' && /^[0-7]{3,4}$|^[ugoa]*[+-=][rwx]+$/.test(a.chmod) ? a.chmod : undefined;
      for (const file of matches) {
        const content = readFileSync(path.join(dir, 'assets', file));
        hash.update(file).update(content);
        assetFiles.push({ file, target, chmod, base64: content.toString('base64') });
      }
    }
  }

  // 4. What cannot run where kubedrill runs scenario scripts (the workstation): refused, with the reason.
  for (const [name, text] of files) {
    if (!name.endsWith('.sh') && !isScriptOf(name, steps, intro, finish)) continue;
    for (const u of unsupportedInScript(text)) err(rel(path.join(dir, name)), u.line, 1, u.message, u.hint);
  }

  // Killercoda's hosts have fixed addresses that scenarios write out; kubedrill's nodes have others.
  for (const [name, text] of [...files].filter(([n]) => n.endsWith('.sh') || n.endsWith('.md') || isScriptOf(n, steps, intro, finish))) {
    const line = text.split('\n').findIndex((l) => KILLERCODA_ADDRESS.test(l));
    if (line !== -1)
      warn(
        rel(path.join(dir, name)),
        line + 1,
        1,
        `${KILLERCODA_ADDRESS.exec(text.split('\n')[line]!)![0]} is the fixed address of a Killercoda host (172.30.1.2 controlplane, 172.30.2.2 node01); kubedrill's nodes have other addresses, so this line does not reach them`,
        "the names controlplane and node01 resolve in the workstation; the API server is the kubeconfig's server",
      );
  }

  // Steps that have the learner fetch from the internet load (the learner may have another way), but say so.
  const texts: [unknown, string | undefined][] = [[intro.text, introText], ...stepInfo.map((x, i): [unknown, string | undefined] => [steps[i]!.text, x.text])];
  for (const [name, text] of texts) {
    const first = text?.split('\n').findIndex((l) => downloads(l)) ?? -1;
    if (first !== -1)
      warn(
        rel(path.join(dir, String(name))),
        first + 1,
        1,
        'the text has the learner download from the internet, which the workstation cannot reach: that step cannot be done as written',
      );
  }

  // 5. The lab body: the scenario's Markdown, escaped, with tasks for steps that verify.
  const checked = new Set(stepInfo.filter((s) => s.verify !== undefined).map((s) => s.n));
  const parts: string[] = [];
  parts.push(
    walkthrough
      ? `*Killercoda scenario from \`${rel(dir)}\`: a walkthrough — not graded. Read each step, do it in the terminal, then press Next step.*`
      : `*Killercoda scenario from \`${rel(dir)}\`.*`,
  );
  if (introText !== undefined) parts.push(toLabMarkdown(introText, warn, rel(path.join(dir, String(intro.text)))));
  for (const f of foreground.filter((x) => x.label === 'intro')) parts.push(foregroundRun(f.file));
  for (const s of stepInfo) {
    const heading = `## ${escapeText(`Step ${s.n}: ${s.title}`)}`;
    const text = s.text !== undefined ? toLabMarkdown(s.text, warn, rel(path.join(dir, String(steps[s.n - 1]!.text)))) : '';
    const fg = foreground.filter((x) => x.label === `step${s.n}`).map((f) => foregroundRun(f.file));
    const deferred = stepSetups.find((x) => x.step === s.n);
    const reached = !deferred
      ? ''
      : walkthrough
        ? '*This step has a setup of its own. It runs when you press Next step on the step before it.*'
        : `*This step has a setup of its own. It runs once ${stepList(deferred.after)} ${deferred.after.length > 1 ? 'pass' : 'passes'}: press Check when you are done with ${deferred.after.length > 1 ? 'them' : 'it'}, then start here.*`;
    const inner = [heading, reached, text, ...fg].filter(Boolean).join('\n\n');
    parts.push(checked.has(s.n) ? `<Task id="step-${s.n}">\n\n${inner}\n\n</Task>` : inner);
  }
  if (finishText !== undefined) parts.push(`<Finish>\n\n${toLabMarkdown(finishText, warn, rel(path.join(dir, String(finish.text))))}\n\n</Finish>`);
  const source = `${parts.join('\n\n')}\n`;

  const tasks = stepInfo
    .filter((s) => s.verify !== undefined)
    .map((s) => {
      const check: CheckDecl = {
        kind: 'workstation',
        run: s.verify!,
        user: 'root',
        required: true,
        message: `the verify script of step ${s.n} (${s.verifyFile}) exits 0`,
      } as CheckDecl;
      return { id: `step-${s.n}`, title: clip(`Step ${s.n}: ${s.title}`, 120, 3), points: 10, checks: [check] };
    });
  const description = typeof index.description === 'string' ? index.description.trim() : '';
  const meta = LabFrontMatter.safeParse({
    id,
    title: clip(title, 100, 3),
    summary: clip(description.length >= 10 ? description : `Killercoda scenario "${title}" from ${rel(dir)}.`, 400, 10),
    domain: domainOf(`${title} ${description}`),
    difficulty: difficultyOf(index.difficulty),
    minutes: minutesOf(index.time),
    // Killercoda's clusters call their nodes controlplane and node01, and scenarios name them so through kubectl.
    cluster: { workers: workers ?? 0, dedicated: true, nodeNames: 'exam' },
    realClusterOnly: walkthrough
      ? 'a Killercoda walkthrough runs its backgrounds in the workstation of a real cluster'
      : 'a Killercoda scenario is graded by its verify scripts, run in the workstation of a real cluster',
    tags: walkthrough ? ['killercoda', 'walkthrough'] : ['killercoda'],
    // A lab needs a task; a walkthrough has none. The stand-in only passes the schema and is dropped
    // below (a scenario without steps is refused above, so it never reaches a learner).
    tasks: tasks.length
      ? tasks
      : [{ id: 'none', title: 'no step is graded', points: 1, checks: [{ kind: 'workstation', run: 'false', message: 'no step has a verify script' }] }],
  });
  if (!meta.success) {
    for (const i of meta.error.issues) err(indexRel, 1, 1, `cannot map to a lab: ${i.path.join('.')}: ${i.message}`);
  }
  if (problems.some((p) => p.severity === 'error') || !meta.success) return broken(title);
  if (walkthrough) meta.data.tasks = [];

  let body;
  try {
    body = await compiler.compile(source);
  } catch (e) {
    // Escaping should leave nothing MDX refuses; if something slips through, the scenario is refused, not half shown.
    const where = e instanceof MdxCompileError ? ` (generated line ${e.line}:${e.col})` : '';
    err(indexRel, 1, 1, `the scenario's Markdown could not be turned into a lab page${where}: ${(e as Error).message}`);
    return broken(title);
  }
  const setup = setupScript(background, assetFiles, foreground);
  const solutions = stepInfo.filter((x) => checked.has(x.n) && x.solution !== undefined).map((x) => ({ step: x.n, file: x.solutionFile!, text: x.solution! }));
  return {
    id,
    track,
    dir,
    meta: meta.data,
    body,
    files: emptyLabFiles(),
    mistakes: [],
    gate: 'real',
    gateReason: walkthrough
      ? 'Killercoda walkthrough: nothing to grade; labs:verify runs its setup and step backgrounds in the workstation of a real cluster'
      : 'Killercoda scenario: its verify scripts run in the workstation, which only a real cluster has',
    warnings: problems.filter((p) => p.severity === 'warning'),
    hash: hash.digest('hex').slice(0, 16),
    origin: { kind: 'killercoda', source: rel(dir) },
    scenarioSetup: { script: setup, from: [...background.map((b) => b.file), ...assetFiles.map((a) => `assets/${a.file}`)], steps: stepSetups },
    ...(walkthrough ? { walkthrough: { steps: stepInfo.map((x) => ({ step: x.n, title: x.title })) } } : {}),
    ...(solutions.length && solutions.length === checked.size
      ? { scenarioSolution: { steps: solutions.map((x) => ({ step: x.step, script: solutionScript(x), from: x.file })), from: solutions.map((x) => x.file) } }
      : {}),
  };
}

/**
 * The files under assetsDir an asset entry names: one file, or every file a wildcard (`*`, `?`) in
 * its last part matches (Killercoda copies all of them). Names outside assetsDir match nothing.
 */
export function assetMatches(assetsDir: string, name: string): string[] {
  const abs = path.resolve(assetsDir, name);
  if (!abs.startsWith(assetsDir + path.sep)) return [];
  const base = path.basename(abs);
  if (!/[*?]/.test(base)) return existsSync(abs) && statSync(abs).isFile() ? [path.relative(assetsDir, abs)] : [];
  const folder = path.dirname(abs);
  if (/[*?]/.test(path.relative(assetsDir, folder)) || !existsSync(folder) || !statSync(folder).isDirectory()) return [];
  const pattern = new RegExp(
    `^${base
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*')
      .replace(/\?/g, '[^/]')}$`,
  );
  return readdirSync(folder, { withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.startsWith('.') && pattern.test(d.name))
    .map((d) => path.relative(assetsDir, path.join(folder, d.name)))
    .sort();
}

function isScriptOf(name: string, steps: StepJson[], intro: StepJson, finish: StepJson): boolean {
  const scripts = [
    (intro as { courseData?: unknown }).courseData,
    intro.background,
    intro.foreground,
    finish.background,
    ...steps.flatMap((s) => [s.verify, s.background, s.foreground]),
  ];
  return scripts.includes(name);
}

function clip(text: string, max: number, min: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  const cut = t.length > max ? `${t.slice(0, max - 1)}…` : t;
  return cut.length >= min ? cut : cut.padEnd(min, '.');
}

// The curriculum domain a scenario most likely trains, from words in its title and description.
function domainOf(text: string): DomainId {
  const t = text.toLowerCase();
  if (/troubleshoot|debug|fix|broken|failing|crash/.test(t)) return 'troubleshooting';
  if (/network ?polic|service|ingress|gateway|dns|coredns|endpoint/.test(t)) return 'services-networking';
  if (/volume|storage|\bpvc?\b|persistent/.test(t)) return 'storage';
  if (/deploy|pod|schedul|taint|affinity|configmap|secret|rollout|replica|hpa|autoscal|resource limit/.test(t)) return 'workloads-scheduling';
  return 'cluster-architecture';
}

function difficultyOf(v: unknown): 'easy' | 'medium' | 'hard' {
  const t = typeof v === 'string' ? v.toLowerCase() : '';
  if (/easy|beginner|basic/.test(t)) return 'easy';
  if (/hard|advanced|expert/.test(t)) return 'hard';
  return 'medium';
}

function minutesOf(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(/\d+/.exec(v)?.[0]) : NaN;
  return Number.isInteger(n) && n >= 1 && n <= 240 ? n : 15;
}

/**
 * What a scenario script does that cannot work in the learner's workstation, by line: kubedrill runs
 * scenario scripts there (Killercoda runs them on its controlplane host, a kubeadm node with internet).
 */
export function unsupportedInScript(text: string): { line: number; message: string; hint?: string }[] {
  const out: { line: number; message: string; hint?: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '');
    // `ssh <node> <command>` runs on the node (the workstation's ssh takes it to the server, which
    // runs it there as root), so what it does there is what Killercoda would do.
    if (/^\s*ssh\s+(?:-\S+\s+(?:\S+\s+)?)*[\w.@-]+\s+\S/.test(line)) return;
    if (
      /\b(systemctl|kubeadm|crictl|journalctl|service\s+kubelet)\b|\/etc\/kubernetes\b|\/var\/lib\/kubelet\b|\/var\/lib\/etcd\b|\/var\/log\/pods\b/.test(line)
    ) {
      out.push({
        line: i + 1,
        message:
          "uses the control-plane node itself (kubelet, kubeadm, static pod manifests or etcd files); kubedrill runs scenario scripts in the learner's workstation, which is not a node",
        hint: 'a scenario that changes or inspects nodes needs a real kubeadm host, which kubedrill does not give',
      });
    } else if (downloads(line)) {
      out.push({ line: i + 1, message: 'downloads from the internet, which the workstation cannot reach', hint: 'ship the files as assets instead' });
    }
  });
  return out;
}

// An address outside the attempt: not the workstation itself, not a node by its exam name.
const REMOTE_URL = String.raw`(?:https?|oci):\/\/(?!localhost\b|127\.|10\.|192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|node0\d\b|controlplane\b)`;
const DOWNLOADS = new RegExp(
  [
    String.raw`\b(apt-get|apt|yum|dnf|apk)\s+(install|update)\b`,
    String.raw`\b(curl|wget)\b[^|]*` + REMOTE_URL,
    // kubectl reads manifests from a URL itself; helm fetches charts and repository indexes.
    String.raw`\bkubectl\b[^|]*\s(-f|--filename)(=|\s+)` + REMOTE_URL,
    String.raw`\bkubectl\s+(apply|create|replace|delete)\b[^|]*\s-k\s+` + REMOTE_URL,
    String.raw`\bhelm\s+(repo\s+add|install|upgrade|pull|template|dependency\s+update)\b[^|]*` + REMOTE_URL,
    String.raw`\bgit\s+clone\b`,
    String.raw`\bpip3?\s+install\b`,
  ].join('|'),
);

/** Whether a shell line fetches something from the internet (a package, a manifest or chart by URL, a repository). */
export function downloads(line: string): boolean {
  return DOWNLOADS.test(line);
}

// Run button for a foreground script copied into the workstation.
function foregroundRun(file: string): string {
  return `Killercoda opens this script in your terminal; run it yourself:\n\n<Run>\`bash ${SCENARIO_DIR_IN_WORKSTATION}/${file.replace(/[^\w./-]/g, '_')}\`</Run>`;
}

/** One bash script: assets into place, foreground scripts copied, the background scripts in order, then /root opened to the learner. */
function setupScript(
  background: { file: string; text: string }[],
  assets: { file: string; target: string; chmod: string | undefined; base64: string }[],
  foreground: { file: string; text: string }[],
): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = ['set -e', 'export HOME=/root KUBECONFIG=/root/.kube/config', `mkdir -p ${SCENARIO_DIR_IN_WORKSTATION}`, 'cd /root'];
  for (const a of assets) {
    const target = path.posix.join(a.target, path.posix.basename(a.file));
    lines.push(`mkdir -p ${q(a.target)}`, `base64 -d > ${q(target)} <<'KD_ASSET_EOF'`, ...(a.base64.match(/.{1,76}/g) ?? []), 'KD_ASSET_EOF');
    if (a.chmod) lines.push(`chmod ${q(a.chmod)} ${q(target)}`);
  }
  for (const f of foreground) {
    const target = `${SCENARIO_DIR_IN_WORKSTATION}/${f.file.replace(/[^\w./-]/g, '_')}`;
    lines.push(
      `mkdir -p ${q(path.posix.dirname(target))}`,
      `base64 -d > ${q(target)} <<'KD_ASSET_EOF'`,
      ...(Buffer.from(f.text)
        .toString('base64')
        .match(/.{1,76}/g) ?? []),
      'KD_ASSET_EOF',
      `chmod 0755 ${q(target)}`,
    );
  }
  lines.push(`chmod -R a+rX ${SCENARIO_DIR_IN_WORKSTATION}`);
  // Each background runs in its own bash (as on Killercoda), from a file so its own `set -e` or exit applies to it alone.
  // What the backgrounds create is found by time: everything newer than this mark.
  if (background.length) lines.push(`touch ${SETUP_MARK}`);
  background.forEach((b, i) => {
    const file = `/root/.kd-background-${i + 1}.sh`;
    lines.push(
      `base64 -d > ${file} <<'KD_ASSET_EOF'`,
      ...(Buffer.from(b.text)
        .toString('base64')
        .match(/.{1,76}/g) ?? []),
      'KD_ASSET_EOF',
    );
    lines.push(`echo ${q(`== ${b.file}`)}`, `bash ${file} || { code=$?; echo ${q(`${b.file} exited`)} "$code" >&2; exit "$code"; }`);
  });
  // The learner's shell is the unprivileged user candidate, not root as on Killercoda: open /root and
  // what the scenario put there (and its assets elsewhere) to them, so "edit /root/x.yaml" and "write
  // /root/answer.txt" work. The kubeconfig in /root/.kube is the learner's own, but stays root's.
  // Root's dotfiles stay root's and /root is sticky (1777): verify scripts run as root in a login
  // shell, so a learner who could write or replace ~/.profile or ~/.bash_profile could run code as
  // root at grade time (and fake kubectl's answers).
  lines.push(
    'touch /root/.profile /root/.bash_profile /root/.bash_login /root/.bashrc && chmod 0644 /root/.profile /root/.bash_profile /root/.bash_login /root/.bashrc',
    "[ -s /root/.bash_profile ] || echo '[ -f ~/.profile ] && . ~/.profile' > /root/.bash_profile",
    'chmod 1777 /root',
    "find /root -mindepth 1 \\( -path '/root/.*' \\) -prune -o -exec chmod a+rwX {} + 2>/dev/null || true",
  );
  for (const a of assets) lines.push(`chmod a+rw ${q(path.posix.join(a.target, path.posix.basename(a.file)))} 2>/dev/null || true`);
  // Killercoda's learner is root and works in the folders its setup made (/opt/course/1, /data…):
  // open what the backgrounds created outside the system's own folders, and let the learner make
  // folders in /opt (sticky, like /tmp), where tasks often ask for results.
  if (background.length) lines.push(OPEN_SETUP_FILES, `kd_open_setup_files "" ${SETUP_MARK}`);
  lines.push('chmod 1777 /opt');
  return `${lines.join('\n')}\n`;
}

const SETUP_MARK = '/tmp/.kd-setup-mark';

/** "step 1", "steps 1 and 2", "steps 1, 2 and 3" for task ids step-N. */
function stepList(taskIds: string[]): string {
  const n = taskIds.map((t) => t.replace(/^step-/, ''));
  return n.length === 1 ? `step ${n[0]}` : `steps ${n.slice(0, -1).join(', ')} and ${n.at(-1)}`;
}

/**
 * One later step's background as its own script: run in its own bash like the Start setup's, then
 * what it made or changed (newer than its mark) opened to the learner, in /root and outside the
 * system's folders, on the same terms as at Start.
 */
function stepSetupScript(step: number, b: { file: string; text: string }): string {
  const q = (t: string) => `'${t.replace(/'/g, `'\\''`)}'`;
  // By now /root and /tmp are open to the learner: the script and its mark live in a folder of root's
  // own with an unguessable name, so the learner cannot plant or swap the file root runs.
  return [
    'set -e',
    'export HOME=/root KUBECONFIG=/root/.kube/config',
    'kd_dir=$(mktemp -d /tmp/.kd-step-XXXXXXXX)',
    'trap \'rm -rf "$kd_dir"\' EXIT',
    'cd /root',
    'touch "$kd_dir/mark"',
    `base64 -d > "$kd_dir/background.sh" <<'KD_ASSET_EOF'`,
    ...(Buffer.from(b.text)
      .toString('base64')
      .match(/.{1,76}/g) ?? []),
    'KD_ASSET_EOF',
    `echo ${q(`== ${b.file} (step ${step})`)}`,
    `bash "$kd_dir/background.sh" || { code=$?; echo ${q(`${b.file} exited`)} "$code" >&2; exit "$code"; }`,
    `find /root -mindepth 1 \\( -path '/root/.*' \\) -prune -o -newer "$kd_dir/mark" -exec chmod a+rwX {} + 2>/dev/null || true`,
    OPEN_SETUP_FILES,
    'kd_open_setup_files "" "$kd_dir/mark"',
    '',
  ].join('\n');
}

/**
 * Run as the learner before a scenario's setup: the folders the workstation image gives the learner
 * outside their home (/opt/course) become sticky and writable to all, like /tmp, so the setup's root,
 * which has no capabilities in the workstation, can make its folders there too.
 */
export const OPEN_LEARNER_FOLDERS =
  "find / -xdev -maxdepth 3 -type d -user \"$(id -u)\" ! -path '/home' ! -path '/home/*' ! -path '/proc/*' ! -path '/tmp/*' -exec chmod 1777 {} + 2>/dev/null; true";
const KILLERCODA_ADDRESS = /\b172\.30\.[12]\.2\b/;

/**
 * A bash function that opens to the learner every file and folder under root ($1, "" for /) that the
 * scenario's backgrounds created or changed (newer than the mark file $2). The system's own folders
 * stay as they are, so the learner gains no way to run code as root (/etc, /usr, /var, /root's
 * dotfiles); /root and /tmp are opened on their own terms.
 */
export const OPEN_SETUP_FILES = [
  'kd_open_setup_files() {',
  '  local r="$1" p; local skip=()',
  '  for p in proc sys dev run etc usr bin sbin lib lib32 lib64 libx32 var boot root tmp home snap; do skip+=(-path "$r/$p" -o); done',
  // -mindepth 1: / itself stays as it is (a learner who could rename /etc could run code as root).
  '  find "$r/" -mindepth 1 -xdev \\( "${skip[@]}" -false \\) -prune -o -newer "$2" ! -type l -print0 2>/dev/null | xargs -0 -r chmod a+rwX 2>/dev/null || true',
  '}',
].join('\n');

/** One step's solution script in its own bash, as root in /root. */
function solutionScript(x: { step: number; file: string; text: string }): string {
  const q = (t: string) => `'${t.replace(/'/g, `'\\''`)}'`;
  const file = `/root/.kd-solution-${x.step}.sh`;
  const lines = ['set -e', 'export HOME=/root KUBECONFIG=/root/.kube/config', 'cd /root'];
  lines.push(
    `base64 -d > ${file} <<'KD_ASSET_EOF'`,
    ...(Buffer.from(x.text)
      .toString('base64')
      .match(/.{1,76}/g) ?? []),
    'KD_ASSET_EOF',
  );
  lines.push(`echo ${q(`== ${x.file}`)}`, `bash ${file} || { code=$?; echo ${q(`${x.file} exited`)} "$code" >&2; exit "$code"; }`);
  return `${lines.join('\n')}\n`;
}

const ACTION = /\{\{\s*(exec|execute|copy)\b[^}]*\}\}/;
const DETAILS_OPEN = /^\s*<details(?:\s[^>]*)?>\s*(?:<summary>(.*?)<\/summary>)?\s*$/i;
const SUMMARY = /^\s*<summary>(.*?)<\/summary>\s*$/i;

// A Hint's opening tag with the summary as its title: plain text only (no tags, quotes or braces).
function hintOpen(summary: string | undefined): string {
  const title = (summary ?? '')
    .replace(/<[^>]*>/g, '')
    .replace(/["{}<>\\]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return title ? `<Hint title="${title}">` : '<Hint>';
}

/** Escapes text so MDX reads it as plain Markdown text: no JSX, no expressions. */
export function escapeText(text: string): string {
  return text.replace(/[{}<>\\]/g, (c) => (c === '\\' ? '\\\\' : `\\${c}`));
}

// Escapes a Markdown line outside code spans; backslash escapes the writer made stay as they are.
function escapeLine(line: string): string {
  let out = '';
  let i = 0;
  while (i < line.length) {
    const tick = /^`+/.exec(line.slice(i));
    if (tick) {
      const fence = tick[0];
      const end = line.indexOf(fence, i + fence.length);
      if (end !== -1) {
        out += line.slice(i, end + fence.length);
        i = end + fence.length;
        continue;
      }
      out += fence;
      i += fence.length;
      continue;
    }
    const c = line[i]!;
    // A backslash escape the writer made (\* \_ \<) is already MDX-safe: keep it as written.
    if (c === '\\' && i + 1 < line.length && /[!-/:-@[-`{-~]/.test(line[i + 1]!)) {
      out += line.slice(i, i + 2);
      i += 2;
      continue;
    }
    out += '{}<>'.includes(c) ? `\\${c}` : c;
    i++;
  }
  return out;
}

/**
 * Turns a scenario's Markdown into lab Markdown: `cmd`{{exec}} and ```…```{{exec}} become <Run>
 * buttons, {{copy}} blocks become copyable code blocks, and everything else is escaped text.
 */
export function toLabMarkdown(markdown: string, warn?: Report, file = ''): string {
  const lines = markdown.replace(/\r\n/g, '\n').split('\n');
  const out: string[] = [];
  let fence: { marker: string; open: string; body: string[] } | undefined;
  let hint: { at: number; titled: boolean } | undefined;
  lines.forEach((line, idx) => {
    if (fence) {
      const close = new RegExp(`^(\\s*)${fence.marker[0] === '`' ? '`' : '~'}{${fence.marker.length},}(.*)$`).exec(line);
      if (close && !/[`~]/.test(close[2]!.replace(ACTION, ''))) {
        const action = ACTION.exec(close[2]!)?.[1];
        const code = fence.body.join('\n');
        if (action === 'exec' || action === 'execute') out.push('<Run>', '', '```' + fence.open, code, '```', '', '</Run>');
        else out.push('```' + fence.open, code, '```');
        fence = undefined;
        return;
      }
      fence.body.push(line);
      return;
    }
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/.exec(line);
    if (open) {
      fence = { marker: open[2]!, open: open[3] ?? '', body: [] };
      return;
    }
    // <details><summary>Solution</summary> … </details>, the usual way scenarios hide an answer,
    // becomes a collapsed <Hint> titled by the summary (the tags alone would show as text).
    const details = DETAILS_OPEN.exec(line);
    if (details) {
      if (hint) out.push('', '</Hint>', '');
      hint = { at: out.length, titled: details[1] !== undefined };
      out.push(hintOpen(details[1]), '');
      return;
    }
    const summary = SUMMARY.exec(line);
    if (summary && hint && !hint.titled && out.slice(hint.at + 1).every((l) => !l.trim())) {
      out[hint.at] = hintOpen(summary[1]);
      hint.titled = true;
      return;
    }
    if (/^\s*<\/details>\s*$/i.test(line) && hint) {
      out.push('', '</Hint>', '');
      hint = undefined;
      return;
    }
    // Layout-only HTML lines (<p>, </p>, <br>) carry no text: drop them rather than show the tags.
    if (/^\s*<\/?(p|br)\s*\/?>\s*$/i.test(line)) return;
    // Inline actions: `cmd`{{exec}} → the code stays in the sentence, a Run button follows it.
    const after: string[] = [];
    const text = line.replace(/(`+)([^`]+?)\1\s*(\{\{\s*(exec|execute|copy)\b[^}]*\}\})/g, (_m, ticks: string, code: string, _a: string, kind: string) => {
      if (kind === 'copy') after.push('```', code, '```');
      else after.push(`<Run>\`${code.replace(/`/g, '')}\`</Run>`);
      return `${ticks}${code}${ticks}`;
    });
    if (/\{\{[^}]*\}\}/.test(text.replace(/`[^`]*`/g, '')) && warn) {
      warn(
        file,
        idx + 1,
        1,
        `${/\{\{[^}]*\}\}/.exec(text)![0]} is a Killercoda placeholder kubedrill does not fill in (e.g. traffic ports); it is shown as written`,
      );
    }
    out.push(escapeLine(text));
    if (after.length) out.push('', ...after, '');
  });
  // An unclosed fence keeps its content as code.
  if (fence) out.push('```' + fence.open, ...fence.body, '```');
  if (hint) out.push('', '</Hint>');
  return out.join('\n');
}

/** labs:check for a scenarios folder: every problem as file:line:col, then what runs and what is refused, per scenario. */
export async function checkScenarios(target: string, cwd: string): Promise<{ lines: string[]; errors: number }> {
  const compiler = new MdxCompiler();
  try {
    const abs = path.resolve(cwd, target);
    const catalog = await loadScenarios(abs, compiler, { relativeTo: cwd });
    const problems = [...catalog.problems, ...catalog.broken.flatMap((b) => b.problems), ...catalog.labs.flatMap((l) => l.warnings)].sort(
      (a, b) => a.file.localeCompare(b.file) || a.line - b.line,
    );
    const lines = problems.map(formatProblem);
    const walkthroughs = catalog.labs.filter((l) => l.walkthrough).length;
    lines.push(
      '',
      `Killercoda scenarios in ${path.relative(cwd, abs) || '.'}: ${catalog.labs.length} run${walkthroughs ? ` (${walkthroughs} as ungraded walkthroughs)` : ''}, ${catalog.broken.length} refused`,
    );
    for (const l of catalog.labs) {
      const nodes = l.meta.cluster.workers ? '2 nodes' : '1 node';
      const n = l.walkthrough ? l.walkthrough.steps.length : l.meta.tasks.length;
      const steps = `${n} step${n === 1 ? '' : 's'}`;
      if (l.walkthrough) lines.push(`  walkthrough ${l.id.padEnd(41)} ${nodes}, ${steps}, not graded (no verify script): the learner presses Next step`);
      else lines.push(`  runs     ${l.id.padEnd(44)} ${nodes}, ${steps} graded by verify scripts`);
    }
    for (const b of catalog.broken) {
      const first = b.problems.find((p) => p.severity === 'error');
      lines.push(`  refused  ${b.id.padEnd(44)} ${first ? first.message.split(';')[0] : 'see above'}`);
    }
    return { lines, errors: problems.filter((p) => p.severity === 'error').length };
  } finally {
    compiler.close();
  }
}
