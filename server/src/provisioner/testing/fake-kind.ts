// A fake docker + kind host for tests and benchmarks: answers the commands the kind driver runs,
// replaying kind's real stderr (test-fixtures/) and keeping clusters, nodes and images in memory.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ClusterPort, ExecResult, KubeObject, ListQuery, ObjectRef } from '../../../../graders/src/cluster/port.ts';
import { CommandError, type CommandResult, type CommandRunner, type CommandSpec } from '../../exec/command-runner.ts';
import { fullImageRef } from '../kind-driver.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'test-fixtures');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

export interface FakeKindOptions {
  /** Images `docker pull` cannot get: kind fails at "Ensuring node image". */
  missingImages?: string[];
  /** Images that are not node images: kind fails at "Preparing nodes". */
  badImages?: string[];
  /** Images the host's docker has (for kind load). */
  hostImages?: string[];
  /** Pause after each of kind's stage lines, to make creates take time. */
  stageDelayMs?: number;
  /**
   * Each create waits (up to 10 s) until this many creates have begun, so a test of concurrency does
   * not depend on the machine's speed: creates that really run at once meet; serialized ones time out
   * one by one and show as maxCreating 1.
   */
  createBarrier?: number;
  cgroupVersion?: 1 | 2;
  /** Nodes never become Ready: our own wait fails. */
  nodesNeverReady?: boolean;
  /** Keep the host's clusters in this JSON file, so another process (a restarted server) finds them. */
  stateFile?: string;
  /**
   * Creates stop for good once their node containers exist, as a server killed mid-create leaves
   * them (only aborting the create ends it); heldCreate() says when one has stopped there.
   */
  holdCreates?: boolean;
}

interface FakeCluster {
  name: string;
  nodes: string[];
  images: Set<string>;
}

/** The fake host: a CommandRunner plus what it saw (calls, creates in flight, peak concurrency). */
export class FakeKindHost implements CommandRunner {
  readonly clusters = new Map<string, FakeCluster>();
  readonly calls: string[][] = [];
  readonly o: FakeKindOptions;
  creating = 0;
  maxCreating = 0;
  creates = 0;
  deletes = 0;
  /** Names of held creates no heldCreate() has been told of yet, and those waiting to be told. */
  readonly #held: string[] = [];
  readonly #heldWaiters: ((name: string) => void)[] = [];
  /** Creates waiting at the createBarrier for the others to begin. */
  readonly #atBarrier: (() => void)[] = [];

  constructor(o: FakeKindOptions = {}) {
    this.o = o;
    if (o.stateFile && existsSync(o.stateFile)) {
      for (const c of JSON.parse(readFileSync(o.stateFile, 'utf8')) as { name: string; nodes: string[]; images: string[] }[])
        this.clusters.set(c.name, { ...c, images: new Set(c.images) });
    }
  }

  /** With holdCreates: resolves with the cluster name of the next create that stops (at once if one already has). */
  heldCreate(): Promise<string> {
    const name = this.#held.shift();
    return name !== undefined ? Promise.resolve(name) : new Promise((resolve) => this.#heldWaiters.push(resolve));
  }

  #hold(name: string, argv: string[], stderr: string, signal: AbortSignal | undefined): Promise<never> {
    return new Promise((_resolve, reject) => {
      const aborted = () => reject(new CommandError('aborted', argv, null, '', stderr));
      if (signal?.aborted) return aborted();
      signal?.addEventListener('abort', aborted, { once: true });
      const waiter = this.#heldWaiters.shift();
      if (waiter) waiter(name);
      else this.#held.push(name);
    });
  }

