// scripts/testbed: builds and checks the kubedrill testbed (see scripts/testbed.d/README.md).
//   build                 build everything missing from the cache; exit 2 = this machine cannot build
//   status [--json]       is the testbed usable here, and why not
//   proof [--nodes N]     create a cluster (1 control plane + N-1 workers), prove it works, delete it
//   nested-proof [--nodes N]  the same proof for a cluster inside a privileged Pod on a host cluster
//   load-images CLUSTER   kind load the lab images into a cluster
//   clean [--keep-images] remove the testbed's images and cache
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  KIND_LB_IMAGE,
  LAB_IMAGES,
  TESTBED_ASSETS,
  addonImageNames,
  alignmentPins,
  alignmentRequires,
  MODULE_OF_PACKAGE_TEMPLATE,
  kindLoadBalancerImage,
  TESTBED_VERSIONS as V,
  kubernetesLdflags,
  nodeImageNames,
  nodeImageTag,
  readStamp,
  readTestbedStatus,
  testbedCacheDir,
  wrapperGoMod,
} from './lib/testbed.ts';
import { CommandError, createCommandRunner } from '../server/src/exec/command-runner.ts';
import { runProof } from './lib/testbed-proof.ts';
import { runNestedProof } from './lib/nested-proof.ts';
import { errorMessage } from '../graders/src/shared/error-message.ts';

const CACHE = testbedCacheDir();
const BIN = path.join(CACHE, 'out', 'bin');
const LOGS = path.join(CACHE, 'logs');
const STAMPS = path.join(CACHE, 'stamps');
const MIN_FREE_GB = 20;
const IMAGES = nodeImageNames();
const ADDON_IMAGES = addonImageNames();

/** Thrown when this machine cannot build the testbed at all (exit code 2, callers skip). */
class CannotBuild extends Error {}

class StepFailed extends Error {}

function log(msg: string): void {
  console.log(`[testbed] ${msg}`);
}

function hashOf(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 12);
}

function hashDir(dir: string): string {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(dir);
  return hashOf(...files.flatMap((f) => [path.relative(dir, f), readFileSync(f)]));
}

const runner = createCommandRunner(Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)));

/** Runs a bash command, its output going to LOGS/<step>.log; throws with the tail on failure. */
async function sh(step: string, command: string, env: Record<string, string> = {}): Promise<string> {
  mkdirSync(LOGS, { recursive: true });
  const logFile = path.join(LOGS, `${step.replace(/[^\w.-]/g, '_')}.log`);
  try {
    const r = await runner.run({ argv: ['bash', '-euo', 'pipefail', '-c', command], env });
    writeFileSync(logFile, `$ ${command}\n${r.stdout}${r.stderr}`, { flag: 'a' });
    return r.stdout;
  } catch (e) {
    const out = e instanceof CommandError ? `${e.stdout}${e.stderr}` : String(e);
    writeFileSync(logFile, `$ ${command}\n${out}`, { flag: 'a' });
    const code = e instanceof CommandError ? e.exitCode : null;
    throw new StepFailed(
      `${step} failed (exit ${code}): ${command.split('\n')[0]}\n${out.trimEnd().split('\n').slice(-40).join('\n')}\n(full log: ${logFile})`,
    );
  }
}

const timings: { step: string; seconds: number; cached: boolean }[] = [];

/** Runs `build` unless the stamp for `name` has `key` and `present()` holds; prints the duration. */
async function step(name: string, key: string, present: () => boolean | Promise<boolean>, build: () => Promise<void>): Promise<void> {
  const stampFile = path.join(STAMPS, `${name}.json`);
  const stamp = readStamp(stampFile);
  if (stamp?.key === key && (await present())) {
    timings.push({ step: name, seconds: 0, cached: true });
    log(`${name}: cached (built in ${stamp.seconds.toFixed(0)} s)`);
    return;
  }
  log(`${name}: building…`);
  const t0 = performance.now();
  await build();
  const seconds = (performance.now() - t0) / 1000;
  mkdirSync(STAMPS, { recursive: true });
  writeFileSync(stampFile, JSON.stringify({ key, seconds, finishedAt: new Date().toISOString() }));
  timings.push({ step: name, seconds, cached: false });
  log(`${name}: done in ${seconds.toFixed(1)} s`);
}

async function imageHasLabel(tag: string, key: string): Promise<boolean> {
  try {
    return (await sh('inspect', `docker image inspect -f '{{ index .Config.Labels "io.kubedrill.testbed" }}' ${tag}`)).trim() === key;
  } catch {
    return false;
  }
}

// ---------- Go builds ----------

function goEnv(): Record<string, string> {
  return {
    GOMODCACHE: path.join(CACHE, 'go', 'mod'),
    GOCACHE: path.join(CACHE, 'go', 'build'),
    GOSUMDB: 'off', // sum.golang.org is unreachable from these machines; the proxy is the trust root
    GOFLAGS: '-mod=mod -buildvcs=false',
    GOTOOLCHAIN: 'local',
    CGO_ENABLED: '0',
    PATH: `/usr/local/go/bin:${process.env.PATH ?? ''}`,
  };
}

