import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestbedCluster, proofChecks } from './lib/testbed-proof.ts';
import { readTestbedStatus } from './lib/testbed.ts';

// The testbed on a real kind cluster (1 control plane + 2 workers): nodes Ready, pod-to-pod across
// nodes, a Service through kube-proxy, CoreDNS, and a default-deny NetworkPolicy that really blocks
// (kube-router) until an allow rule opens it. Skips with the reason when the testbed is not built
// here (the cluster stage of scripts/test builds it first).

const status = readTestbedStatus();
const skip = status.available ? false : `testbed not available: ${status.reason ?? 'unknown reason'}`;
if (skip) console.log(`# skipping: ${skip}`);

describe('testbed cluster (1 control plane + 2 workers)', { skip }, () => {
  const cluster = new TestbedCluster(`kdtest-tb-${randomBytes(3).toString('hex')}`, 2);

  before(async () => {
    const seconds = await cluster.create();
    console.log(`# kind create cluster, 3 nodes: ${seconds.toFixed(1)} s`);
  });

  after(async () => {
    console.log(`# idle memory per node: ${await cluster.nodeMemory().catch(() => '?')}`);
    await cluster.delete();
  });

  // Each check relies on the ones before it; after a failure the rest report "skipped".
  let failed: string | undefined;
  for (const check of proofChecks(cluster.workers)) {
    test(check.name, async (t) => {
      if (failed) {
        t.skip(`an earlier check failed: ${failed}`);
        return;
      }
      try {
        t.diagnostic(await check.run(cluster));
      } catch (e) {
        failed = check.name;
        throw e;
      }
    });
  }

  // The grading engine's client-node adapter (graders/src/cluster/kube-port.real-cluster.ts needs a
  // throwaway cluster with busybox loaded: this one, once the proof has loaded the lab images).
  test('the real ClusterPort adapter applies, reads and execs with exit codes on this cluster', async (t) => {
    if (failed) return t.skip(`an earlier check failed: ${failed}`);
    const dir = mkdtempSync(path.join(tmpdir(), 'kdtest-port-'));
    try {
      const kubeconfig = path.join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, await cluster.kubeconfig(), { mode: 0o600 });
      const root = path.resolve(import.meta.dirname, '..');
      const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', 'graders/src/cluster/kube-port.real-cluster.ts'], {
        cwd: root,
        // Without NODE_TEST_CONTEXT the child is a test run of its own, not a nested run() (which node skips).
        env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), KUBEDRILL_TEST_KUBECONFIG: kubeconfig },
        encoding: 'utf8',
        timeout: 300_000,
      });
      const out = `${r.stdout}${r.stderr}`;
      assert.equal(r.status, 0, out);
      assert.match(out, /ℹ pass [1-9]/, `the adapter test must run here, not skip:\n${out}`);
      assert.match(out, /ℹ skipped 0/, out);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
