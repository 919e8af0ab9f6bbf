import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MdxCompiler } from './bundle.ts';
import type { ParamsDecl } from './format.ts';
import { loadCatalog, type Lab } from './loader.ts';
import {
  allDraws,
  distinctDraws,
  drawCount,
  drawParams,
  firstDraw,
  instantiateLab,
  paramDeclProblem,
  paramValueAt,
  placeholdersIn,
  seededRandom,
  substituteParams,
} from './params.ts';
import { formatProblem } from './problems.ts';

const compiler = new MdxCompiler();
const roots: string[] = [];
after(() => {
  compiler.close();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('placeholders and substitution', () => {
  it('finds {{name}} with or without inner spaces, and not Go templates', () => {
    assert.deepEqual(
      placeholdersIn('a {{ns}} b {{ port }} {{.metadata.name}} {{ x.y }}').map((p) => p.name),
      ['ns', 'port'],
    );
  });

  it('substitutes known names and leaves unknown ones as written', () => {
    assert.equal(substituteParams('name: {{ns}}-web\nport: {{ port }} {{other}}', { ns: 'shop', port: '8081' }), 'name: shop-web\nport: 8081 {{other}}');
  });
});

describe('declarations and draws', () => {
  const params: ParamsDecl = { ns: { values: ['shop', 'depot'] }, port: { range: [8000, 8002] }, team: { pattern: 'team-?#' } };

  it('counts and enumerates every value', () => {
    assert.equal(drawCount(params), 2 * 3 * 260);
    assert.equal(paramValueAt({ pattern: 'team-?#' }, 0), 'team-a0');
    assert.equal(paramValueAt({ pattern: 'team-?#' }, 259), 'team-z9');
    assert.equal(paramValueAt({ range: [8000, 8002] }, 2), '8002');
    assert.deepEqual(firstDraw(params), { ns: 'shop', port: '8000', team: 'team-a0' });
    assert.equal(allDraws(params, 100), undefined);
    const small = allDraws({ ns: { values: ['a1', 'b1'] }, port: { range: [1, 2] } }, 100)!;
    assert.deepEqual(new Set(small.map((d) => `${d.ns}:${d.port}`)), new Set(['a1:1', 'b1:1', 'a1:2', 'b1:2']));
  });

  it('draws only declared values, reproducibly with a seed', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 200; i++) {
      const d = drawParams(params, random);
      assert.ok(['shop', 'depot'].includes(d.ns!), d.ns);
      assert.ok(Number(d.port) >= 8000 && Number(d.port) <= 8002, d.port);
      assert.match(d.team!, /^team-[a-z][0-9]$/);
    }
    assert.deepEqual(drawParams(params, seededRandom(3)), drawParams(params, seededRandom(3)));
  });

  it('gives distinct draws, the first draw among them, and no more than exist', () => {
    const three = distinctDraws(params, 3, seededRandom(1));
    assert.equal(new Set(three.map((d) => JSON.stringify(d))).size, 3);
    assert.deepEqual(three[0], firstDraw(params));
    assert.equal(distinctDraws({ ns: { values: ['only'] } }, 3).length, 1);
    assert.equal(distinctDraws({ ns: { values: ['a1', 'b1'] } }, 5, seededRandom(2)).length, 2);
  });

  it('refuses values that would not stay one plain token', () => {
    assert.match(paramDeclProblem({ values: ['ok', 'has space'] })!, /letters, digits/);
    assert.match(paramDeclProblem({ values: ['true'] })!, /YAML as true/);
    assert.match(paramDeclProblem({ values: ['0123'] })!, /YAML as 123/);
    assert.match(paramDeclProblem({ values: ['a1', 80] })!, /mixes numbers and words/);
    assert.match(paramDeclProblem({ values: ['a1', 'a1'] })!, /twice/);
    assert.match(paramDeclProblem({ range: [9, 1] })!, /empty/);
    assert.match(paramDeclProblem({ pattern: 'fixed' })!, /no #/);
    assert.match(paramDeclProblem({ pattern: 'A_#' })!, /lowercase/);
    assert.match(paramDeclProblem({ pattern: '###' })!, /number/);
    assert.equal(paramDeclProblem({ pattern: 'web-##' }), undefined);
    assert.equal(paramDeclProblem({ values: [80, 8080] }), undefined);
  });
});

// A small parametrised lab, written to a temp folder; `edit` changes files before loading.
function writeLab(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'kubedrill-params-'));
  roots.push(root);
  const lab = path.join(root, 'labs', 'fixture', 'param-lab');
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(lab, rel)), { recursive: true });
    writeFileSync(path.join(lab, rel), text);
  }
  return root;
}

