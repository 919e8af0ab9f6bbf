// The steps of preparing an attempt's cluster, declared in one place: name, order, own timeout, failure
// text and the condition under which each runs. planAttempt() turns them into the plan of one attempt
// (or of one warm cluster), which the page, labs:verify and the exam page all read; provision-steps.ts
// says what each step does, and runPlan() runs them.
import type { ClusterShape } from '../labs/format.ts';
import { addonStep } from '../provisioner/addons.ts';
import { NODES_READY_STEP } from '../provisioner/kind-driver.ts';
import { kindStages } from '../provisioner/kind-progress.ts';
import { NETPOL_STEPS } from '../provisioner/netpol-selftest.ts';
import type { PlannedStep } from '../provisioner/pipeline.ts';
import { labSetupSteps, type LabSetup } from '../provisioner/lab-setup.ts';

/** The step ids, in the order they run. */
export const STEP_IDS = ['claim', 'create', 'images', 'netpol', 'addons', 'setup', 'scenario'] as const;
export type StepId = (typeof STEP_IDS)[number];

/** The step of an attempt that got a warm cluster (estimates tell warm and new-cluster starts apart by it). */
export const WARM_STEP = 'Claiming a warm cluster';
/** The step of an attempt that got a cluster with its labs' setup applied in advance (a pre-set-up pool). */
export const PRESET_STEP = 'Claiming a cluster set up in advance';
/** The step that applies the labs' setups (labs:verify takes what exists before it as the cluster's own). */
export const SETUP_PHASE = 'Setting up the lab';

/** What a plan is made from. */
export interface PlanInput {
  shape: ClusterShape;
  /**
   * A new cluster, or a warm one from the pool with the images known to be in its nodes; setUp: the
   * labs' setup was applied to it in advance too (only the claim is left).
   */
  cluster: { warm: false } | { warm: true; images: ReadonlySet<string> | undefined; setUp?: boolean };
  /** The images the labs run. */
  images: readonly string[];
  /** The labs set up on the cluster (several for an exam's cluster; none for a warm cluster being made). */
  labs: readonly { id: string; setup: LabSetup; scenario: boolean }[];
  timeouts: { createMs: number; setupMs: number };
}

/** run: the step runs; skip: listed as done earlier (the warm cluster did it); drop: not listed. */
type When = 'run' | 'skip' | 'drop';

interface StepDecl {
  id: StepId;
  name: string;
  /** The name when it depends on the plan (the claim of a warm or a set-up cluster). */
  nameFor?: (p: PlanInput) => string;
  /** cluster: makes the cluster (the attempt is provisioning); lab: prepares it for the labs (setting-up). */
  stage: 'cluster' | 'lab';
  failure: string;
  timeoutMs: (p: PlanInput) => number;
  when: (p: PlanInput) => When;
  parts?: (p: PlanInput) => string[];
  ifNeeded?: Readonly<Record<string, string>>;
}

const WARM_DID_IT = 'done when the warm cluster was made';
const PRESET_DID_IT = 'done when the cluster was set up in advance';
const setUp = (p: PlanInput) => p.cluster.warm && p.cluster.setUp === true;
/** Our steps' own deadlines come first, so their errors (which say more) win over the runner's. */
const SLACK_MS = 30_000;
const ADDON_MS = 240_000;
const newCluster = (p: PlanInput, need = true): When => (!need ? 'drop' : p.cluster.warm ? 'skip' : 'run');

