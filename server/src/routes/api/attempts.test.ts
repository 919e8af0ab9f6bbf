import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildApp } from '../../app.ts';
import type { App } from '../../app-types.ts';
import type { AttemptEvent } from '../../attempts/attempt-repository.ts';
import { harness } from '../../attempts/test-harness.ts';
import { loadConfig } from '../../config/config.ts';
import { openMemoryDatabase } from '../../storage/db.ts';
import { loadedCatalog } from '../../testing/test-app.ts';

// The attempts API through app.inject(), with the real attempt service on a fake kind host.

const ORIGIN = 'http://127.0.0.1:3000';
let app: App;
let h: ReturnType<typeof harness>;
let cookie: string;

before(async () => {
  h = harness({ nodeImage: 'kindest/node:v1.35.8', fake: { missingImages: [] }, clusters: { perLearner: 5 } });
  const boot = loadConfig({ argv: ['--data-dir', '/nonexistent/kd-attempts', '--web-dir', '/nonexistent/kd-web'], env: {}, cwd: process.cwd() });
  app = await buildApp(boot, {
    checkResponses: true,
    db: openMemoryDatabase(),
    labs: await loadedCatalog(),
    logger: false,
    attemptService: h.service,
    shellLauncher: null,
  });
  const res = await app.inject({ method: 'GET', url: '/api/session' });
  cookie = String(res.headers['set-cookie']).split(';')[0]!;
});
after(async () => {
  await app.close();
});

const post = (url: string, body?: unknown, origin = ORIGIN) =>
  app.inject({ method: 'POST', url, headers: { cookie, origin }, ...(body === undefined ? {} : { payload: body as object }) });
const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { cookie, ...headers } });

/** Parses an SSE body into its events. */
function sse(body: string): { id: number; event: string; data: Record<string, unknown> }[] {
  return body
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => {
      const field = (name: string) =>
        block
          .split('\n')
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2) ?? '';
      return { id: Number(field('id')), event: field('event'), data: JSON.parse(field('data')) as Record<string, unknown> };
    });
}

test('POST /api/attempts starts a lab; starting it again returns the same attempt with 200', async () => {
  const res = await post('/api/attempts', { labId: 'alpha' });
  assert.equal(res.statusCode, 201, res.body);
  const a = res.json<{ id: string; status: string; labId: string }>();
  assert.equal(a.labId, 'alpha');
  const again = await post('/api/attempts', { labId: 'alpha' });
  assert.equal(again.statusCode, 200);
  assert.equal(again.json<{ id: string }>().id, a.id);
  await h.service.idle();
  const one = await get(`/api/attempts/${a.id}`);
  assert.equal(one.json<{ status: string }>().status, 'ready');
  const mine = await get('/api/attempts');
  assert.deepEqual(
    mine.json<{ attempts: { id: string }[] }>().attempts.map((x) => x.id),
    [a.id],
  );
});

test('bad input: unknown lab → 404 naming it, missing labId → 400, foreign origin → 403, unknown attempt → 404', async () => {
  const unknown = await post('/api/attempts', { labId: 'no-such-lab' });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.json<{ error: { code: string; message: string } }>().error.code, 'lab_not_found');
  assert.match(unknown.body, /no-such-lab/);
  assert.equal((await post('/api/attempts', {})).statusCode, 400);
  assert.equal((await post('/api/attempts', { labId: 'alpha' }, 'https://evil.example')).statusCode, 403);
  const missing = await get('/api/attempts/nope');
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json<{ error: { code: string } }>().error.code, 'attempt_not_found');
  assert.equal((await app.inject({ method: 'GET', url: '/api/attempts' })).statusCode, 401);
});

test('events stream as SSE with ids, steps carry elapsed times, the stream ends with the attempt and resumes after Last-Event-ID', async () => {
  const started = await post('/api/attempts', { labId: 'beta' });
  const id = started.json<{ id: string }>().id;
  await h.service.idle();
  const fin = await post(`/api/attempts/${id}/finish`);
  assert.equal(fin.json<{ status: string }>().status, 'finished');
  const twice = await post(`/api/attempts/${id}/finish`);
  assert.equal(twice.statusCode, 200, 'finishing twice is a no-op');
  await h.service.idle();

  const res = await get(`/api/attempts/${id}/events`);
  assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
  const events = sse(res.body);
  assert.deepEqual(
    events.map((e) => e.id),
    events.map((_, i) => i + 1),
  );
  assert.deepEqual(
    events.filter((e) => e.event === 'status').map((e) => e.data.name),
    ['queued', 'provisioning', 'setting-up', 'ready', 'finished'],
  );
  const joined = events.find((e) => e.data.name === 'Joining the other nodes' && e.data.state === 'done');
  assert.ok(joined && typeof joined.data.elapsedMs === 'number');

  const resumed = sse((await get(`/api/attempts/${id}/events`, { 'last-event-id': String(events.length - 1) })).body);
  assert.deepEqual(
    resumed.map((e) => e.id),
    [events.length],
  );
  assert.deepEqual(
    sse((await get(`/api/attempts/${id}/events?after=${events.length - 2}`)).body).map((e) => e.id),
    [events.length - 1, events.length],
  );
});

