import { randomBytes } from 'node:crypto';
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
});
