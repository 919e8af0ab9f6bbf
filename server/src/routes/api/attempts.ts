import type { z } from 'zod';
import { AttemptDto, AttemptEventDto, AttemptEventsQuery, AttemptListDto, AttemptParams, errors, StartAttemptBody } from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import { ENDED, type AttemptEvent } from '../../attempts/attempt-repository.ts';
import type { AttemptView } from '../../attempts/attempt-service.ts';
import { requireLearner } from '../../auth/plugin.ts';
import { assertMayStart } from '../../groups/start-gate.ts';

const PING_MS = 15_000;

/** Attempts: start one, list mine, read one, follow its progress (SSE), finish it. */
export default async function attemptRoutes(app: App) {
  const dto = (a: AttemptView): z.infer<typeof AttemptDto> => ({
    id: a.id,
    labId: a.labId,
    labTitle: app.labs.get(a.labId)?.meta.title ?? null,
    status: a.status,
    shape: a.shape,
    kubernetes: a.kubernetes,
    clusterName: a.clusterName,
    queuePosition: a.queuePosition,
    estimateMs: a.estimateMs,
    queueWaitMs: a.queueWaitMs,
    createdAt: a.createdAt,
    readyAt: a.readyAt,
    endedAt: a.endedAt,
    expiresAt: a.expiresAt,
    lastActivityAt: a.lastActivityAt,
    endReason: a.endReason,
    failure: a.status === 'failed' ? { step: a.failureStep, message: a.failureMessage ?? 'failed', output: a.failureOutput } : null,
    params: a.params?.[a.labId] ?? {},
  });

  app.post(
    '/api/attempts',
    {
      schema: {
        tags: ['attempts'],
        summary: 'Start a lab: queue an attempt (or return the running attempt of the same lab)',
        body: StartAttemptBody,
        response: { 200: AttemptDto, 201: AttemptDto, ...errors(401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const learner = requireLearner(req);
      assertMayStart(
        app.groups,
        learner,
        app.attempts.listForLearner(learner.id).some((a) => !ENDED.has(a.status)),
      );
      const { attempt, created } = app.attempts.start(learner.id, req.body.labId);
      return reply.code(created ? 201 : 200).send(dto(attempt));
    },
  );

  app.get(
    '/api/attempts',
    { schema: { tags: ['attempts'], summary: 'My attempts, newest first', response: { 200: AttemptListDto, ...errors(401) } } },
    async (req) => {
      const learner = requireLearner(req);
      return { attempts: app.attempts.listForLearner(learner.id).map(dto) };
    },
  );

  app.get(
    '/api/attempts/:attemptId',
    { schema: { tags: ['attempts'], summary: 'One of my attempts', params: AttemptParams, response: { 200: AttemptDto, ...errors(401, 404) } } },
    async (req) => {
      return dto(app.attempts.owned(req.params.attemptId, requireLearner(req).id));
    },
  );

  app.post(
    '/api/attempts/:attemptId/finish',
    {
      schema: {
        tags: ['attempts'],
        summary: 'Finish the attempt and delete its cluster (finishing twice is a no-op)',
        params: AttemptParams,
        response: { 200: AttemptDto, ...errors(401, 404) },
      },
    },
    async (req) => {
      const a = app.attempts.owned(req.params.attemptId, requireLearner(req).id);
      return dto(app.attempts.finish(a.id, 'finished by the learner') ?? a);
    },
  );

  app.get(
    '/api/attempts/:attemptId/events',
    {
      schema: {
        tags: ['attempts'],
        summary: 'Progress as Server-Sent Events (id = seq; resumes after Last-Event-ID or ?after=); ends when the attempt ends',
        params: AttemptParams,
        querystring: AttemptEventsQuery,
        response: { 200: AttemptEventDto.describe('text/event-stream: one event per line group, its data this object'), ...errors(401, 404) },
      },
    },
    async (req, reply) => {
      const a = app.attempts.owned(req.params.attemptId, requireLearner(req).id);
      const header = Number(req.headers['last-event-id']);
      const after = Number.isInteger(header) && header >= 0 ? header : (req.query.after ?? 0);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 2000\n\n');
      let closed = false;
      const pings: NodeJS.Timeout[] = [];
      const isFinal = (e: AttemptEvent) => e.type === 'status' && ENDED.has(e.name as never);
      const send = (e: AttemptEvent) => {
        if (closed) return;
        res.write(`id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(AttemptEventDto.parse(e))}\n\n`);
        if (isFinal(e)) close();
      };
      const sub = app.attempts.subscribe(a.id, after, send);
      function close() {
        if (closed) return;
        closed = true;
        for (const p of pings) clearInterval(p);
        sub.unsubscribe();
        res.end();
      }
      for (const e of sub.replay) send(e);
      if (!closed && ENDED.has(app.attempts.get(a.id)?.status ?? 'finished')) close();
      if (closed) return;
      pings.push(setInterval(() => res.write(': ping\n\n'), PING_MS).unref());
      res.on('close', close); // the client went away (the request's own 'close' fires once its body is read)
    },
  );
}
