import { z } from 'zod';
import type { App } from '../../app-types.ts';
import { ENDED, type AttemptEvent } from '../../attempts/attempt-repository.ts';
import type { AttemptView } from '../../attempts/attempt-service.ts';
import { requireLearner } from '../../auth/plugin.ts';
import { assertMayStart } from '../../groups/start-gate.ts';

export const AttemptDto = z.object({
  id: z.string(),
  labId: z.string(),
  labTitle: z.string().nullable(),
  status: z.enum(['queued', 'provisioning', 'setting-up', 'ready', 'grading', 'finished', 'failed', 'expired']),
  shape: z.string(),
  kubernetes: z.string(),
  clusterName: z.string().nullable(),
  /** 1-based place in the queue while queued. */
  queuePosition: z.number().nullable(),
  /** While being prepared: the median Start → ready of recent starts of this cluster shape. */
  estimateMs: z.number().nullable(),
  createdAt: z.string(),
  readyAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  lastActivityAt: z.string(),
  endReason: z.string().nullable(),
  failure: z.object({ step: z.string().nullable(), message: z.string(), output: z.string().nullable() }).nullable(),
  /** The values this attempt drew for its lab's params (the text's <Param name>); empty for a lab without params. */
  params: z.record(z.string(), z.string()),
});
export const AttemptEventDto = z.object({
  seq: z.number(),
  at: z.string(),
  type: z.enum(['status', 'step', 'queue']),
  name: z.string(),
  state: z.enum(['running', 'done', 'failed']).nullable(),
  elapsedMs: z.number(),
  position: z.number().nullable(),
  output: z.string().nullable(),
});

const Params = z.object({ attemptId: z.string().min(1).max(128) });
const ErrorDto = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const StartBody = z.object({ labId: z.string().min(1).max(100) });

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
        body: StartBody,
        response: { 200: AttemptDto, 201: AttemptDto, 401: ErrorDto, 403: ErrorDto, 404: ErrorDto, 409: ErrorDto },
      },
    },
    async (req, reply) => {
      const learner = requireLearner(req);
      assertMayStart(app.groups, learner, app.attempts.listForLearner(learner.id).some((a) => !ENDED.has(a.status)));
      const { attempt, created } = app.attempts.start(learner.id, req.body.labId);
      return reply.code(created ? 201 : 200).send(dto(attempt));
    },
  );

  app.get('/api/attempts', { schema: { tags: ['attempts'], summary: 'My attempts, newest first', response: { 200: z.object({ attempts: z.array(AttemptDto) }), 401: ErrorDto } } }, async (req) => {
    const learner = requireLearner(req);
    return { attempts: app.attempts.listForLearner(learner.id).map(dto) };
  });

  app.get('/api/attempts/:attemptId', { schema: { tags: ['attempts'], summary: 'One of my attempts', params: Params, response: { 200: AttemptDto, 404: ErrorDto } } }, async (req) => {
    return dto(app.attempts.owned(req.params.attemptId, requireLearner(req).id));
  });

  app.post(
    '/api/attempts/:attemptId/finish',
    { schema: { tags: ['attempts'], summary: 'Finish the attempt and delete its cluster (finishing twice is a no-op)', params: Params, response: { 200: AttemptDto, 404: ErrorDto } } },
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
        params: Params,
        querystring: z.object({ after: z.coerce.number().int().min(0).optional() }),
        response: { 404: ErrorDto },
      },
    },
    async (req, reply) => {
      const a = app.attempts.owned(req.params.attemptId, requireLearner(req).id);
      const header = Number(req.headers['last-event-id']);
      const after = Number.isInteger(header) && header >= 0 ? header : (req.query.after ?? 0);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
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
