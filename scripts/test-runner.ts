// The test command behind scripts/test and npm test: runs the stages in order, fast ones first,
// each through node's built-in test runner (which prints its own summary), then a table of stages.
import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const SUITE_SUFFIXES = ['browser', 'docker', 'cluster'] as const;
const TEST_DIRS = ['server', 'graders', 'scripts', 'web'];

interface Stage {
  name: string;
  what: string;
  run: () => Promise<number>;
}

function testFiles(suffix?: (typeof SUITE_SUFFIXES)[number]): string[] {
  const files = TEST_DIRS.flatMap((d) =>
    globSync(`${d}/**/*.test.ts`, { cwd: ROOT, exclude: (f) => f.includes('node_modules') || f.includes('test-fixtures') }),
  );
  return files
    .filter((f) => {
      const m = /\.(\w+)\.test\.ts$/.exec(f);
      const kind = m && (SUITE_SUFFIXES as readonly string[]).includes(m[1]!) ? m[1] : undefined;
      return kind === suffix;
    })
    .sort();
}

/**
 * Runs argv with inherited stdio. A stage that outlives its limit (a test file that never lets its
 * event loop end, say) is killed with its whole process group, so one hang cannot eat the CI budget.
 */
function run(argv: string[], env: Record<string, string> = {}, limitMs = 20 * 60_000): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env }, detached: true });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      console.error(
        `\n✖ ${argv.slice(0, 3).join(' ')} … ran longer than ${Math.round(limitMs / 60_000)} min: stopping it (a test that never finishes is a failure)`,
      );
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 10_000).unref();
    }, limitMs);
    const forward = () => killGroup('SIGTERM');
    process.once('SIGINT', forward).once('SIGTERM', forward);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
    child.on('error', (e) => {
      console.error(`cannot run ${argv[0]}: ${e.message}`);
      resolve(1);
    });
  });
}

function nodeTest(files: string[], opts: { concurrency?: number; timeoutMs?: number; stageLimitMs?: number } = {}): Promise<number> {
  if (files.length === 0) {
    console.log('no test files in this stage');
    return Promise.resolve(0);
  }
  const args = [process.execPath, '--test', '--test-reporter=spec', `--test-timeout=${opts.timeoutMs ?? 120_000}`];
  if (opts.concurrency) args.push(`--test-concurrency=${opts.concurrency}`);
  return run([...args, ...files], {}, opts.stageLimitMs);
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * Builds the testbed (cached: seconds when nothing changed). `scripts/testbed build` exits 2 when
 * this machine cannot build it; the suites that need it then skip and say why.
 */
async function buildTestbed(): Promise<number> {
  console.log('building the testbed (scripts/testbed build)…');
  // A cold build takes about 20 minutes on 2 cores; a cached one seconds.
  const built = await run([process.execPath, 'scripts/run.mjs', 'scripts/testbed.ts', 'build'], {}, 40 * 60_000);
  if (built === 2) console.log('the testbed cannot be built on this machine (reason above); suites that need it will skip');
  if (built !== 0) return built === 2 ? 0 : built;
  // Labs with workstation checks and exams need the workstation image of the current sources
  // (cached by its inputs, so seconds when nothing changed).
  console.log('building the workstation image (scripts/build-images workstation)…');
  return run(['scripts/build-images', 'workstation'], {}, 20 * 60_000);
}

async function clusterStage(): Promise<number> {
  const built = await buildTestbed();
  if (built !== 0) return built;
  return nodeTest(testFiles('cluster'), { concurrency: 1, timeoutMs: 1_800_000, stageLimitMs: 80 * 60_000 });
}

const STAGES: Stage[] = [
  { name: 'check', what: 'lint, formatting and typecheck (npm run check)', run: () => run([npm, 'run', '--silent', 'check']) },
  // 150 s on a quiet 2-core machine; 420–600 s measured at load 25–38 (a cluster stage and a second
  // suite beside it). A test that hangs is stopped by its own 120 s timeout long before this.
  { name: 'unit', what: 'fast suites: config, storage, labs, graders, API routes', run: () => nodeTest(testFiles(), { stageLimitMs: 20 * 60_000 }) },
  {
    name: 'browser',
    what: 'headless Chromium against the built web app',
    run: () => nodeTest(testFiles('browser'), { concurrency: 1, stageLimitMs: 10 * 60_000 }),
  },
  // Before docker: the workstation image takes kubectl 1.35 from the testbed's Kubernetes build.
  { name: 'testbed', what: 'build the real-cluster testbed from Go modules and Debian (cached)', run: buildTestbed },
  {
    name: 'docker',
    what: 'real Docker and the real kind CLI',
    run: () => nodeTest(testFiles('docker'), { concurrency: 1, timeoutMs: 600_000, stageLimitMs: 25 * 60_000 }),
  },
  {
    name: 'cluster',
    what: 'real kind clusters on the testbed: labs:verify, exams:verify and the cluster suites (testbed built first; skips where it cannot be built)',
    run: clusterStage,
  },
];

function parseList(flag: string): string[] | undefined {
  const i = process.argv.indexOf(flag);
  if (i === -1) return undefined;
  const value = process.argv[i + 1];
  if (!value) {
    console.error(`${flag} needs a comma-separated list of stages: ${STAGES.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
  const names = value.split(',');
  for (const n of names) {
    if (!STAGES.some((s) => s.name === n)) {
      console.error(`unknown stage "${n}"; stages: ${STAGES.map((s) => s.name).join(', ')}`);
      process.exit(2);
    }
  }
  return names;
}

const only = parseList('--only');
const skip = parseList('--skip') ?? [];
const results: { name: string; code: number; seconds: number }[] = [];
for (const stage of STAGES) {
  if ((only && !only.includes(stage.name)) || skip.includes(stage.name)) continue;
  console.log(`\n━━━ ${stage.name}: ${stage.what} ━━━`);
  const started = performance.now();
  const code = await stage.run();
  results.push({ name: stage.name, code, seconds: (performance.now() - started) / 1000 });
}
console.log('\n━━━ kubedrill test stages ━━━');
for (const r of results) console.log(`  ${r.code === 0 ? 'pass' : 'FAIL'}  ${r.name.padEnd(8)} ${r.seconds.toFixed(1).padStart(7)} s`);
const failed = results.filter((r) => r.code !== 0);
console.log(failed.length ? `\n${failed.length} stage(s) failed: ${failed.map((r) => r.name).join(', ')}` : '\nall stages passed');
process.exit(failed.length ? 1 : 0);
