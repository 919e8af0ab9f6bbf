import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, LoginThrottle } from './throttle.ts';

test('backoff: free failures, then waits that double up to a cap, forgotten after a quiet window', () => {
  let now = 0;
  const b = new Backoff({ free: 2, baseMs: 1000, maxMs: 8000, forgetMs: 60_000 }, () => now);
  b.fail('k');
  b.fail('k');
  assert.equal(b.waitMs('k'), 0, 'the free failures cost nothing');
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    b.fail('k');
    waits.push(b.waitMs('k'));
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 8000]);
  assert.equal(b.waitMs('other'), 0, 'keys are independent');
  now += 8000;
  assert.equal(b.waitMs('k'), 0, 'the wait ends');
  b.fail('k');
  assert.equal(b.waitMs('k'), 8000, 'but the count remains within the window');
  now += 8000 + 60_001;
  b.fail('k');
  assert.equal(b.waitMs('k'), 0, 'after a quiet window the count starts over');
});

test('login throttle: accounts are case-insensitive and a success clears only the account', () => {
  let now = 0;
  const t = new LoginThrottle(() => now);
  for (let i = 0; i < 6; i++) t.failed('Ada', '10.0.0.1');
  assert.throws(
    () => t.check('ada', '10.0.0.2'),
    (e: { status: number; code: string }) => e.status === 429 && e.code === 'rate_limited',
  );
  now += 1000;
  t.check('ada', '10.0.0.2');
  t.succeeded('ADA');
  t.failed('ada', '10.0.0.2');
  t.check('ada', '10.0.0.2');
});
