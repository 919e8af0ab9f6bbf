// The kubedrill testbed: a kind node image and the images labs use, built on this machine from
// package registries (Go module proxy, Debian) because no container registry is reachable here.
// Test infrastructure only — the product uses kind's published node images. This file holds the
// pure parts (versions, generated files, status) so they can be unit-tested; scripts/testbed.ts
// runs the build.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Versions the testbed builds; the node image tag and cache keys derive from these. */
export const TESTBED_VERSIONS = {
  kubernetes: 'v1.35.4',
  etcd: 'v3.6.6',
  coredns: 'v1.13.1',
  pause: '3.10.1',
  kubeRouter: 'v2.10.0',
  traefik: 'v3.6.12',
  crictl: 'v1.34.0',
  kind: 'v0.33.0',
  // Cluster add-ons (server/src/provisioner/assets): the versions their manifests pin.
  localPath: 'v0.0.30',
  metricsServer: 'v0.8.0',
  metallb: 'v0.15.2',
  /** The Gateway API release Traefik v3.6.12 is built against (its go.mod); CRDs come from this module. */
  gatewayApi: 'v1.4.0',
  helm: 'v4.3.2',
  debian: 'bookworm',
} as const;

/** Where the build keeps its cache (outside the checkout), overridable with KUBEDRILL_TESTBED_CACHE. */
export function testbedCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.KUBEDRILL_TESTBED_CACHE || '/var/cache/kubedrill-testbed';
}

/** The testbed node image tag for a Kubernetes version. */
export function nodeImageTag(kubernetes: string = TESTBED_VERSIONS.kubernetes): string {
  return `kubedrill-testbed/node:${kubernetes}`;
}

/** Image names kubeadm, containerd and the node's add-ons expect, preloaded into every node. */
export function nodeImageNames(v = TESTBED_VERSIONS) {
  return {
    apiserver: `registry.k8s.io/kube-apiserver:${v.kubernetes}`,
    controllerManager: `registry.k8s.io/kube-controller-manager:${v.kubernetes}`,
    scheduler: `registry.k8s.io/kube-scheduler:${v.kubernetes}`,
    proxy: `registry.k8s.io/kube-proxy:${v.kubernetes}`,
    etcd: `registry.k8s.io/etcd:${v.etcd.replace(/^v/, '')}-0`,
    coredns: `registry.k8s.io/coredns/coredns:${v.coredns}`,
    pause: `registry.k8s.io/pause:${v.pause}`,
    podnet: `kubedrill-testbed/podnet:${v.kubernetes}`,
    kubeRouter: `docker.io/cloudnativelabs/kube-router:${v.kubeRouter}`,
    // kind's default StorageClass: its provisioner and the helper pod's image (kind ships its own
    // builds of both; the testbed uses rancher's tag and busybox, which its helper scripts need).
    localPath: `docker.io/rancher/local-path-provisioner:${v.localPath}`,
    localPathHelper: 'docker.io/library/busybox:1.37.0',
  };
}

/**
 * Images of the cluster add-ons labs declare (`cluster.addons`), under the upstream tags their
 * manifests in server/src/provisioner/assets pin; the provisioner `kind load`s them when present
 * in the host's Docker, and kind's nodes pull them on a host with internet.
 */
export function addonImageNames(v = TESTBED_VERSIONS) {
  return {
    metricsServer: `registry.k8s.io/metrics-server/metrics-server:${v.metricsServer}`,
    metallbController: `quay.io/metallb/controller:${v.metallb}`,
    metallbSpeaker: `quay.io/metallb/speaker:${v.metallb}`,
  };
}

/**
 * The load-balancer image kind v0.33.0 runs in front of a cluster with several control-plane nodes
 * (`loadbalancer.Image` in sigs.k8s.io/kind pkg/cluster/internal/loadbalancer/const.go; the build
 * checks the two agree). The testbed builds it from scripts/testbed.d/lb: a Go stand-in for the
 * `envoy` binary on the Debian base, since no registry can serve Envoy's image here.
 */
export const KIND_LB_IMAGE = 'docker.io/envoyproxy/envoy:v1.36.2';

/** Reads the load-balancer image a kind source tree names (its loadbalancer const.go), or undefined. */
export function kindLoadBalancerImage(constGo: string): string | undefined {
  return /^\s*const Image = "([^"]+)"/m.exec(constGo)?.[1];
}

