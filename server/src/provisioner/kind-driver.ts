import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CommandError, type CommandRunner } from '../exec/command-runner.ts';
import type { ClusterShape } from '../labs/format.ts';
import { kindConfig } from './kind-config.ts';
import { KindProgressParser, plainStage } from './kind-progress.ts';
import { outputOf, ProvisionError, step, type StepSink } from './steps.ts';

/** kind's label on every node container; its value is the cluster name. */
export const KIND_CLUSTER_LABEL = 'io.x-k8s.kind.cluster';

export interface KindDriverOptions {
  runner: CommandRunner;
  /** One folder per cluster (kubeconfigs) lives under here. */
  clustersDir: string;
  /** Clusters named `<namePrefix>-<id>` are ours; reconcile deletes unknown ones. */
  namePrefix: string;
  nodeImage: string;
  registryMirror?: string | undefined;
  createTimeoutMs: number;
}

/** Callbacks into a create in progress. */
export interface CreateHooks {
  /** kind has created the node containers (Kubernetes is not up yet; images can be loaded already). */
  onNodesCreated?: () => void;
}

/** A cluster that exists: its name, nodes and kubeconfig files. */
export interface ClusterInfo {
  name: string;
  /** Kubeconfig for this server (https://127.0.0.1:<port>). */
  kubeconfigPath: string;
  /** Kubeconfig for containers on kind's network (https://<name>-control-plane:6443, or kind's load balancer with several control planes). */
  internalKubeconfigPath: string;
  nodes: string[];
}

const QUICK_MS = 60_000;

/** Our own step after kind's: kind's --wait covers control-plane nodes only. */
export const NODES_READY_STEP = 'Waiting for every node to be Ready';

/** Node container names of a kind cluster (`kind get nodes`); none when it does not exist. */
export async function kindNodeNames(runner: CommandRunner, name: string): Promise<string[]> {
  const r = await runner.run({ argv: ['kind', 'get', 'nodes', '--name', name], timeoutMs: QUICK_MS });
  return (
    r.stdout
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => s && !s.startsWith('No kind nodes'))
      // kind lists its load balancer (clusters with several control-plane nodes) too; it is no Kubernetes node.
      .filter((s) => s !== `${name}-external-load-balancer`)
  );
}

/** Creates, lists and deletes kind clusters through the command runner; one kubeconfig file per cluster. */
export class KindDriver {
  readonly #o: KindDriverOptions;
  /** Deletes in flight, by cluster name: a second delete of the same cluster joins the first. */
  readonly #deleting = new Map<string, Promise<void>>();
  #cgroupV1: Promise<boolean> | undefined;

  constructor(o: KindDriverOptions) {
    this.#o = o;
  }

  get nodeImage(): string {
    return this.#o.nodeImage;
  }

  /** A fresh cluster name: `<prefix>-<8 hex>`. */
  newName(): string {
    return `${this.#o.namePrefix}-${randomBytes(4).toString('hex')}`;
  }

  /** True for names this server would have created. */
  owns(name: string): boolean {
    return name.startsWith(`${this.#o.namePrefix}-`) && /^[a-z0-9-]+$/.test(name);
  }

