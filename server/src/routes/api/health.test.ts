import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BROKEN_FIXTURES, testApp } from '../../testing/test-app.ts';
import { VERSION } from '../../version.ts';

test('GET /api/health reports ok, the version and the catalog counts', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/api/health' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { status: 'ok', version: VERSION, labs: { loaded: 2, broken: BROKEN_FIXTURES } });
});

test('unknown API routes answer 404 with a JSON error naming the route', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/api/nope?x=1' });
  assert.equal(res.statusCode, 404);
  assert.deepEqual(res.json(), { error: { code: 'route_not_found', message: 'no route GET /api/nope' } });
});

test('without a built web app, pages explain how to build it and the API still works', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/labs/valid-lab' });
  assert.equal(res.statusCode, 503);
  assert.match(res.body, /npm run build:web/);
});

test('the OpenAPI document is served and lists every route', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/api/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json() as { openapi: string; info: { title: string }; paths: Record<string, Record<string, unknown>> };
  assert.match(doc.openapi, /^3\./);
  assert.equal(doc.info.title, 'kubedrill API');
  const routes = Object.entries(doc.paths)
    .flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`))
    .sort();
  for (const r of [
    'GET /api/health',
    'GET /api/labs',
    'GET /api/labs/{labId}',
    'POST /api/labs/reload',
    'GET /api/session',
    'POST /api/session/login',
    'POST /api/session/logout',
    'POST /api/session/register',
  ]) {
    assert.ok(routes.includes(r), `${r} is documented; documented: ${routes.join(', ')}`);
  }
  assert.ok(!routes.some((r) => r.includes('openapi')), 'the document does not list itself');
  const lab = doc.paths['/api/labs/{labId}']?.get as { responses?: Record<string, unknown> } | undefined;
  assert.ok(lab?.responses?.['200'], 'responses are described from the zod schemas');
});

test('the OpenAPI document names each path parameter one way and gives every error one shape, with details', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  type Op = {
    parameters?: { in: string; name: string }[];
    responses?: Record<string, { content?: Record<string, { schema?: { properties?: { error?: { properties?: Record<string, unknown> } } } }> }>;
  };
  const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as { paths: Record<string, Record<string, Op>> };
  const names = new Set<string>();
  for (const [p, methods] of Object.entries(doc.paths)) {
    for (const name of p.matchAll(/\{(\w+)\}/g)) names.add(name[1]!);
    for (const [method, op] of Object.entries(methods)) {
      // Every route documents the errors any route may answer, as the one error object.
      for (const status of ['400', '403', '500']) {
        const error = op.responses?.[status]?.content?.['application/json']?.schema?.properties?.error?.properties;
        assert.ok(
          error && 'code' in error && 'message' in error && 'details' in error,
          `${method.toUpperCase()} ${p} documents ${status} as the error shape: ${JSON.stringify(op.responses?.[status])}`,
        );
      }
    }
  }
  // An id is named after what it identifies, never a bare "id".
  assert.deepEqual([...names].sort(), ['assignmentId', 'attemptId', 'examAttemptId', 'examId', 'groupId', 'labId', 'learnerId', 'number', 'terminalId']);
});
