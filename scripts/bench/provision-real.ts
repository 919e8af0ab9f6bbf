// npm run bench:provision -- --real: Start → ready → shell prompt on real kind clusters, with the
// step breakdown of every run (printed, never asserted). Cold runs create a cluster each; warm runs
// claim a cluster the pool made in advance (--warm: a plain warm cluster, the lab's setup still to
// apply; --preset: a cluster set up in advance for the lab, its workstation made ahead, as
// clusters.presetLabs keeps them). Run it under the machine's cluster lock:
//   flock /tmp/kubedrill-cluster.lock npm run bench:provision -- --real [--lab netpol-lab9server]
//     [--cold 3] [--warm 5] [--preset N (default: --warm)] [--node-image IMG] [--data-dir DIR] [--fresh-verdicts]
// --data-dir keeps the server's data (remembered NetworkPolicy verdicts) between invocations;
// --fresh-verdicts forgets them first, so the first cold run self-tests as on a new host.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createKubePort } from '../../graders/src/cluster/kube-port.ts';
import type { AttemptEvent } from '../../server/src/attempts/attempt-repository.ts';
import type { AttemptService } from '../../server/src/attempts/attempt-service.ts';
import { createAttemptService } from '../../server/src/attempts/create-attempt-service.ts';
import { loadConfig } from '../../server/src/config/config.ts';
import { logLine, type ServiceLog } from '../../server/src/log.ts';
import { createCommandRunner } from '../../server/src/exec/command-runner.ts';
import { LabCatalog } from '../../server/src/labs/catalog-service.ts';
import { forgetNetpolVerdicts } from '../../server/src/provisioner/netpol-verdicts.ts';
import { openDatabase } from '../../server/src/storage/db.ts';
import { terminalAttempts } from '../../server/src/attempts/adapters.ts';
import { ContainerLauncher } from '../../server/src/terminal/launchers.ts';
import { prepareWorkstations } from '../../server/src/terminal/terminal-service.ts';
import { spareWorkstations } from '../../server/src/terminal/spare-workstations.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TESTBED_IMAGE = 'kubedrill-testbed/node:v1.35.4';

const { values: args } = parseArgs({
  options: {
    real: { type: 'boolean', default: false },
    lab: { type: 'string', default: 'netpol-lab9server' },
    cold: { type: 'string', default: '3' },
    warm: { type: 'string', default: '5' },
    preset: { type: 'string' },
    'node-image': { type: 'string' },
    'data-dir': { type: 'string' },
    'fresh-verdicts': { type: 'boolean', default: false },
  },
  strict: true,
});

const sh = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function nodeImage(): string {
  const wanted = args['node-image'] ?? TESTBED_IMAGE;
  if (sh(['docker', 'image', 'inspect', wanted]).status !== 0) {
    console.error(`bench:provision --real needs the kind node image ${wanted} in Docker (scripts/testbed build, or --node-image)`);
    process.exit(2);
  }
  return wanted;
}

interface Run {
  readyMs: number;
  promptMs: number | undefined;
  steps: { name: string; startMs: number; ms: number }[];
}

/** Waits until the attempt is ready (or ended) and returns its events. */
function settle(service: AttemptService, id: string): Promise<AttemptEvent[]> {
  return new Promise((resolve, reject) => {
    const done = (e: AttemptEvent) => e.type === 'status' && ['ready', 'failed', 'finished', 'expired'].includes(e.name);
    const finish = (e: AttemptEvent) => {
      sub.unsubscribe();
      if (e.name !== 'ready') {
        const a = service.get(id);
        reject(new Error(`the attempt ended ${e.name} at "${a?.failureStep}": ${a?.failureMessage}\n${a?.failureOutput ?? ''}`));
      } else resolve(service.subscribe(id, 0, () => {}).replay);
    };
    const sub = service.subscribe(id, 0, (e) => done(e) && finish(e));
    const hit = sub.replay.find(done);
    if (hit) finish(hit);
  });
}

