import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterPort, KubeObject, ObjectRef } from '../../../graders/src/cluster/port.ts';
import type { CommandRunner, CommandSpec } from '../exec/command-runner.ts';
import { judgeAnswer, routeRequests, routeStatusProblems, unservedRoutes } from './route-readiness.ts';
import { waitUntilReady } from './lab-setup.ts';

const GW = 'gateway.networking.k8s.io/v1';

const route = (rules: unknown[], extra: { generation?: number; parents?: unknown[]; hostnames?: string[]; parentRefs?: unknown[] } = {}): KubeObject => ({
  apiVersion: GW,
  kind: 'HTTPRoute',
  metadata: { name: 'checkout', namespace: 'market', generation: extra.generation ?? 1 },
  spec: { parentRefs: extra.parentRefs ?? [{ name: 'storefront' }], rules, ...(extra.hostnames ? { hostnames: extra.hostnames } : {}) },
  ...(extra.parents ? { status: { parents: extra.parents } } : {}),
});

const accepted = (generation: number, resolved = 'True') => ({
  parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'storefront' },
  controllerName: 'traefik.io/gateway-controller',
  conditions: [
    { type: 'Accepted', status: 'True', observedGeneration: generation, reason: 'Accepted' },
    {
      type: 'ResolvedRefs',
      status: resolved,
      observedGeneration: generation,
      reason: resolved === 'True' ? 'ResolvedRefs' : 'BackendNotFound',
      message: 'service "checkout-v3" not found',
    },
  ],
});

test("a route is attached only once its Gateway's controller accepted it and resolved its backends at its current generation", () => {
  const rules = [{ backendRefs: [{ name: 'checkout-v1', port: 80 }] }];
  assert.deepEqual(routeStatusProblems(route(rules)), ['httproute market/checkout has no status from the controller of gateway market/storefront yet']);
  assert.deepEqual(routeStatusProblems(route(rules, { parents: [accepted(1)] })), []);
  // Changed (generation 2) but the controller still reports what it saw of generation 1.
  assert.deepEqual(routeStatusProblems(route(rules, { generation: 2, parents: [accepted(1)] })), [
    'httproute market/checkout generation 2 is not observed by the controller of gateway market/storefront yet',
  ]);
  assert.deepEqual(routeStatusProblems(route(rules, { parents: [accepted(1, 'False')] })), [
    'httproute market/checkout is not ResolvedRefs by gateway market/storefront: BackendNotFound (service "checkout-v3" not found)',
  ]);
  assert.deepEqual(routeStatusProblems(route(rules, { parentRefs: [] })), [], 'a route no Gateway will ever serve is not waited for');
});

test('each rule gets a request it matches, sent once per turn of its weighted backends; regex-only rules get none', () => {
  const reqs = routeRequests(
    route(
      [
        { matches: [{ headers: [{ name: 'X-Canary', value: 'always' }] }], backendRefs: [{ name: 'checkout-v2', port: 80 }] },
        {
          backendRefs: [
            { name: 'checkout-v1', port: 80, weight: 80 },
            { name: 'checkout-v2', port: 80, weight: 20 },
          ],
        },
        { matches: [{ path: { type: 'RegularExpression', value: '/v[0-9]+' } }], backendRefs: [{ name: 'x', port: 80 }] },
        {
          matches: [{ path: { type: 'Exact', value: '/orders' }, method: 'POST', queryParams: [{ name: 'q', value: 'a b' }] }],
          backendRefs: [
            { name: 'o', port: 80, weight: 0 },
            { name: 'p', port: 80 },
          ],
        },
      ],
      { hostnames: ['*.shop.example'] },
    ),
    undefined,
  );
  assert.deepEqual(reqs, [
    { rule: 1, method: 'GET', host: 'kubedrill-probe.shop.example', target: '/', headers: [['X-Canary', 'always']], count: 1 },
    { rule: 2, method: 'GET', host: 'kubedrill-probe.shop.example', target: '/', headers: [], count: 5 },
    { rule: 4, method: 'POST', host: 'kubedrill-probe.shop.example', target: '/orders?q=a%20b', headers: [], count: 1 },
  ]);
  assert.equal(routeRequests(route([{ backendRefs: [] }]), 'portal.example')[0]?.host, 'portal.example', "the listener's host name when the route has none");
});

