// npm run bench:grade — grading numbers, printed (never asserted):
//   1. engine time to grade netpol-lab9server on the in-memory model cluster      goal p95 ≤ 50 ms
//   2. NetworkPolicy evaluator verdicts per second, 100 pods and 50 policies     goal ≥ 100,000/s
import path from 'node:path';
import type { KubeObject } from '../../graders/src/cluster/port.ts';
import { gradeLab } from '../../graders/src/engine/engine.ts';
import { ModelCluster } from '../../graders/src/model/model-cluster.ts';
import { buildNetpolState, evaluateConnection, type PodInfo } from '../../graders/src/netpol/evaluator.ts';
import { gradableLab, labStates } from '../../server/src/grading/lab-states.ts';
import { LabCatalog } from '../../server/src/labs/catalog-service.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const verdict = (ok: boolean) => (ok ? 'ok' : 'OVER GOAL');

function line(label: string, value: string, goal: string, ok: boolean) {
  console.log(`  ${label.padEnd(52)} ${value.padStart(14)}   goal ${goal.padEnd(12)} ${verdict(ok)}`);
}

async function gradeLatency() {
  console.log('\n1. Grading netpol-lab9server on the model cluster (engine time per grade)');
  const catalog = new LabCatalog(path.join(ROOT, 'labs'));
  await catalog.reload();
  catalog.compiler.close();
  const lab = catalog.get('netpol-lab9server');
  if (!lab) throw new Error('lab netpol-lab9server did not load');
  const states = await labStates(lab);
  for (const [label, objects] of [
    ['after the reference solution (every probe as expected)', [...states.setup, ...states.solution]],
    ['after setup (blocked probes fail; no retry window)', states.setup],
  ] as const) {
    const model = new ModelCluster({ workers: lab.meta.cluster.workers });
    await model.apply(objects);
    const probeWindowMs = objects === states.setup ? 0 : 3000;
    const times: number[] = [];
    let score = 0;
    for (let i = 0; i < 30; i++) await gradeLab(gradableLab(lab), { port: model, probeWindowMs }); // warm-up
    for (let i = 0; i < 300; i++) {
      const started = performance.now();
      const report = await gradeLab(gradableLab(lab), { port: model, probeWindowMs });
      times.push(performance.now() - started);
      score = report.percent;
    }
    times.sort((a, b) => a - b);
    console.log(`  ${label} — score ${score}%`);
    line('  p50', `${quantile(times, 0.5).toFixed(2)} ms`, '', true);
    line('  p95', `${quantile(times, 0.95).toFixed(2)} ms`, '≤ 50 ms', quantile(times, 0.95) <= 50);
  }
}

function syntheticState(): { objects: KubeObject[]; pods: number; policies: number } {
  const objects: KubeObject[] = [];
  const namespaces = 10;
  for (let n = 0; n < namespaces; n++)
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns${n}`, labels: { team: `t${n % 3}`, env: n % 2 ? 'prod' : 'dev' } } });
  for (let i = 0; i < 100; i++) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `pod${i}`, namespace: `ns${i % namespaces}`, labels: { app: `app${i % 7}`, tier: ['web', 'api', 'db'][i % 3] ?? 'web' } },
      spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
      status: { podIP: `10.244.${i % 4}.${10 + i}` },
    });
  }
  for (let p = 0; p < 50; p++) {
    const kind = p % 5;
    const spec: Record<string, unknown> =
      kind === 0
        ? { podSelector: {}, policyTypes: ['Ingress'] }
        : kind === 1
          ? { podSelector: { matchLabels: { tier: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'api' } } }], ports: [{ port: 8080 }] }] }
          : kind === 2
            ? {
                podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['app1', 'app2'] }] },
                ingress: [
                  { from: [{ namespaceSelector: { matchLabels: { team: 't1' } }, podSelector: { matchLabels: { tier: 'web' } } }], ports: [{ port: 'http' }] },
                ],
              }
            : kind === 3
              ? {
                  podSelector: { matchLabels: { tier: 'web' } },
                  policyTypes: ['Egress'],
                  egress: [
                    { to: [{ ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.3.0/24'] } }], ports: [{ port: 8000, endPort: 8100 }] },
                    { ports: [{ port: 53, protocol: 'UDP' }] },
                  ],
                }
              : { podSelector: { matchLabels: { app: `app${p % 7}` } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'prod' } } }] }] };
    objects.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `np${p}`, namespace: `ns${p % namespaces}` }, spec });
  }
  return { objects, pods: 100, policies: 50 };
}

function evaluatorThroughput() {
  console.log('\n2. NetworkPolicy evaluator (100 pods, 50 policies in 10 namespaces, explanations included)');
  const { objects } = syntheticState();
  const state = buildNetpolState(objects);
  const pods: PodInfo[] = state.pods;
  let i = 0;
  let allowed = 0;
  const run = (n: number) => {
    for (let k = 0; k < n; k++, i++) {
      const from = pods[i % pods.length] as PodInfo;
      const to = pods[(i * 7 + 3) % pods.length] as PodInfo;
      if (evaluateConnection(state, { from: { pod: from }, to: { pod: to }, port: 8080, protocol: 'TCP' }).allowed) allowed++;
    }
  };
  run(20_000); // warm-up
  const rates: number[] = [];
  for (let round = 0; round < 5; round++) {
    const n = 100_000;
    const started = performance.now();
    run(n);
    rates.push(n / ((performance.now() - started) / 1000));
  }
  rates.sort((a, b) => a - b);
  const median = rates[2] ?? 0;
  line('verdicts per second (median of 5 × 100,000)', `${Math.round(median).toLocaleString('en')}`, '≥ 100,000', median >= 100_000);
  console.log(`  (${Math.round((allowed / i) * 100)}% of the sampled connections were allowed)`);
}

await gradeLatency();
evaluatorThroughput();
