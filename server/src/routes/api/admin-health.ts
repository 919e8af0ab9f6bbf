import { z } from 'zod';
import type { App } from '../../app-types.ts';
import { requireRole } from '../../auth/plugin.ts';
import { runDoctor } from '../../doctor/doctor.ts';

const CheckDto = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(['ok', 'warn', 'fail']),
  detail: z.string(),
  remedy: z.string().optional(),
});
export const AdminHealthDto = z.object({
  checks: z.array(CheckDto),
  clusters: z.object({
    creating: z.number(),
    warm: z.number(),
    claimed: z.number(),
    deleting: z.number(),
    max: z.number(),
    queued: z.number(),
  }),
});
const ErrorDto = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** GET /api/admin/health: the doctor's checks and cluster counts, for admins. */
export default async function adminHealthRoutes(app: App) {
  app.get(
    '/api/admin/health',
    { schema: { tags: ['system'], summary: 'Host checks (Docker, kind, limits, node image) with remedies, and cluster counts', response: { 200: AdminHealthDto, 401: ErrorDto, 403: ErrorDto } } },
    async (req) => {
      requireRole(req, 'admin');
      const maxWorkers = Math.max(0, ...app.labs.current.labs.map((l) => l.meta.cluster.workers));
      const checks = await runDoctor(app.config, { runner: app.runner }, { maxWorkers });
      const stats = app.attempts.stats();
      return { checks, clusters: { ...stats.clusters, max: app.config.clusters.maxConcurrent, queued: stats.queued } };
    },
  );
}
