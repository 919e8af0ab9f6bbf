import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Lab } from '../../server/src/labs/loader.ts';
import { clustersPerLane, defaultLanes, describeVerdict, inParallel, lanePrefix, splitLanes } from './labs-verify.ts';

const lab = (id: string, mistakes: number, workers = 1) =>
  ({ id, meta: { cluster: { workers } }, mistakes: Array.from({ length: mistakes }, () => ({})) }) as unknown as Lab;

test('share groups are split over lanes so the lanes finish together, each group whole and in order', () => {
  const big = [lab('a', 4), lab('b', 4), lab('c', 3)];
  const mid = [lab('d', 3, 2)];
  const small = [lab('e', 1), lab('f', 0)];
  const lanes = splitLanes([small, big, mid], 2).map((l) => l.map((g) => g.map((x) => x.id)));
  assert.deepEqual(lanes, [[['a', 'b', 'c']], [['d'], ['e', 'f']]]);
  assert.deepEqual(
    splitLanes([small, big], 1).map((l) => l.map((g) => g.map((x) => x.id))),
    [
      [
        ['a', 'b', 'c'],
        ['e', 'f'],
      ],
    ],
  );
  assert.equal(splitLanes([small], 3).length, 1, 'no empty lanes');
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
