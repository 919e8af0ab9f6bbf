import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { valueAt } from '../../../graders/src/shared/object-path.ts';

/** One thing wrong (or suspicious) in a lab, with its place in a file. */
export interface Problem {
  /** Path relative to the labs folder's parent (e.g. labs/networking/x/lab.mdx). */
  file: string;
  line: number;
  col: number;
  message: string;
  hint?: string;
  severity: 'error' | 'warning';
}

/** Renders a problem as `file:line:col message` (plus its hint), the format editors understand. */
export function formatProblem(p: Problem): string {
  const head = `${p.file}:${p.line}:${p.col} ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
  return p.hint ? `${head}\n    hint: ${p.hint}` : head;
}

/** A parsed YAML text that can tell where a path inside it is. */
export class PositionedYaml {
  readonly doc: Document.Parsed;
  readonly #lines = new LineCounter();
  readonly #lineOffset: number;
  readonly #text: string;

  /** lineOffset: how many lines precede this text in its file (front matter starts after `---`). */
  constructor(text: string, lineOffset = 0) {
    this.doc = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false, uniqueKeys: true });
    this.#lineOffset = lineOffset;
    this.#text = text;
  }

  /** The text of a (file) line, as pos() and at() number them. */
  lineText(line: number): string {
    return this.#text.split('\n')[line - 1 - this.#lineOffset] ?? '';
  }

  /** 1-based line and column for an offset in the text. */
  pos(offset: number): { line: number; col: number } {
    const p = this.#lines.linePos(offset);
    return { line: p.line + this.#lineOffset, col: p.col };
  }

  /** Position of the node at path, or of its nearest existing ancestor. With key=true, of the key. */
  at(path: readonly PropertyKey[], key = false): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let best: { line: number; col: number } = this.pos(rangeStart(node) ?? 0);
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === part);
        if (!pair) return best;
        const keyStart = rangeStart(pair.key);
        if (key && part === path[path.length - 1] && keyStart !== undefined) return this.pos(keyStart);
        node = pair.value;
        const start = rangeStart(node) ?? keyStart;
        if (start !== undefined) best = this.pos(start);
      } else if (isSeq(node) && typeof part === 'number') {
        node = node.items[part];
        const start = rangeStart(node);
        if (start === undefined) return best;
        best = this.pos(start);
      } else {
        return best;
      }
    }
    return best;
  }
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as YamlNode | undefined)?.range;
  return r ? r[0] : undefined;
}

/**
 * Describes a YAML parse error at its real cause. The parser notices an unclosed "[" or "{" only at
 * the next line it cannot fit in; the instructor needs the bracket that was never closed.
 */
export function describeYamlError(text: string, error: { message: string; pos: [number, number] }): { offset: number; message: string; hint?: string } {
  const first = error.message.split('\n')[0] ?? error.message;
  const unclosed = /end with an? ([\]}])/.exec(first);
  if (unclosed) {
    const close = unclosed[1]!;
    const open = close === ']' ? '[' : '{';
    const opener = unmatchedOpener(text, error.pos[0], open, close);
    if (opener !== undefined) {
      return {
        offset: opener,
        message: `YAML: "${open}" is never closed with "${close}"`,
        hint: `a flow ${open === '[' ? 'sequence' : 'mapping'} written with ${open} ${close} must be closed before the next key`,
      };
    }
  }
  if (/^Tabs are not allowed/.test(first)) return { offset: error.pos[0], message: `YAML: ${first}`, hint: 'indent YAML with spaces' };
  // Indentation slips: the parser reports where its reading broke; the instructor needs the line
  // whose indentation differs from its siblings and a word on how YAML nests.
  if (/^All mapping items must start at the same column/.test(first)) {
    return {
      offset: error.pos[0],
      message: 'YAML: this key is not in the same column as the keys above it',
      hint: 'YAML nests by indentation: keys of one object must start in the same column (indent with spaces, 2 per level)',
    };
  }
  if (/^Sequence item without - indicator/.test(first)) {
    return {
      offset: error.pos[0],
      message: 'YAML: this line does not line up with the list item above it',
      hint: 'the keys of one "- " list item start in the column of the first key after the dash; a new item starts with "- " in the column of the other dashes',
    };
  }
  if (/^Nested mappings are not allowed in compact mappings|^Implicit keys need to be on a single line/.test(first)) {
    // The parser stops on the value before; the line indented too far is the next one.
    const nextLine = text.indexOf('\n', error.pos[0]);
    const lineStart = nextLine === -1 ? text.lastIndexOf('\n', error.pos[0]) + 1 : nextLine + 1;
    const offset = lineStart + (/^[ ]*/.exec(text.slice(lineStart))?.[0].length ?? 0);
    return {
      offset,
      message: 'YAML: this line is indented further than the key before it',
      hint: 'YAML reads a deeper line as part of the value above; line it up with its sibling keys (or, if it belongs inside, put nothing after the colon of its parent)',
    };
  }
  return { offset: error.pos[0], message: `YAML: ${first}` };
}

// The offset of the last opener before `before` that has no closer, skipping quoted strings and comments.
function unmatchedOpener(text: string, before: number, open: string, close: string): number | undefined {
  const stack: number[] = [];
  let quote: string | undefined;
  for (let i = 0; i < before && i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote && text[i - 1] !== '\\') quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < before && text[i] !== '\n') i++;
    } else if (c === open) stack.push(i);
    else if (c === close) stack.pop();
  }
  return stack.at(-1);
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** The closest candidate to a misspelt word, if it is close enough to be a likely typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Turns zod issues on a YAML document into positioned problems with plain-words messages. */
export function zodProblems(
  error: z.ZodError,
  yaml: PositionedYaml,
  file: string,
  keysAt: (path: readonly PropertyKey[]) => readonly string[],
  root = 'front matter',
): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  const push = (p: Problem) => {
    const k = `${p.line}:${p.col}:${p.message}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(p);
    }
  };
  const issues = flatten(error.issues);
  // A misspelt key shows up twice: as an unknown key and as the required key it was meant to be.
  // Report it once, as the unknown key with its did-you-mean.
  const meantKeys = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    for (const k of issue.keys) {
      const guess = didYouMean(k, keysAt(issue.path));
      if (guess) meantKeys.add(JSON.stringify([...issue.path, guess]));
    }
  }
  for (const issue of issues) {
    if (issue.code === 'invalid_type' && meantKeys.has(JSON.stringify(issue.path))) continue;
    const where = issue.path.length
      ? issue.path
          .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
          .join('')
          .replace(/^\./, '')
      : root;
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) {
        const known = keysAt(issue.path);
        const guess = didYouMean(k, known);
        const pos = yaml.at([...issue.path, k], true);
        const nested = known.find((parent) => keysAt([...issue.path, parent]).includes(k));
        const hint = guess
          ? `did you mean "${guess}"?`
          : nested
            ? `did you mean ${nested}.${k}? (it belongs under ${nested}:)`
            : known.length
              ? `allowed keys: ${known.join(', ')}`
              : undefined;
        push({ file, ...pos, severity: 'error', message: `unknown key "${k}" in ${where}`, ...(hint ? { hint } : {}) });
      }
      continue;
    }
    const value = valueAt(yaml.doc.toJS(), issue.path);
    const pos = yaml.at(issue.path);
    if (issue.code === 'invalid_type' && value === undefined) {
      const key = issue.path[issue.path.length - 1];
      const parent = issue.path.slice(0, -1);
      const parentWhere = parent.length
        ? parent
            .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
            .join('')
            .replace(/^\./, '')
        : root;
      push({ file, ...yaml.at(parent), severity: 'error', message: `missing required key "${String(key)}" in ${parentWhere}` });
      continue;
    }
    if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
      const kinds = ((issue as { options?: unknown[] }).options ?? []).map(String);
      const kindPath = issue.path[issue.path.length - 1] === 'kind' ? issue.path : [...issue.path, 'kind'];
      const kind = valueAt(yaml.doc.toJS(), kindPath);
      const guess = typeof kind === 'string' ? didYouMean(kind, kinds) : undefined;
      const label = kindPath
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, '');
      push({
        file,
        ...yaml.at(kindPath),
        severity: 'error',
        message: `${label} must be one of ${kinds.join(', ')}${kind === undefined ? '' : ` (got ${JSON.stringify(kind)})`}`,
        ...(guess ? { hint: `did you mean "${guess}"?` } : {}),
      });
      continue;
    }
    let message = issue.message.replace(/^Invalid input: /, '');
    if (issue.code === 'invalid_value' && 'values' in issue) message = `must be one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    const shown = value === undefined || issue.code === 'custom' || typeof value === 'object' ? '' : ` (got ${JSON.stringify(value)})`;
    let hint: string | undefined;
    if (issue.code === 'invalid_value' && 'values' in issue && typeof value === 'string') {
      const guess = didYouMean(value, (issue.values as unknown[]).map(String));
      if (guess) hint = `did you mean "${guess}"?`;
    }
    push({ file, ...pos, severity: 'error', message: `${where}: ${message}${shown}`, ...(hint ? { hint } : {}) });
  }
  return out;
}

// Union errors carry the issues of each branch; the most specific branch tells the instructor most.
function flatten(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branches = issue.errors.map((b) => b.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as z.core.$ZodIssue));
      // prefer the branch whose issues reach deepest (it matched the shape best)
      branches.sort((a, b) => depth(b) - depth(a) || a.length - b.length);
      out.push(...flatten(branches[0]!));
    } else {
      out.push(issue);
    }
  }
  return out;
}
const depth = (issues: z.core.$ZodIssue[]) => Math.max(0, ...issues.map((i) => i.path.length));
