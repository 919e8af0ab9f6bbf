// The declared plan of an attempt: which steps a lab's shape and setup bring, in which order, and
// what a warm cluster skips.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterShape } from '../labs/format.ts';
import { planEntries } from '../provisioner/pipeline.ts';
import type { LabSetup } from '../provisioner/lab-setup.ts';
import { planAttempt, type PlanInput } from './attempt-plan.ts';

const shape = (s: Partial<ClusterShape> = {}): ClusterShape => ({ workers: 0, cni: 'kindnet', networkPolicy: false, addons: [], dedicated: false, ...s });
const setup = (s: Partial<LabSetup> = {}): LabSetup => ({ dir: '/labs/x', setupManifests: ['setup/a.yaml'], setupScript: undefined, ...s });
const input = (p: Partial<PlanInput> = {}): PlanInput => ({
  shape: shape(),
  cluster: { warm: false },
  images: [],
  labs: [{ id: 'lab', setup: setup(), scenario: false }],
  timeouts: { createMs: 600_000, setupMs: 300_000 },
  ...p,
});
const names = (p: PlanInput) => planEntries(planAttempt(p)).map((e) => (e.state === 'skipped' ? `(${e.name})` : e.name));

test('a one-node lab on a new cluster: kind stages without the join, our node wait, then its setup', () => {
  assert.deepEqual(names(input()), [
    'Checking the node image',
    'Creating the node containers',
    'Writing the cluster configuration',
    'Starting the control plane',
    'Installing the pod network',
    'Installing storage',
    'Waiting for the control plane',
    'Waiting for every node to be Ready',
    'Applying setup manifests',
    'Waiting for setup to be ready',
  ]);
});

test('a NetworkPolicy lab with a worker, images and add-ons: join, images, NetworkPolicy, each add-on, in that order', () => {
  const plan = planAttempt(input({ shape: shape({ workers: 1, networkPolicy: true, addons: ['metrics-server', 'metallb'] }), images: ['nginx:1.27.4'] }));
  assert.deepEqual(
    plan.map((s) => s.id),
    ['create', 'images', 'netpol', 'addons', 'setup'],
  );
  const all = planEntries(plan).map((e) => e.name);
  assert.ok(all.includes('Joining the other nodes'));
  assert.deepEqual(all.slice(all.indexOf('Loading lab images')), [
    'Loading lab images',
    'Starting NetworkPolicy probe pods',
    'Checking NetworkPolicy enforcement',
    'Installing NetworkPolicy controller (kube-router)',
    'Checking NetworkPolicy enforcement (kube-router)',
    'Installing add-on metrics-server',
    'Installing add-on metallb',
    'Applying setup manifests',
    'Waiting for setup to be ready',
  ]);
  // The parts NetworkPolicy enforcement runs only when needed say so while pending.
  assert.equal(
    planEntries(plan).find((e) => e.name === 'Installing NetworkPolicy controller (kube-router)')?.note,
    'only where kindnet does not enforce NetworkPolicy',
  );
  // Each step has its own timeout: the add-ons' grows with their number.
  assert.ok(plan.find((s) => s.id === 'addons')!.timeoutMs > 2 * 240_000);
  assert.equal(plan.find((s) => s.id === 'create')!.timeoutMs > 600_000, true);
});

test('a lab with no CNI has no pod-network stage; a NetworkPolicy lab without images still loads the self-test image', () => {
  assert.ok(!names(input({ shape: shape({ cni: 'none' }) })).includes('Installing the pod network'));
  assert.ok(names(input({ shape: shape({ networkPolicy: true }) })).includes('Loading lab images'));
  assert.ok(!names(input()).includes('Loading lab images'), 'nothing to load, no step');
});

test('setup steps follow what the lab has: script, node scripts, breakage; a lab with no setup has no setup step', () => {
  const lab = setup({
    setupManifests: [],
    setupScript: 'setup.sh',
    nodeScripts: [{ role: 'worker', file: 'setup/node.sh' }],
    broken: { nodes: ['worker'], components: [] },
  });
  const all = names(input({ shape: shape({ workers: 1 }), labs: [{ id: 'lab', setup: lab, scenario: false }] }));
  assert.deepEqual(all.slice(all.indexOf('Waiting for every node to be Ready') + 1), [
    'Running setup script',
    'Waiting for setup to be ready',
    'Running node setup',
    'Waiting for the breakage to show',
  ]);
  // kube-apiserver broken cannot be asked about: no wait for it.
  const apiserver = setup({ broken: { nodes: [], components: ['kube-apiserver'] } });
  assert.ok(!names(input({ labs: [{ id: 'lab', setup: apiserver, scenario: false }] })).includes('Waiting for the breakage to show'));
  assert.deepEqual(
    planAttempt(input({ labs: [{ id: 'lab', setup: setup({ setupManifests: [] }), scenario: false }] })).map((s) => s.id),
    ['create'],
  );
});

test("an exam's cluster lists each lab's setup steps by lab; a Killercoda scenario ends with its workstation setup", () => {
  const all = names(
    input({
      labs: [
        { id: 'a', setup: setup(), scenario: false },
        { id: 'b', setup: setup({ setupScript: 's.sh' }), scenario: false },
      ],
    }),
  );
  assert.deepEqual(all.slice(-5), [
    'a: Applying setup manifests',
    'a: Waiting for setup to be ready',
    'b: Applying setup manifests',
    'b: Running setup script',
    'b: Waiting for setup to be ready',
  ]);
  assert.equal(names(input({ labs: [{ id: 'k', setup: setup(), scenario: true }] })).at(-1), "Running the scenario's setup in the workstation");
});

test('a warm cluster: claimed first; what it did when it was made is listed as skipped; images it lacks are loaded', () => {
  const netpol = shape({ workers: 1, networkPolicy: true, addons: ['metrics-server'] });
  const held = input({ shape: netpol, images: ['nginx:1.27.4'], cluster: { warm: true, images: new Set(['nginx:1.27.4']) } });
  assert.deepEqual(names(held), [
    'Claiming a warm cluster',
    '(Creating the cluster)',
    '(Loading lab images)',
    '(Making NetworkPolicy enforced)',
    '(Installing add-ons)',
    'Applying setup manifests',
    'Waiting for setup to be ready',
  ]);
  assert.ok(
    planEntries(planAttempt(held))
      .filter((e) => e.state === 'skipped')
      .every((e) => e.note === 'done when the warm cluster was made'),
  );
  // Adopted after a restart (images unknown) or a lab added since: the images step runs.
  assert.ok(names({ ...held, cluster: { warm: true, images: undefined } }).includes('Loading lab images'));
  assert.ok(names({ ...held, images: ['nginx:1.27.4', 'busybox:1.37.0'] }).includes('Loading lab images'));
});

test('a cluster whose labs were set up in advance: only its claim runs; images and setup are listed as done then', () => {
  const p = input({ shape: shape({ networkPolicy: true }), images: ['nginx:1.27.4'], cluster: { warm: true, images: undefined, setUp: true } });
  assert.deepEqual(names(p), [
    'Claiming a cluster set up in advance',
    '(Creating the cluster)',
    '(Loading lab images)',
    '(Making NetworkPolicy enforced)',
    '(Setting up the lab)',
  ]);
  assert.deepEqual(
    planEntries(planAttempt(p))
      .filter((e) => e.state === 'skipped')
      .map((e) => e.note),
    [
      'done when the warm cluster was made',
      'done when the cluster was set up in advance',
      'done when the warm cluster was made',
      'done when the cluster was set up in advance',
    ],
  );
});
