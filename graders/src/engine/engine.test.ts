import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckDecl } from '../checks/schema.ts';
import { ClusterError, type ClusterPort, type KubeObject } from '../cluster/port.ts';
import { ModelCluster } from '../model/model-cluster.ts';
import { CheckSlots, gradeLab, scoreTask } from './engine.ts';
import { classifyProbe, dnsCandidates, parseNslookup, parseResolvConf, statusMatches } from './probe-commands.ts';
import type { GradableLab } from './types.ts';

const check = (c: Record<string, unknown>): CheckDecl => CheckDecl.parse(c);

function labOf(checks: Record<string, unknown>[], points = 10): GradableLab {
  return { id: 'test-lab', dir: '/tmp', tasks: [{ id: 't', title: 'Task', points, checks: checks.map(check) }] };
}

const lab9Setup: KubeObject[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'restricted' } },
  {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'lab9server', namespace: 'restricted', labels: { app: 'lab9server' } },
    spec: {
      containers: [
        {
          name: 'nginx',
          image: 'docker.io/library/nginx:1.27.4',
          ports: [{ name: 'http', containerPort: 80 }],
          readinessProbe: { httpGet: { path: '/', port: 'http' } },
        },
      ],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'lab9server', namespace: 'restricted' },
    spec: { selector: { app: 'lab9server' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  },
  ...['sleepybox1', 'sleepybox2'].map((name) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { run: name } },
    spec: { containers: [{ name, image: 'docker.io/library/busybox:1.37.0', command: ['sleep', '3600'] }] },
  })),
];
const onlySleepybox1: KubeObject = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'only-sleepybox1', namespace: 'restricted' },
  spec: {
    podSelector: { matchLabels: { app: 'lab9server' } },
    ingress: [
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'default' } }, podSelector: { matchLabels: { run: 'sleepybox1' } } }] },
    ],
  },
};
const lab9Checks = [
  {
    id: 'allowed',
    kind: 'probe',
    from: 'default/sleepybox1',
    to: { service: 'restricted/lab9server' },
    port: 80,
    expect: 'reachable',
    guard: true,
    message: 'sleepybox1 reaches lab9server',
  },
  {
    id: 'blocked',
    kind: 'probe',
    from: 'default/sleepybox2',
    to: { service: 'restricted/lab9server' },
    port: 80,
    expect: 'blocked',
    weight: 2,
    message: 'sleepybox2 cannot reach lab9server',
  },
];
const fast = { probeWindowMs: 0, retryDelayMs: 0 };

async function modelWith(objects: KubeObject[]): Promise<ModelCluster> {
  const m = new ModelCluster({ workers: 1 });
  await m.apply(objects);
  return m;
}

