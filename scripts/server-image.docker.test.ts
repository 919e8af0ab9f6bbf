import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createCommandRunner } from '../server/src/exec/command-runner.ts';
import { dockerSkipReason } from '../server/src/testing/docker.ts';
import { freePort } from '../server/src/testing/free-port.ts';
import { buildImages, SERVER_IMAGE as IMAGE, startServerContainer, VERSION, waitForLog, type ServerContainer } from './lib/server-container.ts';

// The server image as compose.yaml runs it: built by scripts/build-images (reused when its inputs are
// unchanged), started with the host's Docker socket and host networking, then asked what an operator
// and a browser would ask. Every request goes to 127.0.0.1.

const ROOT = path.resolve(import.meta.dirname, '..');
const SOCKET = '/var/run/docker.sock';
const runner = createCommandRunner({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' });
const tag = randomBytes(3).toString('hex');
const NAME = `kdimgtest-${tag}`;

let skip: string | false = false;
let server: ServerContainer | undefined;
let base = '';

before(
  async () => {
    skip = (await dockerSkipReason(runner)) ?? (await buildImages(runner, ['server'])) ?? false;
    if (skip) return;
    server = await startServerContainer(runner, { name: NAME, port: await freePort() });
    base = server.base;
    // A cold image build outlasts the docker stage's default per-test timeout.
  },
  { timeout: 45 * 60_000 },
);

after(async () => {
  await server?.remove();
});

test('the image serves the web app and the API on the host loopback', async (t) => {
  if (skip) return t.skip(skip);
  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await page.text(), /<script[^>]+src="\/assets\/index-[^"]+\.js"/, 'the built web app');
  assert.match(page.headers.get('content-security-policy') ?? '', /connect-src 'self'/);

  const health = await fetch(`${base}/api/health`);
  assert.equal(health.status, 200);
  const body = (await health.json()) as { status: string; version: string; labs: { loaded: number; broken: number } };
  assert.equal(body.status, 'ok');
  assert.equal(body.version, VERSION);
  assert.ok(body.labs.loaded > 0, 'the labs shipped in the image are loaded');
  assert.equal(body.labs.broken, 0);
  const catalog = (await (await fetch(`${base}/api/labs`)).json()) as { labs: unknown[] };
  assert.equal(catalog.labs.length, body.labs.loaded);
});

test('inside the image the host Docker, kind, kubectl and the host loopback are within reach', async (t) => {
  if (skip) return t.skip(skip);
  // The doctor's own checks, run by the server as its unprivileged user through the mounted socket
  // (single mode: whoever reaches the loopback server is its local admin, once it has the cookie).
  const session = await fetch(`${base}/api/session`);
  const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  assert.ok(cookie, 'single mode hands out the local session');
  const health = await fetch(`${base}/api/admin/health`, { headers: { cookie } });
  assert.equal(health.status, 200, await health.clone().text());
  const { checks } = (await health.json()) as { checks: { id: string; status: string; detail: string }[] };
  for (const id of ['docker', 'kind', 'kubectl']) {
    const c = checks.find((x) => x.id === id);
    assert.equal(c?.status, 'ok', `${id}: ${JSON.stringify(c)}`);
  }
  // kind publishes API servers on the host's 127.0.0.1: a listener there stands in for one.
  const probe = createServer((_req, res) => res.end('kind-api-stand-in'));
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  t.after(() => probe.close());
  const probePort = (probe.address() as { port: number }).port;
  const r = await runner.run({
    argv: ['docker', 'exec', NAME, 'node', '-e', `fetch('http://127.0.0.1:${probePort}/').then((r) => r.text()).then((t) => console.log(t))`],
    timeoutMs: 30_000,
  });
  assert.equal(r.stdout.trim(), 'kind-api-stand-in');
  // node-pty's addon was compiled for this image and loads (terminals need it).
  const pty = await runner.run({
    argv: ['docker', 'exec', NAME, 'node', '-e', "require('/opt/kubedrill/node_modules/node-pty'); console.log('pty ok')"],
    timeoutMs: 30_000,
  });
  assert.equal(pty.stdout.trim(), 'pty ok');
});

test('a request from a foreign Origin is refused', async (t) => {
  if (skip) return t.skip(skip);
  const res = await fetch(`${base}/api/attempts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
    body: JSON.stringify({ labId: 'anything' }),
  });
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'origin_not_allowed');
});

test('docker stop shuts the server down cleanly', async (t) => {
  if (skip) return t.skip(skip);
  await runner.run({ argv: ['docker', 'stop', '-t', '20', NAME], timeoutMs: 60_000 });
  const state = await runner.run({ argv: ['docker', 'inspect', '-f', '{{.State.ExitCode}}', NAME], timeoutMs: 30_000 });
  const log = await runner.run({ argv: ['docker', 'logs', NAME], timeoutMs: 30_000 });
  assert.equal(state.stdout.trim(), '0', `exit code after SIGTERM; log:\n${log.stdout}${log.stderr}`);
  // pino writes the fields before the message: {…,"signal":"SIGTERM","msg":"shutting down"}
  assert.match(log.stdout + log.stderr, /"signal":"SIGTERM","msg":"shutting down"/);
  await assert.rejects(fetch(`${base}/api/health`), 'nothing listens after the stop');
});

test('compose.yaml runs the image in multi mode on the host loopback and stops it cleanly', async (t) => {
  if (skip) return t.skip(skip);
  if ((await runner.run({ argv: ['docker', 'compose', 'version'], timeoutMs: 30_000, okCodes: [0, 1, 125] })).exitCode !== 0) {
    return t.skip('docker compose is not installed (scripts/setup-host --tests installs it)');
  }
  const project = `kdimgtest-compose-${tag}`;
  const composePort = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'kdimgtest-'));
  // Only what a test must change: its own cluster name prefix. Everything else is compose.yaml's.
  const override = path.join(dir, 'override.yaml');
  writeFileSync(override, 'services:\n  kubedrill:\n    environment:\n      KUBEDRILL_CLUSTERS_NAME_PREFIX: kdimgc-' + tag + '\n');
  const env = {
    ...process.env,
    KUBEDRILL_DOCKER_GID: String(statSync(SOCKET).gid),
    KUBEDRILL_PORT: String(composePort),
    KUBEDRILL_AUTH_INVITE_CODE: `invite-${tag}`,
    KUBEDRILL_PUBLIC_URL: `http://127.0.0.1:${composePort}`,
  } as Record<string, string>;
  const compose = (args: string[], okCodes = [0]) =>
    createCommandRunner(env).run({
      argv: ['docker', 'compose', '-p', project, '-f', path.join(ROOT, 'compose.yaml'), '-f', override, ...args],
      timeoutMs: 120_000,
      okCodes,
    });
  t.after(async () => {
    await compose(['down', '-v', '--remove-orphans'], [0, 1]);
    rmSync(dir, { recursive: true, force: true });
  });
  const config = JSON.parse((await compose(['config', '--format', 'json'])).stdout) as { services: { kubedrill: { image: string } } };
  assert.equal(config.services.kubedrill.image, IMAGE, "compose.yaml's default image is the one build-images tags for this version");
  await compose(['up', '-d']);
  const id = (await compose(['ps', '-q', 'kubedrill'])).stdout.trim();
  await waitForLog(id, /multi-user server ready/, 90_000);
  const url = `http://127.0.0.1:${composePort}`;
  const session = (await (await fetch(`${url}/api/session`)).json()) as { mode: string; registration: string; learner: unknown };
  assert.deepEqual(session, { mode: 'multi', registration: 'invite', learner: null });
  // The first account becomes the admin, whose doctor finds Docker through the mounted socket.
  const reg = await fetch(`${url}/api/session/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ username: 'operator', password: 'correct horse battery' }),
  });
  assert.equal(reg.status, 200, await reg.clone().text());
  const cookie = (reg.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const health = (await (await fetch(`${url}/api/admin/health`, { headers: { cookie } })).json()) as { checks: { id: string; status: string }[] };
  assert.equal(health.checks.find((c) => c.id === 'docker')?.status, 'ok');
  const volume = `${project}_kubedrill-data`;
  assert.equal((await runner.run({ argv: ['docker', 'volume', 'inspect', volume], timeoutMs: 30_000, okCodes: [0, 1] })).exitCode, 0, 'the data volume exists');
  await compose(['stop']);
  assert.equal((await runner.run({ argv: ['docker', 'inspect', '-f', '{{.State.ExitCode}}', id], timeoutMs: 30_000 })).stdout.trim(), '0');
});

test('behind Caddy with TLS: page, Secure cookie, and rate limits keyed on the client through X-Forwarded-For', async (t) => {
  if (skip) return t.skip(skip);
  if ((await runner.run({ argv: ['caddy', 'version'], timeoutMs: 30_000, okCodes: [0, 1, 127] }).catch(() => ({ exitCode: 127 }))).exitCode !== 0) {
    return t.skip('caddy is not installed (scripts/setup-host --tests installs it)');
  }
  // README "Exposing a server to a study group": kubedrill on loopback in multi mode, publicUrl the
  // proxy's https URL, trustProxy the proxy's address; Caddy's own CA (tls internal) on a loopback name.
  const serverPort = await freePort();
  const proxyPort = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'kdimgtest-caddy-'));
  const name = `kdimgp-${tag}`;
  const invite = `invite-${tag}`;
  const publicUrl = `https://localhost:${proxyPort}`;
  writeFileSync(
    path.join(dir, 'Caddyfile'),
    [
      '{',
      '\tadmin off',
      '\tauto_https disable_redirects',
      '\tskip_install_trust',
      '}',
      `localhost:${proxyPort} {`,
      '\tbind 127.0.0.1',
      '\ttls internal',
      `\treverse_proxy 127.0.0.1:${serverPort}`,
      '}',
      '',
    ].join('\n'),
  );
  const caddy = spawn('caddy', ['run', '--config', path.join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], {
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: path.join(dir, 'data'), XDG_CONFIG_HOME: path.join(dir, 'config') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let caddyLog = '';
  caddy.stderr.on('data', (c: Buffer) => (caddyLog += c.toString()));
  t.after(async () => {
    caddy.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const proxied = await startServerContainer(runner, {
    name,
    port: serverPort,
    env: { KUBEDRILL_AUTH_MODE: 'multi', KUBEDRILL_AUTH_INVITE_CODE: invite, KUBEDRILL_PUBLIC_URL: publicUrl, KUBEDRILL_TRUST_PROXY: '127.0.0.1' },
  });
  t.after(() => proxied.remove());
  const rootCa = path.join(dir, 'data/caddy/pki/authorities/local/root.crt');
  for (let i = 0; i < 60 && !existsSync(rootCa); i++) await new Promise((r) => setTimeout(r, 500));
  assert.ok(existsSync(rootCa), `Caddy made no internal CA:\n${caddyLog}`);
  // The browser's checks, each printed; it exits non-zero when any fails (clients on 127.0.0.5/.7/.8).
  const checks = await runner.run({
    argv: [
      process.execPath,
      path.join(ROOT, 'scripts/run.mjs'),
      path.join(ROOT, 'scripts/bench/behind-proxy.ts'),
      '--url',
      publicUrl,
      '--ca',
      rootCa,
      '--invite',
      invite,
    ],
    timeoutMs: 120_000,
    okCodes: [0, 1],
  });
  assert.equal(checks.exitCode, 0, `${checks.stdout}${checks.stderr}\ncaddy:\n${caddyLog}`);
  assert.match(checks.stdout, /ok .* register .*Secure/);
  assert.match(checks.stdout, /ok .* client 127\.0\.0\.8, same proxy, right password: 200/);
});
