// Step folding and clock offset: what the lab page shows while a cluster is being prepared.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { AttemptEvent } from '../../api/client.ts';
import { clockOffset, foldSteps } from './use-attempt.ts';

let seq = 0;
const ev = (at: string, fields: Partial<AttemptEvent>): AttemptEvent => ({
  seq: ++seq,
  at,
  type: 'step',
  name: 'x',
  state: 'running',
  elapsedMs: 0,
  position: null,
  output: null,
  ...fields,
});

test('steps fold in order of first appearance, each showing its latest state, time and output', () => {
  const steps = foldSteps([
    ev('2026-01-01T00:00:00.000Z', { type: 'status', name: 'provisioning', state: null }),
    ev('2026-01-01T00:00:01.000Z', { name: 'Preparing nodes' }),
    ev('2026-01-01T00:00:09.000Z', { name: 'Preparing nodes', state: 'done', elapsedMs: 8000 }),
    ev('2026-01-01T00:00:09.000Z', { name: 'Applying setup manifests' }),
    ev('2026-01-01T00:00:09.000Z', { type: 'queue', name: 'queued', state: null, position: 2 }),
    ev('2026-01-01T00:00:12.500Z', { name: 'Applying setup manifests', state: 'failed', elapsedMs: 3500, output: 'error: no kind "Deploymnet"' }),
  ]);
  assert.deepEqual(
    steps.map((s) => [s.name, s.state, s.elapsedMs, s.output]),
    [
      ['Preparing nodes', 'done', 8000, null],
      ['Applying setup manifests', 'failed', 3500, 'error: no kind "Deploymnet"'],
    ],
  );
  // Start times are on the server's clock, from the running event (or the end minus the elapsed time).
  assert.equal(steps[0]!.startedAt, Date.parse('2026-01-01T00:00:01.000Z'));
  assert.equal(steps[1]!.startedAt, Date.parse('2026-01-01T00:00:09.000Z'));
});

test('a step first seen when it ends (events replayed from the middle) still gets its start time', () => {
  const [s] = foldSteps([ev('2026-01-01T00:01:00.000Z', { name: 'Waiting for every node to be Ready', state: 'done', elapsedMs: 22_000 })]);
  assert.equal(s!.startedAt, Date.parse('2026-01-01T00:00:38.000Z'));
});

test('a step that runs again (a retried image load) restarts its clock', () => {
  const [s] = foldSteps([
    ev('2026-01-01T00:00:00.000Z', { name: 'Loading lab images' }),
    ev('2026-01-01T00:00:05.000Z', { name: 'Loading lab images', state: 'done', elapsedMs: 5000 }),
    ev('2026-01-01T00:00:30.000Z', { name: 'Loading lab images' }),
  ]);
  assert.equal(s!.state, 'running');
  assert.equal(s!.startedAt, Date.parse('2026-01-01T00:00:30.000Z'));
});

test('the clock offset is the smallest arrival delay seen, 0 before any event', () => {
  assert.equal(clockOffset([]), 0);
  const sent = Date.parse('2026-01-01T00:00:00.000Z');
  assert.equal(
    clockOffset([
      { at: '2026-01-01T00:00:00.000Z', receivedAt: sent + 900 },
      { at: '2026-01-01T00:00:01.000Z', receivedAt: sent + 1000 + 120 },
      { at: '2026-01-01T00:00:02.000Z', receivedAt: sent + 2000 + 400 },
    ]),
    120,
  );
  // A browser clock behind the server's gives a negative offset, not a clamped one.
  assert.equal(clockOffset([{ at: '2026-01-01T00:00:00.000Z', receivedAt: sent - 3000 }]), -3000);
});

const plan = (at: string, names: [string, 'pending' | 'skipped'][]): AttemptEvent =>
  ev(at, {
    type: 'plan',
    name: 'plan',
    state: null,
    plan: names.map(([name, state]) => ({
      name,
      phase: name,
      timeoutMs: 60_000,
      state,
      ...(state === 'skipped' ? { note: 'done when the warm cluster was made' } : {}),
    })),
  });

test('the plan lists every step from the start: pending until it runs, skipped ones with their note', () => {
  const steps = foldSteps([
    plan('2026-01-01T00:00:00.000Z', [
      ['Claiming a warm cluster', 'pending'],
      ['Creating the cluster', 'skipped'],
      ['Applying setup manifests', 'pending'],
      ['Waiting for setup to be ready', 'pending'],
    ]),
    ev('2026-01-01T00:00:00.100Z', { name: 'Claiming a warm cluster' }),
    ev('2026-01-01T00:00:00.300Z', { name: 'Claiming a warm cluster', state: 'done', elapsedMs: 200 }),
    ev('2026-01-01T00:00:00.300Z', { name: 'Applying setup manifests' }),
  ]);
  assert.deepEqual(
    steps.map((s) => [s.name, s.state, s.note]),
    [
      ['Claiming a warm cluster', 'done', null],
      ['Creating the cluster', 'skipped', 'done when the warm cluster was made'],
      ['Applying setup manifests', 'running', null],
      ['Waiting for setup to be ready', 'pending', null],
    ],
  );
  // A pending step's first event starts its clock (the plan's line had none).
  assert.equal(steps[2]!.startedAt, Date.parse('2026-01-01T00:00:00.300Z'));
});

test('a later plan replaces the first; a step the plan did not list goes after the step reported before it; not-run stays', () => {
  const steps = foldSteps([
    plan('2026-01-01T00:00:00.000Z', [
      ['Claiming a warm cluster', 'pending'],
      ['Waiting', 'pending'],
    ]),
    plan('2026-01-01T00:00:01.000Z', [
      ['Creating the node containers', 'pending'],
      ['Applying setup manifests', 'pending'],
      ['Waiting', 'pending'],
    ]),
    ev('2026-01-01T00:00:02.000Z', { name: 'Creating the node containers', state: 'done', elapsedMs: 1000 }),
    ev('2026-01-01T00:00:02.000Z', { name: 'Something kind added', state: 'done', elapsedMs: 10 }),
    ev('2026-01-01T00:00:03.000Z', { name: 'Applying setup manifests', state: 'failed', elapsedMs: 900, output: 'boom' }),
    ev('2026-01-01T00:00:03.000Z', { name: 'Waiting', state: 'not-run' }),
  ]);
  assert.deepEqual(
    steps.map((s) => `${s.state} ${s.name}`),
    ['done Creating the node containers', 'done Something kind added', 'failed Applying setup manifests', 'not-run Waiting'],
  );
});
