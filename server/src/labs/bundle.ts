import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A JSX element the MDX body uses, with its string attributes and where it starts. */
export interface UsedComponent {
  name: string;
  attributes: Record<string, string | true>;
  line: number;
  col: number;
  /** For <Run>: the command as written between the tags, and as the page will show it. */
  text?: { source: string; rendered: string };
}

/** The compiled body of a lab: code for mdx-bundler's getMDXComponent plus what it uses. */
export interface CompiledBody {
  code: string;
  components: UsedComponent[];
}

/** One reason a lab body does not compile, at its place in lab.mdx. */
export interface MdxProblem {
  message: string;
  line: number;
  col: number;
  hint?: string | undefined;
}

/** An MDX syntax error or refused content with its position in lab.mdx (and, when the cause is a common one, a hint); `more` holds further refusals. */
export class MdxCompileError extends Error {
  readonly line: number;
  readonly col: number;
  readonly hint: string | undefined;
  readonly more: MdxProblem[];
  constructor(message: string, line: number, col: number, hint?: string, more: MdxProblem[] = []) {
    super(message);
    this.name = 'MdxCompileError';
    this.line = line;
    this.col = col;
    this.hint = hint;
    this.more = more;
  }
}

// Bump when the compile pipeline changes so stale cache entries are not reused.
const PIPELINE_VERSION = 'kubedrill-mdx-5';

/** What the compile helper process answers for one request. */
export type CompileReply = { id: number; body: CompiledBody } | { id: number; error: (MdxProblem & { more: MdxProblem[] }) | { message: string } };

// How long the helper process may sit idle before it exits (it is started again on the next miss).
const HELPER_IDLE_MS = 300;

/** Arms `stop` to run after `ms` without keeping the process alive; returns what cancels it. */
export type IdleTimer = (stop: () => void, ms: number) => () => void;

const realIdleTimer: IdleTimer = (stop, ms) => {
  const timer = setTimeout(stop, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * Compiles MDX bodies with mdx-bundler, caching results by content hash in memory and on disk.
 * Cache misses are compiled in a short-lived helper process: the MDX toolchain is large, and a
 * server that compiled in-process would keep its memory for good (V8 and malloc do not return it).
 */
export class MdxCompiler {
  readonly #memory = new Map<string, CompiledBody>();
  readonly #diskDir: string | undefined;
  readonly #pending = new Map<number, { resolve: (b: CompiledBody) => void; reject: (e: Error) => void; helper: ChildProcess }>();
  #helper: ChildProcess | undefined;
  readonly #idleTimer: IdleTimer;
  #cancelIdle: (() => void) | undefined;
  #nextId = 1;
  /** How many compiles actually ran (cache misses); for tests and benchmarks. */
  compiles = 0;

  /** `idleTimer` schedules the helper's idle stop (tests fire it by hand instead of waiting). */
  constructor(cacheDir?: string, opts: { idleTimer?: IdleTimer } = {}) {
    this.#diskDir = cacheDir;
    this.#idleTimer = opts.idleTimer ?? realIdleTimer;
  }

  /** Compiles a whole lab.mdx (front matter included, so positions match the file). */
  async compile(source: string): Promise<CompiledBody> {
    const key = createHash('sha256').update(PIPELINE_VERSION).update('\0').update(source).digest('hex');
    const hit = this.#memory.get(key) ?? this.#readDisk(key);
    if (hit) {
      this.#memory.set(key, hit);
      return hit;
    }
    this.compiles++;
    const body = await this.#compileInHelper(source);
    this.#memory.set(key, body);
    this.#writeDisk(key, body);
    return body;
  }

  /** The pid of the compile helper while one runs (for tests). */
  get helperPid(): number | undefined {
    return this.#helper?.pid;
  }

  /** Stops the helper process now instead of after its idle delay. */
  close(): void {
    this.#stopHelper(new Error('the MDX compiler was closed'));
  }

  #compileInHelper(source: string): Promise<CompiledBody> {
    this.#cancelIdle?.();
    const helper = this.#helper ?? this.#startHelper();
    helper.ref();
    (helper.channel as { ref?: () => void } | undefined)?.ref?.();
    const id = this.#nextId++;
    return new Promise<CompiledBody>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, helper });
      helper.send({ id, source });
    });
  }

  #startHelper(): ChildProcess {
    // execArgv: [] so flags of this process (e.g. --test) do not leak into the helper.
    const helper = fork(path.join(import.meta.dirname, 'mdx-compile-process.ts'), [], {
      execArgv: [],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#helper = helper;
    helper.on('message', (reply: CompileReply) => {
      const waiter = this.#pending.get(reply.id);
      if (!waiter) return;
      this.#pending.delete(reply.id);
      if ('body' in reply) waiter.resolve(reply.body);
      else if ('line' in reply.error)
        waiter.reject(new MdxCompileError(reply.error.message, reply.error.line, reply.error.col, reply.error.hint, reply.error.more));
      else waiter.reject(new Error(reply.error.message));
      if (this.#pending.size === 0) this.#whenIdle();
    });
    helper.on('exit', (code, signal) => {
      if (this.#helper === helper) this.#helper = undefined;
      // Only requests sent to this helper are lost; a newer helper may already be answering others.
      this.#failPending(new Error(`the MDX compile helper exited (${signal ?? `code ${code}`}) before answering`), helper);
    });
    helper.on('error', (e) => this.#failPending(e, helper));
    return helper;
  }

  // Idle: let this process exit if it wants to, and stop the helper shortly.
  #whenIdle() {
    const helper = this.#helper;
    if (!helper) return;
    helper.unref();
    (helper.channel as { unref?: () => void } | undefined)?.unref?.();
    this.#cancelIdle = this.#idleTimer(() => this.#stopHelper(), HELPER_IDLE_MS);
  }

  #stopHelper(reason?: Error) {
    this.#cancelIdle?.();
    const helper = this.#helper;
    this.#helper = undefined;
    if (reason) this.#failPending(reason);
    if (helper && helper.exitCode === null && helper.signalCode === null) {
      if (helper.connected) helper.disconnect();
      helper.kill();
    }
  }

  #failPending(e: Error, helper?: ChildProcess) {
    for (const [id, waiter] of this.#pending) {
      if (helper && waiter.helper !== helper) continue;
      this.#pending.delete(id);
      waiter.reject(e);
    }
  }

  #readDisk(key: string): CompiledBody | undefined {
    if (!this.#diskDir) return undefined;
    try {
      return JSON.parse(readFileSync(path.join(this.#diskDir, `${key}.json`), 'utf8')) as CompiledBody;
    } catch {
      return undefined;
    }
  }

  #writeDisk(key: string, body: CompiledBody) {
    if (!this.#diskDir) return;
    try {
      mkdirSync(this.#diskDir, { recursive: true });
      const file = path.join(this.#diskDir, `${key}.json`);
      writeFileSync(`${file}.tmp`, JSON.stringify(body));
      renameSync(`${file}.tmp`, file);
    } catch {
      // A read-only cache folder only costs a recompile next time.
    }
  }
}
