import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Lab } from '../../server/src/labs/loader.ts';
import { defaultLanes, lanePrefix, shareGroups, splitLanes } from './labs-verify.ts';

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
