// The honesty gates of labs on real kind clusters: for each lab, a fresh cluster made by the
// product's own provisioner (so setup, readiness and the NetworkPolicy self-test are the ones
// learners get), then gate 1 (after setup every task scores 0), the reference solution, gate 2
// (100%) and a second grade (stable). Used by `npm run labs:verify` and the cluster test stage.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createKubePort, createKubeconfigScriptRunner } from '../../graders/src/cluster/kube-port.ts';
import { runHonestyGates, type GatesReport } from '../../graders/src/engine/gates.ts';
import type { AttemptEvent } from '../../server/src/attempts/attempt-repository.ts';
import { createAttemptService } from '../../server/src/attempts/setup.ts';
import { loadConfig } from '../../server/src/config/config.ts';
import { createCommandRunner } from '../../server/src/exec/command-runner.ts';
import { gradableLab, labStates } from '../../server/src/grading/lab-states.ts';
import { LabCatalog } from '../../server/src/labs/catalog-service.ts';
import { readTestbedStatus } from './testbed.ts';
import { kindNodeNames } from '../../server/src/provisioner/kind-driver.ts';
import { waitUntilReady } from '../../server/src/provisioner/setup.ts';
import { openMemoryDatabase } from '../../server/src/storage/db.ts';

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
}

/** A verifier: one attempt service on a throw-away data folder, clusters made one at a time. */
export class LabVerifier {
  readonly labs: LabCatalog;
  readonly #dataDir: string;
  readonly #image: string;
  readonly #runner;
  readonly #service;
  readonly #log: (line: string) => void;

