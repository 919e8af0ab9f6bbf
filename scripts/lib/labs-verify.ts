// The honesty gates of labs on real kind clusters: for each lab, a fresh cluster made by the
// product's own provisioner (so setup, readiness and the NetworkPolicy self-test are the ones
// learners get), then gate 1 (after setup every task scores 0), the mistake gates (each shipped
// wrong answer scores at most its maxPercent), the reference solution, gate 2 (100%) and a second
// grade (stable). Used by `npm run labs:verify` and the cluster test stage.
//
// Mistakes share the lab's cluster (a fresh cluster each would cost a minute apiece): a mistake is
// applied, graded until two grades agree (policy changes land a moment after the API takes them),
// then taken off — objects it created are deleted, setup is applied again with setup's field
// manager (so fields the mistake changed return to setup's); in a lab with a setup.sh, a mistake
// with a script (which may change anything in the API) is taken off by resetting what the lab made
// and its nodes' labels and taints, and running the whole setup, script included, again — and the lab is graded until it grades exactly as it did right
// after setup, which proves the next mistake starts clean.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createKubePort, createKubeconfigScriptRunner } from '../../graders/src/cluster/kube-port.ts';
import type { ClusterPort, KubeObject, ScriptRunner } from '../../graders/src/cluster/port.ts';
import { mistakeGate, runHonestyGates, type GateResult, type GatesReport, type MistakePhases, type MistakeRun } from '../../graders/src/engine/gates.ts';
import { gradeLab } from '../../graders/src/engine/engine.ts';
import type { GradeReport } from '../../graders/src/engine/types.ts';
import { SETUP_PHASE } from '../../server/src/attempts/attempt-plan.ts';
import type { AttemptEvent } from '../../server/src/attempts/attempt-repository.ts';
import { createAttemptService } from '../../server/src/attempts/create-attempt-service.ts';
import { loadConfig } from '../../server/src/config/config.ts';
import { logLine } from '../../server/src/log.ts';
import { createCommandRunner, minimalEnv } from '../../server/src/exec/command-runner.ts';
import { gradableLab, labStates, mistakeObjects, modelMistakeSkipReason } from '../../server/src/grading/lab-states.ts';
import { mistakeScripts, type Lab, type LabMistake } from '../../server/src/labs/loader.ts';
import { LabCatalog } from '../../server/src/labs/catalog-service.ts';
import { dueStepSetups } from '../../server/src/labs/scenarios.ts';
import { filesBelow } from '../../server/src/labs/params.ts';
import { readTestbedStatus } from './testbed.ts';
import type { NodeAccess, WorkstationAccess } from '../../graders/src/cluster/port.ts';
import { nodeForRole } from '../../graders/src/engine/checks.ts';
import { KindDriver, kindNodeNames } from '../../server/src/provisioner/kind-driver.ts';
import { resetCluster, type ClusterBaseline, type Kubectl } from './cluster-reset.ts';
import { ContainerLauncher, execOnKindNode } from '../../server/src/terminal/launchers.ts';
import type { TerminalAttempt } from '../../server/src/terminal/attempts.ts';
import { applyLabSetup, waitUntilReady, waitUntilSettled, type KubeProxyNodes } from '../../server/src/provisioner/lab-setup.ts';
import { openMemoryDatabase } from '../../server/src/storage/db.ts';
import { describeDraw, drawForLabs, type ParamValues } from '../../server/src/labs/params.ts';
import { errorMessage } from '../../graders/src/shared/error-message.ts';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Where verification can run: a node image present in the local Docker, or why not. */
export type VerifyTarget = { image: string } | { skip: string };

function dockerHasImage(image: string): boolean {
  const r = spawnSync('docker', ['image', 'inspect', '--format', '{{.Id}}', image], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0;
}

/**
 * The node image to verify on: KUBEDRILL_NODE_IMAGE, else the testbed image built on this machine
 * (scripts/testbed build), else kind's pinned image when Docker already has it.
 */
export async function verifyTarget(env: NodeJS.ProcessEnv = process.env): Promise<VerifyTarget> {
  const docker = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 30_000 });
  if (docker.error || docker.status !== 0) return { skip: 'Docker is not reachable (scripts/setup-host installs and starts it)' };
  const kind = spawnSync('kind', ['version'], { encoding: 'utf8', timeout: 30_000 });
  if (kind.error || kind.status !== 0) return { skip: 'the kind CLI is not installed (scripts/setup-host installs it)' };
  const candidates: string[] = [];
  if (env.KUBEDRILL_NODE_IMAGE) candidates.push(env.KUBEDRILL_NODE_IMAGE);
  // Docker and kind were checked just above; only ask about the testbed's images.
  const testbed = readTestbedStatus({ dockerWorks: () => true, kindWorks: () => true });
  if (testbed.available) candidates.push(testbed.image);
  const { DEFAULT_NODE_IMAGE } = await import('../../server/src/provisioner/kind-config.ts');
  candidates.push(DEFAULT_NODE_IMAGE);
  for (const image of candidates) if (dockerHasImage(image)) return { image };
  return {
    skip: `no kind node image is present in Docker (tried ${candidates.join(', ')}); build the testbed with scripts/testbed build, or set KUBEDRILL_NODE_IMAGE`,
  };
}

export interface LabVerdict {
  labId: string;
  passed: boolean;
  /** Attempt steps with their elapsed seconds, for the printout. */
  steps: string[];
  /** Why the cluster could not be prepared (then no gate ran). */
  failure?: string;
  gates?: GatesReport;
  seconds: number;
  /** Of which the mistake gates (applying, grading and taking off each mistake). */
  mistakeSeconds: number;
  /** Mistakes not gated here, with why. */
  skipped?: string[];
  /**
   * A walkthrough (a Killercoda scenario without verify scripts) has nothing to grade, so no gate
   * runs: its setup ran at Start, and each later step's background as Next step would run it; one
   * line per background. passed means the setup and every background exited 0.
   */
  walkthrough?: string[];
}

/** The labs folder: --labs-dir, else KUBEDRILL_LABS_DIR, else the checkout's labs/. */
export function labsDirOf(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(flag ?? env.KUBEDRILL_LABS_DIR ?? path.join(ROOT, 'labs'));
}

const LEARNER = 'labs-verify';
const STEP_MARKS: Record<string, string> = { done: '✓', failed: '✗', skipped: '–', 'not-run': '·' };

/** How a step's end is printed: ✓ done and ✗ failed with their time, – skipped and · not run. */
export function stepEndLine(e: Pick<AttemptEvent, 'name' | 'state' | 'elapsedMs'>): string {
  return `${STEP_MARKS[e.state ?? ''] ?? '?'} ${e.name} (${e.state === 'done' || e.state === 'failed' ? `${(e.elapsedMs / 1000).toFixed(1)} s` : e.state})`;
}

/** A lab's cluster kept after its gates so the next lab of its shape can use it. */
export interface HeldCluster {
  attemptId: string;
  /** Wall time when the provisioner began applying the first lab's setup. */
  setupStartedAt: number;
}

