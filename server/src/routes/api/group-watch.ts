import type { z } from 'zod';
import { errors, MemberParams, MemberTerminalsDto, TicketDto, WatchParams } from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import { requireLearner } from '../../auth/plugin.ts';
import { AppError, notFound } from '../../errors.ts';
import { TERMINAL_SUBPROTOCOL, TICKET_SUBPROTOCOL_PREFIX } from '../../terminal/protocol.ts';

/**
 * An instructor watches a learner's terminal to help them: read-only (the session never gives a
 * watcher input), and the learner's terminal is told who is watching, when they start and stop.
 */
export default async function groupWatchRoutes(app: App) {
  const terminals = app.terminals;

  // The caller must run the group (admin, or one of its instructors) and the learner must be a learner in it.
  function watchable(req: { params: z.infer<typeof MemberParams> } & Parameters<typeof requireLearner>[0]) {
    const me = requireLearner(req);
    const { groupId, learnerId } = req.params;
    const group = app.groups.get(groupId);
    if (!group || (me.role !== 'admin' && app.groups.roleIn(groupId, me.id) !== 'instructor')) throw notFound('group', groupId);
    if (app.groups.roleIn(groupId, learnerId) !== 'learner') throw notFound('member', learnerId);
    return me;
  }

  app.get(
    '/api/groups/:groupId/members/:learnerId/terminals',
    {
      schema: {
        tags: ['groups'],
        summary: "The terminals of a learner's running attempt, to watch one",
        params: MemberParams,
        response: { 200: MemberTerminalsDto, ...errors(401, 404) },
      },
    },
    async (req) => {
      watchable(req);
      const running = app.attempts.listForLearner(req.params.learnerId).find((a) => a.status === 'ready' || a.status === 'grading');
      return running ? { attemptId: running.id, terminals: terminals.list(running.id) } : { attemptId: null, terminals: [] };
    },
  );

  app.post(
    '/api/groups/:groupId/members/:learnerId/attempts/:attemptId/terminals/:terminalId/watch',
    {
      schema: {
        tags: ['groups'],
        summary: "A single-use ticket to watch a learner's terminal read-only (they see that you watch)",
        params: WatchParams,
        response: { 200: TicketDto, ...errors(401, 404, 429) },
      },
    },
    async (req) => {
      const me = watchable(req);
      const { learnerId, attemptId, terminalId } = req.params;
      await terminals.attemptFor(attemptId, { id: learnerId });
      if (!terminals.get(attemptId, terminalId)) throw new AppError(404, 'terminal_not_found', `no terminal "${terminalId}" in this attempt`);
      if (!terminals.upgrades.take(`ticket:${me.id}`)) throw new AppError(429, 'rate_limited', 'too many terminal connections; wait a moment');
      const { ticket, expiresAt } = terminals.tickets.issue({ learnerId: me.id, attemptId, terminalId, watcher: me.displayName });
      return {
        ticket,
        expiresAt: expiresAt.toISOString(),
        protocols: [TERMINAL_SUBPROTOCOL, `${TICKET_SUBPROTOCOL_PREFIX}${ticket}`],
        path: `/api/attempts/${encodeURIComponent(attemptId)}/terminals/${terminalId}/socket`,
      };
    },
  );
}
