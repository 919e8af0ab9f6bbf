import { z } from 'zod';
import { CheckDecl } from '../../../graders/src/checks/schema.ts';

// The lab format instructors write: labs/<track>/<lab-id>/lab.mdx front matter. Documented for
// humans in labs/README.md; keep the two in step.

/** The five CKA curriculum domains (ids used in front matter → names shown to learners). */
export const DOMAINS = {
  'cluster-architecture': 'Cluster Architecture, Installation & Configuration',
  'workloads-scheduling': 'Workloads & Scheduling',
  'services-networking': 'Services & Networking',
  storage: 'Storage',
  troubleshooting: 'Troubleshooting',
} as const;
export type DomainId = keyof typeof DOMAINS;
export const DOMAIN_IDS = Object.keys(DOMAINS) as [DomainId, ...DomainId[]];

/**
 * The 27 competencies of the CKA curriculum v1.35 (cncf/curriculum), by code: the letter is the
 * domain (S storage, T troubleshooting, W workloads & scheduling, A cluster architecture, N services
 * & networking). Labs name the ones they train in `competencies`.
 */
export const COMPETENCIES = {
  S1: { domain: 'storage', title: 'Implement storage classes and dynamic volume provisioning' },
  S2: { domain: 'storage', title: 'Configure volume types, access modes and reclaim policies' },
  S3: { domain: 'storage', title: 'Manage persistent volumes and persistent volume claims' },
  T1: { domain: 'troubleshooting', title: 'Troubleshoot clusters and nodes' },
  T2: { domain: 'troubleshooting', title: 'Troubleshoot cluster components' },
  T3: { domain: 'troubleshooting', title: 'Monitor cluster and application resource usage' },
  T4: { domain: 'troubleshooting', title: 'Manage and evaluate container output streams' },
  T5: { domain: 'troubleshooting', title: 'Troubleshoot services and networking' },
  W1: { domain: 'workloads-scheduling', title: 'Understand application deployments and how to perform rolling update and rollbacks' },
  W2: { domain: 'workloads-scheduling', title: 'Use ConfigMaps and Secrets to configure applications' },
  W3: { domain: 'workloads-scheduling', title: 'Configure workload autoscaling' },
  W4: { domain: 'workloads-scheduling', title: 'Understand the primitives used to create robust, self-healing, application deployments' },
  W5: { domain: 'workloads-scheduling', title: 'Configure Pod admission and scheduling (limits, node affinity, etc.)' },
  A1: { domain: 'cluster-architecture', title: 'Manage role based access control (RBAC)' },
  A2: { domain: 'cluster-architecture', title: 'Prepare underlying infrastructure for installing a Kubernetes cluster' },
  A3: { domain: 'cluster-architecture', title: 'Create and manage Kubernetes clusters using kubeadm' },
  A4: { domain: 'cluster-architecture', title: 'Manage the lifecycle of Kubernetes clusters' },
  A5: { domain: 'cluster-architecture', title: 'Implement and configure a highly-available control plane' },
  A6: { domain: 'cluster-architecture', title: 'Use Helm and Kustomize to install cluster components' },
  A7: { domain: 'cluster-architecture', title: 'Understand extension interfaces (CNI, CSI, CRI, etc.)' },
  A8: { domain: 'cluster-architecture', title: 'Understand CRDs, install and configure operators' },
  N1: { domain: 'services-networking', title: 'Understand connectivity between Pods' },
  N2: { domain: 'services-networking', title: 'Define and enforce Network Policies' },
  N3: { domain: 'services-networking', title: 'Use ClusterIP, NodePort, LoadBalancer service types and endpoints' },
  N4: { domain: 'services-networking', title: 'Use the Gateway API to manage Ingress traffic' },
  N5: { domain: 'services-networking', title: 'Know how to use Ingress controllers and Ingress resources' },
  N6: { domain: 'services-networking', title: 'Understand and use CoreDNS' },
} as const satisfies Record<string, { domain: DomainId; title: string }>;
export type CompetencyCode = keyof typeof COMPETENCIES;
export const COMPETENCY_CODES = Object.keys(COMPETENCIES) as [CompetencyCode, ...CompetencyCode[]];

/** A node of the lab's cluster by role, as node setup files and checks name it. */
export const NODE_ROLES = ['control-plane', 'control-plane2', 'control-plane3', 'worker', 'worker2', 'worker3'] as const;

export const DIFFICULTIES = ['easy', 'medium', 'hard'] as const;
export type Difficulty = (typeof DIFFICULTIES)[number];

/** The Kubernetes minor version of the current CKA exam; labs default to it. */
export const EXAM_KUBERNETES_VERSION = '1.35';

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/, 'must be lowercase letters, digits and "-" (like netpol-basics)')
  .max(60);

/**
 * A container image reference with an explicit tag or digest. `:latest` (or no tag) is refused:
 * kind always pulls such images, which defeats preloading and makes labs flaky offline.
 */
