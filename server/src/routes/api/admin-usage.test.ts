import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../app.ts';
import { loadConfig } from '../../config/config.ts';
import { CommandError, type CommandRunner } from '../../exec/command-runner.ts';
import { parseSize } from '../../groups/usage.ts';
import { openMemoryDatabase } from '../../storage/db.ts';
import { loadedCatalog, sessionCookie } from '../../testing/test-app.ts';

// Per-group usage for the operator, from one (fake) docker stats sample.

const STATS = [
  { Name: 'kubedrill-aaa-control-plane', CPUPerc: '30.5%', MemUsage: '500MiB / 23GiB' },
  { Name: 'kubedrill-aaa-worker', CPUPerc: '10%', MemUsage: '150MiB / 23GiB' },
  { Name: 'kubedrill-bbb-control-plane', CPUPerc: '5%', MemUsage: '1GiB / 23GiB' },
  { Name: 'kubedrill-ccc-control-plane', CPUPerc: '1%', MemUsage: '100MiB / 23GiB' },
  { Name: 'someone-else-control-plane', CPUPerc: '99%', MemUsage: '9GiB / 23GiB' },
  { Name: 'postgres', CPUPerc: '50%', MemUsage: '2GiB / 23GiB' },
];

test('sizes from docker stats', () => {
  assert.equal(parseSize('500MiB'), 500 * 1024 ** 2);
  assert.equal(parseSize('1.5GB'), 1.5e9);
  assert.ok(Number.isNaN(parseSize('lots')));
});

test('the operator sees clusters, CPU and memory per study group; Docker down is a 503', async (t) => {
  let dockerUp = true;
  const runner: CommandRunner = {
    run: async (spec) => {
      if (dockerUp && spec.argv.join(' ').startsWith('docker stats'))
        return { argv: spec.argv, exitCode: 0, stdout: STATS.map((s) => JSON.stringify(s)).join('\n'), stderr: '', durationMs: 1 };
      throw new CommandError(
        'exit-code',
        spec.argv,
        1,
        '',
        'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
      );
    },
  };
  const db = openMemoryDatabase();
  const boot = loadConfig({
    argv: ['--data-dir', '/nonexistent/kd-usage', '--auth.mode', 'multi', '--auth.registration', 'open'],
    env: {},
    cwd: process.cwd(),
  });
  const app = await buildApp(boot, { checkResponses: true, db, labs: await loadedCatalog(), logger: false, runner, shellLauncher: null });
  t.after(() => app.close());
  const register = async (username: string, inviteCode?: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/session/register',
      payload: { username, password: 'correct horse battery', ...(inviteCode ? { inviteCode } : {}) },
    });
    return { id: res.json().learner.id as string, cookie: sessionCookie(res) };
  };
  const admin = await register('admin');
  const group = (
    await app.inject({ method: 'POST', url: '/api/groups', headers: { cookie: admin.cookie }, payload: { name: 'mornings', maxClusters: 4 } })
  ).json();
  const amy = await register('amy', group.inviteCode);
  const bo = await register('bo', group.inviteCode);
  const solo = await register('solo');
  const now = new Date().toISOString();
  const attempt = db.prepare(
    "INSERT INTO attempts (id, learner_id, lab_id, status, shape, kubernetes, cluster_name, created_at, updated_at, last_activity_at) VALUES (?, ?, 'x', ?, 'w1', '1.35', ?, ?, ?, ?)",
  );
  attempt.run('a1', amy.id, 'ready', 'kubedrill-aaa', now, now, now);
  attempt.run('a2', bo.id, 'grading', 'kubedrill-bbb', now, now, now);
  attempt.run('a3', solo.id, 'ready', 'kubedrill-ccc', now, now, now);
  attempt.run('a4', bo.id, 'finished', 'kubedrill-old', now, now, now);

  assert.equal((await app.inject({ method: 'GET', url: '/api/admin/usage', headers: { cookie: amy.cookie } })).statusCode, 403);
  const res = await app.inject({ method: 'GET', url: '/api/admin/usage', headers: { cookie: admin.cookie } });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.deepEqual(body.total, { maxClusters: 4, clusters: 3, cpuPercent: 46.5, memoryBytes: (500 + 150 + 1024 + 100) * 1024 ** 2 });
  assert.deepEqual(body.groups, [
    { id: group.id, name: 'mornings', maxClusters: 4, clusters: 2, cpuPercent: 45.5, memoryBytes: (500 + 150 + 1024) * 1024 ** 2 },
  ]);
  assert.deepEqual(body.ungrouped, { clusters: 1, cpuPercent: 1, memoryBytes: 100 * 1024 ** 2 });

  dockerUp = false;
  const down = await app.inject({ method: 'GET', url: '/api/admin/usage', headers: { cookie: admin.cookie } });
  assert.equal(down.statusCode, 503);
  assert.equal(down.json().error.code, 'docker_unavailable');
});
