import type { FastifyInstance } from 'fastify';
import { SyncError, type EpochResponse } from '../../protocol/index.js';
import type { ServerContext } from '../server-context.js';
import { readEpoch } from './epoch.js';

/** `GET /api/sync/epoch` (any valid token): the database's epoch and the backup it was restored from. */
export function epochRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/api/sync/epoch', async (): Promise<EpochResponse> => {
    const epoch = await ctx.storage.read((tx) => readEpoch(tx));
    if (!epoch) throw new SyncError('INTERNAL', 'the database has no epoch');
    return epoch;
  });
}
