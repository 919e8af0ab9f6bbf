import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Lab } from '../labs/loader.ts';
import { parseManifests, podSpecOf, type ManifestObject } from '../labs/manifests.ts';
import { paramSpaceSize, paramValueAt, substituteParams } from '../labs/params.ts';

// Several labs share one cluster in an exam, as in the real one. Their setups and solutions must not
// touch the same things, or one task's setup (or solution) silently changes another task's starting
// point or grade. What a lab touches is read from its manifests; scripts are opaque.

/** Kinds that are not namespaced (Kubernetes' own; CRDs of labs are assumed namespaced). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'IngressClass',
  'PriorityClass',
  'RuntimeClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'APIService',
  'CSIDriver',
  'CSINode',
  'VolumeAttachment',
  'GatewayClass',
  'CertificateSigningRequest',
  'FlowSchema',
  'PriorityLevelConfiguration',
]);

/** Namespaced kinds whose effect covers every pod of their namespace. */
const NAMESPACE_WIDE = new Set(['NetworkPolicy', 'ResourceQuota', 'LimitRange']);

/** One thing a lab's setup or solution touches, with where it is written. */
export interface Footprint {
  /** What can collide: object:…, ns:…, nodeport:…, hostport:…, nodes (everything on the node). */
  key: string;
  /** In words, for the problem message: "Namespace store", "NodePort 30080/TCP". */
  what: string;
  /** File relative to the repository root, and line. */
  file: string;
  line: number;
}

/** The most values one footprint key may take over a lab's draws before the exam linter gives up on it. */
const MAX_KEY_VALUES = 10_000;

/**
 * What a lab's setup and solution touch on its cluster (manifests read from the lab folder). For a
 * parametrised lab, over **every** draw: each param is read as a stand-in, and a key naming params
 * (Namespace {{ns}}, NodePort {{port}}) is expanded to every value they can take, so an exam refuses
 * a composition where any draw could collide.
 */
export function labFootprint(lab: Lab, rel: (abs: string) => string): { claims: Footprint[]; uses: Footprint[] } {
  if (!lab.params) return writtenFootprint(lab, rel, (t) => t);
  const params = lab.params;
  const names = Object.keys(params);
  const stand = Object.fromEntries(names.map((n) => [n, `zq${n}qz`]));
  const print = writtenFootprint(lab, rel, (t) => substituteParams(t, stand));
  const expand = (f: Footprint): Footprint[] => {
    const used = names.filter((n) => f.key.includes(stand[n]!));
    if (!used.length) return [f];
    const count = used.reduce((c, n) => c * paramSpaceSize(params[n]!), 1);
    if (count > MAX_KEY_VALUES)
      return [
        {
          ...f,
          key: 'nodes',
          what: `${f.what.replaceAll(/zq(\w+?)qz/g, '{{$1}}')} (its params give ${count} possible names, too many to check against other labs)`,
        },
      ];
    let out: { key: string; what: string }[] = [{ key: f.key, what: f.what }];
    for (const n of used) {
      const values = Array.from({ length: paramSpaceSize(params[n]!) }, (_, i) => paramValueAt(params[n]!, i));
      out = out.flatMap((o) => values.map((v) => ({ key: o.key.replaceAll(stand[n]!, v), what: o.what.replaceAll(stand[n]!, v) })));
    }
    return out.map((o) => ({ ...f, ...o }));
  };
  return { claims: print.claims.flatMap(expand), uses: print.uses.flatMap(expand) };
}

function writtenFootprint(lab: Lab, rel: (abs: string) => string, text: (t: string) => string): { claims: Footprint[]; uses: Footprint[] } {
  const claims: Footprint[] = [];
  // Namespaces the lab puts objects in (checked against namespaces another lab creates or policies).
  const uses: Footprint[] = [];
  for (const script of [lab.files.setupScript, lab.files.solutionScript]) {
    if (script)
      claims.push({ key: 'nodes', what: `${script} (a script: kubedrill cannot see what it changes)`, file: rel(path.join(lab.dir, script)), line: 1 });
  }
  // A node script runs as root on a node: a stopped kubelet or a moved static-pod manifest breaks
  // every task on the cluster (its pods cannot be scheduled or run there), not only the lab's own.
  for (const n of [...lab.files.setupNodeScripts, ...lab.files.solutionNodeScripts]) {
    claims.push({ key: 'nodes', what: `${n.file} (runs as root on the ${n.role} node)`, file: rel(path.join(lab.dir, n.file)), line: 1 });
  }
  // dedicated / broken: the lab says itself that it changes nodes or kube-system.
  const declared = lab.meta.cluster.dedicated ? /^\s+dedicated:/m : lab.meta.broken ? /^broken:/m : undefined;
  if (declared) {
    const mdx = path.join(lab.dir, 'lab.mdx');
    const src = readFileSync(mdx, 'utf8');
    const at = declared.exec(src);
    const line = at ? src.slice(0, at.index).split('\n').length : 1;
    claims.push({
      key: 'nodes',
      what: `${lab.meta.cluster.dedicated ? 'cluster.dedicated' : 'broken'} (the lab changes nodes or kube-system)`,
      file: rel(mdx),
      line,
    });
  }
  for (const file of [...lab.files.setupManifests, ...lab.files.solutionManifests]) {
    const abs = path.join(lab.dir, file);
    for (const { object, line } of parseManifests(text(readFileSync(abs, 'utf8')), file).objects) {
      const at = { file: rel(abs), line };
      claims.push(...objectClaims(object).map((c) => ({ ...c, ...at })));
      if (!CLUSTER_SCOPED.has(object.kind)) {
        const ns = object.metadata.namespace ?? 'default';
        uses.push({ key: `ns:${ns}`, what: `${object.kind} ${ns}/${object.metadata.name}`, ...at });
      }
    }
  }
  return { claims, uses };
}

