import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { allowedOrigins, ConfigError, configKeys, loadConfig } from './config.ts';

const load = (argv: string[] = [], env: Record<string, string> = {}, cwd = '/srv/kd') => loadConfig({ argv, env, cwd });

test('defaults serve 127.0.0.1:3000 in single-user mode with paths resolved against cwd', () => {
  const { config, sources } = load();
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 3000);
  assert.equal(config.auth.mode, 'single');
  assert.equal(config.dataDir, '/srv/kd/data');
  assert.equal(config.labsDir, '/srv/kd/labs');
  assert.equal(sources.port, 'default');
});

test('precedence is flags > env > file > defaults', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-config-'));
  const file = path.join(dir, 'kubedrill.yaml');
  writeFileSync(file, 'port: 4000\nlogLevel: debug\nclusters:\n  maxConcurrent: 2\n  poolSize: 1\n');
  const env = { KUBEDRILL_CONFIG: file, KUBEDRILL_PORT: '5000', KUBEDRILL_CLUSTERS_MAX_CONCURRENT: '3' };
  const { config, sources } = load(['--port', '6000'], env);
  assert.equal(config.port, 6000);
  assert.equal(sources.port, 'flag');
  assert.equal(config.clusters.maxConcurrent, 3);
  assert.equal(sources['clusters.maxConcurrent'], 'env');
  assert.equal(config.clusters.poolSize, 1);
  assert.equal(sources['clusters.poolSize'], 'file');
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.clusters.perLearner, 1, 'unset nested keys keep their defaults');
});

test('a bad value stops start-up with one line naming key, value, source and what is allowed', () => {
  assert.throws(
    () => load([], { KUBEDRILL_PORT: 'abc' }),
    (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, 'invalid config port = "abc" (from env KUBEDRILL_PORT): expected an integer from 1 to 65535');
      return true;
    },
  );
  assert.throws(() => load(['--port=70000']), /^ConfigError: invalid config port = "70000" \(from flag --port\): expected an integer from 1 to 65535$/);
  assert.throws(
    () => load([], { KUBEDRILL_AUTH_MODE: 'many' }),
    /invalid config auth\.mode = "many" \(from env KUBEDRILL_AUTH_MODE\): expected one of single, multi/,
  );
  for (const fn of [() => load([], { KUBEDRILL_PORT: 'abc' }), () => load(['--log-level', 'loud'])]) {
    assert.throws(fn, (e: Error) => !e.message.includes('\n'), 'the message is one line');
  }
});

test('unknown flags, unknown file keys and typos in env are reported', () => {
  assert.throws(() => load(['--prot', '1']), /unknown flag --prot/);
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-config-'));
  const file = path.join(dir, 'c.yaml');
  writeFileSync(file, 'clusters:\n  maxConcurent: 2\n');
  assert.throws(() => load(['--config', file]), /unknown config key clusters\.maxConcurent/);
  assert.deepEqual(load([], { KUBEDRILL_PROT: '1', KUBEDRILL_ROOT: '/x' }).unknownEnv, ['KUBEDRILL_PROT']);
});

test('single-user mode refuses a non-loopback host; multi mode with invites needs a code', () => {
  assert.throws(() => load(['--host', '0.0.0.0']), /single-user mode only listens on a loopback address/);
  assert.throws(() => load(['--host', '0.0.0.0', '--auth.mode', 'multi']), /auth\.inviteCode/);
  const { config } = load(['--host', '0.0.0.0', '--auth.mode', 'multi', '--auth.invite-code', 'study-group-2026']);
  assert.equal(config.auth.mode, 'multi');
});

test('every key has an env var and a flag derived from its name', () => {
  const keys = configKeys();
  const mc = keys.find((k) => k.key === 'clusters.maxConcurrent');
  assert.deepEqual([mc?.env, mc?.flag], ['KUBEDRILL_CLUSTERS_MAX_CONCURRENT', '--clusters.max-concurrent']);
});

test('allowed origins cover the loopback names and the public URL', () => {
  const { config } = load(['--public-url', 'https://kd.example.org/app']);
  const origins = allowedOrigins(config);
  assert.ok(origins.includes('http://127.0.0.1:3000'));
  assert.ok(origins.includes('http://localhost:3000'));
  assert.ok(origins.includes('https://kd.example.org'));
});

test("pool shapes with add-ons are written as the labs' shape keys, add-ons in sorted order", () => {
  const { config } = load(['--clusters.pool-shapes', 'w1+metrics-server+gateway-api:2,w0-netpol+metallb']);
  assert.deepEqual(config.clusters.poolShapes, ['w1+gateway-api+metrics-server:2', 'w0-netpol+metallb']);
});

test('cluster keys: pool shapes with counts, timeouts, and one-line errors naming the key', () => {
  const { config } = load(['--clusters.pool-shapes', 'w0:2,w1-netpol', '--clusters.create-timeout-minutes', '15']);
  assert.deepEqual(config.clusters.poolShapes, ['w0:2', 'w1-netpol']);
  assert.equal(config.clusters.createTimeoutMinutes, 15);
  assert.equal(config.clusters.setupTimeoutMinutes, 5);
  for (const [argv, pattern] of [
    [
      ['--clusters.pool-shapes', 'w9'],
      /^invalid config clusters\.poolShapes\.0 = "w9": expected a shape key such as w0, w1-netpol:2, w2-nocni or w0\+metrics-server$/,
    ],
    [
      ['--clusters.pool-shapes', 'w0+kafka'],
      /^invalid config clusters\.poolShapes\.0 = "w0\+kafka": .*unknown add-on "kafka" \(known: metrics-server, gateway-api, metallb, etcd-client\)/,
    ],
    // A prefix too long for kind's names says what a prefix may be (it said "expected see README").
    [
      ['--clusters.name-prefix', 'kdimgtest-proxy-156ca9'],
      /^invalid config clusters\.namePrefix = "kdimgtest-proxy-156ca9" \(from flag --clusters\.name-prefix\): expected a lowercase letter, then at most 20 lowercase letters, digits or "-"$/,
    ],
    [
      ['--clusters.create-timeout-minutes', '0'],
      /^invalid config clusters\.createTimeoutMinutes = "0" \(from flag --clusters\.create-timeout-minutes\): expected an integer from 1 to 60$/,
    ],
  ] as const) {
    assert.throws(
      () => load([...argv]),
      (e: unknown) => e instanceof ConfigError && pattern.test(e.message) && !e.message.includes('\n'),
    );
  }
});
