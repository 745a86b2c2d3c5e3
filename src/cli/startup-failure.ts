import { t, type MessageKey } from './messages.js';

type ErrorLike = { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };

/** Host and database of a `postgres://` URL, without its password. */
function pgTarget(dbUrl: string | undefined): { host: string; database: string; user: string } {
  try {
    const u = new URL(dbUrl ?? '');
    return {
      host: `${u.hostname}:${u.port || '5432'}`,
      database: decodeURIComponent(u.pathname.slice(1)) || '?',
      user: decodeURIComponent(u.username) || '?',
    };
  } catch {
    return { host: '?', database: '?', user: '?' };
  }
}

/** The error itself, then what it wraps (AggregateError of a dual-stack connect, `cause`). */
function* layers(err: unknown): Generator<ErrorLike> {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const x = e as ErrorLike;
    yield x;
    if (Array.isArray(x.errors)) queue.push(...(x.errors as unknown[]));
    if (x.cause) queue.push(x.cause);
  }
}

/**
 * One line saying what failed at start-up and what to do, for the failures a
 * store's IT person meets (port taken, PostgreSQL down or misnamed, SSL, a
 * folder without permission); null for anything else (shown as is).
 */
export function describeStartupFailure(
  err: unknown,
  context: { dbUrl?: string; port?: number | string },
): string | null {
  const pgInfo = pgTarget(context.dbUrl);
  const say = (key: MessageKey, vars: Record<string, string> = {}) =>
    t(key, { ...pgInfo, port: String(context.port ?? '?'), ...vars });
  for (const e of layers(err)) {
    const code = typeof e.code === 'string' ? e.code : '';
    const message = typeof e.message === 'string' ? e.message : '';
    if (code === 'EADDRINUSE') return say('startPortInUse');
    if (code === 'EACCES' && /listen/i.test(message)) return say('startPortDenied');
    if (/does not support SSL/i.test(message)) return say('startSslRefused');
    if (/no pg_hba\.conf entry/i.test(message)) return say('startPgHba');
    if (code === '3D000') return say('startDbMissing');
    if (code === '28000') return say('startRoleMissing');
    if (code === '28P01') return say('startPgPassword');
    if (code === '3F000') return say('startPgSchemaMissing');
    if (code === '42501') return say('startPgPermission', { detail: message });
    if (code === 'ECONNREFUSED' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH')
      return say('startPgDown');
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return say('startPgHostUnknown');
    if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM')
      return say('startSqliteCannotOpen', { detail: message });
    if ((code === 'EACCES' || code === 'EROFS' || code === 'EPERM') && message)
      return say('startNoPermission', { detail: message });
  }
  return null;
}
