import { z } from 'zod';
import type { App } from '../../app-types.ts';
import { requireLearner } from '../../auth/plugin.ts';
import type { GradingService } from '../../grading/grading-service.ts';
import type { StoredGrade } from '../../grading/grade-repository.ts';

export const CheckReportDto = z.object({
  id: z.string(),
  kind: z.string(),
  message: z.string(),
  status: z.enum(['pass', 'fail', 'error']),
  guard: z.boolean(),
  /** Absent in grades stored before required checks existed. */
  required: z.boolean().optional(),
  weight: z.number(),
  points: z.number(),
  maxPoints: z.number(),
  expected: z.string().optional(),
  actual: z.string().optional(),
  explanation: z.string().optional(),
  /** Why a passing check earned nothing (vetoed task, or a guard waiting for the task's work). */
  scoreNote: z.string().optional(),
  durationMs: z.number(),
});
export const TaskReportDto = z.object({
  id: z.string(),
  title: z.string(),
  points: z.number(),
  score: z.number(),
  /** Ids of the required checks that did not pass: why the task scores 0. */
  vetoedBy: z.array(z.string()).optional(),
  checks: z.array(CheckReportDto),
});
export const GradeReportDto = z.object({
  labId: z.string(),
  score: z.number(),
  maxScore: z.number(),
  percent: z.number(),
  tasks: z.array(TaskReportDto),
  gradedAt: z.string(),
  durationMs: z.number(),
});
export const GradeDto = z.object({ id: z.string(), attemptId: z.string(), labId: z.string(), score: z.number(), maxScore: z.number(), createdAt: z.string(), report: GradeReportDto });
export const GradeListDto = z.object({ grades: z.array(GradeDto) });

const Params = z.object({ id: z.string().min(1).max(128) });
const ErrorDto = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

function toDto(g: StoredGrade): z.infer<typeof GradeDto> {
  return { id: g.id, attemptId: g.attemptId, labId: g.labId, score: g.score, maxScore: g.maxScore, createdAt: g.createdAt, report: g.report };
}

/** Routes for grading an attempt and reading its grades; register with app.register(attemptGradeRoutes(service)). */
export default function attemptGradeRoutes(grading: GradingService) {
  return async function routes(app: App) {
    app.post(
      '/api/attempts/:id/grade',
      {
        schema: {
          tags: ['grading'],
          summary: "Grade the attempt's cluster now: runs every check of the lab and stores the report",
          params: Params,
          response: { 200: GradeDto, 401: ErrorDto, 404: ErrorDto, 409: ErrorDto },
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
          return toDto(await grading.grade(req.params.id, learner.id, { signal: ctrl.signal }));
        } finally {
          req.raw.socket?.off('close', onClose);
        }
      },
    );

    app.get(
      '/api/attempts/:id/grades',
      {
        schema: {
          tags: ['grading'],
          summary: 'Earlier grades of the attempt, oldest first',
          params: Params,
          response: { 200: GradeListDto, 401: ErrorDto },
        },
      },
      async (req) => {
        const learner = requireLearner(req);
        return { grades: grading.history(req.params.id, learner.id).map(toDto) };
      },
    );
  };
}