export interface VerifyOptions {
  keep?: boolean;
  mistakes?: boolean;
  /** Whether the run was interrupted: no further cluster is started for it. */
  interrupted?: () => boolean;
  /** Gate mistakes with node or workstation scripts on a fresh cluster each (default true). */
  freshMistakes?: boolean;
  /**
   * Gate on the real cluster the mistakes the model cluster can gate too (default true). The unit stage
   * gates those on the model cluster (server/src/grading/model-gates.test.ts), so CI's real-cluster stage
   * may leave them out for time; they are then listed as not gated in this run, with that reason.
   */
  modelMistakes?: boolean;
  /** Instead of deleting the cluster after the gates, hand it to this callback (which must finish the attempt). */
  hold?: (h: HeldCluster) => void;
}

/** A shell script without its comment lines (what it says it does not do is not what it does). */
const withoutComments = (script: string) => script.replace(/^\s*#.*$/gm, '');

/**
 * Host scripts that reach past the API (into node containers, or a shell on a node): what they change
 * a reset cannot see, so a lab with one never shares a cluster.
 */
const REACHES_NODES = /\b(?:docker\s+(?:exec|cp)|nsenter|ssh)\b/;

/**
 * Whether a lab can share a cluster with the labs before and after it: no cluster of its own, nothing
 * run on a node, not a Killercoda scenario (its setup runs as root where nodes are a `ssh` away), and
 * host scripts (setup.sh, solution.sh, mistake.sh) that only talk to the API — everything such a lab
 * leaves is then in the API, where the reset between labs finds it (and refuses, so the next lab gets
 * a fresh cluster, when something that was there before was changed). A mistake made by node or
 * workstation scripts gets a cluster of its own, which a shared turn cannot give: such a lab shares
 * only when those mistakes are not gated in this run (freshMistakes false). scriptText reads a
 * script of the lab (relative to its folder).
 */
export function shareable(lab: Lab, opts: { freshMistakes?: boolean; scriptText?: (file: string) => string } = {}): boolean {
  const f = lab.files;
  if (lab.meta.cluster.dedicated || f.setupNodeScripts.length || f.solutionNodeScripts.length || lab.scenarioSetup || lab.scenarioSolution) return false;
  if (opts.freshMistakes !== false && lab.mistakes.some((m) => m.nodeScripts.length || m.workstationScript)) return false;
  const read = opts.scriptText ?? ((file: string) => readFileSync(path.join(lab.dir, file), 'utf8'));
  const hostScripts = [f.setupScript, f.solutionScript, ...lab.mistakes.map((m) => m.script)].filter((x): x is string => x !== undefined);
  return hostScripts.every((file) => !REACHES_NODES.test(withoutComments(read(file))));
}

/** Check kinds whose answer a real cluster can change a moment after the API accepted a change (the dataplane, DNS). */
const PROGRAMMED_KINDS: ReadonlySet<string> = new Set(['probe', 'dns']);

/**
 * What in a check script reads something a real cluster programs or samples after the API accepted
 * a change: connections and names (curl, wget, nc, /dev/tcp, nslookup, dig), an API server's or a
 * kubelet's health, metrics, a container runtime's or etcd's view of a restarting component.
 */
const READS_PROGRAMMED = /\b(?:curl|wget|nc|nslookup|dig|getent|etcdctl|crictl|readyz|healthz|livez)\b|\/dev\/(?:tcp|udp)\/|kubectl\s+top\b/;

/**
 * Whether labs:verify grades this lab's states until two grades agree: labs that open connections
 * or resolve names (NetworkPolicy, Services, Ingress and Gateway routes are programmed after the API
 * accepted them) through a check kind or a check script, that run on a NetworkPolicy cluster, or
 * that read metrics an add-on samples. Other labs are graded once after their state has settled
 * (and again only while a check could not be answered). scriptText reads a file of the lab.
 */
export function gradesNeedConfirming(lab: Lab, scriptText: (file: string) => string = (f) => readFileSync(path.join(lab.dir, f), 'utf8')): boolean {
  const c = lab.meta.cluster;
  if (c.networkPolicy || c.addons.some((a) => a === 'metrics-server' || a === 'gateway-api')) return true;
  const checks = lab.meta.tasks.flatMap((t) => t.checks);
  if (checks.some((k) => PROGRAMMED_KINDS.has(k.kind))) return true;
  // Inline programs of script, node and workstation checks, and every script file they may run.
  const inline = checks.map((k) => ('run' in k && typeof k.run === 'string' ? k.run : '')).join('\n');
  const checkFiles = filesBelow(path.join(lab.dir, 'checks')).map((f) => scriptText(path.join('checks', f)));
  return [inline, ...checkFiles].some((text) => READS_PROGRAMMED.test(withoutComments(text)));
}

/**
 * Add-ons whose controller keeps serving what a lab made after the reset deleted it: Traefik went on
 * routing `/` by a deleted namespace's HTTPRoute (HTTP 500) into the next Gateway API lab on the
 * cluster. Two labs that use one of these never share a cluster; each starts a group of its own.
 */
export const ADDONS_KEPT_APART: ReadonlySet<string> = new Set(['gateway-api']);

/** Lab ids in runs that share one cluster: shareable labs grouped by cluster shape (first appearance order), the rest alone; labs using an add-on kept apart never share with each other. */
export function shareGroups(labs: readonly Lab[], opts: Parameters<typeof shareable>[1] = {}): string[][] {
  const groups = new Map<string, { ids: string[]; apart: boolean }>();
  const out: string[][] = [];
  for (const lab of labs) {
    if (!shareable(lab, opts)) {
      out.push([lab.id]);
      continue;
    }
    const key = JSON.stringify(lab.meta.cluster);
    const apart = lab.meta.cluster.addons.some((a) => ADDONS_KEPT_APART.has(a));
    let g = groups.get(key);
    if (!g || (apart && g.apart)) {
      g = { ids: [], apart: false };
      groups.set(key, g);
      out.push(g.ids);
    }
    g.ids.push(lab.id);
    g.apart ||= apart;
  }
  return out;
}

/**
 * Lanes that verify at the same time, each on its own cluster: 2 where the host has at least two
 * cores and 12 GiB (two kind clusters of three nodes fit, and most of a gate is waiting), else 1;
 * KUBEDRILL_VERIFY_LANES overrides.
 */
export function defaultLanes(env: NodeJS.ProcessEnv = process.env): number {
  const set = Number(env.KUBEDRILL_VERIFY_LANES);
  if (Number.isInteger(set) && set >= 1) return set;
  return os.availableParallelism() >= 2 && os.totalmem() >= 12 * 2 ** 30 ? 2 : 1;
}

/**
 * How many clusters one verifier runs at once for a lab whose mistakes need clusters of their own:
 * 2 where defaultLanes would give 2 (the host has the cores and memory), else 1;
 * KUBEDRILL_VERIFY_CLUSTERS_PER_LANE overrides.
 */
export function clustersPerLane(env: NodeJS.ProcessEnv = process.env): number {
  const set = Number(env.KUBEDRILL_VERIFY_CLUSTERS_PER_LANE);
  if (Number.isInteger(set) && set >= 1) return set;
  return defaultLanes({}) >= 2 ? 2 : 1;
}

/** Runs tasks at most limit at a time, in order, and resolves with their results in the tasks' order. */
export async function inParallel<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  return out;
}

/**
 * A rough cost of verifying a share group, in seconds: a cluster (more nodes, more time), then each
 * lab's setup (a node broken on purpose shows only after ~50 s), grades and mistakes; mistakes that
 * need a cluster of their own count only when this run gates them.
 */