interface GoBuild {
  name: string;
  module: string;
  version: string;
  /** version given to modules the upstream go.mod replaces with local paths */
  localVersion?: string;
  pkgs: string[];
  ldflags?: string;
  tags?: string;
  /** dependency → replacement "module version", for required versions the proxy does not serve */
  replaces?: Record<string, string>;
  /** output renames, e.g. server → etcd */
  rename?: Record<string, string>;
  /**
   * Build against the dependency versions (and tags) of this earlier build wherever the two
   * share modules, so the build cache already holds most of what is compiled (client-go,
   * apimachinery, grpc, protobuf, …: nine builds at nine versions cost a cold testbed most of
   * its time). A Kubernetes library at the cluster's own version is also what the add-on meets.
   */
  alignWith?: string;
  /** modules kept at the version this build's own go.mod selects (it needs a newer API) */
  alignExcept?: string[];
  /** the build others align with: it requires each module it compiles at its alignment label */
  alignmentDonor?: boolean;
}

function goOut(b: { name: string; version: string }): string {
  return path.join(BIN, `${b.name}-${b.version}`);
}

function goSrc(b: { name: string; version: string }): string {
  return path.join(CACHE, 'src', `${b.name}-${b.version}`);
}

/** `go list -deps` of a build's packages in its wrapper module: each package's module and replacement (MODULE_OF_PACKAGE_TEMPLATE). */
function listBuiltModules(b: GoBuild): Promise<string> {
  return sh(
    `go-${b.name}`,
    `cd ${goSrc(b)} && go list -deps ${b.tags ? `-tags ${b.tags}` : ''} -f '${MODULE_OF_PACKAGE_TEMPLATE}' ${b.pkgs.join(' ')} | sort -u`,
    goEnv(),
  );
}

/** A donor's listing, once per run (every aligned build pins to it). */
const donorListings = new Map<string, Promise<string>>();

async function goBuild(given: GoBuild): Promise<void> {
  let b = given;
  if (given.alignWith) {
    const donor = [...GO_BUILDS, ...ADDON_GO_BUILDS].find((x) => x.name === given.alignWith);
    if (!donor) throw new StepFailed(`go:${given.name}: alignWith names ${given.alignWith}, which is not a Go build`);
    if (!donorListings.has(donor.name)) donorListings.set(donor.name, listBuiltModules(donor));
    const pins = alignmentPins(await donorListings.get(donor.name)!, [given.module, ...(given.alignExcept ?? [])]);
    b = { ...given, tags: donor.tags, replaces: { ...pins, ...given.replaces } };
  }
  const aligned = Boolean(b.alignWith || b.alignmentDonor);
  const out = goOut(b);
  const key = aligned ? hashOf(JSON.stringify(b), 'go-build-1', 'aligned-2') : hashOf(JSON.stringify(b), 'go-build-1');
  const bins = b.pkgs.map((p) => {
    const parts = p.split('/');
    const last = /^v\d+$/.test(parts.at(-1)!) ? parts.at(-2)! : parts.at(-1)!;
    return b.rename?.[last] ?? last;
  });
  await step(
    `go:${b.name}`,
    key,
    () => bins.every((f) => existsSync(path.join(out, f))),
    async () => {
      const src = goSrc(b);
      mkdirSync(src, { recursive: true });
      const info = JSON.parse(await sh(`go-${b.name}`, `cd ${src} && go mod download -json ${b.module}@${b.version}`, goEnv())) as { GoMod?: string };
      if (!info.GoMod) throw new StepFailed(`go:${b.name}: the module proxy gave no go.mod for ${b.module}@${b.version}`);
      const upstream = readFileSync(info.GoMod, 'utf8');
      writeFileSync(path.join(src, 'go.mod'), wrapperGoMod(b.module, b.version, upstream, b.localVersion, b.replaces));
      rmSync(path.join(src, 'go.sum'), { force: true });
      if (aligned) {
        // Require each pinned module this build compiles at its label (see alignmentLabel); the
        // donor pins what it compiles to the versions its own go.mod selects.
        const listing = await listBuiltModules(b);
        const pins = b.alignmentDonor ? { ...alignmentPins(listing, [b.module]), ...b.replaces } : (b.replaces ?? {});
        const built = listing
          .split('\n')
          .map((l) => l.split(' ')[0]!)
          .filter(Boolean);
        writeFileSync(path.join(src, 'go.mod'), wrapperGoMod(b.module, b.version, upstream, b.localVersion, pins, alignmentRequires(pins, built)));
      }
      rmSync(`${out}.tmp`, { recursive: true, force: true });
      mkdirSync(`${out}.tmp`, { recursive: true });
      const flags = ['-trimpath', b.tags ? `-tags ${b.tags}` : '', `-ldflags '${b.ldflags ?? '-s -w'}'`].join(' ');
      await sh(`go-${b.name}`, `cd ${src} && go build ${flags} -o ${out}.tmp/ ${b.pkgs.join(' ')}`, goEnv());
      for (const [from, to] of Object.entries(b.rename ?? {})) renameSync(path.join(`${out}.tmp`, from), path.join(`${out}.tmp`, to));
      rmSync(out, { recursive: true, force: true });
      renameSync(`${out}.tmp`, out);
    },
  );
}

