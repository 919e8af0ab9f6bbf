import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { App } from '../../app-types.ts';
import { buildApp } from '../../app.ts';
import { loadConfig } from '../../config/config.ts';
import { openMemoryDatabase } from '../../storage/db.ts';
import { loadedCatalog, sessionCookie, testApp } from '../../testing/test-app.ts';

const INVITE = 'study-group-2026';
const multi = (registration = 'invite') => testApp(['--auth.mode', 'multi', '--auth.registration', registration, '--auth.invite-code', INVITE]);
const register = (app: App, body: Record<string, unknown>) => app.inject({ method: 'POST', url: '/api/session/register', payload: body });
const login = (app: App, username: string, password: string, remoteAddress = '127.0.0.1') =>
  app.inject({ method: 'POST', url: '/api/session/login', payload: { username, password }, remoteAddress });

test('single-user mode: the first visit creates the local learner and a session cookie', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  const first = await app.inject({ method: 'GET', url: '/api/session' });
  assert.equal(first.statusCode, 200);
  assert.deepEqual(first.json(), { mode: 'single', registration: 'invite', learner: { id: 'local', username: 'local', displayName: 'You', role: 'admin' } });
  const cookie = first.cookies.find((c) => c.name === 'kd_session');
  assert.ok(cookie, 'a session cookie is set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Lax');
  assert.equal(cookie.path, '/');

  const again = await app.inject({ method: 'GET', url: '/api/session', headers: { cookie: sessionCookie(first) } });
  assert.equal(again.json().learner.id, 'local');
  assert.equal(again.cookies.length, 0, 'an existing session is reused, not replaced');
});

test('single-user mode has nothing to log in to or register for', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  const res = await login(app, 'someone', 'long-enough-password');
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().error.code, 'single_user_mode');
});

test('multi-user mode: anonymous until registered; the first account becomes admin', async (t) => {
  const app = await multi();
  t.after(() => app.close());
  const anon = await app.inject({ method: 'GET', url: '/api/session' });
  assert.deepEqual(anon.json(), { mode: 'multi', registration: 'invite', learner: null });
  assert.equal(anon.cookies.length, 0);

  // The very first account needs no invite code and is the admin.
  const admin = await register(app, { username: 'Ada', password: 'correct horse battery' });
  assert.equal(admin.statusCode, 200);
  assert.equal(admin.json().learner.role, 'admin');
  assert.equal(admin.json().learner.displayName, 'Ada');
  const me = await app.inject({ method: 'GET', url: '/api/session', headers: { cookie: sessionCookie(admin) } });
  assert.equal(me.json().learner.username, 'Ada');
});

test('multi-user mode with invites: later accounts need the code and are learners', async (t) => {
  const app = await multi();
  t.after(() => app.close());
  await register(app, { username: 'ada', password: 'correct horse battery' });

  const noCode = await register(app, { username: 'bob', password: 'another long one' });
  assert.equal(noCode.statusCode, 403);
  assert.deepEqual(noCode.json(), { error: { code: 'bad_invite_code', message: 'the invite code is wrong' } });

  const withCode = await register(app, { username: 'bob', password: 'another long one', inviteCode: INVITE, displayName: 'Bob B.' });
  assert.equal(withCode.statusCode, 200);
  assert.deepEqual(withCode.json().learner, { id: withCode.json().learner.id, username: 'bob', displayName: 'Bob B.', role: 'learner' });

  const taken = await register(app, { username: 'BOB', password: 'another long one', inviteCode: INVITE });
  assert.equal(taken.statusCode, 409, 'usernames are unique regardless of case');
  assert.equal(taken.json().error.code, 'username_taken');
});

test('multi-user mode with closed registration: only the first account can be created', async (t) => {
  const app = await multi('closed');
  t.after(() => app.close());
  assert.equal((await register(app, { username: 'ada', password: 'correct horse battery' })).statusCode, 200);
  const second = await register(app, { username: 'eve', password: 'correct horse battery', inviteCode: INVITE });
  assert.equal(second.statusCode, 403);
  assert.equal(second.json().error.code, 'registration_closed');
});

