/**
 * What every service shares: its probes and metrics on a port of its own (`/healthz`: the process runs;
 * `/readyz`: it is doing its job; `/metrics`: Prometheus text of the service's own registry) and the
 * counters each service reports.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import { qobError } from '../core/errors.ts';

export const SERVICE_NAMES = ['ingestion', 'orderbook', 'storage', 'gateway'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Default probe ports: one per service, `--id N` adds N (docs/SERVICES.md). */
export const DEFAULT_PROBE_PORTS: Readonly<Record<ServiceName, number>> = {
  ingestion: 9101,
  orderbook: 9111,
  storage: 9121,
  gateway: 9131,
};

export interface Readiness {
  readonly ready: boolean;
  readonly reason: string;
}

export interface ServiceMetrics {
  readonly registry: Registry;
  /** Events published (ingestion) or handled (consumers), by topic. */
  readonly events: Counter<'service' | 'topic'>;
  /** Bus messages or events that failed decoding, and other typed errors, by code. */
  readonly errors: Counter<'service' | 'code'>;
  /** Book events applied to a served book. */
  readonly applied: Counter<'service'>;
  /** Books in sync (orderbook, gateway). */
  readonly booksInSync: Gauge<'service'>;
}

export function createServiceMetrics(): ServiceMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    events: new Counter({
      name: 'qob_service_events_total',
      help: 'Events published or handled',
      labelNames: ['service', 'topic'],
      registers,
    }),
    errors: new Counter({
      name: 'qob_service_errors_total',
      help: 'Typed errors (malformed messages, failed writes), by code',
      labelNames: ['service', 'code'],
      registers,
    }),
    applied: new Counter({
      name: 'qob_service_book_events_applied_total',
      help: 'Book events applied to a served book',
      labelNames: ['service'],
      registers,
    }),
    booksInSync: new Gauge({
      name: 'qob_service_books_in_sync',
      help: 'Books in sync',
      labelNames: ['service'],
      registers,
    }),
  };
}

export interface ProbeServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves `/healthz`, `/readyz` and `/metrics` on `host:port` (0: any free port). */
export async function startProbes(options: {
  readonly host: string;
  readonly port: number;
  readonly registry: Registry;
  readonly readiness: () => Readiness;
  readonly name: string;
}): Promise<ProbeServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', service: options.name }));
    } else if (path === '/readyz') {
      const r = options.readiness();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ready: r.ready, reason: r.reason, service: options.name }));
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': options.registry.contentType });
          res.end(text);
        },
        (e: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(e));
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'QOB_ERR_NOT_FOUND', message: `no route ${path}` } }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        qobError(
          'QOB_ERR_IO',
          `${options.name}: cannot listen on ${options.host}:${options.port}: ${e.code === 'EADDRINUSE' ? 'the address is in use' : e.message}`,
          { host: options.host, port: options.port },
          e,
        ),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${options.host}:${addr.port}`,
    port: addr.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