const K8S_CMDS = ['kubeadm', 'kubelet', 'kubectl', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'];

const GO_BUILDS: GoBuild[] = [
  {
    name: 'kubernetes',
    module: 'k8s.io/kubernetes',
    version: V.kubernetes,
    localVersion: V.kubernetes.replace(/^v1\./, 'v0.'),
    pkgs: [...K8S_CMDS.map((c) => `k8s.io/kubernetes/cmd/${c}`), 'k8s.io/kubernetes/test/images/agnhost'],
    ldflags: kubernetesLdflags(V.kubernetes),
    tags: 'selinux,notest',
    alignmentDonor: true,
  },
  {
    name: 'etcd',
    module: 'go.etcd.io/etcd/v3',
    version: V.etcd,
    pkgs: ['go.etcd.io/etcd/server/v3', 'go.etcd.io/etcd/etcdctl/v3', 'go.etcd.io/etcd/etcdutl/v3'],
    rename: { server: 'etcd' },
    alignWith: 'kubernetes',
    alignExcept: ['go.etcd.io/etcd'], // the server and its sibling modules stay one release
  },
  { name: 'coredns', module: 'github.com/coredns/coredns', version: V.coredns, pkgs: ['github.com/coredns/coredns'], alignWith: 'kubernetes' },
  {
    name: 'kube-router',
    module: 'github.com/cloudnativelabs/kube-router/v2',
    version: V.kubeRouter,
    pkgs: ['github.com/cloudnativelabs/kube-router/v2/cmd/kube-router'],
    // v2.10.0 requires netlink v1.3.2-0.20260505210927-99e979749d3e, which the proxy refuses (403).
    replaces: { 'github.com/vishvananda/netlink': 'github.com/vishvananda/netlink v1.3.2-0.20251022194116-03b8f90390d9' },
    alignWith: 'kubernetes',
    ldflags: `-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=${V.kubeRouter} -X github.com/cloudnativelabs/kube-router/v2/pkg/version.BuildDate=2026-01-01T00:00:00Z`,
  },
  // Not aligned: crictl v1.34.0's exec.go does not compile against kubectl v0.35's term package (29 s either way).
  { name: 'crictl', module: 'sigs.k8s.io/cri-tools', version: V.crictl, pkgs: ['sigs.k8s.io/cri-tools/cmd/crictl'] },
  // kind's default StorageClass (preloaded in the node image, like kind's own node images).
  {
    name: 'local-path-provisioner',
    module: 'github.com/rancher/local-path-provisioner',
    version: V.localPath,
    pkgs: ['github.com/rancher/local-path-provisioner'],
    alignWith: 'kubernetes',
  },
  {
    name: 'traefik',
    module: 'github.com/traefik/traefik/v3',
    version: V.traefik,
    pkgs: ['github.com/traefik/traefik/v3/cmd/traefik'],
    alignWith: 'kubernetes',
    // OpenTelemetry's modules move together, and traefik uses parts Kubernetes does not build
    // (otel/sdk/metric v1.41 needs otel/sdk v1.41; Kubernetes builds v1.36).
    alignExcept: ['go.opentelemetry.io'],
  },
];

/** Add-ons and tools outside the node image: built beside the node image's assembly, after traefik. */
const ADDON_GO_BUILDS: GoBuild[] = [
  {
    name: 'metrics-server',
    module: 'sigs.k8s.io/metrics-server',
    version: V.metricsServer,
    pkgs: ['sigs.k8s.io/metrics-server/cmd/metrics-server'],
    // Not aligned. Built against v0.35's apiserver library, v0.8.0 compiles but exits at start with
    // "unable to get openapi models: cannot find model definition for
    // io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics" (its generated OpenAPI predates v0.35's
    // model names); keeping only the Kubernetes modules at v0.33 breaks the compile elsewhere
    // (kube-openapi of v0.33 against the gnostic-models Kubernetes v0.35 builds).
  },
  {
    name: 'metallb',
    module: 'go.universe.tf/metallb',
    version: V.metallb,
    pkgs: ['go.universe.tf/metallb/controller', 'go.universe.tf/metallb/speaker'],
    alignWith: 'kubernetes',
  },
  // helm goes into the workstation image (scripts/build-images finds it in the cache).
  {
    name: 'helm',
    module: 'helm.sh/helm/v4',
    version: V.helm,
    pkgs: ['helm.sh/helm/v4/cmd/helm'],
    ldflags: `-s -w -X helm.sh/helm/v4/internal/version.version=${V.helm} -X helm.sh/helm/v4/internal/version.gitTreeState=clean`,
  },
];

async function buildPause(): Promise<void> {
  const out = path.join(BIN, `pause-${V.pause}`);
  const k8sSrc = path.join(CACHE, 'go', 'mod', 'k8s.io', `kubernetes@${V.kubernetes}`, 'build', 'pause', 'linux', 'pause.c');
  await step(
    'pause',
    hashOf(V.pause, V.kubernetes),
    () => existsSync(path.join(out, 'pause')),
    async () => {
      mkdirSync(out, { recursive: true });
      await sh('pause', `gcc -Os -Wall -Werror -static -DVERSION=v${V.pause}-kubedrill-testbed -o ${out}/pause ${k8sSrc} && strip ${out}/pause`);
    },
  );
}

// ---------- Debian root filesystems ----------

/** Makes a docker image from a Debian root filesystem (mmdebstrap), unless one with the same inputs exists. */
async function rootfs(name: string, suite: string, packages: string[]): Promise<string> {
  const key = hashOf(suite, packages.join(','), 'rootfs-1');
  const tag = `kubedrill-testbed/rootfs-${name}:${key}`;
  await step(
    `rootfs:${name}`,
    key,
    () => imageHasLabel(tag, key),
    async () => {
      const tar = path.join(CACHE, 'tmp', `rootfs-${name}.tar`);
      mkdirSync(path.dirname(tar), { recursive: true });
      await sh(
        `rootfs-${name}`,
        `mmdebstrap --variant=minbase --include=${packages.join(',')} --format=tar --quiet \
        --aptopt='Acquire::Check-Valid-Until "false"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log' \
        ${suite} ${tar}
      docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'LABEL io.kubedrill.testbed=${key}' ${tar} ${tag} >/dev/null
      rm -f ${tar}`,
      );
    },
  );
  return tag;
}

/** Builds `tag` from a Dockerfile text and a context of files, offline, labelled with its inputs. */
async function dockerImage(stepName: string, tag: string, dockerfile: string, files: Record<string, string>, extraKey = ''): Promise<void> {
  const key = hashOf(dockerfile, extraKey, ...Object.entries(files).flatMap(([dest, src]) => [dest, existsSync(src) ? readFileSync(src) : src]));
  await step(
    stepName,
    key,
    () => imageHasLabel(tag, key),
    async () => {
      const ctx = path.join(CACHE, 'tmp', `ctx-${stepName.replace(/[^\w.-]/g, '_')}`);
      rmSync(ctx, { recursive: true, force: true });
      mkdirSync(ctx, { recursive: true });
      for (const [dest, src] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(ctx, dest)), { recursive: true });
        copyFileSync(src, path.join(ctx, dest));
      }
      writeFileSync(path.join(ctx, 'Dockerfile'), `${dockerfile}\nLABEL io.kubedrill.testbed=${key}\n`);
      try {
        await sh(stepName, `docker build --quiet --network none -t ${tag} ${ctx}`);
      } finally {
        rmSync(ctx, { recursive: true, force: true });
      }
    },
  );
}

