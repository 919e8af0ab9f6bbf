import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { App } from '../../app-types.ts';
import { requireLearner } from '../../auth/plugin.ts';
import { AppError, notFound } from '../../errors.ts';
import { EXAM_STATUSES, type ExamAttempt } from '../../exams/exam-repository.ts';
import type { ExamAttemptView, ExamService } from '../../exams/exam-service.ts';
import type { ExamCatalogService } from '../../exams/exam-catalog.ts';
import { labRecords } from '../../exams/lab-history.ts';
import { DOMAIN_IDS, DOMAINS } from '../../labs/format.ts';
import { TaskReportDto } from './attempt-grades.ts';

const ErrorDto = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const Domain = z.enum(DOMAIN_IDS);

export const ExamTaskDto = z.object({ number: z.number(), labId: z.string(), taskIds: z.array(z.string()), cluster: z.string(), weight: z.number(), title: z.string(), domain: Domain });
export const ExamClusterDto = z.object({ name: z.string(), workers: z.number(), cni: z.string(), networkPolicy: z.boolean() });
export const ExamSummaryDto = z.object({
  id: z.string(),
  title: z.string(),
  summary: z.string(),
  minutes: z.number(),
  passPercent: z.number(),
  kubernetes: z.string(),
  clusters: z.array(ExamClusterDto),
  tasks: z.array(ExamTaskDto),
});
export const ExamResultDto = z.object({
  score: z.number(),
  maxScore: z.number(),
  percent: z.number(),
  passPercent: z.number(),
  passed: z.boolean(),
  gradedAt: z.string(),
  durationMs: z.number(),
  tasks: z.array(z.object({ number: z.number(), labId: z.string(), title: z.string(), domain: Domain, cluster: z.string(), weight: z.number(), score: z.number(), reports: z.array(TaskReportDto), error: z.string().optional() })),
});
export const ExamAttemptDto = z.object({
  id: z.string(),
  examId: z.string(),
  status: z.enum(EXAM_STATUSES),
  exam: ExamSummaryDto.omit({ summary: true }),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  deadlineAt: z.string().nullable(),
  submittedAt: z.string().nullable(),
  submitReason: z.enum(['learner', 'time']).nullable(),
  reviewUntil: z.string().nullable(),
  endedAt: z.string().nullable(),
  failure: z.string().nullable(),
  inputUnlocked: z.boolean(),
  serverNow: z.string(),
  remainingMs: z.number().nullable(),
  focusTask: z.number().nullable(),
  tasks: z.array(ExamTaskDto.extend({ opened: z.boolean(), flagged: z.boolean(), notes: z.string(), timeMs: z.number() })),
  clusters: z.array(
    z.object({
      context: z.string(),
      attemptId: z.string(),
      status: z.string(),
      queuePosition: z.number().nullable(),
      nodes: z.array(z.object({ name: z.string(), container: z.string() })),
      steps: z.array(z.object({ name: z.string(), state: z.enum(['running', 'done', 'failed']), elapsedMs: z.number() })),
      failure: z.string().nullable(),
    }),
  ),
  result: ExamResultDto.nullable(),
  regrade: ExamResultDto.nullable(),
  /** The values this exam attempt drew for its parametrised labs: lab id → param → value (the text's <Param>). */
  params: z.record(z.string(), z.record(z.string(), z.string())),
});
export const ExamHistoryDto = z.object({
  attempts: z.array(
    z.object({
      id: z.string(),
      examId: z.string(),
      title: z.string(),
      status: z.enum(EXAM_STATUSES),
      createdAt: z.string(),
      submittedAt: z.string().nullable(),
      percent: z.number().nullable(),
      passed: z.boolean().nullable(),
      passPercent: z.number(),
      /** Seconds from the start of the countdown to the submission. */
      seconds: z.number().nullable(),
      domains: z.array(z.object({ id: Domain, score: z.number(), maxScore: z.number() })),
    }),
  ),
  domains: z.array(z.object({ id: Domain, name: z.string() })),
});

const ExamParams = z.object({ examId: z.string().min(1).max(60) });
const AttemptParams = z.object({ id: z.string().min(1).max(128) });
const TaskParams = AttemptParams.extend({ number: z.coerce.number().int().min(1).max(100) });

