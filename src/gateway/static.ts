/**
 * Serves the built dashboard (dist/web, `npm run build:web`) on its own port (config `dashboard.port`,
 * 3000), apart from the API (8080). The page asks `/config.json` where the API and the WebSocket are;
 * it talks to the WebSocket directly (a WebSocket is not subject to CORS) and needs no other origin.
 *
 * `dashboardStatic` is a Fastify plugin (routes declare the `public` permission, so it can also be
 * registered on the gateway itself); `startDashboard` builds a small Fastify instance with it and listens.
 */
import { readFile, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { qobError } from '../core/errors.ts';
import { errorBody } from './errors.ts';

/** What the page learns from `/config.json`. */
export interface DashboardPageConfig {
  /** `http://host:port` of the REST API. */
  readonly api: string;
  /** `ws://host:port/ws` of the WebSocket API. */
  readonly ws: string;
}

export interface DashboardStaticOptions {
  /** The built dashboard (dist/web). */
  readonly root: string;
  /**
   * Where the API listens. A wildcard host (`0.0.0.0`, `::`) is replaced by the host name the browser
   * used to reach the dashboard. A function, so a gateway on port 0 can be resolved once it listens.
   */
  readonly api: () => { readonly host: string; readonly port: number };
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** The page config for a request that reached the dashboard as `hostHeader`. */
export function pageConfig(api: { host: string; port: number }, hostHeader: string | undefined): DashboardPageConfig {
  let host = api.host;
  if (WILDCARD.has(host)) {
    const h = hostHeader ?? '127.0.0.1';
    host = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : (h.split(':')[0] ?? '127.0.0.1');
  } else if (host.includes(':') && !host.startsWith('[')) {
    host = `[${host}]`;
  }
  return { api: `http://${host}:${api.port}`, ws: `ws://${host}:${api.port}/ws` };
}

async function sendFile(reply: FastifyReply, root: string, urlPath: string): Promise<FastifyReply> {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath.split('?')[0] ?? '/');
  } catch {
    const e = qobError('QOB_ERR_INVALID_ARGUMENT', 'the path is not valid percent-encoding', {});
    return reply.status(e.status).send(errorBody(e));
  }
  if (rel.includes('\0')) {
    const e = qobError('QOB_ERR_INVALID_ARGUMENT', 'the path contains a NUL byte', {});
    return reply.status(e.status).send(errorBody(e));
  }
  if (rel === '/' || rel === '') rel = '/index.html';
  const file = resolve(root, `.${normalize(rel)}`);
  if (file !== root && !file.startsWith(root + sep)) {
    const e = qobError('QOB_ERR_NOT_FOUND', `no file ${rel}`, {});
    return reply.status(e.status).send(errorBody(e));
  }
  let target = file;
  const st = await stat(target).catch(() => undefined);
  if (st === undefined || !st.isFile()) {
    // Client-side routes fall back to the page; a missing asset is a 404.
    if (extname(rel) !== '') {
      const e = qobError('QOB_ERR_NOT_FOUND', `no file ${rel}`, {});
      return reply.status(e.status).send(errorBody(e));
    }
    target = join(root, 'index.html');
  }
  let body: Buffer;
  try {
    body = await readFile(target);
  } catch {
    const e = qobError('QOB_ERR_IO', 'the dashboard is not built: run `npm run build:web`', { root });
    return reply.status(e.status).send(errorBody(e));
  }
  const hashed = target.includes(`${sep}assets${sep}`);
  return reply
    .header('content-type', TYPES[extname(target)] ?? 'application/octet-stream')
    .header('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .send(body);
}

/** Fastify plugin: `GET /config.json` and the files of `root` (index.html for `/`). */
export async function dashboardStatic(app: FastifyInstance, options: DashboardStaticOptions): Promise<void> {
  const root = resolve(options.root);
  app.get('/config.json', { config: { permission: 'public' } }, async (req, reply) =>
    reply.header('cache-control', 'no-store').send(pageConfig(options.api(), req.headers.host)),
  );
  app.get('/*', { config: { permission: 'public' } }, async (req, reply) => sendFile(reply, root, req.url));
}

export interface RunningDashboard {
  /** `http://host:port` as bound. */
  readonly url: string;
  readonly port: number;
  /** Idempotent. */
  close(): Promise<void>;
}

/** Builds the dashboard server and listens on `host:port` (0: a free port). */
export async function startDashboard(
  options: DashboardStaticOptions & { readonly host: string; readonly port: number },
): Promise<RunningDashboard> {
  const app = Fastify({ logger: false });
  await app.register(dashboardStatic, options);
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (cause) {
    await app.close().catch(() => {});
    const code = (cause as { code?: string }).code;
    throw qobError(
      'QOB_ERR_IO',
      `the dashboard cannot listen on ${options.host}:${options.port}: ${code === 'EADDRINUSE' ? 'the address is in use' : (cause as Error).message}`,
      { host: options.host, port: options.port, ...(code === undefined ? {} : { reason: code }) },
      cause,
    );
  }
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    close() {
      closing ??= app.close().then(() => undefined);
      return closing;
    },
  };
}
