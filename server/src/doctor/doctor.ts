import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import type { Config } from '../config/config.ts';
import { errorMessage } from '../errors.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import { DEFAULT_NODE_IMAGE } from '../provisioner/kind-config.ts';

/** One finding of the doctor: what was checked, how it went, and what to do when it is not ok. */
export interface DoctorCheck {
  id: 'docker' | 'cgroup' | 'kind' | 'kubectl' | 'inotify' | 'memory' | 'disk' | 'node-image' | 'preset-pool';
  title: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  remedy?: string;
}

/** Host facts the doctor reads; injectable so tests can describe any host. */
export interface DoctorHost {
  runner: CommandRunner;
  readFile?: (file: string) => Promise<string>;
  freeDiskBytes?: (dir: string) => Promise<number>;
  totalMemBytes?: () => number;
  freeMemBytes?: () => number;
}

export const MIN_KIND = [0, 24, 0] as const;
/** The node image scripts/testbed builds on hosts without a registry. */
export const TESTBED_NODE_IMAGE = 'kubedrill-testbed/node:v1.35.4';
export const MIN_INOTIFY_WATCHES = 524288;
export const MIN_INOTIFY_INSTANCES = 512;
const GiB = 1024 ** 3;
/** Rough needs of one kind node (control plane or worker) with a lab's workloads. */
const MEM_PER_NODE = 1.2 * GiB;
const DISK_PER_CLUSTER = 3 * GiB;
const DISK_BASE = 5 * GiB;