export function groupCost(group: readonly Lab[], opts: { freshMistakes?: boolean } = {}): number {
  const shape = group[0]?.meta.cluster;
  const cluster = 60 + 20 * (shape?.workers ?? 1) + 45 * ((shape?.controlPlanes ?? 1) - 1);
  const fresh = (lab: Lab) => lab.mistakes.filter((m) => m.nodeScripts?.length || m.workstationScript).length;
  return (
    cluster +
    group.reduce(
      (sum, lab) =>
        sum +
        30 +
        (lab.files?.setupNodeScripts?.length ? 60 : 0) +
        20 * (lab.mistakes.length - fresh(lab)) +
        (opts.freshMistakes === false ? 0 : 45 * fresh(lab)),
      0,
    )
  );
}

/**
 * Runs share groups on lanes that take the next group whenever they finish one, most expensive first:
 * an estimate that is off (a slow host, a lab that waits longer than its mistakes suggest) then
 * costs at most the last group's time, where a split made up front could leave one lane idle for
 * many minutes while the other works through its list. Resolves when every lane is done.
 */
export async function drainLanes<G>(groups: readonly G[], lanes: number, work: (group: G, lane: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(lanes, groups.length)) }, async (_, lane) => {
      while (next < groups.length) await work(groups[next++]!, lane);
    }),
  );
}

/** Share groups in the order drainLanes should take them: most expensive first (stable for equal costs). */
export function costliestFirst(groups: readonly (readonly Lab[])[], opts: { freshMistakes?: boolean } = {}): Lab[][] {
  return groups
    .map((g, i) => ({ g: [...g], i, cost: groupCost(g, opts) }))
    .sort((a, b) => b.cost - a.cost || a.i - b.i)
    .map((x) => x.g);
}

/**
 * Resolves once Docker has kind's network: the first cluster creates it, and lanes after the first
 * start then, so two kind runs never race to create it on a fresh host.
 */
export async function kindNetworkExists(timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (spawnSync('docker', ['network', 'inspect', 'kind'], { stdio: 'ignore' }).status !== 0) {
    if (Date.now() > end) throw new Error(`Docker has no "kind" network ${Math.round(timeoutMs / 1000)} s after the first lane began`);
    await sleep(1000);
  }
}

/** The cluster name prefix of lane i (0-based): lane 0 keeps the prefix; others append their number (kdverify2-…, never kdverify-…, which lane 0's reaper would claim). */
export function lanePrefix(prefix: string, lane: number): string {
  return lane === 0 ? prefix : `${prefix}${lane + 1}`;
}

/** The cluster's namespaces made before the first lab's setup began (kube-system, add-ons' own), from their creation times. */
async function baselineBefore(kubectl: Kubectl, setupStartedAt: number): Promise<ClusterBaseline> {
  const list = JSON.parse(await kubectl(['get', 'namespaces', '-o', 'json'])) as { items: { metadata: { name: string; creationTimestamp: string } }[] };
  // creationTimestamp has whole seconds: a namespace made in the second setup began counts as the lab's.
  const cutoff = Math.floor(setupStartedAt / 1000) * 1000;
  return { namespaces: new Set(list.items.filter((n) => Date.parse(n.metadata.creationTimestamp) < cutoff).map((n) => n.metadata.name)), cutoff };
}

/** A verifier: one attempt service on a throw-away data folder, clusters made one at a time. */
export class LabVerifier {
  readonly labs: LabCatalog;
  readonly #dataDir: string;
  readonly #image: string;
  readonly #runner;
  readonly #service;
  readonly #workstations: ContainerLauncher;
  /** The kind driver's image loading, for labs set up on a shared cluster. */
  readonly #driver: KindDriver;
  readonly #log: (line: string) => void;
  /** Clusters at once for a lab with fresh-cluster mistakes (clustersPerLane). */
  readonly #clustersAtOnce = clustersPerLane();
  /** Each lab as this run drew it (parametrised labs), for gating and for resetting after it. */
  readonly #drawn = new Map<string, Lab>();

