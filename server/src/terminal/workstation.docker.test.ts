import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createCommandRunner } from '../exec/command-runner.ts';
import { StaticAttempts } from './attempts.ts';
import { ContainerLauncher } from './launchers.ts';
import type { TerminalSession } from './terminal-session.ts';
import { TerminalService } from './terminal-service.ts';
import { WireClient } from './wire-client.ts';
import { dockerSkipReason } from '../testing/docker.ts';

// Container mode with real Docker: the workstation image (built by scripts/build-images from an
// mmdebstrap base, reused when present), a shell in it, a node shell into a container labelled
// like a kind node, and clean-up when the attempt ends.

const ROOT = path.resolve(import.meta.dirname, '../../..');
const IMAGE = 'kubedrill/workstation:1.35';
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
const runner = createCommandRunner(env);
const run = (argv: string[], okCodes = [0]) => runner.run({ argv, timeoutMs: 120_000, okCodes });
const tag = randomBytes(3).toString('hex');
const NET = `kdtest-term-net-${tag}`;
const CLUSTER = `kdtest-term-c${tag}`;
const NODE = `${CLUSTER}-control-plane`;
const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as never;

let skip: string | false = false;
before(async () => {
  skip = (await dockerSkipReason(runner)) ?? false;
  if (skip) return;
  if ((await run(['docker', 'image', 'inspect', IMAGE], [0, 1])).exitCode !== 0) {
    try {
      await runner.run({ argv: [path.join(ROOT, 'scripts/build-images'), 'workstation'], timeoutMs: 900_000 });
    } catch (e) {
      skip = `the workstation image could not be built here: ${(e as Error).message.split('\n').slice(-1)[0]}`;
      return;
    }
  }
  await run(['docker', 'network', 'create', NET]);
  // A stand-in kind node: labelled and named like one, from a local image, root inside.
  await run([
    'docker',
    'run',
    '-d',
    '--name',
    NODE,
    '--hostname',
    NODE,
    '--network',
    NET,
    '--label',
    `io.x-k8s.kind.cluster=${CLUSTER}`,
    '-u',
    '0',
    IMAGE,
    'sleep',
    'infinity',
  ]);
});

after(async () => {
  if (skip) return;
  const ps = await run(['docker', 'ps', '-aq', '--filter', `name=kdtest-term-`], [0, 1]);
  const ids = ps.stdout.split('\n').filter(Boolean);
  if (ids.length) await run(['docker', 'rm', '-f', ...ids], [0, 1]);
  await run(['docker', 'network', 'rm', NET], [0, 1]);
});

function attach(session: TerminalSession) {
  // eslint-disable-next-line prefer-const
  let handle: ReturnType<TerminalSession['attach']>;
  const client = new WireClient((f) => handle.receive(Buffer.from(f)));
  handle = session.attach({ send: (f) => client.receive(f), close: () => {} });
  client.attach(0, 120, 30);
  return client;
}

async function type(client: WireClient, command: string, until: string | RegExp, timeoutMs = 30_000) {
  client.input(`${command}\r`);
  await client.waitForText(until, timeoutMs);
}

