// Small helpers the whole project shares. They live in graders because graders import nothing of
// ours (eslint.config.js): the server, the scripts and the tests may all import them from here.

/** The value at a path of keys in parsed JSON/YAML, or undefined where the path leaves the objects. */
export function valueAt(source: unknown, path: readonly PropertyKey[]): unknown {
  let node = source;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}
