import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adoptPresetDraws, examClusterRecipes } from './cluster-recipes.ts';

const exam = {
  id: 'mock',
  kubernetes: '1.35',
  clusters: [
    { name: 'a', workers: 1, networkPolicy: true },
    { name: 'b', workers: 2 },
    { name: 'unused', workers: 0 },
  ],
  tasks: [
    { labId: 'netpol', cluster: 'a' },
    { labId: 'svc', cluster: 'b' },
    { labId: 'shared', cluster: 'a' },
    { labId: 'shared', cluster: 'b' },
  ],
} as unknown as Parameters<typeof examClusterRecipes>[0];

test("an exam's cluster recipes: label, shape and the labs placed on each; a cluster no task uses is left out", () => {
  assert.deepEqual(
    examClusterRecipes(exam).map((r) => [r.key, r.context, r.shape, r.labIds]),
    [
      ['exam:mock/a', 'a', 'w1-netpol', ['netpol', 'shared']],
      ['exam:mock/b', 'b', 'w2', ['svc', 'shared']],
    ],
  );
});

test('an exam adopts the draws of clusters set up in advance; one whose draw clashes for a shared lab is left to be set up at Start', () => {
  const recipes = examClusterRecipes(exam);
  const drawn = { svc: { port: '8080' }, shared: { ns: 'one' } };
  // Only cluster a was set up in advance: its draw of the shared lab wins, cluster b is set up with it at Start.
  assert.deepEqual(
    adoptPresetDraws(drawn, recipes, (r) => (r.context === 'a' ? { shared: { ns: 'two' } } : undefined)),
    { svc: { port: '8080' }, shared: { ns: 'two' } },
  );
  // Both set up in advance with different values for the shared lab: the first is adopted, the second not (its svc draw is not taken either).
  const draws: Record<string, Record<string, Record<string, string>>> = { a: { shared: { ns: 'two' } }, b: { svc: { port: '9090' }, shared: { ns: 'three' } } };
  const both = adoptPresetDraws(drawn, recipes, (r) => draws[r.context]);
  assert.deepEqual(both, { svc: { port: '8080' }, shared: { ns: 'two' } });
  assert.equal(
    adoptPresetDraws(null, recipes, () => null),
    null,
    'no parametrised lab, no draw',
  );
});