  private constructor(image: string, labs: LabCatalog, labsDir: string, dataDir: string, log: (line: string) => void, namePrefix: string) {
    this.#image = image;
    this.labs = labs;
    this.#dataDir = dataDir;
    this.#log = log;
    const { config, hostEnv } = loadConfig({
      argv: ['--data-dir', dataDir, '--labs-dir', labsDir],
      env: {
        ...minimalEnv(process.env),
        KUBEDRILL_CLUSTERS_NODE_IMAGE: image,
        KUBEDRILL_CLUSTERS_POOL_SIZE: '0',
        KUBEDRILL_CLUSTERS_MAX_CONCURRENT: String(clustersPerLane()),
        KUBEDRILL_CLUSTERS_NAME_PREFIX: namePrefix,
        ...(process.env.KUBEDRILL_TERMINAL_WORKSTATION_IMAGE ? { KUBEDRILL_TERMINAL_WORKSTATION_IMAGE: process.env.KUBEDRILL_TERMINAL_WORKSTATION_IMAGE } : {}),
      },
      cwd: ROOT,
    });
    this.#runner = createCommandRunner(hostEnv);
    // Workstation checks and solution/workstation.sh need the learner's container, made as for a learner.
    this.#workstations = new ContainerLauncher({
      runner: this.#runner,
      hostEnv,
      image: config.terminal.workstationImage,
      network: config.terminal.network,
      namePrefix: config.clusters.namePrefix,
    });
    this.#driver = new KindDriver({
      runner: this.#runner,
      clustersDir: path.join(dataDir, 'clusters'),
      namePrefix: config.clusters.namePrefix,
      nodeImage: image,
      createTimeoutMs: config.clusters.createTimeoutMinutes * 60_000,
    });
    this.#service = createAttemptService(config, {
      db: openMemoryDatabase(),
      runner: this.#runner,
      labs,
      portFor: (kubeconfig) => createKubePort(kubeconfig),
      log: { info: () => {}, warn: (f, m) => log(`  warn: ${logLine(f, m)}`), error: (f, m) => log(`  error: ${logLine(f, m)}`) },
      // A Killercoda scenario's setup runs as root in the learner's workstation, made as for a learner.
      workstationFor: (attemptId) => ({ exec: (argv, o) => this.#workstations.execInWorkstation(this.#wsAttempt(attemptId), argv, o) }),
    });
  }

  /** The workstation's view of an attempt (its cluster and Kubernetes version). */
  #wsAttempt(attemptId: string): TerminalAttempt {
    const a = this.#service.get(attemptId);
    return {
      id: attemptId,
      learnerId: a?.learnerId ?? LEARNER,
      clusterName: a?.clusterName ?? '',
      status: 'running',
      kubernetesVersion: this.labs.get(a?.labId ?? '')?.meta.kubernetes ?? '1.35',
    };
  }

  /** Loads the labs (refusing broken ones) before it makes its temporary data folder, so a refusal leaves nothing behind. */
  static async create(
    image: string,
    opts: { labsDir?: string; scenariosDirs?: readonly string[]; log?: (line: string) => void; namePrefix?: string } = {},
  ): Promise<LabVerifier> {
    const labsDir = opts.labsDir ?? labsDirOf(undefined);
    const scenariosDirs = (opts.scenariosDirs ?? []).map((d) => path.resolve(d));
    const labs = new LabCatalog(labsDir, undefined, scenariosDirs);
    try {
      const catalog = await labs.reload();
      // A refused scenario is the scenario's limit (labs:check --scenarios-dir says why), not a broken lab.
      const inScenarios = (dir: string) => scenariosDirs.some((s) => dir === s || dir.startsWith(s + path.sep));
      const refused = catalog.broken.filter((b) => inScenarios(b.dir));
      if (refused.length)
        (opts.log ?? console.log)(
          `labs:verify: ${refused.length} scenario(s) cannot run (npm run labs:check -- --scenarios-dir … says why): ${refused.map((b) => b.id).join(', ')}`,
        );
      const broken = catalog.broken.filter((b) => !inScenarios(b.dir));
      if (broken.length) throw new Error(`broken labs (run npm run labs:check): ${broken.map((b) => b.id).join(', ')}`);
      if (catalog.labs.length === 0)
        throw new Error(`no labs in ${labsDir}${catalog.problems.length ? `: ${catalog.problems.map((p) => p.message).join('; ')}` : ''}`);
    } catch (e) {
      labs.compiler.close();
      throw e;
    }
    const namePrefix = opts.namePrefix ?? process.env.KUBEDRILL_CLUSTERS_NAME_PREFIX ?? 'kdverify';
    return new LabVerifier(image, labs, labsDir, mkdtempSync(path.join(os.tmpdir(), 'kubedrill-verify-')), opts.log ?? console.log, namePrefix);
  }

  get image(): string {
    return this.#image;
  }

  /**
   * Runs the honesty and mistake gates of one lab on a fresh cluster; the cluster is deleted afterwards
   * unless keep (or hold, which hands it on). Mistakes whose node or workstation scripts cannot be
   * taken off again then get a fresh cluster each (unless freshMistakes is false).
   */
  async verify(labId: string, opts: VerifyOptions = {}): Promise<LabVerdict> {
    const lab = this.labs.get(labId);
    const alone = lab?.mistakes.filter((m) => m.nodeScripts.length || m.workstationScript) ?? [];
    if (!lab || opts.mistakes === false || opts.freshMistakes === false || opts.keep || opts.hold || !alone.length) return this.#verifyOnce(labId, opts);
    // The lab's own cluster and each fresh mistake's cluster are independent, and much of their time
    // is waiting (a node that must show NotReady, a mistake that must settle): they run side by side,
    // this.#clustersAtOnce at a time, in the order main run first.
    const t0 = performance.now();
    for (const m of alone) this.#log(`  ▷ mistake ${m.name} on a cluster of its own (its ${mistakeScripts(m).join(', ')} cannot be taken off)`);
    const [main, ...results] = (await inParallel<LabVerdict | GateResult>(
      // Once interrupted (Ctrl-C, SIGTERM), a mistake whose cluster has not been started yet is not started.
      [
        () => this.#verifyOnce(labId, opts),
        ...alone.map((m) => () => (opts.interrupted?.() ? Promise.resolve(notStarted(lab, m)) : this.#freshMistake(lab, m))),
      ],
      this.#clustersAtOnce,
    )) as [LabVerdict, ...GateResult[]];
    const v = main;
    if (!v.gates) return v;
    const gates = [
      ...v.gates.gates.filter((g) => g.name !== 'solution-earns-all' && g.name !== 'grading-is-stable'),
      ...results,
      ...v.gates.gates.filter((g) => g.name === 'solution-earns-all' || g.name === 'grading-is-stable'),
    ];
    const passed = v.passed && results.every((r) => r.passed);
    const extra = results.reduce((sum, r) => sum + r.durationMs / 1000, 0);
    const { skipped: _skipped, ...rest } = v;
    return { ...rest, passed, gates: { ...v.gates, passed, gates }, seconds: (performance.now() - t0) / 1000, mistakeSeconds: v.mistakeSeconds + extra };
  }

  /** A mistake on a fresh cluster: the lab set up as for a learner, the mistake applied and graded once it settles, the cluster deleted. */
  async #freshMistake(catalogLab: Lab, mistake: Lab['mistakes'][number]): Promise<GateResult> {
    const t0 = performance.now();
    const failed = (problem: string): GateResult => ({
      name: 'mistake-is-capped',
      passed: false,
      problems: [problem],
      report: EMPTY_REPORT(catalogLab),
      mistake,
      ceilingPercent: 0,
      durationMs: performance.now() - t0,
    });
    // A learner of its own: start() hands a learner's running attempt of the same lab back, and this
    // mistake's cluster runs beside the lab's own (finishing it would end the lab's attempt).
    const { attempt } = this.#service.start(`${LEARNER}-mistake-${mistake.name}`, catalogLab.id);
    // This attempt's own draw (a parametrised lab): the mistake is applied and graded with it.
    const lab = this.#draw(catalogLab.id, attempt.params);
    try {
      const end = await this.#settled(attempt.id, () => {});
      if (end.name !== 'ready') {
        const a = this.#service.get(attempt.id);
        return failed(
          `mistake ${mistake.name}: its cluster could not be prepared: ${a?.failureStep ? `step "${a.failureStep}": ` : ''}${a?.failureMessage ?? end.name}`,
        );
      }
      const g = await this.#service.beginGrading(attempt.id, attempt.learnerId);
      try {
        const { port, scripts, nodes, workstation, reach } = await this.#access(lab, attempt.id, g.kubeconfigPath);
        const { run } = await enteredMistake(lab, mistake, port, scripts, reach);
        const gradable = gradableLab(lab);
        const gradeOn = (p: ClusterPort, s: ScriptRunner | undefined) => gradeLab(gradable, { port: p, ...(s ? { scripts: s } : {}), nodes, workstation });
        const r = await mistakeGate(
          run,
          EMPTY_REPORT(lab),
          gradeOn,
          { port, scripts },
          { maxGrades: 4, cleanTimeoutMs: 0, confirm: gradesNeedConfirming(lab) },
          () => 0,
        );
        return { ...r, durationMs: performance.now() - t0 };
      } finally {
        this.#service.endGrading(attempt.id);
      }
    } catch (e) {
      return failed(`mistake ${mistake.name} could not be gated on a fresh cluster: ${errorMessage(e)}`);
    } finally {
      await this.#finish(attempt.id);
    }
  }

  /** How the gates reach an attempt's cluster: the API, scripts, its nodes and its workstation; readiness includes kube-proxy's rules on its nodes, so no gate probes an unprogrammed ClusterIP. */
  async #access(
    lab: Lab,
    attemptId: string,
    kubeconfigPath: string,
  ): Promise<{ clusterName: string; port: ClusterPort; scripts: ScriptRunner; nodes: NodeAccess; workstation: WorkstationAccess; reach: StateReach }> {
    const clusterName = this.#service.get(attemptId)?.clusterName ?? '';
    const wsAttempt: TerminalAttempt = {
      id: attemptId,
      learnerId: this.#service.get(attemptId)?.learnerId ?? LEARNER,
      clusterName,
      status: 'running',
      kubernetesVersion: lab.meta.kubernetes,
    };
    const nodes: NodeAccess = { exec: (node, argv, o) => execOnKindNode(this.#runner, clusterName, node, argv, o) };
    const workstation: WorkstationAccess = { exec: (argv, o) => this.#workstations.execInWorkstation(wsAttempt, argv, o) };
    const reach: StateReach = { kubeProxy: { runner: this.#runner, nodes: await this.#nodes(attemptId) }, nodes, workstation };
    return {
      clusterName,
      port: createKubePort(kubeconfigPath),
      scripts: createKubeconfigScriptRunner(this.#runner, kubeconfigPath),
      nodes,
      workstation,
      reach,
    };
  }

  /** kubectl inside the cluster's control-plane node, as admin: the host needs none. */
  #kubectl(clusterName: string): Kubectl {
    return async (args, o) =>
      (
        await this.#runner.run({
          argv: ['docker', 'exec', `${clusterName}-control-plane`, 'kubectl', '--kubeconfig=/etc/kubernetes/admin.conf', ...args],
          timeoutMs: o?.timeoutMs ?? 60_000,
        })
      ).stdout;
  }

  /** Resolves with the attempt's first settled status event (ready, failed, expired, finished), reporting each finished step. */
  #settled(attemptId: string, onStep: (e: AttemptEvent) => void): Promise<AttemptEvent> {
    return new Promise<AttemptEvent>((resolve) => {
      const sub = this.#service.subscribe(attemptId, 0, (e) => {
        onStep(e);
        if (e.type === 'status' && ['ready', 'failed', 'expired', 'finished'].includes(e.name)) {
          sub.unsubscribe();
          resolve(e);
        }
      });
      const last = sub.replay.findLast((e) => e.type === 'status');
      if (last && ['ready', 'failed', 'expired', 'finished'].includes(last.name)) {
        sub.unsubscribe();
        resolve(last);
      }
    });
  }

  async #verifyOnce(labId: string, opts: VerifyOptions): Promise<LabVerdict> {
    const lab = this.labs.get(labId);
    if (!lab) throw new Error(`no lab "${labId}"; ids: ${this.labs.current.labs.map((l) => l.id).join(', ')}`);
    const started = performance.now();
    const steps: string[] = [];
    const { attempt } = this.#service.start(LEARNER, labId);
    const drawn = this.#draw(labId, attempt.params);
    let setupStartedAt: number | undefined;
    // The attempt's plan (its first event) names the steps of the lab's setup: namespaces made before
    // the first of them belong to the cluster, not the lab.
    let setupSteps = new Set<string>();
    const end = await this.#settled(attempt.id, (e) => {
      if (e.type === 'plan' && e.plan) {
        setupSteps = new Set(e.plan.filter((p) => p.phase === SETUP_PHASE).map((p) => p.name));
        const skipped = e.plan.filter((p) => p.state === 'skipped').map((p) => p.name);
        this.#log(`  plan: ${e.plan.length} steps${skipped.length ? ` (done by the warm cluster: ${skipped.join(', ')})` : ''}`);
      }
      if (e.type === 'step' && e.state === 'running' && setupSteps.has(e.name)) setupStartedAt ??= Date.now();
      if (e.type === 'step' && e.state && e.state !== 'running') {
        const line = stepEndLine(e);
        steps.push(line);
        this.#log(`  ${line}`);
      }
    });
    const readyAt = Date.now();
    const seconds = () => (performance.now() - started) / 1000;
    let handedOn = false;
    try {
      if (end.name !== 'ready') {
        const a = this.#service.get(attempt.id);
        const failure = `${a?.failureStep ? `step "${a.failureStep}": ` : ''}${a?.failureMessage ?? end.name}${a?.failureOutput ? `\n${a.failureOutput}` : ''}`;
        return { labId, passed: false, steps, failure, seconds: seconds(), mistakeSeconds: 0 };
      }
      if (drawn.walkthrough) {
        const walked = await this.#walkThrough(drawn, attempt.id);
        return { labId, passed: walked.passed, steps, walkthrough: walked.lines, seconds: seconds(), mistakeSeconds: 0 };
      }
      const gated = await this.#gate(drawn, attempt.id, opts, setupStartedAt ?? readyAt);
      if (opts.hold) {
        opts.hold({ attemptId: attempt.id, setupStartedAt: setupStartedAt ?? readyAt });
        handedOn = true;
      }
      return { labId, passed: gated.gates.passed, steps, ...gated, seconds: seconds() };
    } catch (e) {
      return { labId, passed: false, steps, failure: errorMessage(e), seconds: seconds(), mistakeSeconds: 0 };
    } finally {
      if (handedOn) {
        // The caller resets the cluster and finishes the attempt.
      } else if (opts.keep) {
        const a = this.#service.get(attempt.id);
        this.#log(
          `  kept cluster ${a?.clusterName ?? '?'} (kubeconfig under ${this.#dataDir}/clusters; grade it again after changing it: npm run labs:grade -- ${labId} --cluster ${a?.clusterName ?? '…'}${
            a?.params?.[labId]
              ? Object.entries(a.params[labId])
                  .map(([k, v]) => ` --param ${k}=${v}`)
                  .join('')
              : ''
          }; delete it with kind delete cluster --name ${a?.clusterName ?? '…'})`,
        );
      } else {
        await this.#finish(attempt.id);
      }
    }
  }

  /** The lab as this run sets it up: a parametrised lab with one random draw per run (the attempt's), printed so a failure can be replayed. */
  #draw(labId: string, params: Readonly<Record<string, ParamValues>> | null): Lab {
    const lab = this.labs.forAttempt(labId, params ?? drawForLabs([this.labs.get(labId)]))!;
    if (lab.draw) this.#log(`  params: ${describeDraw(lab.draw)}`);
    this.#drawn.set(labId, lab);
    return lab;
  }

  /**
   * Ends a verified attempt. Its cluster is deleted in the background while the next lab's is made
   * (the attempt service counts it against clusters.maxConcurrent until it is gone); close() waits.
   */
  async #finish(attemptId: string): Promise<void> {
    await this.#workstations.release(attemptId).catch(() => {});
    this.#service.finish(attemptId, 'verified');
  }

  /**
   * A walkthrough on its cluster (its Start setup already ran): moves through the steps as a learner
   * pressing Next step would, running each step's background as root in the workstation when its
   * step is reached. Nothing is graded; what can be proven is that every background runs cleanly.
   */
  async #walkThrough(lab: Lab, attemptId: string): Promise<{ passed: boolean; lines: string[] }> {
    const g = await this.#service.beginGrading(attemptId, this.#service.get(attemptId)?.learnerId ?? LEARNER);
    try {
      const { workstation } = await this.#access(lab, attemptId, g.kubeconfigPath);
      const steps = lab.walkthrough?.steps ?? [];
      const lines = [`- walkthrough, not graded (no verify script): the setup ran at Start (${lab.scenarioSetup?.from.join(', ') || 'nothing to run'})`];
      let passed = true;
      const left = new Set<string>();
      const done = new Set<number>();
      for (const step of steps.slice(0, -1)) {
        left.add(`step-${step.step}`);
        for (const due of dueStepSetups(lab.scenarioSetup, left, done)) {
          done.add(due.step);
          const t0 = performance.now();
          const r = await workstation
            .exec(['bash', '-s'], { user: 'root', stdin: due.script, timeoutMs: 300_000 })
            .catch((e: unknown) => ({ exitCode: -1, stdout: '', stderr: errorMessage(e) }));
          const ok = r.exitCode === 0;
          passed &&= ok;
          const took = ((performance.now() - t0) / 1000).toFixed(1);
          lines.push(
            `${ok ? '✓' : '✗'} Next step → step ${due.step} (${due.title}): ${due.from} ${ok ? `ran (${took} s)` : `exited ${r.exitCode}:\n${`${r.stdout}${r.stderr}`.trim().slice(-2000)}`}`,
          );
          this.#log(`  ${lines.at(-1)!.split('\n')[0]}`);
        }
      }
      if (done.size === 0) lines.push('- no later step has a background of its own');
      return { passed, lines };
    } finally {
      this.#service.endGrading(attemptId);
    }
  }

  /** The honesty and mistake gates of a lab whose setup is in place on the attempt's cluster. */
  async #gate(
    lab: Lab,
    attemptId: string,
    opts: VerifyOptions,
    setupStartedAt: number,
  ): Promise<Pick<LabVerdict, 'gates' | 'mistakeSeconds' | 'skipped'> & { gates: GatesReport }> {
    const g = await this.#service.beginGrading(attemptId, this.#service.get(attemptId)?.learnerId ?? LEARNER);
    try {
      const { clusterName, port, scripts, nodes, workstation, reach } = await this.#access(lab, attemptId, g.kubeconfigPath);
      const nodeNames = reach.kubeProxy.nodes;
      const states = await labStates(lab);
      const kubectl = this.#kubectl(clusterName);
      // A scripted mistake may change anything the API holds (a patched field another manager owns, a
      // removed taint): in a lab set up by a script it is taken off by resetting what the lab made and
      // running the whole setup again.
      // Nodes as setup left them: a script may label, taint or cordon one, and setup's manifests
      // must meet the nodes as they were (a pod made before the taint would otherwise schedule).
      const nodesAfterSetup = opts.mistakes === false ? [] : nodeMetadata(JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as { items: KubeObject[] });
      const setupAgain = async (mistakeObjs: readonly KubeObject[]) => {
        const base = await baselineBefore(kubectl, setupStartedAt);
        await resetCluster(kubectl, base, [...states.setup, ...mistakeObjs]);
        for (const n of nodesAfterSetup) await kubectl(['patch', 'node', n.name, '--type=json', '-p', JSON.stringify(n.patch)]);
        await applyLabSetup(
          { dir: lab.dir, setupManifests: lab.files.setupManifests, setupScript: lab.files.setupScript },
          { kubeconfigPath: g.kubeconfigPath, nodes: nodeNames },
          { port, runner: this.#runner },
          () => {},
          { timeoutMs: 300_000 },
        );
      };
      const gatedHere = (m: LabMistake) => opts.modelMistakes !== false || modelMistakeSkipReason(lab, m) !== undefined;
      const mistakes = opts.mistakes === false ? [] : await mistakeRuns(lab, states.setup, port, scripts, reach, setupAgain, gatedHere);
      const gates = await runHonestyGates({
        lab: gradableLab(lab),
        port,
        scripts,
        nodes,
        workstation,
        // The provisioner (or the shared-cluster path, with the same function) already applied the setup and waited for it, as for a learner.
        setup: async () => {},
        mistakes,
        settle: { maxGrades: 4, cleanTimeoutMs: 60_000, confirm: gradesNeedConfirming(lab) },
        ...solutionOf(
          lab,
          () =>
            applyState(
              lab,
              port,
              scripts,
              {
                objects: states.solution,
                script: lab.files.solutionScript,
                nodeScripts: lab.files.solutionNodeScripts,
                workstationScript: lab.files.solutionWorkstationScript,
              },
              'the reference solution',
              reach,
            ),
          workstation,
        ),
      });
      const mistakeSeconds = gates.gates.filter((x) => x.name === 'mistake-is-capped').reduce((sum, x) => sum + x.durationMs / 1000, 0);
      return { gates, mistakeSeconds, ...(opts.mistakes === false ? {} : { skipped: skippedMistakes(lab, opts) }) };
    } finally {
      this.#service.endGrading(attemptId);
    }
  }

  /**
   * Verifies labs in order. With share, labs of one cluster shape that need no cluster of their own
   * and run no scripts (so everything they leave is in the API and a reset removes it) take turns on
   * one cluster: the first goes through the product's provisioner as a learner's would; each next
   * one gets the cluster reset to what it was before the first lab's setup, its images and its setup
   * applied by the same functions the provisioner uses, then the same gates.
   */
  async verifyAll(ids: readonly string[], opts: VerifyOptions & { share?: boolean; onVerdict?: (v: LabVerdict) => void } = {}): Promise<LabVerdict[]> {
    const verdicts: LabVerdict[] = [];
    const report = (v: LabVerdict) => (verdicts.push(v), opts.onVerdict?.(v));
    const groups =
      opts.share && !opts.keep
        ? shareGroups(
            ids.map((id) => this.labs.get(id)!),
            opts.freshMistakes === false ? { freshMistakes: false } : {},
          )
        : ids.map((id) => [id]);
    for (const group of groups) {
      let held: HeldCluster | undefined;
      let previous: Lab | undefined;
      for (const id of group) {
        if (opts.interrupted?.()) break;
        this.#log(`\n▶ ${id}${held ? " (on the previous lab's cluster, reset)" : ''}`);
        const lab = this.labs.get(id)!;
        if (!held) {
          const v = await this.verify(id, { ...opts, ...(group.length > 1 ? { hold: (h: HeldCluster) => (held = h) } : {}) });
          report(v);
          previous = this.#drawn.get(id) ?? lab;
          continue;
        }
        const v = await this.#verifyOnHeld(this.#draw(id, null), held, previous!, opts);
        previous = this.#drawn.get(id) ?? lab;
        if (v.failure && /^resetting the cluster/.test(v.failure)) {
          // A cluster that cannot be reset is no verdict on the lab: give it a fresh one (and keep that for the rest).
          this.#log(`  ${v.failure.split('\n')[0]} — using a fresh cluster`);
          await this.#finish(held.attemptId);
          held = undefined;
          report(await this.verify(id, { ...opts, hold: (h: HeldCluster) => (held = h) }));
          continue;
        }
        report(v);
      }
      if (held) await this.#finish(held.attemptId);
    }
    return verdicts;
  }

  /** A lab on a cluster another lab of the same shape used: reset, images, setup (as the provisioner does it), gates. */
  async #verifyOnHeld(lab: Lab, held: HeldCluster, previous: Lab, opts: VerifyOptions): Promise<LabVerdict> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const steps: string[] = [];
    const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      const r = await run();
      const line = `✓ ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)`;
      steps.push(line);
      this.#log(`  ${line}`);
      return r;
    };
    const a = this.#service.get(held.attemptId);
    const clusterName = a?.clusterName ?? '';
    const kubeconfigPath = path.join(this.#dataDir, 'clusters', clusterName, 'kubeconfig');
    const nodes = await this.#nodes(held.attemptId);
    const kubectl = this.#kubectl(clusterName);
    try {
      await timed('Resetting the cluster to before the first lab', async () => {
        try {
          const base = await baselineBefore(kubectl, held.setupStartedAt);
          const left = await labStates(previous);
          const prevObjects = [...left.setup, ...left.solution, ...(await Promise.all(previous.mistakes.map((m) => mistakeObjects(previous, m)))).flat()];
          // The next lab gets a workstation of its own (files the last one's solution wrote are gone), and a
          // cluster whose state before the first lab nobody changed: the reset refuses otherwise.
          await this.#workstations.release(held.attemptId);
          return await resetCluster(kubectl, base, prevObjects, { betweenLabs: true });
        } catch (e) {
          throw new Error(`resetting the cluster failed: ${errorMessage(e)}`, { cause: e });
        }
      });
      const setupAt = Date.now();
      if (lab.meta.images.length) await timed('Loading lab images', () => this.#driver.preloadImages(clusterName, lab.meta.images));
      const port = createKubePort(kubeconfigPath);
      await timed('Applying setup and waiting until it is ready', () =>
        applyLabSetup(
          { dir: lab.dir, setupManifests: lab.files.setupManifests, setupScript: lab.files.setupScript },
          { kubeconfigPath, nodes },
          { port, runner: this.#runner },
          () => {},
          { timeoutMs: 300_000 },
        ),
      );
      const gated = await this.#gate(lab, held.attemptId, opts, setupAt);
      return { labId: lab.id, passed: gated.gates.passed, steps, ...gated, seconds: seconds() };
    } catch (e) {
      const msg = errorMessage(e);
      return { labId: lab.id, passed: false, steps, failure: msg, seconds: seconds(), mistakeSeconds: 0 };
    }
  }

  /** The node containers of an attempt's cluster. */
  async #nodes(attemptId: string): Promise<string[]> {
    const name = this.#service.get(attemptId)?.clusterName;
    return name ? kindNodeNames(this.#runner, name) : [];
  }

  async close(opts: { keepData?: boolean } = {}): Promise<void> {
    await this.#service.idle();
    await this.#service.close();
    this.labs.compiler.close();
    if (!opts.keepData) rmSync(this.#dataDir, { recursive: true, force: true });
  }
}

/** Where a state's scripts reach: kube-proxy's rules (readiness), the nodes and the workstation. */
export interface StateReach {
  kubeProxy: KubeProxyNodes;
  nodes: NodeAccess;
  workstation: WorkstationAccess;
}

/** A state to bring after setup: manifests, then the host script, node scripts and workstation script. */
interface LabState {
  objects: readonly KubeObject[];
  script: string | undefined;
  nodeScripts?: readonly { role: string; file: string }[];
  workstationScript?: string | undefined;
}

/**
 * Applies a state after setup, as a learner would: manifests with the setup's field manager (so
 * fields it changes are replaced, not merged), then its scripts, then waits until what it made runs
 * and kube-proxy serves the Services it made.
 */
async function applyState(
  lab: Lab,
  port: ClusterPort,
  scripts: ScriptRunner,
  state: LabState,
  what: string,
  reach: StateReach,
  opts: { settle?: boolean } = {},
): Promise<void> {
  if (state.objects.length) await port.apply(state.objects, { fieldManager: 'kubedrill-setup', timeoutMs: 120_000 });
  if (state.script) {
    const text = await readFile(path.join(lab.dir, state.script), 'utf8');
    const r = await scripts.run(text, { cwd: lab.dir, timeoutMs: 300_000 });
    if (r.exitCode !== 0) throw new Error(`${state.script} exited ${r.exitCode}:\n${r.output}`);
  }
  if (state.nodeScripts?.length) {
    const nodeList = await port.list({ apiVersion: 'v1', kind: 'Node' });
    for (const ns of state.nodeScripts) {
      const node = nodeForRole(nodeList, ns.role);
      if (!node) throw new Error(`${ns.file}: the cluster has no ${ns.role} node`);
      const text = await readFile(path.join(lab.dir, ns.file), 'utf8');
      const r = await reach.nodes.exec(node.metadata.name, ['bash', '-c', text, ns.file], { timeoutMs: 300_000 });
      if (r.exitCode !== 0) throw new Error(`${ns.file} exited ${r.exitCode} on ${node.metadata.name}:\n${r.stdout}${r.stderr}`);
    }
  }
  if (state.workstationScript) {
    const text = await readFile(path.join(lab.dir, state.workstationScript), 'utf8');
    const r = await reach.workstation.exec(['bash', '-lc', text, 'workstation.sh'], { timeoutMs: 300_000 });
    if (r.exitCode !== 0) throw new Error(`${state.workstationScript} exited ${r.exitCode} in the workstation:\n${r.stdout}${r.stderr}`);
  }
  // Grade what it made once it runs, as a learner would check after a rollout. A wrong answer may
  // never become ready (that can be the mistake): it is graded once it has settled.
  if (opts.settle) {
    const settled = await waitUntilSettled(port, state.objects, Date.now() + 300_000, { quietMs: 15_000, kubeProxy: reach.kubeProxy });
    if (settled.problems.length) throw new Error(`${what} did not settle in 300 s: ${settled.problems.slice(0, 3).join('; ')}`);
    return;
  }
  const waiting = await waitUntilReady(port, state.objects, Date.now() + 300_000, { kubeProxy: reach.kubeProxy });
  if (waiting.length) throw new Error(`${what} was not ready after 300 s: ${waiting.slice(0, 3).join('; ')}`);
}

const objectKey = (o: KubeObject) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/**
 * A mistake made on a cluster, as a learner would: its manifests (read once, returned so a caller can
 * take them off again), its script, node scripts and workstation script, graded once the cluster has
 * settled. The run has no leave: the caller decides whether and how the mistake is taken off.
 */
export async function enteredMistake(
  lab: Lab,
  mistake: Lab['mistakes'][number],
  port: ClusterPort,
  scripts: ScriptRunner,
  reach: StateReach,
): Promise<{ objects: KubeObject[]; run: MistakeRun }> {
  const objects = await mistakeObjects(lab, mistake);
  const state: LabState = { objects, script: mistake.script, nodeScripts: mistake.nodeScripts, workstationScript: mistake.workstationScript };
  return {
    objects,
    run: {
      mistake,
      enter: async () => {
        await applyState(lab, port, scripts, state, `mistake ${mistake.name}`, reach, { settle: true });
        return { port, scripts };
      },
    },
  };
}

/** Each mistake on the lab's own cluster: applied like the solution, then taken off back to setup's state. */
async function mistakeRuns(
  lab: Lab,
  setup: readonly KubeObject[],
  port: ClusterPort,
  scripts: ScriptRunner,
  reach: StateReach,
  setupAgain: (mistakeObjects: readonly KubeObject[]) => Promise<void>,
  gatedHere: (m: LabMistake) => boolean,
): Promise<MistakeRun[]> {
  const inSetup = new Set(setup.map(objectKey));
  const runs: MistakeRun[] = [];
  for (const mistake of lab.mistakes.filter(gatedHere)) {
    // Taking a mistake off deletes what its manifests made and applies setup again; what a script
    // did on a node or in the workstation cannot be taken off that way, and would leak into the
    // next mistake and the solution. Those mistakes are listed as not gated here (see skippedMistakes).
    if (mistake.nodeScripts.length || mistake.workstationScript) continue;
    const { objects, run } = await enteredMistake(lab, mistake, port, scripts, reach);
    runs.push({
      ...run,
      leave: async () => {
        // A lab whose setup is (partly) a script: only running it again restores what the script made.
        if (mistake.script && lab.files.setupScript) return setupAgain(objects);
        const created = objects.filter((o) => !inSetup.has(objectKey(o))).toReversed();
        if (created.length) {
          // kubectl waits for the objects (and the pods of workloads) to be gone.
          const list = JSON.stringify({
            apiVersion: 'v1',
            kind: 'List',
            items: created.map((o) => ({
              apiVersion: o.apiVersion,
              kind: o.kind,
              metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) },
            })),
          });
          const r = await scripts.run(`kubectl delete --ignore-not-found --wait=true --timeout=120s -f - <<'KUBEDRILL_OBJECTS'\n${list}\nKUBEDRILL_OBJECTS`, {
            cwd: lab.dir,
            timeoutMs: 180_000,
          });
          if (r.exitCode !== 0) throw new Error(`deleting what mistake ${mistake.name} created failed:\n${r.output}`);
        }
        if (setup.length) await applyState(lab, port, scripts, { objects: setup, script: undefined }, 'the setup, applied again', reach);
      },
    });
  }
  return runs;
}