  private constructor(image: string, labs: LabCatalog, dataDir: string, log: (line: string) => void) {
    this.#image = image;
    this.labs = labs;
    this.#dataDir = dataDir;
    this.#log = log;
    const { config, hostEnv } = loadConfig({
      argv: ['--data-dir', dataDir, '--labs-dir', path.join(ROOT, 'labs')],
      env: { ...(process.env.PATH ? { PATH: process.env.PATH } : {}), ...(process.env.HOME ? { HOME: process.env.HOME } : {}), KUBEDRILL_CLUSTERS_NODE_IMAGE: image, KUBEDRILL_CLUSTERS_POOL_SIZE: '0', KUBEDRILL_CLUSTERS_MAX_CONCURRENT: '1', KUBEDRILL_CLUSTERS_NAME_PREFIX: 'kdverify' },
      cwd: ROOT,
    });
    this.#runner = createCommandRunner(hostEnv);
    this.#service = createAttemptService(config, {
      db: openMemoryDatabase(),
      runner: this.#runner,
      labs,
      portFor: (kubeconfig) => createKubePort(kubeconfig),
      log: { info: () => {}, warn: (m) => log(`  warn: ${m}`), error: (m) => log(`  error: ${m}`) },
    });
  }

  static async create(image: string, log: (line: string) => void = console.log): Promise<LabVerifier> {
    const labs = new LabCatalog(path.join(ROOT, 'labs'));
    const catalog = await labs.reload();
    if (catalog.broken.length) throw new Error(`broken labs (run npm run labs:check): ${catalog.broken.map((b) => b.id).join(', ')}`);
    return new LabVerifier(image, labs, mkdtempSync(path.join(os.tmpdir(), 'kubedrill-verify-')), log);
  }

  get image(): string {
    return this.#image;
  }

  /** Runs the honesty gates of one lab on a fresh cluster; the cluster is deleted afterwards unless keep. */
  async verify(labId: string, opts: { keep?: boolean } = {}): Promise<LabVerdict> {
    const lab = this.labs.get(labId);
    if (!lab) throw new Error(`no lab "${labId}"; ids: ${this.labs.current.labs.map((l) => l.id).join(', ')}`);
    const started = performance.now();
    const steps: string[] = [];
    const learner = 'labs-verify';
    const { attempt } = this.#service.start(learner, labId);
    const done = new Promise<AttemptEvent>((resolve) => {
      const sub = this.#service.subscribe(attempt.id, 0, (e) => {
        if (e.type === 'step' && e.state !== 'running') {
          const line = `${e.state === 'done' ? '✓' : '✗'} ${e.name} (${(e.elapsedMs / 1000).toFixed(1)} s)`;
          steps.push(line);
          this.#log(`  ${line}`);
        }
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
    const end = await done;
    const seconds = () => (performance.now() - started) / 1000;
    try {
      if (end.name !== 'ready') {
        const a = this.#service.get(attempt.id);
        const failure = `${a?.failureStep ? `step "${a.failureStep}": ` : ''}${a?.failureMessage ?? end.name}${a?.failureOutput ? `\n${a.failureOutput}` : ''}`;
        return { labId, passed: false, steps, failure, seconds: seconds() };
      }
      const g = await this.#service.beginGrading(attempt.id, learner);
      try {
        const port = createKubePort(g.kubeconfigPath);
        const scripts = createKubeconfigScriptRunner(this.#runner, g.kubeconfigPath);
        const solutionObjects = (await labStates(lab)).solution;
        const gates = await runHonestyGates({
          lab: gradableLab(lab),
          port,
          scripts,
          // The provisioner already applied the setup and waited for it, as for a learner.
          setup: async () => {},
          solution: async () => {
            // The setup's field manager, so fields the solution changes are replaced, not merged.
            if (solutionObjects.length) await port.apply(solutionObjects, { fieldManager: 'kubedrill-setup', timeoutMs: 120_000 });
            if (lab.files.solutionScript) {
              const script = await readFile(path.join(lab.dir, lab.files.solutionScript), 'utf8');
              const r = await scripts.run(script, { cwd: lab.dir, timeoutMs: 300_000 });
              if (r.exitCode !== 0) throw new Error(`the solution script ${lab.files.solutionScript} exited ${r.exitCode}:\n${r.output}`);
            }
            // Grade what the solution made once it runs, as a learner would check after a rollout.
            // Including kube-proxy's rules for the Services it made, so no gate probes an unprogrammed ClusterIP.
            const waiting = await waitUntilReady(port, solutionObjects, Date.now() + 300_000, { kubeProxy: { runner: this.#runner, nodes: await this.#nodes(attempt.id) } });
            if (waiting.length) throw new Error(`the reference solution was not ready after 300 s: ${waiting.slice(0, 3).join('; ')}`);
          },
        });
        return { labId, passed: gates.passed, steps, gates, seconds: seconds() };
      } finally {
        this.#service.endGrading(attempt.id);
      }
    } catch (e) {
      return { labId, passed: false, steps, failure: e instanceof Error ? e.message : String(e), seconds: seconds() };
    } finally {
      if (opts.keep) {
        const a = this.#service.get(attempt.id);
        this.#log(`  kept cluster ${a?.clusterName ?? '?'} (kubeconfig under ${this.#dataDir}/clusters; delete it with kind delete cluster --name ${a?.clusterName ?? '…'})`);
      } else {
        // Finishing deletes the cluster; wait for it so the next lab has the machine to itself.
        this.#service.finish(attempt.id, 'verified');
        await this.#service.idle();
      }
    }
  }

  /** The node containers of an attempt's cluster. */
  async #nodes(attemptId: string): Promise<string[]> {
    const name = this.#service.get(attemptId)?.clusterName;
    return name ? kindNodeNames(this.#runner, name) : [];
  }

  async close(opts: { keepData?: boolean } = {}): Promise<void> {
    await this.#service.close();
    this.labs.compiler.close();
    if (!opts.keepData) rmSync(this.#dataDir, { recursive: true, force: true });
  }
}

/** Human-readable lines for one verdict. */
export function describeVerdict(v: LabVerdict): string[] {
  const lines = [`${v.passed ? 'PASS' : 'FAIL'} ${v.labId} (${v.seconds.toFixed(0)} s)`];
  if (v.failure) lines.push(`  ${v.failure.replaceAll('\n', '\n  ')}`);
  for (const g of v.gates?.gates ?? []) {
    lines.push(`  ${g.passed ? '✓' : '✗'} ${g.name}: ${g.report.score}/${g.report.maxScore}`);
    for (const p of g.problems) lines.push(`      ${p}`);
  }
  return lines;
}
