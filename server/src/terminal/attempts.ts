// The narrow view of attempts the terminal needs. The provisioner owns attempts; the app wires
// its repository/runner to this interface (see README "Terminal"), tests use StaticAttempts.

/** An attempt as the terminal sees it. */
export interface TerminalAttempt {
  id: string;
  learnerId: string;
  /** kind cluster name; its nodes are containers labelled io.x-k8s.kind.cluster=<clusterName>. */
  clusterName: string;
  /** Terminals open only while the attempt is running. */
  status: 'starting' | 'running' | 'ended';
  /** Kubernetes version of the cluster, e.g. "1.35" or "v1.35.4"; picks the workstation image. */
  kubernetesVersion?: string;
  /** Several clusters (an exam): one kubeconfig context per cluster, `ssh` to the nodes of each. */
  clusters?: { context: string; name: string }[];
  /** Why terminal input is refused for now (a submitted exam), if it is. */
  inputLocked?: string;
}

/** Where the terminal looks attempts up and learns that one has ended. */
export interface TerminalAttempts {
  get(id: string): TerminalAttempt | undefined | Promise<TerminalAttempt | undefined>;
  /** Calls cb when an attempt ends (finished, expired, deleted); returns an unsubscribe function. */
  onEnded(cb: (attemptId: string) => void): () => void;
  /** Calls cb when an attempt's cluster exists but it is not ready yet (its setup runs); returns an unsubscribe function. */
  onClusterCreated?(cb: (attemptId: string) => void): () => void;
  /** Terminal input arrived: the learner is active (resets the attempt's idle timer). */
  touch?(attemptId: string): void;
}

/** Asks each source in turn (lab attempts, then exam attempts); ended events come from all. */
export function combinedAttempts(...sources: TerminalAttempts[]): TerminalAttempts {
  return {
    async get(id) {
      for (const s of sources) {
        const a = await s.get(id);
        if (a) return a;
      }
      return undefined;
    },
    onEnded(cb) {
      const offs = sources.map((s) => s.onEnded(cb));
      return () => offs.forEach((off) => off());
    },
    // Without it the server never made a workstation while a lab was set up (prepareWorkstations found no hook).
    onClusterCreated(cb) {
      const offs = sources.flatMap((s) => (s.onClusterCreated ? [s.onClusterCreated(cb)] : []));
      return () => offs.forEach((off) => off());
    },
    touch(id) {
      for (const s of sources) s.touch?.(id);
    },
  };
}

/** In-memory attempts: a test double, and the default until attempts are wired in. */
export class StaticAttempts implements TerminalAttempts {
  readonly #attempts = new Map<string, TerminalAttempt>();
  readonly #listeners = new Set<(id: string) => void>();
  /** Attempt ids in the order terminal input touched them. */
  readonly touched: string[] = [];

  add(a: TerminalAttempt): void {
    this.#attempts.set(a.id, a);
  }

  get(id: string): TerminalAttempt | undefined {
    return this.#attempts.get(id);
  }

  /** Marks the attempt ended and tells the listeners. */
  end(id: string): void {
    const a = this.#attempts.get(id);
    if (a) a.status = 'ended';
    for (const l of this.#listeners) l(id);
  }

  onEnded(cb: (attemptId: string) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  touch(id: string): void {
    this.touched.push(id);
  }
}
