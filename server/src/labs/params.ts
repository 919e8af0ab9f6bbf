import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { LabFrontMatter, type ParamDecl, type ParamsDecl } from './format.ts';
import type { Lab } from './loader.ts';
import { PositionedYaml, type Problem } from './problems.ts';
import type { UsedComponent } from './bundle.ts';

// Lab parameters ("variants"): a lab declares `params:` in its front matter, and its checks,
// manifests and scripts say `{{name}}` where a drawn value goes; the instructions say
// <Param name="name"/>. Each attempt draws its own values, so a retake is not memory work.
// Values are restricted to letters, digits, ".", "_" and "-", so substituting them into YAML,
// bash or JSONPath text cannot change its structure: lab content stays data.

/** The values one attempt drew: param name → value (numbers as their decimal text). */
export type ParamValues = Record<string, string>;

/** `{{name}}` (spaces inside the braces allowed); a Go template like `{{.metadata.name}}` is not one. */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** What a drawn value may contain, so that it stays one plain token in YAML, bash and JSONPath. */
export const PARAM_VALUE = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

/** Every `{{name}}` in a text, with its offset and length. */
export function placeholdersIn(text: string): { name: string; offset: number; length: number }[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => ({ name: m[1]!, offset: m.index, length: m[0].length }));
}

/** The text with every `{{name}}` of a known param replaced by its value (unknown ones are left as written). */
export function substituteParams(text: string, values: ParamValues): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole);
}

