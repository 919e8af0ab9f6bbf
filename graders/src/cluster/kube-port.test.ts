import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { WebSocketServer, type WebSocket } from 'ws';
import { createKubePort, exitFromStatus } from './kube-port.ts';
import { createKubeconfigScriptRunner } from './script-runner.ts';
import { ClusterError } from './port.ts';

// A local fake API server: discovery, reads, server-side apply, and exec over the channel protocol
// (v5.channel.k8s.io or v4), with scripted behaviours per command.

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
  authorization: string | undefined;
}

const seen: Seen[] = [];
const pods: Record<string, unknown> = {
  sleepybox1: {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'sleepybox1', namespace: 'default', labels: { run: 'sleepybox1' } },
    spec: { containers: [{ name: 'box' }, { name: 'side' }] },
  },
};
let crdServed = false;
// Gadget's CRD is deleted and made again with another scope while a port has it in discovery.
let gadgetsNamespaced = false;
let server: http.Server;
let wss: WebSocketServer;
let url = '';
let acceptProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

function send(res: http.ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function frame(channel: number, text: string): Buffer {
  return Buffer.concat([Buffer.from([channel]), Buffer.from(text)]);
}

function handleExec(ws: WebSocket, params: URLSearchParams) {
  const command = params.getAll('command');
  const container = params.get('container');
  const script = command.join(' ');
  if (script === 'echo hi') {
    ws.send(frame(1, `hi from ${container}\n`));
    ws.send(frame(3, JSON.stringify({ status: 'Success', metadata: {} })));
  } else if (script === 'fail') {
    ws.send(frame(2, 'wget: download timed out\n'));
    ws.send(
      frame(
        3,
        JSON.stringify({
          status: 'Failure',
          reason: 'NonZeroExitCode',
          message: 'command terminated with non-zero exit code: exit status 1',
          details: { causes: [{ reason: 'ExitCode', message: '1' }] },
        }),
      ),
    );
  } else if (script === 'hang') {
    // never answers
  } else if (script === 'drop') {
    ws.send(frame(1, 'partial'));
    ws.terminate();
  } else if (script === 'protocol') {
    ws.send(frame(1, ws.protocol));
    ws.send(frame(3, JSON.stringify({ status: 'Success' })));
  }
}

before(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString(),
        authorization: req.headers.authorization,
      });
      if (u.pathname === '/api/v1') {
        send(res, 200, {
          kind: 'APIResourceList',
          resources: [
            { name: 'pods', namespaced: true, kind: 'Pod' },
            { name: 'pods/exec', namespaced: true, kind: 'PodExecOptions' },
            { name: 'namespaces', namespaced: false, kind: 'Namespace' },
          ],
        });
      } else if (u.pathname === '/apis/example.com/v1') {
        if (!crdServed) {
          crdServed = true; // served from the second discovery on, like a CRD becoming Established
          send(res, 404, { kind: 'Status', message: 'not found' });
        } else send(res, 200, { resources: [{ name: 'widgets', namespaced: true, kind: 'Widget' }] });
      } else if (u.pathname === '/api/v1/namespaces/default/pods/sleepybox1') {
        if (req.method === 'GET') send(res, 200, pods.sleepybox1);
        else send(res, 200, JSON.parse(Buffer.concat(chunks).toString()));
      } else if (u.pathname === '/api/v1/namespaces/default/pods') {
        send(res, 200, { kind: 'PodList', items: [{ metadata: { name: 'sleepybox1', namespace: 'default' } }] });
      } else if (u.pathname === '/api/v1/namespaces/x') {
        send(res, 200, JSON.parse(Buffer.concat(chunks).toString()));
      } else if (u.pathname === '/apis/scoped.example.com/v1') {
        send(res, 200, { resources: [{ name: 'gadgets', namespaced: gadgetsNamespaced, kind: 'Gadget' }] });
      } else if (u.pathname === (gadgetsNamespaced ? '/apis/scoped.example.com/v1/namespaces/shop/gadgets/g' : '/apis/scoped.example.com/v1/gadgets/g')) {
        send(res, 200, { apiVersion: 'scoped.example.com/v1', kind: 'Gadget', metadata: { name: 'g', ...(gadgetsNamespaced ? { namespace: 'shop' } : {}) } });
      } else if (u.pathname.startsWith('/apis/scoped.example.com/')) {
        // What the API server answers where no handler serves a path: plain text, not a Status.
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('404 page not found\n');
      } else if (u.pathname === '/apis/example.com/v1/namespaces/default/widgets/w') {
        send(res, 200, {});
      } else if (u.pathname === '/api/v1/namespaces/default/pods/slow') {
        // never answers: the caller's deadline must end the call
      } else if (u.pathname === '/api/v1/namespaces/default/pods/secret') {
        send(res, 403, { kind: 'Status', message: 'pods "secret" is forbidden' });
      } else send(res, 404, { kind: 'Status', message: 'not found' });
    });
  });
  wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => acceptProtocols.find((p) => offered.has(p)) ?? false,
  });
  server.on('upgrade', (req, socket, head) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname.endsWith('/missing/exec')) {
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\r\n{"kind":"Status","message":"pods \\"missing\\" not found"}');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => handleExec(ws, u.searchParams));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  wss.close();
  server.closeAllConnections();
  server.close();
});

