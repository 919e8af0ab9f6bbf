import { z } from 'zod';
import type { App } from '../../app-types.ts';
import { VERSION } from '../../version.ts';

const Health = z.object({
  status: z.literal('ok'),
  version: z.string(),
  labs: z.object({ loaded: z.number(), broken: z.number() }),
});

/** GET /api/health: liveness for load balancers and the page footer. */
export default async function healthRoutes(app: App) {
  app.get('/api/health', { schema: { tags: ['system'], summary: 'Liveness and catalog counts', response: { 200: Health } } }, async () => ({
    status: 'ok' as const,
    version: VERSION,
    labs: { loaded: app.labs.current.labs.length, broken: app.labs.current.broken.length },
  }));
}
