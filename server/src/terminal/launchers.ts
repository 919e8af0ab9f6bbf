import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ClusterError, type CallOptions, type ExecResult, type WorkstationExecOptions } from '../../../graders/src/cluster/port.ts';
import { AppError, errorMessage } from '../errors.ts';
import { ANY_EXIT, CommandError, type CommandResult, type CommandRunner } from '../exec/command-runner.ts';
import type { TerminalAttempt } from './attempts.ts';
import { attemptNodeNames, clustersOf, mergeKubeconfigs, resolveAttemptNode } from './cluster-set.ts';
import { execWithNodeChannel } from './node-channel.ts';
import { resolveNode } from './node-names.ts';
import { spawnPty, type PtyProcess } from './pty.ts';

/** Size and identity of the shell to start. */
export interface ShellRequest {
  terminalId: string;
  cols: number;
  rows: number;
  /** Extra variables for the learner's shell (only the ssh token). */
  env: Record<string, string>;
}

/** Starts shells for attempts: on the server (host mode) or in a workstation container. */
export interface ShellLauncher {
  readonly mode: 'host' | 'container';
  /** Starts the attempt's shell; container mode creates the workstation on first use. */
  spawnShell(attempt: TerminalAttempt, req: ShellRequest): Promise<PtyProcess>;
  /** A root shell on one node of the attempt's cluster (docker exec into the kind node). */
  spawnNodeShell(attempt: TerminalAttempt, node: string, req: ShellRequest): Promise<PtyProcess>;
  /** The node containers of the attempt's cluster. */
  listNodes(attempt: TerminalAttempt): Promise<string[]>;
  /** Runs argv as root on a node of the attempt's cluster (the path node shells take), for graders and node setup. */
  execOnNode?(attempt: TerminalAttempt, node: string, argv: readonly string[], opts?: CallOptions): Promise<ExecResult>;
  /** `ssh <node> <command>` typed in a terminal: the command as root on the node, with stdin. */
  runOnNode?(attempt: TerminalAttempt, node: string, command: string, stdin: Buffer, timeoutMs: number): Promise<ExecResult>;
  /** Runs argv as the learner (or root) in the attempt's workstation (created if needed); throws ClusterError where there is none. */
  execInWorkstation?(attempt: TerminalAttempt, argv: readonly string[], opts?: WorkstationExecOptions): Promise<ExecResult>;
  /** Deletes what the attempt's shells left behind (the workstation container and everything in it). */
  release(attemptId: string): Promise<void>;
  /** Makes what the attempt's first shell needs ahead of time (the workstation), while its lab is set up. */
  prepare?(attempt: TerminalAttempt): Promise<unknown>;
  /** Hands the workstation made for one id (a spare, see spare-workstations.ts) to another attempt; false when there is none. */
  adopt?(fromId: string, toId: string): Promise<boolean>;
}

/** Facts launchers share. */
export interface LauncherOptions {
  runner: CommandRunner;
  /** Environment of the docker CLI itself (PATH, HOME, DOCKER_HOST…); never reaches shells. */
  hostEnv: Record<string, string>;
}

/** Ids that may appear in container names and paths (Docker names must start with a letter or digit). */
export const SAFE_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
function assertSafe(kind: string, id: string): void {
  if (!SAFE_ID.test(id)) throw new AppError(400, `bad_${kind}`, `${kind} "${id.slice(0, 40)}" has characters that are not allowed`);
}

const DOCKER_TIMEOUT = 30_000;

/** The kind node containers of a cluster, by label. */
async function kindNodes(runner: CommandRunner, clusterName: string): Promise<string[]> {
  const r = await runner.run({
    argv: ['docker', 'ps', '--filter', `label=io.x-k8s.kind.cluster=${clusterName}`, '--format', '{{.Names}}'],
    timeoutMs: DOCKER_TIMEOUT,
  });
  return r.stdout
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)
    .sort();
}

/** The node containers of every cluster of the attempt (one cluster, or an exam's several). */
async function attemptNodes(runner: CommandRunner, attempt: TerminalAttempt): Promise<string[]> {
  return (await Promise.all(clustersOf(attempt).map((c) => kindNodes(runner, c.name)))).flat();
}