/** The images shipped labs pin (front matter `images:`), built from Debian packages or Go modules. */
export const LAB_IMAGES = {
  busybox: 'docker.io/library/busybox:1.37.0',
  nginx: 'docker.io/library/nginx:1.27.4',
  agnhost: 'registry.k8s.io/e2e-test-images/agnhost:2.53',
  traefik: `docker.io/library/traefik:${TESTBED_VERSIONS.traefik}`,
} as const;

/** `-ldflags` value that stamps a Kubernetes version into the binaries (kubeadm refuses v0.0.0). */
export function kubernetesLdflags(version: string, buildDate = '2026-01-01T00:00:00Z'): string {
  const m = /^v(\d+)\.(\d+)\.\d+$/.exec(version);
  if (!m) throw new Error(`not a Kubernetes release version: ${version}`);
  const fields = { gitVersion: version, gitMajor: m[1], gitMinor: m[2], gitCommit: '0'.repeat(40), gitTreeState: 'clean', buildDate };
  const flags = ['-s', '-w', '-buildid='];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    for (const [k, val] of Object.entries(fields)) flags.push(`-X ${pkg}.${k}=${val}`);
  }
  return flags.join(' ');
}

/**
 * A scratch module's go.mod that builds `module@version` although the module has replace
 * directives (which `go install pkg@version` refuses): it copies the upstream go and godebug
 * lines and every replace, turning local-path replaces (Kubernetes' ./staging/…, etcd's ../api)
 * into the published sibling module at `localVersion`. `extraReplaces` pins dependencies whose
 * required version the proxy does not serve; `extraRequires` adds requirements (alignment labels).
 */
export function wrapperGoMod(
  module: string,
  version: string,
  upstreamGoMod: string,
  localVersion: string = version,
  extraReplaces: Record<string, string> = {},
  extraRequires: Record<string, string> = {},
): string {
  const lines = upstreamGoMod.split('\n');
  const goLine = lines.find((l) => /^go \d/.test(l)) ?? 'go 1.24';
  const godebug: string[] = [];
  const replaces: string[] = [];
  let block: string | undefined;
  for (const raw of lines) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (block) {
      if (line === ')') block = undefined;
      else if (line && block === 'godebug') godebug.push(line);
      else if (line && block === 'replace') replaces.push(line);
      continue;
    }
    const open = /^(godebug|replace) \($/.exec(line);
    if (open) block = open[1];
    else if (line.startsWith('godebug ')) godebug.push(line.slice('godebug '.length));
    else if (line.startsWith('replace ')) replaces.push(line.slice('replace '.length));
  }
  // One replace per module path (go refuses two): an extra replace overrides upstream's.
  const byPath = new Map<string, string>();
  for (const r of replaces) {
    const m = /^(\S+)(?: \S+)? => (\S+)(?: (\S+))?$/.exec(r);
    if (!m) throw new Error(`cannot read replace directive "${r}" in ${module}'s go.mod`);
    const [, from, to, toVersion] = m;
    if (to!.startsWith('.') || to!.startsWith('/')) byPath.set(from!, `\t${from} => ${from} ${localVersion}`);
    else byPath.set(from!, `\t${from} => ${to}${toVersion ? ` ${toVersion}` : ''}`);
  }
  for (const [from, to] of Object.entries(extraReplaces)) byPath.set(from, `\t${from} => ${to}`);
  const replaced = [...byPath.values()];
  const out = [`module kubedrill.test/testbed/wrapper`, '', goLine, ''];
  if (godebug.length) out.push('godebug (', ...godebug.map((g) => `\t${g}`), ')', '');
  out.push(`require ${module} ${version}`, '');
  const required = Object.entries(extraRequires).filter(([p]) => p !== module);
  if (required.length) out.push('require (', ...required.map(([p, v]) => `\t${p} ${v}`), ')', '');
  if (replaced.length) out.push('replace (', ...replaced, ')', '');
  return out.join('\n');
}

/** `go list -deps -f` template printing the module (and its replacement) of each package built. */
export const MODULE_OF_PACKAGE_TEMPLATE = '{{with .Module}}{{.Path}} {{with .Replace}}{{.Path}} {{.Version}}{{else}}{{.Path}} {{.Version}}{{end}}{{end}}';

/**
 * The dependency pins that make one Go build compile its shared dependencies exactly as another
 * did, so Go's build cache serves them instead of compiling them again: each module the donor's
 * packages came from (`go list -deps` with MODULE_OF_PACKAGE_TEMPLATE), as replace targets
 * ("path version"), except the modules in `except` (a path, or a path prefix: `go.etcd.io/etcd`
 * keeps every etcd module) and modules without a version (the donor's own wrapper). The build cache keys a package by its sources and its imports' compiled output,
 * so a dependency shares only when the whole chain below it has the same versions.
 */
