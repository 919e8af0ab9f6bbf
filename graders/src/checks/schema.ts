import { z } from 'zod';

// How a lab declares the checks that grade its tasks. The grading engine executes these;
// the lab linter validates them. Field names are what instructors write in lab.mdx front matter.

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const nameRe = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** A Kubernetes object name (DNS subdomain). */
export const K8sName = z.string().regex(nameRe, 'must be a lowercase Kubernetes name (a-z, 0-9, "-", ".")').max(253);
/** A namespace name (DNS label). */
export const NamespaceName = z.string().regex(dnsLabel, 'must be a lowercase namespace name (a-z, 0-9, "-")').max(63);

/** A label selector in kubectl syntax, e.g. "app=web,tier!=db" or "env in (a,b)". */
export const LabelSelector = z
  .string()
  .min(1)
  .regex(/^[\w./-]+\s*(=|==|!=|\s+in\s+\(|\s+notin\s+\(|$|,)|^!/, 'must be a label selector like app=web or "tier in (a,b)"');

/**
 * Which pod(s) a check runs in or looks at: "namespace/name", or an object with a name or a selector.
 * With a selector, the first Running pod (by name) is used for exec.
 */
export const PodRef = z.union([
  z.string().regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be "namespace/pod-name", e.g. default/sleepybox1'),
  z
    .object({
      namespace: NamespaceName.default('default'),
      name: K8sName.optional(),
      selector: LabelSelector.optional(),
      container: z.string().optional().describe('container to exec in (default: the first)'),
    })
    .strict()
    .refine((p) => (p.name === undefined) !== (p.selector === undefined), 'give exactly one of name or selector'),
]);
export type PodRef = z.infer<typeof PodRef>;

/** A node of the attempt's cluster by role: control-plane, or worker / worker1 (the first), worker2, worker3. */
export const NodeRole = z.string().regex(/^(control-plane|worker[1-3]?)$/, 'must be control-plane, worker (= worker1), worker2 or worker3');
export type NodeRole = z.infer<typeof NodeRole>;

/** Identifies API objects: apiVersion + kind, optional namespace, and a name or a label selector. */
export const ResourceRef = z
  .object({
    apiVersion: z.string().min(1).default('v1'),
    kind: z.string().regex(/^[A-Z][A-Za-z0-9]*$/, 'must be a Kind such as Pod, Service or NetworkPolicy'),
    namespace: NamespaceName.optional().describe('omit for cluster-scoped kinds'),
    name: K8sName.optional(),
    selector: LabelSelector.optional(),
    /** For kind Node: the node by role (node names differ per cluster), e.g. worker2. */
    nodeRole: NodeRole.optional(),
  })
  .strict()
  .refine((r) => r.nodeRole === undefined || (r.kind === 'Node' && r.name === undefined), {
    message: 'nodeRole names a Node: use it with kind: Node and without name',
    path: ['nodeRole'],
  });
export type ResourceRef = z.infer<typeof ResourceRef>;

/** Where a probe connects to. */
export const ProbeTarget = z.union([
  z.object({ service: z.string().regex(/^([a-z0-9-]+\/)?[a-z0-9-]+$/, 'must be "service" or "namespace/service"') }).strict(),
  z.object({ host: z.string().min(1).describe('a DNS name or IP used exactly as written') }).strict(),
  z.object({ pod: PodRef }).strict(),
]);
export type ProbeTarget = z.infer<typeof ProbeTarget>;

const common = {
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and "-"')
    .optional(),
  /** Share of the task's points this check carries, relative to its siblings. */
  weight: z.number().positive().default(1),
  /** What the check verifies, in words for the learner, e.g. "sleepybox2 cannot reach lab9server". */
  message: z.string().min(3),
  /**
   * A guard protects something that already works before the learner starts (e.g. "sleepybox1 can
   * still reach lab9server"). It earns its weight only when a non-guard check of the task passes too,
   * so doing nothing scores 0. The linter insists a guard is also required.
   */
  guard: z.boolean().default(false),
  /**
   * A required check vetoes its task: when it does not pass (fail or error), the task scores 0
   * whatever else passed — breaking what must keep working never earns most of the points.
   */
  required: z.boolean().default(false),
  timeoutSeconds: z.number().positive().max(300).optional(),
};

const expectedValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const ExistsCheck = z.object({ kind: z.literal('exists'), resource: ResourceRef, ...common }).strict();
export const AbsentCheck = z.object({ kind: z.literal('absent'), resource: ResourceRef, ...common }).strict();
export const FieldCheck = z
  .object({
    kind: z.literal('field'),
    resource: ResourceRef,
    /** kubectl-style JSONPath, e.g. "{.spec.replicas}" or "{.spec.ports[0].nodePort}". */
    path: z.string().regex(/^\{.*\}$/s, 'must be a kubectl JSONPath in braces, e.g. {.spec.replicas}'),
    equals: expectedValue.optional(),
    matches: z.string().optional().describe('regular expression the value (as text) must match'),
    ...common,
  })
  .strict()
  .refine((c) => (c.equals === undefined) !== (c.matches === undefined), 'give exactly one of equals or matches');
export const CountCheck = z
  .object({
    kind: z.literal('count'),
    resource: ResourceRef,
    equals: z.number().int().min(0).optional(),
    min: z.number().int().min(0).optional(),
    max: z.number().int().min(0).optional(),
    ...common,
  })
  .strict()
  .refine((c) => c.equals !== undefined || c.min !== undefined || c.max !== undefined, 'give equals, min or max');
export const PodReadyCheck = z.object({ kind: z.literal('podReady'), pod: PodRef, ...common, min: z.number().int().min(1).default(1) }).strict();
export const RolloutCheck = z
  .object({ kind: z.literal('rollout'), deployment: z.string().regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be "namespace/deployment-name"'), ...common })
  .strict();
export const ProbeCheck = z
  .object({
    kind: z.literal('probe'),
    from: PodRef,
    to: ProbeTarget,
    port: z.number().int().min(1).max(65535),
    /** http: wget --spider; tcp: nc -w 1 (busybox nc has no -z); udp: only DNS servers (port 53), asked with nslookup. */
    protocol: z.enum(['http', 'tcp', 'udp']).default('http'),
    path: z.string().startsWith('/').default('/').describe('HTTP path for http probes'),
    expect: z.enum(['reachable', 'blocked']),
    /**
     * http probes that expect reachable: the answer must also have this status (200) or class ("2xx").
     * Without it any HTTP answer counts, a 404 included — the connection worked.
     */
    httpStatus: z.union([z.number().int().min(100).max(599), z.enum(['2xx', '3xx', '4xx', '5xx'])]).optional(),
    ...common,
  })
  .strict()
  .refine((c) => c.httpStatus === undefined || (c.protocol === 'http' && c.expect === 'reachable'), {
    message: 'httpStatus needs protocol: http and expect: reachable',
    path: ['httpStatus'],
  });
export const DnsCheck = z
  .object({
    kind: z.literal('dns'),
    from: PodRef,
    name: z.string().min(1),
    expect: z.enum(['resolves', 'fails']),
    /** Optional: the answer must contain this address, or the ClusterIP of this "namespace/service". */
    address: z.string().optional(),
    ...common,
  })
  .strict();
export const ScriptCheck = z
  .object({
    kind: z.literal('script'),
    /** Inline bash run with the cluster's KUBECONFIG; exit 0 passes; its last output line is the message. */
    run: z.string().min(1).optional(),
    /** A script file in the lab folder instead of inline text. */
    file: z
      .string()
      .regex(/^[\w./-]+$/)
      .optional(),
    ...common,
  })
  .strict()
  .refine((c) => (c.run === undefined) !== (c.file === undefined), 'give exactly one of run or file');

/** How a command's output (or a file's content) must look: compared after trimming surrounding whitespace. */
const outputMatch = {
  /** The exact text (trimmed), e.g. "active". */
  equals: z.string().optional(),
  /** A regular expression; ^ and $ match at line ends. */
  matches: z.string().optional(),
  /** Strings that must all appear. */
  contains: z.array(z.string().min(1)).min(1).optional(),
};
const oneMatchAtMost = (c: { equals?: string | undefined; matches?: string | undefined; contains?: string[] | undefined }) =>
  [c.equals, c.matches, c.contains].filter((v) => v !== undefined).length <= 1;

export const NodeCheck = z
  .object({
    kind: z.literal('node'),
    node: NodeRole,
    /** A bash command run as root on the node (like `ssh <node>` then `sudo -i`), e.g. "systemctl is-active kubelet". */
    run: z.string().min(1),
    /** The exit code the command must end with (default 0). */
    exitCode: z.number().int().min(0).max(255).default(0),
    ...outputMatch,
    ...common,
  })
  .strict()
  .refine(oneMatchAtMost, 'give at most one of equals, matches or contains');

export const WorkstationCheck = z
  .object({
    kind: z.literal('workstation'),
    /** An absolute path in the learner's workstation whose content is checked, e.g. /opt/course/1/pods.txt. */
    file: z
      .string()
      .regex(/^\/[\w./@+-]+$/, 'must be an absolute path such as /opt/course/1/pods.txt')
      .optional(),
    /** Or a bash command run as the learner in the workstation; its stdout is checked. */
    run: z.string().min(1).optional(),
    /**
     * Who runs `run` (and `sameAs`): the learner (default) or root, with root's own kubeconfig in
     * /root/.kube/config. Killercoda scenarios' verify scripts run as root on their host, so a
     * scenario's checks say root.
     */
    user: z.enum(['candidate', 'root']).optional(),
    /** For run: the exit code it must end with (default 0). */
    exitCode: z.number().int().min(0).max(255).optional(),
    /**
     * The file's content (or the command's stdout) must equal what this command prints at grade time,
     * run in the workstation with the learner's kubeconfig: "kubectl -n shop get pods -o name".
     */
    sameAs: z.string().min(1).optional(),
    ...outputMatch,
    ...common,
  })
  .strict()
  .refine((c) => (c.file === undefined) !== (c.run === undefined), 'give exactly one of file or run')
  .refine((c) => c.exitCode === undefined || c.run !== undefined, { message: 'exitCode applies to run only', path: ['exitCode'] })
  .refine(
    (c) => [c.equals, c.matches, c.contains, c.sameAs].filter((v) => v !== undefined).length <= 1,
    'give at most one of equals, matches, contains or sameAs',
  );

/** Who asks, as `kubectl auth can-i --as …` would impersonate them. */
export const AccessSubject = z.union([
  z.object({ serviceAccount: z.string().regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, 'must be "namespace/serviceaccount-name"') }).strict(),
  z.object({ user: z.string().min(1), groups: z.array(z.string().min(1)).optional() }).strict(),
  z.object({ group: z.string().min(1) }).strict(),
]);
export type AccessSubject = z.infer<typeof AccessSubject>;

export const AccessCheck = z
  .object({
    kind: z.literal('access'),
    as: AccessSubject,
    /** A Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection, or a custom one such as use or bind. */
    verb: z.string().regex(/^([a-z]+|\*)$/, 'must be a verb such as get, list, create or delete'),
    /** The resource as kubectl writes it: pods, deployments.apps, pods/log, deployments.apps/scale. */
    resource: z.string().regex(/^([a-z0-9-]+|\*)(\.[a-z0-9.-]+)?(\/[a-z0-9-]+)?$/, 'must be a resource such as pods, deployments.apps or pods/log'),
    /** Omit for cluster-scoped resources or to ask across all namespaces. */
    namespace: NamespaceName.optional(),
    /** A single object's name (resourceNames rules). */
    name: K8sName.optional(),
    expect: z.enum(['allowed', 'denied']),
    ...common,
  })
  .strict();

/** Which nodes a placement check means: by role(s) or by a label selector. */
export const NodeSet = z.union([z.object({ role: z.union([NodeRole, z.array(NodeRole).min(1)]) }).strict(), z.object({ selector: LabelSelector }).strict()]);
export type NodeSet = z.infer<typeof NodeSet>;

export const PlacementCheck = z
  .object({
    kind: z.literal('placement'),
    /** The pods: { namespace, selector } (or a single pod's name). */
    pods: PodRef,
    nodes: NodeSet,
    /** all: every pod runs on those nodes; any: at least one does; none: no pod is placed there. */
    expect: z.enum(['all', 'any', 'none']),
    /** At least this many pods must be Running (anywhere) for the check to pass (default 1). */
    min: z.number().int().min(1).default(1),
    ...common,
  })
  .strict();

/**
 * Pods use a PersistentVolumeClaim: every live pod of `pods` mounts claim `claim` (at `mountPath`),
 * the claim is Bound (to `persistentVolume`), and optionally a file on that mount holds some text.
 */
export const VolumeCheck = z
  .object({
    kind: z.literal('volume'),
    /** The pods: a pod, or { namespace, selector } (every live one must mount the claim); `container` picks whose mount counts and where the file is read. */
    pods: PodRef,
    /** The PersistentVolumeClaim's name, in the pods' namespace. */
    claim: K8sName,
    /** Where a container mounts the claim, e.g. /data (default: anywhere). */
    mountPath: z
      .string()
      .regex(/^\/[\w./@+-]*$/, 'must be an absolute path such as /data')
      .optional(),
    /** The PersistentVolume the claim must be bound to (a static volume reused, not a new one provisioned). */
    persistentVolume: K8sName.optional(),
    /** A file on the volume, relative to where it is mounted (ledger.txt, logs/app.log): it must exist, and hold what equals/matches/contains say. Read by exec in the pod's container. */
    file: z
      .string()
      .regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[\w./@+-]+$/, 'must be a path relative to the mount, such as ledger.txt or logs/app.log (no leading / and no ..)')
      .optional(),
    /** At least this many of the pods must be Running with the claim mounted (default 1). */
    min: z.number().int().min(1).default(1),
    ...outputMatch,
    ...common,
  })
  .strict()
  .refine(oneMatchAtMost, 'give at most one of equals, matches or contains')
  .refine((c) => c.file !== undefined || [c.equals, c.matches, c.contains].every((v) => v === undefined), {
    message: 'equals, matches and contains compare a file on the volume: add file',
    path: ['file'],
  });

/** Any check declaration. */
export const CheckDecl = z.discriminatedUnion('kind', [
  ExistsCheck,
  AbsentCheck,
  FieldCheck,
  CountCheck,
  PodReadyCheck,
  RolloutCheck,
  ProbeCheck,
  DnsCheck,
  ScriptCheck,
  NodeCheck,
  WorkstationCheck,
  AccessCheck,
  PlacementCheck,
  VolumeCheck,
]);
export type CheckDecl = z.infer<typeof CheckDecl>;
export type CheckKind = CheckDecl['kind'];
export const CHECK_KINDS = [
  'exists',
  'absent',
  'field',
  'count',
  'podReady',
  'rollout',
  'probe',
  'dns',
  'script',
  'node',
  'workstation',
  'access',
  'placement',
  'volume',
] as const satisfies readonly CheckKind[];

/** Check ids default to <task>-<n> (1-based) so the API, reports and the page can name every check. */
export function checkIdOf(taskId: string, index: number, id: string | undefined): string {
  return id ?? `${taskId}-${index + 1}`;
}
