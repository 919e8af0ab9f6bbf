import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { ClusterError, type NodeAccess, type WorkstationAccess } from '../../../graders/src/cluster/port.ts';
import { AppError, errorMessage } from '../errors.ts';
import type { ServiceLog } from '../log.ts';
import type { TerminalAttempt, TerminalAttempts } from './attempts.ts';
import type { ShellLauncher } from './launchers.ts';
import { attemptNodeNames } from './cluster-set.ts';
import { examNodeName, type NodeName } from './node-names.ts';
import { ScreenMirrors } from './screen-mirror.ts';
import { TerminalSession, type SessionLimits, type TerminalKind } from './terminal-session.ts';

/** How long `ssh <node> <command>` typed in a terminal may run (it is not interactive: log in for long work). */
const SSH_COMMAND_TIMEOUT_MS = 10 * 60_000;
import { RateLimiter, TicketStore } from './tickets.ts';
import { spareWorkstations, type SpareWorkstations } from './spare-workstations.ts';

/** A terminal as the API lists it. */
export interface TerminalInfo {
  id: string;
  kind: TerminalKind;
  title: string;
  node: string | null;
  createdAt: string;
  clients: number;
}

export interface TerminalServiceOptions {
  attempts: TerminalAttempts;
  /** undefined when no shell can run here (container mode without Docker). */
  launcher: ShellLauncher | undefined;
  /** Why there is no launcher, for the 503 the learner sees. */
  unavailableReason?: string;
  log: FastifyBaseLogger;
  limits?: Partial<SessionLimits>;
  idleMs: number;
  maxPerAttempt: number;
  ticketMs: number;
  upgradesPerMinute: number;
  /** The clock of ticket expiry and upgrade rate limits (tests move it instead of waiting). */
  now?: () => number;
}

const INITIAL = { cols: 80, rows: 24 };

/**
 * Creates each attempt's workstation while its lab is still being set up, so the first terminal
 * opens at once when the attempt is ready (a workstation is several docker commands: ~1–2 s on a
 * busy host). A failure here is only logged: opening the terminal tries again and reports it.
 */
export function prepareWorkstations(attempts: TerminalAttempts, launcher: ShellLauncher | undefined, log: Pick<ServiceLog, 'warn'>): () => void {
  if (!launcher?.prepare || !attempts.onClusterCreated) return () => {};
  return attempts.onClusterCreated((id) => {
    void (async () => {
      const a = await attempts.get(id);
      if (a && a.clusterName && a.status !== 'ended') await launcher.prepare!(a);
    })().catch((e: unknown) => log.warn({ attemptId: id, error: errorMessage(e) }, 'preparing the workstation failed (the first terminal tries again)'));
  });
}

/** Every open terminal on this server, grouped by attempt; ends them with the attempt or when idle. */
export class TerminalService {
  readonly tickets: TicketStore;
  /** Workstations made ahead for clusters set up in advance; undefined without a launcher that can hand one over. */
  readonly spares: SpareWorkstations | undefined;
  readonly upgrades: RateLimiter;
  readonly #o: TerminalServiceOptions;
  readonly #mirrors = new ScreenMirrors();
  readonly #byAttempt = new Map<string, Map<string, { session: TerminalSession; node: string | null }>>();
  readonly #unsubscribe: () => void;
  readonly #unsubscribeCreated: () => void;
  readonly #sweep: NodeJS.Timeout;