export const PinnedImage = z.string().superRefine((ref, ctx) => {
  const problem = imageProblem(ref);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Why an image reference is not acceptable for a lab, or undefined when it is pinned. */
export function imageProblem(ref: string): string | undefined {
  if (!/^[a-z0-9][a-z0-9._\-/:@]*$/i.test(ref)) return `"${ref}" is not an image reference`;
  if (ref.includes('@sha256:')) return undefined;
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.indexOf(':', lastSlash + 1);
  if (colon === -1) return `image "${ref}" has no tag: pin a version such as ${ref}:1.2.3 (untagged means :latest, which kind always pulls)`;
  const tag = ref.slice(colon + 1);
  if (tag === 'latest') return `image "${ref}" uses :latest: pin a version (kind always pulls :latest, which defeats preloading)`;
  return undefined;
}

export const TaskDecl = z
  .object({
    id: slug,
    title: z.string().min(3).max(120),
    points: z.number().int().min(1).max(100),
    checks: z.array(CheckDecl).min(1, 'a task needs at least one check'),
  })
  .strict();
export type TaskDecl = z.infer<typeof TaskDecl>;

/**
 * Cluster add-ons a lab can ask for (front matter `cluster.addons`); the provisioner installs them
 * after the cluster exists (server/src/provisioner/addons.ts). Every kind cluster already has the
 * default StorageClass `standard` (local-path, WaitForFirstConsumer), crictl and journalctl on nodes.
 */
export const ADDONS = {
  'metrics-server': 'metrics-server with --kubelet-insecure-tls: kubectl top, HPA on CPU and memory',
  'gateway-api': 'Gateway API CRDs (standard channel) and Traefik as their controller, GatewayClass traefik',
  metallb: "MetalLB in L2 mode with an address pool on kind's docker network: LoadBalancer Services get an address",
  'etcd-client': 'etcdctl and etcdutl on the control-plane node (/usr/local/bin), from its etcd image',
} as const;
export type AddonName = keyof typeof ADDONS;
export const ADDON_NAMES = Object.keys(ADDONS) as [AddonName, ...AddonName[]];

/** Services an add-on creates (namespace/name), which checks may name without the lab creating them. */
export const ADDON_SERVICES: Record<AddonName, readonly string[]> = {
  'metrics-server': ['kube-system/metrics-server'],
  'gateway-api': ['traefik-gateway/traefik-gateway'],
  metallb: ['metallb-system/metallb-webhook-service'],
  'etcd-client': [],
};

export const ClusterShape = z
  .object({
    workers: z.number().int().min(0).max(3).default(0).describe('worker nodes besides the control plane'),
    /**
     * Control-plane nodes (default 1). With more than one, kind puts its load balancer in front of
     * their API servers (the kubeconfig's server) and kubeadm stacks an etcd member on each.
     */
    controlPlanes: z
      .number()
      .int()
      .min(1)
      .max(3)
      .optional()
      .describe("control-plane nodes (1–3, default 1); more than one puts kind's load balancer in front of them"),
    cni: z.enum(['kindnet', 'none']).default('kindnet').describe('none: the lab installs a CNI itself'),
    networkPolicy: z.boolean().default(false).describe('the lab needs NetworkPolicy enforcement (self-tested before the learner starts)'),
    /**
     * The lab changes nodes or kube-system (a stopped kubelet, a moved static-pod manifest): its
     * cluster is never handed to another lab afterwards, and never reset for reuse.
     */
    dedicated: z.boolean().default(false),
    /**
     * exam: the Kubernetes nodes are registered as controlplane, node01, node02… (as in the exam
     * and on Killercoda) instead of after their kind containers (<cluster>-control-plane, -worker…).
     */
    nodeNames: z.enum(['kind', 'exam']).optional().describe('exam: nodes are named controlplane, node01, node02… in Kubernetes too'),
    addons: z
      .array(z.enum(ADDON_NAMES, { error: (i) => `unknown add-on ${JSON.stringify(i.input)}: known add-ons are ${ADDON_NAMES.join(', ')}` }))
      .default([])
      .transform((a) => [...new Set(a)].sort())
      .describe('cluster add-ons installed before setup (and part of the warm-pool shape)'),
  })
  .strict();
export type ClusterShape = z.infer<typeof ClusterShape>;

/**
 * What setup breaks on purpose, so readiness does not wait for it to work: nodes (by role) that
 * setup leaves NotReady, and kube-system components (kube-apiserver, kube-scheduler, etcd,
 * kube-controller-manager, coredns, kube-proxy, kindnet) that setup leaves not Ready. Readiness
 * instead waits until each of them shows as broken, so the learner (and gate 1) see the real state.
 */
export const BrokenDecl = z
  .object({
    nodes: z.array(z.enum(NODE_ROLES)).default([]),
    components: z.array(z.enum(['kube-apiserver', 'kube-scheduler', 'kube-controller-manager', 'etcd', 'coredns', 'kube-proxy', 'kindnet'])).default([]),
  })
  .strict();
export type BrokenDecl = z.infer<typeof BrokenDecl>;

/**
 * One lab parameter (front matter `params.<name>`): exactly one of `values` (a list to draw from),
 * `range: [low, high]` (an integer, both ends included) or `pattern` (text where # is a random digit
 * and ? a random lowercase letter, e.g. "team-??#"). See labs/README.md, "Parameters".
 */
export const ParamDecl = z.union(
  [
    z
      .object({
        values: z
          .array(z.union([z.string(), z.number().int().min(0)]))
          .min(1, 'values needs at least one value')
          .max(100),
      })
      .strict(),
    z
      .object({ range: z.tuple([z.number().int().min(0), z.number().int().min(0)], { error: 'range is [low, high]: two whole numbers, both included' }) })
      .strict(),
    z.object({ pattern: z.string().min(1).max(40) }).strict(),
  ],
  { error: 'a param is one of { values: [a, b, …] }, { range: [low, high] } or { pattern: "text-with-#-and-?" }' },
);
export type ParamDecl = z.infer<typeof ParamDecl>;

/** A lab's parameters by name (lowercase first letter, then letters and digits: ns, port, serverName). */
export const ParamsDecl = z
  .record(
    z.string().regex(/^[a-z][A-Za-z0-9]{0,30}$/, 'a param name starts with a lowercase letter, then letters and digits (ns, port, serverName)'),
    ParamDecl,
  )
  .refine((r) => Object.keys(r).length >= 1 && Object.keys(r).length <= 12, 'params declares 1 to 12 parameters');
export type ParamsDecl = z.infer<typeof ParamsDecl>;

export const LabFrontMatter = z
  .object({
    id: slug,
    title: z.string().min(3).max(100),
    summary: z.string().min(10).max(400),
    domain: z.enum(DOMAIN_IDS),
    difficulty: z.enum(DIFFICULTIES),
    minutes: z.number().int().min(1).max(240),
    kubernetes: z
      .string()
      .regex(/^1\.\d{2}$/, 'must be a Kubernetes minor version like "1.35" (quote it in YAML)')
      .default(EXAM_KUBERNETES_VERSION),
    cluster: ClusterShape.default({ workers: 0, cni: 'kindnet', networkPolicy: false, dedicated: false, addons: [] }),
    /** CKA competency codes the lab trains, e.g. [T1, A4] (see COMPETENCIES). */
    competencies: z
      .array(z.enum(COMPETENCY_CODES, { error: (i) => `unknown competency ${JSON.stringify(i.input)}: use a code of the CKA curriculum such as T1, A4 or N2` }))
      .default([]),
    broken: BrokenDecl.optional(),
    /** Grade this lab on real clusters only, with the reason the model cluster cannot stand in (shown by labs:check). */
    realClusterOnly: z.string().min(10).optional(),
    images: z.array(PinnedImage).default([]),
    tags: z.array(z.string().regex(/^[a-z0-9-]+$/)).default([]),
    /** Optional declared total; when given, the task points must add up to it. */
    points: z.number().int().min(1).optional(),
    /** Values each attempt draws anew; checks, manifests and scripts use them as {{name}}, the text as <Param name="…"/>. */
    params: ParamsDecl.optional(),
    tasks: z.array(TaskDecl).min(1, 'a lab needs at least one task'),
  })
  .strict();
export type LabFrontMatter = z.infer<typeof LabFrontMatter>;

/**
 * A common wrong answer shipped with a lab: labs/<track>/<lab>/mistakes/<name>/mistake.yaml. The
 * folder's other files (manifests in file order, optional mistake.sh) are applied after setup like
 * solution/ is; the mistake gates prove the lab then scores at most maxPercent.
 */
export const MistakeDecl = z
  .object({
    /** What the wrong answer is, e.g. "a deny-all policy instead of one allowing sleepybox1". */
    title: z.string().min(3).max(200),
    /** The most this wrong answer may score, as a percentage of the lab's points. */
    maxPercent: z.number().min(0).max(100),
    /** Optional: why it scores what it scores, for instructors reading the lab. */
    why: z.string().min(3).optional(),
  })
  .strict();
export type MistakeDecl = z.infer<typeof MistakeDecl>;

/** Track metadata: labs/<track>/track.yaml. */
export const TrackDecl = z
  .object({
    title: z.string().min(3),
    summary: z.string().min(10),
    order: z.number().int().default(100),
    /** The order labs are listed in (lab ids); labs not named here follow, by id. */
    labs: z.array(slug).default([]),
  })
  .strict();
export type TrackDecl = z.infer<typeof TrackDecl>;

/** The MDX components a lab body may use. */
export const LAB_COMPONENTS = {
  Task: { required: ['id'], optional: [] },
  Hint: { required: [], optional: ['title'] },
  Solution: { required: [], optional: ['title'] },
  Run: { required: [], optional: ['title'] },
  Node: { required: ['name'], optional: [] },
  Param: { required: ['name'], optional: [] },
  Finish: { required: [], optional: [] },
} as const satisfies Record<string, { required: readonly string[]; optional: readonly string[] }>;