/** Each node's labels, taints and cordon as a JSON patch that puts them back exactly (labels and taints replaced whole). */
function nodeMetadata(list: { items: KubeObject[] }): { name: string; patch: unknown[] }[] {
  return list.items.map((n) => {
    const spec = (n.spec ?? {}) as { taints?: unknown[]; unschedulable?: boolean };
    return {
      name: n.metadata.name,
      patch: [
        { op: 'add', path: '/metadata/labels', value: n.metadata.labels ?? {} },
        { op: 'add', path: '/spec/taints', value: spec.taints ?? [] },
        { op: 'add', path: '/spec/unschedulable', value: spec.unschedulable ?? false },
      ],
    };
  });
}

/** A report with every task at 0, for a mistake gate that could not grade (nothing to take off, nothing compared). */
function EMPTY_REPORT(lab: Lab): GradeReport {
  return { labId: lab.id, score: 0, maxScore: lab.meta.points ?? 0, percent: 0, tasks: [], gradedAt: new Date().toISOString(), durationMs: 0 };
}

/**
 * The reference solution step of a lab: its solution files, or for a Killercoda scenario its steps'
 * solution.sh run as root in the workstation; a scenario without them has none (only gate 1 runs).
 */
function solutionOf(lab: Lab, files: () => Promise<void>, workstation: WorkstationAccess): { solution?: () => Promise<void> } {
  if (!lab.origin) return { solution: files };
  const s = lab.scenarioSolution;
  if (!s) return {};
  const run = async (script: string, what: string) => {
    const r = await workstation.exec(['bash', '-s'], { user: 'root', stdin: script, timeoutMs: 300_000 });
    if (r.exitCode !== 0) throw new Error(`${what} exited ${r.exitCode} in the workstation:\n${r.stdout}${r.stderr}`);
  };
  return {
    solution: async () => {
      // Each step's solution, then the setups of the steps it reaches, as the learner's Checks would run them
      // (the final grade shows whether each step really passed).
      const passed = new Set<string>();
      const done = new Set<number>();
      for (const step of s.steps) {
        await run(step.script, `the scenario's solution ${step.from}`);
        passed.add(`step-${step.step}`);
        for (const due of dueStepSetups(lab.scenarioSetup, passed, done)) {
          await run(due.script, `the setup of step ${due.step} (${due.from})`);
          done.add(due.step);
        }
      }
    },
  };
}

