import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ScriptRunner } from '../../graders/src/cluster/port.ts';
import { ModelCluster } from '../../graders/src/model/model-cluster.ts';
import type { CommandRunner } from '../../server/src/exec/command-runner.ts';
import type { Lab, LabMistake } from '../../server/src/labs/loader.ts';
import {
  clustersPerLane,
  costliestFirst,
  drainLanes,
  defaultLanes,
  describeVerdict,
  enteredMistake,
  gradesNeedConfirming,
  inParallel,
  lanePrefix,
  shareable,
  shareGroups,
  skippedMistakes,
  type StateReach,
} from './labs-verify.ts';

const lab = (id: string, mistakes: number, workers = 1) =>
  ({ id, meta: { cluster: { workers } }, mistakes: Array.from({ length: mistakes }, () => ({})) }) as unknown as Lab;

test('share groups are taken costliest first, and a lane takes the next group as soon as it is done with one', async () => {
  const big = [lab('a', 4), lab('b', 4), lab('c', 3)];
  const mid = [lab('d', 3, 2)];
  const small = [lab('e', 1), lab('f', 0)];
  const order = costliestFirst([small, big, mid]).map((g) => g.map((x) => x.id));
  assert.deepEqual(order, [['a', 'b', 'c'], ['d'], ['e', 'f']]);
  // A fresh-cluster mistake counts only when the run gates it.
  const withFresh = [
    { ...lab('g', 0), mistakes: [{ workstationScript: 'w.sh' }, { workstationScript: 'w.sh' }, { workstationScript: 'w.sh' }] } as unknown as Lab,
  ];
  assert.deepEqual(
    costliestFirst([mid, withFresh]).map((g) => g[0]!.id),
    ['g', 'd'],
  );
  assert.deepEqual(
    costliestFirst([mid, withFresh], { freshMistakes: false }).map((g) => g[0]!.id),
    ['d', 'g'],
  );
  // Lane 0 gets stuck on a slow first group; lane 1 works through everything else meanwhile.
  const took: string[] = [];
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  await drainLanes(['slow', 'x', 'y', 'z'], 2, async (g, lane) => {
    took.push(`${g}@${lane}`);
    if (g === 'slow') await slow;
    else if (g === 'z') release();
  });
  assert.deepEqual(took, ['slow@0', 'x@1', 'y@1', 'z@1']);
  await drainLanes([], 2, async () => assert.fail('no groups, no work'));
});

test("lane prefixes never fall under lane 1's reaper, which claims <prefix>-…", () => {
  assert.equal(lanePrefix('kdverify', 0), 'kdverify');
  assert.equal(lanePrefix('kdverify', 1), 'kdverify2');
  assert.ok(!`${lanePrefix('kdverify', 1)}-abcd`.startsWith('kdverify-'));
});

test('KUBEDRILL_VERIFY_LANES sets the lanes; nonsense falls back to what the host can carry', () => {
  assert.equal(defaultLanes({ KUBEDRILL_VERIFY_LANES: '3' }), 3);
  assert.ok([1, 2].includes(defaultLanes({ KUBEDRILL_VERIFY_LANES: 'many' })));
});

test('inParallel runs at most limit tasks at once, starts them in order and keeps the results in order', async () => {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const gates = Array.from({ length: 5 }, () => {
    let resolve = () => {};
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  });
  const tasks = gates.map((g, i) => async () => {
    started.push(i);
    running++;
    most = Math.max(most, running);
    await g.promise;
    running--;
    return i * 10;
  });
  const all = inParallel(tasks, 2);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, [0, 1], 'two at a time');
  // The second finishes first: the third starts in its place, and results stay in task order.
  for (const i of [1, 0, 2, 4, 3]) {
    gates[i]!.resolve();
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(await all, [0, 10, 20, 30, 40]);
  assert.equal(most, 2);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.deepEqual(await inParallel([], 2), []);
});