  /** Waits until `count` creates have begun (this one included), 10 s at most: the create that completes the count lets all go. */
  async #barrier(count: number): Promise<void> {
    if (this.creates >= count) {
      for (const go of this.#atBarrier.splice(0)) go();
      return;
    }
    await new Promise<void>((resolve) => {
      const go = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#atBarrier.splice(this.#atBarrier.indexOf(go), 1);
        resolve();
      }, 10_000);
      this.#atBarrier.push(go);
    });
  }

  #save(): void {
    if (this.o.stateFile) writeFileSync(this.o.stateFile, JSON.stringify([...this.clusters.values()].map((c) => ({ ...c, images: [...c.images] }))));
  }

  async run(spec: CommandSpec): Promise<CommandResult> {
    const argv = [...spec.argv];
    this.calls.push(argv);
    const ok = (stdout = '', stderr = ''): CommandResult => ({ argv, exitCode: 0, stdout, stderr, durationMs: 0 });
    const fail = (code: number, stderr: string, stdout = ''): never => {
      throw new CommandError('exit-code', argv, code, stdout, stderr);
    };
    const flag = (name: string) => {
      const i = argv.indexOf(name);
      return i >= 0 ? argv[i + 1] : undefined;
    };
    const key = argv.slice(0, 3).join(' ');
    if (key === 'kind create cluster') return this.#create(spec, argv, flag('--name')!, flag('--image')!, flag('--kubeconfig')!);
    if (key === 'kind delete cluster') {
      this.deletes++;
      const name = flag('--name')!;
      this.clusters.delete(name);
      this.#save();
      return ok('', `Deleting cluster "${name}" ...\n`);
    }
    if (key === 'kind get clusters') return this.clusters.size ? ok([...this.clusters.keys()].join('\n') + '\n') : ok('', 'No kind clusters found.\n');
    if (key === 'kind get nodes') return ok((this.clusters.get(flag('--name')!)?.nodes ?? []).join('\n') + '\n');
    if (key === 'kind get kubeconfig') {
      const name = flag('--name')!;
      if (!this.clusters.has(name)) fail(1, `ERROR: could not locate any control plane nodes for cluster named '${name}'\n`);
      return ok(`apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://${name}-control-plane:6443\n  name: kind-${name}\n`);
    }
    if (key === 'kind load docker-image') {
      const name = flag('--name')!;
      const images = argv.slice(3).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--name');
      const c = this.clusters.get(name);
      if (!c) fail(1, `ERROR: no nodes found for cluster "${name}"\n`);
      for (const img of images) c!.images.add(fullImageRef(img));
      return ok();
    }
    if (argv[0] === 'docker' && argv[1] === 'info') return ok(`${this.o.cgroupVersion ?? 2}\n`);
    if (argv[0] === 'docker' && argv[1] === 'image' && argv[2] === 'inspect') {
      const img = argv[argv.length - 1]!;
      return (this.o.hostImages ?? []).includes(img) ? ok('sha256:feed\n') : fail(1, `Error: No such image: ${img}\n`);
    }
    if (argv[0] === 'docker' && argv[1] === 'exec') {
      const node = argv[2]!;
      const cluster = [...this.clusters.values()].find((c) => c.nodes.includes(node));
      if (!cluster) fail(1, `Error response from daemon: No such container: ${node}\n`);
      if (argv.includes('ctr')) return ok([...cluster!.images].join('\n') + '\n');
      if (argv.includes('wait'))
        return this.o.nodesNeverReady ? fail(1, 'error: timed out waiting for the condition on nodes/' + node + '\n') : ok('node/' + node + ' condition met\n');
      return ok();
    }
    if (argv[0] === 'bash') return ok();
    throw new CommandError('not-found', argv, null, '', '');
  }

  async #create(spec: CommandSpec, argv: string[], name: string, image: string, kubeconfig: string): Promise<CommandResult> {
    this.creates++;
    this.creating++;
    this.maxCreating = Math.max(this.maxCreating, this.creating);
    try {
      if (this.o.createBarrier) await this.#barrier(this.o.createBarrier);
      const config = parseYaml(String(spec.stdin ?? '')) as { nodes?: { role: string }[]; networking?: { disableDefaultCNI?: boolean } };
      const workers = (config.nodes ?? []).filter((n) => n.role === 'worker').length;
      // As kind does: no join stage for a one-node cluster, no CNI stage with the default CNI disabled.
      const skipped = [...(workers ? [] : [/Joining worker nodes/]), ...(config.networking?.disableDefaultCNI ? [/Installing CNI/] : [])];
      const file = (this.o.missingImages ?? []).includes(image)
        ? 'kind-create-missing-image.stderr'
        : (this.o.badImages ?? []).includes(image)
          ? 'kind-create-bad-node.stderr'
          : 'kind-create-success.stderr';
      const text = fixture(file).replaceAll('{{name}}', name).replaceAll('{{image}}', image).replaceAll('{{kubeconfig}}', kubeconfig);
      let stderr = '';
      const nodes = [`${name}-control-plane`, ...Array.from({ length: workers }, (_, i) => `${name}-worker${i ? i + 1 : ''}`)];
      for (const line of text.split(/(?<=\n)/)) {
        if (skipped.some((re) => re.test(line))) continue;
        if (spec.signal?.aborted) throw new CommandError('aborted', argv, null, '', stderr);
        stderr += line;
        // As with kind, the node containers exist (and take images) from "Preparing nodes" on.
        if (/✓ Preparing nodes/.test(line)) {
          this.clusters.set(name, { name, nodes, images: new Set() });
          if (this.o.holdCreates) await this.#hold(name, argv, stderr, spec.signal);
        }
        spec.onStderr?.(line);
        if (this.o.stageDelayMs && /^ • .*\.\.\.\s*$/.test(line)) await new Promise((r) => setTimeout(r, this.o.stageDelayMs));
      }
      if (file !== 'kind-create-success.stderr') {
        this.clusters.delete(name);
        this.#save();
        throw new CommandError('exit-code', argv, 1, '', stderr);
      }
      if (!this.clusters.has(name)) this.clusters.set(name, { name, nodes, images: new Set() });
      this.#save();
      writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://127.0.0.1:40000\n  name: kind-${name}\n`, {
        mode: 0o600,
      });
      return { argv, exitCode: 0, stdout: '', stderr, durationMs: 0 };
    } finally {
      this.creating--;
    }
  }
}

