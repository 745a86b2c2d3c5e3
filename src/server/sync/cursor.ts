import {
  formatCursor,
  parseCursorPosition,
  SyncError,
  logStart,
  type LogPosition,
} from '../../protocol/index.js';

/**
 * `c1.<databaseId>.<seq>` or `c2.<databaseId>.<xid>.<seq>` (log-position.ts): the
 * database id (the epoch) lets a cursor from a wiped, restored or moved server be recognised.
 */
export function encodeCursor(databaseId: string, position: LogPosition): string {
  return formatCursor(databaseId, position);
}

export function decodeCursor(cursor: string | undefined, databaseId: string): LogPosition {
  if (cursor === undefined || cursor === '' || cursor === '0') return logStart;
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
  return parsed.position;
}
