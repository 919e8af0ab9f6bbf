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
