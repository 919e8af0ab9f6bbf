import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../graders/src/cluster/port.ts';
import { clusterBaseline, resetCluster, type Kubectl } from './cluster-reset.ts';

const API_RESOURCES = `clusterrolebindings                              rbac.authorization.k8s.io/v1      false        ClusterRoleBinding
clusterroles                                     rbac.authorization.k8s.io/v1      false        ClusterRole
namespaces                        ns             v1                                false        Namespace
persistentvolumes                 pv             v1                                false        PersistentVolume
storageclasses                    sc             storage.k8s.io/v1                 false        StorageClass`;

function fakeKubectl(namespaces: string[][]) {
  const calls: string[] = [];
  let listed = 0;
  const kubectl: Kubectl = async (args) => {
    calls.push(args.join(' '));
    if (args[0] === 'get' && args[1] === 'namespaces')
      return (namespaces[Math.min(listed++, namespaces.length - 1)] ?? []).map((n) => `namespace/${n}`).join('\n');
    if (args[0] === 'api-resources') return API_RESOURCES;
    return '';
  };
  return { kubectl, calls };
}

const obj = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
});

test('a reset deletes the namespaces a lab added, sweeps default without the objects every cluster has, and deletes its cluster-scoped objects', async () => {
  const base = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
  const { kubectl, calls } = fakeKubectl([base, [...base, 'restricted', 'shop']]);
  const baseline = await clusterBaseline(kubectl);
  const summary = await resetCluster(kubectl, baseline, [
    obj('v1', 'Namespace', 'restricted'),
    obj('rbac.authorization.k8s.io/v1', 'ClusterRole', 'pod-reader'),
    obj('v1', 'PersistentVolume', 'pv-a'),
    obj('v1', 'Pod', 'web', 'default'),
  ]);
  assert.ok(calls.includes('delete namespace restricted shop --wait=true --timeout=180s'), calls.join('\n'));
  assert.ok(calls.includes('-n shop delete pods --all --grace-period=1 --wait=false --ignore-not-found'), calls.join('\n'));
  assert.ok(
    calls.indexOf('-n shop delete pods --all --grace-period=1 --wait=false --ignore-not-found') <
      calls.indexOf('delete namespace restricted shop --wait=true --timeout=180s'),
    'pods go first, without their grace period',
  );
  assert.ok(!calls.some((c) => c.startsWith('-n kube-system')), 'system namespaces are never swept');
  const sweeps = calls.filter((c) => c.startsWith('-n default delete'));
  assert.ok(sweeps.some((c) => c.includes('--all') && c.includes('pods') && c.includes('networkpolicies.networking.k8s.io')));
  assert.ok(
    sweeps.every((c) => !(c.includes('--all') && c.includes('--field-selector'))),
    'kubectl refuses --all with a selector',
  );
  assert.ok(
    sweeps.some((c) => c.includes('services --field-selector metadata.name!=kubernetes')),
    'the kubernetes Service stays',
  );
  assert.ok(sweeps.some((c) => c.includes('configmaps --field-selector metadata.name!=kube-root-ca.crt')));
  assert.ok(sweeps.some((c) => c.includes('serviceaccounts --field-selector metadata.name!=default')));
  assert.ok(
    calls.includes('delete clusterroles.rbac.authorization.k8s.io/pod-reader persistentvolumes/pv-a --ignore-not-found --wait=true --timeout=120s'),
    calls.join('\n'),
  );
  assert.match(summary, /deleted namespaces restricted, shop/);
});

test("an add-on's namespace is neither swept nor deleted, whenever it was made", async () => {
  const base = ['default', 'kube-system', 'traefik-gateway'];
  // metallb-system appears only after the baseline (made with the first lab): it still stays.
  const { kubectl, calls } = fakeKubectl([base, [...base, 'metallb-system', 'shop']]);
  const baseline = await clusterBaseline(kubectl);
  await resetCluster(kubectl, baseline, []);
  assert.ok(calls.includes('delete namespace shop --wait=true --timeout=180s'), calls.join('\n'));
  assert.ok(!calls.some((c) => c.includes('traefik-gateway') || c.includes('metallb-system')), calls.join('\n'));
  assert.ok(
    calls.some((c) => c.startsWith('-n default delete')),
    'other baseline namespaces are still swept',
  );
});

