import type { PedidoUpdateMessage, StatusUpdateMessage } from '../protocol/live.js';
import {
  comparePositions,
  logStart,
  parseCursorPosition,
  type LogPosition,
} from '../protocol/log-position.js';

/** A row of the `pedidos` table as the server sends it. */
export type Pedido = {
  /** Text, or a JSON number when the schema declares an integer id (as `pedido_id` travels). */
  id: string | number;
  store_id: string;
  status: string;
  numero?: number | null;
  cliente?: string | null;
  total?: number | null;
  observacao?: string | null;
  created_at?: string | null;
  updated_at?: string | null;
  [column: string]: unknown;
};

/** `position`: where in the change log this knowledge dates from, when known. Keyed by the id's text. */
type Entry = { readonly pedido: Pedido; readonly version: number; readonly position?: LogPosition };

/**
 * What a client knows of the pedidos, with the version (per row: the row's
 * change-log seq) and the change-log position each piece of knowledge dates
 * from. Versions order the changes of one row; positions order changes of
 * different rows (on PostgreSQL seq order is not commit order, so a snapshot's
 * seq says nothing about another row's change). Invariant: a message older than what is known
 * of its pedido never changes the state, so messages may arrive late, twice or
 * out of order (a snapshot racing live updates) and the state still converges
 * to the server's.
 */
export type PedidosState = {
  /** Database the versions come from (versions of another database are incomparable). */
  readonly databaseId: string | null;
  /** The seq the last snapshot was current to (its position's seq). */
  readonly horizon: number;
  /** The position the last snapshot was current to: every change up to it is known. */
  readonly horizonAt: LogPosition;
  readonly rows: ReadonlyMap<string, Entry>;
  /** Deleted ids with the version of their delete, newer than `horizon`. */
  readonly tombstones: ReadonlyMap<string, number>;
  /** The position of those deletes, when known. */
  readonly tombstonesAt: ReadonlyMap<string, LogPosition>;
  /** The rows, ordered by id. */
  readonly pedidos: readonly Pedido[];
};

export const emptyPedidosState: PedidosState = {
  databaseId: null,
  horizon: 0,
  horizonAt: logStart,
  rows: new Map(),
  tombstones: new Map(),
  tombstonesAt: new Map(),
  pedidos: [],
};

/** Splits a cursor (`c1.`, `c2.` or `c3.`: see `parseCursorPosition`); null when it is not one. */
export function parseCursor(
  cursor: string,
): { databaseId: string; seq: number; position: LogPosition } | null {
  const parsed = parseCursorPosition(cursor);
  return parsed
    ? { databaseId: parsed.databaseId, seq: parsed.position.seq, position: parsed.position }
    : null;
}

const byId = (a: Pedido, b: Pedido) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function build(
  base: PedidosState,
  rows: Map<string, Entry>,
  tombstones: Map<string, number>,
  patch: Partial<Pick<PedidosState, 'databaseId' | 'horizonAt'>> = {},
  tombstonesAt: Map<string, LogPosition> = new Map(
    [...base.tombstonesAt].filter(([id]) => tombstones.has(id)),
  ),
): PedidosState {
  const horizonAt = patch.horizonAt ?? base.horizonAt;
  return {
    databaseId: patch.databaseId !== undefined ? patch.databaseId : base.databaseId,
    horizon: horizonAt.seq,
    horizonAt,
    rows,
    tombstones,
    tombstonesAt,
    pedidos: [...rows.values()].map((e) => e.pedido).sort(byId),
  };
}

/**
 * The version a message about `id` must reach to be news. The snapshot's seq
 * counts only while positions are plain seqs (xid 0: SQLite); otherwise the
 * message's own position is compared with the snapshot's (`isNews`).
 */
export function knownVersion(state: PedidosState, id: string): number {
  return Math.max(
    state.horizonAt.xid === 0 ? state.horizon : 0,
    state.rows.get(id)?.version ?? 0,
    state.tombstones.get(id) ?? 0,
  );
}

/** Where a message sits in the change log (its cursor), or null when it does not say. */
function positionOf(state: PedidosState, cursor: string | undefined): LogPosition | null {
  const at = cursor === undefined ? null : parseCursor(cursor);
  return at && (state.databaseId === null || at.databaseId === state.databaseId)
    ? at.position
    : null;
}

/** A message about `id` is news unless the snapshot already covers it or the row is known newer. */
function isNews(
  state: PedidosState,
  id: string,
  version: number,
  position: LogPosition | null,
): boolean {
  if (position && comparePositions(position, state.horizonAt) <= 0) return false;
  return version >= knownVersion(state, id);
}

function asPedido(row: Record<string, unknown>): Pedido | null {
  const id = row['id'];
  if (typeof id !== 'string' && typeof id !== 'number') return null;
  return row as Pedido;
}

/**
 * A full list current to `cursor` (answer to `get_pedidos`). Rows missing from
 * it were deleted; what the state learnt after the snapshot's seq is kept.
 */