function objectClaims(o: ManifestObject): Omit<Footprint, 'file' | 'line'>[] {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '';
  const name = o.metadata.name;
  const out: Omit<Footprint, 'file' | 'line'>[] = [];
  if (o.kind === 'Node') out.push({ key: 'nodes', what: `Node ${name} (a node change affects every task on the cluster)` });
  else if (CLUSTER_SCOPED.has(o.kind)) out.push({ key: `object:${group}/${o.kind}/${name}`, what: `${o.kind} ${name}` });
  else {
    const ns = o.metadata.namespace ?? 'default';
    out.push({ key: `object:${group}/${o.kind}/${ns}/${name}`, what: `${o.kind} ${ns}/${name}` });
    if (NAMESPACE_WIDE.has(o.kind)) out.push({ key: `policy:${ns}`, what: `${o.kind} ${ns}/${name} (it applies to every pod of namespace ${ns})` });
  }
  // A namespace a lab creates is the lab's own: another lab's objects there would share its policies and counts.
  if (o.kind === 'Namespace') out.push({ key: `ns:${name}`, what: `Namespace ${name}` });
  const spec = (o.spec ?? {}) as { type?: string; ports?: { nodePort?: number; protocol?: string }[] };
  if (o.kind === 'Service' && (spec.type === 'NodePort' || spec.type === 'LoadBalancer')) {
    for (const p of spec.ports ?? [])
      if (p.nodePort) out.push({ key: `nodeport:${p.nodePort}/${p.protocol ?? 'TCP'}`, what: `NodePort ${p.nodePort}/${p.protocol ?? 'TCP'}` });
  }
  const pod = podSpecOf(o) as
    { hostNetwork?: boolean; containers?: { ports?: { containerPort?: number; hostPort?: number; protocol?: string }[] }[] } | undefined;
  for (const c of pod?.containers ?? []) {
    for (const p of c.ports ?? []) {
      const port = p.hostPort ?? (pod?.hostNetwork ? p.containerPort : undefined);
      if (port)
        out.push({
          key: `hostport:${port}/${p.protocol ?? 'TCP'}`,
          what: `host port ${port}/${p.protocol ?? 'TCP'} (${o.kind} ${o.metadata.namespace ?? 'default'}/${name})`,
        });
    }
  }
  return out;
}

/** A collision between two labs on one cluster. */
export interface Collision {
  a: Footprint;
  b: Footprint;
  why: string;
}

/** Every collision between two labs' footprints (a: the earlier lab, b: the later one). */
export function collide(a: { claims: Footprint[]; uses: Footprint[] }, b: { claims: Footprint[]; uses: Footprint[] }): Collision[] {
  const out: Collision[] = [];
  const seen = new Set<string>();
  const add = (x: Footprint, y: Footprint, why: string) => {
    const k = `${why}|${x.file}:${x.line}|${y.file}:${y.line}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ a: x, b: y, why });
    }
  };
  const nodesA = a.claims.find((c) => c.key === 'nodes');
  const nodesB = b.claims.find((c) => c.key === 'nodes');
  const anyA = a.claims[0];
  const anyB = b.claims[0];
  if (nodesA && anyB) add(nodesA, anyB, `${nodesA.what} shares the cluster with ${anyB.what}`);
  else if (nodesB && anyA) add(anyA, nodesB, `${nodesB.what} shares the cluster with ${anyA.what}`);
  const byKey = new Map<string, Footprint>();
  for (const c of a.claims) if (!byKey.has(c.key)) byKey.set(c.key, c);
  for (const c of b.claims) {
    const other = byKey.get(c.key);
    if (!other || c.key === 'nodes') continue;
    add(other, c, c.key.startsWith('ns:') ? `both create ${c.what}` : c.key.startsWith('policy:') ? `both set ${c.what}` : `both create ${c.what}`);
  }
  // A namespace one lab creates, or a namespace-wide policy one lab sets, must not hold the other's objects.
  const claimed = (claims: Footprint[], prefix: string) => new Map(claims.filter((c) => c.key.startsWith(prefix)).map((c) => [c.key.slice(prefix.length), c]));
  for (const [x, y, flip] of [
    [a, b, false],
    [b, a, true],
  ] as const) {
    const owned = claimed(x.claims, 'ns:');
    const policies = claimed(x.claims, 'policy:');
    for (const u of y.uses) {
      const ns = u.key.slice('ns:'.length);
      const own = owned.get(ns);
      const policy = policies.get(ns);
      const why = own ? `${u.what} is in namespace ${ns}, which the other lab creates` : policy ? `${u.what} is subject to ${policy.what}` : undefined;
      const by = own ?? policy;
      if (!why || !by) continue;
      // Objects of a lab in the namespace it creates itself are its own business.
      if (y.claims.some((c) => c.key === `ns:${ns}`) && own) continue;
      if (flip) add(u, by, why);
      else add(by, u, why);
    }
  }
  return out;
}