  /** Where the cluster's files live. */
  paths(name: string): { dir: string; kubeconfig: string; internalKubeconfig: string } {
    const dir = path.join(this.#o.clustersDir, name);
    return { dir, kubeconfig: path.join(dir, 'kubeconfig'), internalKubeconfig: path.join(dir, 'kubeconfig.internal') };
  }

  /** Whether Docker runs on cgroup v1 (asked once). */
  cgroupV1(): Promise<boolean> {
    this.#cgroupV1 ??= this.#o.runner
      .run({ argv: ['docker', 'info', '--format', '{{.CgroupVersion}}'], timeoutMs: QUICK_MS })
      .then((r) => r.stdout.trim() === '1')
      .catch(() => false);
    return this.#cgroupV1;
  }

  /** The kind config for a shape on this host. */
  async config(shape: ClusterShape): Promise<string> {
    return kindConfig(shape, { cgroupV1: await this.cgroupV1(), registryMirror: this.#o.registryMirror });
  }

  /**
   * Creates the cluster: kind's own stages as steps, then our wait for every node (kind's --wait only
   * covers control-plane nodes and exits 0 on timeout). On failure nothing is left behind.
   */
  async create(name: string, shape: ClusterShape, onStep: StepSink, signal?: AbortSignal, hooks: CreateHooks = {}): Promise<ClusterInfo> {
    const p = this.paths(name);
    const deadline = Date.now() + this.#o.createTimeoutMs;
    const left = () => Math.max(1000, deadline - Date.now());
    await mkdir(p.dir, { recursive: true, mode: 0o700 });
    try {
      await this.#kindCreate(name, shape, onStep, left(), signal, hooks);
      await step(NODES_READY_STEP, onStep, async () => {
        const seconds = Math.ceil(left() / 1000);
        await this.#o.runner.run({
          argv: [
            'docker',
            'exec',
            `${name}-control-plane`,
            'kubectl',
            '--kubeconfig=/etc/kubernetes/admin.conf',
            'wait',
            '--for=condition=Ready',
            'nodes',
            '--all',
            `--timeout=${seconds}s`,
          ],
          timeoutMs: left() + 5000,
          signal,
        });
      });
      const internal = (await this.#o.runner.run({ argv: ['kind', 'get', 'kubeconfig', '--internal', '--name', name], timeoutMs: QUICK_MS, signal })).stdout;
      await writeFile(p.internalKubeconfig, internal, { mode: 0o600 });
      return { name, kubeconfigPath: p.kubeconfig, internalKubeconfigPath: p.internalKubeconfig, nodes: await this.nodes(name) };
    } catch (e) {
      await this.delete(name).catch(() => {});
      throw e;
    }
  }

  async #kindCreate(
    name: string,
    shape: ClusterShape,
    onStep: StepSink,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    hooks: CreateHooks,
  ): Promise<void> {
    let current: string | undefined;
    let failedStage: string | undefined;
    const parser = new KindProgressParser((e) => {
      const stage = plainStage(e.stage);
      if (e.kind === 'start') current = stage;
      else if (stage === current) current = undefined;
      if (e.kind === 'failed') failedStage = stage;
      else onStep({ step: stage, status: e.kind === 'start' ? 'running' : 'done' });
      if (e.kind === 'done' && /^Preparing nodes\b/.test(e.stage)) hooks.onNodesCreated?.();
    });
    try {
      await this.#o.runner.run({
        argv: [
          'kind',
          'create',
          'cluster',
          '--name',
          name,
          '--image',
          this.#o.nodeImage,
          '--kubeconfig',
          this.paths(name).kubeconfig,
          '--config',
          '-',
          '--wait',
          `${Math.ceil(timeoutMs / 1000)}s`,
        ],
        stdin: await this.config(shape),
        timeoutMs,
        signal,
        onStderr: (c) => parser.push(c),
      });
      parser.end();
    } catch (e) {
      const kindError = parser.end();
      const stage = failedStage ?? current ?? 'Creating cluster';
      const why =
        e instanceof CommandError && e.reason !== 'exit-code'
          ? `kind create cluster ${e.reason === 'timeout' ? 'timed out' : e.reason === 'aborted' ? 'was cancelled' : 'could not run'}`
          : 'kind create cluster failed';
      const err = new ProvisionError(stage, `${why} at "${stage}"${kindError ? `: ${kindError.split('\n')[0]}` : ''}`, kindError ?? outputOf(e));
      onStep({ step: stage, status: 'failed', output: err.output });
      throw err;
    }
  }

  /** Node container names of the cluster. */
  nodes(name: string): Promise<string[]> {
    return kindNodeNames(this.#o.runner, name);
  }

  /** Deletes the cluster and its folder; deleting a cluster that does not exist succeeds. */
  async delete(name: string): Promise<void> {
    let running = this.#deleting.get(name);
    if (!running) {
      running = this.#delete(name).finally(() => this.#deleting.delete(name));
      this.#deleting.set(name, running);
    }
    return running;
  }

  async #delete(name: string): Promise<void> {
    const p = this.paths(name);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#o.runner.run({ argv: ['kind', 'delete', 'cluster', '--name', name, '--kubeconfig', p.kubeconfig], timeoutMs: 5 * QUICK_MS });
        break;
      } catch (e) {
        // Another process (a second server, the reaper of an older run) may be removing the same
        // containers: Docker then refuses with "removal … already in progress". Done is done.
        if ((await this.nodes(name).catch(() => ['?'])).length === 0) break;
        if (attempt >= 3 || !/already in progress/.test(String((e as { stderr?: unknown }).stderr ?? e))) throw e;
        await sleep(1000 * attempt);
      }
    }
    await rm(p.dir, { recursive: true, force: true });
  }

  /** Names of the kind clusters on this host that carry our prefix. */
  async list(): Promise<string[]> {
    const r = await this.#o.runner.run({ argv: ['kind', 'get', 'clusters'], timeoutMs: QUICK_MS });
    return r.stdout
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => this.owns(s));
  }

  /**
   * Loads the lab's images that the host's Docker has and the nodes lack (`kind load docker-image`);
   * images the host lacks are left for the nodes to pull (or the registry mirror).
   */
  async preloadImages(name: string, images: readonly string[], signal?: AbortSignal): Promise<{ loaded: string[]; present: string[]; missing: string[] }> {
    const out = { loaded: [] as string[], present: [] as string[], missing: [] as string[] };
    if (!images.length) return out;
    const nodes = await this.nodes(name);
    if (!nodes.length) throw new Error(`cluster ${name} has no node containers (yet)`);
    const inNodes = await Promise.all(
      nodes.map(async (node) => {
        const r = await this.#o.runner.run({ argv: ['docker', 'exec', node, 'ctr', '-n', 'k8s.io', 'images', 'ls', '-q'], timeoutMs: QUICK_MS, signal });
        return new Set(
          r.stdout
            .split('\n')
            .map((s) => s.trim())
            .filter(Boolean),
        );
      }),
    );
    const toLoad: string[] = [];
    for (const image of images) {
      const full = fullImageRef(image);
      if (inNodes.every((set) => set.has(full))) {
        out.present.push(image);
        continue;
      }
      const onHost = await this.#o.runner.run({ argv: ['docker', 'image', 'inspect', '--format', '{{.Id}}', image], timeoutMs: QUICK_MS, signal }).then(
        () => true,
        () => false,
      );
      if (onHost) toLoad.push(image);
      else out.missing.push(image);
    }
    if (toLoad.length) {
      await this.#o.runner.run({ argv: ['kind', 'load', 'docker-image', '--name', name, ...toLoad], timeoutMs: 10 * QUICK_MS, signal });
      out.loaded.push(...toLoad);
    }
    return out;
  }
}

/** The reference containerd stores for an image: docker.io/library/busybox:1.37.0 for busybox:1.37.0. */
export function fullImageRef(image: string): string {
  const slash = image.indexOf('/');
  const first = slash === -1 ? '' : image.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  if (hasRegistry) return image;
  return slash === -1 ? `docker.io/library/${image}` : `docker.io/${image}`;
}
