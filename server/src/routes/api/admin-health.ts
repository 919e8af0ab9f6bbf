import { AdminHealthDto, errors } from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import { requireRole } from '../../auth/plugin.ts';
import { runDoctor } from '../../doctor/doctor.ts';

/** GET /api/admin/health: the doctor's checks and cluster counts, for admins. */
export default async function adminHealthRoutes(app: App) {
  app.get(
    '/api/admin/health',
    {
      schema: {
        tags: ['system'],
        summary: 'Host checks (Docker, kind, limits, node image) with remedies, cluster counts and the pre-set-up pool',
        response: { 200: AdminHealthDto, ...errors(401, 403) },
      },
    },
    async (req) => {
      requireRole(req, 'admin');
      const maxWorkers = Math.max(0, ...app.labs.current.labs.map((l) => l.meta.cluster.workers));
      const checks = await runDoctor(app.config, { runner: app.runner }, { maxWorkers });
      const stats = app.attempts.stats();
      return { checks, clusters: { ...stats.clusters, max: app.config.clusters.maxConcurrent, queued: stats.queued }, presets: app.attempts.presetStatus() };
    },
  );
}