export function alignmentPins(goListOutput: string, except: readonly string[] = []): Record<string, string> {
  const pins: Record<string, string> = {};
  for (const line of goListOutput.split('\n')) {
    const [from, to, version] = line.trim().split(/\s+/);
    if (!from || !to || !version || except.some((e) => from === e || from.startsWith(`${e}/`))) continue;
    pins[from] = `${to} ${version}`;
  }
  return pins;
}

/**
 * The version an aligned build requires a pinned module at: above any version a real go.mod can
 * ask for, so minimal version selection picks it in every build, and never fetched, because the
 * pin replaces every version of the module. Go's build cache keys each package by its module's
 * *selected* version (`module k8s.io/client-go@v0.30.0`) as well as by its sources, so two
 * builds that compile the same replacement share it only when they also select the same
 * version. undefined for a module at a `+incompatible` version (no label can outrank those
 * safely; it is pinned but not shared).
 */
export function alignmentLabel(modulePath: string, pinnedVersion: string): string | undefined {
  if (pinnedVersion.includes('+incompatible')) return undefined;
  const major = /\/v(\d+)$/.exec(modulePath)?.[1] ?? /^gopkg\.in\/.*\.v(\d+)$/.exec(modulePath)?.[1];
  return `v${major ?? '1'}.999999.0`;
}

/** Labels (`alignmentLabel`) for the pins of the modules a build compiles packages from. */
export function alignmentRequires(pins: Record<string, string>, builtModules: Iterable<string>): Record<string, string> {
  const requires: Record<string, string> = {};
  for (const m of builtModules) {
    const pin = pins[m];
    const label = pin && alignmentLabel(m, pin.split(' ')[1] ?? '');
    if (label) requires[m] = label;
  }
  return requires;
}

/** kind cluster config for the testbed: `workers` worker nodes beside one control plane. */
export function kindClusterConfig(workers: number): string {
  const nodes = ['- role: control-plane', ...Array.from({ length: workers }, () => '- role: worker')];
  return ['kind: Cluster', 'apiVersion: kind.x-k8s.io/v1alpha4', 'nodes:', ...nodes, ''].join('\n');
}

export interface TestbedStatus {
  /** true when the node image and every lab image exist in the local Docker. */
  available: boolean;
  image: string;
  /** why the testbed cannot be used, when it cannot. */
  reason?: string;
  labImages: string[];
}

type ImageExists = (tag: string) => boolean;

function dockerImageExists(tag: string): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', '--format', '{{.Id}}', tag], { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

function commandWorks(argv: string[]): boolean {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore', timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether real-cluster suites can run here on the testbed; suites skip with `reason` otherwise.
 * Reads only the local Docker (no build): run `scripts/testbed build` first.
 */
export function readTestbedStatus(deps: { imageExists?: ImageExists; dockerWorks?: () => boolean; kindWorks?: () => boolean } = {}): TestbedStatus {
  const image = nodeImageTag();
  const labImages = Object.values(LAB_IMAGES);
  const base = { available: false, image, labImages };
  const dockerWorks = deps.dockerWorks ?? (() => commandWorks(['docker', 'info']));
  const kindWorks = deps.kindWorks ?? (() => commandWorks(['kind', 'version']));
  if (!dockerWorks()) return { ...base, reason: 'Docker is not reachable (scripts/setup-host installs and starts it)' };
  if (!kindWorks()) return { ...base, reason: 'the kind CLI is not installed (scripts/setup-host installs it)' };
  const exists = deps.imageExists ?? dockerImageExists;
  const missing = [image, ...labImages, nodeImageNames().kubeRouter, ...Object.values(addonImageNames()), KIND_LB_IMAGE].filter((t) => !exists(t));
  if (missing.length) return { ...base, reason: `testbed images missing (${missing.join(', ')}): run scripts/testbed build` };
  return { ...base, available: true };
}

/** The build's record of a finished step: its inputs key and how long it took. */
export interface StepStamp {
  key: string;
  seconds: number;
  finishedAt: string;
}

/** Reads a step stamp file, or undefined when missing or unreadable. */
export function readStamp(file: string): StepStamp | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as Partial<StepStamp>;
    return typeof s.key === 'string' && typeof s.seconds === 'number' ? (s as StepStamp) : undefined;
  } catch {
    return undefined;
  }
}

/** Directory of the static files the build copies into images. */
export const TESTBED_ASSETS = path.resolve(import.meta.dirname, '..', 'testbed.d');