/** "v0.33.0" from `kind version` output such as "kind v0.33.0 go1.27.2 linux/amd64". */
export function parseKindVersion(text: string): [number, number, number] | undefined {
  const m = /\bv(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

const atLeast = (v: readonly number[], min: readonly number[]) => {
  for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > min[i]!;
  return true;
};

/**
 * Checks what starting labs needs on this host — Docker and its cgroup version, kind ≥ v0.24,
 * kubectl, inotify limits, memory and disk for the configured capacity, the node image — each
 * with a precise remedy when it is not ok.
 */
export async function runDoctor(config: Config, host: DoctorHost, opts: { maxWorkers?: number } = {}): Promise<DoctorCheck[]> {
  const run = (argv: string[]) => host.runner.run({ argv, timeoutMs: 20_000 });
  const read = host.readFile ?? ((f: string) => readFile(f, 'utf8'));
  const checks: DoctorCheck[] = [];
  const nodeImage = config.clusters.nodeImage ?? DEFAULT_NODE_IMAGE;
  const clusters = config.clusters.maxConcurrent;
  const nodesPerCluster = 1 + (opts.maxWorkers ?? 1);

  let dockerRoot: string | undefined;
  try {
    const info = (await run(['docker', 'info', '--format', '{{.ServerVersion}}|{{.CgroupVersion}}|{{.DockerRootDir}}'])).stdout.trim();
    const [version, cgroup, root] = info.split('|');
    dockerRoot = root || undefined;
    checks.push({ id: 'docker', title: 'Docker is reachable', status: 'ok', detail: `Docker ${version}` });
    if (cgroup === '2') checks.push({ id: 'cgroup', title: 'cgroup v2', status: 'ok', detail: 'Docker runs on cgroup v2' });
    else
      checks.push({
        id: 'cgroup',
        title: 'cgroup v2',
        status: 'warn',
        detail: `Docker runs on cgroup v${cgroup || '?'}; kind node images for Kubernetes ≥ 1.35 need cgroup v2 (kubedrill patches kubelet with failCgroupV1: false and containerd with restrict_oom_score_adj so they can start, which Kubernetes does not support)`,
        remedy:
          'boot the host with cgroup v2: add systemd.unified_cgroup_hierarchy=1 to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot)',
      });
  } catch (e) {
    checks.push({
      id: 'docker',
      title: 'Docker is reachable',
      status: 'fail',
      detail: `docker info failed: ${errorMessage(e).split('\n').slice(0, 2).join(' ')}`,
      remedy:
        'install and start Docker (sudo scripts/setup-host, or: sudo apt-get install docker.io && sudo systemctl start docker), and run kubedrill as a user in the docker group (sudo usermod -aG docker $USER, then log in again)',
    });
  }

  try {
    const out = (await run(['kind', 'version'])).stdout.trim();
    const v = parseKindVersion(out);
    if (v && atLeast(v, MIN_KIND)) checks.push({ id: 'kind', title: 'kind ≥ v0.24', status: 'ok', detail: out });
    else
      checks.push({
        id: 'kind',
        title: 'kind ≥ v0.24',
        status: 'fail',
        detail: `${out || 'unknown version'}: kind before v0.24 has no NetworkPolicy support in its default CNI`,
        remedy:
          'install kind v0.33.0: sudo scripts/setup-host (Debian: apt-get install -t sid kind), or download the release binary from https://kind.sigs.k8s.io/docs/user/quick-start/#installation',
      });
  } catch {
    checks.push({
      id: 'kind',
      title: 'kind ≥ v0.24',
      status: 'fail',
      detail: 'the kind program was not found on PATH',
      remedy: 'install kind v0.33.0: sudo scripts/setup-host (Debian: apt-get install -t sid kind)',
    });
  }

  try {
    const out = (await run(['kubectl', 'version', '--client', '-o', 'json'])).stdout;
    const v = (JSON.parse(out) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion ?? 'unknown';
    checks.push({ id: 'kubectl', title: 'kubectl present', status: 'ok', detail: `kubectl ${v}` });
  } catch {
    checks.push({
      id: 'kubectl',
      title: 'kubectl present',
      status: 'warn',
      detail: 'kubectl was not found on PATH: labs whose setup script calls kubectl cannot start (learners get kubectl in their workstation, not from here)',
      remedy: 'install kubectl 1.35: apt-get install kubectl (Kubernetes apt repository), or copy the binary scripts/testbed builds into /usr/local/bin',
    });
  }

  try {
    const watches = Number((await read('/proc/sys/fs/inotify/max_user_watches')).trim());
    const instances = Number((await read('/proc/sys/fs/inotify/max_user_instances')).trim());
    const ok = watches >= MIN_INOTIFY_WATCHES && instances >= MIN_INOTIFY_INSTANCES;
    checks.push({
      id: 'inotify',
      title: 'inotify limits',
      status: ok ? 'ok' : clusters > 1 || config.clusters.poolSize > 0 ? 'fail' : 'warn',
      detail: `max_user_watches=${watches}, max_user_instances=${instances} (need ≥ ${MIN_INOTIFY_WATCHES} / ≥ ${MIN_INOTIFY_INSTANCES} for several kind clusters)`,
      ...(ok
        ? {}
        : {
            remedy: `sudo sysctl -w fs.inotify.max_user_watches=${MIN_INOTIFY_WATCHES} fs.inotify.max_user_instances=${MIN_INOTIFY_INSTANCES}, and keep it with: printf 'fs.inotify.max_user_watches=${MIN_INOTIFY_WATCHES}\\nfs.inotify.max_user_instances=${MIN_INOTIFY_INSTANCES}\\n' | sudo tee /etc/sysctl.d/99-kubedrill.conf`,
          }),
    });
  } catch (e) {
    checks.push({ id: 'inotify', title: 'inotify limits', status: 'warn', detail: `cannot read /proc/sys/fs/inotify: ${errorMessage(e)}` });
  }

  const total = (host.totalMemBytes ?? os.totalmem)();
  const needMem = clusters * nodesPerCluster * MEM_PER_NODE;
  checks.push({
    id: 'memory',
    title: 'memory for the configured capacity',
    status: total >= needMem ? 'ok' : 'warn',
    detail: `${(total / GiB).toFixed(1)} GiB total, ${((host.freeMemBytes ?? os.freemem)() / GiB).toFixed(1)} GiB free now; ${clusters} cluster(s) of up to ${nodesPerCluster} node(s) need about ${(needMem / GiB).toFixed(1)} GiB`,
    ...(total >= needMem
      ? {}
      : { remedy: `lower clusters.maxConcurrent to ${Math.max(1, Math.floor(total / (nodesPerCluster * MEM_PER_NODE)))} or add memory` }),
  });

  const diskDir = dockerRoot ?? config.dataDir;
  try {
    const free = await (
      host.freeDiskBytes ??
      (async (d: string) => {
        const s = await statfs(d);
        return s.bavail * s.bsize;
      })
    )(diskDir);
    const needDisk = DISK_BASE + clusters * DISK_PER_CLUSTER;
    checks.push({
      id: 'disk',
      title: 'disk space',
      status: free >= needDisk ? 'ok' : 'warn',
      detail: `${(free / GiB).toFixed(1)} GiB free in ${diskDir}; ${clusters} cluster(s) need about ${(needDisk / GiB).toFixed(0)} GiB`,
      ...(free >= needDisk
        ? {}
        : { remedy: `free space in ${diskDir} (docker system prune removes unused images and containers) or lower clusters.maxConcurrent` }),
    });
  } catch (e) {
    checks.push({ id: 'disk', title: 'disk space', status: 'warn', detail: `cannot read free space of ${diskDir}: ${errorMessage(e)}` });
  }

  if (checks.find((c) => c.id === 'docker')?.status === 'ok') {
    try {
      await run(['docker', 'image', 'inspect', '--format', '{{.Id}}', nodeImage]);
      checks.push({ id: 'node-image', title: 'kind node image present', status: 'ok', detail: nodeImage });
    } catch {
      const testbed =
        nodeImage !== TESTBED_NODE_IMAGE &&
        (await run(['docker', 'image', 'inspect', '--format', '{{.Id}}', TESTBED_NODE_IMAGE]).then(
          () => true,
          () => false,
        ));
      checks.push({
        id: 'node-image',
        title: 'kind node image present',
        status: 'warn',
        detail: `${nodeImage} is not in Docker yet: the first create pulls it (several minutes), and fails where no registry is reachable`,
        remedy: testbed
          ? `this host has the locally built testbed image: set clusters.nodeImage=${TESTBED_NODE_IMAGE} (KUBEDRILL_CLUSTERS_NODE_IMAGE), or docker pull ${nodeImage} where a registry is reachable`
          : `docker pull ${nodeImage}; on a host without registry access build a local node image (scripts/testbed build) and set clusters.nodeImage (KUBEDRILL_CLUSTERS_NODE_IMAGE) to its tag`,
      });
    }
  }
  const preset = presetPoolCheck(config);
  if (preset) checks.push(preset);
  return checks;
}

/**
 * How much of clusters.maxConcurrent the pre-set-up pool (clusters.presetLabs, clusters.presetRecent)
 * may hold; undefined when it is off. An exam:<id> entry counts one cluster per exam cluster at
 * least, so this is a lower bound.
 */
export function presetPoolCheck(config: Config): DoctorCheck | undefined {
  const { presetLabs, presetRecent, maxConcurrent, poolSize, poolShapes } = config.clusters;
  if (!presetLabs.length && !presetRecent) return undefined;
  const configured = presetLabs.reduce((n, e) => n + Number(/:(\d+)$/.exec(e)?.[1] ?? 1), 0);
  const plain = poolShapes.length ? poolShapes.reduce((n, e) => n + Number(e.split(':')[1] ?? poolSize), 0) : 0;
  const held = configured + presetRecent + plain;
  const what = `${presetLabs.length ? `${presetLabs.join(', ')}` : 'no lab by name'}${presetRecent ? ` and the ${presetRecent} lab(s) started last` : ''}`;
  if (held >= maxConcurrent) {
    return {
      id: 'preset-pool',
      title: 'clusters set up in advance',
      status: 'warn',
      detail: `${what}: at least ${held} cluster(s) kept warm or set up in advance, with clusters.maxConcurrent ${maxConcurrent}; a learner of another lab waits until one of them is deleted to make room`,
      remedy: `raise clusters.maxConcurrent above ${held} (the memory check above sizes the host for it) or keep fewer labs set up in advance`,
    };
  }
  return {
    id: 'preset-pool',
    title: 'clusters set up in advance',
    status: 'ok',
    detail: `${what}: at least ${held} of ${maxConcurrent} cluster slot(s), started only while the host has memory for their nodes`,
  };
}