function port() {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'sekret' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return createKubePort(kc);
}

describe('createKubePort', () => {
  it('reads objects as plain API JSON with the kubeconfig credentials', async () => {
    const pod = await port().get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'sleepybox1' });
    assert.deepEqual(pod, pods.sleepybox1);
    assert.equal(seen.at(-1)?.authorization, 'Bearer sekret');
  });

  it('returns undefined for a missing object and for a kind the cluster does not serve', async () => {
    const p = port();
    assert.equal(await p.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'nope' }), undefined);
    assert.equal(await p.get({ apiVersion: 'nothing.io/v1', kind: 'Gadget', namespace: 'default', name: 'g' }), undefined);
  });

  it('lists with a label selector and restores apiVersion and kind on items', async () => {
    const items = await port().list({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', labelSelector: 'run=sleepybox1' });
    assert.equal(items[0]?.kind, 'Pod');
    assert.equal(items[0]?.apiVersion, 'v1');
    assert.match(seen.at(-1)?.url ?? '', /labelSelector=run%3Dsleepybox1/);
  });

  it('applies with server-side apply, in order, waiting for a new CRD kind to be served', async () => {
    seen.length = 0;
    await port().apply(
      [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } },
        { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
      ],
      { fieldManager: 'kubedrill-setup' },
    );
    const patches = seen.filter((s) => s.method === 'PATCH');
    assert.deepEqual(
      patches.map((p) => p.url),
      [
        '/api/v1/namespaces/x?fieldManager=kubedrill-setup&force=true',
        '/apis/example.com/v1/namespaces/default/widgets/w?fieldManager=kubedrill-setup&force=true',
      ],
    );
    assert.equal(patches[0]?.contentType, 'application/apply-patch+yaml');
  });

  it('reads discovery again when a cached kind is no longer served where it was (a CRD made again with another scope)', async () => {
    gadgetsNamespaced = false;
    const p = port();
    const ref = { apiVersion: 'scoped.example.com/v1', kind: 'Gadget', namespace: 'shop', name: 'g' };
    assert.equal((await p.get(ref))?.metadata.namespace, undefined);
    gadgetsNamespaced = true;
    assert.equal((await p.get(ref))?.metadata.namespace, 'shop');
    assert.deepEqual((await p.list({ apiVersion: 'scoped.example.com/v1', kind: 'Gadget', namespace: 'shop' })).length, 0);
    gadgetsNamespaced = false;
    await p.apply([{ apiVersion: 'scoped.example.com/v1', kind: 'Gadget', metadata: { name: 'g' } }]);
    gadgetsNamespaced = true;
    await p.apply([{ apiVersion: 'scoped.example.com/v1', kind: 'Gadget', metadata: { name: 'g', namespace: 'shop' } }], { timeoutMs: 5000 });
    assert.equal(seen.at(-1)?.url.startsWith('/apis/scoped.example.com/v1/namespaces/shop/gadgets/g?'), true);
  });

  it('turns a deadline into ClusterError timeout and a 403 into forbidden', async () => {
    const p = port();
    await assert.rejects(
      p.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'slow' }, { timeoutMs: 200 }),
      (e: unknown) => e instanceof ClusterError && e.reason === 'timeout',
    );
    // Cancelled once the server holds the request: the call is in flight, not refused before it began.
    const ctrl = new AbortController();
    const slowSeen = seen.length;
    const inFlight = (async () => {
      while (!seen.slice(slowSeen).some((r) => r.url.includes('/pods/slow'))) await new Promise((r) => setImmediate(r));
      ctrl.abort();
    })();
    await assert.rejects(
      p.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'slow' }, { signal: ctrl.signal }),
      (e: unknown) => e instanceof ClusterError && e.reason === 'aborted',
    );
    await inFlight;
    await assert.rejects(
      p.get({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'secret' }),
      (e: unknown) => e instanceof ClusterError && e.reason === 'forbidden' && e.status === 403,
    );
  });

  it('execs in the first container by default and reports exit code 0 on Success', async () => {
    const r = await port().exec({ namespace: 'default', name: 'sleepybox1' }, ['echo', 'hi']);
    assert.deepEqual(r, { stdout: 'hi from box\n', stderr: '', exitCode: 0 });
  });

  it('reports the exit code of NonZeroExitCode as a result, not an error', async () => {
    const r = await port().exec({ namespace: 'default', name: 'sleepybox1', container: 'side' }, ['fail']);
    assert.equal(r.exitCode, 1);
    assert.equal(r.stderr, 'wget: download timed out\n');
  });

  it('negotiates v5.channel.k8s.io and falls back to v4', async () => {
    const p = port();
    assert.equal((await p.exec({ namespace: 'default', name: 'sleepybox1', container: 'box' }, ['protocol'])).stdout, 'v5.channel.k8s.io');
    acceptProtocols = ['v4.channel.k8s.io'];
    try {
      assert.equal((await p.exec({ namespace: 'default', name: 'sleepybox1', container: 'box' }, ['protocol'])).stdout, 'v4.channel.k8s.io');
    } finally {
      acceptProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
    }
  });

  it('fails with ClusterError when the exec times out, the socket drops, or the pod is missing', async () => {
    const p = port();
    await assert.rejects(
      p.exec({ namespace: 'default', name: 'sleepybox1', container: 'box' }, ['hang'], { timeoutMs: 200 }),
      (e: unknown) => e instanceof ClusterError && e.reason === 'timeout',
    );
    await assert.rejects(
      p.exec({ namespace: 'default', name: 'sleepybox1', container: 'box' }, ['drop']),
      (e: unknown) => e instanceof ClusterError && e.reason === 'exec' && /before the command reported/.test(e.message),
    );
    await assert.rejects(
      p.exec({ namespace: 'default', name: 'missing', container: 'box' }, ['echo', 'hi']),
      (e: unknown) => e instanceof ClusterError && e.status === 404 && /not found/.test(e.message),
    );
  });

  it('refuses a connection to a dead server as unreachable', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'http://127.0.0.1:9', skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    await assert.rejects(createKubePort(kc).list({ apiVersion: 'v1', kind: 'Pod' }), (e: unknown) => e instanceof ClusterError && e.reason === 'unreachable');
  });
});

