import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { spawnPty } from './pty.ts';
import { ScreenMirrors } from './screen-mirror.ts';
import { TerminalSession } from './terminal-session.ts';
import { WireClient } from './wire-client.ts';

// A submitted exam makes its terminals read-only: output still flows, typing does nothing, every
// window is told why; unlocking (review, "explore") gives input back.

const mirrors = new ScreenMirrors();
after(() => mirrors.dispose());

test('a locked terminal shows output but ignores input and says why; unlocking restores input', async () => {
  const pty = spawnPty({
    file: 'bash',
    args: ['--norc', '--noprofile', '-i'],
    env: { PATH: '/usr/bin:/bin', HOME: '/tmp', TERM: 'xterm-256color', LANG: 'C.UTF-8', PS1: 'PROMPT$ ' },
    cwd: '/tmp',
    cols: 80,
    rows: 24,
  });
  const s = new TerminalSession({ id: 'tlock', attemptId: 'exam1', kind: 'shell', title: 'shell', pty, cols: 80, rows: 24, mirrors });
  try {
    // eslint-disable-next-line prefer-const
    let handle: ReturnType<TerminalSession['attach']>;
    const client = new WireClient((f) => handle.receive(Buffer.from(f)));
    handle = s.attach({ send: (f) => client.receive(f), close: () => {} });
    client.attach(0);
    await client.waitForText('PROMPT$ ');
    client.input('echo before\r');
    await client.waitForText(/\rbefore\r\n/);

    s.lockInput('the exam is submitted: the terminal is read-only');
    assert.deepEqual(client.controls.at(-1), { type: 'role', writer: false, reason: 'the exam is submitted: the terminal is read-only' });
    client.input('echo typed-while-locked\r');
    client.control({ type: 'take-input' });
    assert.deepEqual(
      client.controls.at(-1),
      { type: 'role', writer: false, reason: 'the exam is submitted: the terminal is read-only' },
      'take-input is refused with the reason',
    );

    s.lockInput(null);
    assert.deepEqual(client.controls.at(-1), { type: 'role', writer: true, reason: 'input is open again' });
    client.input('echo after\r');
    await client.waitForText(/\rafter\r\n/);
    // The pty keeps input in order: had the locked line reached the shell, its echo would be before this one.
    assert.doesNotMatch(client.text(), /typed-while-locked/);
  } finally {
    await s.close('test over');
  }
});
