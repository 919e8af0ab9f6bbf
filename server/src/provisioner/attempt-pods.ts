// Attempts as Pods on a host Kubernetes cluster (issue 16): the attempt host Pod of one attempt — a
// privileged Docker daemon (scripts/images/attempt-host) in which the attempt's kind cluster and
// workstation run. This module makes its spec (requests sized from the lab's cluster shape, so the
// host cluster's scheduler spreads attempts over its nodes), creates it, and follows it until its
// Docker answers, telling a Pod the scheduler cannot place yet ("queued", with the scheduler's own
// reason) from one that failed; ours are found again by label (reconcile) and deleted by name.
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterShape } from '../labs/format.ts';

/** Labels every attempt host Pod carries; `kubedrill.io/attempt` holds the attempt id. */
export const ATTEMPT_POD_LABELS = { 'app.kubernetes.io/managed-by': 'kubedrill', 'app.kubernetes.io/component': 'attempt-host' } as const;
export const ATTEMPT_LABEL = 'kubedrill.io/attempt';

/**
 * What one attempt asks of the host cluster, from the cluster-size measurements in README "Sizing"
 * (an idle control plane ≈ 0.5 GiB, a worker ≈ 0.1–0.2 GiB, an add-on ≈ 0.1–0.15 GiB; 0.1–0.5 of a
 * core in use) plus the Pod's own Docker daemon, dnsmasq and the workstation (≈ 0.25 GiB).
 */
export function attemptPodRequests(shape: Pick<ClusterShape, 'workers' | 'controlPlanes' | 'addons'>): { cpu: string; memory: string } {
  const controlPlanes = shape.controlPlanes ?? 1;
  const addons = shape.addons?.length ?? 0;
  const memoryMi = 256 + 576 * controlPlanes + 192 * shape.workers + 160 * addons;
  const cpuMilli = 100 + 250 * controlPlanes + 100 * shape.workers + 50 * addons;
  return { cpu: `${cpuMilli}m`, memory: `${memoryMi}Mi` };
}