const STEPS: readonly StepDecl[] = [
  {
    id: 'claim',
    name: WARM_STEP,
    nameFor: (p) => (setUp(p) ? PRESET_STEP : WARM_STEP),
    stage: 'lab',
    failure: 'the warm cluster could not be claimed',
    timeoutMs: () => 30_000,
    when: (p) => (p.cluster.warm ? 'run' : 'drop'),
  },
  {
    id: 'create',
    name: 'Creating the cluster',
    stage: 'cluster',
    failure: 'the cluster could not be created',
    timeoutMs: (p) => p.timeouts.createMs + SLACK_MS,
    when: (p) => newCluster(p),
    parts: (p) => [...kindStages(p.shape), NODES_READY_STEP],
  },
  {
    id: 'images',
    name: 'Loading lab images',
    stage: 'cluster',
    failure: 'the lab images could not be loaded into the nodes',
    timeoutMs: () => 10 * 60_000 + SLACK_MS,
    // A new cluster gets the labs' images (and the NetworkPolicy self-test's) while kind starts it; a
    // warm one has those of its shape's labs, and loads only what it lacks (a lab added since, an adopted cluster).
    when: (p) => {
      if (!p.cluster.warm) return p.images.length || p.shape.networkPolicy ? 'run' : 'drop';
      const held = p.cluster.images;
      if (p.images.some((i) => !held?.has(i)) && !setUp(p)) return 'run';
      return p.images.length ? 'skip' : 'drop';
    },
  },
  {
    id: 'netpol',
    name: 'Making NetworkPolicy enforced',
    stage: 'cluster',
    failure: 'NetworkPolicy enforcement could not be set up',
    timeoutMs: () => 8 * 60_000,
    when: (p) => newCluster(p, p.shape.networkPolicy),
    parts: () => Object.values(NETPOL_STEPS),
    // The self-test runs while no verdict is remembered for this node image and host; kube-router only where kindnet fails open.
    ifNeeded: {
      [NETPOL_STEPS.pods]: 'unless this host’s verdict is remembered',
      [NETPOL_STEPS.check]: 'unless this host’s verdict is remembered',
      [NETPOL_STEPS.install]: 'only where kindnet does not enforce NetworkPolicy',
      [NETPOL_STEPS.recheck]: 'only where kindnet does not enforce NetworkPolicy',
    },
  },
  {
    id: 'addons',
    name: 'Installing add-ons',
    stage: 'cluster',
    failure: 'the add-ons could not be installed',
    timeoutMs: (p) => p.shape.addons.length * ADDON_MS + SLACK_MS,
    when: (p) => newCluster(p, p.shape.addons.length > 0),
    parts: (p) => p.shape.addons.map(addonStep),
  },
  {
    id: 'setup',
    name: SETUP_PHASE,
    stage: 'lab',
    failure: "the lab's setup could not be applied",
    timeoutMs: (p) => p.timeouts.setupMs + SLACK_MS,
    when: (p) => (!p.labs.some((l) => labSetupSteps(l.setup).length) ? 'drop' : setUp(p) ? 'skip' : 'run'),
    // An exam's labs are set up at once, each step named by its lab.
    parts: (p) => p.labs.flatMap((l) => labSetupSteps(l.setup).map((s) => (p.labs.length > 1 ? `${l.id}: ${s}` : s))),
  },
  {
    id: 'scenario',
    name: "Running the scenario's setup in the workstation",
    stage: 'lab',
    failure: "the scenario's setup failed",
    timeoutMs: (p) => p.timeouts.setupMs + SLACK_MS,
    when: (p) => (p.labs.some((l) => l.scenario) ? 'run' : 'drop'),
  },
];

/** The plan's timeouts from the clusters.* settings. */
export function planTimeouts(c: { createTimeoutMinutes: number; setupTimeoutMinutes: number }): PlanInput['timeouts'] {
  return { createMs: c.createTimeoutMinutes * 60_000, setupMs: c.setupTimeoutMinutes * 60_000 };
}

/** A step of an attempt's plan. */
export interface AttemptStep extends PlannedStep<StepId> {
  stage: 'cluster' | 'lab';
}

/** The plan of one attempt's cluster (or of a warm cluster being made: no labs), in run order. */
export function planAttempt(p: PlanInput): AttemptStep[] {
  return STEPS.flatMap((d): AttemptStep[] => {
    const when = d.when(p);
    if (when === 'drop') return [];
    const step: AttemptStep = { id: d.id, name: d.nameFor?.(p) ?? d.name, stage: d.stage, timeoutMs: d.timeoutMs(p), failure: d.failure };
    if (when === 'skip') return [{ ...step, skipped: setUp(p) && (d.id === 'images' || d.id === 'setup') ? PRESET_DID_IT : WARM_DID_IT }];
    const parts = d.parts?.(p);
    return [parts?.length ? { ...step, parts, ...(d.ifNeeded ? { ifNeeded: d.ifNeeded } : {}) } : step];
  });
}
