// The honesty gates of mock exams on real kind clusters: an exam attempt started by the product's own
// exam and attempt services (every cluster in parallel, every task's setup on its cluster, as a
// learner gets them), then gate 1 (nothing scores), every task's reference solution, gate 2 (100 %)
// and a second grade (stable). Used by `npm run exams:verify` and the cluster test stage.
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createKubePort, createKubeconfigScriptRunner } from '../../graders/src/cluster/kube-port.ts';
import type { AttemptEvent } from '../../server/src/attempts/attempt-repository.ts';
import type { ClusterPort, NodeAccess } from '../../graders/src/cluster/port.ts';
import { nodeForRole } from '../../graders/src/engine/checks.ts';
import { createAttemptService } from '../../server/src/attempts/create-attempt-service.ts';
import { loadConfig } from '../../server/src/config/config.ts';
import { logLine, type ServiceLog } from '../../server/src/log.ts';
import { createCommandRunner, minimalEnv } from '../../server/src/exec/command-runner.ts';
import { ExamCatalogService } from '../../server/src/exams/exam-catalog.ts';
import { runExamGates, type ExamGateResult } from '../../server/src/exams/exam-gates.ts';
import { ExamRepository } from '../../server/src/exams/exam-repository.ts';
import { ExamService } from '../../server/src/exams/exam-service.ts';
import { examClusterRecipes } from '../../server/src/exams/cluster-recipes.ts';
import { examImages } from '../../server/src/exams/create-exams.ts';
import { labStates } from '../../server/src/grading/lab-states.ts';
import { LabCatalog } from '../../server/src/labs/catalog-service.ts';
import type { Lab } from '../../server/src/labs/loader.ts';
import { describeDraw, type ParamValues } from '../../server/src/labs/params.ts';
import { shapeKey } from '../../server/src/provisioner/kind-config.ts';
import { waitUntilReady } from '../../server/src/provisioner/lab-setup.ts';
import { ContainerLauncher, execOnKindNode } from '../../server/src/terminal/launchers.ts';
import { openMemoryDatabase } from '../../server/src/storage/db.ts';
import { ROOT, stepEndLine } from './labs-verify.ts';
import { errorMessage } from '../../graders/src/shared/error-message.ts';

export interface ExamVerdict {
  examId: string;
  passed: boolean;
  /** What the learner's workstation saw (with a workstation image): contexts, nodes per context, ssh. */
  workstation?: string[];
  /** Per cluster (context), its steps with elapsed seconds. */
  steps: string[];
  /** Seconds from Start to every cluster ready (the countdown's start). */
  readySeconds?: number;
  solutionSeconds?: number;
  failure?: string;
  /** The values drawn for each parametrised lab, and what on its cluster shows setup used them. */
  draws?: DrawProof[];
  gates?: ExamGateResult[];
  seconds: number;
}

const LEARNER = 'exams-verify';

/** One parametrised lab of an exam attempt: its draw, and whether the cluster holds what that draw's setup makes. */
export interface DrawProof {
  labId: string;
  context: string;
  values: ParamValues;
  /** Objects of the drawn setup found on the cluster ("Namespace market"). */
  found: string[];
  /** Objects of the drawn setup the cluster lacks: setup did not use this draw. */
  missing: string[];
}

/**
 * Proves an exam attempt set a parametrised lab up with the attempt's own draw: every object its
 * drawn setup manifests name (Namespace {{ns}} → Namespace market) is read back from the cluster.
 * Gates 1 and 2 then grade against the same draw, so a passing exam proves setup, checks and
 * solution all followed it.
 */