/** A fresh-cluster mistake not gated because the run was interrupted before its cluster was started. */
function notStarted(lab: Lab, mistake: LabMistake): GateResult {
  return {
    name: 'mistake-is-capped',
    passed: false,
    problems: ['not gated: the run was interrupted before its cluster was started'],
    report: EMPTY_REPORT(lab),
    mistake,
    ceilingPercent: 0,
    durationMs: 0,
  };
}

/** Mistakes labs:verify gates only on a cluster of their own (their node or workstation scripts cannot be taken off), with why. */
export function skippedMistakes(lab: Lab, opts: Pick<VerifyOptions, 'modelMistakes'> = {}): string[] {
  return lab.mistakes.flatMap((m) =>
    m.nodeScripts.length || m.workstationScript
      ? [
          `${m.name} (${[...m.nodeScripts.map((n) => n.file), m.workstationScript].filter(Boolean).join(', ')} cannot be undone before the next gate; it needs a cluster of its own)`,
        ]
      : opts.modelMistakes === false && !modelMistakeSkipReason(lab, m)
        ? [`${m.name} (gated on the model cluster by the unit stage; KUBEDRILL_VERIFY_MODEL_MISTAKES=1 or npm run labs:verify gates it on a real cluster too)`]
        : [],
  );
}

