/** GET /healthz (liveness, touches no dependency), GET /readyz and GET /metrics. */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';
import type { Readiness } from '../readiness.js';

export function registerHealthRoutes(app: FastifyInstance, options: { readiness: Readiness; metrics: Metrics }): void {
  const { readiness, metrics } = options;

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const snapshot = readiness.snapshot();
    reply.code(snapshot.status === 'ready' ? 200 : 503);
    return snapshot;
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
