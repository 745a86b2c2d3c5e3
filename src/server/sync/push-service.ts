import { isDeepStrictEqual } from 'node:util';
import {
  columnsOf,
  SyncError,
  validateRecord,
  type ErrorCode,
  type Mutation,
  type MutationResult,
  type TableDef,
  type TableNames,
} from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';
import { quoteIdent as q } from '../storage/quote.js';
import type { Row, SqlExecutor, Storage } from '../storage/index.js';
import type { ConflictLog } from './conflict-log.js';
import { decodeRow } from './row-codec.js';

/** A mutation that passed the checks that need no database. */
type Prepared = {
  mutation: Mutation;
  table: TableDef;
  id: string;
  values: Record<string, unknown>;
  /** Client time of the write, clamped to the server clock plus the allowed skew. */
  clientTime: string | null;
};

class Rejection extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type Indexed = { index: number; p: Prepared };

/** Rows per multi-row statement: stays under SQLite's 32,766 and PostgreSQL's 65,535 parameters. */
const claimChunk = 500;
const maxParams = 30_000;

type Existing = { row: Record<string, unknown>; version: number; updatedAt: string | null };

export type PushOptions = {
  /** How far ahead of the server clock a client timestamp may be before it is clamped. */
  maxClockSkewMs: number;
};

/**
 * Applies batches of mutations. Invariants:
 * - each mutation gets its own result and a failure undoes only its own writes
 *   (a savepoint each); the batch commits once, durably, before it is answered;
 * - an eventId has at most one effect: its key is inserted in the same
 *   transaction as the effect, so concurrent retries cannot both apply (PITFALLS #2);
 * - a device reads and writes only its own store's rows; a record naming another
 *   store is rejected, never rewritten.
 */
export class PushService {
  constructor(
    private readonly storage: Storage,
    private readonly names: TableNames,
    private readonly conflicts: ConflictLog,
    private readonly options: PushOptions,
  ) {}

  async push(
    identity: Identity,
    machineId: string,
    mutations: readonly Mutation[],
  ): Promise<MutationResult[]> {
    const results: MutationResult[] = new Array<MutationResult>(mutations.length);
    const prepared: Indexed[] = [];
    mutations.forEach((m, index) => {
      const checked = this.prepare(identity, m);
      if ('mutation' in checked) prepared.push({ index, p: checked });
      else results[index] = checked;
    });
    if (prepared.length > 0)
      await this.storage.transaction(async (tx) => {
        const claimed = await this.claim(tx, machineId, prepared);
        const mine = prepared.filter((x) => claimed.has(x.index));
        // Set-based fast path: new event rows (sales) go in with one multi-row INSERT per table.
        const slow = await this.insertEvents(
          tx,
          mine.filter((x) => x.p.table.kind === 'event'),
          results,
        );
        for (const { index, p } of [...slow, ...mine.filter((x) => x.p.table.kind !== 'event')]) {
          try {
            results[index] = await this.storage.savepoint(tx, () =>
              this.apply(tx, identity, machineId, p),
            );
          } catch (err) {
            if (!(err instanceof Rejection)) throw err;
            // A rejected mutation leaves no trace: its eventId may be sent again, fixed.
            await tx.run(`DELETE FROM _sync_events WHERE event_id = ?`, [p.mutation.eventId]);
            results[index] = rejected(p.mutation, err.code, err.message);
          }
        }
        await this.answerDuplicates(
          tx,
          prepared.filter((x) => !claimed.has(x.index)),
          results,
        );
      });
    return results;
  }