test("the gateway's own answers (no route, no endpoint, no backend) are not a backend's", () => {
  assert.equal(judgeAnswer(404, '404 page not found').served, false);
  assert.equal(judgeAnswer(503, 'no available server').served, false);
  assert.equal(judgeAnswer(500, 'Internal Server Error').served, false);
  assert.equal(judgeAnswer(0, '').served, false);
  assert.equal(judgeAnswer(200, 'checkout release v1').served, true);
  assert.equal(judgeAnswer(404, '<html><head><title>404 Not Found</title>').served, true, "a backend's own 404 is an answer");
  assert.equal(judgeAnswer(302, '').served, true, "a rule's redirect is an answer");
});

/** A port that serves the given objects by kind/namespace/name; `route` changes between calls. */
function fakePort(objects: () => KubeObject[]): ClusterPort {
  return {
    get: async (ref: ObjectRef) =>
      objects().find((o) => o.kind === ref.kind && o.metadata.name === ref.name && (o.metadata.namespace ?? '') === (ref.namespace ?? '')),
    list: async () => [],
    exec: async () => ({ stdout: '', stderr: '', exitCode: 0 }),
    apply: async () => {},
  } as unknown as ClusterPort;
}

const gateway: KubeObject = {
  apiVersion: GW,
  kind: 'Gateway',
  metadata: { name: 'storefront', namespace: 'market' },
  spec: { gatewayClassName: 'traefik', listeners: [{ name: 'http', protocol: 'HTTP', port: 80 }] },
  status: { addresses: [{ type: 'IPAddress', value: '10.96.41.7' }] },
};

/** A node's curl through the gateway: answers in order, one batch per docker exec. */
function fakeNode(batches: string[][]): { runner: CommandRunner; calls: string[][] } {
  const calls: string[][] = [];
  let i = 0;
  return {
    calls,
    runner: {
      run: async (spec: CommandSpec) => {
        calls.push([...spec.argv]);
        const batch = batches[Math.min(i++, batches.length - 1)] ?? [];
        return { stdout: batch.map((a) => `${a}\n`).join(''), stderr: '', exitCode: 0, durationMs: 1 } as never;
      },
    },
  };
}

test('setup readiness waits until requests through the gateway reach a backend, not just until the route is Accepted', async () => {
  const r = route([{ backendRefs: [{ name: 'checkout-v1', port: 80 }] }], { parents: [accepted(1)] });
  // First Traefik has no router yet, then no endpoint for the new pod, then v1 answers.
  const node = fakeNode([['404\t404 page not found'], ['503\tno available server'], ['200\tcheckout release v1']]);
  const problems = await waitUntilReady(
    fakePort(() => [r, gateway]),
    [r],
    Date.now() + 5000,
    {
      pollMs: 1,
      kubeProxy: { runner: node.runner, nodes: ['kd-control-plane'] },
    },
  );
  assert.deepEqual(problems, []);
  assert.equal(node.calls.length, 3, 'asked until a backend answered');
  const argv = node.calls[0]!;
  assert.deepEqual(argv.slice(0, 3), ['docker', 'exec', 'kd-control-plane']);
  assert.ok(argv.includes('Host: kubedrill-probe.invalid') && argv.includes('http://10.96.41.7:80/'), argv.join(' '));
});

test('a route that is never served is named with the reason; without a node only its status is judged', async () => {
  const r = route([{ backendRefs: [{ name: 'checkout-v1', port: 80 }] }], { parents: [accepted(1)] });
  const node = fakeNode([['500\tInternal Server Error']]);
  assert.deepEqual(
    await unservedRoutes(
      fakePort(() => [r, gateway]),
      [r],
      { runner: node.runner, node: 'n' },
      { timeoutMs: 1000 },
    ),
    [
      'httproute market/checkout rule 1 (GET kubedrill-probe.invalid/) is not answered by a backend through gateway market/storefront: the gateway answered HTTP 500 instead of a backend',
    ],
  );
  assert.deepEqual(
    await unservedRoutes(
      fakePort(() => [r, gateway]),
      [r],
      undefined,
      { timeoutMs: 1000 },
    ),
    [],
  );
  const skipped = { ...r, metadata: { ...r.metadata, annotations: { 'kubedrill.io/wait': 'false' } } };
  assert.deepEqual(
    await unservedRoutes(
      fakePort(() => [gateway]),
      [skipped],
      undefined,
      { timeoutMs: 1000 },
    ),
    [],
    'kubedrill.io/wait: "false" is honoured',
  );
});
