import { spawn } from 'node:child_process';

/** okCodes for a program whose exit code is a result, not a failure. */
export const ANY_EXIT: readonly number[] = Array.from({ length: 256 }, (_, i) => i);

/** What to run: an argv array (never a shell string) plus optional stdin, env, cwd and limits. */
export interface CommandSpec {
  /** argv[0] is the program, looked up on PATH. */
  argv: readonly string[];
  stdin?: string | Buffer;
  /** Fed to the program while it runs (a conversation with it); instead of stdin. */
  stdinStream?: NodeJS.ReadableStream;
  /** Extra environment variables; merged over the runner's base environment. */
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  /** Milliseconds until the process is killed (SIGTERM, then SIGKILL after a grace period). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with each chunk of stderr as it arrives (kind prints its progress there). */
  onStderr?: (chunk: string) => void;
  onStdout?: (chunk: string) => void;
  /** Exit codes that count as success; default [0]. */
  okCodes?: readonly number[];
}

export interface CommandResult {
  argv: readonly string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Why a command failed: it could not start, exited non-zero, timed out or was aborted. */
export type CommandFailure = 'not-found' | 'spawn-failed' | 'exit-code' | 'timeout' | 'aborted';

/** A failed external command; carries the command, exit code, stdout and stderr. */
export class CommandError extends Error {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly reason: CommandFailure;

  constructor(reason: CommandFailure, argv: readonly string[], exitCode: number | null, stdout: string, stderr: string, detail?: string) {
    const cmd = formatArgv(argv);
    const why = {
      'not-found': `program "${argv[0]}" was not found on PATH`,
      'spawn-failed': `could not start: ${detail ?? 'unknown error'}`,
      'exit-code': `exited with code ${exitCode}`,
      timeout: `timed out after ${detail ?? '?'}`,
      aborted: 'was cancelled',
    }[reason];
    const tail = lastLines(stderr || stdout, 20);
    super(`${cmd} ${why}${tail ? `\n${tail}` : ''}`);
    this.name = 'CommandError';
    this.argv = argv;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
    this.reason = reason;
  }
}

/** Runs external programs; the one seam through which kind, docker and kubectl are called. */
export interface CommandRunner {
  run(spec: CommandSpec): Promise<CommandResult>;
}

/** Shell-style rendering of an argv for messages (quoted where needed); never executed. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

function lastLines(text: string, n: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}

const KILL_GRACE_MS = 3000;

/** The real runner: spawns processes with an explicit environment (never the whole process.env). */
export function createCommandRunner(baseEnv: Readonly<Record<string, string>>): CommandRunner {
  return {
    run(spec) {
      return new Promise<CommandResult>((resolve, reject) => {
        const started = performance.now();
        const argv = spec.argv;
        const [program, ...args] = argv;
        if (!program) {
          reject(new CommandError('spawn-failed', argv, null, '', '', 'empty argv'));
          return;
        }
        if (spec.signal?.aborted) {
          reject(new CommandError('aborted', argv, null, '', ''));
          return;
        }
        const child = spawn(program, args, {
          cwd: spec.cwd,
          env: { ...baseEnv, ...spec.env },
          stdio: ['pipe', 'pipe', 'pipe'],
          detached: true, // own process group, so a timeout kills the whole tree
        });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let ended: CommandFailure | null = null;
        let timeoutText = '';
        let killTimer: NodeJS.Timeout | undefined;

        const killTree = (sig: NodeJS.Signals) => {
          try {
            if (child.pid) process.kill(-child.pid, sig);
          } catch {
            child.kill(sig);
          }
        };
        const stop = (why: CommandFailure) => {
          if (ended) return;
          ended = why;
          killTree('SIGTERM');
          killTimer = setTimeout(() => killTree('SIGKILL'), KILL_GRACE_MS);
          killTimer.unref();
        };
        const timer = spec.timeoutMs
          ? setTimeout(() => {
              timeoutText = `${Math.round(spec.timeoutMs! / 100) / 10}s`;
              stop('timeout');
            }, spec.timeoutMs)
          : undefined;
        const onAbort = () => stop('aborted');
        spec.signal?.addEventListener('abort', onAbort, { once: true });

        child.stdout.on('data', (b: Buffer) => {
          out.push(b);
          spec.onStdout?.(b.toString('utf8'));
        });
        child.stderr.on('data', (b: Buffer) => {
          err.push(b);
          spec.onStderr?.(b.toString('utf8'));
        });
        child.stdin.on('error', () => {
          /* the program may exit before reading stdin; its exit code tells the story */
        });
        if (spec.stdinStream) spec.stdinStream.pipe(child.stdin);
        else if (spec.stdin !== undefined) child.stdin.end(spec.stdin);
        else child.stdin.end();

        const finish = () => {
          if (timer) clearTimeout(timer);
          spec.signal?.removeEventListener('abort', onAbort);
        };
        child.on('error', (e: NodeJS.ErrnoException) => {
          finish();
          if (killTimer) clearTimeout(killTimer);
          const reason = e.code === 'ENOENT' ? 'not-found' : 'spawn-failed';
          reject(new CommandError(reason, argv, null, '', '', e.message));
        });
        child.on('close', (code, sig) => {
          finish();
          spec.stdinStream?.unpipe(child.stdin);
          if (killTimer) clearTimeout(killTimer);
          const stdout = Buffer.concat(out).toString('utf8');
          const stderr = Buffer.concat(err).toString('utf8');
          const exitCode = code ?? (sig ? 128 : -1);
          const durationMs = performance.now() - started;
          if (ended) {
            reject(new CommandError(ended, argv, exitCode, stdout, stderr, timeoutText));
            return;
          }
          if (!(spec.okCodes ?? [0]).includes(exitCode)) {
            reject(new CommandError('exit-code', argv, exitCode, stdout, stderr));
            return;
          }
          resolve({ argv, exitCode, stdout, stderr, durationMs });
        });
      });
    },
  };
}

/**
 * The minimal environment external programs (kind, docker, kubectl) get: PATH, HOME, locale, where
 * Docker is, and nothing secret. The server (config's hostEnv), the scripts and the tests all build
 * it here. KIND_EXPERIMENTAL_PROVIDER is left out on purpose: kind must make its clusters on the
 * Docker that the rest of kubedrill inspects and execs into.
 */
export function minimalEnv(source: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'DOCKER_HOST', 'DOCKER_CONFIG']) {
    const v = source[key];
    if (v !== undefined) env[key] = v;
  }
  env.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return env;
}