/** The kubeconfig the learner's shell gets: the cluster's, or for an exam one context per cluster. */
async function attemptKubeconfig(runner: CommandRunner, attempt: TerminalAttempt, internal: boolean): Promise<string> {
  const get = async (name: string) =>
    (await runner.run({ argv: ['kind', 'get', 'kubeconfig', ...(internal ? ['--internal'] : []), '--name', name], timeoutMs: DOCKER_TIMEOUT })).stdout;
  if (!attempt.clusters?.length) return get(attempt.clusterName);
  const parts = await Promise.all(clustersOf(attempt).map(async (c) => ({ context: c.context!, kubeconfig: await get(c.name) })));
  return mergeKubeconfigs(parts);
}

/** A docker exec that ends in a result: any exit code is returned, a timeout or failure to start is a ClusterError. */
async function dockerExec(
  runner: CommandRunner,
  args: readonly string[],
  what: string,
  opts: CallOptions | undefined,
  stdin?: string | Buffer,
): Promise<ExecResult> {
  return asExecResult(what, () =>
    runner.run({
      argv: ['docker', 'exec', ...args],
      timeoutMs: opts?.timeoutMs ?? DOCKER_TIMEOUT,
      okCodes: ANY_EXIT,
      ...(opts?.signal ? { signal: opts.signal } : {}),
      ...(stdin !== undefined ? { stdin } : {}),
    }),
  );
}

/** A docker exec's result as graders see it: its own exit codes and failures become ClusterErrors. */
async function asExecResult(what: string, exec: () => Promise<CommandResult>): Promise<ExecResult> {
  try {
    const r = await exec();
    // docker exec itself exits 125-127 when the container or program cannot be started.
    if (r.exitCode === 125 || (r.exitCode >= 126 && /OCI runtime|No such container|is not running/i.test(r.stderr)))
      throw new ClusterError('exec', `${what}: ${r.stderr.trim().split('\n')[0] ?? ''}`);
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  } catch (e) {
    if (e instanceof ClusterError) throw e;
    const reason = (e as { reason?: string }).reason;
    if (reason === 'timeout') throw new ClusterError('timeout', `${what} did not finish in time`, undefined, e);
    if (reason === 'aborted') throw new ClusterError('aborted', `${what} was cancelled`, undefined, e);
    throw new ClusterError('exec', `${what}: ${errorMessage(e)}`, undefined, e);
  }
}

/**
 * Runs argv as root in a node container of the cluster: the same label check and docker exec as
 * `ssh <node>`, so graders and node setup reach nodes exactly as learners do.
 */
export async function execOnKindNode(
  runner: CommandRunner,
  clusterName: string,
  node: string,
  argv: readonly string[],
  opts?: CallOptions,
): Promise<ExecResult> {
  const nodes = await kindNodes(runner, clusterName);
  const container = resolveNode(nodes, clusterName, node);
  if (!container) throw new ClusterError('exec', `no node "${node}" in cluster ${clusterName}; nodes: ${nodes.join(', ') || 'none running'}`);
  return dockerExec(runner, ['-u', '0', '-e', 'LANG=C.UTF-8', container, ...argv], `running a command on ${container}`, opts);
}

/** The node container of the attempt that `node` names (exam-style or Kubernetes name); 404 when there is none. */
async function attemptNodeContainer(runner: CommandRunner, attempt: TerminalAttempt, node: string): Promise<string> {
  const nodes = await attemptNodes(runner, attempt);
  const container = resolveAttemptNode(attempt, nodes, node);
  if (!container)
    throw new AppError(
      404,
      'node_not_found',
      `no node "${node}" in this cluster; nodes: ${
        attemptNodeNames(attempt, nodes)
          .map((n) => n.name)
          .join(', ') || 'none running'
      }`,
    );
  return container;
}

