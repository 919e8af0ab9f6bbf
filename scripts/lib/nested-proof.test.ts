import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { attemptHostPod } from './nested-proof.ts';

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: {
    containers: {
      image: string;
      imagePullPolicy: string;
      securityContext: { privileged: boolean };
      readinessProbe: { exec: { command: string[] } };
      volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
    }[];
    volumes: { name: string; emptyDir?: object; hostPath?: { path: string } }[];
  };
}

test('the attempt host Pod is privileged, keeps Docker storage off its overlay root, and is Ready only when dockerd answers', () => {
  const docs = parseAllDocuments(attemptHostPod('kubedrill-testbed/attempt-host:abc')).map((d) => d.toJS() as Manifest);
  const pod = docs.find((d) => d.kind === 'Pod')!;
  const c = pod.spec.containers[0]!;
  assert.equal(c.image, 'kubedrill-testbed/attempt-host:abc');
  assert.equal(c.imagePullPolicy, 'Never');
  assert.equal(c.securityContext.privileged, true);
  assert.deepEqual(c.readinessProbe.exec.command, ['docker', 'info']);
  const mount = (p: string) => c.volumeMounts.find((m) => m.mountPath === p)!;
  const volume = (name: string) => pod.spec.volumes.find((v) => v.name === name)!;
  assert.deepEqual(volume(mount('/var/lib/docker').name).emptyDir, {});
  assert.equal(mount('/lib/modules').readOnly, true);
  assert.equal(volume(mount('/lib/modules').name).hostPath?.path, '/lib/modules');
  assert.equal(docs[0]!.kind, 'Namespace');
  assert.equal(pod.metadata.namespace, docs[0]!.metadata.name);
});
