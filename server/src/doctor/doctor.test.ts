import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../config/config.ts';
import { CommandError, type CommandRunner } from '../exec/command-runner.ts';
import { parseKindVersion, presetPoolCheck, runDoctor } from './doctor.ts';

const config = (argv: string[] = []) => loadConfig({ argv, env: {}, cwd: '/srv/kd' }).config;

/** A runner answering each program from a table; a missing entry means "not installed". */
function host(answers: Record<string, string | Error>): CommandRunner {
  return {
    async run(spec) {
      const key = spec.argv.slice(0, 2).join(' ');
      const a = answers[key];
      if (a === undefined) throw new CommandError('not-found', spec.argv, null, '', '');
      if (a instanceof Error) throw new CommandError('exit-code', spec.argv, 1, '', a.message);
      return { argv: spec.argv, exitCode: 0, stdout: a, stderr: '', durationMs: 0 };
    },
  };
}

const files = (watches: number, instances: number) => async (f: string) => String(f.endsWith('watches') ? watches : instances);

test('a well-prepared host passes every check', async () => {
  const checks = await runDoctor(config(), {
    runner: host({
      'docker info': '28.2.2|2|/var/lib/docker',
      'kind version': 'kind v0.33.0 go1.27.2 linux/amd64',
      'kubectl version': '{"clientVersion":{"gitVersion":"v1.35.4"}}',
      'docker image': 'sha256:1',
    }),
    readFile: files(524288, 512),
    freeDiskBytes: async () => 200 * 1024 ** 3,
    totalMemBytes: () => 64 * 1024 ** 3,
  });
  assert.deepEqual(
    checks.filter((c) => c.status !== 'ok'),
    [],
  );
  assert.deepEqual(
    checks.map((c) => c.id),
    ['docker', 'cgroup', 'kind', 'kubectl', 'inotify', 'memory', 'disk', 'node-image'],
  );
});

test('each problem comes with a precise remedy', async () => {
  const checks = await runDoctor(config(['--clusters.max-concurrent', '8']), {
    runner: host({
      'docker info': '20.10.24|1|/var/lib/docker',
      'kind version': 'kind v0.20.0 go1.20.4 linux/amd64',
      'docker image': new Error('No such image'),
    }),
    readFile: files(8192, 128),
    freeDiskBytes: async () => 4 * 1024 ** 3,
    totalMemBytes: () => 8 * 1024 ** 3,
  });
  const by = Object.fromEntries(checks.map((c) => [c.id, c]));
  assert.equal(by.cgroup?.status, 'warn');
  assert.match(by.cgroup?.remedy ?? '', /systemd.unified_cgroup_hierarchy=1/);
  assert.equal(by.kind?.status, 'fail');
  assert.match(by.kind?.detail ?? '', /v0.20.0/);
  assert.equal(by.kubectl?.status, 'warn');
  assert.equal(by.inotify?.status, 'fail');
  assert.match(by.inotify?.remedy ?? '', /fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512/);
  assert.match(by.memory?.remedy ?? '', /lower clusters.maxConcurrent to 3/);
  assert.match(by.disk?.remedy ?? '', /docker system prune/);
  assert.match(by['node-image']?.remedy ?? '', /clusters.nodeImage/);
});

test('without Docker the doctor says how to get it and skips the image check', async () => {
  const checks = await runDoctor(config(), { runner: host({}), readFile: files(524288, 512), freeDiskBytes: async () => 1e12, totalMemBytes: () => 1e12 });
  const docker = checks.find((c) => c.id === 'docker');
  assert.equal(docker?.status, 'fail');
  assert.match(docker?.remedy ?? '', /docker group/);
  assert.equal(
    checks.find((c) => c.id === 'node-image'),
    undefined,
  );
  assert.equal(checks.find((c) => c.id === 'kind')?.status, 'fail');
});

test('kind versions are read from its version line', () => {
  assert.deepEqual(parseKindVersion('kind v0.33.0 go1.27.2 linux/amd64'), [0, 33, 0]);
  assert.equal(parseKindVersion('garbage'), undefined);
});

test('the pre-set-up pool is reported only when configured, and warned about when it can hold every cluster slot', () => {
  assert.equal(presetPoolCheck(config()), undefined);
  const ok = presetPoolCheck(config(['--clusters.preset-labs=netpol-lab9server', '--clusters.max-concurrent=4']))!;
  assert.equal(ok.status, 'ok');
  assert.match(ok.detail, /netpol-lab9server: at least 1 of 4/);
  const full = presetPoolCheck(
    config(['--clusters.preset-labs=netpol-lab9server:2,exam:networking-mock', '--clusters.preset-recent=1', '--clusters.max-concurrent=4']),
  )!;
  assert.equal(full.status, 'warn');
  assert.match(full.detail, /at least 4 cluster\(s\)/);
  assert.match(full.remedy ?? '', /raise clusters.maxConcurrent above 4/);
});