  /**
   * Inserts the idempotency keys of the whole batch in one statement per chunk;
   * returns the indexes whose eventId was new. Keys are sorted so concurrent
   * batches lock them in the same order (no deadlock on PostgreSQL).
   */
  private async claim(
    tx: SqlExecutor,
    machineId: string,
    prepared: Indexed[],
  ): Promise<Set<number>> {
    const firstByEvent = new Map<string, Indexed>();
    for (const x of prepared)
      if (!firstByEvent.has(x.p.mutation.eventId)) firstByEvent.set(x.p.mutation.eventId, x);
    const unique = [...firstByEvent.values()].sort((a, b) =>
      a.p.mutation.eventId < b.p.mutation.eventId ? -1 : 1,
    );
    const now = new Date().toISOString();
    const claimed = new Set<number>();
    for (let i = 0; i < unique.length; i += claimChunk) {
      const chunk = unique.slice(i, i + claimChunk);
      const rows = await tx.all<{ event_id: string }>(
        `INSERT INTO _sync_events (event_id, machine_id, table_name, row_id, status, version, created_at)
         VALUES ${chunk.map(() => `(?, ?, ?, ?, 'applied', NULL, ?)`).join(', ')}
         ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
        chunk.flatMap((x) => [x.p.mutation.eventId, machineId, x.p.table.name, x.p.id, now]),
      );
      for (const r of rows) {
        const x = firstByEvent.get(r.event_id);
        if (x) claimed.add(x.index);
      }
    }
    return claimed;
  }

  /** Multi-row inserts of new event rows; returns those that need the per-row path (id already there). */
  private async insertEvents(
    tx: SqlExecutor,
    events: Indexed[],
    results: MutationResult[],
  ): Promise<Indexed[]> {
    const slow: Indexed[] = [];
    const groups = new Map<string, Indexed[]>();
    for (const x of events) {
      const key = `${x.p.table.name}\u0000${Object.keys(x.p.values).join(',')}`;
      const group = groups.get(key) ?? [];
      group.push(x);
      groups.set(key, group);
    }
    for (const group of groups.values()) {
      const table = group[0].p.table;
      const cols = Object.keys(group[0].p.values);
      const firstById = new Map<string, Indexed>();
      for (const x of group) {
        if (firstById.has(x.p.id)) slow.push(x);
        else firstById.set(x.p.id, x);
      }
      const rows = [...firstById.values()].sort((a, b) => (a.p.id < b.p.id ? -1 : 1));
      const perChunk = Math.max(1, Math.floor(maxParams / cols.length));
      for (let i = 0; i < rows.length; i += perChunk) {
        const chunk = rows.slice(i, i + perChunk);
        let inserted: Set<string>;
        try {
          inserted = await this.storage.savepoint(tx, async () => {
            const returned = await tx.all<{ id: string }>(
              `INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')})
               VALUES ${chunk.map(() => `(${cols.map(() => '?').join(', ')})`).join(', ')}
               ON CONFLICT (id) DO NOTHING RETURNING id`,
              chunk.flatMap((x) => cols.map((c) => this.encode(table, c, x.p.values[c]))),
            );
            return new Set(returned.map((r) => String(r.id)));
          });
        } catch {
          // A value the engine refused: let the per-row path find which one, and reject it alone.
          slow.push(...chunk);
          continue;
        }
        for (const x of chunk) {
          if (inserted.has(x.p.id))
            results[x.index] = {
              eventId: x.p.mutation.eventId,
              status: 'applied',
              table: table.name,
              id: x.p.id,
            };
          else slow.push(x);
        }
      }
    }
    return slow;
  }

  /** Mutations whose eventId was seen before: no second effect, the first result is returned. */
  private async answerDuplicates(
    tx: SqlExecutor,
    dups: Indexed[],
    results: MutationResult[],
  ): Promise<void> {
    for (let i = 0; i < dups.length; i += claimChunk) {
      const chunk = dups.slice(i, i + claimChunk);
      const rows = await tx.all<{
        event_id: string;
        status: string;
        version: number | null;
        table_name: string;
        row_id: string;
      }>(
        `SELECT event_id, status, version, table_name, row_id FROM _sync_events
          WHERE event_id IN (${chunk.map(() => '?').join(', ')})`,
        chunk.map((x) => x.p.mutation.eventId),
      );
      const byEvent = new Map(rows.map((r) => [r.event_id, r]));
      for (const { index, p } of chunk) {
        const first = byEvent.get(p.mutation.eventId);
        results[index] = first
          ? {
              eventId: p.mutation.eventId,
              status: 'duplicate',
              table: first.table_name,
              id: first.row_id,
              original: first.status === 'conflict' ? 'conflict' : 'applied',
              ...(first.version != null ? { version: Number(first.version) } : {}),
            }
          : (results.find((r) => r?.eventId === p.mutation.eventId && r.status === 'rejected') ??
            rejected(
              p.mutation,
              'RECORD_INVALID',
              'the same eventId appeared earlier in this batch and was rejected',
            ));
      }
    }
  }

  private prepare(identity: Identity, m: Mutation): Prepared | MutationResult {
    const table = this.names.resolve(m.table);
    if (!table) return rejected(m, 'UNKNOWN_TABLE', `table ${m.table} is not in the sync schema`);
    if (identity.role !== 'admin' && table.direction === 'down')
      return rejected(m, 'DIRECTION_FORBIDDEN', `table ${table.name} is download-only`);
    if (table.kind === 'event' && m.op === 'delete')
      return rejected(
        m,
        'EVENT_IMMUTABLE',
        `table ${table.name} is insert-only; rows cannot be deleted`,
      );
    // A terminal's row without a store (the POS app never set it) is its own store's row.
    const record =
      table.storeColumn &&
      identity.role !== 'admin' &&
      m.op === 'upsert' &&
      m.record[table.storeColumn] == null
        ? { ...m.record, [table.storeColumn]: identity.storeId }
        : m.record;
    const checked = validateRecord(table, record, { partial: true });
    if (!checked.ok) return rejected(m, 'RECORD_INVALID', checked.message);
    const values = m.op === 'delete' ? { id: checked.id } : checked.values;
    // A row's own updated_at is a client clock too: bound it like the mutation's (PITFALLS #9).
    const recordTime = typeof values['updated_at'] === 'string' ? values['updated_at'] : undefined;
    if (recordTime) values['updated_at'] = this.clampClientTime(recordTime);
    if (table.storeColumn && identity.role !== 'admin' && m.op === 'upsert') {
      const store = values[table.storeColumn];
      if (store === undefined) values[table.storeColumn] = identity.storeId;
      else if (store !== identity.storeId)
        return rejected(
          m,
          'SCOPE_VIOLATION',
          `${table.storeColumn} names another store than this device's`,
        );
    }
    if (m.deltas)
      for (const col of Object.keys(m.deltas))
        if (!table.columns.some((c) => c.name === col && c.counter))
          return rejected(
            m,
            'RECORD_INVALID',
            `deltas.${col}: not a counter column of ${table.name}`,
          );
    // Event rows are only ever inserted: check them whole now, before any write.
    if (table.kind === 'event')
      for (const c of table.columns)
        if (c.required && values[c.name] == null)
          return rejected(m, 'RECORD_INVALID', `column ${c.name} is required`);
    return {
      mutation: m,
      table,
      id: checked.id,
      values,
      clientTime: this.clampClientTime(m.updatedAt ?? recordTime),
    };
  }

