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
      mine.filter((c) => c.op === 'upsert').map((c) => c.id),
    );
    const timestamp = new Date().toISOString();
    const out: ScopedMessage[] = [];
    for (const c of mine) {
      const data = c.op === 'upsert' ? (rows.get(c.id) ?? null) : null;
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
      const known = this.statuses.has(c.id);
      const before = this.statuses.get(c.id);
      if (c.op === 'delete') this.statuses.delete(c.id);
      else if (data) this.remember(c.id, status);
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

  private async rows(
    tx: SqlExecutor,
    ids: string[],
  ): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await tx.all<Row>(
        `SELECT * FROM ${q(this.table.name)} WHERE id IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      for (const r of rows) out.set(String(r['id']), this.wireRow(r));
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
