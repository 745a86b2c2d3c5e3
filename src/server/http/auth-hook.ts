import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { SyncError } from '../../protocol/index.js';
import type { DeviceRegistry, Identity } from '../auth/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity;
  }
  interface FastifyContextConfig {
    /** Reachable without a token (only /health). */
    public?: boolean;
    /** Admin token only. */
    admin?: boolean;
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
  others: Authenticator[] = [],
): void {
  app.decorateRequest('identity', null as never);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (config.public || request.routeOptions.url === undefined) return;
    const token = tokenOf(request);
    if (!token)
      throw new SyncError('UNAUTHORIZED', 'missing token: send x-api-key or Authorization: Bearer');
    let identity = await devices.authenticate(token);
    for (const other of others) identity ??= await other(token);
    if (!identity) throw new SyncError('UNAUTHORIZED', 'unknown or revoked token');
    if (config.admin && identity.role !== 'admin')
      throw new SyncError('FORBIDDEN', 'this route needs the admin token');
    request.identity = identity;
  });
}

/** A device may only speak for the machine its token was issued to. */
export function checkMachine(identity: Identity, machineId: string): void {
  if (identity.role === 'device' && identity.machineId !== machineId)
    throw new SyncError(
      'MACHINE_MISMATCH',
      `this token belongs to machine ${identity.machineId}, not ${machineId}`,
    );
}
