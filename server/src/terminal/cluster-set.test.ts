import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { attemptNodeNames, clustersOf, mergeKubeconfigs, resolveAttemptNode } from './cluster-set.ts';

const kindKubeconfig = (name: string) => `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0E=
    server: https://${name}-control-plane:6443
  name: kind-${name}
contexts:
- context:
    cluster: kind-${name}
    user: kind-${name}
  name: kind-${name}
current-context: kind-${name}
kind: Config
users:
- name: kind-${name}
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
`;

test('an exam workstation gets one kubeconfig with a context per cluster, named as the exam says', () => {
  const merged = parse(
    mergeKubeconfigs([
      { context: 'k8s-c1', kubeconfig: kindKubeconfig('kubedrill-aaaa1111') },
      { context: 'k8s-c2', kubeconfig: kindKubeconfig('kubedrill-bbbb2222') },
    ]),
  ) as {
    contexts: { name: string; context: { cluster: string; user: string } }[];
    clusters: { name: string; cluster: { server: string } }[];
    users: { name: string; user: { 'client-key-data': string } }[];
    'current-context': string;
  };
  assert.deepEqual(
    merged.contexts.map((c) => [c.name, c.context.cluster, c.context.user]),
    [
      ['k8s-c1', 'k8s-c1', 'k8s-c1'],
      ['k8s-c2', 'k8s-c2', 'k8s-c2'],
    ],
  );
  assert.deepEqual(
    merged.clusters.map((c) => c.cluster.server),
    ['https://kubedrill-aaaa1111-control-plane:6443', 'https://kubedrill-bbbb2222-control-plane:6443'],
  );
  assert.equal(merged.users[1]!.user['client-key-data'], 'S0VZ');
  assert.equal(merged['current-context'], 'k8s-c1');
  assert.throws(() => mergeKubeconfigs([{ context: 'x', kubeconfig: 'apiVersion: v1\n' }]), /cluster x has no cluster or user/);
});

test('ssh names: <context>-<exam-style name> for exam clusters, exam-style names for a lab', () => {
  const exam = {
    id: 'e',
    learnerId: 'l',
    clusterName: 'kubedrill-aaaa1111',
    status: 'running' as const,
    clusters: [
      { context: 'k8s-c1', name: 'kubedrill-aaaa1111' },
      { context: 'k8s-c2', name: 'kubedrill-bbbb2222' },
    ],
  };
  const containers = [
    'kubedrill-aaaa1111-control-plane',
    'kubedrill-aaaa1111-worker',
    'kubedrill-bbbb2222-control-plane',
    'kubedrill-bbbb2222-worker',
    'kubedrill-bbbb2222-worker2',
    'other-control-plane',
  ];
  assert.deepEqual(
    attemptNodeNames(exam, containers).map((n) => n.name),
    ['k8s-c1-controlplane', 'k8s-c1-node01', 'k8s-c2-controlplane', 'k8s-c2-node01', 'k8s-c2-node02'],
  );
  assert.equal(resolveAttemptNode(exam, containers, 'k8s-c2-node02'), 'kubedrill-bbbb2222-worker2');
  assert.equal(resolveAttemptNode(exam, containers, 'k8s-c1-controlplane'), 'kubedrill-aaaa1111-control-plane');
  assert.equal(resolveAttemptNode(exam, containers, 'k8s-c2-worker2'), 'kubedrill-bbbb2222-worker2', "kind's suffix works too");
  assert.equal(resolveAttemptNode(exam, containers, 'kubedrill-bbbb2222-worker'), 'kubedrill-bbbb2222-worker', 'and the full name');
  assert.equal(resolveAttemptNode(exam, containers, 'k8s-c3-node01'), undefined);
  const lab = { id: 'a', learnerId: 'l', clusterName: 'kubedrill-aaaa1111', status: 'running' as const };
  assert.deepEqual(clustersOf(lab), [{ context: undefined, name: 'kubedrill-aaaa1111' }]);
  assert.deepEqual(
    attemptNodeNames(lab, containers).map((n) => n.name),
    ['controlplane', 'node01'],
  );
  assert.equal(resolveAttemptNode(lab, containers, 'node01'), 'kubedrill-aaaa1111-worker');
});
