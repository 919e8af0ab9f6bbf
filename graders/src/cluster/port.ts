// The narrow port through which graders (and the provisioner's setup and self-tests) talk to a
// cluster. Real adapter: @kubernetes/client-node. Test double: the in-memory model cluster.

/** Any Kubernetes object as the API returns it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Names one object. namespace is omitted for cluster-scoped kinds. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** Selects objects of one kind, optionally in one namespace and by label selector (kubectl syntax). */
export interface ListQuery {
  apiVersion: string;
  kind: string;
  namespace?: string;
  labelSelector?: string;
}

/** Which container to exec in. */
export interface PodTarget {
  namespace: string;
  name: string;
  container?: string;
}

/** The outcome of a command run inside a container. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  /** 0 on success; the process's exit code otherwise (from the V1Status on the status channel). */
  exitCode: number;
}

/** Deadline and cancellation for one cluster call. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** A cluster call that failed for a reason other than "not found" (network, auth, timeout, API error). */
export class ClusterError extends Error {
  readonly status: number | undefined;
  readonly reason: 'timeout' | 'aborted' | 'unreachable' | 'forbidden' | 'api' | 'exec';
  constructor(reason: ClusterError['reason'], message: string, status?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ClusterError';
    this.reason = reason;
    this.status = status;
  }
}

/** The narrow cluster port: typed reads, exec in a pod, server-side apply. */
export interface ClusterPort {
  /** The object, or undefined when it does not exist. */
  get(ref: ObjectRef, opts?: CallOptions): Promise<KubeObject | undefined>;
  list(query: ListQuery, opts?: CallOptions): Promise<KubeObject[]>;
  /** Runs argv (no shell unless argv says so) in a container; a non-zero exit is a result, not an error. */
  exec(pod: PodTarget, argv: readonly string[], opts?: CallOptions): Promise<ExecResult>;
  /** Server-side apply of each object, in order, with the given field manager. */
  apply(objects: readonly KubeObject[], opts?: CallOptions & { fieldManager?: string }): Promise<void>;
  /**
   * Creates an object and returns what the API answered (POST): used for reviews such as
   * SubjectAccessReview, whose answer is the response's status. Optional: a port without it makes
   * access checks say they cannot run.
   */
  create?(obj: KubeObject, opts?: CallOptions): Promise<KubeObject>;
  /**
   * Set by a port whose containers have no real filesystem (the model cluster simulates only the
   * tools probes run): why a file in a container cannot be read. Checks that read files then answer
   * `error` with this reason instead of a verdict.
   */
  readonly containerFilesUnavailable?: string;
}

/**
 * Commands as root on the nodes of one attempt's cluster: the path `ssh <node>` uses (docker exec
 * into a node container that carries the cluster's kind label). The server implements it; graders
 * only see this shape.
 */
export interface NodeAccess {
  /** Runs argv as root on the node (by its Kubernetes node name); a non-zero exit is a result, not an error. */
  exec(node: string, argv: readonly string[], opts?: CallOptions): Promise<ExecResult>;
}

/** Commands in the learner's workstation (as the learner, with their kubeconfig). */
export interface WorkstationAccess {
  /**
   * Runs argv in the workstation (as the learner, or as root with `user: 'root'`), with `stdin` fed
   * in if given; a non-zero exit is a result. Throws ClusterError when there is no workstation.
   */
  exec(argv: readonly string[], opts?: WorkstationExecOptions): Promise<ExecResult>;
}

/** Options of a command in the workstation: whose it is and what it reads on stdin. */
export interface WorkstationExecOptions extends CallOptions {
  user?: 'candidate' | 'root';
  stdin?: string;
}

/** Runs a check script (bash) on the grading host with the cluster's KUBECONFIG in its environment. */
export interface ScriptRunner {
  run(script: string, opts: CallOptions & { cwd: string; env?: Record<string, string> }): Promise<{ exitCode: number; output: string }>;
}