const LAB_MDX = `---
id: param-lab
title: Fixture lab with params
summary: A small lab the params tests use.
domain: services-networking
difficulty: easy
minutes: 5
images:
  - docker.io/library/busybox:1.37.0
params:
  ns:
    values: [shop, depot, ledger]
  port:
    range: [8000, 8099]
tasks:
  - id: make-client
    title: Create pod client
    points: 5
    checks:
      - kind: podReady
        pod: {{ns}}/client
        message: pod client in {{ns}} is Ready
      - kind: field
        resource: { kind: Pod, namespace: {{ns}}, name: client }
        path: "{.spec.containers[0].ports[0].containerPort}"
        equals: "{{port}}"
        message: client declares port {{port}}
---

Create a pod in <Param name="ns" />.

<Task id="make-client">

<Run>kubectl get pods -n <Param name="ns" /></Run>

</Task>
`;

const SETUP = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {{ns}}\n';
const SOLUTION = `apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: {{ns}}
spec:
  containers:
    - name: client
      image: docker.io/library/busybox:1.37.0
      ports:
        - containerPort: {{port}}
`;

async function load(files: Record<string, string>) {
  const root = writeLab(files);
  return { root, catalog: await loadCatalog(path.join(root, 'labs'), compiler) };
}

describe('loading a parametrised lab', () => {
  it('loads, keeps the declaration and validates the first draw', async () => {
    const { catalog } = await load({ 'lab.mdx': LAB_MDX, 'setup/10-ns.yaml': SETUP, 'solution/pod.yaml': SOLUTION });
    assert.deepEqual(
      catalog.broken.flatMap((b) => b.problems.map(formatProblem)),
      [],
    );
    const lab = catalog.labs[0]!;
    assert.deepEqual(Object.keys(lab.params ?? {}), ['ns', 'port']);
    assert.equal(lab.meta.tasks[0]!.checks[0]!.message, 'pod client in shop is Ready');
    assert.ok(lab.body.components.some((c) => c.name === 'Param' && c.attributes.name === 'ns'));
  });

  it('reports unknown and misplaced placeholders where they are written', async () => {
    const mdx = LAB_MDX.replace('title: Fixture lab with params', 'title: Fixture lab in {{ns}}')
      .replace('title: Create pod client', 'title: Create pod client {{port}}')
      .replace('message: client declares port {{port}}', 'message: client declares port {{prot}}')
      .replace('Create a pod in <Param name="ns" />.', 'Create a pod in <Param name="namespace" />.');
    const { catalog } = await load({
      'lab.mdx': mdx,
      'setup/10-ns.yaml': SETUP,
      'setup/setup.sh': 'kubectl label ns {{ns}} team={{team}}\n',
      'solution/pod.yaml': SOLUTION,
    });
    const got = catalog.broken.flatMap((b) => b.problems.map(formatProblem));
    assert.deepEqual(got, [
      "labs/fixture/param-lab/lab.mdx:3:23 {{ns}} is outside the checks: in the front matter, placeholders may only be used in tasks' checks\n    hint: titles, the summary and task titles are shown before any values are drawn; name the object without its value there",
      "labs/fixture/param-lab/lab.mdx:17:30 {{port}} is outside the checks: in the front matter, placeholders may only be used in tasks' checks\n    hint: titles, the summary and task titles are shown before any values are drawn; name the object without its value there",
      'labs/fixture/param-lab/lab.mdx:27:39 {{prot}} names no param of this lab\n    hint: declared params: ns, port',
      'labs/fixture/param-lab/lab.mdx:30:17 <Param name="namespace"> names no param of this lab\n    hint: declared params: ns, port',
      'labs/fixture/param-lab/setup/setup.sh:1:32 {{team}} names no param of this lab\n    hint: declared params: ns, port',
    ]);
  });

  it('keeps the written column for a problem after placeholders on the same line', async () => {
    const line = '    - { name: "c-{{ns}}-{{port}}", image: docker.io/library/busybox:1.36.0 }';
    const solution = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: client\n  namespace: {{ns}}\nspec:\n  containers:\n${line}\n`;
    const { catalog } = await load({ 'lab.mdx': LAB_MDX, 'setup/10-ns.yaml': SETUP, 'solution/pod.yaml': solution });
    const problems = catalog.broken.flatMap((b) => b.problems.map(formatProblem));
    assert.ok(
      problems.some((p) =>
        p.startsWith(`labs/fixture/param-lab/solution/pod.yaml:8:${line.indexOf('docker.io') + 1} Pod client runs image docker.io/library/busybox:1.36.0`),
      ),
      problems.join('\n'),
    );
  });

  it('refuses placeholders in the instructions and a lab without params using one', async () => {
    const noParams = LAB_MDX.replace(/params:\n(.*\n){4}/, '').replace('Create a pod in <Param name="ns" />.', 'Create a pod in {{ns}}.');
    const { catalog } = await load({ 'lab.mdx': noParams, 'setup/10-ns.yaml': SETUP, 'solution/pod.yaml': SOLUTION });
    const got = catalog.broken.flatMap((b) => b.problems.map(formatProblem)).join('\n');
    assert.match(got, /lab\.mdx:25:17 \{\{ns\}\} in the instructions: MDX would read it as a JavaScript expression/);
    assert.doesNotMatch(got, /YAML:/);
    assert.match(got, /lab\.mdx:16:14 \{\{ns\}\} names no param of this lab/);
    assert.match(got, /setup\/10-ns\.yaml:4:9 \{\{ns\}\} names no param of this lab\n {4}hint: declare it under params:/);
  });

  it('reports a malformed declaration once, at its place, without burying it under unknown names', async () => {
    const { catalog } = await load({
      'lab.mdx': LAB_MDX.replace('    range: [8000, 8099]', '    range: 8000'),
      'setup/10-ns.yaml': SETUP,
      'solution/pod.yaml': SOLUTION,
    });
    const got = catalog.broken.flatMap((b) => b.problems.map(formatProblem));
    assert.equal(got.length, 1, got.join('\n'));
    assert.match(got[0]!, /^labs\/fixture\/param-lab\/lab\.mdx:14:12 params\.port\.range: range is \[low, high\]: two whole numbers, both included/);
  });
});

describe('instantiating a draw', () => {
  it('gives the lab its draw in the front matter and in every file, and reuses the copy', async () => {
    const { root, catalog } = await load({ 'lab.mdx': LAB_MDX, 'setup/10-ns.yaml': SETUP, 'setup/setup.sh': 'echo {{ns}}\n', 'solution/pod.yaml': SOLUTION });
    const lab = catalog.labs[0] as Lab;
    const variants = path.join(root, 'variants');
    const v = instantiateLab(lab, { ns: 'ledger', port: '8042' }, variants);
    assert.notEqual(v.dir, lab.dir);
    assert.deepEqual(v.draw, { ns: 'ledger', port: '8042' });
    assert.equal(v.meta.tasks[0]!.checks[1]!.kind === 'field' && v.meta.tasks[0]!.checks[1]!.equals, '8042');
    assert.match(readFileSync(path.join(v.dir, 'solution/pod.yaml'), 'utf8'), /namespace: ledger\n[\s\S]*containerPort: 8042/);
    assert.equal(readFileSync(path.join(v.dir, 'setup/setup.sh'), 'utf8'), 'echo ledger\n');
    // The catalog's lab is untouched, and the same draw maps to the same folder.
    assert.match(readFileSync(path.join(lab.dir, 'setup/10-ns.yaml'), 'utf8'), /\{\{ns\}\}/);
    assert.equal(instantiateLab(lab, { port: '8042', ns: 'ledger' }, variants).dir, v.dir);
    assert.notEqual(instantiateLab(lab, { ns: 'shop', port: '8042' }, variants).dir, v.dir);
    assert.throws(() => instantiateLab(lab, { ns: 'ledger' }, variants), /no value for port/);
    assert.throws(() => instantiateLab(lab, { ns: 'a b', port: '1' }, variants), /not a param value/);
  });
});
