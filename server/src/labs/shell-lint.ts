// Lints a lab's shell scripts for a pattern that makes setups, solutions and checks fail now and then:
// under `set -o pipefail`, a pipeline whose reader stops early (`head`, `grep -q`, `grep -m N`) fails
// whenever the writer is still writing when the reader exits: the writer dies of SIGPIPE (exit 141) and
// pipefail makes that the pipeline's status. Whether it happens depends on timing and on how the
// writer buffers its output (crictl and kubectl write line by line), so such a script passes on a
// quiet machine and fails on a busy CI runner. Two CI runs were lost to it.

/** One finding: 1-based line and column of the early-exiting reader. */
export interface ShellFinding {
  line: number;
  col: number;
  message: string;
  hint: string;
}

/** Whether the script turns pipefail on (`set -o pipefail`, `set -euo pipefail`, `set -Eeuo pipefail`, …). */
export function setsPipefail(text: string): boolean {
  return codeLines(text).some((l) => /(^|[;&|({\s])set\s+(-[a-zA-Z]*o\s+|-o\s+)pipefail\b/.test(l) || /\bset\s+-[a-zA-Z]*\s+-o\s+pipefail\b/.test(l));
}

/**
 * The pipes into a reader that exits before its input ends, in a script that sets pipefail.
 * Scripts without pipefail are not affected (the pipeline's status is the reader's); a library that
 * a pipefail script sources runs with its options (opts.pipefail).
 */
export function earlyExitPipes(text: string, opts: { pipefail?: boolean } = {}): ShellFinding[] {
  if (!(opts.pipefail ?? setsPipefail(text))) return [];
  const out: ShellFinding[] = [];
  codeLines(text).forEach((line, i) => {
    // A single `|` (not `||`, not `>|`), then the reader's command word and its arguments up to the next pipe or list operator.
    for (const m of line.matchAll(/(?<![|>])\|(?!\|)\s*(head|grep|egrep|fgrep)\b([^|;&)]*)/g)) {
      const cmd = m[1]!;
      const args = (m[2] ?? '').trim().split(/\s+/).filter(Boolean);
      const early = cmd === 'head' ? 'head' : grepStopsEarly(args);
      if (!early) continue;
      const col = m.index! + m[0].indexOf(cmd) + 1;
      out.push({
        line: i + 1,
        col,
        message: `\`| ${early}\` stops reading before its input ends; under set -o pipefail the command writing into it then dies of SIGPIPE (exit 141) now and then, and the pipeline fails`,
        hint:
          cmd === 'head'
            ? "read all of the input instead: `sed -n 1p` or `awk 'NR == 1'` for `head -n 1`, or capture the output first (out=$(cmd)) and take its first line with a here-string"
            : 'read all of the input instead: `grep … >/dev/null` for `grep -q`, or capture the output first (out=$(cmd)) and search it with `grep -q … <<<"$out"`',
      });
    }
  });
  return out;
}

/**
 * The files a script sources (`source f` or `. f`), by the last part of their path; a path held in a
 * variable is read from the script's assignment to it (`lib="$(dirname "$0")/lib.sh"; . "$lib"`).
 */
export function sourcedNames(text: string): string[] {
  const raw = text.split('\n');
  const code = codeLines(text);
  // The raw text of the word starting at col of line i, up to the next list operator or blank outside quotes.
  const wordAt = (i: number, col: number) => {
    const l = code[i]!;
    let end = col;
    for (let quoted = '', depth = 0; end < l.length; end++) {
      const c = l[end]!;
      if (c === '"' || c === "'") quoted = quoted === c ? '' : quoted || c;
      else if (c === '(') depth++;
      else if (c === ')') depth--;
      else if (!quoted && depth <= 0 && /[\s;&|]/.test(c)) break;
    }
    return raw[i]!.slice(col, end).replace(/["']/g, '');
  };
  const assigned = new Map<string, string>();
  code.forEach((l, i) => {
    for (const m of l.matchAll(/(?:^|[\s;&|({])([A-Za-z_][A-Za-z0-9_]*)=/g)) assigned.set(m[1]!, wordAt(i, m.index! + m[0].length));
  });
  return code.flatMap((l, i) =>
    [...l.matchAll(/(?:^|[\s;&|({])(?:source|\.)\s+/g)].map((m) => {
      let word = wordAt(i, m.index! + m[0].length);
      const v = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(word);
      if (v && assigned.has(v[1]!)) word = assigned.get(v[1]!)!;
      return word.split('/').at(-1)!;
    }),
  );
}

/** The grep options that make it exit at the first match(es): -q, --quiet, --silent, -m N, --max-count. */
function grepStopsEarly(args: string[]): string | undefined {
  let skip = false;
  for (const a of args) {
    if (skip) {
      skip = false;
      continue;
    }
    if (a === '--') break;
    if (a === '--quiet' || a === '--silent') return `grep ${a}`;
    if (a.startsWith('--max-count')) return `grep ${a}`;
    // Short options may be bundled (-qE, -Fxq, -m1); -e and -f take the next word (or the rest of this one).
    const short = /^-([a-zA-Z]+)/.exec(a)?.[1];
    if (!short || a.startsWith('--')) continue;
    for (const c of short) {
      if (c === 'q') return 'grep -q';
      if (c === 'm') return 'grep -m';
      if (c === 'e' || c === 'f') {
        // The pattern or file is the rest of this word, or the next word when this one ends here.
        if (short.endsWith(c) && short.indexOf(c) === short.length - 1) skip = true;
        break;
      }
    }
  }
  return undefined;
}

/**
 * The script's lines as the lint reads them, numbering and columns kept: comments (a `#` at the start
 * or after a blank, outside quotes) cut off, what is inside quotes masked (so a `|` or `-q` in a quoted
 * pattern is not read as a pipe or an option; a `$( … )` inside double quotes is code again), and the
 * bodies of here-documents blanked (a manifest's or a container's own shell text is not this script).
 */
function codeLines(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  let heredoc: { end: string; tabs: boolean } | undefined;
  // Quoting carries over line ends: a multi-line 'sh -c' program is text for another shell, not this script's code.
  const stack: Quoting = ['code'];
  for (const line of lines) {
    if (heredoc) {
      out.push('');
      if ((heredoc.tabs ? line.replace(/^\t+/, '') : line) === heredoc.end) heredoc = undefined;
      continue;
    }
    const code = maskLine(line, stack);
    out.push(code);
    // The operator is found in the masked line (not in a string), its delimiter read from the line as written.
    const at = /(?<!<)<<(?!<)/.exec(code)?.index;
    const h = at === undefined ? null : /^<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/.exec(line.slice(at));
    if (h) heredoc = { end: h[3]!, tabs: h[1] === '-' };
  }
  return out;
}

/** What the next character is inside: code, a quoted string, or a $( … ) / ( … ) within a double-quoted one. */
type Quoting = ('code' | "'" | '"' | '$(' | '(')[];

/** One line masked; stack is the quoting at its start and is left as the quoting at its end. */
function maskLine(line: string, stack: Quoting): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    const top = stack.at(-1)!;
    if (top === "'") {
      if (c === "'") stack.pop();
      out += c === "'" ? c : '_';
    } else if (top === '"') {
      if (c === '\\' && i + 1 < line.length) {
        out += '__';
        i++;
      } else if (c === '"') {
        stack.pop();
        out += c;
      } else if (c === '$' && line[i + 1] === '(') {
        stack.push('$(');
        out += '$(';
        i++;
      } else out += '_';
    } else if (c === '\\' && i + 1 < line.length) {
      out += c + line[i + 1];
      i++;
    } else if (c === '"' || c === "'") {
      stack.push(c);
      out += c;
    } else if (c === '#' && (i === 0 || /[\s;]/.test(line[i - 1]!))) {
      // A comment runs to the end of the line; a $( … ) or ( … ) it interrupts goes on on the next one.
      return out;
    } else {
      if (top !== 'code' && c === '(') stack.push('(');
      else if (top !== 'code' && c === ')') stack.pop();
      out += c;
    }
  }
  return out;
}
