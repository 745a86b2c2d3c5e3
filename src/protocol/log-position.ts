/**
 * A position in the server's change log. Browser-safe (the React hooks compare
 * positions too).
 *
 * - SQLite has one writer at a time: `xid` is always 0 and `seq` is commit order.
 * - PostgreSQL orders changes by the writing transaction's id (`xid`, 64-bit,
 *   `pg_current_xact_id()`) and, within a transaction, by `seq`. The server serves
 *   a transaction only once every transaction with a smaller id has ended, so
 *   positions are handed out in an order no later commit can fall behind
 *   (ARCHITECTURE.md, "Change log order").
 *
 * Positions compare lexicographically: (xid, seq).
 */
export type LogPosition = { readonly xid: number; readonly seq: number };

export const logStart: LogPosition = { xid: 0, seq: 0 };

export function comparePositions(a: LogPosition, b: LogPosition): number {
  return a.xid !== b.xid ? (a.xid < b.xid ? -1 : 1) : a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1;
}

export function maxPosition(a: LogPosition, b: LogPosition): LogPosition {
  return comparePositions(a, b) >= 0 ? a : b;
}

/** The one text both cursors and `_sync_meta` use for a position: `<seq>` when xid is 0, else `<xid>.<seq>`. */
export function formatPosition(p: LogPosition): string {
  return p.xid === 0 ? String(p.seq) : `${p.xid}.${p.seq}`;
}

/** Inverse of `formatPosition`; null for anything else. */
export function parsePosition(text: string): LogPosition | null {
  const match = /^(?:(\d{1,16})\.)?(\d{1,16})$/.exec(text);
  if (!match?.[2]) return null;
  const xid = match[1] ? Number(match[1]) : 0;
  const seq = Number(match[2]);
  if (!Number.isSafeInteger(xid) || !Number.isSafeInteger(seq)) return null;
  return { xid, seq };
}

/**
 * Splits a cursor: `c1.<databaseId>.<seq>` (seq order: SQLite, or a PostgreSQL
 * cursor issued before the transaction-id order, which reads as xid 0),
 * `c2.<databaseId>.<xid>.<seq>`, or `c3.<databaseId>.<xid>.<seq>.<hxid>.<hseq>`: a
 * position below the tombstone horizon, issued by a pull from zero, with the horizon
 * (`hxid`, `hseq`) its pages were read under. Null when it is none of these.
 */
export function parseCursorPosition(
  cursor: string,
): { databaseId: string; position: LogPosition; horizon?: LogPosition } | null {
  const walk = /^c3\.([A-Za-z0-9-]{1,40})\.(\d{1,16})\.(\d{1,16})\.(\d{1,16})\.(\d{1,16})$/.exec(
    cursor,
  );
  if (walk?.[1]) {
    const [xid, seq, hxid, hseq] = walk.slice(2, 6).map(Number) as [number, number, number, number];
    if (![xid, seq, hxid, hseq].every((n) => Number.isSafeInteger(n))) return null;
    return { databaseId: walk[1], position: { xid, seq }, horizon: { xid: hxid, seq: hseq } };
  }
  const match = /^c([12])\.([A-Za-z0-9-]{1,40})\.(?:(\d{1,16})\.)?(\d{1,16})$/.exec(cursor);
  if (!match?.[2] || !match[4]) return null;
  if ((match[1] === '1') !== (match[3] === undefined)) return null;
  const xid = match[3] ? Number(match[3]) : 0;
  const seq = Number(match[4]);
  if (!Number.isSafeInteger(xid) || !Number.isSafeInteger(seq)) return null;
  return { databaseId: match[2], position: { xid, seq } };
}

/**
 * `c1.` while xid is 0 (what every earlier server issued), `c2.` with a transaction id,
 * `c3.` when `horizon` is given (a pull from zero below the tombstone horizon).
 */
export function formatCursor(databaseId: string, p: LogPosition, horizon?: LogPosition): string {
  if (horizon) return `c3.${databaseId}.${p.xid}.${p.seq}.${horizon.xid}.${horizon.seq}`;
  return p.xid === 0 ? `c1.${databaseId}.${p.seq}` : `c2.${databaseId}.${p.xid}.${p.seq}`;
}
