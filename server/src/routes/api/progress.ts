import { errors, LabParams, LabResultDto, ProgressDto } from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import { requireLearner } from '../../auth/plugin.ts';

/** The learner's progress from stored grades: per lab for the catalog, and a lab's last result for its page. */
export default async function progressRoutes(app: App) {
  app.get(
    '/api/progress',
    {
      schema: {
        tags: ['grading'],
        summary: 'My best score per lab and whether it is done, partial or only tried',
        response: { 200: ProgressDto, ...errors(401) },
      },
    },
    async (req) => {
      return { labs: app.grading.progress(requireLearner(req).id) };
    },
  );

  app.get(
    '/api/progress/:labId',
    {
      schema: {
        tags: ['grading'],
        summary: 'My newest grade of a lab and its attempt (the result a lab page keeps after Finish)',
        params: LabParams,
        response: { 200: LabResultDto, ...errors(401) },
      },
    },
    async (req) => {
      const learner = requireLearner(req);
      const g = app.grading.lastResult(learner.id, req.params.labId);
      if (!g) return { result: null };
      const a = app.attempts.get(g.attemptId);
      const attempt = a && a.learnerId === learner.id ? { id: a.id, status: a.status, createdAt: a.createdAt, readyAt: a.readyAt, endedAt: a.endedAt } : null;
      return {
        result: {
          grade: { id: g.id, attemptId: g.attemptId, labId: g.labId, score: g.score, maxScore: g.maxScore, createdAt: g.createdAt, report: g.report },
          attempt,
        },
      };
    },
  );
}