const NODE_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'containerd',
  'runc',
  'iptables',
  'ipset',
  'nftables',
  'conntrack',
  'iproute2',
  'ethtool',
  'util-linux',
  'mount',
  'kmod',
  'libseccomp2',
  'pigz',
  'ca-certificates',
  'curl',
  'jq',
  'procps',
  'bash',
  'containernetworking-plugins',
  'e2fsprogs',
  'hostname',
  'iputils-ping',
  'less',
  'socat',
  'findutils',
];
const BASE_PACKAGES = ['bash', 'ca-certificates', 'curl', 'jq', 'iptables', 'ipset', 'conntrack', 'kmod', 'iproute2', 'procps', 'netcat-openbsd'];

// ---------- images ----------

async function componentImages(baseTag: string): Promise<void> {
  const k8s = goOut({ name: 'kubernetes', version: V.kubernetes });
  const from = `FROM ${baseTag}`;
  for (const c of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const) {
    const tag = { 'kube-apiserver': IMAGES.apiserver, 'kube-controller-manager': IMAGES.controllerManager, 'kube-scheduler': IMAGES.scheduler }[c];
    await dockerImage(`image:${c}`, tag, `${from}\nCOPY ${c} /usr/local/bin/${c}`, { [c]: path.join(k8s, c) });
  }
  // kube-proxy and kube-router choose the node's iptables backend first (kdtb-exec).
  await dockerImage('image:kube-proxy', IMAGES.proxy, `${from}\nCOPY kube-proxy /usr/local/bin/kube-proxy.bin\nRUN ln -s kdtb-exec /usr/local/bin/kube-proxy`, {
    'kube-proxy': path.join(k8s, 'kube-proxy'),
  });
  const router = goOut({ name: 'kube-router', version: V.kubeRouter });
  await dockerImage(
    'image:kube-router',
    IMAGES.kubeRouter,
    `${from}\nCOPY kube-router /usr/local/bin/kube-router.bin\nRUN ln -s kdtb-exec /usr/local/bin/kube-router\nENTRYPOINT ["/usr/local/bin/kube-router"]`,
    { 'kube-router': path.join(router, 'kube-router') },
  );
  const etcd = goOut({ name: 'etcd', version: V.etcd });
  // etcdctl and etcdutl ship in the etcd image as upstream's do; the etcd-client add-on copies them to the control-plane node.
  await dockerImage('image:etcd', IMAGES.etcd, `${from}\nCOPY etcd etcdctl etcdutl /usr/local/bin/`, {
    etcd: path.join(etcd, 'etcd'),
    etcdctl: path.join(etcd, 'etcdctl'),
    etcdutl: path.join(etcd, 'etcdutl'),
  });
  await dockerImage('image:coredns', IMAGES.coredns, `${from}\nCOPY coredns /coredns\nEXPOSE 53 53/udp\nENTRYPOINT ["/coredns"]`, {
    coredns: path.join(goOut({ name: 'coredns', version: V.coredns }), 'coredns'),
  });
  await dockerImage('image:pause', IMAGES.pause, 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]', {
    pause: path.join(BIN, `pause-${V.pause}`, 'pause'),
  });
  await dockerImage(
    'image:local-path-provisioner',
    IMAGES.localPath,
    `${from}\nCOPY local-path-provisioner /usr/bin/local-path-provisioner\nCMD ["local-path-provisioner"]`,
    {
      'local-path-provisioner': path.join(goOut({ name: 'local-path-provisioner', version: V.localPath }), 'local-path-provisioner'),
    },
  );
  await dockerImage('image:podnet', IMAGES.podnet, `${from}\nCOPY kdtb-podnet /usr/local/bin/kdtb-podnet`, {
    'kdtb-podnet': path.join(TESTBED_ASSETS, 'podnet', 'kdtb-podnet'),
  });
}

