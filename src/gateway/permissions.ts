/**
 * Every route declares the permission it needs (`config: { permission }`), so that authentication can
 * slot in later as one hook that compares the caller's grants with the route's permission. The gateway
 * refuses to start when a route has none (reliability-tests.md, Security: "no route without a declared
 * permission").
 */
import { qobError } from '../core/errors.ts';

/** `public`: probes and docs; `market:read`: market data; `ops:read`: operators' views such as /metrics. */
export const PERMISSIONS = ['public', 'market:read', 'ops:read'] as const;
export type Permission = (typeof PERMISSIONS)[number];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a caller must be granted to use the route (checked once authentication exists). */
    permission?: Permission;
  }
}

export function isPermission(p: unknown): p is Permission {
  return typeof p === 'string' && (PERMISSIONS as readonly string[]).includes(p);
}

/** One registered route and the permission it declared. */
export interface RoutePermission {
  readonly method: string;
  readonly url: string;
  readonly permission: Permission | undefined;
}

/** Throws QOB_ERR_INTERNAL naming every route without a valid permission. */
export function checkPermissions(routes: readonly RoutePermission[]): void {
  const missing = routes.filter((r) => !isPermission(r.permission)).map((r) => `${r.method} ${r.url}`);
  if (missing.length > 0) {
    throw qobError('QOB_ERR_INTERNAL', `routes without a declared permission: ${missing.join(', ')}`, {
      routes: missing,
    });
  }
}
