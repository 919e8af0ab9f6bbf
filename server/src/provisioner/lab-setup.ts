import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ClusterError, type CallOptions, type ClusterPort, type ExecResult, type KubeObject } from '../../../graders/src/cluster/port.ts';
import { nodeForRole } from '../../../graders/src/engine/checks.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import { parseManifests } from '../labs/manifests.ts';
import { liveServices, unprogrammedServices } from './service-rules.ts';
import { unservedRoutes, type RouteProbeHost } from './route-readiness.ts';
import { ProvisionError, step, type StepSink } from './steps.ts';
import { sleep } from '../../../graders/src/shared/sleep.ts';

/** Objects (or the pods of workloads) annotated with this set to "false" are not waited for. */
export const WAIT_ANNOTATION = 'kubedrill.io/wait';

/** Namespaces every kind cluster has; workloads there are only waited for when setup manifests name them. */
const SYSTEM_NAMESPACES = new Set(['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage']);

const WORKLOAD_KINDS = [
  { apiVersion: 'v1', kind: 'Pod' },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
  { apiVersion: 'apps/v1', kind: 'DaemonSet' },
  { apiVersion: 'apps/v1', kind: 'StatefulSet' },
] as const;

/** What applying a lab's setup needs: the lab folder and files, a cluster port and the runner. */
export interface LabSetup {
  dir: string;
  setupManifests: readonly string[];
  setupScript: string | undefined;
  /** Scripts run as root on a node (by role) once the rest of setup is ready. */
  nodeScripts?: readonly { role: string; file: string }[];
  /** What setup breaks on purpose: not waited for; instead waited for until it shows as broken. */
  broken?: { nodes: readonly string[]; components: readonly string[] };
}

/** The steps applyLabSetup reports, as the page lists them. */
export const SETUP_STEPS = {
  manifests: 'Applying setup manifests',
  script: 'Running setup script',
  ready: 'Waiting for setup to be ready',
  nodes: 'Running node setup',
  broken: 'Waiting for the breakage to show',
} as const;

/** What setup breaks on purpose that it waits for (kube-apiserver broken cannot be asked about). */
function waitsForBreakage(broken: LabSetup['broken']): boolean {
  return Boolean(broken && (broken.nodes.length || broken.components.some((c) => c !== 'kube-apiserver')));
}

/** The steps applyLabSetup will report for this lab, in order (the plan the page shows before they run). */
export function labSetupSteps(lab: LabSetup): string[] {
  return [
    ...(lab.setupManifests.length ? [SETUP_STEPS.manifests] : []),
    ...(lab.setupScript ? [SETUP_STEPS.script] : []),
    ...(lab.setupManifests.length || lab.setupScript ? [SETUP_STEPS.ready] : []),
    ...(lab.nodeScripts?.length ? [SETUP_STEPS.nodes] : []),
    ...(waitsForBreakage(lab.broken) ? [SETUP_STEPS.broken] : []),
  ];
}

/** Runs a command as root on a node of the attempt's cluster, by Kubernetes node name (the ssh path). */
export type NodeExec = (node: string, argv: readonly string[], opts?: CallOptions) => Promise<ExecResult>;

/** kube-system pods of each component, by the labels kubeadm, kind and CoreDNS give them. */
const COMPONENT_LABELS: Record<string, string> = {
  'kube-apiserver': 'component=kube-apiserver',
  'kube-scheduler': 'component=kube-scheduler',
  'kube-controller-manager': 'component=kube-controller-manager',
  etcd: 'component=etcd',
  coredns: 'k8s-app=kube-dns',
  'kube-proxy': 'k8s-app=kube-proxy',
  kindnet: 'app=kindnet',
};

/** Reads a multi-document manifest file into objects, or throws with the file's first problem. */
export async function readManifestFile(file: string): Promise<KubeObject[]> {
  const parsed = parseManifests(await readFile(file, 'utf8'), file);
  const problem = parsed.problems[0];
  if (problem) throw new Error(`${problem.file}:${problem.line}:${problem.col} ${problem.message}`);
  return parsed.objects.map((o) => o.object as KubeObject);
}

