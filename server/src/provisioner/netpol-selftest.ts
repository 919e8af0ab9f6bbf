import { access } from 'node:fs/promises';
import path from 'node:path';
import type { ClusterPort, KubeObject } from '../../../graders/src/cluster/port.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import { readinessProblems, readManifestFile } from './setup.ts';
import { ProvisionError, step, type StepSink } from './steps.ts';

/** Image of the self-test pods; preloaded like lab images. */
export const SELFTEST_IMAGE = 'docker.io/library/busybox:1.37.0';
/** The fallback NetworkPolicy controller (kube-router v2.10.0, policy controller only). */
export const KUBE_ROUTER_MANIFEST = path.join(import.meta.dirname, 'assets', 'kube-router-netpol.yaml');

const NS = 'kubedrill-netpol-selftest';
const STEP = 'Checking that NetworkPolicy is enforced';

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
  /** Path of the fallback controller's manifest (default: the bundled asset). */
  fallbackManifest?: string;
  /** How long to keep probing for the policy to take effect. */
  settleMs?: number;
  pollMs?: number;
}

/**
 * Proves that a default-deny NetworkPolicy really blocks a new connection on this cluster. kindnet
 * fails open where the kernel lacks nft_queue, so when the probe still gets through, the fallback
 * controller is installed and the test repeated; still open → the attempt fails with a clear message.
 */
export async function verifyNetworkPolicy(cluster: { name: string }, deps: NetpolSelftestDeps, onStep: StepSink, signal?: AbortSignal): Promise<'kindnet' | 'kube-router'> {
  const settleMs = deps.settleMs ?? 15_000;
  const pollMs = deps.pollMs ?? 1000;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const call = { timeoutMs: 30_000, ...(signal ? { signal } : {}) };
  try {
    const serverIp = await step('Starting NetworkPolicy probe pods', onStep, async () => {
      await deps.port.apply(selftestObjects(), { fieldManager: 'kubedrill-selftest', ...call });
      const deadline = Date.now() + 120_000;
      for (;;) {
        const pods = await deps.port.list({ apiVersion: 'v1', kind: 'Pod', namespace: NS }, call);
        const problems = readinessProblems(pods);
        const ip = (pods.find((p) => p.metadata.name === 'server')?.status as { podIP?: string } | undefined)?.podIP;
        if (pods.length === 2 && !problems.length && ip) return ip;
        if (Date.now() > deadline) throw new ProvisionError('Starting NetworkPolicy probe pods', 'the probe pods did not become Ready within 120 s', problems.join('\n'));
        await sleep(pollMs);
      }
    });
    const probe = async () => (await deps.port.exec({ namespace: NS, name: 'client' }, ['wget', '-q', '-T', '2', '-O', '-', `http://${serverIp}:8080/`], call)).exitCode === 0;
    const blockedWithin = async (ms: number) => {
      const deadline = Date.now() + ms;
      for (;;) {
        if (!(await probe())) return true;
        if (Date.now() > deadline) return false;
        await sleep(pollMs);
      }
    };
    return await step(STEP, onStep, async () => {
      if (!(await probe())) throw new ProvisionError(STEP, 'the probe pod cannot reach the server pod even without any NetworkPolicy: the pod network is broken');
      await deps.port.apply([denyAll], { fieldManager: 'kubedrill-selftest', ...call });
      if (await blockedWithin(settleMs)) return 'kindnet' as const;
      onStep({ step: 'Installing NetworkPolicy controller (kube-router)', status: 'running' });
      const manifest = deps.fallbackManifest ?? KUBE_ROUTER_MANIFEST;
      try {
        await access(manifest);
      } catch {
        throw new ProvisionError(STEP, `NetworkPolicy is not enforced by this cluster's CNI (a default-deny did not block a probe) and the fallback controller manifest ${manifest} is missing`);
      }
      const objects = await readManifestFile(manifest);
      await deps.port.apply(objects, { fieldManager: 'kubedrill-selftest', ...call });
      const deadline = Date.now() + 180_000;
      for (;;) {
        const ds = await deps.port.list({ apiVersion: 'apps/v1', kind: 'DaemonSet', namespace: 'kube-system' }, call);
        const ours = ds.filter((d) => objects.some((o) => o.kind === 'DaemonSet' && o.metadata.name === d.metadata.name));
        if (ours.length && !readinessProblems(ours).length) break;
        if (Date.now() > deadline) throw new ProvisionError('Installing NetworkPolicy controller (kube-router)', 'kube-router did not become ready within 180 s', readinessProblems(ours).join('\n'));
        await sleep(pollMs);
      }
      onStep({ step: 'Installing NetworkPolicy controller (kube-router)', status: 'done' });
      if (await blockedWithin(settleMs * 2)) return 'kube-router' as const;
      throw new ProvisionError(STEP, 'NetworkPolicy is not enforced on this cluster: a default-deny policy did not block a probe, even with kube-router installed; grading a NetworkPolicy lab here would be dishonest');
    });
  } finally {
    await deps.runner
      .run({ argv: ['docker', 'exec', `${cluster.name}-control-plane`, 'kubectl', '--kubeconfig=/etc/kubernetes/admin.conf', 'delete', 'namespace', NS, '--wait=false', '--ignore-not-found'], timeoutMs: 60_000 })
      .catch(() => {});
  }
}
