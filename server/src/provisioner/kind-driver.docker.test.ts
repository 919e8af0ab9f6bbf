import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { AttemptRepository } from '../attempts/attempt-repository.ts';
import { AttemptService } from '../attempts/attempt-service.ts';
import { DEFAULTS } from '../attempts/test-harness.ts';
import { createCommandRunner, minimalEnv } from '../exec/command-runner.ts';
import { openMemoryDatabase } from '../storage/db.ts';
import { shapeFromKey } from './kind-config.ts';
import { KIND_CLUSTER_LABEL, KindDriver } from './kind-driver.ts';
import { ProvisionError } from './steps.ts';
import { FakeClusterPort } from './testing/fake-kind.ts';
import { testCatalog, testLab } from './testing/lab-fixtures.ts';
import { dockerSkipReason } from '../testing/docker.ts';

// The real kind CLI and Docker: creates that fail (no node image can be pulled here) leave nothing
// behind, reconcile deletes labelled leftovers with our prefix, concurrent deletes succeed.
// Every cluster here is named kdtest<hex>-…, so nothing but this file's own clusters is touched.

const runner = createCommandRunner(minimalEnv(process.env));
const run = (argv: string[], okCodes = [0]) => runner.run({ argv, timeoutMs: 120_000, okCodes });
const PREFIX = `kdtest${randomBytes(3).toString('hex')}`;
const NOT_A_NODE = 'kubedrill-test/not-a-node:v0';
const MISSING = `kubedrill-test/missing-node:${PREFIX}`;
const quiet = { info() {}, warn() {}, error() {} };

let skip: string | false = false;
before(async () => {
  skip = (await dockerSkipReason(runner)) ?? false;
  if (skip) return;
  try {
    await run(['kind', 'version']);
  } catch {
    skip = 'the kind CLI is not installed (scripts/setup-host)';
    return;
  }
  // An image that exists locally but is not a kind node image (no command): kind gets past
  // "Ensuring node image" and fails at "Preparing nodes".
  if ((await run(['docker', 'image', 'inspect', NOT_A_NODE], [0, 1])).exitCode !== 0) {
    await runner.run({ argv: ['sh', '-c', `tar cf - --files-from /dev/null | docker import - ${NOT_A_NODE}`], timeoutMs: 60_000 });
  }
});

after(async () => {
  if (skip) return;
  const left = await ours();
  if (left.length) await run(['docker', 'rm', '-f', '-v', ...left], [0, 1]);
});

function skipped(t: TestContext): boolean {
  if (skip) t.skip(skip);
  return Boolean(skip);
}

/** Containers (any state) whose kind cluster label starts with this file's prefix. */
async function ours(): Promise<string[]> {
  const r = await run(['docker', 'ps', '-a', '--filter', `label=${KIND_CLUSTER_LABEL}`, '--format', `{{.Names}} {{.Label "${KIND_CLUSTER_LABEL}"}}`]);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter(([, cluster]) => cluster?.startsWith(PREFIX))
    .map(([name]) => name!);
}

function driver(nodeImage: string) {
  const clustersDir = mkdtempSync(path.join(tmpdir(), 'kd-docker-clusters-'));
  return { clustersDir, driver: new KindDriver({ runner, clustersDir, namePrefix: PREFIX, nodeImage, createTimeoutMs: 120_000 }) };
}

/** The real attempt service over the real driver (clusters never get as far as setup here). */
function serviceOn(d: KindDriver): AttemptService {
  return new AttemptService({
    repo: new AttemptRepository(openMemoryDatabase()),
    driver: d,
    labs: testCatalog([testLab('alpha')]),
    portFor: () => new FakeClusterPort(),
    runner,
    clusters: { ...DEFAULTS, namePrefix: PREFIX },
    log: quiet,
    reapIntervalMs: 0,
  });
}

test("an attempt whose node image cannot be pulled fails with kind's message and leaves no container or kubeconfig", async (t) => {
  if (skipped(t)) return;
  const { driver: d, clustersDir } = driver(MISSING);
  const service = serviceOn(d);
  const { attempt } = service.start('learner', 'alpha');
  await service.idle();
  const a = service.get(attempt.id)!;
  assert.equal(a.status, 'failed');
  // kind's "Ensuring node image (…)" stage, under its plain name.
  assert.equal(a.failureStep, 'Checking the node image');
  assert.match(a.failureMessage ?? '', /failed to pull image/);
  assert.match(a.failureOutput ?? '', /docker pull/);
  assert.deepEqual(await ours(), []);
  assert.equal(existsSync(path.join(clustersDir, a.clusterName!)), false, 'no kubeconfig folder is left');
  assert.deepEqual(await d.list(), []);
  await service.close();
});

test('a create that fails at kind\'s "Preparing nodes" (not a node image) leaves no container behind', async (t) => {
  if (skipped(t)) return;
  const { driver: d, clustersDir } = driver(NOT_A_NODE);
  const name = d.newName();
  const err = await d.create(name, shapeFromKey('w1'), () => {}).catch((e: unknown) => e);
  assert.ok(err instanceof ProvisionError, String(err));
  assert.equal(err.step, 'Creating the node containers');
  assert.match(err.output, /failed with error: exit status 125/);
  assert.deepEqual(await ours(), []);
  assert.equal(existsSync(path.join(clustersDir, name)), false);
});

test('reconcile deletes containers labelled as our clusters that the database does not know, and nothing else', async (t) => {
  if (skipped(t)) return;
  const { driver: d } = driver(NOT_A_NODE);
  const orphan = `${PREFIX}-0rphan01`;
  const foreign = `${PREFIX}x-foreign`; // kind cluster of someone else: prefix differs at the dash
  for (const [cluster, node] of [
    [orphan, `${orphan}-control-plane`],
    [orphan, `${orphan}-worker`],
    [foreign, `${foreign}-control-plane`],
  ] as const) {
    await run(['docker', 'create', '--name', node, '--label', `${KIND_CLUSTER_LABEL}=${cluster}`, NOT_A_NODE, '/nonexistent']);
  }
  const service = serviceOn(d);
  const result = await service.reconcile();
  assert.deepEqual(result.deleted, [orphan]);
  assert.deepEqual(await ours(), [`${foreign}-control-plane`]);
  await run(['docker', 'rm', '-f', '-v', `${foreign}-control-plane`]);
  await service.close();
});

test('concurrent deletes of the same cluster both succeed', async (t) => {
  if (skipped(t)) return;
  const { driver: d } = driver(NOT_A_NODE);
  const name = `${PREFIX}-twice001`;
  await run(['docker', 'create', '--name', `${name}-control-plane`, '--label', `${KIND_CLUSTER_LABEL}=${name}`, NOT_A_NODE, '/nonexistent']);
  await Promise.all([d.delete(name), d.delete(name), d.delete(name)]);
  assert.deepEqual(await ours(), []);
});
