// Output and file contents as node, workstation and volume checks compare them.
import type { ExecResult } from '../../cluster/port.ts';

// Prints the file or says why not: exit 3 = missing, 4 = a directory, 5 = unreadable.
export const READ_FILE = 'f="$1"; [ -e "$f" ] || exit 3; [ -d "$f" ] && exit 4; cat -- "$f" || exit 5';

/** Text as compared: trailing spaces and a final newline do not count (kubectl and echo add them). */
export function normalized(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .trim();
}

/** Normalized text cut to max characters for a report line; "(empty)" for none. */
export function shorten(text: string, max = 300): string {
  const t = normalized(text);
  if (t === '') return '(empty)';
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** Whether text meets the check's equals / matches / contains (undefined when the check asks none of them). */
export function outputVerdict(
  text: string,
  c: { equals?: string | undefined; matches?: string | undefined; contains?: string[] | undefined },
): { ok: boolean; expected: string; missing?: string } | undefined {
  if (c.equals !== undefined) return { ok: normalized(text) === normalized(c.equals), expected: `"${shorten(c.equals, 120)}"` };
  if (c.matches !== undefined) return { ok: new RegExp(c.matches, 'm').test(text), expected: `matches /${c.matches}/` };
  if (c.contains !== undefined) {
    const missing = c.contains.filter((s) => !text.includes(s));
    return {
      ok: missing.length === 0,
      expected: `contains ${c.contains.map((s) => `"${s}"`).join(', ')}`,
      ...(missing.length ? { missing: missing.map((s) => `"${s}"`).join(', ') } : {}),
    };
  }
  return undefined;
}

/** The last non-empty line of a command's output (stderr after stdout): a script's own reason. */
export function lastLine(r: ExecResult): string {
  return (
    `${r.stdout}\n${r.stderr}`
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? ''
  );
}
