import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logLine } from './log.ts';

test('logLine prints the message, then each field as key=value, quoting what would not read back', () => {
  assert.equal(logLine({}, 'deleted cluster'), 'deleted cluster');
  assert.equal(
    logLine({ cluster: 'kd-a1', reason: 'attempt ended', ms: 1200, passed: false, at: undefined }, 'deleted cluster'),
    'deleted cluster cluster=kd-a1 reason="attempt ended" ms=1200 passed=false',
  );
  assert.equal(logLine({ error: 'a "quoted" x=1' }, 'failed'), 'failed error="a \\"quoted\\" x=1"');
});