  private clampClientTime(time: string | undefined): string | null {
    if (!time) return null;
    const limit = Date.now() + this.options.maxClockSkewMs;
    return new Date(Math.min(new Date(time).getTime(), limit)).toISOString();
  }

  /** The per-row path, for an already claimed eventId. */
  private async apply(
    tx: SqlExecutor,
    identity: Identity,
    machineId: string,
    p: Prepared,
  ): Promise<MutationResult> {
    const m = p.mutation;
    const result =
      p.table.kind === 'event'
        ? await this.applyEvent(tx, identity, machineId, p)
        : await this.applyMutable(tx, identity, machineId, p);
    if (result.status !== 'applied' || result.version !== undefined)
      await tx.run(`UPDATE _sync_events SET status = ?, version = ? WHERE event_id = ?`, [
        result.status === 'conflict' ? 'conflict' : 'applied',
        result.version ?? null,
        m.eventId,
      ]);
    return result;
  }

  /** Event tables (sales, payments...) are insert-only: the same id again is a duplicate or a conflict. */
  private async applyEvent(
    tx: SqlExecutor,
    identity: Identity,
    machineId: string,
    p: Prepared,
  ): Promise<MutationResult> {
    const full = validateRecord(p.table, p.values, { partial: false });
    if (!full.ok) throw new Rejection('RECORD_INVALID', full.message);
    const cols = Object.keys(p.values);
    const inserted = await tx.run(
      `INSERT INTO ${q(p.table.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})
       ON CONFLICT (id) DO NOTHING`,
      cols.map((c) => this.encode(p.table, c, p.values[c])),
    );
    const base = { eventId: p.mutation.eventId, table: p.table.name, id: p.id };
    if (inserted === 1) return { ...base, status: 'applied' };
    const existing = await this.load(tx, p.table, p.id);
    if (!existing) throw new Error(`row ${p.table.name}/${p.id} vanished during insert`);
    this.checkOwner(identity, p.table, existing);
    const same = cols.every((c) => isDeepStrictEqual(existing.row[c], p.values[c]));
    if (same)
      return { ...base, status: 'duplicate', original: 'applied', version: existing.version };
    await this.conflicts.record(tx, {
      eventId: p.mutation.eventId,
      machineId,
      storeId: storeOf(p.table, existing.row),
      table: p.table.name,
      rowId: p.id,
      policy: 'insert-only',
      resolution: 'server-wins',
      reason: 'an event row with this id already exists with other content',
      clientRecord: p.values,
      serverRecord: existing.row,
    });
    return {
      ...base,
      status: 'conflict',
      resolution: 'server-wins',
      version: existing.version,
      serverRecord: existing.row,
    };
  }