/** Time from `t0` until a workstation shell of the attempt prints its prompt (the browser's first terminal). */
async function prompt(launcher: ContainerLauncher | undefined, service: AttemptService, id: string, t0: number): Promise<number | undefined> {
  if (!launcher) return undefined;
  const a = service.get(id)!;
  const attempt = { id, learnerId: a.learnerId, clusterName: a.clusterName!, status: 'running' as const, kubernetesVersion: a.kubernetes };
  const pty = await launcher.spawnShell(attempt, { terminalId: `t${randomBytes(4).toString('hex')}`, cols: 120, rows: 30, env: {} });
  try {
    return await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no prompt within 60 s: ${out.slice(-300)}`)), 60_000);
      pty.onData((d) => {
        out += d.toString();
        if (/candidate@workstation/.test(out)) {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }
      });
    });
  } finally {
    await pty.kill();
  }
}

function breakdown(events: AttemptEvent[]): Run['steps'] {
  const t0 = Date.parse(events[0]!.at);
  return events
    .filter((e) => e.type === 'step' && e.state === 'done')
    .map((e) => ({ name: e.name, startMs: Date.parse(e.at) - e.elapsedMs - t0, ms: e.elapsedMs }));
}

function report(title: string, runs: Run[]) {
  console.log(`\n${title}`);
  runs.forEach((r, i) => {
    console.log(`  run ${i + 1}: ready ${s(r.readyMs)}, prompt ${r.promptMs === undefined ? '— (no workstation image)' : s(r.promptMs)}`);
    for (const st of r.steps) console.log(`      ${s(st.startMs).padStart(8)} +${s(st.ms).padStart(7)}  ${st.name}`);
  });
  const ready = runs.map((r) => r.readyMs).sort((a, b) => a - b);
  const prompts = runs.flatMap((r) => (r.promptMs === undefined ? [] : [r.promptMs])).sort((a, b) => a - b);
  console.log(
    `  Start → ready   p50 ${s(quantile(ready, 0.5))}  p95 ${s(quantile(ready, 0.95))}  (min ${s(ready[0]!)}, max ${s(ready.at(-1)!)}, ${ready.length} runs)`,
  );
  if (prompts.length)
    console.log(`  Start → prompt  p50 ${s(quantile(prompts, 0.5))}  p95 ${s(quantile(prompts, 0.95))}  (min ${s(prompts[0]!)}, max ${s(prompts.at(-1)!)})`);
}

export async function benchReal(): Promise<void> {
  const image = nodeImage();
  const prefix = `kdlabui${randomBytes(2).toString('hex')}`;
  const dataDir = args['data-dir'] ?? mkdtempSync(path.join(tmpdir(), 'kd-bench-real-'));
  mkdirSync(dataDir, { recursive: true });
  if (args['fresh-verdicts']) await forgetNetpolVerdicts(dataDir);
  const coldRuns = Number(args.cold);
  const warmRuns = Number(args.warm);
  const labs = new LabCatalog(path.join(ROOT, 'labs'));
  await labs.reload();
  const lab = labs.get(args.lab);
  if (!lab) throw new Error(`no lab "${args.lab}"`);
  const shape = `w${lab.meta.cluster.workers}${lab.meta.cluster.cni === 'none' ? '-nocni' : ''}${lab.meta.cluster.networkPolicy ? '-netpol' : ''}`;
  const presetRuns = Number(args.preset ?? args.warm);
  const boot = (pool: boolean, preset = false) =>
    loadConfig({
      argv: ['--data-dir', dataDir, '--labs-dir', path.join(ROOT, 'labs')],
      env: {
        KUBEDRILL_CLUSTERS_NODE_IMAGE: image,
        KUBEDRILL_CLUSTERS_NAME_PREFIX: prefix,
        // Pre-set-up: two kept for the lab (one is refilled while the other is measured), plus the one measured.
        KUBEDRILL_CLUSTERS_MAX_CONCURRENT: preset ? '3' : '2',
        ...(pool ? { KUBEDRILL_CLUSTERS_POOL_SHAPES: `${shape}:1` } : {}),
        ...(preset ? { KUBEDRILL_CLUSTERS_PRESET_LABS: `${lab.id}:2` } : {}),
      },
      cwd: ROOT,
    });
  const { hostEnv, config } = boot(false);
  const runner = createCommandRunner(hostEnv);
  const workstation = sh(['docker', 'image', 'inspect', config.terminal.workstationImage.replaceAll('{minor}', lab.meta.kubernetes)]).status === 0;
  const launcher = workstation
    ? new ContainerLauncher({ runner, hostEnv, image: config.terminal.workstationImage, network: config.terminal.network, namePrefix: prefix })
    : undefined;
  const db = openDatabase(dataDir);
  const log: ServiceLog = { info() {}, warn: (f, m) => console.error(`  warn: ${logLine(f, m)}`), error: (f, m) => console.error(`  error: ${logLine(f, m)}`) };
  console.log(
    `bench:provision --real: lab ${lab.id} (shape ${shape}), node image ${image}, data ${dataDir}, load average ${sh(['cat', '/proc/loadavg']).stdout.split(' ').slice(0, 3).join(' ')}`,
  );
  if (!launcher) console.log(`  (no workstation image: the prompt is not measured; scripts/build-images workstation builds it)`);

  const measure = async (service: AttemptService, i: number): Promise<Run> => {
    const t0 = performance.now();
    const { attempt } = service.start(`bench-${i}`, lab.id);
    const events = await settle(service, attempt.id);
    const readyMs = performance.now() - t0;
    const promptMs = await prompt(launcher, service, attempt.id, t0);
    await launcher?.release(attempt.id);
    service.finish(attempt.id);
    return { readyMs, promptMs, steps: breakdown(events) };
  };

  try {
    if (coldRuns > 0) {
      const service = createAttemptService(boot(false).config, { db, runner, labs, portFor: (k) => createKubePort(k), log });
      // As the server does: the workstation is made while the lab is set up.
      prepareWorkstations(terminalAttempts(service), launcher, log);
      const runs: Run[] = [];
      for (let i = 0; i < coldRuns; i++) {
        runs.push(await measure(service, i));
        await service.idle();
      }
      await service.close();
      report(`Cold: Start → ready → prompt, a new cluster each time (${coldRuns} runs)`, runs);
    }
    if (warmRuns > 0) {
      const service = createAttemptService(boot(true).config, { db, runner, labs, portFor: (k) => createKubePort(k), log });
      prepareWorkstations(terminalAttempts(service), launcher, log);
      await service.reconcile();
      const runs: Run[] = [];
      for (let i = 0; i < warmRuns; i++) {
        const t = performance.now();
        while (service.stats().clusters.warm < 1) {
          if (performance.now() - t > 600_000) throw new Error('the pool did not make a warm cluster within 10 min');
          await sleep(250);
        }
        runs.push(await measure(service, 100 + i));
      }
      await service.close();
      await service.idle(); // the pool's refill, cancelled by close, cleans up before the database closes
      report(`Warm: Start → ready → prompt with a warm cluster (${warmRuns} runs)`, runs);
    }
    if (presetRuns > 0) {
      const spares = spareWorkstations(launcher, log);
      const service = createAttemptService(boot(false, true).config, {
        db,
        runner,
        labs,
        portFor: (k) => createKubePort(k),
        log,
        ...(spares ? { spareWorkstations: () => spares } : {}),
      });
      prepareWorkstations(terminalAttempts(service), launcher, log);
      await service.reconcile();
      const runs: Run[] = [];
      for (let i = 0; i < presetRuns; i++) {
        const t = performance.now();
        while ((service.presetStatus()[0]?.ready ?? 0) < 1) {
          if (performance.now() - t > 600_000)
            throw new Error(`the pool did not set up a cluster for ${lab.id} within 10 min: ${JSON.stringify(service.presetStatus())}`);
          await sleep(250);
        }
        // A learner arrives some time after the cluster was set up: its workstation is made by then.
        await spares?.settled();
        runs.push(await measure(service, 200 + i));
      }
      await service.close();
      await service.idle();
      report(`Set up in advance: Start → ready → prompt with a cluster already set up for ${lab.id} (${presetRuns} runs)`, runs);
    }
  } finally {
    const left = sh(['kind', 'get', 'clusters'])
      .stdout.split('\n')
      .filter((c) => c.startsWith(`${prefix}-`));
    for (const c of left) sh(['kind', 'delete', 'cluster', '--name', c]);
    const ws = sh(['docker', 'ps', '-aq', '--filter', `label=io.kubedrill.owner=${prefix}`])
      .stdout.split('\n')
      .filter(Boolean);
    if (ws.length) sh(['docker', 'rm', '-f', ...ws]);
    db.close();
    if (!args['data-dir']) rmSync(dataDir, { recursive: true, force: true });
  }
}
