// The testbed's proof: a real kind cluster on the testbed node image whose nodes go Ready, whose pods
// reach each other across nodes, whose Services (kube-proxy) and DNS (CoreDNS) answer, and where a
// default-deny NetworkPolicy really blocks (kube-router) and an allow rule lets traffic through
// again. Used by `scripts/testbed proof` and scripts/testbed.cluster.test.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createCommandRunner, minimalEnv, type CommandRunner } from '../../server/src/exec/command-runner.ts';
import { kindNodeNames } from '../../server/src/provisioner/kind-driver.ts';
import { unprogrammedServices } from '../../server/src/provisioner/service-rules.ts';
import { LAB_IMAGES, kindClusterConfig, nodeImageTag } from './testbed.ts';
import { errorMessage } from '../../graders/src/shared/error-message.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** The provisioner's NetworkPolicy fallback; the proof applies exactly this file. */
export const KUBE_ROUTER_MANIFEST = path.join(ROOT, 'server', 'src', 'provisioner', 'assets', 'kube-router-netpol.yaml');
const NS = 'kdtb-proof';

function defaultRunner(): CommandRunner {
  return createCommandRunner(minimalEnv(process.env));
}

/** A kind cluster this process created on the testbed image; `delete()` always removes it. */
export class TestbedCluster {
  readonly name: string;
  readonly workers: number;
  readonly runner: CommandRunner;

  /** The node image (default: the testbed's). */
  readonly image: string;

  constructor(name: string, workers: number, runner: CommandRunner = defaultRunner(), image: string = nodeImageTag()) {
    this.name = name;
    this.workers = workers;
    this.runner = runner;
    this.image = image;
  }

  get controlPlane(): string {
    return `${this.name}-control-plane`;
  }

  /** `kind create cluster` on the testbed image; resolves with the seconds it took. */
  async create(): Promise<number> {
    const t0 = performance.now();
    await this.runner.run({
      argv: ['kind', 'create', 'cluster', '--name', this.name, '--image', this.image, '--config', '-', '--wait', '0s'],
      stdin: kindClusterConfig(this.workers),
      timeoutMs: 300_000,
    });
    return (performance.now() - t0) / 1000;
  }

  async delete(): Promise<void> {
    await this.runner.run({ argv: ['kind', 'delete', 'cluster', '--name', this.name], timeoutMs: 120_000 });
  }

  /** The cluster's kubeconfig for this host (`kind get kubeconfig`), e.g. for KUBEDRILL_TEST_KUBECONFIG. */
  async kubeconfig(internal = false): Promise<string> {
    const r = await this.runner.run({ argv: ['kind', 'get', 'kubeconfig', '--name', this.name, ...(internal ? ['--internal'] : [])], timeoutMs: 30_000 });
    return r.stdout;
  }

  /** kubectl inside the control-plane node (the host needs no kubectl or kubeconfig). */
  async kubectl(args: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<string> {
    const argv = [
      'docker',
      'exec',
      ...(opts.stdin !== undefined ? ['-i'] : []),
      this.controlPlane,
      'kubectl',
      '--kubeconfig=/etc/kubernetes/admin.conf',
      ...args,
    ];
    const r = await this.runner.run({ argv, stdin: opts.stdin, timeoutMs: opts.timeoutMs ?? 120_000 });
    return r.stdout;
  }

  /** Runs a command in a pod; resolves with exit code and output instead of throwing. */
  async execIn(pod: string, command: string[], timeoutMs = 30_000): Promise<{ code: number; output: string }> {
    const argv = ['docker', 'exec', this.controlPlane, 'kubectl', '--kubeconfig=/etc/kubernetes/admin.conf', '-n', NS, 'exec', pod, '--', ...command];
    const r = await this.runner.run({ argv, timeoutMs, okCodes: Array.from({ length: 256 }, (_, i) => i) });
    return { code: r.exitCode, output: (r.stdout + r.stderr).trim() };
  }

  /** The node containers. */
  nodes(): Promise<string[]> {
    return kindNodeNames(this.runner, this.name);
  }

  /** Runs a command as root in a node container; resolves with exit code and output instead of throwing. */
  async nodeExec(node: string, command: string[], timeoutMs = 30_000): Promise<{ code: number; output: string }> {
    const r = await this.runner.run({ argv: ['docker', 'exec', node, ...command], timeoutMs, okCodes: Array.from({ length: 256 }, (_, i) => i) });
    return { code: r.exitCode, output: (r.stdout + r.stderr).trim() };
  }

  async loadImages(images: string[]): Promise<number> {
    const t0 = performance.now();
    await this.runner.run({ argv: ['kind', 'load', 'docker-image', '--name', this.name, ...images], timeoutMs: 600_000 });
    return (performance.now() - t0) / 1000;
  }

  /** Idle memory of each node container, from `docker stats`. */
  async nodeMemory(): Promise<string> {
    const r = await this.runner.run({ argv: ['docker', 'stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}'], timeoutMs: 60_000 });
    return r.stdout
      .split('\n')
      .filter((l) => l.startsWith(`${this.name}-`))
      .map((l) => l.split(' / ')[0])
      .join(', ');
  }
}

const ipToInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const intToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** Whether an IPv4 address lies in a CIDR. */
export function inCidr(ip: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipToInt(base) / size) * size;
  const n = ipToInt(ip);
  return n >= start && n < start + size;
}

