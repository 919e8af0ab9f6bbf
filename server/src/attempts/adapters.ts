import type { TerminalAttempt, TerminalAttempts } from '../terminal/attempts.ts';
import type { AttemptStatus } from './attempt-repository.ts';
import type { AttemptService } from './attempt-service.ts';

const TERMINAL_STATUS: Record<AttemptStatus, TerminalAttempt['status']> = {
  queued: 'starting',
  provisioning: 'starting',
  'setting-up': 'starting',
  ready: 'running',
  grading: 'running',
  finished: 'ended',
  failed: 'ended',
  expired: 'ended',
};

/** The terminal's narrow view of attempts, backed by the attempt service. */
export function terminalAttempts(service: AttemptService): TerminalAttempts & { touch(id: string): void } {
  return {
    get(id) {
      const a = service.get(id);
      if (!a) return undefined;
      return { id: a.id, learnerId: a.learnerId, clusterName: a.clusterName ?? '', status: TERMINAL_STATUS[a.status], kubernetesVersion: a.kubernetes };
    },
    onEnded: (cb) => service.onEnded(cb),
    // setting-up: the cluster exists and the lab's setup runs; the workstation can be made meanwhile.
    // (An exam's clusters share the exam's one workstation: none is made per cluster.)
    onClusterCreated: (cb) => service.onStatus((id, status) => status === 'setting-up' && !service.get(id)?.examAttemptId && cb(id)),
    touch: (id) => service.touch(id),
  };
}

/** What the grading engine needs from attempts: ready ⇄ grading, and where the cluster's kubeconfig is. */
export interface GradableAttempts {
  /** ready → grading; AppError 404 attempt_not_found, 409 attempt_not_ready | attempt_busy. */
  beginGrading(id: string, learnerId: string): Promise<{ id: string; labId: string; kubeconfigPath: string }>;
  /** grading → ready. */
  endGrading(id: string): void;
}
