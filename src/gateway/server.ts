/**
 * Listening, apart from building (fastify style): `listenGateway(app, { host, port })` binds the built
 * app and returns its URL and an idempotent `close()`. Port 0 picks a free port (tests).
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { qobError } from '../core/errors.ts';

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
}

export interface RunningGateway {
  readonly app: FastifyInstance;
  /** `http://host:port` as bound (the real port when 0 was asked). */
  readonly url: string;
  readonly port: number;
  /** Stops accepting, finishes in-flight requests. Idempotent. */
  close(): Promise<void>;
}

export async function listenGateway(app: FastifyInstance, options: ListenOptions): Promise<RunningGateway> {
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (cause) {
    await app.close().catch(() => {});
    const code = (cause as { code?: string }).code;
    const why = code === 'EADDRINUSE' ? 'the address is in use' : (cause as Error).message;
    throw qobError(
      'QOB_ERR_IO',
      `the API cannot listen on ${options.host}:${options.port}: ${why} (choose another with --api-port, or --no-api)`,
      { host: options.host, port: options.port, ...(code === undefined ? {} : { reason: code }) },
      cause,
    );
  }
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | undefined;
  return {
    app,
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    close() {
      closing ??= app.close().then(() => undefined);
      return closing;
    },
  };
}