export async function proveDraw(drawn: Lab, values: ParamValues, context: string, port: ClusterPort): Promise<DrawProof> {
  const found: string[] = [];
  const missing: string[] = [];
  for (const o of (await labStates(drawn)).setup) {
    const what = `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
    const live = await port.get(
      { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) },
      { timeoutMs: 30_000 },
    );
    (live ? found : missing).push(what);
  }
  return { labId: drawn.id, context, values, found, missing };
}

/** A verifier: one attempt service and exam service on a throw-away data folder. */
export class ExamVerifier {
  readonly labs: LabCatalog;
  readonly exams: ExamCatalogService;
  readonly #dataDir: string;
  readonly #runner;
  readonly #hostEnv: Record<string, string>;
  readonly #attempts;
  readonly #service: ExamService;
  readonly #log: (line: string) => void;
  /** The attempt service's cluster settings (its warm pool is switched on and off per run). */
  readonly #clusters: { poolSize: number; poolShapes: string[]; presetLabs: string[] };

  private constructor(image: string, labs: LabCatalog, exams: ExamCatalogService, dataDir: string, log: (line: string) => void) {
    this.labs = labs;
    this.exams = exams;
    this.#dataDir = dataDir;
    this.#log = log;
    const maxClusters = Math.max(1, ...exams.current.exams.map((e) => e.clusters.length));
    const { config, hostEnv } = loadConfig({
      argv: ['--data-dir', dataDir, '--labs-dir', path.join(ROOT, 'labs')],
      env: {
        ...minimalEnv(process.env),
        KUBEDRILL_CLUSTERS_NODE_IMAGE: image,
        KUBEDRILL_CLUSTERS_POOL_SIZE: '0',
        KUBEDRILL_CLUSTERS_MAX_CONCURRENT: String(maxClusters),
        KUBEDRILL_CLUSTERS_NAME_PREFIX: 'kdexams',
      },
      cwd: ROOT,
    });
    this.#runner = createCommandRunner(hostEnv);
    this.#hostEnv = hostEnv;
    this.#clusters = config.clusters;
    const db = openMemoryDatabase();
    const quiet: ServiceLog = { info: () => {}, warn: (f, m) => log(`  warn: ${logLine(f, m)}`), error: (f, m) => log(`  error: ${logLine(f, m)}`) };
    this.#attempts = createAttemptService(config, {
      db,
      runner: this.#runner,
      labs,
      portFor: (k) => createKubePort(k),
      log: quiet,
      extraPoolImages: (shape) => examImages(exams, labs, shape),
      examClusters: (id) => {
        const exam = exams.get(id);
        return exam && examClusterRecipes(exam);
      },
    });
    this.#service = new ExamService({
      repo: new ExamRepository(db),
      exams,
      labs,
      attempts: this.#attempts,
      portFor: (k) => createKubePort(k),
      scriptsFor: (k) => createKubeconfigScriptRunner(this.#runner, k),
      // Node checks (systemctl is-active kubelet, crictl ps) run as the product's do: docker exec into the kind node.
      nodesFor: (attemptId) => {
        const clusterName = this.#attempts.get(attemptId)?.clusterName;
        return clusterName ? this.#nodes(clusterName) : undefined;
      },
      maxClusters,
      reviewMinutes: 0,
      log: quiet,
      sweepMs: 1000,
    });
  }

  #nodes(clusterName: string): NodeAccess {
    return { exec: (node, argv, o) => execOnKindNode(this.#runner, clusterName, node, argv, o) };
  }

  static async create(image: string, log: (line: string) => void = console.log, examsDir = path.join(ROOT, 'exams')): Promise<ExamVerifier> {
    const labs = new LabCatalog(path.join(ROOT, 'labs'));
    const catalog = await labs.reload();
    if (catalog.broken.length) throw new Error(`broken labs (run npm run labs:check): ${catalog.broken.map((b) => b.id).join(', ')}`);
    const exams = new ExamCatalogService(examsDir);
    const loaded = exams.reload(catalog);
    if (loaded.broken.length) throw new Error(`broken exams (run npm run labs:check): ${loaded.broken.map((b) => b.id).join(', ')}`);
    return new ExamVerifier(image, labs, exams, mkdtempSync(path.join(os.tmpdir(), 'kubedrill-exams-verify-')), log);
  }

  /** Runs the honesty gates of one exam on fresh clusters; they are deleted afterwards unless keep. */
  async verify(examId: string, opts: { keep?: boolean; workstationImage?: string; warm?: boolean; preset?: boolean } = {}): Promise<ExamVerdict> {
    const exam = this.exams.get(examId);
    if (!exam) throw new Error(`no exam "${examId}"; ids: ${this.exams.current.exams.map((e) => e.id).join(', ')}`);
    const steps: string[] = [];
    if (opts.warm) {
      // Warm clusters of the exam's shapes first (created, self-tested, images loaded), as a server's pool has them.
      const t = performance.now();
      this.#clusters.poolShapes = exam.clusters.map((c) => `${shapeKey(c)}:1`);
      this.#clusters.poolSize = 1;
      await this.#attempts.reconcile();
      while (this.#attempts.stats().clusters.warm < exam.clusters.length) {
        if (this.#attempts.stats().clusters.creating === 0 && this.#attempts.stats().clusters.warm < exam.clusters.length) await sleep(2000);
        await sleep(500);
        if (performance.now() - t > 15 * 60_000) throw new Error('the warm pool did not fill within 15 min');
      }
      // No refills: the exam claims these, and nothing new is created when it ends.
      this.#clusters.poolSize = 0;
      this.#clusters.poolShapes = [];
      const line = `warm pool: ${exam.clusters.length} cluster(s) ready in ${((performance.now() - t) / 1000).toFixed(1)} s`;
      steps.push(line);
      this.#log(`  ${line}`);
    }
    if (opts.preset) {
      // Every cluster of the exam set up in advance (created, self-tested, every task's setup applied and ready), as clusters.presetLabs exam:<id> keeps them.
      const t = performance.now();
      this.#clusters.presetLabs = [`exam:${examId}`];
      await this.#attempts.reconcile();
      while (this.#attempts.presetStatus().some((s) => s.ready < 1)) {
        if (this.#attempts.presetStatus().some((s) => s.excluded))
          throw new Error(`the exam cannot be set up in advance: ${JSON.stringify(this.#attempts.presetStatus())}`);
        await sleep(500);
        if (performance.now() - t > 15 * 60_000) throw new Error('the clusters were not set up in advance within 15 min');
      }
      const line = `set up in advance: ${exam.clusters.length} cluster(s) ready in ${((performance.now() - t) / 1000).toFixed(1)} s`;
      steps.push(line);
      this.#log(`  ${line}`);
    }
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const { attempt } = this.#service.start(LEARNER, examId);
    // No refills: the exam claimed them (at Start, synchronously), and nothing new is set up when it ends.
    this.#clusters.presetLabs = [];
    const view = () => this.#service.view(this.#service.owned(attempt.id, LEARNER));
    const unsubscribe = view().clusters.map((c) => {
      const onEvent = (e: AttemptEvent) => {
        // One plan per cluster: each cluster is its own attempt with its own event stream.
        if (e.type === 'plan' && e.plan)
          this.#log(`  ${c.context}: plan of ${e.plan.length} steps (${e.plan.filter((p) => p.state === 'skipped').length} done by a warm cluster)`);
        if (e.type !== 'step' || !e.state || e.state === 'running') return;
        const line = `${c.context}: ${stepEndLine(e)}`;
        steps.push(line);
        this.#log(`  ${line}`);
        // A failed step's output (a setup script's stderr, say) says why; the failure line alone names only the exit code.
        if (e.state === 'failed' && e.output) for (const l of e.output.trim().split('\n').slice(-20)) this.#log(`    ${c.context}: ${l}`);
      };
      const sub = this.#attempts.subscribe(c.attemptId, 0, onEvent);
      for (const e of sub.replay) onEvent(e);
      return sub.unsubscribe;
    });
    try {
      for (;;) {
        const s = view().status;
        if (s !== 'starting') break;
        await sleep(500);
      }
      unsubscribe.forEach((u) => u());
      const v = view();
      if (v.status !== 'running') return { examId, passed: false, steps, failure: v.failure ?? v.status, seconds: seconds() };
      const readySeconds = seconds();
      this.#log(`  every cluster ready after ${readySeconds.toFixed(1)} s`);
      const kubeconfigs = new Map(v.clusters.map((c) => [c.context, this.#attempts.get(c.attemptId)!.clusterName!]));
      const kubeconfigOf = (context: string) => path.join(this.#dataDir, 'clusters', kubeconfigs.get(context)!, 'kubeconfig');
      const draws: DrawProof[] = [];
      for (const [labId, values] of Object.entries(this.#service.paramsOf(attempt.id) ?? {})) {
        const context = exam.tasks.find((t) => t.labId === labId)!.cluster;
        const proof = await proveDraw(this.labs.forAttempt(labId, this.#service.paramsOf(attempt.id))!, values, context, createKubePort(kubeconfigOf(context)));
        draws.push(proof);
        this.#log(
          `  params of ${labId} on ${context}: ${describeDraw(values)}; ${proof.missing.length ? `MISSING ${proof.missing.join(', ')}` : `setup made ${proof.found.join(', ')}`}`,
        );
      }
      // A failure once the clusters are ready: the verdict keeps how long that took and the draws proven so far.
      const failedWhenReady = (failure: string) => ({ examId, passed: false, steps, readySeconds, draws, failure, seconds: seconds() });
      const unproven = draws.filter((d) => d.missing.length);
      if (unproven.length)
        return failedWhenReady(`setup did not follow the attempt's draw: ${unproven.map((d) => `${d.labId} lacks ${d.missing.join(', ')}`).join('; ')}`);
      let workstation: string[] | undefined;
      if (opts.workstationImage) {
        workstation = await this.#checkWorkstation(attempt.id, opts.workstationImage);
        for (const line of workstation) this.#log(`  workstation: ${line}`);
      }
      // A lab whose reference solution is done in the workstation (kubectl apply -k, helm) needs the
      // learner's container; it is made once for the solutions and released with the exam.
      const wsLabs = [...new Set(exam.tasks.map((t) => t.labId))].filter((id) => this.labs.get(id)?.files.solutionWorkstationScript);
      if (wsLabs.length && !opts.workstationImage)
        return failedWhenReady(
          `the reference solution of ${wsLabs.join(', ')} runs in the learner's workstation, and no workstation image is available here (build it: scripts/build-images workstation)`,
        );
      const wsLauncher = opts.workstationImage
        ? new ContainerLauncher({ runner: this.#runner, hostEnv: this.#hostEnv, image: opts.workstationImage, network: 'kind', namePrefix: 'kdexams' })
        : undefined;
      const r = await runExamGates(
        () => this.#service.gradeClusters(this.#service.owned(attempt.id, LEARNER)),
        async () => {
          const placed = [...new Map(exam.tasks.map((t) => [t.labId, t.cluster])).entries()];
          // Every cluster's solutions at once, each lab's in order (as a learner who knows them all).
          await Promise.all(
            [...new Set(placed.map(([, c]) => c))].map(async (context) => {
              const kubeconfig = kubeconfigOf(context);
              const port = createKubePort(kubeconfig);
              const nodes = this.#nodes(kubeconfigs.get(context)!);
              const scripts = createKubeconfigScriptRunner(this.#runner, kubeconfig);
              const applied = [];
              for (const [labId] of placed.filter(([, c]) => c === context)) {
                // The solution as this exam attempt's draw wrote it (the exam drew values for parametrised labs).
                const lab = this.labs.forAttempt(labId, this.#service.paramsOf(attempt.id))!;
                const objects = (await labStates(lab)).solution;
                if (objects.length) await port.apply(objects, { fieldManager: 'kubedrill-setup', timeoutMs: 120_000 });
                applied.push(...objects);
                if (lab.files.solutionScript) {
                  const out = await scripts.run(await readFile(path.join(lab.dir, lab.files.solutionScript), 'utf8'), { cwd: lab.dir, timeoutMs: 300_000 });
                  if (out.exitCode !== 0) throw new Error(`the solution script of ${labId} exited ${out.exitCode}:\n${out.output}`);
                }
                // The part done in the workstation, as the learner after `kubectl config use-context <context>`:
                // a kubeconfig of that context alone, so solutions on other clusters running meanwhile are not switched under it.
                if (lab.files.solutionWorkstationScript && wsLauncher) {
                  const text = await readFile(path.join(lab.dir, lab.files.solutionWorkstationScript), 'utf8');
                  const only = `$HOME/.kube/solution-${context}`;
                  const out = await wsLauncher.execInWorkstation(
                    this.#service.terminalView(attempt.id)!,
                    [
                      'bash',
                      '-lc',
                      `kubectl config view --raw --minify --context=${context} > "${only}" && KUBECONFIG="${only}" bash -c "$1" workstation.sh`,
                      'run',
                      text,
                    ],
                    { timeoutMs: 300_000 },
                  );
                  if (out.exitCode !== 0)
                    throw new Error(
                      `${labId}: ${lab.files.solutionWorkstationScript} exited ${out.exitCode} in the workstation (context ${context}):\n${out.stdout}${out.stderr}`,
                    );
                }
                // The part of the solution done on a node (start a kubelet, fix a static-pod manifest), as root there.
                if (lab.files.solutionNodeScripts.length) {
                  const nodeList = await port.list({ apiVersion: 'v1', kind: 'Node' });
                  for (const ns of lab.files.solutionNodeScripts) {
                    const node = nodeForRole(nodeList, ns.role);
                    if (!node) throw new Error(`${labId}: ${ns.file} is for the ${ns.role} node, which ${context} lacks`);
                    const out = await nodes.exec(node.metadata.name, ['bash', '-c', await readFile(path.join(lab.dir, ns.file), 'utf8'), ns.file], {
                      timeoutMs: 300_000,
                    });
                    if (out.exitCode !== 0)
                      throw new Error(`${labId}: ${ns.file} exited ${out.exitCode} on ${node.metadata.name}:\n${out.stdout}${out.stderr}`);
                  }
                }
              }
              const waiting = await waitUntilReady(port, applied, Date.now() + 300_000);
              if (waiting.length) throw new Error(`the reference solutions on ${context} were not ready after 300 s: ${waiting.slice(0, 3).join('; ')}`);
            }),
          );
        },
        { solutionSettleMs: 60_000 },
      ).finally(() => wsLauncher?.release(attempt.id));
      return {
        examId,
        passed: r.passed,
        steps,
        readySeconds,
        draws,
        solutionSeconds: r.solutionMs / 1000,
        gates: r.gates,
        seconds: seconds(),
        ...(workstation ? { workstation } : {}),
      };
    } catch (e) {
      return { examId, passed: false, steps, failure: errorMessage(e), seconds: seconds() };
    } finally {
      unsubscribe.forEach((u) => u());
      if (opts.keep) this.#log(`  kept the clusters (kubeconfigs under ${this.#dataDir}/clusters; delete with kind delete cluster --name …)`);
      else {
        this.#service.end(attempt.id, 'verified');
        await this.#attempts.idle();
      }
    }
  }

  /**
   * The learner's side: a real workstation container with the exam's kubeconfig (one context per
   * cluster, each reaching its own nodes) and `ssh <context>-<node>` into the last node of each
   * cluster. Throws with what differs.
   */
  async #checkWorkstation(examAttemptId: string, image: string): Promise<string[]> {
    const launcher = new ContainerLauncher({ runner: this.#runner, hostEnv: this.#hostEnv, image, network: 'kind', namePrefix: 'kdexams' });
    const attempt = this.#service.terminalView(examAttemptId)!;
    const exam = this.#service.owned(examAttemptId, LEARNER).exam;
    const lines: string[] = [];
    try {
      const t0 = performance.now();
      const ws = await launcher.ensureWorkstation(attempt);
      lines.push(`container ${ws} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const kubectl = async (...args: string[]) =>
        (await this.#runner.run({ argv: ['docker', 'exec', ws, 'kubectl', ...args], timeoutMs: 60_000 })).stdout.trim();
      const contexts = (await kubectl('config', 'get-contexts', '-o', 'name')).split('\n').sort();
      const want = exam.clusters.map((c) => c.name).sort();
      if (contexts.join(',') !== want.join(',')) throw new Error(`the workstation's contexts are ${contexts.join(', ')}, not ${want.join(', ')}`);
      lines.push(`contexts ${contexts.join(', ')}; current ${await kubectl('config', 'current-context')}`);
      for (const c of exam.clusters) {
        const nodes = (await kubectl('--context', c.name, 'get', 'nodes', '-o', 'name')).split('\n').filter(Boolean);
        if (nodes.length !== 1 + c.workers) throw new Error(`context ${c.name} shows ${nodes.length} nodes, not ${1 + c.workers}: ${nodes.join(', ')}`);
        const node = `${c.name}-${c.workers ? `node${String(c.workers).padStart(2, '0')}` : 'controlplane'}`;
        const pty = await launcher.spawnNodeShell(attempt, node, { terminalId: `verify${c.name.replace(/[^a-z0-9]/g, '')}`, cols: 120, rows: 30, env: {} });
        let out = '';
        pty.onData((d) => (out += d.toString()));
        pty.write('hostname; exit\r');
        const deadline = Date.now() + 30_000;
        const kindName = attempt.clusters!.find((x) => x.context === c.name)!.name;
        while (!out.includes(`${kindName}-`) && Date.now() < deadline) await sleep(100);
        await pty.kill();
        const host = new RegExp(`${kindName}-[a-z0-9-]+`).exec(out)?.[0];
        if (!host) throw new Error(`ssh ${node} did not answer with a node of cluster ${kindName}: ${JSON.stringify(out.slice(-300))}`);
        lines.push(`context ${c.name}: ${nodes.length} nodes; ssh ${node} → ${host}`);
      }
      return lines;
    } finally {
      await launcher.release(examAttemptId);
    }
  }

  async close(opts: { keepData?: boolean } = {}): Promise<void> {
    await this.#service.close();
    await this.#attempts.close();
    this.labs.compiler.close();
    if (!opts.keepData) rmSync(this.#dataDir, { recursive: true, force: true });
  }
}

/** Human-readable lines for one verdict. */
export function describeExamVerdict(v: ExamVerdict): string[] {
  const lines = [
    `${v.passed ? 'PASS' : 'FAIL'} ${v.examId} (${v.seconds.toFixed(0)} s${v.readySeconds !== undefined ? `; clusters ready after ${v.readySeconds.toFixed(0)} s` : ''}${v.solutionSeconds !== undefined ? `; solutions applied in ${v.solutionSeconds.toFixed(0)} s` : ''})`,
  ];
  if (v.failure) lines.push(`  ${v.failure.replaceAll('\n', '\n  ')}`);
  for (const d of v.draws ?? [])
    lines.push(
      `  draw: ${d.labId} on ${d.context}: ${describeDraw(d.values)} (${d.missing.length ? `missing ${d.missing.join(', ')}` : `${d.found.length} drawn setup object(s) on the cluster`})`,
    );
  for (const w of v.workstation ?? []) lines.push(`  workstation: ${w}`);
  for (const g of v.gates ?? []) {
    // The slowest checks, to see what a grade near its checks' deadline spends its time on.
    const checks = g.result.tasks.flatMap((t) => t.reports.flatMap((r) => r.checks.map((c) => ({ name: `${t.labId}/${c.id}`, ms: c.durationMs }))));
    const slowest = [...checks]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 3)
      .map((c) => `${c.name} ${(c.ms / 1000).toFixed(1)} s`);
    lines.push(
      `  ${g.passed ? '✓' : '✗'} ${g.name}: ${g.result.score}/${g.result.maxScore} (graded in ${(g.ms / 1000).toFixed(1)} s; ${checks.length} checks, slowest ${slowest.join(', ')})`,
    );
    for (const p of g.problems) lines.push(`      ${p}`);
  }
  return lines;
}