  private async applyMutable(
    tx: SqlExecutor,
    identity: Identity,
    machineId: string,
    p: Prepared,
  ): Promise<MutationResult> {
    const m = p.mutation;
    const table = p.table;
    const base = { eventId: m.eventId, table: table.name, id: p.id };
    const existing = await this.load(tx, table, p.id);
    if (existing) this.checkOwner(identity, table, existing);

    if (m.op === 'delete') {
      if (!existing) return { ...base, status: 'applied' };
      if (
        identity.role !== 'admin' &&
        this.isStale(table, p, existing) &&
        table.policy !== 'client-wins'
      )
        return this.conflict(
          tx,
          machineId,
          p,
          existing,
          'the row changed on the server after the terminal read it',
        );
      if (identity.role !== 'admin' && this.isStale(table, p, existing))
        await this.recordOverwrite(tx, machineId, p, existing);
      await tx.run(`DELETE FROM ${q(table.name)} WHERE id = ?`, [p.id]);
      return { ...base, status: 'applied', version: await this.version(tx, table, p.id) };
    }

    if (!existing) {
      const full = validateRecord(table, p.values, { partial: false });
      if (!full.ok) throw new Rejection('RECORD_INVALID', full.message);
      const values = this.withClientTime(table, p);
      // A new row: its absolute value already holds the terminal's changes; without one, the delta is the value.
      for (const [col, delta] of Object.entries(m.deltas ?? {})) values[col] ??= delta;
      const cols = Object.keys(values);
      await tx.run(
        `INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
        cols.map((c) => this.encode(table, c, values[c])),
      );
      return { ...base, status: 'applied', version: await this.version(tx, table, p.id) };
    }

    if (
      table.storeColumn &&
      p.values[table.storeColumn] !== undefined &&
      p.values[table.storeColumn] !== existing.row[table.storeColumn]
    )
      throw new Rejection('SCOPE_VIOLATION', `a row cannot move to another store`);

    const stale = identity.role !== 'admin' && this.isStale(table, p, existing);
    const deltas = m.deltas ?? {};
    if (stale && table.policy !== 'client-wins') {
      // The row keeps the server's values, but counter deltas still count: both tills sold.
      if (Object.keys(deltas).length > 0) await this.update(tx, table, p.id, {}, deltas);
      return this.conflict(
        tx,
        machineId,
        p,
        existing,
        'the row changed on the server after the terminal read it',
      );
    }
    if (stale) await this.recordOverwrite(tx, machineId, p, existing);
    const values = this.withClientTime(table, p);
    for (const col of Object.keys(deltas)) delete values[col];
    await this.update(tx, table, p.id, values, deltas);
    const version = await this.version(tx, table, p.id);
    return stale
      ? { ...base, status: 'applied', version, overwritten: existing.row }
      : { ...base, status: 'applied', version };
  }

  /** Whether the terminal wrote without having seen the row's current version. */
  private isStale(table: TableDef, p: Prepared, existing: Existing): boolean {
    const m = p.mutation;
    if (table.policy === 'last-write-wins') {
      const theirs = p.clientTime ?? new Date().toISOString();
      const ours =
        (typeof existing.row['updated_at'] === 'string' ? existing.row['updated_at'] : null) ??
        existing.updatedAt;
      return ours !== null && theirs < ours;
    }
    if (m.baseVersion !== undefined) return m.baseVersion < existing.version;
    // Seed 003: without a version, an update older than the row's last server write is stale.
    return (
      p.clientTime !== null && existing.updatedAt !== null && p.clientTime < existing.updatedAt
    );
  }

  private withClientTime(table: TableDef, p: Prepared): Record<string, unknown> {
    const values = { ...p.values };
    if (table.policy === 'last-write-wins' && table.columns.some((c) => c.name === 'updated_at'))
      // The row's time is the write's effective time, the one the next writer is compared with.
      values['updated_at'] = p.clientTime ?? values['updated_at'] ?? new Date().toISOString();
    return values;
  }

  private async conflict(
    tx: SqlExecutor,
    machineId: string,
    p: Prepared,
    existing: Existing,
    reason: string,
  ): Promise<MutationResult> {
    const current = (await this.load(tx, p.table, p.id)) ?? existing;
    await this.conflicts.record(tx, {
      eventId: p.mutation.eventId,
      machineId,
      storeId: storeOf(p.table, current.row),
      table: p.table.name,
      rowId: p.id,
      policy: p.table.policy,
      resolution: 'server-wins',
      reason,
      clientRecord: p.mutation.op === 'delete' ? { id: p.id, _deleted: true } : p.values,
      serverRecord: current.row,
    });
    return {
      eventId: p.mutation.eventId,
      table: p.table.name,
      id: p.id,
      status: 'conflict',
      resolution: 'server-wins',
      version: current.version,
      serverRecord: current.row,
    };
  }

  private recordOverwrite(
    tx: SqlExecutor,
    machineId: string,
    p: Prepared,
    existing: Existing,
  ): Promise<void> {
    return this.conflicts.record(tx, {
      eventId: p.mutation.eventId,
      machineId,
      storeId: storeOf(p.table, existing.row),
      table: p.table.name,
      rowId: p.id,
      policy: p.table.policy,
      resolution: 'client-wins',
      reason: 'the terminal overwrote a row that changed on the server after it read it',
      clientRecord: p.mutation.op === 'delete' ? { id: p.id, _deleted: true } : p.values,
      serverRecord: existing.row,
    });
  }

  private checkOwner(identity: Identity, table: TableDef, existing: Existing): void {
    if (
      identity.role !== 'admin' &&
      table.storeColumn &&
      existing.row[table.storeColumn] !== identity.storeId
    )
      throw new Rejection(
        'SCOPE_VIOLATION',
        `id ${String(existing.row['id'])} belongs to another store's row`,
      );
  }

  private async update(
    tx: SqlExecutor,
    table: TableDef,
    id: string,
    values: Record<string, unknown>,
    deltas: Record<string, number>,
  ): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    for (const [col, value] of Object.entries(values)) {
      if (col === 'id') continue;
      sets.push(`${q(col)} = ?`);
      params.push(this.encode(table, col, value));
    }
    for (const [col, delta] of Object.entries(deltas)) {
      sets.push(`${q(col)} = COALESCE(${q(col)}, 0) + ?`);
      params.push(delta);
    }
    // An update that changes nothing still bumps the version, so the terminal learns the row's state.
    if (sets.length === 0) sets.push(`id = id`);
    params.push(id);
    await tx.run(`UPDATE ${q(table.name)} SET ${sets.join(', ')} WHERE id = ?`, params);
  }

