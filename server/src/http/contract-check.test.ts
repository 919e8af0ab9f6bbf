import assert from 'node:assert/strict';
import test from 'node:test';
import { z } from 'zod';
import { errors, ErrorDto } from '../api-contract.ts';
import { testApp } from '../testing/test-app.ts';
import { contractViolation } from './contract-check.ts';

test('an answer keeps its contract only with a declared status and a body its schema accepts', () => {
  const responses = { 200: z.object({ n: z.number() }), ...errors(404) };
  assert.equal(contractViolation(responses, 200, 'application/json', '{"n":1}'), undefined);
  assert.equal(
    contractViolation(
      responses,
      404,
      'application/json; charset=utf-8',
      JSON.stringify({ error: { code: 'x_not_found', message: 'no x', details: { id: 'x' } } }),
    ),
    undefined,
  );
  assert.match(contractViolation(responses, 409, 'application/json', '{}') ?? '', /answered 409, which its schema does not declare \(declared: 200, 404\)/);
  assert.match(contractViolation(responses, 200, 'application/json', '{"n":"1"}') ?? '', /body its schema refuses: n: /);
  assert.match(contractViolation(responses, 404, 'application/json', '{"message":"flat"}') ?? '', /body its schema refuses: error: /);
  assert.match(contractViolation(responses, 200, 'application/json', 'not json') ?? '', /not JSON/);
  assert.equal(contractViolation({ 200: z.string() }, 200, 'text/csv', 'a,b\r\n'), undefined, 'a text body is checked as text');
  assert.match(
    contractViolation(errors(429), 429, 'application/json', '{"error":{"code":"too_many_requests","message":"slow down"}}') ?? '',
    /every 429 is rate_limited/,
  );
  assert.equal(
    contractViolation(errors(429), 429, 'application/json', '{"error":{"code":"rate_limited","message":"slow down","details":{"retryAfterSeconds":2}}}'),
    undefined,
  );
  assert.equal(
    contractViolation({ '4XX': ErrorDto }, 418, 'application/json', '{"error":{"code":"teapot","message":"m"}}'),
    undefined,
    'a status range counts',
  );
});

test('in the test app a route that answers an undeclared status fails with contract_violation', async (t) => {
  const app = await testApp();
  t.after(() => app.close());
  // Routes added after build: the same hooks (common errors, the check) apply to them.
  // (The type provider refuses an undeclared status at compile time; the casts do what plain JavaScript could.)
  app.get('/api/test-only/undeclared', { schema: { response: { 200: z.object({ ok: z.boolean() }) } } }, async (_req, reply) =>
    reply.code(409 as never).send({ error: { code: 'busy', message: 'busy' } } as never),
  );
  app.get('/api/test-only/declared', { schema: { response: { 200: z.object({ ok: z.boolean() }), ...errors(409) } } }, async (_req, reply) =>
    reply.code(409).send({ error: { code: 'busy', message: 'busy' } }),
  );
  await app.ready();
  const bad = await app.inject({ method: 'GET', url: '/api/test-only/undeclared' });
  assert.equal(bad.statusCode, 500);
  assert.equal(bad.json().error.code, 'contract_violation');
  assert.match(bad.json().error.message, /GET \/api\/test-only\/undeclared answered 409/);
  const good = await app.inject({ method: 'GET', url: '/api/test-only/declared' });
  assert.equal(good.statusCode, 409);
  assert.equal(good.json().error.code, 'busy');
});
