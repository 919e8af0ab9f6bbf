import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import {
  AttemptParams,
  errors,
  NodeListDto,
  NoContent,
  OpenTerminalBody,
  TerminalDto,
  TerminalListDto,
  TerminalParams,
  TicketDto,
} from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import { requireLearner } from '../../auth/plugin.ts';
import { AppError } from '../../errors.ts';
import { Close, Op, TERMINAL_SUBPROTOCOL, TICKET_SUBPROTOCOL_PREFIX } from '../../terminal/protocol.ts';

/** Largest frame a client may send; pastes are split by the browser into smaller INPUT frames. */
export const MAX_CLIENT_FRAME = 64 * 1024;

/** Options of @fastify/websocket (registered once in app.ts): small frames, no compression, our subprotocol only. */
export const websocketOptions = {
  options: {
    maxPayload: MAX_CLIENT_FRAME,
    perMessageDeflate: false,
    handleProtocols: (offered: Set<string>) => (offered.has(TERMINAL_SUBPROTOCOL) ? TERMINAL_SUBPROTOCOL : false),
  },
};

const socketPath = (attemptId: string, terminalId: string) => `/api/attempts/${encodeURIComponent(attemptId)}/terminals/${terminalId}/socket`;

/** The ticket from `Sec-WebSocket-Protocol: kubedrill.terminal.v1, kd-ticket.<ticket>` (kept out of URLs and logs). */
function ticketFrom(req: FastifyRequest): string | undefined {
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  if (!offered.includes(TERMINAL_SUBPROTOCOL)) return undefined;
  return offered.find((p) => p.startsWith(TICKET_SUBPROTOCOL_PREFIX))?.slice(TICKET_SUBPROTOCOL_PREFIX.length) || undefined;
}