/** Why a param declaration cannot be drawn from, or undefined when it is sound (shape is checked by zod first). */
export function paramDeclProblem(decl: ParamDecl): string | undefined {
  if ('values' in decl) {
    const bad = decl.values.find((v) => !PARAM_VALUE.test(String(v)));
    if (bad !== undefined)
      return `value ${JSON.stringify(bad)} may contain only letters, digits, ".", "_" and "-" (starting and ending with a letter or digit), so it stays one token in YAML and scripts`;
    const strings = decl.values.filter((v) => typeof v === 'string');
    const misread = strings.find((v) => typeof parseYaml(v) !== 'string');
    if (misread !== undefined)
      return `value "${misread}" would be read by YAML as ${JSON.stringify(parseYaml(misread))}, not as text, where it is substituted unquoted; pick another word`;
    if (strings.length && strings.length !== decl.values.length) return 'values mixes numbers and words: a placeholder stands for one kind of value';
    if (new Set(decl.values.map(String)).size !== decl.values.length) return 'values lists a value twice';
    return undefined;
  }
  if ('range' in decl) {
    const [min, max] = decl.range;
    return min > max ? `range [${min}, ${max}] is empty: write [low, high]` : undefined;
  }
  const body = decl.pattern;
  if (!/[#?]/.test(body)) return 'pattern has no # (a digit) or ? (a letter): it would always give the same value; use values: [...] for a constant';
  const sample = body.replace(/#/g, '0').replace(/\?/g, 'a');
  if (!PARAM_VALUE.test(sample) || !/^[a-z0-9#?-]+$/.test(body))
    return `pattern "${body}" gives values like "${sample}": besides # and ?, use lowercase letters, digits and "-", starting and ending with a letter, digit, # or ?`;
  if (typeof parseYaml(body.replace(/#/g, '1').replace(/\?/g, 'e')) !== 'string' || typeof parseYaml(sample) !== 'string')
    return `pattern "${body}" can give a value YAML reads as a number; put a letter in it`;
  return undefined;
}

/** How many different values a param can take. */
export function paramSpaceSize(decl: ParamDecl): number {
  if ('values' in decl) return decl.values.length;
  if ('range' in decl) return decl.range[1] - decl.range[0] + 1;
  return [...decl.pattern].reduce((n, c) => n * (c === '#' ? 10 : c === '?' ? 26 : 1), 1);
}

/** The i-th value of a param (0 ≤ i < paramSpaceSize): values in order, range upwards, pattern like counting. */
export function paramValueAt(decl: ParamDecl, i: number): string {
  if ('values' in decl) return String(decl.values[i]);
  if ('range' in decl) return String(decl.range[0] + i);
  let rest = i;
  const out = [...decl.pattern].reverse().map((c) => {
    if (c !== '#' && c !== '?') return c;
    const base = c === '#' ? 10 : 26;
    const digit = rest % base;
    rest = Math.floor(rest / base);
    return c === '#' ? String(digit) : String.fromCharCode(97 + digit);
  });
  return out.reverse().join('');
}

/** One random draw: each param independently, uniformly over its values. */
export function drawParams(params: ParamsDecl, random: () => number = Math.random): ParamValues {
  return Object.fromEntries(Object.entries(params).map(([name, decl]) => [name, paramValueAt(decl, Math.floor(random() * paramSpaceSize(decl)))]));
}

/** The draw the linter validates: every param's first value (values[0], range low end, pattern counted from 0). */
export function firstDraw(params: ParamsDecl): ParamValues {
  return Object.fromEntries(Object.entries(params).map(([name, decl]) => [name, paramValueAt(decl, 0)]));
}

/** How many different draws a lab has (the product of its params' value counts). */
export function drawCount(params: ParamsDecl): number {
  return Object.values(params).reduce((n, d) => n * paramSpaceSize(d), 1);
}

/** Every draw, or undefined when there are more than `max` (generators make the space large). */
export function allDraws(params: ParamsDecl, max: number): ParamValues[] | undefined {
  const total = drawCount(params);
  if (total > max) return undefined;
  const entries = Object.entries(params);
  const out: ParamValues[] = [];
  for (let k = 0; k < total; k++) {
    let rest = k;
    const draw: ParamValues = {};
    for (const [name, decl] of entries) {
      const size = paramSpaceSize(decl);
      draw[name] = paramValueAt(decl, rest % size);
      rest = Math.floor(rest / size);
    }
    out.push(draw);
  }
  return out;
}

/**
 * `count` different draws (fewer if the lab has fewer): the first draw, then random ones. The honesty
 * gates grade a parametrised lab over these, so one value that happens to work cannot hide a broken lab.
 */
export function distinctDraws(params: ParamsDecl, count: number, random: () => number = Math.random): ParamValues[] {
  const want = Math.min(count, drawCount(params));
  const seen = new Map<string, ParamValues>();
  const add = (d: ParamValues) => seen.set(JSON.stringify(d), d);
  add(firstDraw(params));
  for (let tries = 0; seen.size < want && tries < 200; tries++) add(drawParams(params, random));
  // A tiny space can defeat random tries: take the rest in order.
  for (const d of seen.size < want ? (allDraws(params, 10_000) ?? []) : []) {
    if (seen.size >= want) break;
    add(d);
  }
  return [...seen.values()];
}

/** A small seeded random generator (mulberry32), for reproducible draws in tests and gates. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws a value for every parametrised lab among labIds (labs without params get none); null when none has params. */
export function drawForLabs(labs: readonly (Pick<Lab, 'id' | 'params'> | undefined)[], random: () => number = Math.random): Record<string, ParamValues> | null {
  const out: Record<string, ParamValues> = {};
  for (const lab of labs) if (lab?.params && !(lab.id in out)) out[lab.id] = drawParams(lab.params, random);
  return Object.keys(out).length ? out : null;
}

/** Splits lab.mdx into front matter (between the --- lines) and body, with offsets. */
function frontMatterRange(source: string): { start: number; end: number } | undefined {
  const m = /^---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(\r?\n|$)/.exec(source);
  if (!m) return undefined;
  const start = source.indexOf('\n') + 1;
  return { start, end: start + m[1]!.length };
}

// Same-length stand-ins, so the YAML still parses and every position stays where it was.
const mask = (text: string) => text.replace(PLACEHOLDER, (whole) => 'x'.repeat(whole.length));

/** One substitution on one line of a file: where it was written and how much longer the value made the line. */
interface Shift {
  line: number;
  col: number;
  delta: number;
}

/**
 * The params side of loading one lab: reads `params:` from lab.mdx, checks every placeholder in the
 * lab's files against it, and substitutes the first draw into the text the loader validates. Problems
 * found in substituted text are moved back to the columns the instructor wrote.
 */
export class LabParamsText {
  readonly raw: string;
  /** lab.mdx with the first draw in its front matter (the body is untouched: it uses <Param>). */
  readonly source: string;
  readonly params: ParamsDecl | undefined;
  readonly values: ParamValues;
  readonly #problems: Problem[] = [];
  readonly #shifts = new Map<string, Shift[]>();
  readonly #mdxFile: string;
  readonly #reported = new Set<string>();
  #declBroken = false;
  readonly #fixed = new WeakSet<Problem>();
  #finished = false;

  constructor(raw: string, mdxFile: string) {
    this.raw = raw;
    this.#mdxFile = mdxFile;
    const fm = frontMatterRange(raw);
    this.params = fm ? this.#readDecl(raw.slice(fm.start, fm.end)) : undefined;
    this.values = this.params ? firstDraw(this.params) : {};
    if (!fm) {
      this.source = raw;
      return;
    }
    const yamlText = raw.slice(fm.start, fm.end);
    this.#checkFrontMatter(raw, fm, yamlText);
    this.source = raw.slice(0, fm.start) + this.text(mdxFile, yamlText, 1) + raw.slice(fm.end);
  }

  #readDecl(yamlText: string): ParamsDecl | undefined {
    // The front matter is parsed with placeholders masked: only `params` is read here; the loader
    // validates the rest (with the first draw in place) as usual.
    let doc: unknown;
    try {
      doc = parseYaml(mask(yamlText));
    } catch {
      return undefined; // the loader reports the YAML error
    }
    const raw = (doc as { params?: unknown } | null)?.params;
    if (raw === undefined || raw === null || typeof raw !== 'object') return undefined;
    // Shape problems are reported by the loader's schema (params is part of LabFrontMatter).
    const parsed = LabFrontMatter.shape.params.safeParse(raw);
    if (!parsed.success || !parsed.data) {
      // The schema's error says what is wrong; "names no param" for every placeholder would only bury it.
      this.#declBroken = true;
      return undefined;
    }
    const yaml = new PositionedYaml(mask(yamlText), 1);
    for (const [name, decl] of Object.entries(parsed.data)) {
      const why = paramDeclProblem(decl);
      if (why) {
        const pos = yaml.at(['params', name]);
        this.#err(this.#mdxFile, pos.line, pos.col, `param ${name}: ${why}`);
      }
    }
    return parsed.data;
  }

  // Placeholders belong in the checks of the front matter, never in the body (MDX would read {{…}}
  // as a JavaScript expression) nor in what the catalog, the lab page and exams show before any draw
  // (title, summary, task titles).
  #checkFrontMatter(raw: string, fm: { start: number; end: number }, yamlText: string) {
    const yaml = new PositionedYaml(mask(yamlText), 1);
    const tasks = yaml.doc.get('tasks', true) as
      { items?: { get?: (k: string, keep: true) => { range?: [number, number, number] } | undefined }[] } | undefined;
    const ranges = (tasks?.items ?? []).map((t) => t.get?.('checks', true)?.range).filter((r): r is [number, number, number] => r !== undefined);
    const lineCol = (offset: number) => {
      const before = raw.slice(0, offset);
      return { line: before.split('\n').length, col: offset - before.lastIndexOf('\n') };
    };
    for (const p of placeholdersIn(yamlText)) {
      if (ranges.some((r) => p.offset >= r[0] && p.offset < r[2])) continue;
      const { line, col } = lineCol(fm.start + p.offset);
      this.#err(
        this.#mdxFile,
        line,
        col,
        `{{${p.name}}} is outside the checks: in the front matter, placeholders may only be used in tasks' checks`,
        'titles, the summary and task titles are shown before any values are drawn; name the object without its value there',
      );
    }
    for (const p of placeholdersIn(raw.slice(fm.end))) {
      const { line, col } = lineCol(fm.end + p.offset);
      this.#err(
        this.#mdxFile,
        line,
        col,
        `{{${p.name}}} in the instructions: MDX would read it as a JavaScript expression`,
        `write <Param name="${p.name}" /> instead: it shows the attempt's value`,
      );
    }
  }

  /**
   * The text with the first draw substituted; placeholders of undeclared params are reported at
   * file:line:col. `lineOffset`: lines before the text in its file (front matter follows a --- line).
   */
  text(file: string, text: string, lineOffset = 0): string {
    const shifts: Shift[] = this.#shifts.get(file) ?? [];
    let out = '';
    let last = 0;
    let line = 1 + lineOffset;
    let lineStart = 0;
    let lineDelta = 0;
    for (const p of placeholdersIn(text)) {
      for (let i = text.indexOf('\n', last); i !== -1 && i < p.offset; i = text.indexOf('\n', i + 1)) {
        line++;
        lineStart = i + 1;
        lineDelta = 0;
      }
      const col = p.offset - lineStart + 1;
      out += text.slice(last, p.offset);
      last = p.offset + p.length;
      const value = this.values[p.name];
      if (value === undefined) {
        // Reported once here; masked, so the YAML around it still parses and shows no follow-on errors.
        out += 'x'.repeat(p.length);
        this.#unknown(file, line, col, p.name);
        continue;
      }
      out += value;
      // Columns after this placeholder moved by delta on this line (in the substituted text).
      lineDelta += value.length - p.length;
      shifts.push({ line, col: col + p.length, delta: lineDelta });
    }
    this.#shifts.set(file, shifts);
    return out + text.slice(last);
  }

  /** Reports undeclared placeholders in files the loader does not otherwise read (scripts, checks/). */
  scanFiles(labDir: string, files: readonly string[], relLab: (p: string) => string) {
    for (const f of files) {
      let text: string;
      try {
        text = readFileSync(path.join(labDir, f), 'utf8');
      } catch {
        continue;
      }
      for (const p of placeholdersIn(text)) {
        if (p.name in this.values) continue;
        const before = text.slice(0, p.offset);
        this.#unknown(relLab(f), before.split('\n').length, p.offset - before.lastIndexOf('\n'), p.name);
      }
    }
  }

  /** Checks that every <Param name> in the body names a declared param. */
  checkComponents(components: readonly UsedComponent[]) {
    for (const c of components) {
      if (c.name !== 'Param' || typeof c.attributes.name !== 'string') continue;
      if (!(c.attributes.name in this.values)) this.#unknown(this.#mdxFile, c.line, c.col, c.attributes.name, `<Param name="${c.attributes.name}">`);
    }
  }

  #unknown(file: string, line: number, col: number, name: string, what = `{{${name}}}`) {
    if (this.#declBroken) return;
    // Manifests are both substituted and scanned: report each place once.
    const key = `${file}:${line}:${col}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    const declared = Object.keys(this.values);
    this.#err(
      file,
      line,
      col,
      `${what} names no param of this lab`,
      declared.length ? `declared params: ${declared.join(', ')}` : 'declare it under params: in the front matter (see labs/README.md, "Parameters")',
    );
  }

  #err(file: string, line: number, col: number, message: string, hint?: string) {
    this.#problems.push({ file, line, col, message, severity: 'error', ...(hint ? { hint } : {}) });
  }

  /** Adds the params' own problems to the lab's (once) and moves positions in substituted text back to the columns as written. */
  finish(problems: Problem[]): Problem[] {
    if (!this.#finished) problems.push(...this.#problems);
    this.#finished = true;
    for (const p of problems) {
      const shifts = this.#shifts.get(p.file);
      if (!shifts || this.#fixed.has(p)) continue;
      this.#fixed.add(p);
      // The last substitution on the line that ends before this column (in substituted text).
      let delta = 0;
      for (const s of shifts) if (s.line === p.line && p.col >= s.col + s.delta) delta = s.delta;
      p.col -= delta;
    }
    return problems;
  }
}

/** Every file below dir, relative to it and sorted; none when dir is not a folder. */
export function filesBelow(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

/** A lab's files (relative), for scanning placeholders everywhere. */
export function labFilesOf(labDir: string): string[] {
  return existsSync(labDir) ? filesBelow(labDir).filter((f) => f !== 'lab.mdx' && !f.split(path.sep).some((part) => part.startsWith('.'))) : [];
}

/** The lab's front matter with these values substituted, parsed and validated (throws if a value breaks it). */
export function frontMatterFor(lab: Pick<Lab, 'dir' | 'id'>, values: ParamValues): LabFrontMatter {
  const raw = readFileSync(path.join(lab.dir, 'lab.mdx'), 'utf8');
  const fm = frontMatterRange(raw);
  if (!fm) throw new Error(`lab ${lab.id}: lab.mdx has no front matter`);
  const parsed = LabFrontMatter.safeParse(parseYaml(substituteParams(raw.slice(fm.start, fm.end), values)));
  if (!parsed.success)
    throw new Error(
      `lab ${lab.id} with ${JSON.stringify(values)} has invalid front matter: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

/**
 * The lab as one draw makes it: its front matter re-read with the values, and its folder copied to
 * variantsDir with every file's placeholders substituted, so setup, solution, mistakes, scripts and
 * the grader read the draw's text through the usual paths. Copies are reused by (lab hash, values).
 */
export function instantiateLab(lab: Lab, values: ParamValues, variantsDir: string): Lab {
  if (!lab.params) return lab;
  const missing = Object.keys(lab.params).filter((n) => values[n] === undefined);
  if (missing.length) throw new Error(`lab ${lab.id}: the attempt's draw has no value for ${missing.join(', ')} (the lab's params changed since it started)`);
  const bad = Object.entries(values).find(([, v]) => !PARAM_VALUE.test(v));
  if (bad) throw new Error(`lab ${lab.id}: value ${JSON.stringify(bad[1])} of ${bad[0]} is not a param value`);
  const meta = frontMatterFor(lab, values);
  const key = createHash('sha256')
    .update(lab.hash)
    .update(lab.dir)
    .update(JSON.stringify(Object.entries(values).sort()))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(variantsDir, `${lab.id}-${key}`);
  if (!existsSync(dir)) {
    const tmp = `${dir}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      for (const f of filesBelow(lab.dir)) {
        const target = path.join(tmp, f);
        mkdirSync(path.dirname(target), { recursive: true });
        const bytes = readFileSync(path.join(lab.dir, f));
        // Only text with placeholders changes; everything else is copied byte for byte.
        const text = bytes.toString('utf8');
        writeFileSync(target, text.includes('{{') ? substituteParams(text, values) : bytes, { mode: f.endsWith('.sh') ? 0o755 : 0o644 });
      }
      mkdirSync(path.dirname(dir), { recursive: true });
      try {
        renameSync(tmp, dir);
      } catch (e) {
        // Another attempt made the same copy first: theirs is the same text.
        if (!existsSync(dir)) throw e;
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return { ...lab, dir, meta, draw: values };
}

/**
 * The lab with an attempt's values (params: lab id → values), or the lab itself when it has no params.
 * An attempt with no value for a param (started before the lab had it) gets the param's first value:
 * list a converted lab's old value first, and such attempts keep grading as they were set up.
 */
export function labForAttempt(lab: Lab, params: Readonly<Record<string, ParamValues>> | null | undefined, variantsDir: string): Lab {
  if (!lab.params) return lab;
  const declared = Object.keys(lab.params);
  const drawn = Object.entries(params?.[lab.id] ?? {}).filter(([k]) => declared.includes(k));
  return instantiateLab(lab, { ...firstDraw(lab.params), ...Object.fromEntries(drawn) }, variantsDir);
}

/**
 * Task titles and check messages of a parametrised lab as written, each `{{name}}` shown as `‹name›`
 * (what the lab page shows before an attempt, and fills in with the attempt's values). The
 * catalog's lab carries the first draw, which would tell every learner the wrong values.
 */
export function textsWithParamNames(lab: Pick<Lab, 'dir' | 'id' | 'params' | 'meta'>): { titles: string[]; messages: string[][] } {
  const fallback = { titles: lab.meta.tasks.map((t) => t.title), messages: lab.meta.tasks.map((t) => t.checks.map((c) => c.message)) };
  if (!lab.params) return fallback;
  const raw = readFileSync(path.join(lab.dir, 'lab.mdx'), 'utf8');
  const fm = frontMatterRange(raw);
  if (!fm) return fallback;
  const stand = Object.fromEntries(Object.keys(lab.params).map((n) => [n, `zq${n}qz`]));
  const back = (t: unknown, written: string) => (typeof t === 'string' ? t.replace(/zq(\w+?)qz/g, '‹$1›') : written);
  // Read as plain YAML (a stand-in where a number goes is fine here): only the texts are taken.
  const doc = parseYaml(substituteParams(raw.slice(fm.start, fm.end), stand)) as { tasks?: { title?: unknown; checks?: { message?: unknown }[] }[] } | null;
  return {
    titles: lab.meta.tasks.map((t, i) => back(doc?.tasks?.[i]?.title, t.title)),
    messages: lab.meta.tasks.map((t, i) => t.checks.map((c, j) => back(doc?.tasks?.[i]?.checks?.[j]?.message, c.message))),
  };
}

/** Fills `‹name›` markers (textsWithParamNames) with the attempt's values; unknown names stay marked. */
export function fillParamNames(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/‹(\w+)›/g, (whole, name: string) => values[name] ?? whole);
}

/** The values as one line for logs and reports: "ns=shop port=8081". */
export function describeDraw(values: ParamValues): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
