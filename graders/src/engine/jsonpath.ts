// The part of kubectl's JSONPath that field checks use: {.a.b}, {.a[0]}, {.a[*].b}, {.a['x.y']},
// {.metadata.labels.app\.kubernetes\.io/name}. Several results print space-separated, like kubectl.

type Step = { key: string } | { index: number } | { all: true };

function parse(path: string): Step[] {
  const inner = path.trim().replace(/^\{/, '').replace(/\}$/, '').trim();
  const steps: Step[] = [];
  let i = inner.startsWith('$') ? 1 : 0;
  while (i < inner.length) {
    const ch = inner[i];
    if (ch === '.') {
      i++;
      let key = '';
      while (i < inner.length && inner[i] !== '.' && inner[i] !== '[') {
        if (inner[i] === '\\' && i + 1 < inner.length) {
          key += inner[i + 1];
          i += 2;
        } else key += inner[i++];
      }
      if (key === '*') steps.push({ all: true });
      else if (key) steps.push({ key });
    } else if (ch === '[') {
      const end = inner.indexOf(']', i);
      if (end === -1) throw new Error(`unclosed [ in ${path}`);
      const body = inner.slice(i + 1, end).trim();
      i = end + 1;
      if (body === '*') steps.push({ all: true });
      else if (/^-?\d+$/.test(body)) steps.push({ index: Number(body) });
      else if (/^'.*'$|^".*"$/.test(body)) steps.push({ key: body.slice(1, -1) });
      else throw new Error(`unsupported JSONPath step [${body}] in ${path}`);
    } else {
      throw new Error(`unexpected "${ch}" in JSONPath ${path}`);
    }
  }
  return steps;
}

/** Evaluates a kubectl-style JSONPath; returns every matched value (empty when nothing matches). */
export function jsonPathValues(obj: unknown, path: string): unknown[] {
  let current: unknown[] = [obj];
  for (const step of parse(path)) {
    const next: unknown[] = [];
    for (const v of current) {
      if (v === null || v === undefined) continue;
      if ('all' in step) {
        if (Array.isArray(v)) next.push(...(v as unknown[]));
        else if (typeof v === 'object') next.push(...Object.values(v));
      } else if ('index' in step) {
        if (Array.isArray(v)) {
          const item = (v as unknown[])[step.index < 0 ? v.length + step.index : step.index];
          if (item !== undefined) next.push(item);
        }
      } else if (typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, step.key)) {
        next.push((v as Record<string, unknown>)[step.key]);
      }
    }
    current = next;
  }
  return current;
}

/** Renders JSONPath results as kubectl prints them: scalars as text, objects as JSON, space-separated. */
export function renderValues(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))).join(' ');
}
