// Shared by the browser suites (*.browser.test.ts): the real server (buildApp + listen on a loopback
// port) serving the built web app, and headless Chromium driving it. One place says how Chromium is
// launched, how a page reports its errors and what is cleaned up afterwards.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { buildApp, type AppDeps } from '../app.ts';
import type { App } from '../app-types.ts';
import { loadConfig } from '../config/config.ts';
import { ModelCluster } from '../../../graders/src/model/model-cluster.ts';
import { createCommandRunner, type CommandRunner } from '../exec/command-runner.ts';
import { GradeRepository } from '../grading/grade-repository.ts';
import { GradingService, type GradableAttempts } from '../grading/grading-service.ts';
import { labStates } from '../grading/lab-states.ts';
import { LabCatalog } from '../labs/catalog-service.ts';
import type { Lab } from '../labs/loader.ts';
import type { Db } from '../storage/db.ts';
import { SSH_SCRIPT } from '../terminal/create-terminal-service.ts';
import { HostLauncher } from '../terminal/launchers.ts';
import { freePort } from './free-port.ts';

/** The repository's root: the shipped labs and the built web app are found from here. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
/** Debian's Chromium, driven by playwright-core (which downloads no browser of its own). */
export const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Why the browser suites cannot run on this machine, or false when they can (pass it as a test's `skip`). */
export const browserSkip: string | false = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (scripts/setup-host --tests installs it)`;

/** Builds the web app into web/dist when it is missing (as npm run build:web does): the server serves it. */
export function ensureWebBuilt(): void {
  if (existsSync(path.join(REPO_ROOT, 'web', 'dist', 'index.html'))) return;
  const vite = path.join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: REPO_ROOT, stdio: 'inherit' });
  assert.equal(r.status, 0, 'building the web app failed');
}

/**
 * Terminals as shells on this machine (host mode) with `dir` as their HOME, for a fake kind host
 * whose clusters have no kubeconfig; `runner` may wrap the real command runner, `Launcher` may be a
 * HostLauncher that fakes more (node shells).
 */
export function hostShells(
  dir: string,
  opts: { env?: Readonly<Record<string, string>>; runner?: (real: CommandRunner) => CommandRunner; Launcher?: typeof HostLauncher } = {},
): HostLauncher {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...opts.env };
  const real = createCommandRunner(env);
  const Launcher = opts.Launcher ?? HostLauncher;
  return new Launcher({ runner: opts.runner?.(real) ?? real, hostEnv: env, stateDir: path.join(dir, 'terminals'), sshScript: SSH_SCRIPT });
}

/**
 * The shipped catalog, one of its labs, and Check (the real grading service, or a subclass) on an
 * in-memory model cluster holding that lab's setup (the fake kind host has no pods to grade); a test
 * changes what Check sees through `model`.
 */
export async function labGradedOnModel(
  attempts: GradableAttempts,
  labId: string,
  o: { db: Db; Grading?: typeof GradingService },
): Promise<{ labs: LabCatalog; lab: Lab; model: ModelCluster; grading: GradingService }> {
  const labs = new LabCatalog(path.join(REPO_ROOT, 'labs'));
  await labs.reload();
  const lab = labs.get(labId);
  assert.ok(lab, `no lab ${labId} in the shipped catalog`);
  const model = new ModelCluster({ workers: lab.meta.cluster.workers });
  await model.apply((await labStates(lab)).setup);
  const Grading = o.Grading ?? GradingService;
  const grading = new Grading({ attempts, labs, grades: new GradeRepository(o.db), portFor: () => model, engine: { probeWindowMs: 0, retryDelayMs: 0 } });
  return { labs, lab, model, grading };
}

export interface BrowserServerOptions {
  /** More command-line settings for the server (e.g. ['--auth.mode', 'multi']). */
  argv?: readonly string[];
  /** The app's dependencies, given the suite's scratch folder (its data dir, and a HOME for host shells). */
  deps?: (dir: string) => AppDeps | Promise<AppDeps>;
  /** Run after the app has closed: services to let go idle, a catalog's compiler to close. */
  cleanup?: () => unknown;
}

/** A page and what went wrong in it: uncaught errors, and the console errors it was asked to collect. */
export interface WatchedPage {
  page: Page;
  problems: string[];
}

export interface BrowserServer {
  /** The server's origin, e.g. http://127.0.0.1:41234. */
  base: string;
  dir: string;
  app: App;
  browser: Browser;
  /**
   * A page in a fresh browser context. Its uncaught errors are collected; console errors too when
   * `consoleErrors` is true, or those not matching it when it is a pattern (errors the app expects).
   */
  newPage(context?: BrowserContextOptions, opts?: { consoleErrors?: boolean | RegExp }): Promise<WatchedPage>;
  /** Closes the browser and the server, runs the suite's cleanup and removes the scratch folder. */
  close(): Promise<void>;
}

/** Starts the real server on a free loopback port (its origin is then an allowed one) and launches Chromium. */
export async function startBrowserServer(opts: BrowserServerOptions = {}): Promise<BrowserServer> {
  ensureWebBuilt();
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-browser-'));
  const port = await freePort();
  const boot = loadConfig({
    argv: [
      '--data-dir',
      dir,
      '--labs-dir',
      path.join(REPO_ROOT, 'labs'),
      '--web-dir',
      path.join(REPO_ROOT, 'web/dist'),
      '--port',
      String(port),
      ...(opts.argv ?? []),
    ],
    env: {},
    cwd: REPO_ROOT,
  });
  let app: App | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await app?.close();
    await opts.cleanup?.();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    app = await buildApp(boot, { checkResponses: true, logger: false, ...(await opts.deps?.(dir)) });
    await app.listen({ host: '127.0.0.1', port });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  } catch (e) {
    await close();
    throw e;
  }
  const launched = browser;
  return {
    base: `http://127.0.0.1:${port}`,
    dir,
    app,
    browser: launched,
    newPage: async (context = {}, o = {}) => {
      const page = await (await launched.newContext(context)).newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      const { consoleErrors } = o;
      if (consoleErrors)
        page.on('console', (m) => {
          if (m.type() === 'error' && (consoleErrors === true || !consoleErrors.test(m.text()))) problems.push(m.text());
        });
      return { page, problems };
    },
    close,
  };
}
