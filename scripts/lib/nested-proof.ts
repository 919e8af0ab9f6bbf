// The nesting proof for attempts that run as Pods on a Kubernetes cluster (issue 16): a host kind
// cluster on the testbed image, one privileged "attempt host" Pod on it running its own Docker
// daemon (scripts/images/attempt-host), a kind cluster inside that Pod — created by kind on this
// machine, whose docker commands reach the Pod's daemon through the Kubernetes exec API
// (server/src/provisioner/pod-docker.ts) — and the testbed proof's checks (nodes Ready, pod-to-pod
// across nodes, DNS, Services, NetworkPolicy, storage) run against the inner cluster, so every
// layer a Kubernetes provider would stand on is exercised on this host.
// Used by `scripts/testbed nested-proof`.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createCommandRunner, minimalEnv, type CommandRunner } from '../../server/src/exec/command-runner.ts';
import { execDialDocker, forwardPodPort, servePodDocker, type PodDockerSocket, type PodPortForward } from '../../server/src/provisioner/pod-docker.ts';
import { AttemptPods } from '../../server/src/provisioner/attempt-pods.ts';
import { errorMessage } from '../../graders/src/shared/error-message.ts';
import { LAB_IMAGES, nodeImageTag } from './testbed.ts';
import { TestbedCluster, proveCluster } from './testbed-proof.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const IMAGE_DIR = path.join(ROOT, 'scripts', 'images', 'attempt-host');
const RUNC_SHIM = path.join(ROOT, 'scripts', 'host', 'runc-drop-sys-resource');
const NS = 'kdtb-nested';
const POD = 'attempt-host';

/**
 * systemd 252 in a kind node runs in hybrid mode on a cgroup-v1 host and tracks its units in the
 * cgroup2 hierarchy. Docker on such a host gives no container a cgroup2 group of its own, so the
 * nodes of a kind cluster inside another container share one cgroup2 root, and the second node's
 * systemd loses its cgroups ("Failed to attach 1 to compat systemd cgroup /init.scope"; its kubelet
 * then never starts: "…missing paths: /sys/fs/cgroup/systemd/kubelet.slice/kubelet-kubepods.slice").
 * systemd reads its "kernel command line" from this variable inside a container, so nested nodes
 * run in pure legacy mode instead.
 */
export const NESTED_NODE_ENV = 'SYSTEMD_PROC_CMDLINE="systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=1"';

/** The attempt-host image's tag: a hash of everything that goes into it. */
export function attemptHostTag(): string {
  const h = createHash('sha256');
  for (const f of [path.join(IMAGE_DIR, 'Dockerfile'), path.join(IMAGE_DIR, 'entrypoint.sh'), RUNC_SHIM]) h.update(readFileSync(f));
  return `kubedrill-testbed/attempt-host:${h.digest('hex').slice(0, 12)}`;
}

