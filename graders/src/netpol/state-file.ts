import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../cluster/port.ts';

/**
 * Reads Kubernetes objects as `kubectl get -o yaml|json` prints them: one object, a List (also
 * nested), a JSON array, or multi-document YAML. Throws with the document number on bad input.
 */
export function parseObjects(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  const visit = (value: unknown, where: string) => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, `${where}[${i}]`));
      return;
    }
    if (typeof value !== 'object') throw new Error(`${where}: expected a Kubernetes object, got ${typeof value}`);
    const obj = value as { kind?: unknown; items?: unknown; metadata?: { name?: unknown } };
    if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
      visit(obj.items, `${where}.items`);
      return;
    }
    if (typeof obj.kind !== 'string' || typeof obj.metadata?.name !== 'string')
      throw new Error(`${where}: not a Kubernetes object (needs kind and metadata.name)`);
    out.push(value as KubeObject);
  };
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`document ${i + 1}: ${doc.errors[0]?.message ?? 'bad YAML'}`);
    visit(doc.toJS(), `document ${i + 1}`);
  });
  return out;
}
