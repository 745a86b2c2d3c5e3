import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance } from 'fastify';
import { SyncError } from '../../protocol/index.js';
import type { StorageErrorKind } from '../storage/index.js';

/**
 * The one place where errors become HTTP answers; stacks never leave the server.
 * Engine errors are classified by the storage (`Storage.capabilities.classifyError`).
 */
export function registerErrorHandler(
  app: FastifyInstance,
  bodyLimit: number,
  classify: (err: unknown) => StorageErrorKind,
  refusalDelayMs = 0,
): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    let err: SyncError;
    if (error instanceof SyncError) err = error;
    else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      err = new SyncError('PAYLOAD_TOO_LARGE', `body larger than ${bodyLimit} bytes`, {
        details: { limitBytes: bodyLimit },
      });
    else if (error.statusCode === 429)
      err = new SyncError('RATE_LIMITED', error.message || 'too many requests');
    else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
      err = new SyncError('INVALID_JSON', `malformed request: ${error.message}`);
    else {
      const kind = classify(error);
      // A deadlock that survived the handler's own retries: the client may try again.
      const dbDown = kind === 'unavailable' || kind === 'retry';
      const badData = kind === 'bad-data';
      if (!badData) request.log.error({ err: error }, 'request failed');
      err = dbDown
        ? new SyncError('DATABASE_UNAVAILABLE', 'the database is unavailable; retry later')
        : badData
          ? new SyncError('VALIDATION_FAILED', `the database refused a value: ${error.message}`)
          : new SyncError('INTERNAL', 'internal error', { details: { requestId: request.id } });
    }
    if (err.status === 429) {
      if (!reply.hasHeader('retry-after')) reply.header('retry-after', String(retryAfterOf(err)));
      await refusalPause(Math.min(refusalDelayMs, retryAfterOf(err) * 1000), request.raw.socket);
    }
    return reply.status(err.status).send(err.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(
        new SyncError(
          'NOT_FOUND',
          `no route ${request.method} ${request.url.split('?')[0]}`,
        ).toJSON(),
      );
  });
}

/**
 * A refusal for too much work or too many requests (429) is answered after a short pause, at
 * most its `Retry-After`: a client that ignores `Retry-After` and asks again at once, on many
 * connections, would otherwise keep the server busy refusing it, slowing every other store.
 * The pause holds no lock and no heavy turn, only the socket and the request's own turn among
 * its token's requests (so the token's next requests wait, never another token's); a client
 * that goes away ends it.
 */
function refusalPause(ms: number, socket: Socket | null): Promise<void> {
  if (ms <= 0 || !socket || socket.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      socket.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    socket.once('close', done);
  });
}

/** Seconds a 429 asks the client to wait: the limiter's own figure when it gave one. */
function retryAfterOf(err: SyncError): number {
  const seconds = Number(err.details?.['retryAfterSeconds']);
  return Number.isFinite(seconds) && seconds >= 1 ? Math.ceil(seconds) : 1;
}