test('login: a wrong password or unknown user is 401 with the same message; the right one starts a session', async (t) => {
  const app = await multi();
  t.after(() => app.close());
  await register(app, { username: 'ada', password: 'correct horse battery' });

  const wrong = await login(app, 'ada', 'incorrect horse battery');
  assert.equal(wrong.statusCode, 401);
  assert.deepEqual(wrong.json(), { error: { code: 'bad_credentials', message: 'wrong username or password' } });
  const unknown = await login(app, 'nobody', 'incorrect horse battery');
  assert.equal(unknown.statusCode, 401);
  assert.deepEqual(unknown.json(), wrong.json(), 'an unknown user looks exactly like a wrong password');
  assert.equal(wrong.cookies.length, 0);

  const ok = await login(app, 'ada', 'correct horse battery');
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().learner.username, 'ada');
  const cookie = sessionCookie(ok);

  const out = await app.inject({ method: 'POST', url: '/api/session/logout', headers: { cookie } });
  assert.equal(out.statusCode, 204);
  assert.equal(out.cookies.find((c) => c.name === 'kd_session')?.value, '', 'the cookie is cleared');
  const after = await app.inject({ method: 'GET', url: '/api/session', headers: { cookie } });
  assert.equal(after.json().learner, null, 'the old cookie no longer works');

  const again = await app.inject({ method: 'POST', url: '/api/session/logout', headers: { cookie } });
  assert.equal(again.statusCode, 401, 'logging out twice needs a session');
});

test('a bad body is a 400 that says which field and why', async (t) => {
  const app = await multi();
  t.after(() => app.close());
  const short = await register(app, { username: 'ada', password: 'short' });
  assert.equal(short.statusCode, 400);
  assert.deepEqual(short.json(), { error: { code: 'bad_request', message: 'body.password: use at least 10 characters' } });
  const badName = await login(app, 'a b', 'correct horse battery');
  assert.equal(badName.statusCode, 400);
  assert.equal(badName.json().error.message, 'body.username: use 2–32 letters, digits, ".", "_" or "-"');
  const missing = await app.inject({ method: 'POST', url: '/api/session/login', payload: {} });
  assert.equal(missing.statusCode, 400);
  assert.match(missing.json().error.message, /^body\.username: /);
  const notJson = await app.inject({ method: 'POST', url: '/api/session/login', headers: { 'content-type': 'application/json' }, payload: '{"username":' });
  assert.equal(notJson.statusCode, 400);
  assert.match(notJson.json().error.message, /JSON/);
  assert.equal(notJson.json().error.code, 'bad_request', "Fastify's own error names (FST_ERR_…) are not our API's codes");
});

test('state-changing requests from a foreign Origin are refused (CSRF)', async (t) => {
  const app = await multi();
  t.after(() => app.close());
  const foreign = await app.inject({
    method: 'POST',
    url: '/api/session/login',
    headers: { origin: 'https://evil.example' },
    payload: { username: 'ada', password: 'correct horse battery' },
  });
  assert.equal(foreign.statusCode, 403);
  assert.deepEqual(foreign.json(), {
    error: { code: 'origin_not_allowed', message: 'requests from origin https://evil.example are not allowed; add it to allowedOrigins' },
  });
  const own = await app.inject({
    method: 'POST',
    url: '/api/session/login',
    headers: { origin: 'http://127.0.0.1:3000' },
    payload: { username: 'ada', password: 'correct horse battery' },
  });
  assert.equal(own.statusCode, 401, "the server's own origin passes the check (and then fails on the password)");
  const read = await app.inject({ method: 'GET', url: '/api/session', headers: { origin: 'https://evil.example' } });
  assert.equal(read.statusCode, 200, 'reads are not state-changing');
});

