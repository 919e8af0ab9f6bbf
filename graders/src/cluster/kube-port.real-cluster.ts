import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import { createKubePort } from './kube-port.ts';
import type { ClusterPort, KubeObject } from './port.ts';

// The real adapter against a real cluster: server-side apply, reads, and exec with exit codes.
// Not a *.test.ts file, so no test stage picks it up on its own: scripts/testbed.cluster.test.ts runs
// it (node --test <this file>) against its proof cluster with KUBEDRILL_TEST_KUBECONFIG set; run it
// the same way against any throwaway cluster whose nodes have docker.io/library/busybox:1.37.0.
// Without the variable it skips and says why. The test namespace is left behind (the port has no
// delete, by design): use a throwaway cluster.

const kubeconfig = process.env.KUBEDRILL_TEST_KUBECONFIG;
const ns = `kdtest-port-${randomBytes(3).toString('hex')}`;
let port: ClusterPort;
let skip: string | false = false;

before(async () => {
  if (!kubeconfig) skip = 'KUBEDRILL_TEST_KUBECONFIG is not set (point it at a throwaway cluster)';
  else if (!existsSync(kubeconfig)) skip = `KUBEDRILL_TEST_KUBECONFIG names ${kubeconfig}, which does not exist`;
  if (skip) return;
  port = createKubePort(kubeconfig ?? '');
  try {
    await port.list({ apiVersion: 'v1', kind: 'Namespace' }, { timeoutMs: 5000 });
  } catch (e) {
    skip = `the cluster does not answer: ${(e as Error).message}`;
  }
});

test('applies, reads and execs against a real cluster', async (t) => {
  if (skip) {
    t.skip(skip);
    return;
  }
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'box', namespace: ns, labels: { run: 'box' } },
    spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'box', image: 'docker.io/library/busybox:1.37.0', command: ['sleep', '3600'] }] },
  };
  await port.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, pod], { fieldManager: 'kubedrill-test' });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const p = await port.get({ apiVersion: 'v1', kind: 'Pod', namespace: ns, name: 'box' });
    if ((p?.status as { phase?: string } | undefined)?.phase === 'Running') break;
    assert.ok(Date.now() < deadline, 'pod box did not start within 2 minutes');
    await new Promise((r) => setTimeout(r, 1000));
  }
  const listed = await port.list({ apiVersion: 'v1', kind: 'Pod', namespace: ns, labelSelector: 'run=box' });
  assert.deepEqual(
    listed.map((p) => p.metadata.name),
    ['box'],
  );
  const ok = await port.exec({ namespace: ns, name: 'box' }, ['sh', '-c', 'echo out; echo err >&2']);
  assert.deepEqual(ok, { stdout: 'out\n', stderr: 'err\n', exitCode: 0 });
  const failed = await port.exec({ namespace: ns, name: 'box' }, ['sh', '-c', 'exit 3']);
  assert.equal(failed.exitCode, 3);
  await assert.rejects(port.exec({ namespace: ns, name: 'box' }, ['sleep', '10'], { timeoutMs: 500 }), /timed out/);
});
