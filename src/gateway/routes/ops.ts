/**
 * Operations routes: liveness (/healthz: the process answers), readiness (/readyz: the platform is
 * started and its books are usable) and the Prometheus metrics of the platform's registry (/metrics).
 */
import type { FastifyInstance } from 'fastify';
import { qobError } from '../../core/errors.ts';
import { ERRORS, HEALTH_RESPONSE, NO_QUERY, READY_RESPONSE } from '../schemas.ts';
import type { MarketDataSource, MetricsRegistry } from '../source.ts';

const TAG = ['operations'];

export function opsRoutes(app: FastifyInstance, source: MarketDataSource, metrics: MetricsRegistry): void {
  app.get(
    '/healthz',
    {
      config: { permission: 'public' },
      schema: {
        summary: 'Liveness: the process is up and answering',
        tags: TAG,
        operationId: 'health',
        querystring: NO_QUERY,
        response: { 200: HEALTH_RESPONSE, ...ERRORS },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { permission: 'public' },
      schema: {
        summary: 'Readiness: the platform is started and its books are in sync',
        description: 'Not ready: 503 QOB_ERR_BOOK_NOT_SYNCED saying why.',
        tags: TAG,
        operationId: 'ready',
        querystring: NO_QUERY,
        response: { 200: READY_RESPONSE, ...ERRORS },
      },
    },
    async () => {
      const r = source.readiness();
      if (!r.ready) throw qobError('QOB_ERR_BOOK_NOT_SYNCED', `not ready: ${r.reason}`, { reason: r.reason });
      return { status: 'ready', reason: r.reason };
    },
  );

  app.get(
    '/metrics',
    {
      config: { permission: 'ops:read' },
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        tags: TAG,
        operationId: 'metrics',
        querystring: NO_QUERY,
        produces: ['text/plain'],
        response: {
          200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
          ...ERRORS,
        },
      },
    },
    async (_req, reply) => {
      const text = await metrics.metrics();
      reply.type(metrics.contentType);
      return text;
    },
  );
}
