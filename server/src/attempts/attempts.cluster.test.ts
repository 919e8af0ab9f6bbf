import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createKubePort } from '../../../graders/src/cluster/kube-port.ts';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import { LabCatalog } from '../labs/catalog-service.ts';
import { KUBE_ROUTER_MANIFEST, SELFTEST_IMAGE } from '../provisioner/netpol-selftest.ts';
import { readinessProblems } from '../provisioner/lab-setup.ts';
import { openDatabase } from '../storage/db.ts';
import type { AttemptEvent } from './attempt-repository.ts';

// The whole path on real kind clusters: Start of the netpol-lab9server lab through the API, kind's
// stages, the NetworkPolicy self-test, setup applied and Ready, Finish, nothing left; and a server
// killed mid-create whose next start-up cleans up. Runs where a node image is in Docker
// (KUBEDRILL_NODE_IMAGE, or the testbed's kubedrill-testbed/node:v1.35.4), else skips with the reason.

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const TESTBED_IMAGE = 'kubedrill-testbed/node:v1.35.4';
const LAB_IMAGES = ['docker.io/library/nginx:1.27.4', SELFTEST_IMAGE];
const PREFIX = `kdct${randomBytes(3).toString('hex')}`;
const KIND_LABEL = 'io.x-k8s.kind.cluster';

const sh = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 120_000 });

function target(): { image: string } | { skip: string } {
  if (sh(['docker', 'info']).status !== 0) return { skip: 'Docker is not reachable' };
  if (sh(['kind', 'version']).status !== 0) return { skip: 'the kind CLI is not installed' };
  const image = [process.env.KUBEDRILL_NODE_IMAGE, TESTBED_IMAGE].find((i) => i && sh(['docker', 'image', 'inspect', i]).status === 0);
  if (!image) return { skip: `no kind node image in Docker (set KUBEDRILL_NODE_IMAGE or run scripts/testbed build for ${TESTBED_IMAGE})` };
  const missing = LAB_IMAGES.filter((i) => sh(['docker', 'image', 'inspect', i]).status !== 0);
  if (missing.length) return { skip: `lab images missing in Docker (${missing.join(', ')}): run scripts/testbed build` };
  return { image };
}

const t = target();
const skip = 'skip' in t ? t.skip : false;
if (skip) console.log(`attempts cluster suite skipped: ${skip}`);
// Where the CNI fails open (the testbed's, kindnet on kernels without nft_queue) the self-test needs the fallback controller.
const netpolSkip =
  skip ||
  (existsSync(KUBE_ROUTER_MANIFEST)
    ? false
    : `the fallback NetworkPolicy controller manifest ${path.relative(ROOT, KUBE_ROUTER_MANIFEST)} is not in this checkout`);
const dirs: string[] = [];

/** Names of node containers of clusters with this file's prefix. */
function leftovers(): string[] {
  const r = sh(['docker', 'ps', '-a', '--filter', `label=${KIND_LABEL}`, '--format', `{{.Names}} {{.Label "${KIND_LABEL}"}}`]);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter(([, c]) => c?.startsWith(PREFIX))
    .map(([n]) => n!);
}

