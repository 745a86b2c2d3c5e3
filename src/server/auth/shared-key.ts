import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { SyncError } from '../../protocol/index.js';
import type { Authenticator } from '../http/auth-hook.js';
import type { Identity } from './identity.js';
import { hashToken } from './token.js';

/** The machine a shared-key request speaks for when its body names none. */
export const sharedKeyMachine = 'api-secret-key';
const machinePattern = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * `API_SECRET_KEY`: the one key front ends already deployed send in `x-api-key`, accepted
 * as a migration credential. It is weaker than a device token — one secret for every
 * machine, so a leak is not revocable per machine and the machine is whatever the body
 * says — hence: bound to one configured store, device rights only (never admin), the
 * machine taken from the body's `machineId` (else `x-machine-id`, else `api-secret-key`),
 * and every request it authenticates logged with `credential: "shared-key"`. Move each
 * machine to its own device token when you can.
 */
export function sharedKeyAuthenticator(
  key: string | undefined,
  storeId: string | undefined,
  logger: Logger,
): Authenticator | null {
  if (!key) return null;
  if (!storeId)
    throw new SyncError(
      'CONFIG_INVALID',
      'API_SECRET_KEY is set but no store is configured for it: set --api-secret-key-store / PDV_SYNC_API_SECRET_KEY_STORE',
    );
  const expected = Buffer.from(hashToken(key), 'hex');
  logger.warn(
    { storeId, credential: 'shared-key' },
    'API_SECRET_KEY accepted as a shared device credential for one store (weaker than device tokens: migrate each machine to its own token)',
  );
  return (token) => {
    const given = Buffer.from(hashToken(token), 'hex');
    if (!timingSafeEqual(given, expected)) return Promise.resolve(null);
    const identity: Identity = {
      role: 'device',
      machineId: sharedKeyMachine,
      storeId,
      tokenHash: hashToken(token),
      via: 'shared-key',
    };
    return Promise.resolve(identity);
  };
}

/** After the body is parsed: a shared-key request speaks for the machine it names; tagged in the log. */
export function registerSharedKeyMachine(app: FastifyInstance): void {
  app.addHook('preHandler', async (request) => {
    const identity = request.identity as Identity | null;
    if (!identity || identity.role !== 'device' || identity.via !== 'shared-key') return;
    const fromBody = (request.body as { machineId?: unknown } | null | undefined)?.machineId;
    const fromHeader = request.headers['x-machine-id'];
    const machineId =
      typeof fromBody === 'string' && machinePattern.test(fromBody)
        ? fromBody
        : typeof fromHeader === 'string' && machinePattern.test(fromHeader)
          ? fromHeader
          : sharedKeyMachine;
    request.identity = { ...identity, machineId };
    request.log = request.log.child({ credential: 'shared-key', machineId });
    request.log.info(
      { storeId: identity.storeId },
      'request authenticated with the shared API_SECRET_KEY (weaker credential)',
    );
  });
}