/** Score per CKA domain of one result. */
function domainsOf(a: ExamAttempt): { id: (typeof DOMAIN_IDS)[number]; score: number; maxScore: number }[] {
  const by = new Map<(typeof DOMAIN_IDS)[number], { score: number; maxScore: number }>();
  for (const t of a.result?.tasks ?? []) {
    const d = by.get(t.domain) ?? { score: 0, maxScore: 0 };
    d.score += t.score;
    d.maxScore += t.weight;
    by.set(t.domain, d);
  }
  return [...by].map(([id, d]) => ({ id, score: Math.round(d.score * 100) / 100, maxScore: d.maxScore }));
}

/** Mock exams: the list, starting one, the exam screen's state and marks, submit, review, history. */
export default function examRoutes(exams: ExamService, catalog: ExamCatalogService) {
  return async function routes(app: App) {
    const dto = (v: ExamAttemptView): z.infer<typeof ExamAttemptDto> => ({ ...v, params: exams.paramsOf(v.id) ?? {}, exam: { id: v.exam.id, title: v.exam.title, minutes: v.exam.minutes, passPercent: v.exam.passPercent, kubernetes: v.exam.kubernetes, clusters: v.exam.clusters, tasks: v.exam.tasks } });
    const summary = (e: NonNullable<ReturnType<ExamCatalogService['get']>>): z.infer<typeof ExamSummaryDto> => ({ id: e.id, title: e.title, summary: e.summary, minutes: e.minutes, passPercent: e.passPercent, kubernetes: e.kubernetes, clusters: e.clusters, tasks: e.tasks });

    app.get('/api/exams', { schema: { tags: ['exams'], summary: 'The mock exams of this server', response: { 200: z.object({ exams: z.array(ExamSummaryDto) }) } } }, async () => ({ exams: catalog.current.exams.map(summary) }));

    app.get('/api/exams/:examId', { schema: { tags: ['exams'], summary: 'One mock exam', params: ExamParams, response: { 200: ExamSummaryDto, 404: ErrorDto } } }, async (req) => {
      const e = catalog.get(req.params.examId);
      if (!e) throw notFound('exam', req.params.examId);
      return summary(e);
    });

    app.post(
      '/api/exams/:examId/attempts',
      { schema: { tags: ['exams'], summary: 'Start the exam: its clusters are provisioned; the countdown starts when all are ready', params: ExamParams, response: { 200: ExamAttemptDto, 201: ExamAttemptDto, 404: ErrorDto, 409: ErrorDto } } },
      async (req, reply) => {
        const learner = requireLearner(req);
        const { attempt, created } = exams.start(learner.id, req.params.examId);
        return reply.code(created ? 201 : 200).send(dto(exams.view(attempt)));
      },
    );

    app.get('/api/exam-attempts', { schema: { tags: ['exams'], summary: 'My exam attempts (history), newest first', response: { 200: ExamHistoryDto } } }, async (req) => {
      const learner = requireLearner(req);
      return {
        attempts: exams.listForLearner(learner.id).map((a) => ({
          id: a.id,
          examId: a.examId,
          title: a.exam.title,
          status: a.status,
          createdAt: a.createdAt,
          submittedAt: a.submittedAt,
          percent: a.result?.percent ?? null,
          passed: a.result ? a.result.passed : null,
          passPercent: a.exam.passPercent,
          seconds: a.startedAt && a.submittedAt ? Math.round((Date.parse(a.submittedAt) - Date.parse(a.startedAt)) / 1000) : null,
          domains: domainsOf(a),
        })),
        domains: DOMAIN_IDS.map((id) => ({ id, name: DOMAINS[id] })),
      };
    });

    app.get('/api/exam-attempts/:id', { schema: { tags: ['exams'], summary: 'The exam screen: countdown (server time), tasks with flags and notes, clusters, result', params: AttemptParams, response: { 200: ExamAttemptDto, 404: ErrorDto } } }, async (req) => {
      return dto(exams.view(exams.owned(req.params.id, requireLearner(req).id)));
    });

    app.post(
      '/api/exam-attempts/:id/focus',
      { schema: { tags: ['exams'], summary: 'The navigator shows this task (it counts as opened; time per task is measured from focus)', params: AttemptParams, body: z.object({ number: z.number().int().min(1) }), response: { 204: z.null(), 404: ErrorDto } } },
      async (req, reply) => {
        exams.focus(req.params.id, requireLearner(req).id, req.body.number);
        return reply.code(204).send(null);
      },
    );

    app.put(
      '/api/exam-attempts/:id/tasks/:number',
      {
        schema: {
          tags: ['exams'],
          summary: 'Flag a task for review and/or save its notes',
          params: TaskParams,
          body: z.object({ flagged: z.boolean().optional(), notes: z.string().max(20_000).optional() }),
          response: { 200: z.object({ number: z.number(), opened: z.boolean(), flagged: z.boolean(), notes: z.string(), timeMs: z.number() }), 404: ErrorDto, 409: ErrorDto },
        },
      },
      async (req) => {
        const body = req.body;
        return exams.mark(req.params.id, requireLearner(req).id, req.params.number, { ...(body.flagged !== undefined ? { flagged: body.flagged } : {}), ...(body.notes !== undefined ? { notes: body.notes } : {}) });
      },
    );

    for (const [action, summaryText, run] of [
      ['submit', 'Submit the exam: the terminal turns read-only and every task is graded on the live clusters', (id: string, l: string) => exams.submit(id, l)],
      ['regrade', 'During review: grade the clusters again (the exam score stays the one at submit)', (id: string, l: string) => exams.regrade(id, l)],
      ['unlock', 'During review: let the terminal take input again, to explore', async (id: string, l: string) => exams.unlock(id, l)],
      ['finish', 'End the exam: submits it while it runs, ends the review (clusters are deleted), or stops it while it starts', (id: string, l: string) => exams.finish(id, l)],
    ] as const) {
      app.post(`/api/exam-attempts/:id/${action}`, { schema: { tags: ['exams'], summary: summaryText, params: AttemptParams, response: { 200: ExamAttemptDto, 404: ErrorDto, 409: ErrorDto } } }, async (req) => {
        return dto(exams.view(await run(req.params.id, requireLearner(req).id)));
      });
    }

    app.get(
      '/api/history/labs',
      {
        schema: {
          tags: ['exams'],
          summary: 'My single-lab record: attempts, best score and best time to a full score, against the lab\'s minutes',
          response: { 200: z.object({ labs: z.array(z.object({ labId: z.string(), title: z.string().nullable(), domain: Domain.nullable(), minutes: z.number().nullable(), attempts: z.number(), bestScore: z.number().nullable(), maxScore: z.number().nullable(), bestSeconds: z.number().nullable(), lastAt: z.string() })) }) },
        },
      },
      async (req) => {
        const learner = requireLearner(req);
        return {
          labs: labRecords(app.db, learner.id).map((r) => {
            const lab = app.labs.get(r.labId);
            return { ...r, title: lab?.meta.title ?? null, domain: lab?.meta.domain ?? null, minutes: lab?.meta.minutes ?? null };
          }),
        };
      },
    );

    app.get(
      '/api/exam-attempts/:id/tasks/:number/solution',
      {
        schema: {
          tags: ['exams'],
          summary: "After submitting: the reference solution of a task (its lab's solution files)",
          params: TaskParams,
          response: { 200: z.object({ files: z.array(z.object({ path: z.string(), text: z.string() })) }), 404: ErrorDto, 409: ErrorDto },
        },
      },
      async (req) => {
        const a = exams.owned(req.params.id, requireLearner(req).id);
        if (!a.result) throw new AppError(409, 'exam_not_submitted', 'reference solutions are shown once the exam is submitted');
        const task = a.exam.tasks.find((t) => t.number === req.params.number);
        if (!task) throw new AppError(404, 'exam_task_not_found', `this exam has no task ${req.params.number}`);
        // The solution as this attempt's draw wrote it.
        const lab = app.labs.forAttempt(task.labId, exams.paramsOf(a.id));
        if (!lab) throw notFound('lab', task.labId);
        const rels = [...lab.files.solutionManifests, ...(lab.files.solutionScript ? [lab.files.solutionScript] : [])];
        return { files: await Promise.all(rels.map(async (p) => ({ path: p, text: await readFile(path.join(lab.dir, p), 'utf8') }))) };
      },
    );
  };
}
