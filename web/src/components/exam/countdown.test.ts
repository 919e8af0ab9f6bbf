import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crossedWarning, formatClock } from './countdown.ts';

test('the exam clock reads like the real one and never goes below zero', () => {
  assert.equal(formatClock(45 * 60_000), '45:00');
  assert.equal(formatClock(2 * 3600_000 + 5_000), '2:00:05');
  assert.equal(formatClock(59_001), '1:00', 'a started second still counts as left');
  assert.equal(formatClock(-5000), '0:00');
});

test('warnings fire once when 30, 15 and 5 minutes left are crossed, not when already below', () => {
  const min = 60_000;
  assert.equal(crossedWarning(30 * min + 200, 30 * min - 50), 30);
  assert.equal(crossedWarning(15 * min + 1, 15 * min), 15);
  assert.equal(crossedWarning(5 * min + 250, 4 * min), 5);
  assert.equal(crossedWarning(29 * min, 28 * min), undefined);
  assert.equal(crossedWarning(40 * min, 39 * min), undefined);
});
