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

/** Identifies API objects: apiVersion + kind, optional namespace, and a name or a label selector. */
export const ResourceRef = z
  .object({
    apiVersion: z.string().min(1).default('v1'),
    kind: z.string().regex(/^[A-Z][A-Za-z0-9]*$/, 'must be a Kind such as Pod, Service or NetworkPolicy'),
    namespace: NamespaceName.optional().describe('omit for cluster-scoped kinds'),
    name: K8sName.optional(),
    selector: LabelSelector.optional(),
  })
  .strict();
export type ResourceRef = z.infer<typeof ResourceRef>;

/** Where a probe connects to. */
export const ProbeTarget = z.union([
  z.object({ service: z.string().regex(/^([a-z0-9-]+\/)?[a-z0-9-]+$/, 'must be "service" or "namespace/service"') }).strict(),
  z.object({ host: z.string().min(1).describe('a DNS name or IP used exactly as written') }).strict(),
  z.object({ pod: PodRef }).strict(),
]);
export type ProbeTarget = z.infer<typeof ProbeTarget>;

const common = {
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and "-"').optional(),
  /** Share of the task's points this check carries, relative to its siblings. */
  weight: z.number().positive().default(1),
  /** What the check verifies, in words for the learner, e.g. "sleepybox2 cannot reach lab9server". */
  message: z.string().min(3),
  /**
   * A guard protects something that already works before the learner starts (e.g. "sleepybox1 can
   * still reach lab9server"). It earns its weight only when a non-guard check of the task passes too,
   * so doing nothing scores 0.
   */
  guard: z.boolean().default(false),
  /**
   * The task earns nothing unless this check passes. Accepted here so labs written for it load;
   * the scoring rule comes with the mistakes runner (another branch) — on merge, keep that one.
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
    file: z.string().regex(/^[\w./-]+$/).optional(),
    ...common,
  })
  .strict()
  .refine((c) => (c.run === undefined) !== (c.file === undefined), 'give exactly one of run or file');

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
]);
export type CheckDecl = z.infer<typeof CheckDecl>;
export type CheckKind = CheckDecl['kind'];
export const CHECK_KINDS = ['exists', 'absent', 'field', 'count', 'podReady', 'rollout', 'probe', 'dns', 'script'] as const satisfies readonly CheckKind[];

/** Check ids default to <task>-<n> (1-based) so the API, reports and the page can name every check. */
export function checkIdOf(taskId: string, index: number, id: string | undefined): string {
  return id ?? `${taskId}-${index + 1}`;
}