test('a failed attempt reports the failed step and the command output, in the API and the event stream', async () => {
  h.host.o.missingImages!.push('kindest/node:v1.35.8');
  const id = (await post('/api/attempts', { labId: 'netpol-lab9server' })).json<{ id: string }>().id;
  await h.service.idle();
  const a = (await get(`/api/attempts/${id}`)).json<{ status: string; failure: { step: string; message: string; output: string } }>();
  assert.equal(a.status, 'failed');
  assert.equal(a.failure.step, 'Checking the node image');
  assert.match(a.failure.output, /failed to pull image/);
  const events = sse((await get(`/api/attempts/${id}/events`)).body);
  const failedStep = events.find((e) => e.event === 'step' && e.data.state === 'failed');
  assert.match(String(failedStep?.data.output), /Command Output/);
  assert.equal(events.at(-1)?.data.name, 'failed');
  // Every planned step after the failed one is reported as not run.
  const plan = events[0]!.data.plan as { name: string }[];
  const notRun = events.filter((e) => e.event === 'step' && e.data.state === 'not-run').map((e) => e.data.name);
  assert.deepEqual(
    notRun,
    plan.slice(1).map((p) => p.name),
  );
  h.host.o.missingImages!.pop();
});

test('the event stream sends the plan first: every step of the preparation, pending, before any runs', async () => {
  const id = (await post('/api/attempts', { labId: 'netpol-lab9server' })).json<{ id: string }>().id;
  await h.service.idle();
  await post(`/api/attempts/${id}/finish`); // a finished attempt's stream replays and ends
  await h.service.idle();
  const events = sse((await get(`/api/attempts/${id}/events`)).body);
  assert.equal(events[0]?.event, 'plan');
  const plan = events[0]!.data.plan as { name: string; phase: string; timeoutMs: number; state: string }[];
  assert.ok(plan.every((p) => p.state === 'pending' && p.timeoutMs > 0));
  // What ran is what was planned, in the planned order.
  const ran = [...new Set(events.filter((e) => e.event === 'step' && e.data.state === 'done').map((e) => String(e.data.name)))];
  assert.deepEqual(
    ran,
    plan.map((p) => p.name).filter((n) => ran.includes(n)),
  );
  assert.deepEqual(
    ran.filter((n) => !plan.some((p) => p.name === n)),
    [],
    'no step ran that the plan did not list',
  );
  assert.ok(
    plan.some((p) => p.phase === 'Creating the cluster') &&
      plan.some((p) => p.phase === 'Making NetworkPolicy enforced') &&
      plan.at(-1)?.phase === 'Setting up the lab',
  );
});

test('a live event stream pushes new events as they happen and ends when the attempt ends', { timeout: 30_000 }, async () => {
  h.host.o.missingImages!.length = 0; // the node image is pullable again
  const id = (await post('/api/attempts', { labId: 'beta' })).json<{ id: string }>().id;
  await h.service.idle();
  const before = h.service.subscribe(id, 0, () => {}).replay.length;
  // Learn when the route has subscribed, and what it replayed then: the stream is open from that moment.
  const subscribe = h.service.subscribe.bind(h.service);
  const opened = new Promise<AttemptEvent[]>((resolve) => {
    h.service.subscribe = (attemptId, after, cb) => {
      const sub = subscribe(attemptId, after, cb);
      if (attemptId === id) resolve(sub.replay);
      return sub;
    };
  });
  try {
    const streaming = get(`/api/attempts/${id}/events`, { 'last-event-id': String(before) });
    assert.deepEqual(await opened, [], 'nothing to replay: the event that follows can only arrive live');
    await post(`/api/attempts/${id}/finish`);
    const res = await streaming;
    const events = sse(res.body);
    assert.deepEqual(
      events.map((e) => [e.id, e.data.name]),
      [[before + 1, 'finished']],
      `${res.statusCode} ${res.body}`,
    );
  } finally {
    h.service.subscribe = subscribe;
  }
});