export interface AttemptPodOptions {
  name: string;
  namespace: string;
  attemptId: string;
  shape: Pick<ClusterShape, 'workers' | 'controlPlanes' | 'addons'>;
  /** The attempt-host image; `pullPolicy` Never where it is preloaded on the nodes. */
  image: string;
  pullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

/** The attempt host Pod: privileged, Docker's storage and /run its own, the node's kernel modules read-only. */
export function attemptPodSpec(o: AttemptPodOptions): V1Pod {
  const requests = attemptPodRequests(o.shape);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, namespace: o.namespace, labels: { ...ATTEMPT_POD_LABELS, [ATTEMPT_LABEL]: o.attemptId } },
    spec: {
      // Nothing restarts an attempt's cluster in place: a Pod that stops is a failed attempt.
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 10,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      containers: [
        {
          name: 'docker',
          image: o.image,
          imagePullPolicy: o.pullPolicy ?? 'IfNotPresent',
          securityContext: { privileged: true },
          resources: { requests },
          readinessProbe: { exec: { command: ['docker', 'info'] }, periodSeconds: 2, timeoutSeconds: 10 },
          volumeMounts: [
            { name: 'docker', mountPath: '/var/lib/docker' },
            { name: 'modules', mountPath: '/lib/modules', readOnly: true },
            { name: 'run', mountPath: '/run' },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      volumes: [
        // overlayfs does not stack on the container's own overlay root: Docker's storage is an emptyDir.
        { name: 'docker', emptyDir: {} },
        { name: 'modules', hostPath: { path: '/lib/modules' } },
        { name: 'run', emptyDir: { medium: 'Memory' } },
        { name: 'tmp', emptyDir: {} },
      ],
    },
  };
}

export type AttemptPodState =
  | { state: 'starting'; detail: string }
  /** The scheduler cannot place it yet (the host cluster is full): the attempt waits, with this reason. */
  | { state: 'queued'; detail: string }
  | { state: 'ready' }
  /** It will not come up, or it went away: the attempt fails with this reason. */
  | { state: 'failed'; detail: string };

/** Container waiting reasons that do not resolve by waiting. */
const STUCK = new Set(['ErrImageNeverPull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'CrashLoopBackOff']);

/** Where an attempt host Pod stands, from the Pod alone. */
export function attemptPodState(pod: V1Pod): AttemptPodState {
  const status = pod.status ?? {};
  if (pod.metadata?.deletionTimestamp) return { state: 'failed', detail: 'the Pod is being deleted' };
  if (status.phase === 'Failed' || status.phase === 'Succeeded') {
    const term = status.containerStatuses?.[0]?.state?.terminated;
    const why = [
      status.reason,
      status.message ?? term?.message ?? (term ? `its container exited with ${term.exitCode}${term.reason ? ` (${term.reason})` : ''}` : undefined),
    ]
      .filter(Boolean)
      .join(': ');
    return { state: 'failed', detail: why || `the Pod ${status.phase === 'Failed' ? 'failed' : 'stopped'}` };
  }
  const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') return { state: 'queued', detail: scheduled.message ?? scheduled.reason ?? 'not scheduled yet' };
  const container = status.containerStatuses?.[0];
  const waiting = container?.state?.waiting;
  if (waiting?.reason && STUCK.has(waiting.reason)) return { state: 'failed', detail: `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
  if (container?.ready) return { state: 'ready' };
  if (waiting?.reason) return { state: 'starting', detail: waiting.reason };
  if (container?.state?.running) return { state: 'starting', detail: 'Docker is starting' };
  return { state: 'starting', detail: status.phase ?? 'Pending' };
}

/** Creates, follows, lists and deletes attempt host Pods in one namespace of the host cluster. */
export class AttemptPods {
  private readonly api: CoreV1Api;
  readonly namespace: string;

  constructor(kubeConfig: KubeConfig, namespace: string) {
    this.api = kubeConfig.makeApiClient(CoreV1Api);
    this.namespace = namespace;
  }

  async create(o: Omit<AttemptPodOptions, 'namespace'>): Promise<void> {
    await this.api.createNamespacedPod({ namespace: this.namespace, body: attemptPodSpec({ ...o, namespace: this.namespace }) });
  }

  /**
   * Polls the Pod until its Docker answers. `onState` hears every change (queued, with the scheduler's
   * reason, or starting); a Pod that fails, or is not ready within `timeoutMs` of being scheduled,
   * rejects with the reason. Time spent queued does not count against the timeout.
   */
  async waitReady(name: string, opts: { timeoutMs: number; onState?: (s: AttemptPodState) => void; signal?: AbortSignal; everyMs?: number }): Promise<void> {
    let last = '';
    let scheduledAt: number | undefined;
    for (;;) {
      opts.signal?.throwIfAborted();
      const pod = await this.api.readNamespacedPod({ name, namespace: this.namespace });
      const s = attemptPodState(pod);
      const key = JSON.stringify(s);
      if (key !== last) {
        last = key;
        opts.onState?.(s);
      }
      if (s.state === 'ready') return;
      if (s.state === 'failed') throw new Error(`attempt host ${this.namespace}/${name}: ${s.detail}`);
      if (s.state === 'queued') scheduledAt = undefined;
      else scheduledAt ??= Date.now();
      if (scheduledAt !== undefined && Date.now() - scheduledAt > opts.timeoutMs) {
        throw new Error(`attempt host ${this.namespace}/${name} was not ready ${Math.round(opts.timeoutMs / 1000)} s after it was scheduled (${s.detail})`);
      }
      await sleep(opts.everyMs ?? 1000, undefined, { signal: opts.signal });
    }
  }

  /** Our attempt host Pods (all, or one attempt's), for reconcile after a restart. */
  async list(attemptId?: string): Promise<V1Pod[]> {
    const selector = Object.entries(ATTEMPT_POD_LABELS).map(([k, v]) => `${k}=${v}`);
    if (attemptId) selector.push(`${ATTEMPT_LABEL}=${attemptId}`);
    const r = await this.api.listNamespacedPod({ namespace: this.namespace, labelSelector: selector.join(',') });
    return r.items;
  }

  async delete(name: string): Promise<void> {
    try {
      await this.api.deleteNamespacedPod({ name, namespace: this.namespace, gracePeriodSeconds: 5 });
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
    }
  }
}