after(() => {
  if (skip) return;
  const left = leftovers();
  if (left.length) sh(['docker', 'rm', '-f', '-v', ...left]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function boot(dataDir: string, image: string) {
  return loadConfig({
    argv: ['--data-dir', dataDir, '--labs-dir', path.join(ROOT, 'labs'), '--web-dir', '/nonexistent/kd-web'],
    env: { KUBEDRILL_CLUSTERS_NODE_IMAGE: image, KUBEDRILL_CLUSTERS_NAME_PREFIX: PREFIX, KUBEDRILL_CLUSTERS_MAX_CONCURRENT: '1' },
    cwd: ROOT,
  });
}

test('Start netpol-lab9server through the API: kind stages, NetworkPolicy proven, setup Ready; Finish leaves nothing', { skip: netpolSkip }, async () => {
  const image = (t as { image: string }).image;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kd-cluster-'));
  dirs.push(dataDir);
  const labs = new LabCatalog(path.join(ROOT, 'labs'));
  await labs.reload();
  const app = await buildApp(boot(dataDir, image), { labs, logger: false, shellLauncher: null });
  try {
    const session = await app.inject({ method: 'GET', url: '/api/session' });
    const cookie = String(session.headers['set-cookie']).split(';')[0]!;
    const started = await app.inject({ method: 'POST', url: '/api/attempts', headers: { cookie }, payload: { labId: 'netpol-lab9server' } });
    assert.equal(started.statusCode, 201, started.body);
    const id = started.json<{ id: string }>().id;
    const end = await new Promise<AttemptEvent>((resolve) => {
      const sub = app.attempts.subscribe(id, 0, (e) => {
        if (e.type === 'status' && ['ready', 'failed'].includes(e.name)) resolve(e);
      });
      const hit = sub.replay.find((e) => e.type === 'status' && ['ready', 'failed'].includes(e.name));
      if (hit) resolve(hit);
    });
    const a = app.attempts.get(id)!;
    assert.equal(end.name, 'ready', `${a.failureStep}: ${a.failureMessage}\n${a.failureOutput ?? ''}`);
    const events = app.attempts.subscribe(id, 0, () => {}).replay;
    const done = events.filter((e) => e.type === 'step' && e.state === 'done').map((e) => e.name);
    // The enforcement step depends on whether this data dir remembers a verdict: a fresh one tests.
    for (const step of [
      'Creating the node containers',
      'Starting the control plane',
      'Joining the other nodes',
      'Waiting for every node to be Ready',
      'Loading lab images',
      'Checking NetworkPolicy enforcement',
      'Applying setup manifests',
      'Waiting for setup to be ready',
    ]) {
      assert.ok(done.includes(step), `step "${step}" is reported (got ${done.join(', ')})`);
    }
    // The plan (the first event) named every step real kind and the cluster reported, in order.
    const planned = events[0]?.type === 'plan' ? events[0].plan!.map((p) => p.name) : [];
    assert.deepEqual(
      done.filter((n) => !planned.includes(n)),
      [],
      `steps the plan did not list (plan: ${planned.join(', ')})`,
    );
    assert.deepEqual(
      done,
      planned.filter((n) => done.includes(n)),
      'steps ran in the planned order',
    );

    const port = createKubePort(path.join(dataDir, 'clusters', a.clusterName!, 'kubeconfig'));
    const nodes = await port.list({ apiVersion: 'v1', kind: 'Node' });
    assert.equal(nodes.length, 2);
    const pods = await port.list({ apiVersion: 'v1', kind: 'Pod', namespace: 'restricted' });
    assert.ok(pods.some((p) => p.metadata.name === 'lab9server'));
    assert.deepEqual(readinessProblems(pods), []);
    const scratch = await port.get({ apiVersion: 'v1', kind: 'Namespace', name: 'kubedrill-netpol-selftest' });
    assert.ok(!scratch || (scratch.status as { phase?: string } | undefined)?.phase === 'Terminating', "the self-test's namespace is being removed");

    const fin = await app.inject({ method: 'POST', url: `/api/attempts/${id}/finish`, headers: { cookie } });
    assert.equal(fin.json<{ status: string }>().status, 'finished');
    await app.attempts.idle();
    assert.deepEqual(leftovers(), []);
    assert.equal(existsSync(path.join(dataDir, 'clusters', a.clusterName!)), false);
  } finally {
    await app.close();
  }
});

test('a server killed mid-create: the next start-up fails the attempt and deletes the half-made cluster', { skip }, async () => {
  const image = (t as { image: string }).image;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kd-cluster-kill-'));
  dirs.push(dataDir);
  // A child "server" that starts an attempt and reports kind's stages; it is SIGKILLed mid-create.
  const child = path.join(dataDir, 'child.ts');
  writeFileSync(
    child,
    `import { createAttemptService } from ${JSON.stringify(path.join(ROOT, 'server/src/attempts/create-attempt-service.ts'))};
import { loadConfig } from ${JSON.stringify(path.join(ROOT, 'server/src/config/config.ts'))};
import { createCommandRunner } from ${JSON.stringify(path.join(ROOT, 'server/src/exec/command-runner.ts'))};
import { LabCatalog } from ${JSON.stringify(path.join(ROOT, 'server/src/labs/catalog-service.ts'))};
import { openDatabase } from ${JSON.stringify(path.join(ROOT, 'server/src/storage/db.ts'))};
const { config, hostEnv } = loadConfig({ argv: ['--data-dir', ${JSON.stringify(dataDir)}, '--labs-dir', ${JSON.stringify(path.join(ROOT, 'labs'))}], env: { KUBEDRILL_CLUSTERS_NODE_IMAGE: ${JSON.stringify(image)}, KUBEDRILL_CLUSTERS_NAME_PREFIX: ${JSON.stringify(PREFIX)} }, cwd: '/' });
const labs = new LabCatalog(config.labsDir);
await labs.reload();
const service = createAttemptService(config, { db: openDatabase(config.dataDir), runner: createCommandRunner(hostEnv), labs, portFor: () => { throw new Error('unused'); }, log: { info() {}, warn() {}, error() {} } });
const { attempt } = service.start('killed', 'pod-ips-across-nodes');
service.subscribe(attempt.id, 0, (e) => console.log(JSON.stringify(e)));
`,
  );
  const proc = spawn(process.execPath, [child], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (/"name":"Starting the control plane","state":"running"/.test(out)) resolve();
    });
    proc.on('exit', (code) => reject(new Error(`the child exited (${code}) before kind started the control plane:\n${out}`)));
  });
  proc.kill('SIGKILL');
  await new Promise((r) => proc.once('exit', r));
  assert.ok(leftovers().length > 0, 'the killed server left node containers behind');

  const labs = new LabCatalog(path.join(ROOT, 'labs'));
  await labs.reload();
  const db = openDatabase(dataDir);
  const app = await buildApp(boot(dataDir, image), { db, labs, logger: false, shellLauncher: null });
  try {
    const result = await app.attempts.reconcile();
    assert.equal(result.failed.length, 1);
    assert.equal(result.deleted.length, 1);
    const a = app.attempts.get(result.failed[0]!)!;
    assert.equal(a.status, 'failed');
    assert.match(a.failureMessage ?? '', /server stopped while this attempt was being prepared/);
    assert.deepEqual(leftovers(), []);
  } finally {
    await app.close();
    db.close();
  }
});
