// Cluster add-ons labs declare in front matter (`cluster.addons`), installed once per cluster after
// it exists and before any lab setup — the way kind users add them to a kind cluster. Their
// manifests live in ./assets and pin upstream image tags: on a host with internet kind's nodes pull
// them; on hosts without, scripts/testbed builds the same tags and the images are `kind load`ed
// from the host's Docker first (the pattern of the kube-router NetworkPolicy fallback).
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import type { ClusterPort, KubeObject } from '../../../graders/src/cluster/port.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import type { AddonName } from '../labs/format.ts';
import { imagesOf, type ManifestObject } from '../labs/manifests.ts';
import { readinessProblems, readManifestFile } from './lab-setup.ts';
import { ProvisionError, step, type StepSink } from './steps.ts';
import { kindNodeNames } from './kind-driver.ts';

const ASSETS = path.join(import.meta.dirname, 'assets');

/** What installing add-ons needs: the cluster's API, the host's commands and an image loader. */
export interface AddonDeps {
  port: ClusterPort;
  runner: CommandRunner;
  /** Loads images from the host's Docker into the nodes when the host has them. */
  preload?: (images: string[]) => Promise<unknown>;
  /** Per add-on deadline (default 240 s; an add-on's images may be pulled from a registry). */
  timeoutMs?: number;
  pollMs?: number;
}

interface AddonContext {
  cluster: { name: string };
  deps: AddonDeps;
  deadline: number;
  signal: AbortSignal | undefined;
}

interface AddonSpec {
  /** Manifest files in ./assets, applied in order (server-side). */
  manifests: readonly string[];
  /** Kinds from the manifests applied only once the add-on's workloads are ready. */
  afterWorkloads?: readonly string[];
  /** Objects made for this cluster, applied once the manifests' workloads are ready (they may need a webhook). */
  config?: (ctx: AddonContext) => Promise<KubeObject[]>;
  /** What is still missing before the add-on is usable (empty = ready), polled until the deadline. */
  ready?: (ctx: AddonContext) => Promise<string[]>;
  /** A shell script run as root on the control-plane node (instead of, or after, manifests). */
  controlPlaneScript?: string;
}

const call = (ctx: AddonContext) => ({ timeoutMs: Math.max(1000, Math.min(15_000, ctx.deadline - Date.now())), ...(ctx.signal ? { signal: ctx.signal } : {}) });

