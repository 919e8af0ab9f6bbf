import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type WebSocket from 'ws';
import { buildApp } from '../../app.ts';
import { loadConfig } from '../../config/config.ts';
import { createCommandRunner } from '../../exec/command-runner.ts';
import { LabCatalog } from '../../labs/catalog-service.ts';
import { openMemoryDatabase } from '../../storage/db.ts';
import { StaticAttempts } from '../../terminal/attempts.ts';
import { HostLauncher } from '../../terminal/launchers.ts';
import { TERMINAL_SUBPROTOCOL, TICKET_SUBPROTOCOL_PREFIX } from '../../terminal/protocol.ts';
import { SSH_SCRIPT } from '../../terminal/create-terminal-service.ts';
import { WireClient } from '../../terminal/wire-client.ts';
import { sessionCookie } from '../../testing/test-app.ts';

// An instructor watches a learner's terminal: host-mode shells and real ptys, through inject/injectWS.

const ORIGIN = 'http://127.0.0.1:3000';
const dir = mkdtempSync(path.join(tmpdir(), 'kdtest-watch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("an instructor watches a learner's terminal read-only, and the learner is told", async (t) => {
  const boot = loadConfig({ argv: ['--data-dir', dir, '--labs-dir', dir, '--auth.mode', 'multi', '--auth.registration', 'open'], env: {}, cwd: dir });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
  const launcher = new HostLauncher({ runner: createCommandRunner(env), hostEnv: env, stateDir: path.join(dir, 'terminals'), sshScript: SSH_SCRIPT });
  const attempts = new StaticAttempts();
  const app = await buildApp(boot, {
    checkResponses: true,
    db: openMemoryDatabase(),
    labs: new LabCatalog(dir),
    logger: false,
    attempts,
    shellLauncher: launcher,
  });
  const sockets: WebSocket[] = [];
  t.after(async () => {
    for (const s of sockets) s.terminate();
    await app.close();
  });

  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, cookie: string, payload?: object) =>
    app.inject({ method, url, headers: { cookie, origin: ORIGIN }, ...(payload ? { payload } : {}) });
  const register = async (username: string, inviteCode?: string, displayName?: string) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/session/register',
      payload: { username, password: 'correct horse battery', ...(inviteCode ? { inviteCode } : {}), ...(displayName ? { displayName } : {}) },
    });
    return { id: res.json().learner.id as string, cookie: sessionCookie(res) };
  };
  const admin = await register('admin');
  const ines = await register('ines', undefined, 'Ines (instructor)');
  await call('PATCH', `/api/learners/${ines.id}`, admin.cookie, { role: 'instructor' });
  const group = (await call('POST', '/api/groups', ines.cookie, { name: 'watched' })).json();
  const lea = await register('lea', group.inviteCode);
  const otto = await register('otto');
  attempts.add({ id: 'w1', learnerId: lea.id, clusterName: 'kdtest-watch', status: 'running' });
  const terminalId = (await call('POST', '/api/attempts/w1/terminals', lea.cookie, { kind: 'shell' })).json().id as string;

  const connect = async (cookie: string, ticket: string) => {
    let client!: WireClient;
    const ws = await app.injectWS(
      `/api/attempts/w1/terminals/${terminalId}/socket`,
      { headers: { origin: ORIGIN, cookie, 'sec-websocket-protocol': `${TERMINAL_SUBPROTOCOL}, ${TICKET_SUBPROTOCOL_PREFIX}${ticket}` } } as never,
      {
        onInit: (w: WebSocket) => {
          client = new WireClient((f) => w.send(f));
          w.on('message', (data: Buffer) => client.receive(data));
        },
      },
    );
    sockets.push(ws);
    return client;
  };
  const learnerTicket = (await call('POST', `/api/attempts/w1/terminals/${terminalId}/tickets`, lea.cookie)).json().ticket as string;
  const learner = await connect(lea.cookie, learnerTicket);
  learner.attach(0);
  await learner.waitForText('kubedrill:');

  const watchUrl = `/api/groups/${group.id}/members/${lea.id}/attempts/w1/terminals/${terminalId}/watch`;
  assert.equal((await call('POST', watchUrl, otto.cookie)).statusCode, 404, 'someone who does not run the group cannot watch');
  assert.equal(
    (await call('POST', `/api/groups/${group.id}/members/${otto.id}/attempts/w1/terminals/${terminalId}/watch`, ines.cookie)).statusCode,
    404,
    'only learners of the group',
  );
  const watch = await call('POST', watchUrl, ines.cookie);
  assert.equal(watch.statusCode, 200, watch.body);
  const watcher = await connect(ines.cookie, watch.json().ticket);
  watcher.attach(0); // asks for input like any window: it does not get it
  await watcher.waitFor(() => watcher.controls.some((c) => c.type === 'hello'));
  const hello = watcher.controls.find((c) => c.type === 'hello');
  assert.equal(hello?.type === 'hello' && hello.writer, false, 'the watcher has no input');
  await learner.waitFor(
    () => learner.controls.some((c) => c.type === 'notice' && c.message === 'Ines (instructor) is watching this terminal (read-only)'),
    5000,
    'the watching notice',
  );

  // The watcher sees what the learner does, and cannot type into the shell.
  watcher.control({ type: 'take-input' });
  watcher.input("echo wat''ched-input\r");
  learner.input("echo vis''ible42\r");
  await watcher.waitForText('visible42');
  learner.input("echo do''ne\r");
  await learner.waitForText(/\rdone\r\n/);
  assert.doesNotMatch(learner.text(), /watched-input/);
  assert.ok(!learner.controls.some((c) => c.type === 'role' && !c.writer), 'the learner keeps input');

  sockets.at(-1)!.terminate();
  await learner.waitFor(
    () => learner.controls.some((c) => c.type === 'notice' && c.message === 'Ines (instructor) stopped watching'),
    5000,
    'the stopped notice',
  );
});
