// The browser's API layer maps every answer the server can give to a value or an ApiError.
import assert from 'node:assert/strict';
import test from 'node:test';
import { api, ApiError } from './client.ts';

/** Replaces fetch for one test with a function of the request. */
function answer(t: { after(fn: () => void): void }, reply: (url: string, init: RequestInit) => Response | Promise<Response>): RequestInit[] {
  const seen: RequestInit[] = [];
  const real = globalThis.fetch;
  globalThis.fetch = (async (url: string, init: RequestInit) => {
    seen.push(init);
    return reply(url, init);
  }) as typeof fetch;
  t.after(() => {
    globalThis.fetch = real;
  });
  return seen;
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

test('an error answer becomes an ApiError with its status, code, message and details', async (t) => {
  answer(t, () => json(429, { error: { code: 'rate_limited', message: 'too many registrations; try again in 2 s', details: { retryAfterSeconds: 2 } } }));
  const err = await api.session.register({ username: 'ada', password: 'correct horse battery' }).catch((e: unknown) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 429);
  assert.equal(err.code, 'rate_limited');
  assert.equal(err.message, 'too many registrations; try again in 2 s');
  assert.deepEqual(err.details, { retryAfterSeconds: 2 });
});

test('an error without the error object (a proxy page) still says its status', async (t) => {
  answer(t, () => new Response('{"oops":true}', { status: 502 }));
  const err = await api.labs.list().catch((e: unknown) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 502);
  assert.equal(err.code, 'http_error');
  assert.equal(err.message, 'HTTP 502');
  assert.equal(err.details, undefined);
});

test('a body that is not JSON, an unreachable server and a cancelled call are told apart', async (t) => {
  let mode: 'html' | 'down' | 'abort' = 'html';
  answer(t, () => {
    if (mode === 'html') return new Response('<html>bad gateway</html>', { status: 502 });
    if (mode === 'down') throw new TypeError('fetch failed');
    throw new DOMException('The operation was aborted.', 'AbortError');
  });
  const html = await api.labs.list().catch((e: unknown) => e);
  assert.ok(html instanceof ApiError);
  assert.equal(html.code, 'bad_response');
  assert.equal(html.status, 502);
  mode = 'down';
  const down = await api.labs.list().catch((e: unknown) => e);
  assert.ok(down instanceof ApiError);
  assert.equal(down.code, 'network');
  assert.equal(down.status, 0);
  mode = 'abort';
  const aborted = await api.labs.list().catch((e: unknown) => e);
  assert.ok(!(aborted instanceof ApiError), 'a cancelled call is not reported as a server problem');
  assert.equal((aborted as Error).name, 'AbortError');
});

test('requests send JSON bodies and path parts encoded; 204 answers are undefined', async (t) => {
  const urls: string[] = [];
  const seen = answer(t, (url) => {
    urls.push(url);
    return new Response(null, { status: 204 });
  });
  assert.equal(await api.terminals.close('a/b', 't 1'), undefined);
  assert.equal(await api.exams.focus('x', 3), undefined);
  assert.deepEqual(urls, ['/api/attempts/a%2Fb/terminals/t%201', '/api/exam-attempts/x/focus']);
  assert.equal(seen[0]!.method, 'DELETE');
  assert.equal(seen[0]!.body, null);
  assert.equal(seen[1]!.body, JSON.stringify({ number: 3 }));
  assert.deepEqual(seen[1]!.headers, { 'content-type': 'application/json' });
});