function condition(o: KubeObject | undefined, type: string): string | undefined {
  const conditions = (o?.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
  return conditions.find((c) => c.type === type)?.status;
}

const SPECS: Record<AddonName, AddonSpec> = {
  'metrics-server': {
    manifests: ['metrics-server.yaml'],
    // The aggregator keeps one HTTP/2 connection to the Service's ClusterIP for its availability
    // checks. Registered before kube-proxy serves that ClusterIP, the first dial leaves the node
    // (an unclaimed address is routed like any other) and the check stays failed on that
    // connection. Registering the APIService once metrics-server is Ready avoids the race.
    afterWorkloads: ['APIService'],
    // kubectl top and an HPA need the aggregated API to answer and the first scrape to be in.
    ready: async (ctx) => {
      const api = await ctx.deps.port.get({ apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', name: 'v1beta1.metrics.k8s.io' }, call(ctx));
      if (condition(api, 'Available') !== 'True') return ['APIService v1beta1.metrics.k8s.io is not Available yet'];
      const nodes = await ctx.deps.port.list({ apiVersion: 'metrics.k8s.io/v1beta1', kind: 'NodeMetrics' }, call(ctx)).catch(() => []);
      return nodes.length ? [] : ['metrics-server has no node metrics yet (first scrape pending)'];
    },
  },
  'gateway-api': {
    manifests: ['gateway-api-crds.yaml', 'gateway-traefik.yaml'],
    ready: async (ctx) => {
      const gc = await ctx.deps.port.get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', name: 'traefik' }, call(ctx));
      return condition(gc, 'Accepted') === 'True' ? [] : ['GatewayClass traefik is not Accepted by Traefik yet'];
    },
  },
  metallb: {
    manifests: ['metallb.yaml'],
    config: async (ctx) => {
      const range = await loadBalancerRange(ctx.cluster.name, ctx.deps.runner, ctx.signal);
      return metallbConfig(range);
    },
  },
  'etcd-client': {
    manifests: [],
    controlPlaneScript: ETCD_CLIENT_SCRIPT(),
  },
};

function ETCD_CLIENT_SCRIPT(): string {
  // The exam's control-plane node has etcdctl and etcdutl; kind's node images do not, but the etcd
  // image kubeadm runs carries both (/usr/local/bin). Mount that image read-only and copy them out.
  return [
    'set -eu',
    'image=$(sed -n "s/^ *image: *//p" /etc/kubernetes/manifests/etcd.yaml | head -n 1)',
    '[ -n "$image" ] || { echo "no image in /etc/kubernetes/manifests/etcd.yaml" >&2; exit 1; }',
    'mnt=$(mktemp -d)',
    'trap \'ctr -n k8s.io images unmount "$mnt" >/dev/null 2>&1 || true; rmdir "$mnt"\' EXIT',
    'ctr -n k8s.io images mount "$image" "$mnt" >/dev/null',
    'for b in etcdctl etcdutl; do',
    '  [ -x "$mnt/usr/local/bin/$b" ] || { echo "$image has no /usr/local/bin/$b" >&2; exit 1; }',
    '  install -m 0755 "$mnt/usr/local/bin/$b" /usr/local/bin/$b',
    'done',
    'etcdctl version | head -n 1',
  ].join('\n');
}

/** The add-ons' manifest objects, to read their images (for preloading) ahead of an install. */
export async function addonObjects(name: AddonName): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const file of SPECS[name].manifests) out.push(...(await readManifestFile(path.join(ASSETS, file))));
  return out;
}

/** Images an add-on runs (what a host without a registry must have in its Docker). */
export async function addonImages(name: AddonName): Promise<string[]> {
  return [...new Set((await addonObjects(name)).flatMap((o) => imagesOf(o as ManifestObject)))];
}

/** The step that installs an add-on, as the page lists it. */
export function addonStep(name: AddonName): string {
  return `Installing add-on ${name}`;
}

/**
 * Installs each add-on as its own named step: load its images, apply its manifests, wait for its
 * workloads, apply its per-cluster config and wait until it is usable. A failure names the add-on
 * and what was still missing.
 */
export async function installAddons(
  cluster: { name: string },
  addons: readonly AddonName[],
  deps: AddonDeps,
  onStep: StepSink,
  signal?: AbortSignal,
): Promise<void> {
  for (const name of addons) {
    const stepName = addonStep(name);
    await step(stepName, onStep, () => installOne(cluster, name, deps, stepName, signal));
  }
}

async function installOne(cluster: { name: string }, name: AddonName, deps: AddonDeps, stepName: string, signal: AbortSignal | undefined): Promise<void> {
  const spec = SPECS[name];
  const timeoutMs = deps.timeoutMs ?? 240_000;
  const ctx: AddonContext = { cluster, deps, deadline: Date.now() + timeoutMs, signal };
  const pollMs = deps.pollMs ?? 1000;
  const objects = await addonObjects(name);
  const later = objects.filter((o) => spec.afterWorkloads?.includes(o.kind));
  const now = objects.filter((o) => !later.includes(o));
  if (objects.length) {
    await deps.preload?.([...new Set(objects.flatMap((o) => imagesOf(o as ManifestObject)))]);
    await deps.port.apply(now, { fieldManager: 'kubedrill-addons', timeoutMs: Math.max(1000, ctx.deadline - Date.now()), ...(signal ? { signal } : {}) });
  }
  const workloads = objects.filter((o) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(o.kind));
  const waitFor = async (what: string, problemsNow: () => Promise<string[]>) => {
    for (;;) {
      signal?.throwIfAborted();
      const problems = await problemsNow();
      if (!problems.length) return;
      if (Date.now() > ctx.deadline)
        throw new ProvisionError(
          stepName,
          `add-on ${name}: ${what} after ${Math.round(timeoutMs / 1000)} s: ${problems.slice(0, 3).join('; ')}`,
          problems.join('\n'),
        );
      await sleep(pollMs);
    }
  };
  if (workloads.length) {
    await waitFor('workloads not ready', async () => {
      const live = await Promise.all(
        workloads.map((w) =>
          deps.port.get(
            { apiVersion: w.apiVersion, kind: w.kind, name: w.metadata.name, ...(w.metadata.namespace ? { namespace: w.metadata.namespace } : {}) },
            call(ctx),
          ),
        ),
      );
      return live.flatMap((o, i) =>
        o ? readinessProblems([o]) : [`${workloads[i]!.kind} ${workloads[i]!.metadata.namespace}/${workloads[i]!.metadata.name} does not exist`],
      );
    });
  }
  if (later.length) await deps.port.apply(later, { fieldManager: 'kubedrill-addons', ...call(ctx) });
  if (spec.config) {
    const config = await spec.config(ctx);
    // A validating webhook served by the add-on's own controller can refuse calls for a few seconds
    // after the controller reports Ready (its certificate is still being written): retry until the deadline.
    let lastError = '';
    await waitFor('its configuration was refused', async () => {
      try {
        await deps.port.apply(config, { fieldManager: 'kubedrill-addons', ...call(ctx) });
        return [];
      } catch (e) {
        lastError = (e as Error).message.split('\n')[0]!;
        return [lastError];
      }
    });
  }
  if (spec.controlPlaneScript) {
    // Every control-plane node (a cluster may have up to three): kind names them -control-plane, -control-plane2….
    const prefix = `${cluster.name}-control-plane`;
    const controlPlanes = (await kindNodeNames(deps.runner, cluster.name)).filter((n) => n.startsWith(prefix) && /^\d*$/.test(n.slice(prefix.length)));
    for (const node of controlPlanes.length ? controlPlanes : [prefix]) {
      try {
        await deps.runner.run({
          argv: ['docker', 'exec', node, 'bash', '-c', spec.controlPlaneScript],
          timeoutMs: Math.max(1000, ctx.deadline - Date.now()),
          ...(signal ? { signal } : {}),
        });
      } catch (e) {
        const err = e as { stderr?: string; message: string };
        throw new ProvisionError(
          stepName,
          `add-on ${name}: the script on control-plane node ${node} failed: ${(err.stderr || err.message).trim().split('\n').at(-1)}`,
          err.stderr ?? err.message,
        );
      }
    }
  }
  if (spec.ready) await waitFor('not usable', () => spec.ready!(ctx));
}

/** MetalLB's address pool and L2 announcement for one cluster. */
export function metallbConfig(range: string): KubeObject[] {
  return [
    { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name: 'kind', namespace: 'metallb-system' }, spec: { addresses: [range] } },
    { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'kind', namespace: 'metallb-system' }, spec: { ipAddressPools: ['kind'] } },
  ];
}

