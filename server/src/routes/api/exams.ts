import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import {
  errors,
  EXAM_ACTIONS,
  ExamAttemptDto,
  ExamAttemptParams,
  ExamFocusBody,
  ExamHistoryDto,
  ExamListDto,
  ExamMarkBody,
  ExamParams,
  ExamSummaryDto,
  ExamTaskMarksDto,
  ExamTaskParams,
  LabRecordsDto,
  NoContent,
  SolutionDto,
} from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import { requireLearner } from '../../auth/plugin.ts';
import { AppError, notFound } from '../../errors.ts';
import type { ExamAttempt } from '../../exams/exam-repository.ts';
import type { ExamAttemptView, ExamService } from '../../exams/exam-service.ts';
import type { ExamCatalogService } from '../../exams/exam-catalog.ts';
import { labRecords } from '../../exams/lab-history.ts';
import { DOMAIN_IDS, DOMAINS } from '../../labs/format.ts';

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
    const dto = (v: ExamAttemptView): z.infer<typeof ExamAttemptDto> => ({
      ...v,
      params: exams.paramsOf(v.id) ?? {},
      exam: {
        id: v.exam.id,
        title: v.exam.title,
        minutes: v.exam.minutes,
        passPercent: v.exam.passPercent,
        kubernetes: v.exam.kubernetes,
        clusters: v.exam.clusters,
        tasks: v.exam.tasks,
      },
    });
    const summary = (e: NonNullable<ReturnType<ExamCatalogService['get']>>): z.infer<typeof ExamSummaryDto> => ({
      id: e.id,
      title: e.title,
      summary: e.summary,
      minutes: e.minutes,
      passPercent: e.passPercent,
      kubernetes: e.kubernetes,
      clusters: e.clusters,
      tasks: e.tasks,
    });

    app.get('/api/exams', { schema: { tags: ['exams'], summary: 'The mock exams of this server', response: { 200: ExamListDto } } }, async () => ({
      exams: catalog.current.exams.map(summary),
    }));

    app.get(
      '/api/exams/:examId',
      { schema: { tags: ['exams'], summary: 'One mock exam', params: ExamParams, response: { 200: ExamSummaryDto, ...errors(404) } } },
      async (req) => {
        const e = catalog.get(req.params.examId);
        if (!e) throw notFound('exam', req.params.examId);
        return summary(e);
      },
    );

    app.post(
      '/api/exams/:examId/attempts',
      {
        schema: {
          tags: ['exams'],
          summary: 'Start the exam: its clusters are provisioned; the countdown starts when all are ready',
          params: ExamParams,
          response: { 200: ExamAttemptDto, 201: ExamAttemptDto, ...errors(401, 404, 409) },
        },
      },
      async (req, reply) => {
        const learner = requireLearner(req);
        const { attempt, created } = exams.start(learner.id, req.params.examId);
        return reply.code(created ? 201 : 200).send(dto(exams.view(attempt)));
      },
    );

    app.get(
      '/api/exam-attempts',
      { schema: { tags: ['exams'], summary: 'My exam attempts (history), newest first', response: { 200: ExamHistoryDto, ...errors(401) } } },
      async (req) => {
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
      },
    );

    app.get(
      '/api/exam-attempts/:examAttemptId',
      {
        schema: {
          tags: ['exams'],
          summary: 'The exam screen: countdown (server time), tasks with flags and notes, clusters, result',
          params: ExamAttemptParams,
          response: { 200: ExamAttemptDto, ...errors(401, 404) },
        },
      },
      async (req) => {
        return dto(exams.view(exams.owned(req.params.examAttemptId, requireLearner(req).id)));
      },
    );

    app.post(
      '/api/exam-attempts/:examAttemptId/focus',
      {
        schema: {
          tags: ['exams'],
          summary: 'The navigator shows this task (it counts as opened; time per task is measured from focus)',
          params: ExamAttemptParams,
          body: ExamFocusBody,
          response: { 204: NoContent, ...errors(401, 404, 409) },
        },
      },
      async (req, reply) => {
        exams.focus(req.params.examAttemptId, requireLearner(req).id, req.body.number);
        return reply.code(204).send(null);
      },
    );

    app.put(
      '/api/exam-attempts/:examAttemptId/tasks/:number',
      {
        schema: {
          tags: ['exams'],
          summary: 'Flag a task for review and/or save its notes',
          params: ExamTaskParams,
          body: ExamMarkBody,
          response: { 200: ExamTaskMarksDto, ...errors(401, 404, 409) },
        },
      },
      async (req) => {
        const body = req.body;
        return exams.mark(req.params.examAttemptId, requireLearner(req).id, req.params.number, {
          ...(body.flagged !== undefined ? { flagged: body.flagged } : {}),
          ...(body.notes !== undefined ? { notes: body.notes } : {}),
        });
      },
    );

    // One route per action the contract names (EXAM_ACTIONS): the record makes a missing or extra one a type error.
    const actions: Record<(typeof EXAM_ACTIONS)[number], readonly [string, (id: string, learnerId: string) => Promise<ExamAttempt>]> = {
      submit: ['Submit the exam: the terminal turns read-only and every task is graded on the live clusters', (id, l) => exams.submit(id, l)],
      regrade: ['During review: grade the clusters again (the exam score stays the one at submit)', (id, l) => exams.regrade(id, l)],
      unlock: ['During review: let the terminal take input again, to explore', async (id, l) => exams.unlock(id, l)],
      finish: ['End the exam: submits it while it runs, ends the review (clusters are deleted), or stops it while it starts', (id, l) => exams.finish(id, l)],
    };
    for (const action of EXAM_ACTIONS) {
      const [summaryText, run] = actions[action];
      app.post(
        `/api/exam-attempts/:examAttemptId/${action}`,
        { schema: { tags: ['exams'], summary: summaryText, params: ExamAttemptParams, response: { 200: ExamAttemptDto, ...errors(401, 404, 409) } } },
        async (req) => {
          return dto(exams.view(await run(req.params.examAttemptId, requireLearner(req).id)));
        },
      );
    }

    app.get(
      '/api/history/labs',
      {
        schema: {
          tags: ['exams'],
          summary: "My single-lab record: attempts, best score and best time to a full score, against the lab's minutes",
          response: { 200: LabRecordsDto, ...errors(401) },
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
      '/api/exam-attempts/:examAttemptId/tasks/:number/solution',
      {
        schema: {
          tags: ['exams'],
          summary: "After submitting: the reference solution of a task (its lab's solution files)",
          params: ExamTaskParams,
          response: { 200: SolutionDto, ...errors(401, 404, 409) },
        },
      },
      async (req) => {
        const a = exams.owned(req.params.examAttemptId, requireLearner(req).id);
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
