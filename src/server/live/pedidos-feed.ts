import {
  decimalsAsNumbers,
  type PedidoUpdateMessage,
  type StatusUpdateMessage,
  type TableDef,
} from '../../protocol/index.js';
import { quoteIdent as q } from '../storage/quote.js';
import type { Row, SqlExecutor, Storage } from '../storage/index.js';
import { decodeRow } from '../sync/index.js';
import type { WatchedChange } from './change-watcher.js';

export type ScopedMessage = {
  storeId: string | null;
  message: PedidoUpdateMessage | StatusUpdateMessage;
};

/** Most pedido statuses remembered to tell a status change apart (oldest forgotten first). */
const rememberedStatuses = 50_000;

/**
 * Seed 004's pedido messages, built from committed changes of the pedidos table.
 * `status_update` needs the previous status, which the change log does not keep:
 * the feed remembers the last status it announced per pedido, so a change seen
 * for the first time since the server started gets only its `pedido_update`.
 */
export class PedidosFeed {
  private readonly statuses = new Map<string, unknown>();

  constructor(
    private readonly storage: Storage,
    readonly table: TableDef,
  ) {}

  async messages(
    changes: readonly WatchedChange[],
    tx: SqlExecutor,
    cursorOf: (change: WatchedChange) => string,
  ): Promise<ScopedMessage[]> {
    const mine = changes.filter((c) => c.table === this.table.name);
    if (mine.length === 0) return [];
    const rows = await this.rows(
      tx,
      mine.filter((c) => c.op === 'upsert'),
    );
    const timestamp = new Date().toISOString();
    const out: ScopedMessage[] = [];
    for (const c of mine) {
      // A pedido is (store, id): two stores may number theirs alike.
      const key = this.keyOf(c.storeId, c.id);
      const data = c.op === 'upsert' ? (rows.get(key) ?? null) : null;
      out.push({
        storeId: c.storeId,
        message: {
          type: 'pedido_update',
          action: c.action,
          pedido_id: this.wireId(c.id),
          data,
          version: c.version,
          cursor: cursorOf(c),
          timestamp,
        },
      });
      const status = data?.['status'];
      const known = this.statuses.has(key);
      const before = this.statuses.get(key);
      if (c.op === 'delete') this.statuses.delete(key);
      else if (data) this.remember(key, status);
      if (data && known && before !== status)
        out.push({
          storeId: c.storeId,
          message: {
            type: 'status_update',
            pedido_id: this.wireId(c.id),
            status_field: 'status',
            new_value: status,
            version: c.version,
            cursor: cursorOf(c),
            timestamp,
          },
        });
    }
    return out;
  }

  /** Ids travel as the schema declares them: a JSON number for an integer id, else text. */
  private wireId(id: string): string | number {
    const integer = this.table.columns.some((c) => c.name === 'id' && c.type === 'integer');
    return integer && /^-?\d{1,15}$/.test(id) ? Number(id) : id;
  }

  /** A pedido as the screens read it: money as JSON numbers (exact up to 15 digits). */
  private wireRow(row: Row): Record<string, unknown> {
    return decimalsAsNumbers(this.table, decodeRow(this.storage, this.table, row));
  }

  /** Every pedido a store (or the admin, `null`) may read, for `get_pedidos`. */
  async snapshot(tx: SqlExecutor, storeId: string | null, limit = 10_000): Promise<Row[]> {
    const column = this.table.storeColumn;
    const scoped = storeId !== null && column;
    const rows = await tx.all<Row>(
      `SELECT * FROM ${q(this.table.name)} ${scoped ? `WHERE ${q(column)} = ?` : ''} ORDER BY id LIMIT ?`,
      scoped ? [storeId, limit] : [limit],
    );
    return rows.map((r) => this.wireRow(r));
  }

  /** A row's key: its id, and its store in a store-scoped table. */
  private keyOf(storeId: string | null, id: string): string {
    return this.table.storeColumn ? `${storeId ?? ''}\u0000${id}` : id;
  }

  /** The rows of changed pedidos, by `keyOf`: per store, ids in chunks. */
  private async rows(
    tx: SqlExecutor,
    changes: readonly WatchedChange[],
  ): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    const column = this.table.storeColumn;
    const byStore = new Map<string | null, string[]>();
    for (const c of changes) {
      const store = column ? c.storeId : null;
      byStore.set(store, [...(byStore.get(store) ?? []), c.id]);
    }
    for (const [store, ids] of byStore)
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const scoped = column && store !== null;
        const rows = await tx.all<Row>(
          `SELECT * FROM ${q(this.table.name)} WHERE id IN (${chunk.map(() => '?').join(', ')})${
            scoped ? ` AND ${q(column)} = ?` : ''
          }`,
          scoped ? [...chunk, store] : chunk,
        );
        for (const r of rows) out.set(this.keyOf(store, String(r['id'])), this.wireRow(r));
      }
    return out;
  }

  private remember(id: string, status: unknown): void {
    this.statuses.delete(id);
    this.statuses.set(id, status);
    if (this.statuses.size > rememberedStatuses) {
      const oldest = this.statuses.keys().next();
      if (!oldest.done) this.statuses.delete(oldest.value);
    }
  }
}
