// Label selectors in both spellings Kubernetes uses: the API object form (matchLabels +
// matchExpressions) in NetworkPolicies, and the kubectl string form ("app=web,tier notin (db)") in
// list queries and check declarations.

/** A metav1.LabelSelector as it appears in API objects. */
export interface ApiLabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
}

export type Labels = Readonly<Record<string, string>> | undefined;

/** A compiled selector: cheap to evaluate many times. */
export type LabelPredicate = (labels: Labels) => boolean;

/** One term of a selector: key, operator and the values it compares with. */
export interface Requirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | '!exists' | '=' | '!=';
  values: readonly string[];
}

function requirementMatches(r: Requirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.hasOwn(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.op) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case '=':
    case 'in':
      return has && r.values.includes(v as string);
    case '!=':
    case 'notin':
      // As in apimachinery: a pod without the key satisfies "notin" and "!=".
      return !has || !r.values.includes(v as string);
  }
}

function compileRequirements(reqs: readonly Requirement[]): LabelPredicate {
  if (reqs.length === 0) return () => true;
  return (labels) => reqs.every((r) => requirementMatches(r, labels));
}

function apiRequirements(sel: ApiLabelSelector): Requirement[] {
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key, op: '=', values: [value] });
  for (const e of sel.matchExpressions ?? []) {
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        reqs.push({ key: e.key, op: 'in', values });
        break;
      case 'NotIn':
        reqs.push({ key: e.key, op: 'notin', values });
        break;
      case 'Exists':
        reqs.push({ key: e.key, op: 'exists', values: [] });
        break;
      case 'DoesNotExist':
        reqs.push({ key: e.key, op: '!exists', values: [] });
        break;
      default:
        // The API server rejects unknown operators; matching nothing is the safe reading.
        reqs.push({ key: e.key, op: 'in', values: [] });
    }
  }
  return reqs;
}

/** Compiles an API label selector; an empty selector ({}) matches everything. */
export function compileApiSelector(sel: ApiLabelSelector | null | undefined): LabelPredicate {
  return compileRequirements(apiRequirements(sel ?? {}));
}

/** Whether an API selector is empty (selects everything). */
export function isEmptySelector(sel: ApiLabelSelector | null | undefined): boolean {
  return Object.keys(sel?.matchLabels ?? {}).length === 0 && (sel?.matchExpressions ?? []).length === 0;
}

/** Describes an API selector in kubectl syntax, e.g. "run=sleepybox1,env in (a,b)". */
export function describeApiSelector(sel: ApiLabelSelector | null | undefined): string {
  const parts = apiRequirements(sel ?? {}).map((r) => {
    switch (r.op) {
      case '=':
      case '!=':
        return `${r.key}${r.op}${r.values[0] ?? ''}`;
      case 'in':
      case 'notin':
        return `${r.key} ${r.op} (${r.values.join(',')})`;
      case 'exists':
        return r.key;
      case '!exists':
        return `!${r.key}`;
    }
  });
  return parts.join(',');
}

/** Parses a kubectl-syntax selector ("a=b,c!=d,e in (x,y),f notin (z),g,!h"); throws on bad syntax. */
export function parseLabelSelector(text: string): LabelPredicate {
  return compileRequirements(labelSelectorTerms(text));
}

/** The terms of a kubectl-syntax selector, for a caller that needs its keys or values; throws on bad syntax. */
export function labelSelectorTerms(text: string): Requirement[] {
  const reqs: Requirement[] = [];
  // Split on commas that are not inside parentheses.
  const terms: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  for (const raw of terms) {
    const t = raw.trim();
    if (!t) continue;
    let m: RegExpMatchArray | null;
    if ((m = t.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      const values = (m[3] ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
      reqs.push({ key: m[1] ?? '', op: m[2] as 'in' | 'notin', values });
    } else if ((m = t.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/))) {
      reqs.push({ key: m[1] ?? '', op: m[2] === '!=' ? '!=' : '=', values: [m[3] ?? ''] });
    } else if ((m = t.match(/^!\s*([\w./-]+)$/))) {
      reqs.push({ key: m[1] ?? '', op: '!exists', values: [] });
    } else if ((m = t.match(/^([\w./-]+)$/))) {
      reqs.push({ key: m[1] ?? '', op: 'exists', values: [] });
    } else {
      throw new Error(`bad label selector term "${t}"`);
    }
  }
  return reqs;
}

/** Whether labels carry every key=value of a map selector (a Service's selector, a nodeSelector); an empty map selects everything. */
export function matchesLabels(selector: Readonly<Record<string, string>>, labels: Labels): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
