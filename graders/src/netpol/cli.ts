import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { ClusterPort, KubeObject } from '../cluster/port.ts';
import { buildNetpolState, evaluateConnection, findPod, type NetpolState, type Protocol } from './evaluator.ts';
import { parseObjects } from './state-file.ts';
import { errorMessage } from '../shared/error-message.ts';

// `npm run netpol -- --state <file> [--probes <file>] [--json]` or `--kubeconfig f [--context c]`:
// says for each probe whether NetworkPolicy allows it, and why.

const Probe = z
  .object({
    from: z.string().min(3),
    to: z.string().min(3),
    port: z.number().int().min(1).max(65535),
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP'),
  })
  .strict();
const Probes = z.array(Probe);
type Probe = z.infer<typeof Probe>;

export interface ProbeAnswer {
  from: string;
  to: string;
  port: number;
  protocol: Protocol;
  allowed: boolean;
  explanation: string;
}

const USAGE = `usage: npm run netpol -- (--state <file> | --kubeconfig <file> [--context <name>]) [--probes <file>] [--json]
  --state       Kubernetes objects as kubectl get -o yaml|json prints them (List or multi-document YAML)
  --probes      JSON array of { "from": "ns/pod", "to": "ns/pod", "port": 80, "protocol": "TCP" }
                (default: every pod to every declared container port of every other pod)
  --json        print [{ from, to, port, protocol, allowed, explanation }] in the input's order`;

/** Evaluates probes against a state; an unknown pod yields allowed=false with an explanation saying so. */
export function answerProbes(state: NetpolState, probes: readonly Probe[]): ProbeAnswer[] {
  return probes.map((p) => {
    const from = findPod(state, p.from);
    const to = findPod(state, p.to);
    const missing = [!from ? p.from : undefined, !to ? p.to : undefined].filter(Boolean);
    if (missing.length > 0 || !from || !to) {
      return { ...p, allowed: false, explanation: `no pod ${missing.join(' or ')} in the state (give "namespace/name" or a pod IP)` };
    }
    const v = evaluateConnection(state, { from: { pod: from }, to: { pod: to }, port: p.port, protocol: p.protocol });
    return { ...p, allowed: v.allowed, explanation: v.explanation };
  });
}

function allPairs(state: NetpolState): Probe[] {
  const probes: Probe[] = [];
  for (const to of state.pods) {
    for (const port of to.ports) {
      for (const from of state.pods) {
        if (from !== to) probes.push({ from: `${from.namespace}/${from.name}`, to: `${to.namespace}/${to.name}`, port: port.port, protocol: port.protocol });
      }
    }
  }
  return probes;
}

async function readLive(port: ClusterPort): Promise<KubeObject[]> {
  const kinds = [
    { apiVersion: 'v1', kind: 'Namespace' },
    { apiVersion: 'v1', kind: 'Pod' },
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  ];
  const lists = await Promise.all(kinds.map((k) => port.list(k, { timeoutMs: 20_000 })));
  return lists.flat();
}

/** The CLI, callable in-process: returns the exit code and writes through the given streams. */
export async function runNetpolCli(
  argv: readonly string[],
  io: { out: (s: string) => void; err: (s: string) => void; portFor?: (kubeconfig: string, context?: string) => Promise<ClusterPort> },
): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      options: {
        state: { type: 'string' },
        probes: { type: 'string' },
        json: { type: 'boolean', default: false },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    io.err(`${errorMessage(err)}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  if ((args.state === undefined) === (args.kubeconfig === undefined)) {
    io.err(`give exactly one of --state or --kubeconfig\n${USAGE}\n`);
    return 2;
  }
  try {
    let objects: KubeObject[];
    if (args.state !== undefined) {
      objects = parseObjects(await readFile(args.state, 'utf8'));
    } else {
      const portFor =
        io.portFor ??
        (async (kubeconfig: string, context?: string) => {
          const { createKubePort } = await import('../cluster/kube-port.ts');
          return createKubePort(kubeconfig, context ? { context } : {});
        });
      objects = await readLive(await portFor(args.kubeconfig ?? '', args.context));
    }
    const state = buildNetpolState(objects);
    let probes: Probe[];
    if (args.probes !== undefined) {
      const parsed = Probes.safeParse(JSON.parse(await readFile(args.probes, 'utf8')));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        io.err(`${args.probes}: ${issue ? `${issue.path.join('.') || '(top)'}: ${issue.message}` : 'invalid probes'}\n`);
        return 2;
      }
      probes = parsed.data;
    } else probes = allPairs(state);
    const answers = answerProbes(state, probes);
    if (args.json) io.out(`${JSON.stringify(answers, null, 2)}\n`);
    else for (const a of answers) io.out(`${a.from} -> ${a.to} ${a.protocol} ${a.port}: ${a.allowed ? 'allowed' : 'blocked'}\n  ${a.explanation}\n`);
    return 0;
  } catch (err) {
    io.err(`netpol: ${errorMessage(err)}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runNetpolCli(process.argv.slice(2), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
}
