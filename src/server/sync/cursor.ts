import { cursorPrefix, SyncError } from '../../protocol/index.js';

/** `c1.<databaseId>.<seq>`: the database id lets a cursor from a wiped or other server be recognised. */
export function encodeCursor(databaseId: string, seq: number): string {
  return `${cursorPrefix}${databaseId}.${seq}`;
}

export function decodeCursor(cursor: string | undefined, databaseId: string): number {
  if (cursor === undefined || cursor === '' || cursor === '0') return 0;
  const match = /^c1\.([A-Za-z0-9-]{1,40})\.(\d{1,15})$/.exec(cursor);
  if (!match) throw new SyncError('CURSOR_INVALID', 'the cursor was not produced by pdv-sync');
  if (match[1] !== databaseId)
    throw new SyncError(
      'CURSOR_EXPIRED',
      'the cursor comes from another database (restored or replaced); pull again from zero',
      {
        details: { reason: 'database-changed' },
      },
    );
  return Number(match[2]);
}
