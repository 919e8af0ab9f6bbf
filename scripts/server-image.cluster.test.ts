import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createCommandRunner } from '../server/src/exec/command-runner.ts';
import { dockerSkipReason } from '../server/src/testing/docker.ts';
import { freePort } from '../server/src/testing/free-port.ts';
import { ServerClient } from './lib/server-client.ts';
import { buildImages, startServerContainer, type ServerContainer } from './lib/server-container.ts';

// A learner's attempt through the server image, run as compose.yaml runs it (host networking, the
// host's Docker socket, the socket's group added, the image's unprivileged user): Start of a
// control-plane-only lab through the HTTP API creates a real kind cluster from inside the container,
// the workstation's terminal WebSocket runs kubectl against it, Check grades it, and Finish removes
// the cluster and the workstation. Every request goes to 127.0.0.1.

const TESTBED_IMAGE = 'kubedrill-testbed/node:v1.35.4';
// A control-plane-only lab with a setup to apply and checks to grade: the cheapest real attempt.
const LAB = 'pvc-pending-storageclass';
const LAB_IMAGES = ['docker.io/library/busybox:1.37.0'];
const KIND_LABEL = 'io.x-k8s.kind.cluster';
const runner = createCommandRunner({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' });
const tag = randomBytes(3).toString('hex');
const NAME = `kdimgcl-${tag}`;

let skip: string | false = false;
let server: ServerContainer | undefined;
let base = '';

const inDocker = async (argv: string[]) => (await runner.run({ argv: ['docker', ...argv], timeoutMs: 60_000, okCodes: [0, 1] })).exitCode === 0;
/** Node containers of this suite's clusters plus workstations it made (both carry its prefix). */
async function leftovers(): Promise<string[]> {
  const nodes = await runner.run({
    argv: ['docker', 'ps', '-a', '--filter', `label=${KIND_LABEL}`, '--format', `{{.ID}} {{.Label "${KIND_LABEL}"}}`],
    timeoutMs: 30_000,
  });
  const ws = await runner.run({ argv: ['docker', 'ps', '-aq', '--filter', `label=io.kubedrill.owner=${NAME}`], timeoutMs: 30_000 });
  return [
    ...nodes.stdout
      .split('\n')
      .map((l) => l.trim().split(' '))
      .filter(([, c]) => c?.startsWith(`${NAME}-`))
      .map(([id]) => id!),
    ...ws.stdout.split('\n').filter(Boolean),
  ];
}

before(
  async () => {
    skip = (await dockerSkipReason(runner)) ?? false;
    if (skip) return;
    if (!(await inDocker(['image', 'inspect', TESTBED_IMAGE]))) {
      skip = `no kind node image ${TESTBED_IMAGE} in Docker: run scripts/testbed build`;
      return;
    }
    const missing = [];
    for (const i of LAB_IMAGES) if (!(await inDocker(['image', 'inspect', i]))) missing.push(i);
    if (missing.length) {
      skip = `lab images missing in Docker (${missing.join(', ')}): run scripts/testbed build`;
      return;
    }
    // Built (or found unchanged) by the docker stage's server-image suite just before: seconds.
    skip = (await buildImages(runner, ['workstation', 'server'])) ?? false;
    if (skip) return;
    server = await startServerContainer(runner, {
      name: NAME,
      port: await freePort(),
      env: { KUBEDRILL_CLUSTERS_NODE_IMAGE: TESTBED_IMAGE, KUBEDRILL_CLUSTERS_MAX_CONCURRENT: '1' },
    });
    base = server.base;
  },
  { timeout: 45 * 60_000 },
);

after(async () => {
  if (!server) return;
  const log = await server.log();
  await server.remove();
  const left = await leftovers();
  if (left.length) {
    await runner.run({ argv: ['docker', 'rm', '-f', '-v', ...left], timeoutMs: 120_000, okCodes: [0, 1] });
    console.log(`removed ${left.length} container(s) the server left; its log:\n${log}`);
  }
});

test(`the image runs a real attempt of ${LAB}: Start, terminal, Check, Finish`, { timeout: 15 * 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const client = await ServerClient.single(base);
  const attempt = await client.startLab(LAB);
  assert.equal(attempt.status, 'ready', `attempt ${attempt.status} at ${attempt.failure?.step}: ${attempt.failure?.message}`);
  assert.ok(attempt.clusterName?.startsWith(`${NAME}-`), `a cluster of the server's own prefix: ${attempt.clusterName}`);
  // The workstation (made by the server through the host's socket) reaches the cluster kind made.
  assert.equal(await client.workstationReadyNodes(attempt.id), 1, 'one Ready node seen by kubectl in the workstation');

  // Check on the untouched lab: every check ran on the cluster, and nothing is solved yet.
  const grade = await client.call<{ score: number; maxScore: number; report: { tasks: { checks: { status: string }[] }[] } }>(
    'POST',
    `/api/attempts/${attempt.id}/grade`,
    {},
    120_000,
  );
  const checks = grade.report.tasks.flatMap((task) => task.checks);
  assert.ok(grade.maxScore > 0 && checks.length > 0, "the report has the lab's checks");
  assert.equal(grade.score, 0, 'right after setup the lab is not solved');
  assert.ok(
    checks.every((c) => c.status !== 'error'),
    `no check errored: ${JSON.stringify(checks.filter((c) => c.status === 'error'))}`,
  );

  const finished = await client.call<{ status: string }>('POST', `/api/attempts/${attempt.id}/finish`, {});
  assert.equal(finished.status, 'finished');
  let left = await leftovers();
  for (let i = 0; i < 60 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 2000));
    left = await leftovers();
  }
  assert.deepEqual(left, [], 'the cluster and the workstation are gone after Finish');
});
