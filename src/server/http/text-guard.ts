import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { epochHeader, protocolVersion, SyncError } from '../../protocol/index.js';

/**
 * Routes whose bodies carry records or batches: their handlers check every item's
 * strings themselves and answer per item (a bad mutation must not sink the good ones
 * beside it), so the edge leaves their bodies to them. Their URLs are still checked.
 */
const perItemBodies = new Set([
  'POST /api/sync/push',
  'POST /api/sync/:table',
  'POST /api/sync',
  'PUT /api/tables/:table/:id',
  'PATCH /api/tables/:table/:id',
  'POST /api/ingest/v4',
]);

/** Does the edge check this route's body (`METHOD /pattern`), or leave it to per-item validation? */
export function guardsBody(routeKey: string): boolean {
  return !perItemBodies.has(routeKey);
}

/** Most issues reported for one request; the first one is in the message. */
const maxIssues = 20;

export type TextIssue = { path: string; message: string };

/**
 * Why a string cannot be stored as sent: PostgreSQL refuses NUL in text and jsonb,
 * SQLite keeps it, and both drivers turn a lone UTF-16 surrogate into U+FFFD (or
 * PostgreSQL refuses it in jsonb). Refusing both up front makes the engines agree.
 */
export function textProblem(s: string): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return 'contains a NUL character (\\u0000)';
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return 'contains a lone UTF-16 surrogate';
    } else if (c >= 0xdc00 && c <= 0xdfff) return 'contains a lone UTF-16 surrogate';
  }
  return null;
}

/** Every string (keys included) in a parsed JSON value that no engine would store as sent. */
export function findTextIssues(value: unknown, path: string, out: TextIssue[] = []): TextIssue[] {
  // An explicit stack: a deeply nested body must not overflow the call stack.
  const stack: [unknown, string][] = [[value, path]];
  while (stack.length > 0 && out.length < maxIssues) {
    const [v, p] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) out.push({ path: p, message: problem });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${p}.${i}`]);
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const problem = textProblem(k);
        if (problem) out.push({ path: `${p}.${JSON.stringify(k)}`, message: `key ${problem}` });
        stack.push([child, `${p}.${k}`]);
      }
    }
  }
  return out;
}

function check(request: FastifyRequest): void {
  const issues: TextIssue[] = [];
  findTextIssues(request.params, 'params', issues);
  findTextIssues(request.query, 'query', issues);
  const route = `${request.method} ${request.routeOptions.url ?? ''}`;
  if (guardsBody(route)) findTextIssues(request.body, 'body', issues);
  if (issues.length === 0) return;
  throw new SyncError('VALIDATION_FAILED', `invalid ${issues[0].path}: ${issues[0].message}`, {
    details: { issues: issues.slice(0, maxIssues) },
  });
}

/**
 * The generic text check at the HTTP edge (after authentication, before any handler):
 * a NUL or lone surrogate in the URL's parameters or query, or in the body of a
 * route without per-item validation, is a 400 VALIDATION_FAILED naming the path,
 * identically on SQLite and PostgreSQL.
 */
export function registerTextGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => check(request));
}

/**
 * A URL the router cannot decode (`%zz`, `%ED%A0%80`) answers a catalogue error,
 * not Fastify's own body, with the headers of every answer. Passed as Fastify's
 * `frameworkErrors`; `epoch` is the database's current epoch.
 */
export function frameworkErrorAnswer(epoch: () => string) {
  return (error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void => {
    const err =
      error.code === 'FST_ERR_BAD_URL'
        ? new SyncError('VALIDATION_FAILED', 'the URL is not validly percent-encoded', {
            details: { issues: [{ path: 'url', message: 'malformed percent-encoding' }] },
          })
        : new SyncError('VALIDATION_FAILED', `malformed request: ${error.message}`);
    // The app's onSend hook does not run for these early answers.
    void reply
      .header('x-pdv-sync-protocol', String(protocolVersion))
      .header(epochHeader, epoch())
      .code(err.status)
      .send(err.toJSON());
  };
}