/** Terminals of an attempt: list, open, close, tickets, and the WebSocket that carries one. */
export default async function terminalRoutes(app: App) {
  const terminals = app.terminals;
  // A watch ticket's watcher, from the check before the upgrade to the socket handler.
  const watchers = new WeakMap<FastifyRequest, string>();

  app.get(
    '/api/attempts/:attemptId/terminals',
    {
      schema: { tags: ['terminals'], summary: "The attempt's open terminals", params: AttemptParams, response: { 200: TerminalListDto, ...errors(401, 404) } },
    },
    async (req) => {
      await terminals.attemptFor(req.params.attemptId, requireLearner(req));
      return { mode: terminals.mode, terminals: terminals.list(req.params.attemptId) };
    },
  );

  app.post(
    '/api/attempts/:attemptId/terminals',
    {
      schema: {
        tags: ['terminals'],
        summary: 'Open a shell on the workstation, or a root shell on a node (kind "node")',
        params: AttemptParams,
        body: OpenTerminalBody,
        response: { 201: TerminalDto, ...errors(401, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      const attempt = await terminals.attemptFor(req.params.attemptId, requireLearner(req));
      const t = await terminals.create(attempt, { kind: req.body.kind, node: req.body.node });
      return reply.code(201).send(t);
    },
  );

  app.get(
    '/api/attempts/:attemptId/nodes',
    {
      schema: {
        tags: ['terminals'],
        summary: "Nodes of the attempt's cluster with their exam-style names (for node shells and ssh)",
        params: AttemptParams,
        response: { 200: NodeListDto, ...errors(401, 404, 409, 503) },
      },
    },
    async (req) => {
      const attempt = await terminals.attemptFor(req.params.attemptId, requireLearner(req));
      return { nodes: await terminals.nodes(attempt) };
    },
  );

  app.delete(
    '/api/attempts/:attemptId/terminals/:terminalId',
    {
      schema: { tags: ['terminals'], summary: 'Close a terminal (kills its shell)', params: TerminalParams, response: { 204: NoContent, ...errors(401, 404) } },
    },
    async (req, reply) => {
      await terminals.attemptFor(req.params.attemptId, requireLearner(req));
      await terminals.closeTerminal(req.params.attemptId, req.params.terminalId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/attempts/:attemptId/terminals/:terminalId/tickets',
    {
      schema: {
        tags: ['terminals'],
        summary: 'A short-lived, single-use ticket to open the terminal WebSocket',
        params: TerminalParams,
        response: { 200: TicketDto, ...errors(401, 404, 429) },
      },
    },
    async (req) => {
      const learner = requireLearner(req);
      const { attemptId, terminalId } = req.params;
      await terminals.attemptFor(attemptId, learner);
      if (!terminals.get(attemptId, terminalId)) throw new AppError(404, 'terminal_not_found', `no terminal "${terminalId}" in this attempt`);
      if (!terminals.upgrades.take(`ticket:${learner.id}`)) throw new AppError(429, 'rate_limited', 'too many terminal connections; wait a moment');
      const { ticket, expiresAt } = terminals.tickets.issue({ learnerId: learner.id, attemptId, terminalId });
      return {
        ticket,
        expiresAt: expiresAt.toISOString(),
        protocols: [TERMINAL_SUBPROTOCOL, `${TICKET_SUBPROTOCOL_PREFIX}${ticket}`],
        path: socketPath(attemptId, terminalId),
      };
    },
  );

  await app.register(async (scope) => {
    scope.get(
      '/api/attempts/:attemptId/terminals/:terminalId/socket',
      {
        websocket: true,
        schema: { params: TerminalParams, response: errors(401, 403, 404, 429) },
        // Everything is checked before the upgrade: a refused request gets an HTTP status and no socket.
        // Failed upgrades are counted against the learner who made them (or, anonymous, against the
        // client address); valid tickets count against nothing, so one learner's mistakes (or an
        // attacker's) cannot lock out another learner behind the same proxy address.
        preValidation: async (req) => {
          const learner = req.learner;
          const bucket = learner ? `learner:${learner.id}` : `ip:${req.ip}`;
          if (!terminals.upgrades.available(bucket)) throw new AppError(429, 'rate_limited', 'too many failed terminal connections; wait a moment');
          try {
            const origin = req.headers.origin;
            if (!origin || !app.origins.has(origin))
              throw new AppError(403, 'origin_not_allowed', `terminal connections from origin ${origin ?? '(none)'} are not allowed`);
            requireLearner(req);
            const { attemptId, terminalId } = req.params as z.infer<typeof TerminalParams>;
            const ticket = ticketFrom(req);
            if (!ticket) throw new AppError(401, 'ticket_required', 'a terminal ticket is required (POST …/tickets)');
            const check = terminals.tickets.consume(ticket, { learnerId: learner!.id, attemptId, terminalId });
            if (!check.ok)
              throw new AppError(
                403,
                `ticket_${check.why}`,
                `the terminal ticket is ${check.why === 'mismatch' ? 'for another terminal' : check.why === 'expired' ? 'expired' : 'unknown or already used'}`,
              );
            if (!terminals.get(attemptId, terminalId)) throw new AppError(404, 'terminal_not_found', `no terminal "${terminalId}" in this attempt`);
            if (check.watcher) watchers.set(req, check.watcher);
          } catch (e) {
            terminals.upgrades.take(bucket);
            throw e;
          }
        },
      },
      (socket, req) => {
        const { attemptId, terminalId } = req.params as z.infer<typeof TerminalParams>;
        const session = terminals.get(attemptId, terminalId);
        if (!session) {
          socket.close(Close.terminalClosed, 'this terminal has ended');
          return;
        }
        const watcher = watchers.get(req);
        const handle = session.attach(
          {
            send: (frame) => {
              if (socket.readyState === socket.OPEN) socket.send(frame, { binary: true });
            },
            close: (code, reason) => socket.close(code, reason),
          },
          watcher ? { watcher } : {},
        );
        socket.on('message', (data, isBinary) => {
          if (!isBinary) {
            handle.detach();
            socket.close(Close.badFrame, 'text frames are not accepted');
            return;
          }
          try {
            const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
            if (frame[0] === Op.input && !watcher) terminals.touch(attemptId);
            handle.receive(frame);
          } catch (err) {
            req.log.error({ err, attemptId, terminalId }, 'terminal frame failed');
            handle.detach();
            socket.close(1011, 'internal error');
          }
        });
        socket.on('close', () => handle.detach());
        socket.on('error', () => handle.detach());
      },
    );
  });
}
