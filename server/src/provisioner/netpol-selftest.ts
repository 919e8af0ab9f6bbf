import { setTimeout as sleep } from 'node:timers/promises';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { ClusterPort, KubeObject } from '../../../graders/src/cluster/port.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import { imagesOf, type ManifestObject } from '../labs/manifests.ts';
import { readinessProblems, readManifestFile } from './lab-setup.ts';
import type { NetpolVerdict } from './netpol-verdicts.ts';
import { ProvisionError, step, type StepSink } from './steps.ts';

/** Image of the self-test pods; preloaded like lab images. */
export const SELFTEST_IMAGE = 'docker.io/library/busybox:1.37.0';
/** The fallback NetworkPolicy controller (kube-router v2.10.0, policy controller only). */
export const KUBE_ROUTER_MANIFEST = path.join(import.meta.dirname, 'assets', 'kube-router-netpol.yaml');

const NS = 'kubedrill-netpol-selftest';

function selftestObjects(): KubeObject[] {
  const pod = (name: string, command: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: name } },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name, image: SELFTEST_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', command] }],
    },
  });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    pod('server', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www'),
    pod('client', 'exec sleep 3600'),
  ];
}

const denyAll: KubeObject = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'default-deny-ingress', namespace: NS },
  spec: { podSelector: {}, policyTypes: ['Ingress'] },
};

export interface NetpolSelftestDeps {
  port: ClusterPort;
  runner: CommandRunner;
  /** Loads images from the host's Docker into the nodes (the fallback controller's image). */
  preload?: (images: string[]) => Promise<unknown>;
  /** Path of the fallback controller's manifest (default: the bundled asset). */
  fallbackManifest?: string;
  /** How long to keep probing for the policy to take effect. */
  settleMs?: number;
  pollMs?: number;
}

/** Step names of the self-test and of the fallback install, as the page lists them. */
export const NETPOL_STEPS = {
  pods: 'Starting NetworkPolicy probe pods',
  check: 'Checking NetworkPolicy enforcement',
  install: 'Installing NetworkPolicy controller (kube-router)',
  recheck: 'Checking NetworkPolicy enforcement (kube-router)',
} as const;

/** The images of the fallback controller's manifest (preloaded with the lab's images). */
export async function fallbackImages(manifest = KUBE_ROUTER_MANIFEST): Promise<string[]> {
  try {
    await access(manifest);
  } catch {
    return [];
  }
  return [...new Set((await readManifestFile(manifest)).flatMap((o) => imagesOf(o as ManifestObject)))];
}

/** Installs the fallback NetworkPolicy controller (kube-router) and waits until it runs on every node. */
export async function installFallbackController(deps: NetpolSelftestDeps, onStep: StepSink, signal?: AbortSignal): Promise<void> {
  const pollMs = deps.pollMs ?? 1000;
  const call = { timeoutMs: 30_000, ...(signal ? { signal } : {}) };
  await step(NETPOL_STEPS.install, onStep, async () => {
    const manifest = deps.fallbackManifest ?? KUBE_ROUTER_MANIFEST;
    try {
      await access(manifest);
    } catch {
      throw new ProvisionError(
        NETPOL_STEPS.install,
        `NetworkPolicy is not enforced by this cluster's CNI (a default-deny did not block a probe) and the fallback controller manifest ${manifest} is missing`,
      );
    }
    const objects = await readManifestFile(manifest);
    await deps.preload?.([...new Set(objects.flatMap((o) => imagesOf(o as ManifestObject)))]);
    await deps.port.apply(objects, { fieldManager: 'kubedrill-selftest', ...call });
    const deadline = Date.now() + 180_000;
    for (;;) {
      signal?.throwIfAborted();
      const ds = await deps.port.list({ apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'kube-system' }, call);
      const ours = ds.filter((d) => objects.some((o) => o.kind === 'DaemonSet' && o.metadata.name === d.metadata.name));
      if (ours.length && !readinessProblems(ours).length) return;
      if (Date.now() > deadline)
        throw new ProvisionError(NETPOL_STEPS.install, 'kube-router did not become ready within 180 s', readinessProblems(ours).join('\n'));
      await sleep(Math.min(pollMs, 250));
    }
  });
}