test('a workstation shell has the exam tools, ssh reaches nodes, and everything goes with the attempt', async (t) => {
  if (skip) return t.skip(skip);
  const attempts = new StaticAttempts();
  const attemptId = `a${tag}`;
  attempts.add({ id: attemptId, learnerId: 'l1', clusterName: CLUSTER, status: 'running', kubernetesVersion: 'v1.35.4' });
  const launcher = new ContainerLauncher({ runner, hostEnv: env, image: 'kubedrill/workstation:{minor}', network: NET, namePrefix: 'kdtest-term' });
  const service = new TerminalService({ attempts, launcher, log, idleMs: 600_000, maxPerAttempt: 6, ticketMs: 30_000, upgradesPerMinute: 60 });
  try {
    const info = await service.create(attempts.get(attemptId)!, { kind: 'shell' });
    const shell = service.get(attemptId, info.id)!;
    const c = attach(shell);
    await c.waitForText('candidate@workstation', 60_000);
    await c.waitFor(() => c.controls.some((m) => m.type === 'replay-done'));
    await type(c, "kubectl version --client; echo KV''DONE", 'KVDONE');
    assert.match(c.text(), /Client Version: v1\.35\./);
    await type(c, 'type k; complete -p k; echo "do=$do"; ls -l /var/run/docker.sock; id -u; echo CH\'\'ECKED', 'CHECKED');
    const out = c.text();
    assert.match(out, /k is aliased to `kubectl'/);
    assert.match(out, /complete -o default -F __start_kubectl k/);
    assert.match(out, /do=--dry-run=client -o yaml/);
    assert.match(out, /docker\.sock'?: No such file or directory/);
    assert.match(out, /\r\n1000\r\n/);
    // Tab completion of k works like kubectl's (no cluster needed for subcommands).
    c.input('k versi\t');
    await c.waitForText('k version ');
    c.input('\x15'); // clear the line

    // ssh <node>: the server opens a root shell on the node in this terminal, then returns.
    // The exam's name completes and works; the older forms keep working.
    await type(c, 'ssh control-plane', `root@`, 30_000);
    await type(c, 'exit', 'Connection to control-plane closed.');
    // Output so far has a root@ prompt already: wait for a new one.
    const seen = c.text().length;
    c.input('ssh contr\t');
    await c.waitFor(() => c.text().slice(seen).includes('ssh controlplane '));
    c.input('\r');
    await c.waitFor(() => c.text().slice(seen).includes('root@'), 30_000);
    await type(c, "hostname; id -u; echo ON''NODE", 'ONNODE');
    assert.match(c.text(), new RegExp(`${NODE}\\r\\n0\\r\\n`));
    await type(c, 'exit', 'Connection to controlplane closed.');
    await type(c, 'ssh nosuchnode', 'ssh: no node "nosuchnode"');
    // ssh <node> <command> in a terminal: run there, output printed here, exit code and stdin kept.
    await type(c, 'ssh controlplane hostname; echo "rc=$?"', /rc=0/);
    assert.match(c.text(), new RegExp(`\r${NODE}\r\nrc=0\r\n`));
    await type(c, `x=$(ssh node01 true 2>&1; echo "rc=$?"); y=$(echo piped | ssh controlplane 'tr a-z A-Z; exit 4'); echo "[$x][$y][$?]"`, /\]\[\w*\]\[\d+\]/);
    assert.match(c.text(), /\[ssh: no node "node01"[^\]]*\s+rc=255\]\[PIPED\]\[4\]/);
    await type(c, 'echo still-in-the-workstation-$(id -u)', 'still-in-the-workstation-1000');

    // A node-shell tab.
    assert.deepEqual(await service.nodes(attempts.get(attemptId)!), [{ name: 'controlplane', container: NODE }]);
    const nodeTab = await service.create(attempts.get(attemptId)!, { kind: 'node', node: 'controlplane' });
    assert.equal(nodeTab.title, 'controlplane');
    assert.equal(info.title, 'workstation 1');
    const n = attach(service.get(attemptId, nodeTab.id)!);
    await n.waitFor(() => n.controls.some((m) => m.type === 'replay-done'));
    await type(n, 'echo NODE-$(id -u)-$(hostname)', `NODE-0-${NODE}`);

    // The exam's node names resolve in the workstation; root (scenario scripts) runs with root's HOME and stdin.
    const asRoot = await launcher.execInWorkstation(attempts.get(attemptId)!, ['sh', '-c', 'getent hosts controlplane; id -u; echo "$HOME"; cat'], {
      user: 'root',
      stdin: 'from-stdin',
    });
    assert.match(asRoot.stdout, new RegExp(`^\\S+\\s+controlplane\\s+${NODE}\\n0\\n/root\\nfrom-stdin$`));
    // A scenario's script reaches nodes with `ssh <node> <command>`, as on Killercoda's host: output,
    // stdin, exit codes, unknown nodes, concurrent calls; the rest of a script fed to `bash -s` still runs.
    const scenario = [
      'ssh controlplane "echo from-\\$(hostname) > /tmp/kd-mark"',
      'echo "h=$(ssh controlplane cat /tmp/kd-mark)"',
      'echo piped | ssh controlplane "tr a-z A-Z"',
      'ssh -o StrictHostKeyChecking=no root@controlplane "exit 3" || echo "code=$?"',
      'ssh nosuchnode true 2>&1 || echo "unknown=$?"',
      '(ssh controlplane echo one & ssh controlplane echo two & wait) | sort | tr "\\n" " "; echo',
      'echo to-stderr >&2',
      'echo the-script-goes-on',
    ].join('\n');
    const viaSsh = await launcher.execInWorkstation(attempts.get(attemptId)!, ['bash', '-s'], { user: 'root', stdin: scenario, timeoutMs: 60_000 });
    assert.equal(viaSsh.exitCode, 0, viaSsh.stderr);
    assert.match(viaSsh.stdout, new RegExp(`^h=from-${NODE}\nPIPED\ncode=3\nssh: no node "nosuchnode"[^\n]*\nunknown=255\none two \nthe-script-goes-on\n$`));
    assert.equal(viaSsh.stderr, 'to-stderr\n', 'the channel leaves nothing of its own in stderr');
    const noTerminal = await launcher.execInWorkstation(attempts.get(attemptId)!, ['bash', '-c', 'ssh controlplane true']);
    assert.equal(noTerminal.exitCode, 255, 'a learner process outside a terminal has no way to the nodes');
    assert.match(noTerminal.stderr, /node commands run only from a kubedrill terminal/);
    const asLearner = await launcher.execInWorkstation(attempts.get(attemptId)!, ['id', '-u']);
    assert.equal(asLearner.stdout.trim(), '1000');

    // Closing a terminal kills what its shell started inside the container.
    await type(c, "sleep 4242 & echo BG''STARTED", 'BGSTARTED');
    const ws = launcher.containerName(attemptId);
    assert.match((await run(['docker', 'exec', ws, 'pgrep', '-f', 'sleep 4242'])).stdout, /\d+/);
    await service.closeTerminal(attemptId, info.id);
    assert.equal((await run(['docker', 'exec', ws, 'pgrep', '-f', 'sleep 4242'], [0, 1])).exitCode, 1, 'the background job survived');

    // The attempt ends: the workstation and everything in it is gone.
    attempts.end(attemptId);
    for (let i = 0; i < 100 && (await run(['docker', 'inspect', ws], [0, 1])).exitCode === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await run(['docker', 'inspect', ws], [0, 1])).exitCode, 1, 'the workstation container is still there');
    assert.deepEqual(service.list(attemptId), []);
  } finally {
    await service.close();
  }
});
