import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { MdxCompiler } from '../labs/bundle.ts';
import { loadCatalog, type Lab } from '../labs/loader.ts';
import { collide, labFootprint } from './collisions.ts';

// The exam linter's collision check over a parametrised lab: a name made of params collides when
// any value it can take collides, not only the first draw.

const compiler = new MdxCompiler();
const root = mkdtempSync(path.join(tmpdir(), 'kubedrill-collide-params-'));
after(() => {
  compiler.close();
  rmSync(root, { recursive: true, force: true });
});

const mdx = (id: string, params: string) => `---
id: ${id}
title: Fixture lab ${id}
summary: A small lab the collision tests use.
domain: services-networking
difficulty: easy
minutes: 5
images:
  - docker.io/library/busybox:1.37.0
${params}tasks:
  - id: make-client
    title: Create pod client
    points: 5
    checks:
      - kind: podReady
        pod: {{ns}}/client
        message: pod client is Ready
---

<Task id="make-client">

Create pod client.

</Task>
`;
const pod =
  'apiVersion: v1\nkind: Pod\nmetadata:\n  name: client\n  namespace: {{ns}}\nspec:\n  containers:\n    - name: c\n      image: docker.io/library/busybox:1.37.0\n';

function writeLab(id: string, params: string, values: Record<string, string>): void {
  const dir = path.join(root, 'labs', 'fixture', id);
  mkdirSync(path.join(dir, 'setup'), { recursive: true });
  mkdirSync(path.join(dir, 'solution'), { recursive: true });
  const sub = (t: string) => t.replace(/\{\{(\w+)\}\}/g, (w, n: string) => values[n] ?? w);
  writeFileSync(path.join(dir, 'lab.mdx'), params ? mdx(id, params) : sub(mdx(id, '')));
  writeFileSync(
    path.join(dir, 'setup', '10-ns.yaml'),
    params ? 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ns}}\n' : sub('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ns}}\n'),
  );
  writeFileSync(path.join(dir, 'solution', 'pod.yaml'), params ? pod : sub(pod));
}

test('a parametrised lab collides with a lab that uses any value its params can take', async () => {
  writeLab('drawn', 'params:\n  ns:\n    values: [alpha, beta, gamma]\n', {});
  writeLab('fixed-gamma', '', { ns: 'gamma' });
  writeLab('fixed-delta', '', { ns: 'delta' });
  writeLab('huge', 'params:\n  ns:\n    pattern: "ns-????"\n', {});
  const catalog = await loadCatalog(path.join(root, 'labs'), compiler);
  assert.deepEqual(
    catalog.broken.flatMap((b) => b.problems.map((p) => p.message)),
    [],
  );
  const lab = (id: string) => catalog.labs.find((l) => l.id === id) as Lab;
  const rel = (abs: string) => path.relative(root, abs);
  const drawn = labFootprint(lab('drawn'), rel);
  // gamma is not the first value: a check of only the first draw would miss it.
  const clash = collide(drawn, labFootprint(lab('fixed-gamma'), rel));
  assert.ok(
    clash.some((c) => c.why === 'both create Namespace gamma'),
    clash.map((c) => c.why).join('\n'),
  );
  assert.equal(clash[0]!.a.file, 'labs/fixture/drawn/setup/10-ns.yaml');
  assert.deepEqual(collide(drawn, labFootprint(lab('fixed-delta'), rel)), []);
  // Too many values to check one by one: the lab needs a cluster of its own.
  const huge = collide(labFootprint(lab('huge'), rel), labFootprint(lab('fixed-delta'), rel));
  assert.match(
    huge[0]?.why ?? '',
    /Namespace \{\{ns\}\} \(its params give 456976 possible names, too many to check against other labs\) shares the cluster with/,
  );
});