describe('gradeLab', () => {
  it('a probe through a Service waits until kube-proxy on the source node has its ClusterIP, and is not sent when it never does', async () => {
    const port = await modelWith([...lab9Setup, onlySleepybox1]);
    const svc = await port.get({ apiVersion: 'v1', kind: 'Service', namespace: 'restricted', name: 'lab9server' });
    const ip = (svc?.spec as { clusterIP: string }).clusterIP;
    let dumps = 0;
    const asked: string[] = [];
    // kube-proxy programs the ClusterIP on the third look.
    const nodes = {
      exec: async (node: string) => (
        asked.push(node),
        {
          stdout: ++dumps >= 3 ? `-A KUBE-SERVICES -d ${ip}/32 -p tcp -j KUBE-SVC-X\n` : '-A KUBE-SERVICES -d 10.96.0.1/32 -j KUBE-SVC-Y\n',
          stderr: '',
          exitCode: 0,
        }
      ),
    };
    const served = await gradeLab(labOf([lab9Checks[0]!]), { port, nodes, ...fast, kubeProxyWaitMs: 5_000 });
    assert.equal(served.tasks[0]?.checks[0]?.status, 'pass');
    assert.ok(dumps >= 3, 'looked until the rule was there');
    const pod = await port.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'sleepybox1' });
    assert.equal(asked[0], (pod?.spec as { nodeName: string }).nodeName, "the source pod's node is the one asked");

    let execs = 0;
    const counting: ClusterPort = {
      get: (r, o) => port.get(r, o),
      list: (q, o) => port.list(q, o),
      apply: (x, o) => port.apply(x, o),
      exec: (t, a, o) => (execs++, port.exec(t, a, o)),
    };
    const never = { exec: async () => ({ stdout: '', stderr: '', exitCode: 0 }) };
    const refused = await gradeLab(labOf([lab9Checks[0]!]), { port: counting, nodes: never, ...fast, kubeProxyWaitMs: 0 });
    const c = refused.tasks[0]?.checks[0];
    assert.equal(c?.status, 'error');
    assert.match(c?.explanation ?? '', new RegExp(`had not programmed ClusterIP ${ip.replaceAll('.', '\\.')} after 0 s, so no probe was sent`));
    assert.equal(execs, 0, 'nothing was sent from the pod');
  });

  it('gives nothing for doing nothing: a passing guard earns only with a passing non-guard check', async () => {
    const report = await gradeLab(labOf(lab9Checks), { port: await modelWith(lab9Setup), ...fast });
    const [allowed, blocked] = report.tasks[0]?.checks ?? [];
    assert.equal(allowed?.status, 'pass');
    assert.equal(allowed?.points, 0);
    assert.equal(blocked?.status, 'fail');
    assert.equal(report.score, 0);
    assert.match(
      blocked?.explanation ?? '',
      /^sleepybox2 reached Service restricted\/lab9server on port 80 through endpoint lab9server 10\.244\.\d+\.\d+:80: no NetworkPolicy in namespace restricted selects lab9server for ingress$/,
    );
  });

  it('scores the full task once the policy works, and explains the refusal', async () => {
    const report = await gradeLab(labOf(lab9Checks), { port: await modelWith([...lab9Setup, onlySleepybox1]), ...fast });
    assert.equal(report.score, 10);
    assert.equal(report.percent, 100);
    const blocked = report.tasks[0]?.checks[1];
    assert.equal(blocked?.actual, 'blocked (timed out)');
    assert.match(blocked?.explanation ?? '', /lab9server is isolated for ingress by NetworkPolicy restricted\/only-sleepybox1/);
  });

  it('a required check that fails vetoes its task: a deny-all scores 0, and the report says which check and why', async () => {
    const denyAll: KubeObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny-all', namespace: 'restricted' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    };
    const port = await modelWith([...lab9Setup, denyAll]);
    const unguarded = await gradeLab(labOf(lab9Checks), { port, ...fast });
    assert.equal(unguarded.score, 6.67, 'without required, a failed guard loses only its own share (the bug)');
    const report = await gradeLab(labOf([{ ...lab9Checks[0], required: true }, lab9Checks[1]!]), { port, ...fast });
    const task = report.tasks[0];
    assert.equal(task?.score, 0);
    assert.deepEqual(task?.vetoedBy, ['allowed']);
    const [allowed, blocked] = task?.checks ?? [];
    assert.deepEqual([allowed?.status, allowed?.required, blocked?.status, blocked?.points, blocked?.maxPoints], ['fail', true, 'pass', 0, 6.67]);
    assert.equal(blocked?.scoreNote, 'earns nothing: the task scores 0 because the required check "sleepybox1 reaches lab9server" did not pass');
  });

  it('a required check that errors holds its task at 0 as well; without vetoes a waiting guard says why it earns nothing', () => {
    const base = { kind: 'probe' as const, message: 'm', durationMs: 0, weight: 1 };
    const vetoed = scoreTask(10, [
      { ...base, id: 'keep', status: 'error', guard: true, required: true },
      { ...base, id: 'work', status: 'pass', guard: false },
    ]);
    assert.deepEqual([vetoed.score, vetoed.vetoedBy], [0, ['keep']]);
    const waiting = scoreTask(10, [
      { ...base, id: 'keep', status: 'pass', guard: true, required: true },
      { ...base, id: 'work', status: 'fail', guard: false },
    ]);
    assert.deepEqual([waiting.score, waiting.vetoedBy], [0, undefined]);
    assert.match(waiting.checks[0]?.scoreNote ?? '', /already true when you started/);
    const partial = scoreTask(10, [
      { ...base, id: 'keep', status: 'pass', guard: true, required: true },
      { ...base, id: 'a', status: 'pass', guard: false },
      { ...base, id: 'b', status: 'fail', guard: false },
    ]);
    assert.equal(partial.score, 6.67, 'independent parts keep partial credit once nothing required is broken');
  });

  it('gives partial credit by weight', () => {
    const base = { kind: 'field' as const, message: 'm', durationMs: 0 };
    const r = scoreTask(9, [
      { ...base, id: 'a', status: 'pass', guard: false, weight: 2 },
      { ...base, id: 'b', status: 'fail', guard: false, weight: 1 },
    ]);
    assert.equal(r.score, 6);
    assert.deepEqual(
      r.checks.map((c) => [c.points, c.maxPoints]),
      [
        [6, 6],
        [0, 3],
      ],
    );
  });

  it('blames the cluster, not the learner, when a probe connects although policy should block it', async () => {
    const model = await modelWith([...lab9Setup, onlySleepybox1]);
    // A cluster that fails open: every wget connects, whatever the policies say.
    const failOpen: ClusterPort = { ...bind(model), exec: async () => ({ stdout: '', stderr: '', exitCode: 0 }) };
    const report = await gradeLab(labOf(lab9Checks), { port: failOpen, ...fast });
    const blocked = report.tasks[0]?.checks[1];
    assert.equal(blocked?.status, 'error');
    assert.equal(blocked?.points, 0);
    assert.match(blocked?.explanation ?? '', /^enforcement suspicious: sleepybox2 reached .* NetworkPolicy should block it .*not scored against you/);
  });

  it('a node port whose Service has no endpoints fails the probe and says why, instead of blaming the network', async () => {
    const pod = (name: string, labels: Record<string, string>, extra: Record<string, unknown> = {}): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', labels },
      spec: { containers: [{ name, image: 'docker.io/library/busybox:1.37.0', command: ['sleep', '3600'] }], ...extra },
    });
    const model = await modelWith([
      pod('client', { run: 'client' }),
      pod('hostnet', { run: 'hostnet' }, { hostNetwork: true }),
      pod('web', { app: 'web' }),
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web-np', namespace: 'default' },
        spec: { type: 'NodePort', selector: { app: 'nobody' }, ports: [{ port: 80, targetPort: 80, nodePort: 30080 }] },
      },
    ]);
    // kube-proxy drops a connection to a node port whose Service has no endpoints: the probe times out.
    const dropping: ClusterPort = {
      ...bind(model),
      exec: async () => ({ stdout: '', stderr: 'nc: connect to 172.18.0.2 port 30080 (tcp) timed out\n', exitCode: 1 }),
    };
    const lab = labOf([
      { id: 'np', kind: 'probe', from: 'default/client', to: { pod: 'default/hostnet' }, port: 30080, expect: 'reachable', message: 'node port answers' },
    ]);
    const report = await gradeLab(lab, { port: dropping, ...fast });
    const c = report.tasks[0]?.checks[0];
    assert.equal(c?.status, 'fail', c?.explanation);
    assert.match(c?.explanation ?? '', /node port 30080 of Service default\/web-np: Service default\/web-np selects no pods/);
    // A port no Service has keeps the network suspicion: nothing there should drop a connection.
    const other = await gradeLab(
      labOf([
        {
          id: 'np',
          kind: 'probe',
          from: 'default/client',
          to: { pod: 'default/hostnet' },
          port: 30999,
          expect: 'reachable',
          message: 'some node port answers',
        },
      ]),
      { port: dropping, ...fast },
    );
    assert.equal(other.tasks[0]?.checks[0]?.status, 'error');
  });

  it('counts an HTTP error status as a working connection', () => {
    assert.equal(classifyProbe('http', 1, '', 'wget: server returned error: HTTP/1.1 404 Not Found\n').kind, 'connected');
    assert.equal(classifyProbe('http', 1, '', 'wget: download timed out\n').kind, 'timeout');
    assert.equal(classifyProbe('http', 1, '', "wget: can't connect to remote host (10.96.0.5): Connection refused\n").kind, 'refused');
    assert.equal(classifyProbe('http', 1, '', "wget: bad address 'nope'\n").kind, 'dns');
    assert.equal(classifyProbe('tcp', 143, '', '').kind, 'connected', 'timeout ended a connected nc');
    assert.equal(classifyProbe('tcp', 1, '', 'nc: timed out\n').kind, 'timeout');
  });

  it('reads the final status of wget -S, after redirects', () => {
    const redirected = '  HTTP/1.1 301 Moved Permanently\n  Location: /api/\n  HTTP/1.1 200 OK\nremote file exists\n';
    assert.deepEqual(classifyProbe('http', 0, '', redirected), { kind: 'connected', detail: 'HTTP 200 OK', httpStatus: 200 });
    assert.deepEqual(classifyProbe('http', 1, '', '  HTTP/1.1 404 Not Found\nwget: server returned error: HTTP/1.1 404 Not Found\n'), {
      kind: 'connected',
      detail: 'HTTP 404 Not Found',
      httpStatus: 404,
    });
    assert.ok(
      statusMatches('2xx', 204) && statusMatches(200, 200) && !statusMatches('2xx', 404) && !statusMatches(200, 201) && !statusMatches('2xx', undefined),
    );
  });

  it('httpStatus: a reachable server that answers 404 fails, and says so; the right status passes', async () => {
    const model = await modelWith(lab9Setup);
    const probe = (path: string) => ({
      kind: 'probe',
      from: 'default/sleepybox1',
      to: { service: 'restricted/lab9server' },
      port: 80,
      path,
      expect: 'reachable',
      httpStatus: '2xx',
      message: 'the page is served',
    });
    const report = await gradeLab(labOf([probe('/missing'), probe('/')]), { port: bind(model), ...fast });
    const [missing, served] = report.tasks[0]?.checks ?? [];
    assert.equal(missing?.status, 'fail');
    assert.equal(missing?.expected, 'reachable (HTTP 2xx)');
    assert.match(missing?.explanation ?? '', /but the answer was HTTP 404 Not Found, not HTTP 2xx/);
    assert.equal(served?.status, 'pass');
    assert.throws(() => check({ ...probe('/'), expect: 'blocked' }), /httpStatus needs protocol: http and expect: reachable/);
  });

  it('a source container that dies between the status read and the exec fails the probe, not the grade', async () => {
    const model = await modelWith(lab9Setup);
    const crashing: ClusterPort = {
      ...bind(model),
      exec: async () => {
        throw new ClusterError('api', 'exec in default/sleepybox1: unable to upgrade connection: container not found ("sleepybox1")');
      },
    };
    const report = await gradeLab(labOf([lab9Checks[0]!]), { port: crashing, ...fast });
    const c = report.tasks[0]?.checks[0];
    assert.equal(c?.status, 'fail');
    assert.match(c?.explanation ?? '', /is not running \(it is restarting\)/);
  });

  it('runs checks concurrently up to the limit and keeps report order', async () => {
    let inFlight = 0;
    let peak = 0;
    // Every read is held until the test lets one go, so the engine cannot finish a check early and
    // hide a missing limit. The engine starts checks through promise continuations only (no timers
    // or I/O before the port call), so when setImmediate runs, every check it would start while
    // these are held has started: only then is the newest let go, which also finishes the checks
    // out of order for the report to put back.
    const held: (() => void)[] = [];
    let releaseScheduled = false;
    const releaseNewestOnceQuiet = () => {
      if (releaseScheduled) return;
      releaseScheduled = true;
      setImmediate(() => {
        releaseScheduled = false;
        held.pop()?.();
      });
    };
    const slow: ClusterPort = {
      get: async (ref) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise<void>((release) => {
          held.push(release);
          releaseNewestOnceQuiet();
        });
        inFlight--;
        releaseNewestOnceQuiet();
        return { apiVersion: 'v1', kind: ref.kind, metadata: { name: ref.name } };
      },
      list: async () => [],
      exec: async () => ({ stdout: '', stderr: '', exitCode: 0 }),
      apply: async () => {},
    };
    const checks = Array.from({ length: 20 }, (_, i) => ({
      id: `c${i}`,
      kind: 'exists',
      resource: { kind: 'ConfigMap', namespace: 'x', name: `cm${i}` },
      message: 'exists',
    }));
    const report = await gradeLab(labOf(checks), { port: slow, concurrency: 4 });
    assert.equal(peak, 4);
    assert.deepEqual(
      report.tasks[0]?.checks.map((c) => c.id),
      checks.map((c) => c.id),
    );
    assert.equal(report.score, 10);
  });

  it('grades sharing slots run at most that many checks between them, and a check waiting for a slot is not timed', async () => {
    let inFlight = 0;
    let peak = 0;
    const slow: ClusterPort = {
      get: async (ref) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 40));
        inFlight--;
        return { apiVersion: 'v1', kind: ref.kind, metadata: { name: ref.name } };
      },
      list: async () => [],
      exec: async () => ({ stdout: '', stderr: '', exitCode: 0 }),
      apply: async () => {},
    };
    // Each check takes 40 ms and has 100 ms; 30 of them through 3 slots take about 400 ms in all.
    const checks = Array.from({ length: 10 }, (_, i) => ({
      id: `c${i}`,
      kind: 'exists',
      resource: { kind: 'ConfigMap', namespace: 'x', name: `cm${i}` },
      message: 'exists',
      timeoutSeconds: 0.1,
    }));
    const slots = new CheckSlots(3);
    const reports = await Promise.all([1, 2, 3].map(() => gradeLab(labOf(checks), { port: slow, concurrency: 4, slots })));
    assert.equal(peak, 3);
    for (const r of reports) assert.equal(r.score, 10, JSON.stringify(r.tasks[0]?.checks.filter((c) => c.status !== 'pass')));
  });

  it('turns a hung call, a throwing port and a cluster error into error results, never an exception', async () => {
    const port: ClusterPort = {
      get: async (ref) => {
        if (ref.name === 'hang') return new Promise(() => {});
        if (ref.name === 'boom') throw new TypeError('cannot read properties of undefined');
        throw new ClusterError('unreachable', 'connect ECONNREFUSED 172.18.0.2:6443');
      },
      list: async () => [],
      exec: async () => ({ stdout: '', stderr: '', exitCode: 0 }),
      apply: async () => {},
    };
    const checks = ['hang', 'boom', 'down'].map((name) => ({
      id: name,
      kind: 'exists',
      resource: { kind: 'ConfigMap', namespace: 'x', name },
      message: 'exists',
      timeoutSeconds: 0.1,
    }));
    const report = await gradeLab(labOf(checks), { port });
    const [hang, boom, down] = report.tasks[0]?.checks ?? [];
    assert.equal(hang?.status, 'error');
    assert.match(hang?.explanation ?? '', /did not finish within 0 s|did not finish within/);
    assert.equal(boom?.status, 'error');
    assert.match(boom?.explanation ?? '', /the grader failed on this check: cannot read properties/);
    assert.equal(down?.status, 'error');
    assert.match(down?.explanation ?? '', /the cluster did not answer/);
    assert.equal(report.score, 0);
  });

  it('reports expected vs actual for field checks', async () => {
    const port = await modelWith([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'facts', namespace: 'default' }, data: { clusterDomain: 'cluster.local', other: 'x' } },
    ]);
    const report = await gradeLab(
      labOf([
        {
          id: 'ok',
          kind: 'field',
          resource: { kind: 'ConfigMap', namespace: 'default', name: 'facts' },
          path: '{.data.clusterDomain}',
          equals: 'cluster.local',
          message: 'domain',
        },
        {
          id: 'bad',
          kind: 'field',
          resource: { kind: 'ConfigMap', namespace: 'default', name: 'facts' },
          path: '{.data.other}',
          equals: 'y',
          message: 'other',
        },
      ]),
      { port },
    );
    const [ok, bad] = report.tasks[0]?.checks ?? [];
    assert.equal(ok?.status, 'pass');
    assert.deepEqual([bad?.status, bad?.expected, bad?.actual], ['fail', 'y', 'x']);
    assert.equal(report.score, 5);
  });

  it('resolves DNS names through the pod resolv.conf search list, since busybox nslookup does not', async () => {
    const conf = parseResolvConf('search frontend.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
    assert.deepEqual(dnsCandidates('orders.backend', conf).slice(0, 2), ['orders.backend.frontend.svc.cluster.local', 'orders.backend.svc.cluster.local']);
    assert.deepEqual(dnsCandidates('kubernetes.default.svc.cluster.local.', conf), ['kubernetes.default.svc.cluster.local']);
    assert.equal(
      dnsCandidates('kubernetes.default.svc.cluster.local', conf)[0],
      'kubernetes.default.svc.cluster.local',
      'already fully qualified: asked first',
    );
    assert.equal(dnsCandidates('orders', conf).at(-1), 'orders', 'a short name is tried as written last');
    assert.deepEqual(parseNslookup('Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\torders.backend.svc.cluster.local\nAddress: 10.96.0.22\n'), [
      '10.96.0.22',
    ]);
    const port = await modelWith([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'backend' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'orders', namespace: 'backend' }, spec: { selector: { app: 'orders' }, ports: [{ port: 80 }] } },
      ...lab9Setup.slice(3),
    ]);
    const report = await gradeLab(
      labOf([
        { id: 'short', kind: 'dns', from: 'default/sleepybox1', name: 'orders.backend', expect: 'resolves', address: 'backend/orders', message: 'resolves' },
        { id: 'none', kind: 'dns', from: 'default/sleepybox1', name: 'orders', expect: 'fails', message: 'short name does not resolve outside backend' },
      ]),
      { port },
    );
    assert.deepEqual(
      report.tasks[0]?.checks.map((c) => c.status),
      ['pass', 'pass'],
    );
    assert.match(report.tasks[0]?.checks[0]?.actual ?? '', /^orders\.backend\.svc\.cluster\.local → 10\.96\./);
    assert.match(
      report.tasks[0]?.checks[0]?.explanation ?? '',
      /^orders\.backend resolved from sleepybox1 as orders\.backend\.svc\.cluster\.local → 10\.96\.\S+ \(the search list of its \/etc\/resolv\.conf, default\.svc\.cluster\.local svc\.cluster\.local cluster\.local, completed the name\), asking 10\.96\.0\.10$/,
    );
    assert.match(report.tasks[0]?.checks[1]?.explanation ?? '', /^orders does not resolve from sleepybox1 \(tried orders\.default\.svc\.cluster\.local, /);
  });

  it('explains a probe through an ingress controller by the Ingress rule it matched, not by NetworkPolicy', async () => {
    const ingress = (name: string, paths: { path: string; pathType: string; service: string; port: number }[], className?: string): KubeObject => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: 'restricted' },
      spec: {
        ...(className ? { ingressClassName: className } : {}),
        rules: [
          { http: { paths: paths.map((p) => ({ path: p.path, pathType: p.pathType, backend: { service: { name: p.service, port: { number: p.port } } } })) } },
        ],
      },
    });
    const port = await modelWith([
      ...lab9Setup,
      { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'traefik' }, spec: { controller: 'traefik.io/ingress-controller' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: 'restricted' }, spec: { selector: { app: 'api' }, ports: [{ port: 80 }] } },
      ingress(
        'shop',
        [
          { path: '/api', pathType: 'Exact', service: 'api', port: 8080 },
          { path: '/', pathType: 'Prefix', service: 'web', port: 80 },
        ],
        'traefik',
      ),
      ingress('docs', [{ path: '/docs', pathType: 'Prefix', service: 'docs', port: 80 }]),
    ]);
    // lab9server stands in for the controller: no Ingress routes to it, so it is the entry point.
    const probe = (path: string) => ({
      kind: 'probe',
      from: 'default/sleepybox1',
      to: { service: 'restricted/lab9server' },
      port: 80,
      path,
      expect: 'reachable',
      httpStatus: 200,
      message: `${path} is served`,
    });
    const report = await gradeLab(labOf([probe('/api/status'), probe('/api')]), { port: bind(port), ...fast });
    const [status, api] = report.tasks[0]?.checks ?? [];
    assert.match(
      status?.explanation ?? '',
      /: the request for \/api\/status matched Ingress restricted\/shop \(class traefik\), path \/ \(Prefix\) → Service web port 80, but Service restricted\/web does not exist; Ingress restricted\/docs names no ingressClassName and no IngressClass is the default, so no controller serves it$/,
    );
    assert.match(api?.explanation ?? '', /path \/api \(Exact\) → Service api port 8080, but Service restricted\/api has no port 8080 \(its ports: 80\);/);
  });

  it('fails a probe whose source pod does not exist, naming it', async () => {
    const report = await gradeLab(
      labOf([{ kind: 'probe', from: 'podnet/visitor', to: { host: '10.0.0.1' }, port: 80, expect: 'reachable', message: 'visitor reaches' }]),
      { port: await modelWith([]), ...fast },
    );
    const c = report.tasks[0]?.checks[0];
    assert.equal(c?.status, 'fail');
    assert.equal(c?.id, 'probe-1');
    assert.match(c?.explanation ?? '', /pod podnet\/visitor does not exist/);
  });
});

