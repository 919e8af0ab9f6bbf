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

export const DIFFICULTIES = ['easy', 'medium', 'hard'] as const;
export type Difficulty = (typeof DIFFICULTIES)[number];

/** The Kubernetes minor version of the current CKA exam; labs default to it. */
export const EXAM_KUBERNETES_VERSION = '1.35';

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/, 'must be lowercase letters, digits and "-" (like netpol-basics)').max(60);

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
  metallb: 'MetalLB in L2 mode with an address pool on kind\'s docker network: LoadBalancer Services get an address',
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
    cni: z.enum(['kindnet', 'none']).default('kindnet').describe('none: the lab installs a CNI itself'),
    networkPolicy: z.boolean().default(false).describe('the lab needs NetworkPolicy enforcement (self-tested before the learner starts)'),
    addons: z
      .array(z.enum(ADDON_NAMES, { error: (i) => `unknown add-on ${JSON.stringify(i.input)}: known add-ons are ${ADDON_NAMES.join(', ')}` }))
      .default([])
      .transform((a) => [...new Set(a)].sort())
      .describe('cluster add-ons installed before setup (and part of the warm-pool shape)'),
  })
  .strict();
export type ClusterShape = z.infer<typeof ClusterShape>;

export const LabFrontMatter = z
  .object({
    id: slug,
    title: z.string().min(3).max(100),
    summary: z.string().min(10).max(400),
    domain: z.enum(DOMAIN_IDS),
    difficulty: z.enum(DIFFICULTIES),
    minutes: z.number().int().min(1).max(240),
    kubernetes: z.string().regex(/^1\.\d{2}$/, 'must be a Kubernetes minor version like "1.35" (quote it in YAML)').default(EXAM_KUBERNETES_VERSION),
    cluster: ClusterShape.default({ workers: 0, cni: 'kindnet', networkPolicy: false, addons: [] }),
    images: z.array(PinnedImage).default([]),
    tags: z.array(z.string().regex(/^[a-z0-9-]+$/)).default([]),
    /** Optional declared total; when given, the task points must add up to it. */
    points: z.number().int().min(1).optional(),
    tasks: z.array(TaskDecl).min(1, 'a lab needs at least one task'),
  })
  .strict();
export type LabFrontMatter = z.infer<typeof LabFrontMatter>;

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
} as const satisfies Record<string, { required: readonly string[]; optional: readonly string[] }>;
