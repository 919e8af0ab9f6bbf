import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combinedAttempts, StaticAttempts, type TerminalAttempts } from './attempts.ts';

test('combined attempts pass on "cluster created" from every source that tells it, so workstations are made while labs and exams are set up', () => {
  const labCbs: ((id: string) => void)[] = [];
  const examCbs: ((id: string) => void)[] = [];
  const source = (cbs: ((id: string) => void)[]): TerminalAttempts => ({
    get: () => undefined,
    onEnded: () => () => {},
    onClusterCreated: (cb) => {
      cbs.push(cb);
      return () => cbs.splice(cbs.indexOf(cb), 1);
    },
  });
  const combined = combinedAttempts(source(labCbs), new StaticAttempts(), source(examCbs));
  assert.ok(combined.onClusterCreated, 'the combination has the hook');
  const heard: string[] = [];
  const off = combined.onClusterCreated((id) => heard.push(id));
  labCbs.forEach((cb) => cb('lab-attempt'));
  examCbs.forEach((cb) => cb('exam-attempt'));
  assert.deepEqual(heard, ['lab-attempt', 'exam-attempt']);
  off();
  assert.equal(labCbs.length + examCbs.length, 0, 'unsubscribing reaches every source');
});
