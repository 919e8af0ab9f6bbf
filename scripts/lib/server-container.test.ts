import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { SERVER_IMAGE, serverContainerArgv } from './server-container.ts';

const compose = parse(readFileSync(path.resolve(import.meta.dirname, '..', '..', 'compose.yaml'), 'utf8')) as {
  services: { kubedrill: { image: string; network_mode: string; volumes: string[] } };
};

test('the image suites start the server as compose.yaml does: host network, the Docker socket and its group', () => {
  const argv = serverContainerArgv({ name: 'kdimg-abc', port: 4123 }, 998);
  const after = (flag: string) => argv.filter((_, i) => argv[i - 1] === flag);
  assert.deepEqual(argv.slice(0, 3), ['docker', 'run', '-d']);
  assert.deepEqual(after('--name'), ['kdimg-abc']);
  assert.deepEqual(after('--network'), [compose.services.kubedrill.network_mode]);
  assert.deepEqual(after('--group-add'), ['998']);
  const socket = compose.services.kubedrill.volumes.find((v) => v.includes('docker.sock'));
  assert.deepEqual(after('-v'), [socket]);
  assert.equal(argv.at(-1), SERVER_IMAGE);
  assert.equal(compose.services.kubedrill.image.replace(/\$\{KUBEDRILL_VERSION:-([^}]+)\}/, '$1'), SERVER_IMAGE, "compose.yaml's default image");
});

test('each server gets the port and a cluster name prefix of its own, then the settings the suite adds', () => {
  const argv = serverContainerArgv({ name: 'kdimg-abc', port: 4123, env: { KUBEDRILL_AUTH_MODE: 'multi' }, image: 'kubedrill/server:dev' }, 998);
  const env = argv.filter((_, i) => argv[i - 1] === '-e');
  assert.deepEqual(env, ['KUBEDRILL_PORT=4123', 'KUBEDRILL_CLUSTERS_NAME_PREFIX=kdimg-abc', 'KUBEDRILL_AUTH_MODE=multi']);
  assert.equal(argv.at(-1), 'kubedrill/server:dev');
});