export function applySnapshot(
  state: PedidosState,
  rows: readonly Record<string, unknown>[],
  cursor: string,
): PedidosState {
  const at = parseCursor(cursor);
  if (!at) return state;
  const sameDatabase = state.databaseId === null || state.databaseId === at.databaseId;
  if (sameDatabase && comparePositions(at.position, state.horizonAt) < 0) return state;
  // Versions of rows read from a snapshot are unknown beyond "as of its position".
  const snapshotVersion = at.position.xid === 0 ? at.seq : 0;
  const newer = (version: number, position: LogPosition | undefined) =>
    position
      ? comparePositions(position, at.position) > 0
      : at.position.xid === 0 && version > at.seq;
  const next = new Map<string, Entry>();
  for (const row of rows) {
    const pedido = asPedido(row);
    if (pedido)
      next.set(String(pedido.id), { pedido, version: snapshotVersion, position: at.position });
  }
  const tombstones = new Map<string, number>();
  const tombstonesAt = new Map<string, LogPosition>();
  if (sameDatabase) {
    for (const [id, entry] of state.rows)
      if (newer(entry.version, entry.position)) next.set(id, entry);
    for (const [id, version] of state.tombstones) {
      const position = state.tombstonesAt.get(id);
      if (newer(version, position) && (next.get(id)?.version ?? 0) < version) {
        next.delete(id);
        tombstones.set(id, version);
        if (position) tombstonesAt.set(id, position);
      }
    }
  }
  return build(
    state,
    next,
    tombstones,
    { databaseId: at.databaseId, horizonAt: at.position },
    tombstonesAt,
  );
}

/**
 * A full list read over HTTP, which carries no version: it replaces the rows,
 * each keeping the version already known of it. Used while disconnected; the
 * next connection's snapshot puts versions right.
 */
export function applyList(
  state: PedidosState,
  rows: readonly Record<string, unknown>[],
): PedidosState {
  const next = new Map<string, Entry>();
  for (const row of rows) {
    const pedido = asPedido(row);
    if (pedido) {
      const id = String(pedido.id);
      next.set(id, { pedido, version: knownVersion(state, id) });
    }
  }
  const tombstones = new Map([...state.tombstones].filter(([id]) => !next.has(id)));
  return build(state, next, tombstones);
}

/** A `pedido_update`: applied unless older than what is known of the pedido. */
export function applyPedidoUpdate(state: PedidosState, message: PedidoUpdateMessage): PedidosState {
  // Integer ids arrive as JSON numbers; rows are keyed by their text.
  const id = String(message.pedido_id);
  const position = positionOf(state, message.cursor);
  if (!isNews(state, id, message.version, position)) return state;
  const rows = new Map(state.rows);
  const tombstones = new Map(state.tombstones);
  const tombstonesAt = new Map(state.tombstonesAt);
  if (message.action === 'delete') {
    rows.delete(id);
    tombstones.set(id, message.version);
    if (position) tombstonesAt.set(id, position);
    else tombstonesAt.delete(id);
  } else {
    // A row deleted again before the server read it: its delete follows.
    const pedido = message.data ? asPedido(message.data) : null;
    if (!pedido) return state;
    rows.set(id, { pedido, version: message.version, ...(position ? { position } : {}) });
    tombstones.delete(id);
    tombstonesAt.delete(id);
  }
  return build(state, rows, tombstones, {}, tombstonesAt);
}

/** A `status_update`: changes one field of a known pedido, unless older than it. */
export function applyStatusUpdate(state: PedidosState, message: StatusUpdateMessage): PedidosState {
  const entry = state.rows.get(String(message.pedido_id));
  const position = positionOf(state, message.cursor);
  if (!entry || !isNews(state, String(message.pedido_id), message.version, position)) return state;
  const rows = new Map(state.rows);
  rows.set(String(message.pedido_id), {
    pedido: { ...entry.pedido, [message.status_field]: message.new_value },
    version: message.version,
    ...(position ? { position } : {}),
  });
  return build(state, rows, new Map(state.tombstones));
}

/**
 * A write the server confirmed (`applied`), at the version it answered. An
 * upsert merges the written columns into the known row (or adds a complete new
 * row); the live update that follows brings the row exactly as committed.
 */
export function applyConfirmedWrite(
  state: PedidosState,
  write: { op: 'upsert' | 'delete'; record: Record<string, unknown>; version?: number | undefined },
): PedidosState {
  const id = String(write.record['id']);
  const version = write.version ?? knownVersion(state, id);
  if (version < knownVersion(state, id)) return state;
  const rows = new Map(state.rows);
  const tombstones = new Map(state.tombstones);
  if (write.op === 'delete') {
    rows.delete(id);
    if (write.version !== undefined) tombstones.set(id, version);
    return build(state, rows, tombstones);
  }
  const known = rows.get(id);
  // A known row keeps its id as the server sent it (a number for an integer id).
  const merged = asPedido({
    ...(known?.pedido ?? {}),
    ...write.record,
    ...(known ? { id: known.pedido.id } : {}),
  });
  if (!merged || (!known && (merged.store_id === undefined || merged.status === undefined)))
    return state;
  rows.set(id, { pedido: merged, version });
  tombstones.delete(id);
  return build(state, rows, tombstones);
}

/** The server's current row after a conflict (null: deleted), at its version. */
export function applyServerRow(
  state: PedidosState,
  id: string,
  row: Record<string, unknown> | null,
  version: number,
): PedidosState {
  return applyPedidoUpdate(state, {
    type: 'pedido_update',
    action: row ? 'update' : 'delete',
    pedido_id: id,
    data: row,
    version,
    timestamp: '',
  });
}