  private encode(table: TableDef, column: string, value: unknown): unknown {
    const def = columnsOf(table).get(column);
    if (!def) throw new SyncError('INTERNAL', `no column ${column} in ${table.name}`);
    return this.storage.encode(def.type, value);
  }

  private async load(tx: SqlExecutor, table: TableDef, id: string): Promise<Existing | null> {
    const rows = await tx.all<Row>(
      `SELECT t.*, c.seq AS _sync_seq, c.updated_at AS _sync_updated_at
         FROM ${q(table.name)} t LEFT JOIN _sync_changes c ON c.table_name = ? AND c.row_id = t.id
        WHERE t.id = ?`,
      [table.name, id],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      row: decodeRow(this.storage, table, row),
      version: Number(row['_sync_seq'] ?? 0),
      updatedAt: (row['_sync_updated_at'] as string | null) ?? null,
    };
  }

  private async version(tx: SqlExecutor, table: TableDef, id: string): Promise<number> {
    const rows = await tx.all<{ seq: number }>(
      `SELECT seq FROM _sync_changes WHERE table_name = ? AND row_id = ?`,
      [table.name, id],
    );
    return Number(rows[0]?.seq ?? 0);
  }
}

function rejected(m: Mutation, code: ErrorCode, message: string): MutationResult {
  return {
    eventId: m.eventId,
    status: 'rejected',
    table: m.table,
    ...(typeof m.record.id === 'string' ? { id: m.record.id } : {}),
    reason: { code, message },
  };
}

function storeOf(table: TableDef, row: Record<string, unknown>): string | null {
  return table.storeColumn ? ((row[table.storeColumn] as string | null) ?? null) : null;
}