/** `docker exec` into a kind node as root; killing it ends the whole session inside the node too. */
async function nodeShell(o: LauncherOptions, attempt: TerminalAttempt, node: string, req: ShellRequest): Promise<PtyProcess> {
  assertSafe('terminal', req.terminalId);
  const container = await attemptNodeContainer(o.runner, attempt, node);
  const pidFile = `/run/kd-shell-${req.terminalId}`;
  // $$ is the session id: docker exec -t makes the process a session leader.
  const script = `echo $$ > ${pidFile}; cd /root 2>/dev/null; if command -v bash >/dev/null; then exec bash -l; else exec sh -l; fi`;
  return spawnPty({
    file: 'docker',
    args: ['exec', '-it', '-u', '0', '-e', 'TERM=xterm-256color', '-e', 'LANG=C.UTF-8', container, 'sh', '-c', script],
    env: o.hostEnv,
    cwd: '/',
    cols: req.cols,
    rows: req.rows,
    afterKill: async () => {
      const end = `f=${pidFile}; [ -f $f ] || exit 0; sid=$(cat $f); rm -f $f; pkill -KILL -s "$sid" 2>/dev/null || kill -KILL -"$sid" 2>/dev/null; exit 0`;
      await o.runner.run({ argv: ['docker', 'exec', container, 'sh', '-c', end], timeoutMs: DOCKER_TIMEOUT }).catch(() => {});
    },
  });
}

/**
 * `ssh <node> <command>`: the command (bash) as root on a node of the attempt, named as the exam
 * names it or by its Kubernetes name, with stdin; not interactive, as ssh without -t.
 */
export async function runOnAttemptNode(
  runner: CommandRunner,
  attempt: TerminalAttempt,
  node: string,
  command: string,
  stdin: Buffer,
  timeoutMs: number,
): Promise<ExecResult> {
  const container = await attemptNodeContainer(runner, attempt, node);
  return dockerExec(runner, ['-i', '-u', '0', '-e', 'LANG=C.UTF-8', container, 'bash', '-c', command], `running a command on ${node}`, { timeoutMs }, stdin);
}

/** Workstation image for an attempt: `{minor}` in the template becomes the cluster's minor version. */
export function workstationImage(template: string, kubernetesVersion: string | undefined): string {
  const m = /^v?(\d+)\.(\d+)/.exec(kubernetesVersion ?? '');
  return template.replaceAll('{minor}', m ? `${m[1]}.${m[2]}` : '1.35');
}

export interface ContainerLauncherOptions extends LauncherOptions {
  /** Image template, e.g. kubedrill/workstation:{minor}. */
  image: string;
  /** Docker network the kind clusters share. */
  network: string;
  /** Container names are `<namePrefix>-ws-<attemptId>`; tests use kdtest-term. */
  namePrefix: string;
}

/** Container mode: one workstation container per attempt on kind's network, with the cluster's internal kubeconfig. */
export class ContainerLauncher implements ShellLauncher {
  readonly mode = 'container' as const;
  readonly #o: ContainerLauncherOptions;
  readonly #ready = new Map<string, Promise<string>>();

  constructor(o: ContainerLauncherOptions) {
    this.#o = o;
  }

  /** The workstation container name of an attempt. */
  containerName(attemptId: string): string {
    return `${this.#o.namePrefix}-ws-${attemptId}`;
  }

