import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateJsonPath, JsonPathError, parseJsonPath } from './jsonpath.ts';

const node = {
  metadata: { name: 'kind-worker2', labels: { 'kubernetes.io/hostname': 'kind-worker2', disk: 'ssd' } },
  spec: {
    taints: [
      { key: 'dedicated', value: 'analytics', effect: 'NoSchedule' },
      { key: 'gpu', effect: 'NoExecute' },
    ],
  },
  status: {
    conditions: [
      { type: 'MemoryPressure', status: 'False' },
      { type: 'Ready', status: 'True' },
    ],
    capacity: { pods: '110' },
  },
};
const list = {
  items: [
    { metadata: { name: 'a' }, spec: { containers: [{ name: 'web', image: 'nginx:1.27.4' }] } },
    {
      metadata: { name: 'b' },
      spec: {
        containers: [
          { name: 'x', image: 'busybox:1.37.0' },
          { name: 'y', image: 'busybox:1.37.0', resources: { limits: { cpu: '1' } } },
        ],
      },
    },
  ],
};

test('filters pick list items by a field, as kubectl does', () => {
  assert.equal(evaluateJsonPath(node, '{.spec.taints[?(@.key=="dedicated")].effect}').text, 'NoSchedule');
  assert.equal(evaluateJsonPath(node, '{.status.conditions[?(@.type=="Ready")].status}').text, 'True');
  assert.equal(evaluateJsonPath(node, "{.spec.taints[?(@.key!='dedicated')].key}").text, 'gpu');
  // A filter on a field some items lack skips them instead of failing.
  assert.equal(evaluateJsonPath(node, '{.spec.taints[?(@.value)].key}').text, 'dedicated');
  assert.equal(evaluateJsonPath(list, '{.items[*].spec.containers[?(@.resources.limits.cpu=="1")].name}').text, 'y');
  assert.deepEqual(evaluateJsonPath(node, '{.spec.taints[?(@.key=="none")].effect}').values, []);
});

test('numbers compare as numbers, escaped dots name label keys, recursive descent finds every match', () => {
  assert.equal(evaluateJsonPath({ ports: [{ port: 80 }, { port: 8080 }] }, '{.ports[?(@.port>100)].port}').text, '8080');
  assert.equal(evaluateJsonPath(node, '{.metadata.labels.kubernetes\\.io/hostname}').text, 'kind-worker2');
  assert.equal(evaluateJsonPath(node, "{.metadata.labels['kubernetes.io/hostname']}").text, 'kind-worker2');
  assert.equal(evaluateJsonPath(list, '{..image}').text, 'nginx:1.27.4 busybox:1.37.0 busybox:1.37.0');
  assert.equal(evaluateJsonPath(list, '{.items[-1:].metadata.name}').text, 'b');
});

test('range/end and quoted literals render a template like kubectl', () => {
  assert.equal(evaluateJsonPath(list, '{range .items[*]}{.metadata.name}:{.spec.containers[*].name}{"\\n"}{end}').text, 'a:web\nb:x y\n');
  assert.equal(evaluateJsonPath(node, 'taint={.spec.taints[0].key}').text, 'taint=dedicated');
});

test('what the grader cannot evaluate is refused at parse time, with the column', () => {
  const cases: [string, RegExp, number][] = [
    ['{.a[?(@.k=="x" && @.j=="y")]}', /&& and \|\| are not supported/, 16],
    ['{.a[?(k=="x")]}', /starts with @/, 7],
    ['{range .items[*]}{.x}', /without \{end\}/, 1],
    ['{.a}{end}', /\{end\} without/, 5],
    ['{.a[foo]}', /unsupported \[foo\]/, 4],
    ['{.a[?(@.k==x)]}', /quoted string, a number/, 12],
    ['.spec.replicas', /no \{…\} expression/, 1],
    ['{.a', /unclosed "\{"/, 1],
  ];
  for (const [path, message, col] of cases) {
    assert.throws(
      () => parseJsonPath(path),
      (e: unknown) => e instanceof JsonPathError && message.test(e.message) && e.col === col,
      path,
    );
  }
});