test('concurrent registrations on a fresh server: exactly one becomes admin', async (t) => {
  const app = await multi('open');
  t.after(() => app.close());
  const all = await Promise.all(['ann', 'ben', 'cat', 'dan', 'eve'].map((username) => register(app, { username, password: 'correct horse battery' })));
  assert.deepEqual(
    all.map((r) => r.statusCode),
    [200, 200, 200, 200, 200],
  );
  assert.deepEqual(all.map((r) => r.json().learner.role).sort(), ['admin', 'learner', 'learner', 'learner', 'learner']);
});

test('concurrent registrations of one username: one account, the rest 409 username_taken', async (t) => {
  const app = await multi('open');
  t.after(() => app.close());
  const all = await Promise.all(['zoe', 'Zoe', 'ZOE', 'zoe', 'zOe'].map((username) => register(app, { username, password: 'correct horse battery' })));
  assert.deepEqual(all.map((r) => r.statusCode).sort(), [200, 409, 409, 409, 409]);
  for (const r of all.filter((x) => x.statusCode === 409)) assert.equal(r.json().error.code, 'username_taken');
});

test('password guessing backs off per account: after many wrong passwords even the right one waits (429)', async (t) => {
  const app = await multi('open');
  t.after(() => app.close());
  await register(app, { username: 'ada', password: 'correct horse battery' });
  await register(app, { username: 'bob', password: 'another long one' });
  const statuses: number[] = [];
  // From many addresses, so only the per-account limit can stop it.
  for (let i = 0; i < 150; i++) statuses.push((await login(app, 'ada', `wrong password ${i}`, `10.0.${i >> 8}.${i & 255}`)).statusCode);
  assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401], 'a few typos are forgiven');
  assert.ok(statuses.filter((s) => s === 429).length > 100, `most guesses are refused unchecked: ${statuses.filter((s) => s === 429).length}`);
  const right = await login(app, 'ADA', 'correct horse battery', '10.9.9.9');
  assert.equal(right.statusCode, 429, 'the right password does not get through while backing off');
  assert.equal(right.json().error.code, 'rate_limited');
  assert.ok(Number(right.headers['retry-after']) >= 1, `Retry-After: ${right.headers['retry-after']}`);
  assert.equal((await login(app, 'bob', 'another long one', '10.9.9.9')).statusCode, 200, 'other accounts are not affected');
});

test('one client trying many accounts backs off (429) without affecting other clients', async (t) => {
  const app = await multi('open');
  t.after(() => app.close());
  await register(app, { username: 'ada', password: 'correct horse battery' });
  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) statuses.push((await login(app, `user${i}`, 'some password here', '192.0.2.7')).statusCode);
  assert.equal(statuses.at(-1), 429);
  assert.equal((await login(app, 'ada', 'correct horse battery', '192.0.2.7')).statusCode, 429, 'the client waits, whatever account it tries');
  assert.equal((await login(app, 'ada', 'correct horse battery', '192.0.2.8')).statusCode, 200, 'another client is not affected');
});

test('trustProxy: the client address comes from X-Forwarded-For only when the proxy is trusted', async (t) => {
  const flags = ['--auth.mode', 'multi', '--auth.registration', 'open'];
  const behind = await testApp([...flags, '--trust-proxy', '127.0.0.1']);
  const direct = await testApp(flags);
  t.after(() => Promise.all([behind.close(), direct.close()]).then(() => undefined));
  const tryMany = async (app: App, forwardedFor: string) => {
    let last = 0;
    for (let i = 0; i < 32; i++) {
      last = (
        await app.inject({
          method: 'POST',
          url: '/api/session/login',
          payload: { username: `u${i}`, password: 'some password here' },
          headers: { 'x-forwarded-for': forwardedFor },
        })
      ).statusCode;
    }
    return last;
  };
  assert.equal(await tryMany(behind, '198.51.100.1'), 429);
  assert.equal((await login(behind, 'x1', 'some password here')).statusCode, 401, 'behind a trusted proxy, another forwarded client is another client');
  assert.equal(await tryMany(direct, '198.51.100.1'), 429);
  const spoofed = await direct.inject({
    method: 'POST',
    url: '/api/session/login',
    payload: { username: 'x1', password: 'some password here' },
    headers: { 'x-forwarded-for': '203.0.113.9' },
  });
  assert.equal(spoofed.statusCode, 429, 'without trustProxy a forged X-Forwarded-For changes nothing');
});