async function labImages(baseTag: string): Promise<void> {
  const k8s = goOut({ name: 'kubernetes', version: V.kubernetes });
  await dockerImage('image:agnhost', LAB_IMAGES.agnhost, `FROM ${baseTag}\nCOPY agnhost /agnhost\nENTRYPOINT ["/agnhost"]\nCMD ["pause"]`, {
    agnhost: path.join(k8s, 'agnhost'),
  });
  const busyboxDir = path.join(BIN, 'busybox-debian');
  const nginxBase = await rootfsNginx();
  await step(
    'deb:busybox-static',
    hashOf(nginxBase, 'busybox-1'),
    () => existsSync(path.join(busyboxDir, 'busybox')),
    async () => {
      mkdirSync(busyboxDir, { recursive: true });
      // Debian's static busybox, taken from a throwaway container of the nginx rootfs (trixie).
      await sh(
        'busybox',
        `id=$(docker create ${nginxBase} true) && trap 'docker rm -f $id >/dev/null' EXIT && docker cp $id:/usr/bin/busybox ${busyboxDir}/busybox`,
      );
    },
  );
  await dockerImage('image:busybox', LAB_IMAGES.busybox, readFileSync(path.join(TESTBED_ASSETS, 'busybox', 'Dockerfile'), 'utf8'), {
    busybox: path.join(busyboxDir, 'busybox'),
    passwd: path.join(TESTBED_ASSETS, 'busybox', 'passwd'),
    group: path.join(TESTBED_ASSETS, 'busybox', 'group'),
  });
  await dockerImage('image:nginx', LAB_IMAGES.nginx, `FROM ${nginxBase}\n${readFileSync(path.join(TESTBED_ASSETS, 'nginx', 'Dockerfile.tail'), 'utf8')}`, {
    'default.conf': path.join(TESTBED_ASSETS, 'nginx', 'default.conf'),
  });
}

async function addonImages(baseTag: string): Promise<void> {
  const ms = goOut({ name: 'metrics-server', version: V.metricsServer });
  // Upstream's image is distroless, runs as nobody and starts /metrics-server.
  await dockerImage(
    'image:metrics-server',
    ADDON_IMAGES.metricsServer,
    `FROM ${baseTag}\nCOPY metrics-server /metrics-server\nUSER 65534\nENTRYPOINT ["/metrics-server"]`,
    {
      'metrics-server': path.join(ms, 'metrics-server'),
    },
  );
  const mlb = goOut({ name: 'metallb', version: V.metallb });
  await dockerImage('image:metallb-controller', ADDON_IMAGES.metallbController, `FROM ${baseTag}\nCOPY controller /controller\nENTRYPOINT ["/controller"]`, {
    controller: path.join(mlb, 'controller'),
  });
  await dockerImage('image:metallb-speaker', ADDON_IMAGES.metallbSpeaker, `FROM ${baseTag}\nCOPY speaker /speaker\nENTRYPOINT ["/speaker"]`, {
    speaker: path.join(mlb, 'speaker'),
  });
}

/**
 * kind's load balancer (clusters with several control-plane nodes): the Go stand-in for `envoy`
 * in scripts/testbed.d/lb (stdlib only, tested with `go test`), built from that local source on the
 * Debian base (bash, coreutils: kind's start command writes the bootstrap with `echo -en`), under
 * the tag kind runs. Nothing else depends on it, so adding it leaves every other step cached.
 */
async function loadBalancerImage(baseTag: string): Promise<void> {
  const constGo = path.join(CACHE, 'go', 'mod', 'sigs.k8s.io', `kind@${V.kind}`, 'pkg', 'cluster', 'internal', 'loadbalancer', 'const.go');
  if (!existsSync(constGo)) await sh('kind-module', `cd ${CACHE} && go mod download sigs.k8s.io/kind@${V.kind}`, goEnv());
  const kindTag = kindLoadBalancerImage(readFileSync(constGo, 'utf8'));
  if (kindTag !== KIND_LB_IMAGE) {
    throw new StepFailed(
      `kind ${V.kind} runs load-balancer image ${kindTag ?? '(none found in ' + constGo + ')'}, but KIND_LB_IMAGE in scripts/lib/testbed.ts is ${KIND_LB_IMAGE}`,
    );
  }
  const src = path.join(TESTBED_ASSETS, 'lb');
  const key = hashOf(hashDir(src), 'lb-1');
  const out = path.join(BIN, `kdtb-lb-${key}`);
  await step(
    'go:kdtb-lb',
    key,
    () => existsSync(path.join(out, 'envoy')),
    async () => {
      rmSync(`${out}.tmp`, { recursive: true, force: true });
      mkdirSync(`${out}.tmp`, { recursive: true });
      await sh('go-kdtb-lb', `cd ${src} && go build -trimpath -ldflags '-s -w' -o ${out}.tmp/envoy .`, goEnv());
      rmSync(out, { recursive: true, force: true });
      renameSync(`${out}.tmp`, out);
    },
  );
  await dockerImage('image:kind-lb', KIND_LB_IMAGE, `FROM ${baseTag}\nCOPY envoy /usr/local/bin/envoy\nCMD ["envoy", "-c", "/etc/envoy/envoy.yaml"]`, {
    envoy: path.join(out, 'envoy'),
  });
}