  constructor(o: TerminalServiceOptions) {
    this.#o = o;
    this.tickets = new TicketStore(o.ticketMs, o.now);
    this.upgrades = new RateLimiter(o.upgradesPerMinute, o.now);
    this.#unsubscribe = o.attempts.onEnded((id) => {
      this.endAttempt(id).catch((e: unknown) => o.log.warn({ attemptId: id, error: errorMessage(e) }, 'ending the terminals of an attempt failed'));
    });
    this.#unsubscribeCreated = prepareWorkstations(o.attempts, o.launcher, o.log);
    this.spares = spareWorkstations(o.launcher, o.log);
    this.#sweep = setInterval(() => this.sweepIdle(), Math.min(60_000, Math.max(1000, o.idleMs / 4)));
    this.#sweep.unref();
  }

  /** Keyboard input on one of the attempt's terminals: tells the attempts the learner is active. */
  touch(attemptId: string): void {
    this.#o.attempts.touch?.(attemptId);
  }

  get mode(): 'host' | 'container' | 'unavailable' {
    return this.#o.launcher?.mode ?? 'unavailable';
  }

  /** The attempt if it exists and belongs to the learner, else 404 (not even admins get another learner's shell). */
  async attemptFor(attemptId: string, learner: { id: string }): Promise<TerminalAttempt> {
    const a = await this.#o.attempts.get(attemptId);
    if (!a || a.learnerId !== learner.id) throw new AppError(404, 'attempt_not_found', `no attempt with id "${attemptId}"`);
    return a;
  }

  /**
   * The grader's reach into an attempt's nodes and workstation, through the launcher terminals use
   * (one path to nodes: the docker exec that `ssh <node>` takes). Empty where the launcher has none.
   */
  hostAccess(attemptId: string): { nodes?: NodeAccess; workstation?: WorkstationAccess } {
    const launcher = this.#o.launcher;
    if (!launcher) return {};
    const attempt = async () => {
      const a = await this.#o.attempts.get(attemptId);
      if (!a || !a.clusterName) throw new ClusterError('exec', `attempt ${attemptId} has no cluster`);
      return a;
    };
    const { execOnNode, execInWorkstation } = launcher;
    return {
      ...(execOnNode ? { nodes: { exec: async (node, argv, opts) => execOnNode.call(launcher, await attempt(), node, argv, opts) } } : {}),
      ...(execInWorkstation ? { workstation: { exec: async (argv, opts) => execInWorkstation.call(launcher, await attempt(), argv, opts) } } : {}),
    };
  }

  #launcher(): ShellLauncher {
    if (!this.#o.launcher) throw new AppError(503, 'terminal_unavailable', this.#o.unavailableReason ?? 'terminals are not available on this server');
    return this.#o.launcher;
  }

  list(attemptId: string): TerminalInfo[] {
    return [...(this.#byAttempt.get(attemptId)?.values() ?? [])].map(({ session, node }) => ({
      id: session.id,
      kind: session.kind,
      title: session.title,
      node,
      createdAt: new Date(session.createdAt).toISOString(),
      clients: session.clientCount,
    }));
  }

  get(attemptId: string, terminalId: string): TerminalSession | undefined {
    return this.#byAttempt.get(attemptId)?.get(terminalId)?.session;
  }

  /** Opens a new shell (or node shell) for a running attempt. */
  async create(attempt: TerminalAttempt, input: { kind: TerminalKind; node?: string | undefined }): Promise<TerminalInfo> {
    if (attempt.status !== 'running') throw new AppError(409, 'attempt_not_running', `the attempt is ${attempt.status}; terminals open while it runs`);
    const launcher = this.#launcher();
    const open = this.#byAttempt.get(attempt.id) ?? new Map();
    if (open.size >= this.#o.maxPerAttempt)
      throw new AppError(409, 'too_many_terminals', `at most ${this.#o.maxPerAttempt} terminals per attempt; close one first`);
    const id = `t${randomBytes(6).toString('hex')}`;
    const req = { terminalId: id, ...INITIAL, env: {} as Record<string, string> };
    let session: TerminalSession;
    if (input.kind === 'node') {
      if (!input.node) throw new AppError(400, 'node_required', 'a node shell needs a node name');
      const pty = await launcher.spawnNodeShell(attempt, input.node, req);
      // The tab is named as the exam names the node (node01), whichever name was asked for.
      const title = examNodeName(attempt.clusterName, input.node) ?? examNodeName(attempt.clusterName, `${attempt.clusterName}-${input.node}`) ?? input.node;
      session = new TerminalSession({ id, attemptId: attempt.id, kind: 'node', title, pty, ...INITIAL, mirrors: this.#mirrors, limits: this.#o.limits });
    } else {
      const sshToken = randomBytes(12).toString('base64url');
      req.env.KD_SSH_TOKEN = sshToken;
      const pty = await launcher.spawnShell(attempt, req);
      let n = 0;
      const node = async (name: string) => launcher.spawnNodeShell(attempt, name, { terminalId: `${id}n${++n}`, ...session.size, env: {} });
      const taken = new Set([...open.values()].map((t) => t.session.title));
      let k = 1;
      while (taken.has(`workstation ${k}`)) k++;
      const run = launcher.runOnNode
        ? (name: string, command: string, stdin: Buffer) => launcher.runOnNode!(attempt, name, command, stdin, SSH_COMMAND_TIMEOUT_MS)
        : undefined;
      session = new TerminalSession({
        id,
        attemptId: attempt.id,
        kind: 'shell',
        title: `workstation ${k}`,
        pty,
        ...INITIAL,
        mirrors: this.#mirrors,
        limits: this.#o.limits,
        sshToken,
        onSsh: node,
        ...(run ? { onSshRun: run } : {}),
      });
    }
    if (attempt.inputLocked) session.lockInput(attempt.inputLocked);
    open.set(id, { session, node: input.node ?? null });
    this.#byAttempt.set(attempt.id, open);
    session.onEnded((reason) => {
      open.delete(id);
      this.#o.log.info({ attemptId: attempt.id, terminalId: id, reason }, 'terminal ended');
    });
    this.#o.log.info({ attemptId: attempt.id, terminalId: id, kind: input.kind }, 'terminal opened');
    return this.list(attempt.id).find((t) => t.id === id)!;
  }

  /** Nodes of the attempt's cluster with their exam-style names (for the "node shell" menu). */
  async nodes(attempt: TerminalAttempt): Promise<NodeName[]> {
    return attemptNodeNames(attempt, await this.#launcher().listNodes(attempt));
  }

  /** Makes every terminal of the attempt read-only (reason) or writable again (null); new ones follow the attempt's inputLocked. */
  setInputLocked(attemptId: string, reason: string | null): void {
    for (const { session } of this.#byAttempt.get(attemptId)?.values() ?? []) session.lockInput(reason);
  }

  /** Closes one terminal (kills its shell). */
  async closeTerminal(attemptId: string, terminalId: string): Promise<void> {
    const t = this.get(attemptId, terminalId);
    if (!t) throw new AppError(404, 'terminal_not_found', `no terminal "${terminalId}" in this attempt`);
    await t.close('closed by the learner');
  }

  /** Kills every terminal of the attempt and deletes its workstation. */
  async endAttempt(attemptId: string): Promise<void> {
    const open = this.#byAttempt.get(attemptId);
    this.#byAttempt.delete(attemptId);
    await Promise.all([...(open?.values() ?? [])].map(({ session }) => session.close('the attempt ended')));
    await this.#o.launcher?.release(attemptId);
  }

  /** Kills terminals nobody has been attached to for the idle timeout. */
  sweepIdle(): void {
    for (const open of this.#byAttempt.values()) {
      for (const { session } of open.values()) {
        if (session.idleMs() > this.#o.idleMs) void session.close('idle for too long');
      }
    }
  }

  /** Server shutdown: kills every shell (workstations stay: their attempts may go on after a restart). */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    this.#unsubscribe();
    this.#unsubscribeCreated();
    const all = [...this.#byAttempt.values()].flatMap((m) => [...m.values()]);
    this.#byAttempt.clear();
    await Promise.all(all.map(({ session }) => session.close('the server is shutting down')));
    await this.#mirrors.dispose();
  }
}
