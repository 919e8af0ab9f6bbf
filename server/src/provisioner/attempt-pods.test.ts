import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { ATTEMPT_LABEL, attemptPodRequests, attemptPodSpec, attemptPodState } from './attempt-pods.ts';

test('requests grow with the lab shape: control planes, workers and add-ons', () => {
  assert.deepEqual(attemptPodRequests({ workers: 0, addons: [] }), { cpu: '350m', memory: '832Mi' });
  assert.deepEqual(attemptPodRequests({ workers: 1, addons: [] }), { cpu: '450m', memory: '1024Mi' });
  assert.deepEqual(attemptPodRequests({ workers: 2, controlPlanes: 3, addons: ['metrics-server', 'metallb'] }), { cpu: '1150m', memory: '2688Mi' });
});

test('the attempt host Pod is privileged, labelled with its attempt, sized by its shape, and Ready only when Docker answers', () => {
  const pod = attemptPodSpec({
    name: 'kd-a1',
    namespace: 'drill',
    attemptId: 'a1',
    shape: { workers: 1, addons: [] },
    image: 'kd/attempt-host:1',
    pullPolicy: 'Never',
  });
  assert.equal(pod.metadata?.namespace, 'drill');
  assert.equal(pod.metadata?.labels?.[ATTEMPT_LABEL], 'a1');
  assert.equal(pod.metadata?.labels?.['app.kubernetes.io/managed-by'], 'kubedrill');
  assert.equal(pod.spec?.restartPolicy, 'Never');
  assert.equal(pod.spec?.automountServiceAccountToken, false);
  const c = pod.spec!.containers[0]!;
  assert.equal(c.securityContext?.privileged, true);
  assert.equal(c.imagePullPolicy, 'Never');
  assert.deepEqual(c.resources?.requests, { cpu: '450m', memory: '1024Mi' });
  assert.deepEqual(c.readinessProbe?.exec?.command, ['docker', 'info']);
  const mount = (p: string) => c.volumeMounts!.find((m) => m.mountPath === p)!;
  const volume = (name: string) => pod.spec!.volumes!.find((v) => v.name === name)!;
  assert.deepEqual(volume(mount('/var/lib/docker').name).emptyDir, {});
  assert.equal(mount('/lib/modules').readOnly, true);
  assert.equal(volume(mount('/lib/modules').name).hostPath?.path, '/lib/modules');
});

const pod = (status: V1Pod['status'], extra: Partial<V1Pod['metadata']> = {}): V1Pod => ({ metadata: { name: 'kd-a1', ...extra }, status });

test('a Pod the scheduler cannot place is queued with the scheduler’s reason, not failed', () => {
  const s = attemptPodState(
    pod({
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' }],
    }),
  );
  assert.deepEqual(s, { state: 'queued', detail: '0/3 nodes are available: 3 Insufficient memory.' });
});

test('starting, ready, and the ways a Pod fails are told apart', () => {
  const scheduled = [{ type: 'PodScheduled', status: 'True' }];
  assert.deepEqual(
    attemptPodState(
      pod({
        phase: 'Pending',
        conditions: scheduled,
        containerStatuses: [{ name: 'docker', ready: false, restartCount: 0, image: 'x', imageID: '', state: { waiting: { reason: 'ContainerCreating' } } }],
      }),
    ),
    {
      state: 'starting',
      detail: 'ContainerCreating',
    },
  );
  assert.deepEqual(
    attemptPodState(
      pod({
        phase: 'Running',
        conditions: scheduled,
        containerStatuses: [{ name: 'docker', ready: false, restartCount: 0, image: 'x', imageID: '', state: { running: {} } }],
      }),
    ),
    {
      state: 'starting',
      detail: 'Docker is starting',
    },
  );
  assert.deepEqual(
    attemptPodState(
      pod({
        phase: 'Running',
        conditions: scheduled,
        containerStatuses: [{ name: 'docker', ready: true, restartCount: 0, image: 'x', imageID: '', state: { running: {} } }],
      }),
    ),
    { state: 'ready' },
  );
  // An image the node does not have and may not pull never resolves by waiting.
  assert.deepEqual(
    attemptPodState(
      pod({
        phase: 'Pending',
        conditions: scheduled,
        containerStatuses: [
          {
            name: 'docker',
            ready: false,
            restartCount: 0,
            image: 'x',
            imageID: '',
            state: { waiting: { reason: 'ErrImageNeverPull', message: 'image "kd/attempt-host:1" is not present' } },
          },
        ],
      }),
    ),
    { state: 'failed', detail: 'ErrImageNeverPull: image "kd/attempt-host:1" is not present' },
  );
  // Evicted (the node ran short), or the daemon exited: the attempt fails with the reason.
  assert.deepEqual(attemptPodState(pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' })), {
    state: 'failed',
    detail: 'Evicted: The node was low on resource: memory.',
  });
  assert.deepEqual(
    attemptPodState(
      pod({
        phase: 'Failed',
        containerStatuses: [
          { name: 'docker', ready: false, restartCount: 0, image: 'x', imageID: '', state: { terminated: { exitCode: 1, reason: 'Error' } } },
        ],
      }),
    ),
    { state: 'failed', detail: 'its container exited with 1 (Error)' },
  );
  assert.deepEqual(attemptPodState(pod({ phase: 'Running' }, { deletionTimestamp: new Date() })), { state: 'failed', detail: 'the Pod is being deleted' });
});