async function traefikImage(baseTag: string): Promise<void> {
  await dockerImage(
    'image:traefik',
    LAB_IMAGES.traefik,
    `FROM ${baseTag}\nCOPY traefik /usr/local/bin/traefik\nCOPY entrypoint.sh /entrypoint.sh\nEXPOSE 80\nENTRYPOINT ["/entrypoint.sh"]\nCMD ["traefik"]`,
    {
      traefik: path.join(goOut({ name: 'traefik', version: V.traefik }), 'traefik'),
      'entrypoint.sh': path.join(TESTBED_ASSETS, 'traefik', 'entrypoint.sh'),
    },
  );
}

let nginxRootfs: Promise<string> | undefined;
function rootfsNginx(): Promise<string> {
  nginxRootfs ??= rootfs('nginx', 'trixie', ['nginx', 'busybox-static', 'ca-certificates']);
  return nginxRootfs;
}

async function nodeImage(nodeRootfs: string): Promise<void> {
  const kindFiles = path.join(CACHE, 'go', 'mod', 'sigs.k8s.io', `kind@${V.kind}`, 'images', 'base', 'files');
  if (!existsSync(kindFiles)) await sh('kind-module', `cd ${CACHE} && go mod download sigs.k8s.io/kind@${V.kind}`, goEnv());
  const k8s = goOut({ name: 'kubernetes', version: V.kubernetes });
  const preload = [
    IMAGES.apiserver,
    IMAGES.controllerManager,
    IMAGES.scheduler,
    IMAGES.proxy,
    IMAGES.etcd,
    IMAGES.coredns,
    IMAGES.pause,
    IMAGES.podnet,
    IMAGES.kubeRouter,
    IMAGES.localPath,
    IMAGES.localPathHelper,
  ];
  const ids = await sh('inspect', `docker image inspect -f '{{.Id}}' ${preload.join(' ')}`);
  const assets = path.join(TESTBED_ASSETS, 'node');
  const binaries = ['go:kubernetes', 'go:crictl'].map((s) => readStamp(path.join(STAMPS, `${s}.json`))?.finishedAt ?? '');
  const key = hashOf(nodeRootfs, ids, hashDir(kindFiles), hashDir(assets), ...binaries, 'node-1');
  const tag = nodeImageTag();
  await step(
    'image:node',
    key,
    () => imageHasLabel(tag, key),
    async () => {
      const ctx = path.join(CACHE, 'tmp', 'ctx-node');
      rmSync(ctx, { recursive: true, force: true });
      mkdirSync(path.join(ctx, 'bin'), { recursive: true });
      cpSync(kindFiles, path.join(ctx, 'kind'), { recursive: true });
      cpSync(path.join(assets, 'files'), path.join(ctx, 'files'), { recursive: true });
      for (const c of ['kubeadm', 'kubelet', 'kubectl']) copyFileSync(path.join(k8s, c), path.join(ctx, 'bin', c));
      copyFileSync(path.join(goOut({ name: 'crictl', version: V.crictl }), 'crictl'), path.join(ctx, 'bin', 'crictl'));
      writeFileSync(path.join(ctx, 'files', 'kind', 'version'), `${V.kubernetes}\n`);
      writeFileSync(path.join(ctx, 'files', 'kind', 'pause-version'), V.pause);
      const cni = path.join(ctx, 'files', 'kind', 'manifests', 'default-cni.yaml');
      writeFileSync(cni, readFileSync(cni, 'utf8').replace('PODNET_IMAGE', IMAGES.podnet));
      const storage = path.join(ctx, 'files', 'kind', 'manifests', 'default-storage.yaml');
      writeFileSync(
        storage,
        readFileSync(storage, 'utf8').replaceAll('LOCAL_PATH_IMAGE', IMAGES.localPath).replaceAll('LOCAL_PATH_HELPER_IMAGE', IMAGES.localPathHelper),
      );
      copyFileSync(path.join(assets, 'Dockerfile'), path.join(ctx, 'Dockerfile'));
      const stage = `kubedrill-testbed/node-stage:${key}`;
      const tar = path.join(CACHE, 'tmp', 'node-images.tar');
      const name = `kdtb-preload-${process.pid}`;
      try {
        await sh('node-image', `docker build --quiet --network none --build-arg BASE=${nodeRootfs} -t ${stage} ${ctx}`);
        await sh('node-image', `docker save -o ${tar} ${preload.join(' ')}`);
        // Preload like kind's node-image builder: import into containerd's k8s.io namespace inside a
        // running node container, then commit it with the node's entrypoint restored.
        await sh(
          'node-image',
          `docker run -d --privileged --name ${name} --entrypoint sleep ${stage} infinity >/dev/null
        docker exec ${name} bash -c 'mkdir -p /run/containerd; (containerd >/tmp/containerd.log 2>&1 & echo $! >/tmp/containerd.pid)
          for i in $(seq 1 60); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.5; done; cat /tmp/containerd.log; exit 1'`,
        );
        await sh('node-image', `docker exec -i ${name} ctr -n k8s.io images import --all-platforms --no-unpack --digests - < ${tar}`);
        const imported = await sh('node-image', `docker exec ${name} ctr -n k8s.io images ls -q`);
        const fullName = (i: string) => (i.split('/')[0]!.includes('.') ? i : `docker.io/${i}`); // as containerd names them
        const missing = preload.filter((i) => !imported.split('\n').includes(fullName(i)));
        if (missing.length) throw new StepFailed(`image:node: containerd in the node lacks ${missing.join(', ')} after the import`);
        // sleep (PID 1) reaps nothing, so the stopped containerd stays a zombie: wait for that state.
        await sh(
          'node-image',
          `docker exec ${name} bash -c 'p=$(cat /tmp/containerd.pid); kill $p; while [ -e /proc/$p ] && ! grep -q "^State:.*Z" /proc/$p/status; do sleep 0.2; done; rm -rf /tmp/* /run/containerd'
        docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
          --change 'LABEL io.kubedrill.testbed=${key}' ${name} ${tag} >/dev/null`,
        );
      } finally {
        await sh('node-image', `docker rm -f ${name} >/dev/null 2>&1 || true; docker rmi ${stage} >/dev/null 2>&1 || true; rm -f ${tar}`);
        rmSync(ctx, { recursive: true, force: true });
      }
    },
  );
}

