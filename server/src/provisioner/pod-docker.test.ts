import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { servePodDocker, type DialDocker } from './pod-docker.ts';

function socketPath(): string {
  return path.join(mkdtempSync(path.join(tmpdir(), 'kd-pod-docker-')), 'docker.sock');
}

/** Connects, writes `input`, ends its input (half-close) and reads everything until the far end closes. */
async function converse(sock: string, input: string): Promise<string> {
  const c = net.createConnection({ path: sock, allowHalfOpen: true });
  await once(c, 'connect');
  let got = '';
  c.on('data', (d: Buffer) => (got += d.toString()));
  c.on('error', () => {}); // a server that hangs up early is what some tests look at
  const closed = new Promise((resolve) => c.on('close', resolve)); // once() would reject on the error
  c.end(input);
  await closed;
  return got;
}

test('a client that ends its input still gets what the daemon sends afterwards (docker exec relies on this half-close)', async () => {
  // A daemon that answers only once its input has ended, as a command reading stdin to EOF does.
  let inputEnded = false;
  const dial: DialDocker = async (stdin, stdout, done) => {
    let seen = '';
    stdin.on('data', (d: Buffer) => (seen += d.toString()));
    stdin.on('end', () => {
      inputEnded = true;
      setImmediate(() => {
        stdout.write(`got ${seen}; `);
        stdout.end('late\n');
        done();
      });
    });
    return () => {};
  };
  const served = await servePodDocker(socketPath(), dial);
  try {
    assert.equal(await converse(served.dockerHost.replace('unix://', ''), 'hello'), 'got hello; late\n');
    assert.ok(inputEnded);
  } finally {
    await served.close();
  }
});

test('every connection gets a stream of its own', async () => {
  let dials = 0;
  const dial: DialDocker = async (stdin, stdout, done) => {
    const n = ++dials;
    stdin.on('end', () => {
      stdout.end(`stream ${n}`);
      done();
    });
    stdin.resume();
    return () => {};
  };
  const served = await servePodDocker(socketPath(), dial);
  try {
    const sock = served.dockerHost.replace('unix://', '');
    const answers = await Promise.all([converse(sock, 'a'), converse(sock, 'b')]);
    assert.deepEqual(answers.sort(), ['stream 1', 'stream 2']);
  } finally {
    await served.close();
  }
});

test('a stream that cannot be opened, or that fails, closes the client connection and says why', async () => {
  const lines: string[] = [];
  const failing: DialDocker = () => Promise.reject(new Error('pods "attempt-host" is forbidden'));
  const served = await servePodDocker(socketPath(), failing, (l) => lines.push(l));
  try {
    assert.equal(await converse(served.dockerHost.replace('unix://', ''), 'x'), '');
    assert.match(lines.join('\n'), /could not open a stream to the Pod's Docker: pods "attempt-host" is forbidden/);
  } finally {
    await served.close();
  }
  const broken: DialDocker = async (_stdin, stdout, done) => {
    stdout.write('partial');
    setImmediate(() => done('the exec stream closed: container not running'));
    return () => {};
  };
  const served2 = await servePodDocker(socketPath(), broken, (l) => lines.push(l));
  try {
    await converse(served2.dockerHost.replace('unix://', ''), 'x');
    assert.match(lines.at(-1)!, /container not running/);
  } finally {
    await served2.close();
  }
});

test('a client that goes away tears its stream down', async () => {
  let tornDown = false;
  // A daemon streaming output (docker logs -f, say) to a client that is gone: the write fails.
  const dial: DialDocker = async (_stdin, stdout) => {
    const timer = setInterval(() => stdout.write('line\n'), 5);
    return () => {
      clearInterval(timer);
      tornDown = true;
    };
  };
  const served = await servePodDocker(socketPath(), dial);
  try {
    const c = net.createConnection({ path: served.dockerHost.replace('unix://', '') });
    await once(c, 'data');
    c.destroy();
    for (let i = 0; i < 200 && !tornDown; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(tornDown);
  } finally {
    await served.close();
  }
});
