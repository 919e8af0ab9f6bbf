// The server image started as compose.yaml runs it (host networking, the host's Docker socket with
// its group added, the image's unprivileged user), for the suites that test the image: one way to
// build it, start it, wait until it serves and remove it again.
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CommandError, type CommandRunner } from '../../server/src/exec/command-runner.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** The version in package.json: the tag build-images gives the images. */
export const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** The server image build-images tags for this version (compose.yaml's default). */
export const SERVER_IMAGE = `kubedrill/server:${VERSION}`;
const SOCKET = '/var/run/docker.sock';

/**
 * Builds the named images with scripts/build-images (seconds when their inputs are unchanged, minutes
 * cold); resolves with why they cannot be built on this machine, or undefined once built. Any other
 * failure of the build throws: it is a failure of the suite, not a reason to skip it.
 */
export async function buildImages(runner: CommandRunner, images: readonly string[]): Promise<string | undefined> {
  try {
    await runner.run({ argv: [path.join(ROOT, 'scripts/build-images'), ...images], timeoutMs: 40 * 60_000 });
    return undefined;
  } catch (e) {
    const why = e instanceof CommandError ? e.stderr.trim().split('\n').slice(-1)[0] : (e as Error).message;
    // What this machine lacks (mmdebstrap, a kubectl of the right minor) is a reason to skip.
    if (/is needed to make|no kubectl|no helm|not installed|not reachable/.test(why ?? '')) return `the server image cannot be built here: ${why}`;
    throw e;
  }
}

export interface ServerContainerOptions {
  /** Container name, also the server's cluster name prefix: a server deletes the clusters of its prefix that it does not know. */
  name: string;
  /** Port on the host loopback (the container shares the host's network). */
  port: number;
  /** More KUBEDRILL_* settings (auth mode, public URL, node image, …). */
  env?: Readonly<Record<string, string>>;
  image?: string;
}

/** The `docker run` argv that starts the server image as compose.yaml does, with the options' name, port and settings. */
export function serverContainerArgv(o: ServerContainerOptions, socketGid: number): string[] {
  const env = { KUBEDRILL_PORT: String(o.port), KUBEDRILL_CLUSTERS_NAME_PREFIX: o.name, ...o.env };
  return [
    'docker',
    'run',
    '-d',
    '--name',
    o.name,
    '--network',
    'host',
    '--group-add',
    String(socketGid),
    '-v',
    `${SOCKET}:${SOCKET}`,
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    o.image ?? SERVER_IMAGE,
  ];
}

/** A started server container: where it answers, its log, and its removal. */
export interface ServerContainer {
  name: string;
  base: string;
  /** The last `tail` lines of its log (stdout and stderr). */
  log(tail?: number): Promise<string>;
  /** Removes the container and its anonymous volumes (idempotent). */
  remove(): Promise<void>;
}

/**
 * Starts the server image and resolves once its log says it serves (single or multi mode); a container
 * that fails to start or to serve in time is removed, and the error carries its log.
 */
export async function startServerContainer(runner: CommandRunner, o: ServerContainerOptions, readyTimeoutMs = 90_000): Promise<ServerContainer> {
  const container: ServerContainer = {
    name: o.name,
    base: `http://127.0.0.1:${o.port}`,
    log: async (tail = 40) => {
      const r = await runner.run({ argv: ['docker', 'logs', '--tail', String(tail), o.name], timeoutMs: 30_000, okCodes: [0, 1] });
      return r.stdout + r.stderr;
    },
    remove: async () => {
      await runner.run({ argv: ['docker', 'rm', '-f', '-v', o.name], timeoutMs: 60_000, okCodes: [0, 1] });
    },
  };
  try {
    await runner.run({ argv: serverContainerArgv(o, statSync(SOCKET).gid), timeoutMs: 60_000 });
    // "single-user server ready: http://…" or "multi-user server ready: http://…".
    await waitForLog(o.name, /server ready: http/, readyTimeoutMs);
  } catch (e) {
    await container.remove();
    throw e;
  }
  return container;
}

/** Resolves with the container's log once a line matches, or rejects with the log so far. */
export function waitForLog(container: string, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const logs = spawn('docker', ['logs', '-f', container], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const done = (err?: Error) => {
      clearTimeout(timer);
      logs.kill();
      if (err) reject(err);
      else resolve(text);
    };
    const timer = setTimeout(() => done(new Error(`no log line matching ${pattern} within ${timeoutMs} ms:\n${text}`)), timeoutMs);
    const read = (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) done();
    };
    logs.stdout.on('data', read);
    logs.stderr.on('data', read);
    logs.on('close', () => done(new Error(`the container's log ended before a line matched ${pattern}:\n${text}`)));
  });
}
