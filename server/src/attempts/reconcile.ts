import { errorMessage } from '../errors.ts';
import type { AttemptEvents } from './attempt-events.ts';
import type { AttemptRepository, AttemptStatus } from './attempt-repository.ts';
import type { AttemptServiceOptions } from './attempt-service.ts';
import type { ClusterPool } from './cluster-pool.ts';

/** What start-up reconcile did: clusters taken back, leftovers deleted, attempts failed. */
export interface ReconcileResult {
  adopted: string[];
  deleted: string[];
  failed: string[];
}

/**
 * Start-up: adopt clusters the database knows that still exist, delete clusters with our prefix it
 * does not know, fail attempts whose cluster vanished or whose preparation a restart interrupted.
 * Queued attempts go back into the queue, in the order the database lists them.
 */
export async function reconcileClusters(d: {
  repo: AttemptRepository;
  driver: AttemptServiceOptions['driver'];
  log: AttemptServiceOptions['log'];
  pool: ClusterPool;
  events: AttemptEvents;
  queue: string[];
  now: () => number;
  setStatus: (id: string, status: AttemptStatus) => void;
}): Promise<ReconcileResult> {
  const iso = () => new Date(d.now()).toISOString();
  const onHost = new Set(await d.driver.list());
  const out: ReconcileResult = { adopted: [], deleted: [], failed: [] };
  const keep = new Set<string>();
  const rows = new Map(d.repo.clusters().map((r) => [r.name, r]));
  for (const a of d.repo.active()) {
    if (a.status === 'queued') {
      if (!d.queue.includes(a.id)) d.queue.push(a.id);
      continue;
    }
    const exists = a.clusterName !== null && onHost.has(a.clusterName);
    if ((a.status === 'ready' || a.status === 'grading') && exists) {
      const name = a.clusterName!;
      const p = d.driver.paths(name);
      const c = {
        name,
        shape: a.shape,
        state: 'claimed' as const,
        attemptId: a.id,
        info: { name, kubeconfigPath: p.kubeconfig, internalKubeconfigPath: p.internalKubeconfig, nodes: [] },
        createdAt: rows.get(name)?.createdAt ?? a.createdAt,
      };
      d.pool.adopt(c);
      d.pool.save(c);
      keep.add(name);
      if (a.status === 'grading') d.setStatus(a.id, 'ready');
      out.adopted.push(name);
      continue;
    }
    const reason =
      a.status === 'ready' || a.status === 'grading'
        ? `its cluster ${a.clusterName ?? ''} no longer exists (deleted outside kubedrill, or the host restarted)`
        : 'the server stopped while this attempt was being prepared; start the lab again';
    d.repo.update(a.id, { status: 'failed', updatedAt: iso(), endedAt: iso(), endReason: 'failed', failureStep: 'Reconcile', failureMessage: reason });
    d.events.emit(a.id, { type: 'status', name: 'failed', state: null, elapsedMs: d.events.sinceStart(a.id), position: null, output: reason });
    out.failed.push(a.id);
  }
  for (const r of rows.values()) {
    if (keep.has(r.name)) continue;
    if (r.state === 'warm' && onHost.has(r.name)) {
      const p = d.driver.paths(r.name);
      d.pool.adopt({
        name: r.name,
        shape: r.shape,
        state: 'warm',
        attemptId: undefined,
        info: { name: r.name, kubeconfigPath: p.kubeconfig, internalKubeconfigPath: p.internalKubeconfig, nodes: [] },
        createdAt: r.createdAt,
      });
      keep.add(r.name);
      out.adopted.push(r.name);
    } else d.repo.deleteCluster(r.name);
  }
  await Promise.all(
    [...onHost]
      .filter((n) => !keep.has(n))
      .map(async (name) => {
        try {
          await d.driver.delete(name);
          out.deleted.push(name);
        } catch (e) {
          d.log.error({ cluster: name, error: errorMessage(e).split('\n')[0] }, 'reconcile: deleting leftover cluster failed');
        }
      }),
  );
  return out;
}