test('KUBEDRILL_VERIFY_CLUSTERS_PER_LANE sets how many clusters a lab with fresh-cluster mistakes uses at once', () => {
  assert.equal(clustersPerLane({ KUBEDRILL_VERIFY_CLUSTERS_PER_LANE: '3' }), 3);
  assert.ok([1, 2].includes(clustersPerLane({ KUBEDRILL_VERIFY_CLUSTERS_PER_LANE: '0' })));
});

test('a walkthrough verdict says it is not graded and lists each step background Next step ran, not gates', () => {
  const lines = describeVerdict({
    labId: 'kc-tour',
    passed: false,
    steps: [],
    seconds: 41,
    mistakeSeconds: 0,
    walkthrough: ['- walkthrough, not graded (no verify script): the setup ran at Start (a.sh)', '✗ Next step → step 2 (Two): b.sh exited 3:\nno such pod'],
  });
  assert.deepEqual(lines, [
    'FAIL kc-tour (41 s)',
    '  - walkthrough, not graded (no verify script): the setup ran at Start (a.sh)',
    '  ✗ Next step → step 2 (Two): b.sh exited 3:\n      no such pod',
  ]);
});

test('a mistake is entered as a learner would make it: its manifests applied, then its script, node scripts and workstation script', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kd-mistake-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(path.join(dir, 'mistakes', 'wrong-key'), { recursive: true });
  const files = {
    'mistakes/wrong-key/configmap.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  colour: blue\n',
    'mistakes/wrong-key/mistake.sh': 'echo host-part\n',
    'mistakes/wrong-key/node.worker.sh': 'echo node-part\n',
    'mistakes/wrong-key/workstation.sh': 'echo workstation-part\n',
  };
  for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text);
  const mistake: Lab['mistakes'][number] = {
    name: 'wrong-key',
    title: 'Wrong key',
    maxPercent: 50,
    why: undefined,
    manifests: ['mistakes/wrong-key/configmap.yaml'],
    script: 'mistakes/wrong-key/mistake.sh',
    nodeScripts: [{ role: 'worker', file: 'mistakes/wrong-key/node.worker.sh' }],
    workstationScript: 'mistakes/wrong-key/workstation.sh',
  };
  const lab = { id: 'demo', dir, mistakes: [mistake] } as unknown as Lab;
  const port = new ModelCluster({ workers: 1, name: 'c1' });
  const ran: string[] = [];
  const scripts: ScriptRunner = {
    run: async (script, o) => {
      ran.push(`host in ${o.cwd}: ${script.trim()}`);
      return { exitCode: 0, output: '' };
    },
  };
  const runner: CommandRunner = { run: async () => assert.fail('no kube-proxy rules are read when no Service was made') };
  const reach: StateReach = {
    kubeProxy: { runner, nodes: [] },
    nodes: {
      exec: async (node, argv) => {
        ran.push(`node ${node}: ${argv[2]?.trim()}`);
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    },
    workstation: {
      exec: async (argv) => {
        ran.push(`workstation: ${argv[2]?.trim()}`);
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    },
  };

  const { objects, run } = await enteredMistake(lab, mistake, port, scripts, reach);
  assert.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata.name}`),
    ['ConfigMap/settings'],
  );
  assert.equal(run.mistake, mistake);
  assert.equal(run.leave, undefined, 'taking the mistake off is left to the caller');
  assert.equal(await port.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'settings' }), undefined, 'nothing is made before enter');
  assert.deepEqual(ran, []);

  const where = await run.enter();
  assert.equal(where.port, port);
  assert.equal(where.scripts, scripts);
  const made = await port.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'settings' });
  assert.deepEqual(made?.data, { colour: 'blue' });
  assert.deepEqual(ran, [`host in ${dir}: echo host-part`, 'node c1-worker: echo node-part', 'workstation: echo workstation-part']);
});

test('a mistake whose script fails is not entered: the error names the script and carries its output', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kd-mistake-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'mistake.sh'), 'exit 3\n');
  const mistake: Lab['mistakes'][number] = {
    name: 'broken',
    title: 'Broken',
    maxPercent: 0,
    why: undefined,
    manifests: [],
    script: 'mistake.sh',
    nodeScripts: [],
    workstationScript: undefined,
  };
  const lab = { id: 'demo', dir, mistakes: [mistake] } as unknown as Lab;
  const scripts: ScriptRunner = { run: async () => ({ exitCode: 3, output: 'no such deployment' }) };
  const unused = async () => assert.fail('not reached');
  const reach: StateReach = { kubeProxy: { runner: { run: unused }, nodes: [] }, nodes: { exec: unused }, workstation: { exec: unused } };
  const { run } = await enteredMistake(lab, mistake, new ModelCluster(), scripts, reach);
  await assert.rejects(run.enter(), /mistake\.sh exited 3:\nno such deployment/);
});

test('labs of one shape share a cluster, but two Gateway API labs never do: each starts a group of its own', () => {
  const shaped = (id: string, addons: string[], extra: Record<string, unknown> = {}) =>
    ({
      id,
      meta: { cluster: { workers: 1, addons, ...extra } },
      files: { setupNodeScripts: [], solutionNodeScripts: [] },
      mistakes: [],
    }) as unknown as Lab;
  const groups = shareGroups([
    shaped('gw-a', ['gateway-api']),
    shaped('plain-a', []),
    shaped('gw-b', ['gateway-api']),
    shaped('plain-b', []),
    shaped('gw-c', ['gateway-api']),
    shaped('metal-a', ['metallb']),
    shaped('metal-b', ['metallb']),
  ]);
  assert.deepEqual(groups, [['gw-a'], ['plain-a', 'plain-b'], ['gw-b'], ['gw-c'], ['metal-a', 'metal-b']]);
});

test('with modelMistakes off, only the mistakes the model cluster gates are left out, each with where it is gated', () => {
  const m = (name: string, extra: Partial<LabMistake> = {}): LabMistake =>
    ({ name, title: name, maxPercent: 0, manifests: [], nodeScripts: [], ...extra }) as LabMistake;
  const modelLab = {
    id: 'a',
    gate: 'model',
    mistakes: [
      m('deny-all'),
      m('by-script', { script: 'mistakes/by-script/mistake.sh' }),
      m('on-node', { nodeScripts: [{ role: 'worker', file: 'mistakes/on-node/node.worker.sh' }] }),
    ],
  } as unknown as Lab;
  const realLab = { id: 'b', gate: 'real', gateReason: 'node scripts', mistakes: [m('wrong-port')] } as unknown as Lab;
  const names = (l: string[]) => l.map((s) => `${s.split(' ')[0]} ${/model cluster/.test(s) ? 'model' : /cluster of its own/.test(s) ? 'fresh' : '?'}`);
  assert.deepEqual(names(skippedMistakes(modelLab, { modelMistakes: false })), ['deny-all model', 'on-node fresh']);
  assert.deepEqual(names(skippedMistakes(modelLab)), ['on-node fresh']);
  // A lab the model cannot simulate has every mistake gated on the real cluster.
  assert.deepEqual(skippedMistakes(realLab, { modelMistakes: false }), []);
});

test('a lab whose scripts only talk to the API shares a cluster; one that reaches into nodes, or has mistakes needing clusters of their own that this run gates, does not', () => {
  const texts: Record<string, string> = {
    'setup/setup.sh': 'set -euo pipefail\n# not docker exec: a comment\nkubectl apply -f - <<YAML\nkind: CustomResourceDefinition\nYAML\n',
    'solution/solution.sh': 'kubectl patch pv vault-pv --type json -p "[]"\n',
    'setup/node-setup.sh': 'docker exec "$node" rm /etc/cni/net.d/10-kindnet.conflist\n',
  };
  const scriptText = (f: string) => texts[f] ?? assert.fail(`no ${f}`);
  const of = (files: Record<string, unknown>, mistakes: Partial<LabMistake>[] = [], extra: Record<string, unknown> = {}) =>
    ({
      id: 'x',
      dir: '/labs/x',
      meta: { cluster: { workers: 1, addons: [], dedicated: false } },
      files: { setupNodeScripts: [], solutionNodeScripts: [], ...files },
      mistakes: mistakes.map((m) => ({ nodeScripts: [], ...m })),
      ...extra,
    }) as unknown as Lab;
  assert.equal(
    shareable(of({ setupScript: 'setup/setup.sh', solutionScript: 'solution/solution.sh', solutionWorkstationScript: 'solution/workstation.sh' }), {
      scriptText,
    }),
    true,
  );
  assert.equal(shareable(of({ setupScript: 'setup/node-setup.sh' }), { scriptText }), false, 'docker exec reaches a node');
  assert.equal(shareable(of({ solutionNodeScripts: [{ role: 'worker', file: 'solution/node.worker.sh' }] }), { scriptText }), false);
  assert.equal(shareable(of({}, [], { scenarioSetup: {} }), { scriptText }), false, 'a Killercoda scenario');
  const wsMistake = of({}, [{ workstationScript: 'mistakes/m/workstation.sh' }]);
  assert.equal(shareable(wsMistake, { scriptText }), false, 'its mistake needs a cluster of its own, which a shared turn cannot give');
  assert.equal(shareable(wsMistake, { scriptText, freshMistakes: false }), true, 'not gated in this run: nothing stands in the way');
  const dedicated = of({});
  (dedicated.meta.cluster as { dedicated: boolean }).dedicated = true;
  assert.equal(shareable(dedicated, { scriptText, freshMistakes: false }), false);
});

test('labs whose checks read what a cluster programs later (connections, names, health, metrics) have their mistakes graded until two grades agree; others once', () => {
  const files: Record<string, string> = {
    'checks/sees.sh': 'kubectl exec -n shop web -- printenv PORT\n# curl in a comment is not a probe\n',
    'checks/reach.sh': 'kubectl exec -n shop client -- wget -qO- -T 2 http://web\n',
  };
  const labOf = (checks: { kind: string; run?: string }[], cluster: Record<string, unknown> = {}) =>
    ({
      id: 'x',
      dir: '/nowhere',
      meta: { cluster: { workers: 1, networkPolicy: false, addons: [], ...cluster }, tasks: [{ id: 't', checks }] },
    }) as unknown as Lab;
  const only =
    (...names: string[]) =>
    (f: string) =>
      names.includes(f) ? files[f]! : assert.fail(`not read: ${f}`);
  // No checks folder on disk: only the inline programs are read.
  assert.equal(gradesNeedConfirming(labOf([{ kind: 'field' }, { kind: 'script', run: 'bash checks/x.sh' }]), only()), false);
  assert.equal(gradesNeedConfirming(labOf([{ kind: 'probe' }]), only()), true);
  assert.equal(gradesNeedConfirming(labOf([{ kind: 'dns' }]), only()), true);
  assert.equal(gradesNeedConfirming(labOf([{ kind: 'node', run: 'curl -sk https://127.0.0.1:6443/readyz' }]), only()), true);
  assert.equal(gradesNeedConfirming(labOf([{ kind: 'node', run: '# curl\nsystemctl is-active kubelet' }]), only()), false);
  assert.equal(gradesNeedConfirming(labOf([{ kind: 'field' }], { networkPolicy: true }), only()), true);
  assert.equal(gradesNeedConfirming(labOf([{ kind: 'field' }], { addons: ['metrics-server'] }), only()), true);
});

test("a lab's check scripts are read from its checks folder", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'kd-confirm-'));
  try {
    await mkdir(path.join(dir, 'checks', 'lib'), { recursive: true });
    await writeFile(path.join(dir, 'checks', 'sees.sh'), 'kubectl get pods\n');
    const lab = {
      id: 'x',
      dir,
      meta: { cluster: { networkPolicy: false, addons: [] }, tasks: [{ id: 't', checks: [{ kind: 'script', run: 'bash checks/sees.sh' }] }] },
    } as unknown as Lab;
    assert.equal(gradesNeedConfirming(lab), false);
    await writeFile(path.join(dir, 'checks', 'lib', 'net.sh'), 'probe() { kubectl exec "$1" -- nc -z -w 2 "$2" 80; }\n');
    assert.equal(gradesNeedConfirming(lab), true, 'a helper in a subfolder that opens connections counts');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
