import type { z } from 'zod';
import { AttemptParams, errors, GradeDto, GradeListDto, WalkthroughDto, WalkthroughNextBody } from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import { requireLearner } from '../../auth/plugin.ts';
import type { GradingService } from '../../grading/grading-service.ts';
import type { StoredGrade } from '../../grading/grade-repository.ts';
import { AppError, notFound } from '../../errors.ts';

function toDto(g: StoredGrade): z.infer<typeof GradeDto> {
  return {
    id: g.id,
    attemptId: g.attemptId,
    labId: g.labId,
    score: g.score,
    maxScore: g.maxScore,
    createdAt: g.createdAt,
    report: g.report,
    ...(g.stepsPrepared ? { stepsPrepared: g.stepsPrepared } : {}),
  };
}

/** Routes for grading an attempt and reading its grades; register with app.register(attemptGradeRoutes(service)). */
export default function attemptGradeRoutes(grading: GradingService) {
  return async function routes(app: App) {
    app.post(
      '/api/attempts/:attemptId/grade',
      {
        schema: {
          tags: ['grading'],
          summary: "Grade the attempt's cluster now: runs every check of the lab and stores the report",
          params: AttemptParams,
          response: { 200: GradeDto, ...errors(401, 404, 409) },
        },
      },
      async (req) => {
        const learner = requireLearner(req);
        // A learner who closes the page stops the grade rather than leaving it running.
        const ctrl = new AbortController();
        const onClose = () => {
          if (!req.raw.complete || req.raw.destroyed) ctrl.abort();
        };
        req.raw.socket?.once('close', onClose);
        try {
          return toDto(await grading.grade(req.params.attemptId, learner.id, { signal: ctrl.signal }));
        } finally {
          req.raw.socket?.off('close', onClose);
        }
      },
    );

    app.get(
      '/api/attempts/:attemptId/walkthrough',
      {
        schema: {
          tags: ['grading'],
          summary: 'Where I am in a walkthrough attempt (a Killercoda scenario without verify scripts, not graded)',
          params: AttemptParams,
          response: { 200: WalkthroughDto, ...errors(401, 404, 409) },
        },
      },
      async (req) => {
        const learner = requireLearner(req);
        const attempt = app.attempts.get(req.params.attemptId);
        if (!attempt || attempt.learnerId !== learner.id) throw notFound('attempt', req.params.attemptId);
        const lab = app.labs.get(attempt.labId);
        if (!lab) throw new AppError(409, 'lab_unavailable', `lab "${attempt.labId}" of this attempt is no longer in the catalog`);
        const state = grading.walkthrough(attempt.id, learner.id, lab);
        if (!state) throw new AppError(409, 'lab_graded', `lab "${lab.id}" is graded, not a walkthrough: its progress is its grades`);
        return state;
      },
    );

    app.post(
      '/api/attempts/:attemptId/walkthrough/next',
      {
        schema: {
          tags: ['grading'],
          summary: "Next step (Done on the last) in a walkthrough: moves on and runs the reached step's background; records no grade",
          params: AttemptParams,
          body: WalkthroughNextBody,
          response: { 200: WalkthroughDto, ...errors(401, 404, 409) },
        },
      },
      async (req) => {
        const learner = requireLearner(req);
        return grading.advanceWalkthrough(req.params.attemptId, learner.id, req.body.from);
      },
    );

    app.get(
      '/api/attempts/:attemptId/grades',
      {
        schema: {
          tags: ['grading'],
          summary: 'Earlier grades of the attempt, oldest first',
          params: AttemptParams,
          response: { 200: GradeListDto, ...errors(401) },
        },
      },
      async (req) => {
        const learner = requireLearner(req);
        return { grades: grading.history(req.params.attemptId, learner.id).map(toDto) };
      },
    );
  };
}
