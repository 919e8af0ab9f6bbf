import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { ExecResult } from '../../../graders/src/cluster/port.ts';
import { ANY_EXIT, type CommandResult, type CommandRunner } from '../exec/command-runner.ts';
import { errorMessage } from '../errors.ts';

// `ssh <node> <command>` in scripts the server runs in a workstation (a Killercoda scenario's
// background and verify scripts, which break and inspect nodes that way). The workstation has no
// Docker access and no route to the server, so the command travels over the docker exec that runs
// the script: the workstation's `ssh` writes the command to a file in a private folder, announces it
// on file descriptor 5 (the exec's stderr, whatever the script redirected) as one short line
//   RS "KDSSH" <nonce> <id> <node>
// and reads the answer on descriptor 4 (the exec's stdin):
//   <id> <exit code> <stdout, base64> <stderr, base64>
// The server runs the command on the node through the same docker exec path `ssh <node>` uses,
// and removes the announcements from the stderr it reports. Concurrent `ssh` calls in one script
// take turns (flock in the script), so each answer is read by the call that asked.

const MARK = '\x1eKDSSH ';
const ANSWER_LIMIT = 4 * 1024 * 1024;

/** Runs `command` (bash) as root on `node` with `stdin`; rejects when the node is not the attempt's. */
export type NodeCommand = (node: string, command: string, stdin: Buffer, timeoutMs: number) => Promise<ExecResult>;

export interface ChannelExec {
  runner: CommandRunner;
  /** docker exec options before the container name (user, environment). */
  execArgs: readonly string[];
  container: string;
  argv: readonly string[];
  stdin?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  onNode: NodeCommand;
}

/**
 * Runs argv in the workstation with the node channel open. A script fed on stdin to `bash -s` runs
 * from a file, as Killercoda runs its scripts, so an `ssh` in it that reads its stdin (as ssh does)
 * does not swallow the rest of the script.
 */
export async function execWithNodeChannel(x: ChannelExec): Promise<CommandResult> {
  const nonce = randomBytes(8).toString('hex');
  const dir = `/tmp/kd-ssh-${nonce}`;
  const docker = (args: readonly string[], stdin?: string | Buffer) =>
    x.runner.run({
      argv: ['docker', 'exec', ...(stdin !== undefined ? ['-i'] : []), ...x.execArgs, x.container, ...args],
      timeoutMs: 30_000,
      ...(stdin !== undefined ? { stdin } : {}),
    });
  // stdin goes to a file first (the exec's own stdin carries the answers); a command without stdin
  // costs no extra exec (a verify script runs at every Check).
  if (x.stdin !== undefined) await docker(['sh', '-c', 'umask 077; mkdir -p "$1" && cat > "$1/stdin"', 'kd-exec', dir], x.stdin);
  const script = x.argv.length === 2 && x.argv[0] === 'bash' && x.argv[1] === '-s' && x.stdin !== undefined;
  const input = x.stdin === undefined ? '/dev/null' : '"$d/stdin"';
  const wrapper = [
    'd=$KD_SSH_DIR; (umask 077; mkdir -p "$d"); exec 4<&0 5>&2',
    script ? 'bash "$d/stdin" </dev/null' : `"$@" <${input}`,
    'rc=$?; rm -rf "$d"; exit $rc',
  ].join('; ');

  const answers = new PassThrough();
  let pending = '';
  let queue: Promise<void> = Promise.resolve();
  const deadline = Date.now() + x.timeoutMs;
  const answer = async (id: string, node: string) => {
    let code = 255;
    let out = Buffer.alloc(0);
    let err: Buffer;
    try {
      const files = await docker(['sh', '-c', 'base64 -w0 "$1/$2.cmd"; echo; if [ -f "$1/$2.in" ]; then base64 -w0 "$1/$2.in"; fi; echo', 'kd-exec', dir, id]);
      const [cmd = '', input = ''] = files.stdout.split('\n');
      const r = await x.onNode(node, Buffer.from(cmd, 'base64').toString('utf8'), Buffer.from(input, 'base64'), Math.max(1000, deadline - Date.now()));
      code = r.exitCode;
      out = Buffer.from(r.stdout).subarray(0, ANSWER_LIMIT);
      err = Buffer.from(r.stderr).subarray(0, ANSWER_LIMIT);
    } catch (e) {
      err = Buffer.from(`ssh: ${errorMessage(e)}\n`);
    }
    answers.write(`${id} ${code} ${out.toString('base64') || '-'} ${err.toString('base64') || '-'}\n`);
  };
  const onStderr = (chunk: string) => {
    pending += chunk;
    for (let at = pending.indexOf(MARK); at !== -1; at = pending.indexOf(MARK)) {
      const end = pending.indexOf('\n', at);
      if (end === -1) break;
      const [n, id = '', node = ''] = pending.slice(at + MARK.length, end).split(' ');
      pending = pending.slice(end + 1);
      // Only announcements carrying this run's nonce, with ids and node names as the script makes them.
      if (n === nonce && /^[0-9-]{1,40}$/.test(id) && /^[a-zA-Z0-9.-]{1,100}$/.test(node)) queue = queue.then(() => answer(id, node));
    }
    if (pending.length > 1024 && !pending.includes(MARK)) pending = pending.slice(-MARK.length);
  };
  try {
    const r = await x.runner.run({
      argv: [
        'docker',
        'exec',
        '-i',
        ...x.execArgs,
        '-e',
        `KD_SSH_CTL=${nonce}`,
        '-e',
        `KD_SSH_DIR=${dir}`,
        x.container,
        'sh',
        '-c',
        wrapper,
        'kd-exec',
        ...x.argv,
      ],
      stdinStream: answers,
      timeoutMs: x.timeoutMs,
      okCodes: ANY_EXIT,
      onStderr,
      ...(x.signal ? { signal: x.signal } : {}),
    });
    return { ...r, stderr: withoutMarks(r.stderr) };
  } finally {
    answers.end();
  }
}

/** The stderr a script printed, without the channel's announcements. */
export function withoutMarks(stderr: string): string {
  return stderr
    .split(MARK)
    .map((part, i) => (i === 0 ? part : part.slice(part.indexOf('\n') + 1 || part.length)))
    .join('');
}
