import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '../exec/command-runner.ts';

// Whether kindnet enforces NetworkPolicy depends on the node image (kindnet's version) and on the
// host's kernel (nft_queue): the self-test gives the same verdict for the same node image on the
// same host every time. The verdict is remembered in the data directory, keyed by those facts, so
// later clusters get the right enforcement installed directly instead of being tested (~12 s).

/** What made the self-test decide: kindnet enforces by itself, or the fallback controller is needed. */
export type NetpolVerdict = 'kindnet' | 'kube-router';

/** The facts a verdict depends on; any change means testing again. */
export interface NetpolFacts {
  /** Docker's image id of the node image (a rebuilt or re-pulled tag changes it). */
  nodeImageId: string;
  /** The host's kernel release, cgroup version and OS, as Docker reports them. */
  kernel: string;
  cgroup: string;
  os: string;
  /** sha256 of the fallback controller's manifest (a new kube-router version is tested again). */
  fallback: string;
}

const FILE = 'netpol-verdicts.json';

interface Stored {
  verdict: NetpolVerdict;
  facts: NetpolFacts;
  at: string;
}

/** The facts of this host and node image, asked of Docker (two quick commands). */
export async function netpolFacts(runner: CommandRunner, nodeImage: string, fallbackManifest: string): Promise<NetpolFacts> {
  const [image, info, manifest] = await Promise.all([
    runner.run({ argv: ['docker', 'image', 'inspect', '--format', '{{.Id}}', nodeImage], timeoutMs: 30_000 }),
    runner.run({ argv: ['docker', 'info', '--format', '{{.KernelVersion}}|{{.CgroupVersion}}|{{.OperatingSystem}}'], timeoutMs: 30_000 }),
    readFile(fallbackManifest).catch(() => Buffer.from('')),
  ]);
  const [kernel = '', cgroup = '', os = ''] = info.stdout.trim().split('|');
  return { nodeImageId: image.stdout.trim(), kernel, cgroup, os, fallback: createHash('sha256').update(manifest).digest('hex') };
}

/** The key a verdict is stored under: a hash of the facts. */
export function verdictKey(facts: NetpolFacts): string {
  return createHash('sha256')
    .update(JSON.stringify([facts.nodeImageId, facts.kernel, facts.cgroup, facts.os, facts.fallback]))
    .digest('hex')
    .slice(0, 32);
}

/** Remembered verdicts in `<dataDir>/netpol-verdicts.json`; unreadable files count as empty. */
export class NetpolVerdicts {
  readonly #file: string;
  #writing: Promise<void> = Promise.resolve();

  constructor(dataDir: string) {
    this.#file = path.join(dataDir, FILE);
  }

  async #read(): Promise<Record<string, Stored>> {
    try {
      const data = JSON.parse(await readFile(this.#file, 'utf8')) as unknown;
      return data && typeof data === 'object' ? (data as Record<string, Stored>) : {};
    } catch {
      return {};
    }
  }

  /** The remembered verdict for these facts, if any. */
  async get(facts: NetpolFacts): Promise<NetpolVerdict | undefined> {
    const v = (await this.#read())[verdictKey(facts)]?.verdict;
    return v === 'kindnet' || v === 'kube-router' ? v : undefined;
  }

  /** Remembers a verdict (written atomically; concurrent writers are serialised). */
  remember(facts: NetpolFacts, verdict: NetpolVerdict, now = new Date()): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      const all = await this.#read();
      all[verdictKey(facts)] = { verdict, facts, at: now.toISOString() };
      await mkdir(path.dirname(this.#file), { recursive: true });
      const tmp = `${this.#file}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`);
      await rename(tmp, this.#file);
    });
    return this.#writing;
  }
}

/** Forgets every remembered verdict (the next NetworkPolicy cluster is self-tested again). */
export async function forgetNetpolVerdicts(dataDir: string): Promise<void> {
  await rm(path.join(dataDir, FILE), { force: true });
}