test('a data folder switched from single- to multi-user mode no longer accepts the local admin session', async (t) => {
  const db = openMemoryDatabase();
  const labs = await loadedCatalog();
  const boot = (mode: string) =>
    loadConfig({
      argv: ['--data-dir', '/nonexistent/kd', '--web-dir', '/nonexistent/kd-web', '--auth.mode', mode, '--auth.registration', 'open'],
      env: {},
      cwd: process.cwd(),
    });
  const single = await buildApp(boot('single'), { checkResponses: true, db, labs, logger: false });
  const cookie = sessionCookie(await single.inject({ method: 'GET', url: '/api/session' }));
  await single.close();
  const multiApp = await buildApp(boot('multi'), { checkResponses: true, db, labs, logger: false });
  t.after(() => multiApp.close());
  const me = await multiApp.inject({ method: 'GET', url: '/api/session', headers: { cookie } });
  assert.equal(me.json().learner, null);
  const start = await multiApp.inject({ method: 'POST', url: '/api/attempts', headers: { cookie }, payload: { labId: 'x' } });
  assert.equal(start.statusCode, 401);
  assert.equal(
    (db.prepare("SELECT COUNT(*) AS n FROM sessions WHERE learner_id = 'local'").get() as { n: number }).n,
    0,
    'the sessions are deleted, not just ignored',
  );
});

test('expired sessions are deleted when the server starts', async (t) => {
  const db = openMemoryDatabase();
  db.prepare(
    "INSERT INTO learners (id, username, display_name, role, password_hash, created_at) VALUES ('l1', 'old', 'Old', 'learner', 'x', '2020-01-01')",
  ).run();
  db.prepare(
    "INSERT INTO sessions (token_hash, learner_id, created_at, expires_at, last_seen_at) VALUES ('h1', 'l1', '2020-01-01', '2020-01-15', '2020-01-01'), ('h2', 'l1', '2020-01-01', '2999-01-01', '2020-01-01')",
  ).run();
  const app = await buildApp(
    loadConfig({ argv: ['--data-dir', '/nonexistent/kd', '--auth.mode', 'multi', '--auth.registration', 'open'], env: {}, cwd: process.cwd() }),
    { checkResponses: true, db, labs: await loadedCatalog(), logger: false },
  );
  t.after(() => app.close());
  assert.deepEqual(
    db
      .prepare('SELECT token_hash FROM sessions')
      .all()
      .map((r) => (r as { token_hash: string }).token_hash),
    ['h2'],
  );
});

test('a classroom behind one address registers 30 accounts a minute; the next is told when to retry', async (t) => {
  // A frozen clock: 31 scrypt hashes take seconds on a busy machine, and real time would refill the bucket.
  const frozen = Date.now();
  const app = await testApp(['--auth.mode', 'multi', '--auth.registration', 'open', '--auth.invite-code', INVITE], undefined, { now: () => frozen });
  t.after(() => app.close());
  const statuses: number[] = [];
  for (let i = 0; i < 31; i++) statuses.push((await register(app, { username: `pupil${i}`, password: 'correct horse battery' })).statusCode);
  assert.deepEqual(statuses.slice(0, 30), Array(30).fill(200));
  const over = await register(app, { username: 'pupil-late', password: 'correct horse battery' });
  assert.equal(over.statusCode, 429);
  assert.deepEqual(over.json().error.code, 'rate_limited');
  assert.equal(over.headers['retry-after'], '2');
});