describe('exitFromStatus', () => {
  it('reads Success, NonZeroExitCode and other failures', () => {
    assert.deepEqual(exitFromStatus({ status: 'Success' }), { exitCode: 0 });
    assert.deepEqual(exitFromStatus({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '137' }] } }), {
      exitCode: 137,
    });
    assert.deepEqual(exitFromStatus({ status: 'Failure', reason: 'InternalError', message: 'exec: "nc": executable file not found' }), {
      error: 'exec: "nc": executable file not found',
    });
  });
});

describe('createKubeconfigScriptRunner', () => {
  it('runs bash with KUBECONFIG set and returns non-zero exits as results', async () => {
    const calls: { argv: readonly string[]; env?: Readonly<Record<string, string>>; okCodes?: readonly number[] }[] = [];
    const runner = createKubeconfigScriptRunner(
      {
        run: async (spec) => {
          calls.push(spec);
          return { exitCode: 3, stdout: 'checking\nservice has no endpoints\n', stderr: '' };
        },
      },
      '/tmp/kc',
    );
    const r = await runner.run('kubectl get svc', { cwd: '/labs/x' });
    assert.deepEqual(r, { exitCode: 3, output: 'checking\nservice has no endpoints' });
    assert.deepEqual(calls[0]?.argv, ['bash', '-c', 'kubectl get svc']);
    assert.equal(calls[0]?.env?.KUBECONFIG, '/tmp/kc');
    assert.ok(calls[0]?.okCodes?.includes(3));
  });

  it('maps a runner timeout to ClusterError timeout', async () => {
    const runner = createKubeconfigScriptRunner({ run: () => Promise.reject(Object.assign(new Error('timed out'), { reason: 'timeout' })) }, '/tmp/kc');
    await assert.rejects(runner.run('sleep 100', { cwd: '/' }), (e: unknown) => e instanceof ClusterError && e.reason === 'timeout');
  });
});
