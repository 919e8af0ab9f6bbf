import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config/config.ts';
import { CommandError, type CommandRunner } from '../exec/command-runner.ts';
import { LabCatalog } from '../labs/catalog-service.ts';
import { openMemoryDatabase } from '../storage/db.ts';
import { StaticAttempts } from '../terminal/attempts.ts';
import { testApp } from '../testing/test-app.ts';

// Headers, caching, Host checks, timeouts and Docker outages, as a browser or an attacker sees them.

const dir = mkdtempSync(path.join(tmpdir(), 'kdtest-hardening-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const THEME = "\n      try { document.documentElement.dataset.theme = localStorage.getItem('kd-theme') ?? ''; } catch {}\n    ";
const webDir = path.join(dir, 'web');
mkdirSync(path.join(webDir, 'assets'), { recursive: true });
writeFileSync(
  path.join(webDir, 'index.html'),
  `<!doctype html><html><head><script>${THEME}</script></head><body><div id="root"></div><script type="module" src="/assets/index-abc123.js"></script></body></html>`,
);
writeFileSync(path.join(webDir, 'assets', 'index-abc123.js'), 'console.log(1)');
writeFileSync(path.join(webDir, 'favicon.svg'), '<svg/>');

async function webApp(flags: string[] = []) {
  const boot = loadConfig({ argv: ['--data-dir', dir, '--labs-dir', dir, '--web-dir', webDir, ...flags], env: {}, cwd: dir });
  return buildApp(boot, { checkResponses: true, db: openMemoryDatabase(), labs: new LabCatalog(dir), logger: false, shellLauncher: null });
}

test('every response carries a CSP that allows only same-origin connections and the hashed theme script', async (t) => {
  const app = await webApp();
  t.after(() => app.close());
  for (const url of ['/', '/labs/some-lab', '/api/health']) {
    const res = await app.inject({ method: 'GET', url });
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /connect-src 'self'(;|$)/, url);
    assert.match(csp, /frame-ancestors 'none'/, url);
    assert.match(csp, /object-src 'none'/, url);
    const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? '';
    const hash = `'sha256-${createHash('sha256').update(THEME).digest('base64')}'`;
    assert.deepEqual(
      scriptSrc.split(' ').filter((s) => s.startsWith("'sha256-")),
      [hash],
      'exactly the inline theme script is allowed',
    );
    assert.doesNotMatch(scriptSrc, /'unsafe-inline'|'unsafe-eval'/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['strict-transport-security'], undefined, 'no HSTS without an https publicUrl');
  }
});

test('HSTS is sent when the public URL is https', async (t) => {
  const app = await webApp(['--auth.mode', 'multi', '--auth.registration', 'closed', '--public-url', 'https://drill.example.org']);
  t.after(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/api/health', headers: { host: 'drill.example.org' } });
  assert.match(String(res.headers['strict-transport-security']), /max-age=\d{7,}/);
});

test('index.html is always revalidated; hashed assets are cached for good', async (t) => {
  const app = await webApp();
  t.after(() => app.close());
  for (const url of ['/', '/labs/x', '/index.html', '/favicon.svg']) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200, url);
    assert.equal(res.headers['cache-control'], 'no-cache', url);
  }
  const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
  assert.equal(asset.statusCode, 200);
  assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
});

test('single-user mode answers only to loopback host names (DNS rebinding)', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  const rebound = await app.inject({ method: 'GET', url: '/api/session', headers: { host: 'attacker.example:3000' } });
  assert.equal(rebound.statusCode, 403);
  assert.equal(rebound.json().error.code, 'host_not_allowed');
  assert.equal(rebound.cookies.length, 0, 'no session is handed out');
  for (const host of ['localhost:3000', '127.0.0.1:3000', '[::1]:3000', '127.0.0.1']) {
    const ok = await app.inject({ method: 'GET', url: '/api/session', headers: { host } });
    assert.equal(ok.statusCode, 200, host);
  }
  // Multi-user mode has no auto-login: a proxy may use any name.
  const multi = await testApp(['--auth.mode', 'multi', '--auth.registration', 'closed']);
  t.after(() => multi.close());
  assert.equal((await multi.inject({ method: 'GET', url: '/api/session', headers: { host: 'drill.example.org' } })).statusCode, 200);
});

test('a request must arrive whole within a deadline (a trickled body cannot hold a connection)', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  assert.ok(app.server.requestTimeout > 0 && app.server.requestTimeout <= 60_000, `requestTimeout ${app.server.requestTimeout}`);
  assert.ok(app.server.headersTimeout > 0 && app.server.headersTimeout <= app.server.requestTimeout, `headersTimeout ${app.server.headersTimeout}`);
});

test('Docker being down is a 503 that says so, not a 500', async (t) => {
  const runner: CommandRunner = {
    run: async (spec) => {
      throw new CommandError(
        'exit-code',
        spec.argv,
        1,
        '',
        'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
      );
    },
  };
  const attempts = new StaticAttempts();
  attempts.add({ id: 'a1', learnerId: 'local', clusterName: 'kd-x', status: 'running' });
  const boot = loadConfig({ argv: ['--data-dir', dir, '--labs-dir', dir, '--terminal.mode', 'container'], env: {}, cwd: dir });
  const app = await buildApp(boot, { checkResponses: true, db: openMemoryDatabase(), labs: new LabCatalog(dir), logger: false, runner, attempts });
  t.after(() => app.close());
  const cookie = String((await app.inject({ method: 'GET', url: '/api/session' })).headers['set-cookie']).split(';')[0]!;
  const res = await app.inject({ method: 'GET', url: '/api/attempts/a1/nodes', headers: { cookie } });
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().error.code, 'docker_unavailable');
  assert.match(res.json().error.message, /Docker is not running/);
});
