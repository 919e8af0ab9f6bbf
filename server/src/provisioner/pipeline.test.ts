// The one runner of declared steps: order, parts, timeouts that name the step, failures that leave
// later steps not run, and abort.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planEntries, runPlan, type PlannedStep, type StepWork } from './pipeline.ts';
import { ProvisionError, step, type StepEvent } from './steps.ts';

type Id = 'a' | 'b' | 'c';
const plan: PlannedStep<Id>[] = [
  { id: 'a', name: 'Step A', timeoutMs: 5_000, failure: 'A went wrong' },
  { id: 'b', name: 'Step B', timeoutMs: 5_000, failure: 'B went wrong', parts: ['B one', 'B two', 'B three'] },
  { id: 'c', name: 'Step C', timeoutMs: 5_000, failure: 'C went wrong' },
];
const ok: StepWork<Id> = { a: async () => {}, b: async (sink) => step('B one', sink, async () => {}), c: async () => {} };
const record = () => {
  const events: StepEvent[] = [];
  return { events, sink: (e: StepEvent) => events.push(e), lines: () => events.map((e) => `${e.step}: ${e.status}`) };
};

test('steps run in order; a step without parts is reported by the runner, parts by the step; parts it did not need are skipped', async () => {
  const r = record();
  const order: string[] = [];
  await runPlan(plan, { ...ok, c: async () => void order.push('c') }, r.sink, new AbortController().signal, {
    onStepStart: (s) => order.push(`start ${s.id}`),
  });
  assert.deepEqual(r.lines(), [
    'Step A: running',
    'Step A: done',
    'B one: running',
    'B one: done',
    'B two: skipped',
    'B three: skipped',
    'Step C: running',
    'Step C: done',
  ]);
  assert.deepEqual(order, ['start a', 'start b', 'start c', 'c']);
  assert.deepEqual(
    planEntries(plan).map((e) => e.name),
    ['Step A', 'B one', 'B two', 'B three', 'Step C'],
  );
});

test('a failing part fails the run naming it, with its output; every later line is reported not run', async () => {
  const r = record();
  const work = {
    ...ok,
    b: async (sink: (e: StepEvent) => void) =>
      step('B one', sink, async () => Promise.reject(Object.assign(new Error('exit 1'), { stdout: '', stderr: 'boom: no such thing' }))),
  };
  await assert.rejects(
    runPlan(plan, work, r.sink, new AbortController().signal),
    (e: unknown) => e instanceof ProvisionError && e.step === 'B one' && /boom/.test(e.output),
  );
  assert.deepEqual(r.lines(), ['Step A: running', 'Step A: done', 'B one: running', 'B one: failed', 'B two: not-run', 'B three: not-run', 'Step C: not-run']);
  assert.equal(r.events.filter((e) => e.status === 'failed').length, 1, 'the failure is reported once');
});

test('an unexpected error is named by the step and its declared failure text', async () => {
  const r = record();
  await assert.rejects(
    runPlan(plan, { ...ok, a: async () => Promise.reject(new Error('ENOENT: kubeconfig\nstack…')) }, r.sink, new AbortController().signal),
    (e: unknown) => e instanceof ProvisionError && e.step === 'Step A' && e.message === 'A went wrong: ENOENT: kubeconfig',
  );
  assert.deepEqual(r.lines(), ['Step A: running', 'Step A: failed', 'B one: not-run', 'B two: not-run', 'B three: not-run', 'Step C: not-run']);
});

test('a step that outlives its own timeout fails naming the step, its timeout and the part it was at, and is told to stop', async () => {
  // A step that ignores its signal: the runner stops waiting anyway (checked below with a step without parts).
  const r = record();
  let stopped = false;
  const hang: StepWork<Id>['b'] = (sink, signal) => {
    sink({ step: 'B one', status: 'done' });
    sink({ step: 'B two', status: 'running' });
    // Rejects once told to stop, after the runner moved on: no unhandled rejection, no late event.
    return new Promise((_, reject) =>
      signal.addEventListener('abort', () => {
        stopped = true;
        setImmediate(() => {
          sink({ step: 'B two', status: 'failed', output: 'late' });
          reject(new Error('aborted'));
        });
      }),
    );
  };
  const short = plan.map((s) => (s.id === 'b' ? { ...s, timeoutMs: 30 } : s));
  await assert.rejects(
    runPlan(short, { ...ok, b: hang }, r.sink, new AbortController().signal),
    (e: unknown) => e instanceof ProvisionError && e.step === 'B two' && e.message === 'B went wrong: "Step B" did not finish within 1 s (it was at "B two")',
  );
  assert.ok(stopped);
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(r.lines().slice(-3), ['B two: failed', 'B three: not-run', 'Step C: not-run']);
  // A step without parts names itself.
  await assert.rejects(
    runPlan(
      [{ id: 'a', name: 'Step A', timeoutMs: 40, failure: 'A went wrong' }],
      { ...ok, a: () => new Promise(() => {}) },
      () => {},
      new AbortController().signal,
    ),
    (e: unknown) => e instanceof ProvisionError && e.step === 'Step A' && /"Step A" did not finish within 1 s/.test(e.message),
  );
});

test('skipped steps do not run; an abort stops the run without reporting a failure', async () => {
  const r = record();
  const ran: string[] = [];
  await runPlan(
    [{ ...plan[0]!, skipped: 'done earlier' }, plan[2]!],
    { ...ok, a: async () => void ran.push('a'), c: async () => void ran.push('c') },
    r.sink,
    new AbortController().signal,
  );
  assert.deepEqual(ran, ['c']);
  const abort = new AbortController();
  const run = runPlan(
    plan,
    { ...ok, a: (_s, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))) },
    r.sink,
    abort.signal,
  );
  abort.abort(new Error('finished by the learner'));
  await assert.rejects(run, /finished by the learner/);
  assert.ok(!r.events.some((e) => e.status === 'failed' || e.status === 'not-run'));
});