/** `docker save IMAGES | <into> docker load`; resolves with the seconds it took. */
async function copyImages(into: CommandRunner, images: string[]): Promise<number> {
  const t0 = performance.now();
  const save = spawn('docker', ['save', ...images], { stdio: ['ignore', 'pipe', 'pipe'] });
  let saveErr = '';
  save.stderr.on('data', (d: Buffer) => (saveErr += d.toString()));
  const saved = new Promise<void>((resolve, reject) =>
    save.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker save ${images.join(' ')}: exit ${code}: ${saveErr.trim()}`)))),
  );
  await Promise.all([into.run({ argv: ['docker', 'load'], stdinStream: save.stdout, timeoutMs: 1_200_000 }), saved]);
  return (performance.now() - t0) / 1000;
}

async function timed<T>(what: string, log: (line: string) => void, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await f();
  log(`done  ${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

/**
 * Creates a host cluster (1 control plane + 1 worker), the attempt host Pod on it and an `nodes`-node
 * kind cluster inside the Pod, runs the testbed proof's checks against that inner cluster, prints
 * where time, memory and disk went, and deletes the host cluster (and with it everything inside).
 */
export async function runNestedProof(opts: { nodes: number; log: (line: string) => void }): Promise<boolean> {
  const { log } = opts;
  const base = minimalEnv(process.env);
  const runner = createCommandRunner(base);
  const image = attemptHostTag();
  const host = new TestbedCluster(`kdtb-host-${randomBytes(3).toString('hex')}`, 1, runner);
  const nestedImage = `${nodeImageTag()}-nested`;
  const socketDir = mkdtempSync(path.join(tmpdir(), 'kd-pod-docker-'));
  let socket: PodDockerSocket | undefined;
  let apiForward: PodPortForward | undefined;
  let result = { passed: 0, total: 0 };
  try {
    await timed(`attempt-host image ${image}`, log, async () => {
      const have = await runner.run({ argv: ['docker', 'image', 'inspect', image], okCodes: [0, 1], timeoutMs: 30_000 });
      if (have.exitCode === 0) return;
      const ctx = mkdtempSync(path.join(tmpdir(), 'kd-attempt-host-'));
      try {
        for (const f of ['Dockerfile', 'entrypoint.sh']) copyFileSync(path.join(IMAGE_DIR, f), path.join(ctx, f));
        copyFileSync(RUNC_SHIM, path.join(ctx, 'runc-drop-sys-resource'));
        await runner.run({ argv: ['docker', 'build', '-q', '-t', image, ctx], env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 900_000 });
      } finally {
        rmSync(ctx, { recursive: true, force: true });
      }
    });
    await timed('host cluster: kind create (1 control plane, 1 worker)', log, () => host.create());
    await timed('host cluster: kind load the attempt-host image', log, () => host.loadImages([image]));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(await host.kubeconfig());
    await timed('attempt host Pod Ready (dockerd answers)', log, async () => {
      await host.kubectl(['create', 'namespace', NS]);
      const pods = new AttemptPods(kubeConfig, NS);
      await pods.create({ name: POD, attemptId: 'nested-proof', shape: { workers: opts.nodes - 1, addons: [] }, image, pullPolicy: 'Never' });
      await pods.waitReady(POD, { timeoutMs: 180_000, onState: (s) => log(`      attempt host: ${s.state}${'detail' in s ? ` (${s.detail})` : ''}`) });
    });
    // From here on docker and kind on this machine drive the Pod's daemon.
    socket = await servePodDocker(path.join(socketDir, 'docker.sock'), execDialDocker(kubeConfig, { namespace: NS, pod: POD, container: 'docker' }), log);
    const inPod = createCommandRunner({ ...base, DOCKER_HOST: socket.dockerHost });
    const server = await inPod.run({ argv: ['docker', 'version', '--format', '{{.Server.Version}}'], timeoutMs: 60_000 });
    log(`done  the Pod's Docker ${server.stdout.trim()} answers on ${socket.dockerHost} (through the exec API)`);
    const images = [nodeImageTag(), LAB_IMAGES.agnhost, LAB_IMAGES.busybox];
    await timed(`images into the Pod's Docker (${images.join(', ')})`, log, () => copyImages(inPod, images));
    await timed('nested node image (systemd in legacy cgroup mode)', log, () =>
      inPod.run({
        argv: ['docker', 'build', '-q', '-t', nestedImage, '-'],
        stdin: `FROM ${nodeImageTag()}\nENV ${NESTED_NODE_ENV}\n`,
        env: { DOCKER_BUILDKIT: '0' },
        timeoutMs: 300_000,
      }),
    );
    const inner = new TestbedCluster('lab', opts.nodes - 1, inPod, nestedImage);
    await timed(`inner cluster: kind create (${opts.nodes} node${opts.nodes > 1 ? 's' : ''}) in the Pod, driven from here`, log, () => inner.create());
    result = await proveCluster(inner, log);
    // The grader's path: the inner API server, which kind publishes on the Pod's loopback, through a
    // port-forward of the host cluster, read with client-node as the grader reads a cluster.
    result.total++;
    const t0 = performance.now();
    try {
      const published = (await inPod.run({ argv: ['docker', 'port', 'lab-control-plane', '6443/tcp'], timeoutMs: 30_000 })).stdout;
      const remotePort = Number(/:(\d+)\s*$/m.exec(published)?.[1]);
      if (!remotePort) throw new Error(`docker port lab-control-plane 6443/tcp: "${published.trim()}"`);
      apiForward = await forwardPodPort(kubeConfig, { namespace: NS, pod: POD }, remotePort, log);
      const innerConfig = new KubeConfig();
      const kubeconfig = (await inPod.run({ argv: ['kind', 'get', 'kubeconfig', '--name', 'lab'], timeoutMs: 30_000 })).stdout;
      innerConfig.loadFromString(kubeconfig.replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${apiForward.port}`));
      const nodes = await innerConfig.makeApiClient(CoreV1Api).listNode();
      const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      if (ready.length !== opts.nodes) throw new Error(`${ready.length} of ${nodes.items.length} nodes Ready through the port-forward`);
      log(
        `pass  the inner API server answers through a port-forward (the grader's path): ${ready.length} nodes Ready, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      result.passed++;
    } catch (e) {
      log(`FAIL  the inner API server answers through a port-forward (the grader's path): ${errorMessage(e)}`);
    }
    const usage = await runner.run({
      argv: ['docker', 'stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', host.controlPlane, `${host.name}-worker`],
      timeoutMs: 60_000,
    });
    log(`host nodes' memory (the worker carries the Pod): ${usage.stdout.trim().replaceAll('\n', ', ')}`);
    const disk = await host.kubectl(['-n', NS, 'exec', POD, '--', 'du', '-sh', '/var/lib/docker']);
    log(`the Pod's Docker storage: ${disk.trim()}`);
  } catch (e) {
    log(`FAIL  ${errorMessage(e)}`);
  } finally {
    await apiForward?.close();
    await socket?.close();
    rmSync(socketDir, { recursive: true, force: true });
    await host.delete().catch((e: unknown) => log(`could not delete ${host.name}: ${String(e)}`));
  }
  log(`nested proof: ${result.passed}/${result.total} checks passed in a ${opts.nodes}-node cluster inside a Pod`);
  return result.total > 0 && result.passed === result.total;
}
