import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../testing/free-port.ts';

// kill -9 of a real server process in the middle of an exam, then a new server on the same data
// folder and the same (fake) kind host: the exam resumes with its deadline, flags and notes, and
// no cluster is lost (all still there and adopted) or leaked (all gone once the exam ends).

const SERVER = path.join(import.meta.dirname, 'testing', 'fake-host-server.ts');

interface Server {
  child: ChildProcess;
  output: () => string;
  /** Resolves once the server's output satisfies `seen`; rejects after timeoutMs or if the server exits first. */
  waitForOutput: (seen: (out: string) => boolean, what: string, timeoutMs: number) => Promise<void>;
}

/** Starts the server and resolves once it listens. */
async function startServer(dataDir: string, stateFile: string, port: number): Promise<Server> {
  const child = spawn(process.execPath, [SERVER, dataDir, stateFile, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exited: number | null | undefined;
  const watchers = new Set<() => void>();
  const changed = () => watchers.forEach((w) => w());
  child.stdout!.on('data', (d: Buffer) => ((out += d.toString()), changed()));
  child.stderr!.on('data', (d: Buffer) => ((out += d.toString()), changed()));
  child.once('exit', (code) => ((exited = code), changed()));
  const waitForOutput = (seen: (out: string) => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        watchers.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (seen(out)) done();
        else if (exited !== undefined) done(new Error(`the server exited ${exited} before ${what}:\n${out}`));
      };
      const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${out}`)), timeoutMs);
      watchers.add(check);
      check();
    });
  await waitForOutput((o) => o.includes('ready\n'), 'ready', 60_000);
  return { child, output: () => out, waitForOutput };
}

const hostClusters = (stateFile: string) => (JSON.parse(readFileSync(stateFile, 'utf8')) as { name: string }[]).map((c) => c.name).sort();

test('kill -9 mid-exam: the next server resumes it with the same deadline, flags and notes; no cluster lost or leaked', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-crash-'));
  const dataDir = path.join(dir, 'data');
  const stateFile = path.join(dir, 'host.json');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let cookie = '';
  const call = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { cookie, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${url}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  let first: Awaited<ReturnType<typeof startServer>> | undefined;
  let second: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    first = await startServer(dataDir, stateFile, port);
    const session = await fetch(`${base}/api/session`);
    cookie = session.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    type View = {
      id: string;
      status: string;
      deadlineAt: string;
      remainingMs: number;
      tasks: { number: number; flagged: boolean; notes: string; opened: boolean }[];
      clusters: { status: string }[];
    };
    const started = (await call('POST', '/api/exams/networking-mock/attempts')) as unknown as View;
    // The exam has no event stream of its own; the server logs the moment its clock starts.
    await first.waitForOutput((o) => o.includes(`every cluster is ready, the clock runs examAttemptId=${started.id}`), 'the exam to run', 30_000);
    const view = (await call('GET', `/api/exam-attempts/${started.id}`)) as unknown as View;
    assert.equal(view.status, 'running', first.output());
    await call('POST', `/api/exam-attempts/${view.id}/focus`, { number: 2 });
    await call('PUT', `/api/exam-attempts/${view.id}/tasks/2`, { flagged: true, notes: 'endpoints: two of three' });
    await call('PUT', `/api/exam-attempts/${view.id}/tasks/5`, { notes: 'nodePort 30080' });
    const before = (await call('GET', `/api/exam-attempts/${view.id}`)) as unknown as View;
    const clusters = hostClusters(stateFile);
    assert.equal(clusters.length, 2);

    first.child.kill('SIGKILL');
    await new Promise((r) => first!.child.once('exit', r));
    const killedAt = Date.now();
    second = await startServer(dataDir, stateFile, port);
    assert.match(second.output(), /reconcile: adopted 2, deleted 0, failed 0; exams resumed 1/);
    const after = (await call('GET', `/api/exam-attempts/${view.id}`)) as unknown as View;
    assert.equal(after.status, 'running');
    assert.equal(after.deadlineAt, before.deadlineAt, 'the deadline is where it was');
    const elapsed = Date.now() - killedAt;
    assert.ok(
      after.remainingMs <= before.remainingMs && after.remainingMs >= before.remainingMs - elapsed - 5000,
      `remaining ${before.remainingMs} → ${after.remainingMs} (${elapsed} ms later)`,
    );
    assert.deepEqual(
      after.tasks.map((t) => [t.number, t.opened, t.flagged, t.notes]),
      before.tasks.map((t) => [t.number, t.opened, t.flagged, t.notes]),
    );
    assert.deepEqual(after.tasks[1], { ...after.tasks[1], flagged: true, notes: 'endpoints: two of three' });
    assert.deepEqual(
      after.clusters.map((c) => c.status),
      ['ready', 'ready'],
    );
    assert.deepEqual(hostClusters(stateFile), clusters, 'no cluster lost');

    const submitted = (await call('POST', `/api/exam-attempts/${view.id}/submit`)) as unknown as View;
    assert.equal(submitted.status, 'review');
    const logged = second.output().length;
    const ended = (await call('POST', `/api/exam-attempts/${view.id}/finish`)) as unknown as View;
    assert.equal(ended.status, 'finished');
    // Clusters are deleted in the background; the server logs each once the host has let it go.
    const deleted = (o: string) => o.slice(logged).match(/^deleted cluster /gm)?.length ?? 0;
    await second.waitForOutput((o) => deleted(o) >= clusters.length, `${clusters.length} clusters to be deleted`, 10_000);
    assert.deepEqual(hostClusters(stateFile), [], 'no cluster leaked');
  } finally {
    first?.child.kill('SIGKILL');
    second?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