/**
 * Proves that a default-deny NetworkPolicy really blocks a new connection on this cluster. kindnet
 * fails open where the kernel lacks nft_queue, so when the probe still gets through, the fallback
 * controller is installed and the test repeated; still open → the attempt fails with a clear message.
 */
export async function verifyNetworkPolicy(cluster: { name: string }, deps: NetpolSelftestDeps, onStep: StepSink, signal?: AbortSignal): Promise<NetpolVerdict> {
  const settleMs = deps.settleMs ?? 6000; // kindnet applies policy changes within about a second
  const pollMs = deps.pollMs ?? 1000;
  const call = { timeoutMs: 30_000, ...(signal ? { signal } : {}) };
  try {
    const serverIp = await step(NETPOL_STEPS.pods, onStep, async () => {
      await deps.port.apply(selftestObjects(), { fieldManager: 'kubedrill-selftest', ...call });
      const deadline = Date.now() + 120_000;
      for (;;) {
        const pods = await deps.port.list({ apiVersion: 'v1', kind: 'Pod', namespace: NS }, call);
        const problems = readinessProblems(pods);
        const ip = (pods.find((p) => p.metadata.name === 'server')?.status as { podIP?: string } | undefined)?.podIP;
        if (pods.length === 2 && !problems.length && ip) return ip;
        if (Date.now() > deadline) throw new ProvisionError(NETPOL_STEPS.pods, 'the probe pods did not become Ready within 120 s', problems.join('\n'));
        await sleep(Math.min(pollMs, 250));
      }
    });
    const probe = async () =>
      (await deps.port.exec({ namespace: NS, name: 'client' }, ['wget', '-q', '-T', '2', '-O', '-', `http://${serverIp}:8080/`], call)).exitCode === 0;
    const blockedWithin = async (ms: number) => {
      const deadline = Date.now() + ms;
      for (;;) {
        if (!(await probe())) return true;
        if (Date.now() > deadline) return false;
        await sleep(pollMs);
      }
    };
    // One step after another (never nested), so the page shows one running step at a time.
    const enforced = await step(NETPOL_STEPS.check, onStep, async () => {
      if (!(await probe()))
        throw new ProvisionError(NETPOL_STEPS.check, 'the probe pod cannot reach the server pod even without any NetworkPolicy: the pod network is broken');
      await deps.port.apply([denyAll], { fieldManager: 'kubedrill-selftest', ...call });
      return blockedWithin(settleMs);
    });
    if (enforced) return 'kindnet';
    await installFallbackController(deps, onStep, signal);
    await step(NETPOL_STEPS.recheck, onStep, async () => {
      if (await blockedWithin(settleMs * 2)) return;
      throw new ProvisionError(
        NETPOL_STEPS.recheck,
        'NetworkPolicy is not enforced on this cluster: a default-deny policy did not block a probe, even with kube-router installed; grading a NetworkPolicy lab here would be dishonest',
      );
    });
    return 'kube-router';
  } finally {
    await deps.runner
      .run({
        argv: [
          'docker',
          'exec',
          `${cluster.name}-control-plane`,
          'kubectl',
          '--kubeconfig=/etc/kubernetes/admin.conf',
          'delete',
          'namespace',
          NS,
          '--wait=false',
          '--ignore-not-found',
        ],
        timeoutMs: 60_000,
      })
      .catch(() => {});
  }
}

/**
 * Makes the cluster enforce NetworkPolicy: with a verdict remembered for this node image and host,
 * installs what it says directly (nothing for kindnet, the fallback controller otherwise); without
 * one, runs the self-test and remembers its verdict.
 */
export async function enforceNetworkPolicy(
  cluster: { name: string },
  deps: NetpolSelftestDeps & { verdicts?: { get(): Promise<NetpolVerdict | undefined>; remember(v: NetpolVerdict): Promise<void> } },
  onStep: StepSink,
  signal?: AbortSignal,
): Promise<{ verdict: NetpolVerdict; remembered: boolean }> {
  const known = await deps.verdicts?.get().catch(() => undefined);
  if (known === 'kube-router') {
    await installFallbackController(deps, onStep, signal);
    return { verdict: known, remembered: true };
  }
  if (known === 'kindnet') return { verdict: known, remembered: true };
  const verdict = await verifyNetworkPolicy(cluster, deps, onStep, signal);
  await deps.verdicts?.remember(verdict).catch(() => {});
  return { verdict, remembered: false };
}
