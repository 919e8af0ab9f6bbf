import { HealthDto } from '../../api-contract.ts';
import type { App } from '../../app-types.ts';
import { VERSION } from '../../version.ts';

/** GET /api/health: liveness for load balancers and the page footer. */
export default async function healthRoutes(app: App) {
  app.get('/api/health', { schema: { tags: ['system'], summary: 'Liveness and catalog counts', response: { 200: HealthDto } } }, async () => ({
    status: 'ok' as const,
    version: VERSION,
    labs: { loaded: app.labs.current.labs.length, broken: app.labs.current.broken.length },
  }));
}
