import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { CommandResult, CommandRunner, CommandSpec } from '../../server/src/exec/command-runner.ts';
import { attemptHostPod, podRunner } from './nested-proof.ts';

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

function recorder(): { runner: CommandRunner; specs: CommandSpec[] } {
  const specs: CommandSpec[] = [];
  return {
    specs,
    runner: {
      run(spec) {
        specs.push(spec);
        const result: CommandResult = { argv: spec.argv, exitCode: 0, stdout: '', stderr: '', durationMs: 0 };
        return Promise.resolve(result);
      },
    },
  };
}

test('docker and kind commands go into the attempt host Pod through the host control plane; others run here', async () => {
  const { runner, specs } = recorder();
  const inPod = podRunner(runner, 'kdtb-host-abc-control-plane');
  await inPod.run({ argv: ['docker', 'exec', 'lab-control-plane', 'kubectl', 'get', 'nodes'] });
  await inPod.run({ argv: ['kind', 'create', 'cluster', '--name', 'lab', '--config', '-'], stdin: 'kind: Cluster\n' });
  await inPod.run({ argv: ['docker', 'load'], stdinStream: Readable.from(['x']) });
  await inPod.run({ argv: ['sh', '-c', 'true'] });
  const via = ['kubectl', '--kubeconfig=/etc/kubernetes/admin.conf', 'exec'];
  const pod = ['-n', 'kdtb-nested', 'attempt-host', '-c', 'docker', '--'];
  assert.deepEqual(specs[0]!.argv, [
    'docker',
    'exec',
    'kdtb-host-abc-control-plane',
    ...via,
    ...pod,
    'docker',
    'exec',
    'lab-control-plane',
    'kubectl',
    'get',
    'nodes',
  ]);
  // stdin is passed through both execs only when there is some: an open -i without input would
  // leave the exec waiting for it.
  assert.deepEqual(specs[1]!.argv, [
    'docker',
    'exec',
    '-i',
    'kdtb-host-abc-control-plane',
    ...via,
    '-i',
    ...pod,
    'kind',
    'create',
    'cluster',
    '--name',
    'lab',
    '--config',
    '-',
  ]);
  assert.equal(specs[1]!.stdin, 'kind: Cluster\n');
  assert.deepEqual(specs[2]!.argv.slice(0, 3), ['docker', 'exec', '-i']);
  assert.ok(specs[2]!.stdinStream);
  assert.deepEqual(specs[3]!.argv, ['sh', '-c', 'true']);
});

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
