import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandError, createCommandRunner, formatArgv, minimalEnv } from './command-runner.ts';

const runner = createCommandRunner(minimalEnv(process.env));

async function rejection(p: Promise<unknown>): Promise<CommandError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CommandError, `expected a CommandError, got ${String(e)}`);
    return e;
  }
  assert.fail('the command should have failed');
}

// Running (not a zombie waiting for a parent that no longer reaps it): Linux /proc, else a signal 0.
const alive = (pid: number) => {
  try {
    const state = /^State:\s+(\w)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state !== undefined && state !== 'Z' && state !== 'X';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && existsSync('/proc/self/status')) return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a successful command returns its exit code, stdout and stderr; stdin is passed in', async () => {
  const res = await runner.run({ argv: ['sh', '-c', 'cat; echo err >&2'], stdin: 'hello\n' });
  assert.equal(res.exitCode, 0);
  assert.equal(res.stdout, 'hello\n');
  assert.equal(res.stderr, 'err\n');
  assert.deepEqual(res.argv, ['sh', '-c', 'cat; echo err >&2']);
});

test('a non-zero exit is a CommandError with the command, exit code and output', async () => {
  const e = await rejection(runner.run({ argv: ['sh', '-c', 'echo partial; echo "bad thing" >&2; exit 3'] }));
  assert.equal(e.reason, 'exit-code');
  assert.equal(e.exitCode, 3);
  assert.equal(e.stdout, 'partial\n');
  assert.equal(e.stderr, 'bad thing\n');
  assert.equal(e.message, `sh -c 'echo partial; echo "bad thing" >&2; exit 3' exited with code 3\nbad thing`);
});

test('okCodes lets a caller accept other exit codes', async () => {
  const res = await runner.run({ argv: ['sh', '-c', 'exit 1'], okCodes: [0, 1] });
  assert.equal(res.exitCode, 1);
});

test('a program that does not exist is reported as not found', async () => {
  const e = await rejection(runner.run({ argv: ['kubedrill-no-such-program-x1'] }));
  assert.equal(e.reason, 'not-found');
  assert.equal(e.exitCode, null);
  assert.equal(e.message, 'kubedrill-no-such-program-x1 program "kubedrill-no-such-program-x1" was not found on PATH');
});

test('a timeout kills the whole process group, grandchildren included', async () => {
  // The shell starts a background sleep (detached from the pipes, so it cannot keep the command
  // "running"), prints its pid, and waits: killing only the shell would leave the sleep behind.
  let grandchild = 0;
  const e = await rejection(
    runner.run({
      argv: ['sh', '-c', 'sleep 30 </dev/null >/dev/null 2>&1 & echo $!; wait'],
      timeoutMs: 300,
      onStdout: (chunk) => {
        grandchild ||= Number.parseInt(chunk, 10);
      },
    }),
  );
  assert.equal(e.reason, 'timeout');
  assert.match(e.message, /timed out after 0\.3s/);
  assert.ok(grandchild > 0, 'the grandchild reported its pid');
  // The kill is sent before the promise settles; the process table catches up at its own pace.
  for (let i = 0; i < 1000 && alive(grandchild); i++) await sleep(10);
  assert.equal(alive(grandchild), false, 'the background sleep was killed too');
});

test('aborting cancels a running command; an already-aborted signal never starts one', async () => {
  const ac = new AbortController();
  // Cancelled once the command has started (its first output), so this is the running case.
  const running = runner.run({ argv: ['sh', '-c', 'echo started; exec sleep 30'], signal: ac.signal, onStdout: () => ac.abort() });
  const e = await rejection(running);
  assert.equal(e.reason, 'aborted');
  assert.match(e.message, /^sh -c 'echo started; exec sleep 30' was cancelled/);

  const pre = await rejection(runner.run({ argv: ['sh', '-c', 'echo should-not-run'], signal: AbortSignal.abort() }));
  assert.equal(pre.reason, 'aborted');
  assert.equal(pre.stdout, '');
});

test('stderr is streamed while the command runs (kind prints its progress there)', async () => {
  const seen: { chunk: string; finished: boolean }[] = [];
  let finished = false;
  const done = runner
    .run({ argv: ['sh', '-c', 'echo " • Preparing nodes" >&2; sleep 0.3; echo " ✓ Preparing nodes" >&2'], onStderr: (chunk) => seen.push({ chunk, finished }) })
    .then((r) => {
      finished = true;
      return r;
    });
  const res = await done;
  assert.equal(res.stderr, ' • Preparing nodes\n ✓ Preparing nodes\n');
  assert.ok(seen.length >= 2, 'progress arrives in pieces, not all at the end');
  assert.equal(seen[0]!.chunk, ' • Preparing nodes\n');
  assert.ok(
    seen.every((s) => !s.finished),
    'every chunk arrived before the command finished',
  );
});

test('programs get only the runner environment plus what the spec adds', async () => {
  process.env.KUBEDRILL_TEST_SECRET = 'do-not-leak';
  try {
    const res = await runner.run({ argv: ['sh', '-c', 'echo "[$KUBEDRILL_TEST_SECRET][$EXTRA]"'], env: { EXTRA: 'given' } });
    assert.equal(res.stdout, '[][given]\n');
  } finally {
    delete process.env.KUBEDRILL_TEST_SECRET;
  }
});

test('formatArgv quotes only what a shell would need quoted', () => {
  assert.equal(formatArgv(['kind', 'create', 'cluster', '--name=kd-1']), 'kind create cluster --name=kd-1');
  assert.equal(formatArgv(['sh', '-c', "echo 'hi' there"]), `sh -c 'echo '\\''hi'\\'' there'`);
});
