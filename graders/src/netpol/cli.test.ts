import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ModelCluster } from '../model/model-cluster.ts';
import { parseObjects } from './state-file.ts';
import { runNetpolCli } from './cli.ts';

const stateYaml = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: { name: restricted, labels: { kubernetes.io/metadata.name: restricted } }
  - apiVersion: v1
    kind: Pod
    metadata: { name: lab9server, namespace: restricted, labels: { app: lab9server } }
    spec: { containers: [{ name: nginx, ports: [{ name: http, containerPort: 80 }] }] }
    status: { podIP: 10.244.1.5 }
---
apiVersion: v1
kind: Pod
metadata: { name: sleepybox1, namespace: default, labels: { run: sleepybox1 } }
spec: { containers: [{ name: box }] }
status: { podIP: 10.244.1.6 }
---
apiVersion: v1
kind: Pod
metadata: { name: sleepybox2, namespace: default, labels: { run: sleepybox2 } }
spec: { containers: [{ name: box }] }
status: { podIP: 10.244.1.7 }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: only-sleepybox1, namespace: restricted }
spec:
  podSelector: { matchLabels: { app: lab9server } }
  ingress:
    - from:
        - namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: default } }
          podSelector: { matchLabels: { run: sleepybox1 } }
`;

async function files() {
  const dir = await mkdtemp(join(tmpdir(), 'netpol-cli-'));
  await writeFile(join(dir, 'state.yaml'), stateYaml);
  await writeFile(
    join(dir, 'probes.json'),
    JSON.stringify([
      { from: 'default/sleepybox2', to: 'restricted/lab9server', port: 80, protocol: 'TCP' },
      { from: 'default/sleepybox1', to: 'restricted/lab9server', port: 80 },
    ]),
  );
  return dir;
}

async function run(argv: string[]) {
  let out = '';
  let err = '';
  const code = await runNetpolCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('npm run netpol', () => {
  it('prints a JSON array of verdicts in the input order', async () => {
    const dir = await files();
    const r = await run(['--state', join(dir, 'state.yaml'), '--probes', join(dir, 'probes.json'), '--json']);
    assert.equal(r.code, 0, r.err);
    const answers = JSON.parse(r.out) as { from: string; allowed: boolean; explanation: string; protocol: string }[];
    assert.deepEqual(
      answers.map((a) => [a.from, a.allowed, a.protocol]),
      [
        ['default/sleepybox2', false, 'TCP'],
        ['default/sleepybox1', true, 'TCP'],
      ],
    );
    assert.match(answers[0]?.explanation ?? '', /lab9server is isolated for ingress by NetworkPolicy restricted\/only-sleepybox1/);
    assert.deepEqual(Object.keys(answers[0] ?? {}), ['from', 'to', 'port', 'protocol', 'allowed', 'explanation']);
  });

  it('prints one verdict and explanation per probe as text, and every pair without --probes', async () => {
    const dir = await files();
    const r = await run(['--state', join(dir, 'state.yaml')]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /default\/sleepybox1 -> restricted\/lab9server TCP 80: allowed\n/);
    assert.match(r.out, /default\/sleepybox2 -> restricted\/lab9server TCP 80: blocked\n {2}sleepybox2 cannot reach lab9server/);
  });

  it('rejects a bad probes file and missing arguments with a message', async () => {
    const dir = await files();
    await writeFile(join(dir, 'bad.json'), JSON.stringify([{ from: 'default/a', to: 'x/y', port: 'eighty' }]));
    const bad = await run(['--state', join(dir, 'state.yaml'), '--probes', join(dir, 'bad.json')]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /0\.port/);
    assert.equal((await run([])).code, 2);
  });

  it('reads a live cluster with --kubeconfig/--context', async () => {
    const dir = await files();
    const model = new ModelCluster({ workers: 1 });
    await model.apply(parseObjects(stateYaml).map((o) => ({ ...o, status: undefined })));
    let asked: [string, string | undefined] | undefined;
    let out = '';
    const code = await runNetpolCli(['--kubeconfig', '/tmp/kc', '--context', 'kind-x', '--probes', join(dir, 'probes.json'), '--json'], {
      out: (s) => (out += s),
      err: () => {},
      portFor: async (kc, ctx) => {
        asked = [kc, ctx];
        return model;
      },
    });
    assert.equal(code, 0);
    assert.deepEqual(asked, ['/tmp/kc', 'kind-x']);
    assert.deepEqual(
      (JSON.parse(out) as { allowed: boolean }[]).map((a) => a.allowed),
      [false, true],
    );
  });
});