/** The highest host address of an IPv4 CIDR that `taken` does not claim (searching downwards), or undefined. */
export function unusedAddress(cidr: string, taken: (ip: string) => boolean): string | undefined {
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(cidr)) return undefined;
  const [base = '', bits = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipToInt(base) / size) * size;
  for (let n = start + size - 2; n > start && n > start + size - 1 - 4096; n--) {
    const ip = intToIp(n);
    if (!taken(ip)) return ip;
  }
  return undefined;
}

/** Polls `probe` until it returns true or `ms` passes; returns whether it did. */
async function eventually(probe: () => Promise<boolean>, ms: number, everyMs = 1000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > end) return false;
    await sleep(everyMs);
  }
}

// A busybox pod on the client node, labelled with its role (the NetworkPolicy selects by role).
const busyboxPod = (role: string) => `---
apiVersion: v1
kind: Pod
metadata: {name: ${role}, namespace: ${NS}, labels: {role: ${role}}}
spec:
  nodeSelector: {kubernetes.io/hostname: CLIENT_NODE}
  tolerations: [{operator: Exists}]
  containers:
    - {name: busybox, image: ${LAB_IMAGES.busybox}, command: [sleep, "3600"]}
`;

function workload(name: string, workers: number): string {
  // The server on the last node, the clients on the first worker (or the control plane).
  const serverNode = workers > 0 ? `${name}-worker${workers > 1 ? workers : ''}` : `${name}-control-plane`;
  return `
apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: ${NS}, labels: {app: server}}
spec:
  nodeSelector: {kubernetes.io/hostname: SERVER_NODE}
  tolerations: [{operator: Exists}]
  containers:
    - name: agnhost
      image: ${LAB_IMAGES.agnhost}
      args: [netexec, --http-port=8080]
      ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: server, namespace: ${NS}}
spec:
  selector: {app: server}
  ports: [{port: 80, targetPort: 8080}]
${['client', 'stranger'].map((role) => busyboxPod(role)).join('')}`
    .replace('SERVER_NODE', serverNode)
    .replaceAll('CLIENT_NODE', workers > 1 ? `${name}-worker` : `${name}-control-plane`);
}

const DENY_ALL = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: ${NS}}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`;

const ALLOW_CLIENT = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client, namespace: ${NS}}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
    - from: [{podSelector: {matchLabels: {role: client}}}]
      ports: [{port: 8080}]
`;

export interface ProofCheck {
  name: string;
  /** Resolves with a one-line result; throws with the reason when the cluster fails the check. */
  run: (c: TestbedCluster) => Promise<string>;
}

