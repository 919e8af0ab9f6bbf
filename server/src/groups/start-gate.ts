import type { Learner } from '../auth/learners.ts';
import { AppError } from '../errors.ts';
import { isExpired, type GroupRepository } from './group-repository.ts';

/**
 * Refuses a learner's new attempt when their group has ended or uses its whole share of clusters.
 * Instructors and admins are not held by groups; a learner in no group only by the host's limits.
 */
export function assertMayStart(groups: GroupRepository, learner: Learner, hasActiveAttempt: boolean, now = new Date()): void {
  if (learner.role !== 'learner') return;
  const mine = groups.forLearner(learner.id).filter((g) => g.groupRole === 'learner');
  const live = mine.filter((g) => !isExpired(g, now));
  if (mine.length > 0 && live.length === 0) {
    const g = mine[0]!;
    throw new AppError(403, 'group_expired', `your group "${g.name}" ended on ${g.expiresAt?.slice(0, 10)}; ask your instructor to extend it`);
  }
  // Asking again for a running attempt is not a new cluster.
  if (hasActiveAttempt) return;
  for (const g of live) {
    if (g.maxClusters !== null && groups.activeAttempts(g.id) >= g.maxClusters) {
      throw new AppError(
        409,
        'group_capacity_full',
        `your group "${g.name}" is using all of its ${g.maxClusters} cluster(s); try again when someone finishes a lab`,
      );
    }
  }
}
