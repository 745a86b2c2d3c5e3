import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { SyncError } from '../../protocol/index.js';
import { hashToken, type DeviceRegistry, type Identity } from '../auth/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity;
  }
  interface FastifyContextConfig {
    /** Reachable without a token (only /health). */
    public?: boolean;
    /** Admin token only (and store managers, scoped to their store, when `manager` is set too). */
    admin?: boolean;
    /** An admin route a store manager may also call; the handler scopes it to the manager's store. */
    manager?: boolean;
    /** Also reachable with the metrics token (`--metrics-token`), which opens nothing else. */
    metrics?: boolean;
  }
}

/** The token from `x-api-key` or `Authorization: Bearer` (HTTP routes and WebSocket upgrades). */
export function tokenOf(request: { headers: IncomingHttpHeaders }): string | null {
  const key = request.headers['x-api-key'];
  if (typeof key === 'string' && key) return key;
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim() || null;
  return null;
}

/** A credential other than a device or admin token (shared key, JWT): null when not its kind. */
export type Authenticator = (token: string) => Promise<Identity | null>;

/** Every route authenticates unless it is declared public; admin routes refuse device tokens. */
export function registerAuth(
  app: FastifyInstance,
  devices: DeviceRegistry,
  options: { metricsToken?: string | undefined; others?: Authenticator[] } = {},
): void {
  const metricsHash = options.metricsToken ? hashToken(options.metricsToken) : null;
  const others = options.others ?? [];
  app.decorateRequest('identity', null as never);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (config.public || request.routeOptions.url === undefined) return;
    const token = tokenOf(request);
    if (!token)
      throw new SyncError('UNAUTHORIZED', 'missing token: send x-api-key or Authorization: Bearer');
    // The scraper's token identifies nobody: routes that accept it never read request.identity.
    if (config.metrics && metricsHash !== null && hashToken(token) === metricsHash) return;
    let identity = await devices.authenticate(token);
    for (const other of others) identity ??= await other(token);
    if (!identity) throw new SyncError('UNAUTHORIZED', 'unknown or revoked token');
    if (
      config.admin &&
      identity.role !== 'admin' &&
      !(config.manager && identity.role === 'manager')
    )
      throw new SyncError('FORBIDDEN', 'this route needs the admin token');
    request.identity = identity;
  });
}

/** A device (or a store manager, under its token's name) may only speak for itself. */
export function checkMachine(identity: Identity, machineId: string): void {
  if (identity.role !== 'admin' && identity.machineId !== machineId)
    throw new SyncError(
      'MACHINE_MISMATCH',
      `this token belongs to machine ${identity.machineId}, not ${machineId}`,
    );
}