// ---------- commands ----------

async function preflight(): Promise<void> {
  const go = await sh('preflight', 'command -v go || true', goEnv());
  if (!go.trim()) throw new CannotBuild('no Go toolchain (expected /usr/local/go/bin/go or go on PATH)');
  const goVersion = (await sh('preflight', 'go env GOVERSION', goEnv())).trim();
  const [maj = 0, min = 0] = goVersion.replace(/^go/, '').split('.').map(Number);
  if (maj < 1 || (maj === 1 && min < 26)) throw new CannotBuild(`Go ${goVersion} is too old (kube-router ${V.kubeRouter} needs Go 1.26)`);
  for (const [cmd, why] of [
    ['docker', 'Docker'],
    ['mmdebstrap', 'mmdebstrap (scripts/setup-host --tests installs it)'],
    ['gcc', 'gcc and libc6-dev (for the pause binary)'],
  ] as const) {
    if (!(await sh('preflight', `command -v ${cmd} || true`)).trim()) throw new CannotBuild(`${why} is not installed`);
  }
  try {
    await sh('preflight', 'docker info >/dev/null');
  } catch {
    throw new CannotBuild('the Docker daemon is not reachable');
  }
  try {
    await sh('preflight', `cd /tmp && curl -fsS --max-time 20 -o /dev/null "\${GOPROXY%%,*}/k8s.io/kubernetes/@v/${V.kubernetes}.info"`, {
      GOPROXY: process.env.GOPROXY || 'https://proxy.golang.org',
    });
  } catch {
    throw new CannotBuild('the Go module proxy is not reachable');
  }
  mkdirSync(CACHE, { recursive: true });
  const fs = statfsSync(CACHE);
  const freeGb = (fs.bavail * fs.bsize) / 1e9;
  const built = existsSync(path.join(STAMPS, 'image:node.json'));
  if (!built && freeGb < MIN_FREE_GB) throw new CannotBuild(`only ${freeGb.toFixed(1)} GB free at ${CACHE} (the build needs ${MIN_FREE_GB} GB)`);
  log(`${goVersion}, cache ${CACHE}, ${freeGb.toFixed(0)} GB free`);
}

