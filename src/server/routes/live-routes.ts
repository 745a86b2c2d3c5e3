import type { FastifyInstance } from 'fastify';
import type { WsStats } from '../../protocol/index.js';
import type { ServerContext } from '../server-context.js';

/** Seed 004's connection statistics; the WebSocket endpoints themselves live in `live/`. */
export function liveRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/ws/stats', { config: { admin: true } }, async (): Promise<WsStats> => ctx.live.stats());
}