/** An in-memory cluster port: apply stores objects, workloads turn ready after `readyAfterPolls` lists. */
export class FakeClusterPort implements ClusterPort {
  readonly objects = new Map<string, KubeObject>();
  readonly applied: KubeObject[] = [];
  lists = 0;
  readyAfterPolls: number;
  exec: ClusterPort['exec'];

  constructor(o: { readyAfterPolls?: number; exec?: ClusterPort['exec'] } = {}) {
    this.readyAfterPolls = o.readyAfterPolls ?? 0;
    this.exec = o.exec ?? (async (): Promise<ExecResult> => ({ stdout: '', stderr: '', exitCode: 0 }));
  }

  #key(r: ObjectRef) {
    return `${r.kind}/${r.namespace ?? ''}/${r.name}`;
  }

  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    return this.objects.get(this.#key({ ...ref, name: ref.name }));
  }

  async list(q: ListQuery): Promise<KubeObject[]> {
    this.lists++;
    const ready = this.lists > this.readyAfterPolls * 4; // notReady() lists four kinds per poll
    return [...this.objects.values()]
      .filter((o) => o.kind === q.kind && (!q.namespace || o.metadata.namespace === q.namespace))
      .map((o) => (ready ? withReadyStatus(o) : o));
  }

  async apply(objects: readonly KubeObject[]): Promise<void> {
    for (const o of objects) {
      this.applied.push(o);
      this.objects.set(
        this.#key({
          apiVersion: o.apiVersion,
          kind: o.kind,
          namespace: o.metadata.namespace ?? (o.kind === 'Namespace' ? '' : 'default'),
          name: o.metadata.name,
        }),
        { ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace ?? (o.kind === 'Namespace' ? undefined : 'default') } },
      );
    }
  }
}

function withReadyStatus(o: KubeObject): KubeObject {
  const replicas = ((o.spec as { replicas?: number } | undefined)?.replicas ?? 1) as number;
  if (o.kind === 'Pod') return { ...o, status: { phase: 'Running', podIP: '10.244.0.9', conditions: [{ type: 'Ready', status: 'True' }] } };
  if (o.kind === 'Deployment') return { ...o, status: { observedGeneration: 1, updatedReplicas: replicas, availableReplicas: replicas } };
  if (o.kind === 'DaemonSet') return { ...o, status: { observedGeneration: 1, desiredNumberScheduled: 1, numberReady: 1, updatedNumberScheduled: 1 } };
  if (o.kind === 'StatefulSet') return { ...o, status: { readyReplicas: replicas } };
  return o;
}
