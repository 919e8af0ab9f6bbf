import { setTimeout as sleep } from 'node:timers/promises';
import { readdirSync, readFileSync } from 'node:fs';
import * as nodePty from 'node-pty';

/** A running pseudo-terminal process, as the terminal session needs it. */
export interface PtyProcess {
  readonly pid: number;
  onData(cb: (data: Buffer) => void): void;
  onExit(cb: (code: number | null) => void): void;
  write(data: string | Buffer): void;
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  /** Ends the process and everything it started (for container shells: inside the container too). */
  kill(): Promise<void>;
}

/** What a launcher needs to start a shell. */
export interface PtySpawn {
  file: string;
  args: readonly string[];
  /** The complete environment of the process: never the server's process.env. */
  env: Record<string, string>;
  cwd: string;
  cols: number;
  rows: number;
  /** Extra clean-up after the local process is gone (e.g. kill the session inside a container). */
  afterKill?: () => Promise<void>;
}

/** Process ids whose session id is `sid` (Linux /proc); the session of a pty shell is its pid. */
export function sessionPids(sid: number): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // Fields after "(comm)": state ppid pgrp session …; comm may contain spaces and parens.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[3]) === sid && rest[0] !== 'Z') pids.push(Number(e)); // zombies are dead already
    } catch {
      /* the process ended meanwhile */
    }
  }
  return pids;
}

/** SIGKILLs every process of a session, so nothing a shell started outlives it. */
export function killSession(sid: number): void {
  for (const pid of sessionPids(sid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Starts a process on a new pty with node-pty; output arrives as Buffers, never decoded. */
export function spawnPty(spec: PtySpawn): PtyProcess {
  const p = nodePty.spawn(spec.file, [...spec.args], {
    name: 'xterm-256color',
    cols: spec.cols,
    rows: spec.rows,
    cwd: spec.cwd,
    env: spec.env,
    encoding: null,
  });
  let exited = false;
  const exitWaiters: (() => void)[] = [];
  p.onExit(() => {
    exited = true;
    exitWaiters.splice(0).forEach((w) => w());
  });
  return {
    pid: p.pid,
    onData: (cb) => void p.onData(cb as unknown as (d: string) => void),
    onExit: (cb) => void p.onExit((e) => cb(e.signal ? null : e.exitCode)),
    write: (d) => {
      if (!exited) p.write(d as string);
    },
    resize: (c, r) => {
      if (!exited) p.resize(c, r);
    },
    pause: () => p.pause(),
    resume: () => p.resume(),
    async kill() {
      // The shell leads its own session (node-pty calls setsid); kill the whole session, not
      // just the shell, then let the launcher clean up what lives elsewhere (containers).
      if (!exited) {
        const gone = new Promise<void>((r) => exitWaiters.push(r));
        killSession(p.pid);
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
        await Promise.race([gone, sleep(2000, undefined, { ref: false })]);
      }
      await spec.afterKill?.();
    },
  };
}