/** The proof's checks, in order (each relies on the ones before it). */
export function proofChecks(workers: number): ProofCheck[] {
  let serverIp = '';
  const wget = (c: TestbedCluster, pod: string, url: string) => c.execIn(pod, ['wget', '-qO-', '-T', '2', url], 15_000);
  const spider = (c: TestbedCluster, pod: string, url: string) => c.execIn(pod, ['wget', '--spider', '--timeout=1', url], 15_000);
  return [
    {
      name: 'every node goes Ready',
      run: async (c) => {
        const t0 = performance.now();
        await c.kubectl(['wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=180s'], { timeoutMs: 200_000 });
        const nodes = (await c.kubectl(['get', 'nodes', '-o', 'name'])).trim().split('\n');
        if (nodes.length !== c.workers + 1) throw new Error(`expected ${c.workers + 1} nodes, got ${nodes.join(', ')}`);
        return `${nodes.length} node${nodes.length > 1 ? 's' : ''} Ready ${((performance.now() - t0) / 1000).toFixed(1)} s after create`;
      },
    },
    {
      name: 'kube-router (NetworkPolicy enforcement) becomes ready',
      run: async (c) => {
        const t0 = performance.now();
        await c.kubectl(['apply', '-f', '-'], { stdin: readFileSync(KUBE_ROUTER_MANIFEST, 'utf8') });
        await c.kubectl(['-n', 'kube-system', 'rollout', 'status', 'daemonset/kube-router-netpol', '--timeout=120s'], { timeoutMs: 140_000 });
        return `ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
      },
    },
    {
      name: workers > 0 ? 'lab images load and pods start on different nodes' : 'lab images load and pods start',
      run: async (c) => {
        const seconds = await c.loadImages([LAB_IMAGES.agnhost, LAB_IMAGES.busybox]);
        await c.kubectl(['apply', '-f', '-'], { stdin: workload(c.name, c.workers) });
        await c.kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=120s'], { timeoutMs: 140_000 });
        serverIp = (await c.kubectl(['-n', NS, 'get', 'pod', 'server', '-o', 'jsonpath={.status.podIP}'])).trim();
        const where = await c.kubectl(['-n', NS, 'get', 'pods', '-o', 'custom-columns=POD:.metadata.name,NODE:.spec.nodeName', '--no-headers']);
        return `kind load ${seconds.toFixed(1)} s; ${where.trim().replace(/\s+/g, ' ')}`;
      },
    },
    {
      name: workers > 0 ? 'a pod reaches a pod on another node by pod IP' : 'a pod reaches another pod by pod IP',
      run: async (c) => {
        const r = await wget(c, 'client', `http://${serverIp}:8080/hostname`);
        if (r.code !== 0 || r.output !== 'server') throw new Error(`wget ${serverIp}:8080 from client: exit ${r.code}: ${r.output}`);
        return `client → ${serverIp}:8080 answered "${r.output}"`;
      },
    },
    {
      name: 'CoreDNS answers kubernetes.default and a Service FQDN',
      run: async (c) => {
        const a = await c.execIn('client', ['nslookup', 'kubernetes.default.svc.cluster.local']);
        const b = await c.execIn('client', ['nslookup', `server.${NS}.svc.cluster.local`]);
        if (a.code !== 0 || !/10\.96\.0\.1\b/.test(a.output)) throw new Error(`nslookup kubernetes.default: ${a.output}`);
        if (b.code !== 0) throw new Error(`nslookup server.${NS}: ${b.output}`);
        return `kubernetes.default → 10.96.0.1; server.${NS} resolves`;
      },
    },
    {
      name: 'a Service (kube-proxy) reaches its endpoint by name once every node has its rule',
      run: async (c) => {
        // Probe only a Service that is served: a ready endpoint in its EndpointSlice and kube-proxy's
        // rule on every node. Before that the ClusterIP would be routed like any address (issue 9).
        const ip = (await c.kubectl(['-n', NS, 'get', 'service', 'server', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
        const nodes = await c.nodes();
        const t0 = performance.now();
        let last = '';
        const served = await eventually(
          async () => {
            const ready = (
              await c.kubectl([
                '-n',
                NS,
                'get',
                'endpointslices',
                '-l',
                'kubernetes.io/service-name=server',
                '-o',
                'jsonpath={.items[*].endpoints[?(@.conditions.ready==true)].addresses[*]}',
              ])
            ).trim();
            if (!ready) {
              last = 'no ready endpoint in the EndpointSlice';
              return false;
            }
            last = (await unprogrammedServices(c.runner, nodes, [{ id: 'service server', clusterIPs: [ip], nodePorts: [] }], { timeoutMs: 15_000 })).join('; ');
            return !last;
          },
          60_000,
          500,
        );
        if (!served) throw new Error(`the Service was not served 60 s after it was created: ${last}`);
        const waited = (performance.now() - t0) / 1000;
        const r = await wget(c, 'client', `http://server.${NS}.svc.cluster.local/hostname`);
        if (r.code !== 0 || r.output !== 'server') throw new Error(`wget the Service: exit ${r.code}: ${r.output}`);
        return `served ${waited.toFixed(1)} s after the check began; server.${NS}:80 (${ip}) → server:8080`;
      },
    },
    {
      name: 'an unclaimed ClusterIP or pod IP is refused on the node and nothing leaves it',
      run: async (c) => {
        const svcRange = (await c.kubectl(['get', 'servicecidr', 'kubernetes', '-o', 'jsonpath={.spec.cidrs[0]}'])).trim();
        const clusterConfig = await c.kubectl(['-n', 'kube-system', 'get', 'configmap', 'kubeadm-config', '-o', 'jsonpath={.data.ClusterConfiguration}']);
        const podRange = /podSubnet:\s*(\S+)/.exec(clusterConfig)?.[1] ?? '';
        const used = (await c.kubectl(['get', 'services', '-A', '-o', 'jsonpath={.items[*].spec.clusterIP}'])).split(/\s+/);
        const podCidrs = (await c.kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].spec.podCIDR}'])).split(/\s+/).filter(Boolean);
        const svcIp = unusedAddress(svcRange, (ip) => used.includes(ip));
        const podIp = unusedAddress(podRange, (ip) => podCidrs.some((cidr) => inCidr(ip, cidr)));
        if (!svcIp || !podIp) throw new Error(`no unused address found in the Service range "${svcRange}" or the pod range "${podRange}"`);
        const node = (await c.nodes()).find((n) => n === (c.workers > 1 ? `${c.name}-worker` : `${c.name}-control-plane`))!;
        // Count every packet to either address that leaves the node's interface on kind's network.
        const leak = (ip: string) => ['-d', `${ip}/32`, '-o', 'eth0', '-m', 'comment', '--comment', 'kdtb-proof-leak'];
        for (const ip of [svcIp, podIp]) {
          const r = await c.nodeExec(node, ['iptables', '-t', 'mangle', '-I', 'POSTROUTING', '1', ...leak(ip)]);
          if (r.code !== 0) throw new Error(`cannot add the counting rule on ${node}: ${r.output}`);
        }
        try {
          const refused: string[] = [];
          for (const [what, ip] of [
            ['ClusterIP', svcIp],
            ['pod IP', podIp],
          ] as const) {
            const fromPod = await c.execIn('client', ['nc', '-w', '3', ip, '80'], 15_000);
            const fromNode = await c.nodeExec(node, ['bash', '-c', `exec 3<>/dev/tcp/${ip}/80`], 15_000);
            for (const [who, r] of [
              ['a pod', fromPod],
              ['the node', fromNode],
            ] as const) {
              // "unreachable"/"no route" is the node's own answer, given at once; a timeout would mean the packet went somewhere.
              if (r.code === 0 || !/unreachable|no route/i.test(r.output))
                throw new Error(`${who} → unused ${what} ${ip}: expected an immediate "unreachable", got exit ${r.code}: ${r.output || '(no output)'}`);
            }
            refused.push(`${what} ${ip}`);
          }
          const counters = (await c.nodeExec(node, ['iptables', '-t', 'mangle', '-L', 'POSTROUTING', '-v', '-x', '-n'])).output;
          const leaked = counters.split('\n').filter((l) => l.includes('kdtb-proof-leak') && !/^\s*0\s/.test(l));
          if (leaked.length) throw new Error(`packets to unclaimed addresses left ${node}:\n${leaked.join('\n')}`);
          const rejects = (await c.nodeExec(node, ['iptables', '-L', 'KDTB-UNCLAIMED', '-v', '-x', '-n'])).output;
          const rejectLine = rejects.split('\n').find((l) => l.includes('REJECT') && l.includes(svcRange)) ?? '';
          const rejected = Number(/^\s*(\d+)/.exec(rejectLine)?.[1] ?? 0);
          if (rejected < 1) throw new Error(`the node's reject rule for the Service range counted no packet:\n${rejects}`);
          return `${refused.join(' and ')} refused at once from a pod and from ${node}; 0 packets to them left eth0; reject rule count ${rejected}`;
        } finally {
          for (const ip of [svcIp, podIp]) await c.nodeExec(node, ['iptables', '-t', 'mangle', '-D', 'POSTROUTING', ...leak(ip)]);
        }
      },
    },
    {
      name: 'a default-deny NetworkPolicy blocks the connection',
      run: async (c) => {
        await c.kubectl(['apply', '-f', '-'], { stdin: DENY_ALL });
        const t0 = performance.now();
        const blocked = await eventually(async () => (await spider(c, 'client', `http://${serverIp}:8080/`)).code !== 0, 30_000);
        if (!blocked) throw new Error('wget --spider --timeout=1 still succeeds 30 s after default-deny: policies are not enforced');
        return `blocked ${((performance.now() - t0) / 1000).toFixed(1)} s after the policy was applied`;
      },
    },
    {
      name: 'an allow rule lets the client through and still blocks others',
      run: async (c) => {
        await c.kubectl(['apply', '-f', '-'], { stdin: ALLOW_CLIENT });
        const t0 = performance.now();
        const open = await eventually(async () => (await spider(c, 'client', `http://${serverIp}:8080/`)).code === 0, 30_000);
        if (!open) throw new Error('the allowed client is still blocked 30 s after the allow rule');
        const seconds = (performance.now() - t0) / 1000;
        const stranger = await spider(c, 'stranger', `http://${serverIp}:8080/`);
        if (stranger.code === 0) throw new Error('a pod the allow rule does not select got through');
        return `client allowed after ${seconds.toFixed(1)} s; stranger still blocked`;
      },
    },
    {
      name: "kind's default StorageClass binds a claim once a pod uses it",
      run: async (c) => {
        const sc = (await c.kubectl(['get', 'storageclass', 'standard', '-o', 'jsonpath={.provisioner} {.volumeBindingMode}'])).trim();
        if (sc !== 'rancher.io/local-path WaitForFirstConsumer')
          throw new Error(`StorageClass standard is "${sc}", not local-path with WaitForFirstConsumer as in kind's images`);
        const t0 = performance.now();
        await c.kubectl(['apply', '-f', '-'], { stdin: CLAIM_AND_POD });
        await c.kubectl(['-n', NS, 'wait', '--for=condition=Ready', 'pod/writer', '--timeout=120s'], { timeoutMs: 140_000 });
        const phase = (await c.kubectl(['-n', NS, 'get', 'pvc', 'data', '-o', 'jsonpath={.status.phase}'])).trim();
        const r = await c.execIn('writer', ['cat', '/data/hello']);
        if (phase !== 'Bound' || r.output !== 'hello') throw new Error(`claim data is ${phase}; /data/hello reads "${r.output}"`);
        return `claim Bound and written ${((performance.now() - t0) / 1000).toFixed(1)} s after apply`;
      },
    },
  ];
}

const CLAIM_AND_POD = `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: ${NS}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 100Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer, namespace: ${NS}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
    - {name: busybox, image: ${LAB_IMAGES.busybox}, command: [sh, -c, "echo hello > /data/hello && exec sleep 3600"], volumeMounts: [{name: data, mountPath: /data}]}
  volumes:
    - {name: data, persistentVolumeClaim: {claimName: data}}
`;

/** Runs every proof check on a created cluster, one line each, stopping at the first failure. */
export async function proveCluster(cluster: TestbedCluster, log: (line: string) => void): Promise<{ passed: number; total: number }> {
  const checks = proofChecks(cluster.workers);
  let passed = 0;
  for (const check of checks) {
    try {
      log(`pass  ${check.name}: ${await check.run(cluster)}`);
      passed++;
    } catch (e) {
      log(`FAIL  ${check.name}: ${errorMessage(e)}`);
      break;
    }
  }
  log(`idle memory per node: ${await cluster.nodeMemory()}`);
  return { passed, total: checks.length };
}

/** Creates a kdtb-proof-* cluster with `nodes` nodes, runs every check, prints a table, deletes it. */
export async function runProof(opts: { nodes: number; log: (line: string) => void; runner?: CommandRunner }): Promise<boolean> {
  // A fresh name, so proofs from two checkouts on one machine never touch each other's cluster.
  const cluster = new TestbedCluster(`kdtb-proof-${randomBytes(3).toString('hex')}`, opts.nodes - 1, opts.runner);
  let result: { passed: number; total: number };
  try {
    const seconds = await cluster.create();
    opts.log(`kind create cluster (${opts.nodes} node${opts.nodes > 1 ? 's' : ''}): ${seconds.toFixed(1)} s`);
    result = await proveCluster(cluster, opts.log);
  } finally {
    await cluster.delete().catch((e: unknown) => opts.log(`could not delete ${cluster.name}: ${String(e)}`));
  }
  opts.log(`proof: ${result.passed}/${result.total} checks passed`);
  return result.passed === result.total;
}