/** Addresses per cluster in its LoadBalancer pool. */
export const LB_BLOCK = 8;

function ipv4ToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return parts.reduce((n, p) => n * 256 + p, 0);
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/**
 * The LoadBalancer address range of one cluster on kind's shared docker network: all clusters
 * share that network, so each gets its own block of LB_BLOCK addresses in the upper half of the
 * subnet (Docker hands out container addresses from the bottom), indexed by its control-plane
 * node's address — unique while the cluster lives.
 */
export function loadBalancerRangeFor(subnet: string, controlPlaneIp: string): string {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(subnet);
  if (!m) throw new Error(`kind's docker network has no IPv4 subnet I can read ("${subnet}")`);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const base = ipv4ToInt(m[1]!) - (ipv4ToInt(m[1]!) % size);
  const offset = ipv4ToInt(controlPlaneIp) - base;
  if (offset < 0 || offset >= size / 2) throw new Error(`the control-plane address ${controlPlaneIp} is not in the lower half of ${subnet}`);
  const start = base + size / 2 + offset * LB_BLOCK;
  if (start + LB_BLOCK - 1 >= base + size - 1)
    throw new Error(
      `kind's network ${subnet} is too small for a LoadBalancer block for ${controlPlaneIp} (needs a /24 or larger, with room in its upper half)`,
    );
  return `${intToIpv4(start)}-${intToIpv4(start + LB_BLOCK - 1)}`;
}

/** Reads kind's network subnet and the control-plane node's address from Docker, and carves the cluster's block. */
async function loadBalancerRange(clusterName: string, runner: CommandRunner, signal: AbortSignal | undefined): Promise<string> {
  const node = `${clusterName}-control-plane`;
  const opts = { timeoutMs: 20_000, ...(signal ? { signal } : {}) };
  const subnets = (await runner.run({ argv: ['docker', 'network', 'inspect', 'kind', '-f', '{{range .IPAM.Config}}{{.Subnet}} {{end}}'], ...opts })).stdout
    .trim()
    .split(/\s+/);
  const subnet = subnets.find((s) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s));
  const ip = (
    await runner.run({ argv: ['docker', 'inspect', '-f', '{{with index .NetworkSettings.Networks "kind"}}{{.IPAddress}}{{end}}', node], ...opts })
  ).stdout.trim();
  if (!subnet || !ip)
    throw new ProvisionError(
      'Installing add-on metallb',
      `cannot carve a LoadBalancer pool: kind's network has subnets "${subnets.join(' ')}" and ${node} has address "${ip}"`,
    );
  return loadBalancerRangeFor(subnet, ip);
}
