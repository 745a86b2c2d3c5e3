import { PassThrough, type Readable } from 'node:stream';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preParsingAsyncHookHandler,
} from 'fastify';
import { SyncError } from '../../protocol/index.js';
import { hashToken, type Identity } from '../auth/index.js';
import { tokenOf } from './auth-hook.js';
import type { CostLimiter } from './cost-limiter.js';
import type { Turns } from './turns.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** This request's answer is charged to its token's cost budget (a heavy route). */
    charged?: boolean;
    /** Called once the request is answered (`holdTurn`: its turns come back then). */
    onAnswered?: (() => void)[] | undefined;
    /** The body timeout's timer, cleared once the answer is sent. */
    bodyTimer?: NodeJS.Timeout;
  }
}

/**
 * Routes whose work grows with the data: list reads, pulls, pushes, reconcile and
 * ingest. They are charged what they read (answer bytes) and wrote (body bytes); the
 * reads also take a turn from the cost limiter (a few in flight per token). Every other
 * route is a cheap request that the per-token request rate limit covers.
 */
const heavyRoutes = new Set([
  'GET /api/orders',
  'GET /api/products',
  'GET /api/supplies',
  'GET /api/tables/:table',
  'GET /api/sync/changes',
  'POST /api/sync/push',
  'POST /api/sync',
  'POST /api/sync/:table',
  'GET /api/sync/reconcile',
  'POST /api/sync/reconcile',
  'POST /api/sync/reconcile/ranges',
  'POST /api/sync/reconcile/rows',
  'POST /api/ingest/v4',
]);

/** The limiter's key of a caller: its token (two tills of one store have their own shares). */
export function costKeyOf(identity: Identity): string {
  return `t:${identity.tokenHash}`;
}

/** Whom a request counts against: its token (hashed), or its address when it sent none. */
export function callerKeyOf(request: FastifyRequest): string {
  const token = tokenOf(request);
  return token ? `t:${hashToken(token)}` : `ip:${request.ip}`;
}

/**
 * Every request that carries a token waits for one of its token's turns before anything else
 * is done for it (first hook: before the request rate limit, authentication and the body).
 * Node serves every request that is ready in one turn of its event loop: a token keeping 60
 * cheap requests in flight made each turn ~60 requests long, and another store's till waited
 * a few of those turns for every request (p99 over 1 s at a mere 500 requests a second).
 * Parked, a request costs only its parsed headers; its body stays in the socket. A token
 * with `maxQueued` requests already waiting is refused (429, after the refusal pause).
 */
export function registerRequestTurns(app: FastifyInstance, turns: Turns): void {
  registerAnswerHooks(app);
  app.addHook('onRequest', async (request, reply) => {
    if (tokenOf(request) === null) return;
    await holdTurn(request, reply, (signal) => turns.acquire(callerKeyOf(request), signal));
  });
}

/**
 * A turn whose request Fastify dropped without ever answering it comes back after this long
 * (a safety net: every path known answers, `onSend` or `onRequestAbort`).
 */
const unansweredTurnMs = 60_000;

/**
 * Waits for a turn (`acquire`) and holds it until the server is done with the request: its
 * answer sent (`onSend`, which Fastify runs even for a client that left) and its connection
 * closed (the response's `close`, which Node emits in every case). Fastify runs neither
 * `onResponse` nor `onRequestAbort` for a client that leaves after its whole request arrived (a
 * till whose request timed out while the server worked on it): a turn given back only there was
 * lost, and every later request of the token waited forever. Held until the answer, a client
 * that leaves early cannot start more work than its turns allow. A client that leaves while
 * waiting gives its place up.
 */
async function holdTurn(
  request: FastifyRequest,
  reply: FastifyReply,
  acquire: (signal: AbortSignal) => Promise<() => void>,
): Promise<void> {
  const response = reply.raw;
  const abort = new AbortController();
  const onClose = () => abort.abort();
  response.once('close', onClose);
  let release: () => void;
  try {
    release = await acquire(abort.signal);
  } finally {
    response.off('close', onClose);
  }
  let answered = false;
  let closed = false;
  const settle = () => {
    if (answered && closed) release();
  };
  (request.onAnswered ??= []).push(() => {
    answered = true;
    settle();
  });
  const onGone = () => {
    closed = true;
    settle();
    if (!answered) setTimeout(release, unansweredTurnMs).unref();
  };
  if (response.destroyed) onGone();
  else response.once('close', onGone);
}

const answerHooks = new WeakSet<FastifyInstance>();

