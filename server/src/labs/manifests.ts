import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import { describeYamlError, type Problem } from './problems.ts';
import { valueAt } from '../../../graders/src/shared/object-path.ts';

/** A Kubernetes object read from a manifest file, with the line it starts on. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
  /** Not part of the object: where it came from (non-enumerable, so it never reaches the API). */
}

export interface ParsedManifests {
  /** Each object with the line it starts on and where each `image:` value in it is written. */
  objects: { object: ManifestObject; line: number; images: { image: string; line: number; col: number }[] }[];
  problems: Problem[];
}

// Every `image: <string>` pair below node, with the position of its value.
function imagePositions(node: unknown, lines: LineCounter, out: { image: string; line: number; col: number }[] = []) {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isScalar(pair.key) && pair.key.value === 'image' && isScalar(pair.value) && typeof pair.value.value === 'string' && pair.value.range) {
        const p = lines.linePos(pair.value.range[0]);
        out.push({ image: pair.value.value, line: p.line, col: p.col });
      } else imagePositions(pair.value, lines, out);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) imagePositions(item, lines, out);
  }
  return out;
}

/** Parses a multi-document YAML manifest; every document must be an object with apiVersion, kind and metadata.name. */
export function parseManifests(text: string, file: string): ParsedManifests {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  const objects: ParsedManifests['objects'] = [];
  const problems: Problem[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const errors = 'errors' in doc ? doc.errors : [];
    if (errors.length) {
      // Only the first error of a document: later ones are usually consequences of it.
      const d = describeYamlError(text, errors[0]!);
      const p = lines.linePos(d.offset);
      problems.push({ file, line: p.line, col: p.col, severity: 'error', message: d.message, ...(d.hint ? { hint: d.hint } : {}) });
      continue;
    }
    if (doc.contents === null) continue; // empty document (e.g. trailing ---)
    const start = lines.linePos(doc.contents.range[0]);
    if (!isMap(doc.contents)) {
      problems.push({
        file,
        line: start.line,
        col: start.col,
        severity: 'error',
        message: 'each YAML document must be a Kubernetes object (a mapping with apiVersion, kind, metadata)',
      });
      continue;
    }
    const obj = doc.toJS() as Record<string, unknown>;
    const missing = ['apiVersion', 'kind'].filter((k) => typeof obj[k] !== 'string' || !obj[k]);
    const meta = obj.metadata as Record<string, unknown> | undefined;
    if (!meta || typeof meta.name !== 'string' || !meta.name) missing.push('metadata.name');
    if (missing.length) {
      problems.push({ file, line: start.line, col: start.col, severity: 'error', message: `Kubernetes object is missing ${missing.join(', ')}` });
      continue;
    }
    objects.push({ object: obj as ManifestObject, line: start.line, images: imagePositions(doc.contents, lines) });
  }
  return { objects, problems };
}

const POD_SPEC_PATHS: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/** The pod spec inside a workload object (Pod, Deployment, …), if it has one. */
export function podSpecOf(obj: ManifestObject): Record<string, unknown> | undefined {
  const path = POD_SPEC_PATHS[obj.kind];
  const spec = path ? valueAt(obj, path) : undefined;
  return typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>) : undefined;
}

/** The labels the pods of a workload get (the object's own labels for a Pod, the template's otherwise). */
export function podLabelsOf(obj: ManifestObject): Record<string, string> | undefined {
  if (obj.kind === 'Pod') return obj.metadata.labels ?? {};
  const path = POD_SPEC_PATHS[obj.kind];
  if (!path) return undefined;
  const labels = valueAt(obj, [...path.slice(0, -1), 'metadata', 'labels']);
  return (labels as Record<string, string> | undefined) ?? {};
}

/** Every container image a workload object runs (init containers included). */
export function imagesOf(obj: ManifestObject): string[] {
  const spec = podSpecOf(obj);
  if (!spec) return [];
  const out: string[] = [];
  for (const key of ['initContainers', 'containers', 'ephemeralContainers']) {
    const list = spec[key];
    if (!Array.isArray(list)) continue;
    for (const c of list) if (c && typeof c.image === 'string') out.push(c.image);
  }
  return out;
}
