import {
  formatCursor,
  parseCursorPosition,
  SyncError,
  logStart,
  type LogPosition,
} from '../../protocol/index.js';

/** A position read from a cursor, and the horizon a pull from zero issued it under (`c3.`). */
export type Cursor = { position: LogPosition; horizon?: LogPosition };

/**
 * `c1.<databaseId>.<seq>`, `c2.<databaseId>.<xid>.<seq>` or, below the tombstone horizon,
 * `c3.<databaseId>.<xid>.<seq>.<hxid>.<hseq>` (log-position.ts): the database id (the
 * epoch) lets a cursor from a wiped, restored or moved server be recognised.
 */
export function encodeCursor(
  databaseId: string,
  position: LogPosition,
  horizon?: LogPosition,
): string {
  return formatCursor(databaseId, position, horizon);
}

export function decodeCursor(cursor: string | undefined, databaseId: string): Cursor {
  if (cursor === undefined || cursor === '' || cursor === '0') return { position: logStart };
  const parsed = parseCursorPosition(cursor);
  if (!parsed) throw new SyncError('CURSOR_INVALID', 'the cursor was not produced by pdv-sync');
  if (parsed.databaseId !== databaseId)
    throw new SyncError(
      'CURSOR_EXPIRED',
      'the cursor comes from another database (restored or replaced); pull again from zero',
      {
        details: { reason: 'database-changed' },
      },
    );
  return parsed.horizon
    ? { position: parsed.position, horizon: parsed.horizon }
    : { position: parsed.position };
}