function bind(m: ModelCluster): ClusterPort {
  return { get: m.get.bind(m), list: m.list.bind(m), exec: m.exec.bind(m), apply: m.apply.bind(m) };
}

describe('checks that reach nodes, the workstation and RBAC', () => {
  const execResult = (stdout: string, exitCode = 0) => ({ stdout, stderr: '', exitCode });

  it('node checks run on the node a role names, as kind names them, and explain a wrong exit code', async () => {
    const ran: { node: string; argv: readonly string[] }[] = [];
    const nodes = {
      exec: async (node: string, argv: readonly string[]) => {
        ran.push({ node, argv });
        return node.endsWith('-worker2') ? execResult('inactive\n', 3) : execResult('active\n');
      },
    };
    const port = new ModelCluster({ workers: 2, name: 'kd' });
    const lab = labOf([
      { id: 'w1', kind: 'node', node: 'worker', run: 'systemctl is-active kubelet', equals: 'active', message: 'kubelet runs on worker' },
      { id: 'w2', kind: 'node', node: 'worker2', run: 'systemctl is-active kubelet', equals: 'active', message: 'kubelet runs on worker2' },
      { id: 'cp', kind: 'node', node: 'control-plane', run: 'true', message: 'control plane answers' },
    ]);
    const report = await gradeLab(lab, { port, nodes, ...fast });
    const [w1, w2, cp] = report.tasks[0]?.checks ?? [];
    assert.deepEqual(ran.map((r) => r.node).sort(), ['kd-control-plane', 'kd-worker', 'kd-worker2']);
    assert.deepEqual(ran[0]?.argv.slice(0, 2), ['bash', '-c']);
    assert.equal(w1?.status, 'pass');
    assert.equal(cp?.status, 'pass');
    assert.equal(w2?.status, 'fail');
    assert.match(w2?.explanation ?? '', /on kd-worker2 \(worker2\), `systemctl is-active kubelet` exited with 3, expected 0: inactive/);
  });

  it('a multi-line node script or sameAs script is named in the explanation, not quoted whole', async () => {
    const nodes = { exec: async () => execResult('first\nno snapshot at /srv/backup/x.db\n', 1) };
    const workstation = { exec: async (argv: readonly string[]) => (argv[0] === 'sh' ? execResult('2036-12-03\n') : execResult('2027-12-06\n')) };
    const lab = labOf([
      { id: 'n', kind: 'node', node: 'control-plane', run: 'f=/srv/backup/x.db\n[ -s "$f" ] || exit 1', message: 'snapshot' },
      { id: 'w', kind: 'workstation', file: '/opt/course/a.txt', sameAs: 'end=$(openssl x509 -enddate)\ndate -d "$end" +%F', message: 'expiry' },
    ]);
    const report = await gradeLab(lab, { port: new ModelCluster({ workers: 0, name: 'kd' }), nodes, workstation, ...fast });
    const [n, w] = report.tasks[0]?.checks ?? [];
    assert.equal(n?.explanation, 'on kd-control-plane (control-plane), the check script exited with 1, expected 0: no snapshot at /srv/backup/x.db');
    assert.equal(
      w?.explanation,
      'file /opt/course/a.txt differs from what the reference script prints now, first at line 1: expected "2027-12-06", found "2036-12-03"',
    );
  });

  it('node and workstation checks say why they cannot run where there is no node or workstation access', async () => {
    const lab = labOf([
      { kind: 'node', node: 'worker', run: 'true', message: 'node' },
      { kind: 'workstation', file: '/opt/course/1/a.txt', message: 'file' },
    ]);
    const report = await gradeLab(lab, { port: new ModelCluster({ workers: 1 }), ...fast });
    const [n, w] = report.tasks[0]?.checks ?? [];
    assert.equal(n?.status, 'error');
    assert.match(n?.explanation ?? '', /only a real cluster has/);
    assert.equal(w?.status, 'error');
    assert.match(w?.explanation ?? '', /workstation container/);
  });

  it('workstation files are compared with what a command prints at grade time, first differing line named', async () => {
    const files: Record<string, string> = { '/opt/course/4/errors.txt': 'ERROR one\nERROR two\n' };
    const workstation = {
      exec: async (argv: readonly string[]) => {
        if (argv[0] === 'sh') {
          const file = argv[4] ?? '';
          return file in files ? execResult(files[file] ?? '') : execResult('', 3);
        }
        return execResult('ERROR one\nERROR three\n');
      },
    };
    const lab = labOf([
      { id: 'same', kind: 'workstation', file: '/opt/course/4/errors.txt', sameAs: 'kubectl logs x | grep ERROR', message: 'errors.txt' },
      { id: 'missing', kind: 'workstation', file: '/opt/course/4/other.txt', message: 'other.txt exists' },
      { id: 'contains', kind: 'workstation', file: '/opt/course/4/errors.txt', contains: ['ERROR two'], message: 'has two' },
    ]);
    const report = await gradeLab(lab, { port: new ModelCluster(), workstation, ...fast });
    const [same, missing, contains] = report.tasks[0]?.checks ?? [];
    assert.equal(same?.status, 'fail');
    assert.match(same?.explanation ?? '', /first at line 2: expected "ERROR three", found "ERROR two"/);
    assert.equal(missing?.status, 'fail');
    assert.match(missing?.explanation ?? '', /does not exist on the workstation/);
    assert.equal(contains?.status, 'pass');
  });

  it('access checks send the identity kubectl --as would impersonate and report the API answer', async () => {
    const model = new ModelCluster();
    const sent: KubeObject[] = [];
    const port: ClusterPort = {
      get: (r, o) => model.get(r, o),
      list: (q, o) => model.list(q, o),
      exec: (p, a, o) => model.exec(p, a, o),
      apply: (x, o) => model.apply(x, o),
      create: async (obj) => {
        sent.push(obj);
        const spec = obj.spec as { resourceAttributes: { verb: string } };
        const allowed = spec.resourceAttributes.verb === 'create';
        return { ...obj, status: { allowed, reason: allowed ? 'RBAC: allowed by RoleBinding "bot/payments"' : '' } };
      },
    };
    const lab = labOf([
      {
        id: 'create',
        kind: 'access',
        as: { serviceAccount: 'payments/bot' },
        verb: 'create',
        resource: 'deployments.apps',
        namespace: 'payments',
        expect: 'allowed',
        message: 'bot creates',
      },
      {
        id: 'delete',
        kind: 'access',
        as: { serviceAccount: 'payments/bot' },
        verb: 'delete',
        resource: 'deployments.apps/scale',
        namespace: 'payments',
        expect: 'allowed',
        message: 'bot deletes',
      },
    ]);
    const report = await gradeLab(lab, { port, ...fast });
    const [create, del] = report.tasks[0]?.checks ?? [];
    assert.equal(create?.status, 'pass');
    assert.equal(del?.status, 'fail');
    assert.match(del?.explanation ?? '', /kubectl auth can-i delete deployments\.apps\/scale -n payments --as=system:serviceaccount:payments:bot` → no/);
    const spec = sent[1]?.spec as { user: string; groups: string[]; resourceAttributes: Record<string, string> };
    assert.equal(spec.user, 'system:serviceaccount:payments:bot');
    assert.deepEqual(spec.groups, ['system:serviceaccounts', 'system:serviceaccounts:payments', 'system:authenticated']);
    assert.deepEqual(spec.resourceAttributes, { verb: 'delete', group: 'apps', resource: 'deployments', subresource: 'scale', namespace: 'payments' });
  });

  it('placement checks compare where pods run with nodes by selector or role', async () => {
    const port = new ModelCluster({ workers: 2, name: 'kd' });
    const pod = (name: string, extra: Record<string, unknown>) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default', labels: { app: 'crunch' } },
      spec: { containers: [{ name: 'c', image: 'docker.io/library/busybox:1.37.0', command: ['sleep', '3600'] }], ...extra },
    });
    await port.apply([
      pod('on-w2', { nodeSelector: { 'kubernetes.io/hostname': 'kd-worker2' } }),
      pod('on-w1', { nodeSelector: { 'kubernetes.io/hostname': 'kd-worker' } }),
    ]);
    const lab = labOf([
      {
        id: 'all',
        kind: 'placement',
        pods: { namespace: 'default', selector: 'app=crunch' },
        nodes: { role: 'worker2' },
        expect: 'all',
        min: 2,
        message: 'all on worker2',
      },
      {
        id: 'any',
        kind: 'placement',
        pods: { namespace: 'default', selector: 'app=crunch' },
        nodes: { selector: 'kubernetes.io/hostname=kd-worker2' },
        expect: 'any',
        message: 'one on worker2',
      },
      {
        id: 'none',
        kind: 'placement',
        pods: { namespace: 'default', selector: 'app=crunch' },
        nodes: { role: ['control-plane', 'worker'] },
        expect: 'none',
        message: 'none on cp or worker1',
      },
    ]);
    const report = await gradeLab(lab, { port, ...fast });
    const [all, any, none] = report.tasks[0]?.checks ?? [];
    assert.equal(all?.status, 'fail');
    assert.match(all?.explanation ?? '', /on-w1 is on kd-worker/);
    assert.equal(any?.status, 'pass');
    assert.equal(none?.status, 'fail');
    assert.match(none?.explanation ?? '', /on-w1 is placed on/);
  });

  it('volume check declarations: a file is relative to the mount, and equals/matches/contains need a file', () => {
    const base = { kind: 'volume', pods: 'books/ledger', claim: 'ledger-claim', message: 'ledger mounts its claim' };
    assert.equal(CheckDecl.safeParse({ ...base, file: 'logs/app.log', contains: ['ok'] }).success, true);
    assert.equal(CheckDecl.safeParse({ ...base, file: '/etc/passwd' }).success, false);
    assert.equal(CheckDecl.safeParse({ ...base, file: '../../etc/passwd' }).success, false);
    const noFile = CheckDecl.safeParse({ ...base, equals: 'x' });
    assert.equal(noFile.success, false);
    assert.match(noFile.error?.issues[0]?.message ?? '', /add file/);
    assert.equal(CheckDecl.safeParse({ ...base, file: 'a', equals: 'x', contains: ['y'] }).success, false);
  });

  it('volume checks: pods mount the claim where asked, the claim is Bound to the named volume, and a file on it holds the data', async () => {
    const m = new ModelCluster({ workers: 0 });
    const pv = (claimRef?: Record<string, string>): KubeObject => ({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'ledger-pv' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: 'manual',
        hostPath: { path: '/srv/ledger' },
        ...(claimRef ? { claimRef } : {}),
      },
    });
    const claim = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: 'books' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '500Mi' } }, ...extra },
    });
    const reader = (name: string, claimName: string, mountPath = '/ledger'): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'books', labels: { app: name } },
      spec: {
        containers: [{ name: 'main', image: 'docker.io/library/busybox:1.37.0', command: ['sleep', '3600'], volumeMounts: [{ name: 'data', mountPath }] }],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
      },
    });
    await m.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'books' } },
      pv({ namespace: 'books', name: 'old', uid: 'deleted-claim' }),
      claim('ledger-claim', { storageClassName: 'manual' }),
      reader('ledger', 'ledger-claim'),
    ]);
    const check = (extra: Record<string, unknown> = {}) => ({
      kind: 'volume',
      pods: { namespace: 'books', selector: 'app=ledger' },
      claim: 'ledger-claim',
      mountPath: '/ledger',
      persistentVolume: 'ledger-pv',
      message: 'ledger mounts ledger-claim',
      ...extra,
    });
    const grade = async (port: ClusterPort, checks: Record<string, unknown>[]) => (await gradeLab(labOf(checks), { port, ...fast })).tasks[0]?.checks ?? [];

    // The Retain volume still names the deleted claim: Released, so the new claim and its pod wait.
    let [c] = await grade(m, [check()]);
    assert.equal(c?.status, 'fail');
    assert.match(
      c?.explanation ?? '',
      /claim books\/ledger-claim is Pending: no PersistentVolume of class manual is Available .*ledger-pv Released \(ReadWriteOnce, its claimRef still names the deleted claim books\/old: remove spec.claimRef/,
    );

    // claimRef cleared: the claim binds the same volume and the pod runs with it mounted.
    await m.apply([pv()]);
    [c] = await grade(m, [check()]);
    assert.equal(c?.status, 'pass', c?.explanation);
    assert.match(c?.actual ?? '', /1 of 1 pod\(s\) Running, claim books\/ledger-claim Bound to ledger-pv/);

    // The model has no files: a file part is an error that says why, not a verdict.
    [c] = await grade(m, [check({ file: 'ledger.txt', contains: ['txn-0042'] })]);
    assert.equal(c?.status, 'error');
    assert.match(c?.explanation ?? '', /reading \/ledger\/ledger\.txt in pod ledger needs a real cluster/);

    // A cluster with files: read by exec in the container that mounts the claim, at the mount.
    const ran: { container: string | undefined; argv: readonly string[] }[] = [];
    const files: ClusterPort = {
      get: (ref, o) => m.get(ref, o),
      list: (q, o) => m.list(q, o),
      apply: (objs, o) => m.apply(objs, o),
      exec: async (target, argv) => {
        ran.push({ container: target.container, argv });
        return argv.at(-1) === '/ledger/ledger.txt' ? { stdout: 'txn-0041\ntxn-0042\n', stderr: '', exitCode: 0 } : { stdout: '', stderr: '', exitCode: 3 };
      },
    };
    const [holds, lacks, missing] = await grade(files, [
      check({ id: 'holds', file: 'ledger.txt', contains: ['txn-0042'] }),
      check({ id: 'lacks', file: 'ledger.txt', contains: ['txn-9999'] }),
      check({ id: 'missing', file: 'other.txt' }),
    ]);
    assert.equal(holds?.status, 'pass', holds?.explanation);
    assert.equal(ran[0]?.container, 'main');
    assert.equal(lacks?.status, 'fail');
    assert.match(lacks?.explanation ?? '', /\/ledger\/ledger\.txt in pod ledger \(container main\) holds "txn-0041\ntxn-0042", which lacks "txn-9999"/);
    assert.equal(missing?.status, 'fail');
    assert.match(missing?.explanation ?? '', /\/ledger\/other\.txt in pod ledger \(container main\) does not exist/);

    // Wrong mount path, a pod without the claim, and a claim from the default class (a new, empty volume).
    await m.apply([
      reader('elsewhere', 'ledger-claim', '/data'),
      {
        ...reader('scratch', 'ledger-claim'),
        spec: {
          containers: [{ name: 'main', image: 'docker.io/library/busybox:1.37.0', command: ['sleep', '3600'] }],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    ]);
    await m.apply([claim('fresh'), reader('fresh', 'fresh'), claim('shared', { accessModes: ['ReadWriteMany'] }), reader('shared', 'shared')]);
    const [elsewhere, scratch, fresh, shared] = await grade(m, [
      check({ id: 'elsewhere', pods: 'books/elsewhere', persistentVolume: undefined }),
      check({ id: 'scratch', pods: 'books/scratch' }),
      check({ id: 'fresh', pods: 'books/fresh', claim: 'fresh' }),
      check({ id: 'shared', pods: 'books/shared', claim: 'shared', persistentVolume: undefined }),
    ]);
    assert.match(elsewhere?.explanation ?? '', /pod elsewhere has a volume from claim books\/ledger-claim but mounts it at \/data in main, not at \/ledger/);
    assert.match(scratch?.explanation ?? '', /pod scratch does not use claim books\/ledger-claim: its volumes are data → emptyDir/);
    assert.match(fresh?.explanation ?? '', /claim books\/fresh is Bound to PersistentVolume pvc-\w+, not to ledger-pv/);
    assert.match(shared?.explanation ?? '', /claim books\/shared is Pending: StorageClass standard binds WaitForFirstConsumer/);

    // A class without a provisioner only binds volumes made by hand.
    await m.apply([
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'local' },
        provisioner: 'kubernetes.io/no-provisioner',
        volumeBindingMode: 'WaitForFirstConsumer',
      },
      claim('handmade', { storageClassName: 'local' }),
      reader('handmade', 'handmade'),
    ]);
    const [handmade] = await grade(m, [check({ pods: 'books/handmade', claim: 'handmade', persistentVolume: undefined })]);
    assert.match(
      handmade?.explanation ?? '',
      /claim books\/handmade is Pending: StorageClass local has no provisioner \(kubernetes.io\/no-provisioner\): only a PersistentVolume of class local made by hand can bind it/,
    );

    // Mid-rollout: the old pod (no claim) still runs, the new one cannot start; the explanation says why.
    const web = (name: string, volume: Record<string, unknown>): KubeObject => ({
      ...reader(name, 'shared'),
      metadata: { name, namespace: 'books', labels: { app: 'web' } },
      spec: { ...(reader(name, 'shared').spec as object), volumes: [{ name: 'data', ...volume }] },
    });
    await m.apply([web('web-old', { emptyDir: {} }), web('web-new', { persistentVolumeClaim: { claimName: 'shared' } })]);
    const [rollout] = await grade(m, [check({ pods: { namespace: 'books', selector: 'app=web' }, claim: 'shared', persistentVolume: undefined })]);
    assert.match(
      rollout?.explanation ?? '',
      /pod web-old does not use claim books\/shared: its volumes are data → emptyDir; web-new, which uses it, is Pending: running PreBind plugin "VolumeBinding"/,
    );
  });

  it('a required check that fails makes its task score 0', async () => {
    const nodes = { exec: async () => execResult('', 1) };
    const lab = labOf([
      { id: 'must', kind: 'node', node: 'worker', run: 'false', required: true, message: 'the essential part' },
      { id: 'other', kind: 'exists', resource: { kind: 'Namespace', name: 'default' }, message: 'a namespace exists' },
    ]);
    const report = await gradeLab(lab, { port: new ModelCluster({ workers: 1 }), nodes, ...fast });
    assert.equal(report.tasks[0]?.checks[1]?.status, 'pass');
    assert.equal(report.score, 0);
  });
});
