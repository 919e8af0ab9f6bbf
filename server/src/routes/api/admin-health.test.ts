import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { App } from '../../app-types.ts';
import { sessionCookie, testApp } from '../../testing/test-app.ts';

// The admin health endpoint runs the doctor on this host (whatever it has) and counts clusters.

let app: App;
before(async () => {
  app = await testApp();
});
after(async () => {
  await app.close();
});

test('GET /api/admin/health gives admins every doctor check and the cluster counts; anonymous callers get 401', async () => {
  assert.equal((await app.inject({ method: 'GET', url: '/api/admin/health' })).statusCode, 401);
  const cookie = sessionCookie(await app.inject({ method: 'GET', url: '/api/session' }));
  const res = await app.inject({ method: 'GET', url: '/api/admin/health', headers: { cookie } });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json<{ checks: { id: string; status: string; remedy?: string }[]; clusters: { max: number; claimed: number } }>();
  for (const id of ['docker', 'kind', 'kubectl', 'inotify', 'memory', 'disk'])
    assert.ok(
      body.checks.some((c) => c.id === id),
      `check ${id} is reported`,
    );
  for (const c of body.checks) if (c.status === 'fail') assert.ok(c.remedy, `failed check ${c.id} has a remedy`);
  assert.equal(body.clusters.max, 4);
  assert.equal(body.clusters.claimed, 0);
  assert.deepEqual(res.json<{ presets: unknown[] }>().presets, [], 'no lab is kept set up in advance unless configured');
});