/** Holds CACHE/build.lock while building, so two builds on one machine (two checkouts) take turns. */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = path.join(CACHE, 'build.lock');
  mkdirSync(CACHE, { recursive: true });
  let waited = false;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(readFileSync(lock, 'utf8').trim());
      if (!holderAlive(holder)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (!waited) log(`waiting for another build (pid ${holder}) to finish…`);
      waited = true;
      await sleep(2000);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function holderAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function build(): Promise<void> {
  const t0 = performance.now();
  await preflight();
  await withBuildLock(() => buildAll(t0));
}

async function buildAll(t0: number): Promise<void> {
  // Two lanes: Go compiles (CPU-bound, one at a time on these 2-core machines) beside the Debian
  // root filesystems (network and disk bound).
  // traefik (a lab image only, the longest compile) goes last, beside the node image's assembly.
  const [traefik, ...nodeGo] = [GO_BUILDS.find((b) => b.name === 'traefik')!, ...GO_BUILDS.filter((b) => b.name !== 'traefik')];
  const goLane = (async () => {
    for (const b of nodeGo) await goBuild(b);
    await buildPause();
  })();
  const debianLane = (async () => {
    const node = await rootfs('node', V.debian, NODE_PACKAGES);
    const baseRootfs = await rootfs('base', V.debian, BASE_PACKAGES);
    await rootfsNginx();
    return { node, baseRootfs };
  })();
  const [, { node, baseRootfs }] = await Promise.all([goLane, debianLane]);
  const baseTag = `kubedrill-testbed/base:${V.debian}`;
  await dockerImage(
    'image:base',
    baseTag,
    `FROM ${baseRootfs}\nCOPY kdtb-iptables-mode kdtb-exec /usr/local/bin/`,
    {
      'kdtb-iptables-mode': path.join(TESTBED_ASSETS, 'base', 'files', 'usr', 'local', 'bin', 'kdtb-iptables-mode'),
      'kdtb-exec': path.join(TESTBED_ASSETS, 'base', 'files', 'usr', 'local', 'bin', 'kdtb-exec'),
    },
    baseRootfs,
  );
  await Promise.all([
    (async () => {
      await goBuild(traefik);
      for (const b of ADDON_GO_BUILDS) await goBuild(b);
    })(),
    (async () => {
      await componentImages(baseTag);
      await labImages(baseTag); // before the node image: it preloads busybox (local-path's helper)
      await nodeImage(node);
    })(),
  ]);
  await traefikImage(baseTag);
  await addonImages(baseTag);
  await loadBalancerImage(baseTag);
  // Earlier builds of a rebuilt image are left untagged; drop those (only ours, by label).
  await sh('prune', 'docker image prune -f --filter label=io.kubedrill.testbed >/dev/null');
  const size = (await sh('inspect', `docker image inspect -f '{{.Size}}' ${nodeImageTag()}`)).trim();
  const total = (performance.now() - t0) / 1000;
  log(
    `built ${nodeImageTag()} (${(Number(size) / 1e9).toFixed(2)} GB), ${Object.values(LAB_IMAGES).join(', ')}, ${Object.values(ADDON_IMAGES).join(', ')} and ${KIND_LB_IMAGE}`,
  );
  log(`steps: ${timings.map((t) => `${t.step} ${t.cached ? 'cached' : `${t.seconds.toFixed(0)}s`}`).join(', ')}`);
  log(`total ${total.toFixed(1)} s`);
}

async function loadImages(cluster: string): Promise<void> {
  await sh('load-images', `kind load docker-image --name ${cluster} ${Object.values(LAB_IMAGES).join(' ')}`);
  log(`loaded ${Object.values(LAB_IMAGES).join(', ')} into ${cluster}`);
}

async function clean(keepImages: boolean): Promise<void> {
  if (!keepImages) {
    await sh(
      'clean',
      `docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}' | awk '/^kubedrill-testbed\\//{print $1}' | xargs -r docker rmi -f >/dev/null`,
    );
    const tags = [...Object.values(IMAGES), ...Object.values(LAB_IMAGES), ...Object.values(ADDON_IMAGES), KIND_LB_IMAGE].filter(
      (t) => !t.startsWith('kubedrill-testbed/'),
    );
    await sh('clean', `docker rmi -f ${tags.join(' ')} >/dev/null 2>&1 || true`);
  }
  rmSync(CACHE, { recursive: true, force: true });
  log(`removed ${CACHE}${keepImages ? ' (images kept)' : ' and the testbed images'}`);
}

/** The proofs' --nodes N (checked), once the testbed is known to be usable here. */
function nodesOption(args: string[], fallback: number): number {
  const i = args.indexOf('--nodes');
  const nodes = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(nodes) || nodes < 1) throw new StepFailed('--nodes needs a whole number ≥ 1');
  const s = readTestbedStatus();
  if (!s.available) throw new CannotBuild(s.reason ?? 'testbed not available');
  return nodes;
}

async function main(): Promise<number> {
  const [cmd, ...args] = process.argv.slice(2);
  switch (cmd) {
    case 'build':
      await build();
      return 0;
    case 'status': {
      const s = readTestbedStatus();
      if (args.includes('--json')) console.log(JSON.stringify(s));
      else log(s.available ? `available: ${s.image} with ${s.labImages.join(', ')}` : `not available: ${s.reason}`);
      return s.available ? 0 : 1;
    }
    case 'proof': {
      return (await runProof({ nodes: nodesOption(args, 3), log })) ? 0 : 1;
    }
    case 'nested-proof': {
      return (await runNestedProof({ nodes: nodesOption(args, 2), log })) ? 0 : 1;
    }
    case 'load-images':
      if (!args[0]) throw new StepFailed('load-images needs a cluster name');
      await loadImages(args[0]);
      return 0;
    case 'clean':
      await clean(args.includes('--keep-images'));
      return 0;
    default:
      console.log(
        readFileSync(new URL(import.meta.url), 'utf8')
          .split('\n')
          .slice(0, 7)
          .map((l) => l.replace(/^\/\/ ?/, ''))
          .join('\n'),
      );
      return cmd === undefined || cmd === '--help' || cmd === '-h' ? 0 : 2;
  }
}

try {
  process.exitCode = await main();
} catch (e) {
  if (e instanceof CannotBuild) {
    console.error(`[testbed] cannot build here: ${e.message}`);
    process.exitCode = 2;
  } else {
    console.error(`[testbed] ${errorMessage(e)}`);
    process.exitCode = 1;
  }
}