/** Tells `holdTurn` that a request is answered (or abandoned before its handler ran). */
function registerAnswerHooks(app: FastifyInstance): void {
  if (answerHooks.has(app)) return;
  answerHooks.add(app);
  const answered = async (request: FastifyRequest) => {
    const listeners = request.onAnswered;
    request.onAnswered = undefined;
    for (const listener of listeners ?? []) listener();
  };
  app.addHook('onSend', async (request, _reply, payload) => {
    await answered(request);
    return payload;
  });
  app.addHook('onRequestAbort', answered);
}

function routeKey(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? ''}`;
}

/**
 * Wires the cost limiters to the HTTP routes (after authentication). A heavy read waits
 * for its token's turn (or is answered 429 with `Retry-After` when the token is in debt)
 * and gives it back when the answer is sent or the client goes away; every heavy route is
 * charged its answer's bytes. A heavy write's body is charged (by `registerBodyGuards`)
 * to the token's body budget as it streams in, a budget of its own, smaller than the reads': a
 * body is parsed whole before any handler can refuse it, blocking the event loop for
 * every store, so a token sending large bodies back to back is refused (429, before its
 * next body is read) once it has sent its share. Register before compression, so answers
 * are charged at their uncompressed size (the work done).
 */
export function registerCostLimits(
  app: FastifyInstance,
  limiter: CostLimiter,
  bodies: CostLimiter,
): void {
  registerAnswerHooks(app);
  app.addHook('onRequest', async (request, reply) => {
    if (!request.identity || !heavyRoutes.has(routeKey(request))) return;
    const key = costKeyOf(request.identity);
    if (request.method !== 'GET') {
      // Writes take no turn: a till's or agent's retries may legitimately overlap, and the
      // database serializes writers anyway. Refused (429) while their token is in debt.
      limiter.check(key);
      bodies.check(key);
      request.charged = true;
      return;
    }
    await holdTurn(request, reply, (signal) => limiter.acquire(key, signal));
    request.charged = true;
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    if (!request.charged) return payload;
    // A string's length stands for its bytes (JSON is mostly ASCII): counting UTF-8 bytes
    // exactly scans every answer again, a cost estimate needs no such precision.
    const bytes = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload.length : 0;
    limiter.charge(costKeyOf(request.identity), bytes);
    return payload;
  });
}

/**
 * The guards on a request body as it streams in (after decompression):
 * - it must arrive within `timeoutMs` of the headers: a client trickling bytes
 *   (slowloris) is answered 408 REQUEST_TIMEOUT and its connection closed, instead of
 *   holding a socket and a parser for minutes;
 * - a heavy write's bytes are charged to its token's body budget (`bodies`), so a small
 *   gzip body that inflates to megabytes costs what it inflates to.
 */
export function registerBodyGuards(
  app: FastifyInstance,
  options: { timeoutMs: number; bodies: CostLimiter },
): void {
  const { timeoutMs, bodies } = options;
  const done = async (request: FastifyRequest) => clearTimeout(request.bodyTimer);
  app.addHook('onResponse', done);
  app.addHook('onRequestAbort', done);
  const guard: preParsingAsyncHookHandler = async (request, _reply, payload) => {
    if (request.method === 'GET' || request.method === 'HEAD') return payload;
    const source = payload as Readable & { receivedEncodedLength?: number };
    const out = new PassThrough();
    let received = 0;
    // Fastify compares this with Content-Length; the decompressing stream before us knows it.
    Object.defineProperty(out, 'receivedEncodedLength', {
      get: () => source.receivedEncodedLength ?? received,
    });
    // Whoever reads the body hears the timeout; a body nobody read (the answer came
    // first) must not turn it into an uncaught error.
    out.on('error', () => undefined);
    const timer = setTimeout(() => {
      if (source.readableEnded || out.writableEnded) return;
      source.unpipe(out);
      source.resume();
      out.destroy(
        new SyncError('REQUEST_TIMEOUT', `the request body did not arrive within ${timeoutMs} ms`, {
          details: { timeoutMs },
        }),
      );
    }, timeoutMs);
    timer.unref();
    request.bodyTimer = timer;
    const costKey =
      request.identity && heavyRoutes.has(routeKey(request)) ? costKeyOf(request.identity) : null;
    source.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (costKey) bodies.charge(costKey, chunk.length);
    });
    source.once('end', () => clearTimeout(timer));
    source.once('close', () => clearTimeout(timer));
    source.once('error', (err) => {
      clearTimeout(timer);
      out.destroy(err);
    });
    source.pipe(out);
    return out;
  };
  // A route's own hook, added after the decompression hook the compression plugin puts
  // first on each route (app-level hooks run before route-level ones, on compressed bytes).
  app.addHook('onRoute', (route) => {
    route.preParsing = [
      ...(route.preParsing === undefined
        ? []
        : Array.isArray(route.preParsing)
          ? route.preParsing
          : [route.preParsing]),
      guard,
    ];
  });
}
