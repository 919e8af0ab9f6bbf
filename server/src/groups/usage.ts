import type { CommandRunner } from '../exec/command-runner.ts';
import type { Db } from '../storage/db.ts';

/** CPU (percent of one core, summed) and memory of one kind cluster's node containers. */
export interface ClusterUsage {
  cpuPercent: number;
  memoryBytes: number;
  nodes: number;
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** Bytes of a docker stats size such as "521.2MiB" or "1.5GB" (NaN when unreadable). */
export function parseSize(text: string): number {
  const m = /^([\d.]+)\s*([a-zA-Z]+)$/.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  return m && unit ? Number(m[1]) * unit : Number.NaN;
}

// kind names node containers <cluster>-control-plane, <cluster>-worker, <cluster>-worker2, …
const NODE_SUFFIX = /-(control-plane\d*|worker\d*)$/;

/** One `docker stats` sample of every kind node container, summed per cluster. */
export async function clusterUsage(runner: CommandRunner, signal?: AbortSignal): Promise<Map<string, ClusterUsage>> {
  const r = await runner.run({ argv: ['docker', 'stats', '--no-stream', '--format', '{{json .}}'], timeoutMs: 20_000, ...(signal ? { signal } : {}) });
  const out = new Map<string, ClusterUsage>();
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    let row: { Name?: string; CPUPerc?: string; MemUsage?: string };
    try {
      row = JSON.parse(line) as typeof row;
    } catch {
      continue;
    }
    const name = row.Name ?? '';
    if (!NODE_SUFFIX.test(name)) continue;
    const cluster = name.replace(NODE_SUFFIX, '');
    const u = out.get(cluster) ?? { cpuPercent: 0, memoryBytes: 0, nodes: 0 };
    const cpu = Number.parseFloat(row.CPUPerc ?? '');
    const mem = parseSize((row.MemUsage ?? '').split('/')[0] ?? '');
    u.cpuPercent += Number.isFinite(cpu) ? cpu : 0;
    u.memoryBytes += Number.isFinite(mem) ? mem : 0;
    u.nodes++;
    out.set(cluster, u);
  }
  return out;
}

/** The groups whose learners own each running cluster (a learner in two groups counts in both). */
export function clusterGroups(db: Db): { cluster: string; groupId: string }[] {
  return db
    .prepare(
      "SELECT a.cluster_name AS cluster, m.group_id AS groupId FROM attempts a JOIN group_members m ON m.learner_id = a.learner_id AND m.role = 'learner' WHERE a.cluster_name IS NOT NULL AND a.status IN ('provisioning', 'setting-up', 'ready', 'grading')",
    )
    .all() as unknown as { cluster: string; groupId: string }[];
}