/**
 * Applies a lab's setup (server-side apply of its manifests, then its script with KUBECONFIG) and
 * waits until what it created is ready: pods Ready, Deployments rolled out, DaemonSets and
 * StatefulSets ready, Services programmed on every node, HTTPRoutes accepted and answered through
 * their Gateway — except objects annotated kubedrill.io/wait: "false".
 */
export async function applyLabSetup(
  lab: LabSetup,
  cluster: { kubeconfigPath: string; nodes?: readonly string[] },
  deps: { port: ClusterPort; runner: CommandRunner; nodeExec?: NodeExec },
  onStep: StepSink,
  opts: { timeoutMs: number; signal?: AbortSignal; pollMs?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());
  const applied: KubeObject[] = [];
  if (lab.setupManifests.length) {
    await step(SETUP_STEPS.manifests, onStep, async () => {
      for (const rel of lab.setupManifests) {
        const objects = await readManifestFile(path.join(lab.dir, rel));
        try {
          await deps.port.apply(objects, { fieldManager: 'kubedrill-setup', timeoutMs: left(), ...(opts.signal ? { signal: opts.signal } : {}) });
        } catch (e) {
          throw new ProvisionError(SETUP_STEPS.manifests, `applying ${rel} failed: ${(e as Error).message.split('\n')[0]}`, (e as Error).message);
        }
        applied.push(...objects);
      }
    });
  }
  if (lab.setupScript) {
    const script = lab.setupScript;
    await step(SETUP_STEPS.script, onStep, async () => {
      await deps.runner.run({
        argv: ['bash', path.join(lab.dir, script)],
        cwd: lab.dir,
        env: { KUBECONFIG: cluster.kubeconfigPath, KUBECACHEDIR: `${cluster.kubeconfigPath}.cache` },
        timeoutMs: left(),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    });
  }
  if (lab.setupManifests.length || lab.setupScript) {
    await step(SETUP_STEPS.ready, onStep, async () => {
      const problems = await waitUntilReady(deps.port, applied, deadline, {
        ...opts,
        ...(cluster.nodes?.length ? { kubeProxy: { runner: deps.runner, nodes: cluster.nodes } } : {}),
      });
      if (!problems.length) return;
      throw new ProvisionError(
        SETUP_STEPS.ready,
        `setup was not ready after ${Math.round(opts.timeoutMs / 1000)} s: ${problems.slice(0, 3).join('; ')}`,
        problems.join('\n'),
      );
    });
  }
  if (lab.nodeScripts?.length) {
    const exec = deps.nodeExec;
    if (!exec) throw new ProvisionError(SETUP_STEPS.nodes, "this lab runs setup on a node, which needs Docker access to the cluster's node containers");
    await step(SETUP_STEPS.nodes, onStep, async () => {
      const nodes = await deps.port.list({ apiVersion: 'v1', kind: 'Node' }, { timeoutMs: left() });
      for (const s of lab.nodeScripts ?? []) {
        const node = nodeForRole(nodes, s.role);
        if (!node) throw new ProvisionError(SETUP_STEPS.nodes, `${s.file}: the cluster has no ${s.role} node`);
        const text = await readFile(path.join(lab.dir, s.file), 'utf8');
        const r = await exec(node.metadata.name, ['bash', '-c', text, s.file], { timeoutMs: left(), ...(opts.signal ? { signal: opts.signal } : {}) });
        if (r.exitCode !== 0)
          throw new ProvisionError(SETUP_STEPS.nodes, `${s.file} exited ${r.exitCode} on ${node.metadata.name}`, `${r.stdout}\n${r.stderr}`.trim());
      }
    });
  }
  const broken = lab.broken;
  if (broken && waitsForBreakage(broken)) {
    await step(SETUP_STEPS.broken, onStep, async () => {
      const still = await waitUntilBroken(deps.port, broken, deadline, opts);
      if (!still.length) return;
      throw new ProvisionError(
        SETUP_STEPS.broken,
        `what setup breaks on purpose still works after ${Math.round(opts.timeoutMs / 1000)} s: ${still.join('; ')}`,
        still.join('\n'),
      );
    });
  }
}

/**
 * What to report instead of failing when a readiness poll's API call does not get through: a call
 * that timed out, could not connect, or was answered 429/5xx. Real control planes have such moments
 * (an API server restarting behind the load balancer, etcd catching a member up), and the poll goes
 * on until its deadline. Anything else (forbidden, a bad request, the caller's cancellation) is thrown.
 */
export function apiUnavailable(e: unknown): string | undefined {
  if (!(e instanceof ClusterError)) return undefined;
  const transient =
    e.reason === 'timeout' || e.reason === 'unreachable' || (e.reason === 'api' && e.status !== undefined && (e.status === 429 || e.status >= 500));
  return transient ? `the API server did not answer: ${e.message}` : undefined;
}

/** Runs one poll's reads; a transient API failure becomes the poll's only problem (see apiUnavailable). */
async function pollOnce(read: () => Promise<string[]>): Promise<string[]> {
  try {
    return await read();
  } catch (e) {
    const unavailable = apiUnavailable(e);
    if (unavailable === undefined) throw e;
    return [unavailable];
  }
}

/**
 * Polls until every node and component setup breaks on purpose shows as broken: the node's Ready
 * condition is no longer True (the node controller notices a stopped kubelet only after its grace
 * period, ~50 s) and the component has no Ready pod. Returns what still looks healthy at the deadline.
 * kube-apiserver is not polled: with it broken nothing can be asked.
 */
export async function waitUntilBroken(
  port: ClusterPort,
  broken: { nodes: readonly string[]; components: readonly string[] },
  deadline: number,
  opts: { pollMs?: number; signal?: AbortSignal } = {},
): Promise<string[]> {
  for (;;) {
    opts.signal?.throwIfAborted();
    const call = { timeoutMs: Math.max(1000, Math.min(deadline - Date.now(), 15_000)) };
    const still = await pollOnce(() => brokenStillHealthy(port, broken, call));
    if (!still.length || Date.now() >= deadline) return still;
    await sleep(Math.min(opts.pollMs ?? 2000, Math.max(0, deadline - Date.now())), opts.signal);
  }
}

/** What setup broke on purpose that still looks healthy now. */
async function brokenStillHealthy(
  port: ClusterPort,
  broken: { nodes: readonly string[]; components: readonly string[] },
  call: { timeoutMs: number },
): Promise<string[]> {
  const still: string[] = [];
  if (broken.nodes.length) {
    const nodes = await port.list({ apiVersion: 'v1', kind: 'Node' }, call);
    for (const role of broken.nodes) {
      const node = nodeForRole(nodes, role);
      const ready =
        ((node?.status ?? {}) as { conditions?: { type: string; status: string }[] }).conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      if (node && ready) still.push(`node ${node.metadata.name} (${role}) is still Ready`);
    }
  }
  for (const component of broken.components) {
    const selector = COMPONENT_LABELS[component];
    if (!selector || component === 'kube-apiserver') continue;
    const pods = await port.list({ apiVersion: 'v1', kind: 'Pod', namespace: 'kube-system', labelSelector: selector }, call);
    const ready = pods.filter((p) => readinessProblems([p]).length === 0 && (p.status as { phase?: string } | undefined)?.phase === 'Running');
    if (ready.length) still.push(`${component} still has a Ready pod (${ready.map((p) => p.metadata.name).join(', ')})`);
  }
  return still;
}

/** Where kube-proxy's rules can be read: the node containers of the cluster, through the runner. */
export interface KubeProxyNodes {
  runner: CommandRunner;
  nodes: readonly string[];
}

/** Where requests through a gateway are sent from: the first node container (curl is there, and kube-proxy serves ClusterIPs on it). */
function routeProbeHost(kubeProxy: KubeProxyNodes | undefined): RouteProbeHost | undefined {
  const node = kubeProxy?.nodes[0];
  return kubeProxy && node ? { runner: kubeProxy.runner, node } : undefined;
}

/**
 * Polls notReady until everything is ready or the deadline passes; returns what is still not ready.
 * With kubeProxy, the Services among applied also count as ready only once every node has kube-proxy's
 * rule for them, so nothing that follows probes a ClusterIP that is still routed off the node.
 */
export async function waitUntilReady(
  port: ClusterPort,
  applied: readonly KubeObject[],
  deadline: number,
  opts: { pollMs?: number; signal?: AbortSignal; kubeProxy?: KubeProxyNodes } = {},
): Promise<string[]> {
  const left = () => Math.max(0, deadline - Date.now());
  for (;;) {
    opts.signal?.throwIfAborted();
    const call = { timeoutMs: Math.max(1000, Math.min(left(), 15_000)) };
    const problems = await pollOnce(async () => {
      let problems = await notReady(port, applied, call);
      if (!problems.length && opts.kubeProxy) {
        const services = await liveServices(port, applied, call);
        problems = await unprogrammedServices(opts.kubeProxy.runner, opts.kubeProxy.nodes, services, {
          ...call,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      }
      // Last, once their backends run and are served: the Gateway API routes, by status and by requests through the gateway.
      if (!problems.length)
        problems = await unservedRoutes(port, applied, routeProbeHost(opts.kubeProxy), { ...call, ...(opts.signal ? { signal: opts.signal } : {}) });
      return problems;
    });
    if (!problems.length || Date.now() >= deadline) return problems;
    // Four list calls per poll; polling every 250 ms instead of every second takes ~0.4 s off the
    // average Start (the learner waits for exactly this) at a cost the API server does not notice.
    await sleep(Math.min(opts.pollMs ?? 250, left()), opts.signal);
  }
}

/**
 * For a state that may be broken on purpose (a lab's wrong answer: a pod that stays Pending, a
 * probe that never passes): waits until everything is ready, or until what is not ready has stayed
 * the same for quietMs — settled, as a learner would see it. kube-proxy's rules for the Services
 * are required either way (they are written with or without endpoints), so nothing is ever probed
 * through an unprogrammed ClusterIP. Returns what is still wrong at the deadline (empty when settled).
 */
export async function waitUntilSettled(
  port: ClusterPort,
  applied: readonly KubeObject[],
  deadline: number,
  opts: { quietMs: number; pollMs?: number; signal?: AbortSignal; kubeProxy?: KubeProxyNodes; now?: () => number },
): Promise<{ problems: string[]; notReady: string[] }> {
  const now = opts.now ?? Date.now;
  const left = () => Math.max(0, deadline - now());
  let last = '';
  let since = now();
  for (;;) {
    opts.signal?.throwIfAborted();
    const call = { timeoutMs: Math.max(1000, Math.min(left(), 15_000)) };
    let waiting: string[];
    let unserved: string[];
    try {
      waiting = await notReady(port, applied, call);
      // A wrong answer's route may never be served (no parent, a Gateway nobody controls): like a pod
      // that stays Pending, it settles once the reason stays the same.
      if (!waiting.length)
        waiting = await unservedRoutes(port, applied, routeProbeHost(opts.kubeProxy), { ...call, ...(opts.signal ? { signal: opts.signal } : {}) });
      unserved = opts.kubeProxy
        ? await unprogrammedServices(opts.kubeProxy.runner, opts.kubeProxy.nodes, await liveServices(port, applied, call), {
            ...call,
            ...(opts.signal ? { signal: opts.signal } : {}),
          })
        : [];
    } catch (e) {
      // An API that does not answer says nothing about the state: not settled, and the quiet period does not move.
      const unavailable = apiUnavailable(e);
      if (unavailable === undefined) throw e;
      if (now() >= deadline) return { problems: [unavailable], notReady: [unavailable] };
      await sleep(Math.min(opts.pollMs ?? 1000, left()), opts.signal);
      continue;
    }
    const key = waiting.join('\n');
    if (key !== last) {
      last = key;
      since = now();
    }
    if (!unserved.length && (!waiting.length || now() - since >= opts.quietMs)) return { problems: [], notReady: waiting };
    if (now() >= deadline) return { problems: [...unserved, ...waiting], notReady: waiting };
    await sleep(Math.min(opts.pollMs ?? 1000, left()), opts.signal);
  }
}

/** Descriptions of what is not ready yet: the objects setup applied and the workloads outside system namespaces. */
export async function notReady(port: ClusterPort, applied: readonly KubeObject[], call: { timeoutMs: number }): Promise<string[]> {
  const named = new Set(applied.map((o) => `${o.kind}/${o.metadata.namespace ?? 'default'}/${o.metadata.name}`));
  const lists = await Promise.all(WORKLOAD_KINDS.map((k) => port.list({ apiVersion: k.apiVersion, kind: k.kind }, call)));
  const objects = lists
    .flat()
    .filter((o) => !SYSTEM_NAMESPACES.has(o.metadata.namespace ?? '') || named.has(`${o.kind}/${o.metadata.namespace ?? 'default'}/${o.metadata.name}`));
  return readinessProblems(objects);
}

const num = (v: unknown) => (typeof v === 'number' ? v : 0);

/** Why each object is not ready (empty when all are), honouring kubedrill.io/wait: "false". */
export function readinessProblems(objects: readonly KubeObject[]): string[] {
  const skipped = new Set(
    objects.filter((o) => o.metadata.annotations?.[WAIT_ANNOTATION] === 'false').map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
  );
  const ownerSkipped = (o: KubeObject) => {
    const owners = (o.metadata.ownerReferences ?? []) as { kind: string; name: string }[];
    const ns = o.metadata.namespace;
    // Deployment pods are owned by a ReplicaSet named <deployment>-<hash>.
    return owners.some((r) => skipped.has(`${ns}/${r.name}`) || (r.kind === 'ReplicaSet' && skipped.has(`${ns}/${r.name.replace(/-[a-z0-9]+$/, '')}`)));
  };
  const out: string[] = [];
  for (const o of objects) {
    const id = `${o.kind.toLowerCase()} ${o.metadata.namespace}/${o.metadata.name}`;
    if (skipped.has(`${o.metadata.namespace}/${o.metadata.name}`) || ownerSkipped(o)) continue;
    const spec = (o.spec ?? {}) as Record<string, unknown>;
    const status = (o.status ?? {}) as Record<string, unknown>;
    if (o.kind === 'Pod') {
      const phase = status.phase as string | undefined;
      if (phase === 'Succeeded') continue;
      const conditions = (status.conditions ?? []) as { type: string; status: string }[];
      if (conditions.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      const waiting = ((status.containerStatuses ?? []) as { name: string; state?: { waiting?: { reason?: string; message?: string } } }[])
        .map((c) => (c.state?.waiting?.reason ? `${c.name}: ${c.state.waiting.reason}${c.state.waiting.message ? ` (${c.state.waiting.message})` : ''}` : ''))
        .filter(Boolean);
      out.push(`${id} is ${phase ?? 'Pending'}${waiting.length ? ` — ${waiting.join(', ')}` : ''}`);
    } else if (o.kind === 'Deployment') {
      const want = spec.replicas === undefined ? 1 : num(spec.replicas);
      const generation = num((o.metadata as { generation?: number }).generation);
      // As `kubectl rollout status` judges it: every replica updated and available, and no pod of an
      // older ReplicaSet left (a controller such as an HPA may scale the Deployment mid-rollout).
      if (num(status.observedGeneration) < generation || num(status.updatedReplicas) < want || num(status.availableReplicas) < want) {
        out.push(`${id} has ${num(status.availableReplicas)}/${want} replicas available`);
      } else if (num(status.replicas) > num(status.updatedReplicas)) {
        out.push(`${id} still runs ${num(status.replicas) - num(status.updatedReplicas)} old replica(s) of its previous rollout`);
      }
    } else if (o.kind === 'DaemonSet') {
      const want = num(status.desiredNumberScheduled);
      if (num(status.numberReady) < want || num(status.updatedNumberScheduled) < want || (want === 0 && status.observedGeneration === undefined)) {
        out.push(`${id} has ${num(status.numberReady)}/${want} pods ready`);
      }
    } else if (o.kind === 'StatefulSet') {
      const want = spec.replicas === undefined ? 1 : num(spec.replicas);
      if (num(status.readyReplicas) < want) out.push(`${id} has ${num(status.readyReplicas)}/${want} replicas ready`);
    }
  }
  return out;
}
