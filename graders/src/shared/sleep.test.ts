import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep } from './sleep.ts';

// A test's own timeout fails these if the sleep ignored the signal (an hour is far past it).
const HOUR = 3_600_000;

test('a sleep whose signal aborts meanwhile resolves at the abort instead of rejecting', { timeout: 10_000 }, async () => {
  const abort = new AbortController();
  const slept = sleep(HOUR, abort.signal);
  abort.abort(new Error('the caller gave up'));
  assert.equal(await slept, undefined);
});

test('a sleep with a signal aborted before it starts resolves at once', { timeout: 10_000 }, async () => {
  assert.equal(await sleep(HOUR, AbortSignal.abort()), undefined);
});

test('a sleep without a signal waits for its time, and a sleep that is not aborted does not resolve early', { timeout: 10_000 }, async () => {
  const order: string[] = [];
  const abort = new AbortController();
  await Promise.all([sleep(30, abort.signal).then(() => order.push('30 ms')), sleep(1).then(() => order.push('1 ms'))]);
  assert.deepEqual(order, ['1 ms', '30 ms']);
});