test('between labs the reset also deletes cluster-scoped objects scripts made, and refuses when a lab changed what was there before', async () => {
  const cutoff = Date.parse('2026-12-07T02:00:00Z');
  const before = '2026-12-07T01:50:00Z';
  const after = '2026-12-07T02:03:00Z';
  const item = (apiVersion: string, kind: string, name: string, created: string, managers: { manager: string; time: string; subresource?: string }[] = []) => ({
    apiVersion,
    kind,
    metadata: { name, creationTimestamp: created, managedFields: managers.map((m) => ({ operation: 'Update', ...m })) },
  });
  const run = async (clusterItems: unknown[], systemItems: unknown[] = []) => {
    const calls: string[] = [];
    const kubectl: Kubectl = async (args) => {
      calls.push(args.join(' '));
      if (args[0] === 'api-resources') return API_RESOURCES + '\nnodes  no  v1  false  Node';
      if (args[0] === 'get' && args[1] === 'namespaces') return 'namespace/default\nnamespace/kube-system';
      if (args[0] === 'get' && args[1] === '-n') return JSON.stringify({ items: systemItems });
      if (args[0] === 'get') return JSON.stringify({ items: clusterItems });
      return '';
    };
    const base = { namespaces: new Set(['default', 'kube-system']), cutoff };
    return { calls, result: resetCluster(kubectl, base, [], { betweenLabs: true }) };
  };
  // A CRD made by a lab's setup.sh and a PV its solution made are deleted; the node's heartbeat
  // (kubelet) and a re-aggregated ClusterRole (a controller) are no change; status writes never are.
  const clean = await run([
    item('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'cacheclusters.fleet.kdlabs.io', after),
    item('v1', 'PersistentVolume', 'vault-pv', after),
    item('v1', 'Node', 'kd-worker', before, [
      { manager: 'kubeadm', time: before },
      { manager: 'kubelet', time: after },
      { manager: 'kubectl-label', time: after, subresource: 'status' },
    ]),
    item('rbac.authorization.k8s.io/v1', 'ClusterRole', 'view', before, [{ manager: 'clusterrole-aggregation-controller', time: after }]),
  ]);
  await clean.result;
  assert.ok(
    clean.calls.some((c) => c.startsWith('delete ') && c.includes('persistentvolumes/vault-pv')),
    clean.calls.join('\n'),
  );
  assert.ok(!clean.calls.some((c) => c.startsWith('delete ') && /\bnodes\//.test(c)), 'nodes are never deleted');
  // Not in the table of kinds the fake API serves: the CRD's kind is skipped, not guessed.
  assert.ok(!clean.calls.some((c) => c.includes('cacheclusters')), clean.calls.join('\n'));
  // A cordoned node, the default StorageClass edited, CoreDNS's ConfigMap patched: refused, with what changed.
  const tainted = await run([item('v1', 'Node', 'kd-worker', before, [{ manager: 'kubectl-cordon', time: after }])]);
  await assert.rejects(tainted.result, /a lab changed what the cluster had before it: Node kd-worker/);
  assert.ok(!tainted.calls.some((c) => c.startsWith('delete')), 'nothing is deleted from a cluster that is given up');
  const sc = await run([item('storage.k8s.io/v1', 'StorageClass', 'standard', before, [{ manager: 'kubectl-patch', time: after }])]);
  await assert.rejects(sc.result, /StorageClass standard/);
  const edited = item('v1', 'ConfigMap', 'coredns', before, [{ manager: 'kubectl-edit', time: after }]);
  const coredns = await run([], [{ ...edited, metadata: { ...edited.metadata, namespace: 'kube-system' } }]);
  await assert.rejects(coredns.result, /ConfigMap kube-system\/coredns/);
  // Changes made before the first lab began (the add-ons, kubeadm) are the cluster's own.
  const early = await run([item('storage.k8s.io/v1', 'StorageClass', 'standard', before, [{ manager: 'kubectl-patch', time: before }])]);
  await early.result;
});