/** Human-readable lines for one verdict; with explain, every check of each mistake gate with its explanation. */
/** Where a mistake gate's time went, e.g. "apply 2.1 s, 2 grades 4.0 s, take off 3.2 s, 1 clean grade 1.9 s". */
export function describePhases(p: MistakePhases): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const parts = [`apply ${s(p.enterMs)}`, `${p.grades} grade${p.grades === 1 ? '' : 's'} ${s(p.gradeMs)}`];
  if (p.leaveMs || p.cleanGrades) parts.push(`take off ${s(p.leaveMs)}`, `${p.cleanGrades} clean grade${p.cleanGrades === 1 ? '' : 's'} ${s(p.cleanMs)}`);
  return parts.join(', ');
}

export function describeVerdict(v: LabVerdict, opts: { explain?: boolean } = {}): string[] {
  const mistakes = v.gates?.gates.filter((g) => g.name === 'mistake-is-capped').length ?? 0;
  const lines = [
    `${v.passed ? 'PASS' : 'FAIL'} ${v.labId} (${v.seconds.toFixed(0)} s${mistakes ? `, of which ${v.mistakeSeconds.toFixed(0)} s for ${mistakes} mistake gate(s)` : ''})`,
  ];
  if (v.failure) lines.push(`  ${v.failure.replaceAll('\n', '\n  ')}`);
  for (const w of v.walkthrough ?? []) lines.push(`  ${w.replaceAll('\n', '\n      ')}`);
  for (const s of v.skipped ?? []) lines.push(`  - mistake ${s}: not gated in this run`);
  if (v.gates && !v.gates.gates.some((g) => g.name === 'solution-earns-all'))
    lines.push('  - no reference solution (a scenario without solution.sh beside its verify scripts): only "nothing earns nothing" ran');
  for (const g of v.gates?.gates ?? []) {
    if (g.mistake)
      lines.push(
        `  ${g.passed ? '✓' : '✗'} mistake ${g.mistake.name}: ${g.report.score}/${g.report.maxScore} = ${g.report.percent}% (at most ${g.mistake.maxPercent}%; ${(g.durationMs / 1000).toFixed(0)} s${g.phases ? `: ${describePhases(g.phases)}` : ''}) — ${g.mistake.title}`,
      );
    else lines.push(`  ${g.passed ? '✓' : '✗'} ${g.name}: ${g.report.score}/${g.report.maxScore} (graded in ${(g.report.durationMs / 1000).toFixed(1)} s)`);
    for (const p of g.problems) lines.push(`      ${p}`);
    if (opts.explain && g.mistake) {
      for (const t of g.report.tasks)
        for (const c of t.checks) lines.push(`      ${t.id}/${c.id} ${c.status} ${c.points}/${c.maxPoints}: ${c.explanation ?? c.actual ?? ''}`);
    }
  }
  return lines;
}
