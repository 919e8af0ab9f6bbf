import { AdminUsageDto, errors } from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import { requireRole } from '../../auth/plugin.ts';
import { clusterGroups, clusterUsage, type ClusterUsage } from '../../groups/usage.ts';

const sum = (us: ClusterUsage[]) => ({
  clusters: us.length,
  cpuPercent: Math.round(us.reduce((s, u) => s + u.cpuPercent, 0) * 10) / 10,
  memoryBytes: Math.round(us.reduce((s, u) => s + u.memoryBytes, 0)),
});

/** GET /api/admin/usage: clusters, CPU and memory in use on this host, per study group (admins). */
export default async function adminUsageRoutes(app: App) {
  app.get(
    '/api/admin/usage',
    {
      schema: {
        tags: ['system'],
        summary: 'Clusters, CPU and memory in use, per study group (one docker stats sample)',
        response: { 200: AdminUsageDto, ...errors(401, 403, 503) },
      },
    },
    async (req) => {
      requireRole(req, 'admin');
      const prefix = `${app.config.clusters.namePrefix}-`;
      const usage = new Map([...(await clusterUsage(app.runner)).entries()].filter(([name]) => name.startsWith(prefix)));
      const owners = clusterGroups(app.db);
      const grouped = new Set(owners.map((o) => o.cluster));
      const groups = app.groups.all().map((g) => {
        const mine = owners.filter((o) => o.groupId === g.id && usage.has(o.cluster)).map((o) => usage.get(o.cluster)!);
        return { id: g.id, name: g.name, maxClusters: g.maxClusters, ...sum(mine) };
      });
      return {
        sampledAt: new Date().toISOString(),
        total: { maxClusters: app.config.clusters.maxConcurrent, ...sum([...usage.values()]) },
        groups,
        ungrouped: sum([...usage.entries()].filter(([name]) => !grouped.has(name)).map(([, u]) => u)),
      };
    },
  );
}