  /** Creates (once) the attempt's workstation and installs the kubeconfig; returns its name. */
  ensureWorkstation(attempt: TerminalAttempt): Promise<string> {
    let p = this.#ready.get(attempt.id);
    if (!p) {
      p = this.#create(attempt);
      this.#ready.set(attempt.id, p);
      p.catch(() => this.#ready.delete(attempt.id));
    }
    return p;
  }

  async #create(attempt: TerminalAttempt): Promise<string> {
    assertSafe('attempt', attempt.id);
    const { runner } = this.#o;
    const name = this.containerName(attempt.id);
    const running = await runner.run({ argv: ['docker', 'inspect', '-f', '{{.State.Running}}', name], timeoutMs: DOCKER_TIMEOUT, okCodes: [0, 1] });
    if (running.stdout.trim() !== 'true') {
      await runner.run({ argv: ['docker', 'rm', '-f', name], timeoutMs: DOCKER_TIMEOUT, okCodes: [0, 1] });
      const image = workstationImage(this.#o.image, attempt.kubernetesVersion);
      try {
        // No Docker socket, no host mounts, no capabilities: a learner's shell is an ordinary user in a box.
        await runner.run({
          argv: [
            'docker',
            'run',
            '-d',
            '--name',
            name,
            '--hostname',
            'workstation',
            '--network',
            this.#o.network,
            '--label',
            `io.kubedrill.workstation=${attempt.id}`,
            '--label',
            `io.kubedrill.owner=${this.#o.namePrefix}`,
            '--cap-drop',
            'ALL',
            '--security-opt',
            'no-new-privileges',
            '--pids-limit',
            '1024',
            '--memory',
            '1g',
            image,
          ],
          timeoutMs: 60_000,
        });
      } catch (e) {
        if (e instanceof CommandError && /No such image|not found|pull access denied/i.test(e.stderr)) {
          throw new AppError(503, 'workstation_image_missing', `the workstation image ${image} is not built on this server; run scripts/build-images`);
        }
        throw e;
      }
    }
    let kubeconfig = '';
    try {
      kubeconfig = await attemptKubeconfig(runner, attempt, true);
    } catch {
      // No such cluster (yet): the shell still opens; kubectl will say it has no configuration.
    }
    if (kubeconfig) {
      await runner.run({
        argv: ['docker', 'exec', '-i', name, 'sh', '-c', 'umask 077; mkdir -p "$HOME/.kube"; cat > "$HOME/.kube/config"'],
        stdin: kubeconfig,
        timeoutMs: DOCKER_TIMEOUT,
      });
    }
    // `ssh <Tab>` completes the exam-style names (controlplane, node01…) from this file: "<name> <node>" per line.
    const nodes = attemptNodeNames(attempt, await attemptNodes(runner, attempt).catch(() => []));
    const lines = nodes.map((n) => `${n.name} ${n.container}\n`).join('');
    await runner
      .run({
        argv: ['docker', 'exec', '-i', name, 'sh', '-c', 'mkdir -p "$HOME/.kube"; cat > "$HOME/.kube/kd-nodes"'],
        stdin: lines,
        timeoutMs: DOCKER_TIMEOUT,
      })
      .catch(() => {});
    // Root gets the same kubeconfig and node list: scripts that run as root in the workstation (a
    // Killercoda scenario's background and verify scripts) expect kubectl to work for root, and root
    // in this container has no capabilities, so it cannot read the learner's 0600 copy.
    if (kubeconfig) {
      await runner
        .run({
          argv: ['docker', 'exec', '-u', '0', '-i', name, 'sh', '-c', 'umask 077; mkdir -p /root/.kube; cat > /root/.kube/config'],
          stdin: kubeconfig,
          timeoutMs: DOCKER_TIMEOUT,
        })
        .catch(() => {});
    }
    // The exam-style names (controlplane, node01…) resolve to the nodes, as on the exam's and
    // Killercoda's hosts (`curl node01:30080`, `ping controlplane`); /etc/hosts is root's in here.
    if (nodes.length) {
      const hosts =
        'set -u; while read -r alias container; do for ip in $(getent ahostsv4 "$container" | cut -d" " -f1 | head -n1) $(getent ahostsv6 "$container" | grep -v "^::ffff:" | cut -d" " -f1 | head -n1); do printf "%s %s %s\n" "$ip" "$alias" "$container" >> /etc/hosts; done; done; exit 0';
      await runner.run({ argv: ['docker', 'exec', '-u', '0', '-i', name, 'sh', '-c', hosts], stdin: lines, timeoutMs: DOCKER_TIMEOUT }).catch(() => {});
    }
    return name;
  }

  async spawnShell(attempt: TerminalAttempt, req: ShellRequest): Promise<PtyProcess> {
    assertSafe('terminal', req.terminalId);
    const name = await this.ensureWorkstation(attempt);
    const envArgs = Object.entries({ TERM: 'xterm-256color', COLORTERM: 'truecolor', ...req.env }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    return spawnPty({
      file: 'docker',
      args: ['exec', '-it', ...envArgs, name, 'kd-shell', req.terminalId],
      env: this.#o.hostEnv,
      cwd: '/',
      cols: req.cols,
      rows: req.rows,
      afterKill: async () => {
        await this.#o.runner.run({ argv: ['docker', 'exec', name, 'kd-end-shell', req.terminalId], timeoutMs: DOCKER_TIMEOUT }).catch(() => {});
      },
    });
  }

  spawnNodeShell(attempt: TerminalAttempt, node: string, req: ShellRequest): Promise<PtyProcess> {
    return nodeShell(this.#o, attempt, node, req);
  }

  listNodes(attempt: TerminalAttempt): Promise<string[]> {
    return attemptNodes(this.#o.runner, attempt);
  }

  prepare(attempt: TerminalAttempt): Promise<string> {
    return this.ensureWorkstation(attempt);
  }

  execOnNode(attempt: TerminalAttempt, node: string, argv: readonly string[], opts?: CallOptions): Promise<ExecResult> {
    return execOnKindNode(this.#o.runner, attempt.clusterName, node, argv, opts);
  }

  runOnNode(attempt: TerminalAttempt, node: string, command: string, stdin: Buffer, timeoutMs: number): Promise<ExecResult> {
    return runOnAttemptNode(this.#o.runner, attempt, node, command, stdin, timeoutMs);
  }

  /** Runs argv as the learner (the image's user, candidate) in the workstation, creating it if the learner never opened a terminal. */
  async execInWorkstation(attempt: TerminalAttempt, argv: readonly string[], opts?: WorkstationExecOptions): Promise<ExecResult> {
    let name: string;
    try {
      name = await this.ensureWorkstation(attempt);
    } catch (e) {
      throw new ClusterError('exec', `the workstation could not be started: ${errorMessage(e)}`, undefined, e);
    }
    const user = opts?.user === 'root' ? ['-u', '0', '-e', 'HOME=/root', '-w', '/root'] : [];
    if (opts?.user !== 'root')
      return dockerExec(
        this.#o.runner,
        [...(opts?.stdin !== undefined ? ['-i'] : []), ...user, '-e', 'LANG=C.UTF-8', name, ...argv],
        'running a command in the workstation',
        opts,
        opts?.stdin,
      );
    // Root's scripts (a scenario's background and verify) reach the nodes with `ssh <node> <command>`,
    // through the same path as `ssh <node>` in a terminal: the node must be one of this attempt's.
    const { runner } = this.#o;
    return asExecResult('running a command in the workstation', () =>
      execWithNodeChannel({
        runner,
        execArgs: [...user, '-e', 'LANG=C.UTF-8'],
        container: name,
        argv,
        ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
        timeoutMs: opts.timeoutMs ?? DOCKER_TIMEOUT,
        ...(opts.signal ? { signal: opts.signal } : {}),
        onNode: (node, command, stdin, timeoutMs) => runOnAttemptNode(runner, attempt, node, command, stdin, timeoutMs),
      }),
    );
  }

  /**
   * Gives the workstation made for `fromId` to attempt `toId`: renamed to the attempt's container name
   * (its files, kubeconfig and warmed shell stay). False when there is none or the rename failed.
   */
  async adopt(fromId: string, toId: string): Promise<boolean> {
    const making = this.#ready.get(fromId);
    if (!making || this.#ready.has(toId)) return false;
    this.#ready.delete(fromId);
    const name = await making.catch(() => undefined);
    if (!name) return false;
    const target = this.containerName(toId);
    try {
      await this.#o.runner.run({ argv: ['docker', 'rename', name, target], timeoutMs: DOCKER_TIMEOUT });
    } catch {
      await this.#o.runner.run({ argv: ['docker', 'rm', '-f', '-v', name], timeoutMs: DOCKER_TIMEOUT, okCodes: [0, 1] }).catch(() => {});
      return false;
    }
    this.#ready.set(toId, Promise.resolve(target));
    return true;
  }

  async release(attemptId: string): Promise<void> {
    // A workstation still being made (prepared while the lab was set up) is removed once it exists.
    const making = this.#ready.get(attemptId);
    this.#ready.delete(attemptId);
    await making?.catch(() => {});
    if (!SAFE_ID.test(attemptId)) return;
    await this.#o.runner.run({ argv: ['docker', 'rm', '-f', '-v', this.containerName(attemptId)], timeoutMs: DOCKER_TIMEOUT, okCodes: [0, 1] });
  }

  /** Removes workstations of this server whose attempt `keep` rejects (left over from a crash). */
  async reap(keep: (attemptId: string) => Promise<boolean>): Promise<string[]> {
    const r = await this.#o.runner.run({
      argv: ['docker', 'ps', '-a', '--filter', `label=io.kubedrill.owner=${this.#o.namePrefix}`, '--format', '{{.Names}}'],
      timeoutMs: DOCKER_TIMEOUT,
    });
    const removed: string[] = [];
    // By name, not by the io.kubedrill.workstation label: a spare workstation handed to an attempt
    // (adopt) keeps the label it was made with, and its name is the attempt's.
    const prefix = this.containerName('');
    const ids = r.stdout
      .split('\n')
      .map((s) => s.trim())
      .filter((n) => n.startsWith(prefix))
      .map((n) => n.slice(prefix.length));
    for (const id of ids) {
      if (this.#ready.has(id)) continue; // made by this server since it started (a spare, or an attempt's)
      if (!(await keep(id))) {
        await this.release(id);
        removed.push(id);
      }
    }
    return removed;
  }
}

export interface HostLauncherOptions extends LauncherOptions {
  /** Per-attempt files (rc file, kubeconfig) live under here. */
  stateDir: string;
  /** The workstation's ssh script, reused so `ssh <node>` works in host mode too. */
  sshScript: string;
}

/** Host mode: bash on the server itself, for one learner on their own machine (opt-in). */
export class HostLauncher implements ShellLauncher {
  readonly mode = 'host' as const;
  readonly #o: HostLauncherOptions;

  constructor(o: HostLauncherOptions) {
    this.#o = o;
  }

  async spawnShell(attempt: TerminalAttempt, req: ShellRequest): Promise<PtyProcess> {
    assertSafe('attempt', attempt.id);
    const dir = path.join(this.#o.stateDir, attempt.id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const env: Record<string, string> = {
      PATH: this.#o.hostEnv.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: this.#o.hostEnv.HOME ?? dir,
      LANG: 'C.UTF-8',
      TERM: 'xterm-256color',
      COLORTERM: 'truecolor',
      ...req.env,
    };
    try {
      const kubeconfig = await attemptKubeconfig(this.#o.runner, attempt, false);
      const file = path.join(dir, 'kubeconfig');
      await writeFile(file, kubeconfig, { mode: 0o600 });
      env.KUBECONFIG = file;
    } catch {
      // No cluster: the shell still works.
    }
    const rc = path.join(dir, 'bashrc');
    await writeFile(
      rc,
      [
        '# kubedrill host-mode shell (generated)',
        'alias k=kubectl',
        'if command -v kubectl >/dev/null; then . <(kubectl completion bash 2>/dev/null); complete -o default -F __start_kubectl k; fi',
        'export do="--dry-run=client -o yaml"',
        'export now="--force --grace-period 0"',
        `ssh() { ${JSON.stringify(this.#o.sshScript)} "$@"; }`,
        "PS1='kubedrill:\\w\\$ '",
        '',
      ].join('\n'),
    );
    await chmod(rc, 0o600);
    return spawnPty({ file: 'bash', args: ['--rcfile', rc, '-i'], env, cwd: env.HOME!, cols: req.cols, rows: req.rows });
  }

  spawnNodeShell(attempt: TerminalAttempt, node: string, req: ShellRequest): Promise<PtyProcess> {
    return nodeShell(this.#o, attempt, node, req);
  }

  listNodes(attempt: TerminalAttempt): Promise<string[]> {
    return attemptNodes(this.#o.runner, attempt);
  }

  execOnNode(attempt: TerminalAttempt, node: string, argv: readonly string[], opts?: CallOptions): Promise<ExecResult> {
    return execOnKindNode(this.#o.runner, attempt.clusterName, node, argv, opts);
  }

  runOnNode(attempt: TerminalAttempt, node: string, command: string, stdin: Buffer, timeoutMs: number): Promise<ExecResult> {
    return runOnAttemptNode(this.#o.runner, attempt, node, command, stdin, timeoutMs);
  }

  async release(attemptId: string): Promise<void> {
    if (SAFE_ID.test(attemptId)) await rm(path.join(this.#o.stateDir, attemptId), { recursive: true, force: true });
  }
}
