import { errorMessage } from '../errors.ts';
import type { ServiceLog } from '../log.ts';
import type { ShellLauncher } from './launchers.ts';

/** Workstations made ahead for clusters set up in advance, handed to the attempt that claims the cluster. */
export interface SpareWorkstations {
  /** Makes the cluster's workstation (kubeconfig, node names, a first login shell) before anyone claims it. */
  prepare(clusterName: string, kubernetesVersion: string): void;
  /** Gives the cluster's workstation to the attempt; false when there is none (the attempt makes its own as usual). */
  claim(clusterName: string, attemptId: string): Promise<boolean>;
  /** Removes the cluster's workstation if no attempt claimed it (the cluster is being deleted). */
  discard(clusterName: string): void;
  /** Resolves when every spare being made is made (for benchmarks, which measure a learner arriving later). */
  settled(): Promise<void>;
}

const spareId = (clusterName: string) => `spare-${clusterName}`;

/**
 * Spares on a launcher that can hand a workstation over (container mode); undefined otherwise. A
 * workstation is several docker commands and the first `bash -l` in it is slow on a cold page cache
 * (~1–3 s on a busy host), which would otherwise be all that is left of a Start once the lab's setup was made in advance.
 */
export function spareWorkstations(launcher: ShellLauncher | undefined, log: Pick<ServiceLog, 'warn'>): SpareWorkstations | undefined {
  if (!launcher?.prepare || !launcher.adopt || !launcher.execInWorkstation) return undefined;
  // Each spare's making (container, kubeconfig, first login shell): a claim waits for it, so the
  // warm-up never runs against a workstation already renamed to its attempt.
  const spares = new Map<string, Promise<void>>();
  return {
    prepare(clusterName, kubernetesVersion) {
      const id = spareId(clusterName);
      if (spares.has(id)) return;
      const attempt = { id, learnerId: '', clusterName, status: 'running' as const, kubernetesVersion };
      const making = launcher.prepare!(attempt)
        // A login shell once, so the learner's first one finds bash, its profile and kubectl in the page cache.
        .then(() => launcher.execInWorkstation!(attempt, ['bash', '-lc', 'kubectl version --client >/dev/null 2>&1; true'], { timeoutMs: 30_000 }))
        .then(
          () => {},
          (e: unknown) => log.warn({ cluster: clusterName, error: errorMessage(e) }, 'making a workstation ahead failed (its learner gets one made at Start)'),
        );
      spares.set(id, making);
    },
    async claim(clusterName, attemptId) {
      const id = spareId(clusterName);
      const making = spares.get(id);
      if (!making) return false;
      spares.delete(id);
      await making;
      return launcher.adopt!(id, attemptId);
    },
    async settled() {
      await Promise.all(spares.values());
    },
    discard(clusterName) {
      const id = spareId(clusterName);
      const making = spares.get(id);
      if (!making) return;
      spares.delete(id);
      making
        .then(() => launcher.release(id))
        .catch((e: unknown) => log.warn({ cluster: clusterName, error: errorMessage(e) }, 'removing a spare workstation failed'));
    },
  };
}
