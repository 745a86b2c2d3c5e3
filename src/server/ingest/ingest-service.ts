import { isDeepStrictEqual } from 'node:util';
import {
  agentSyncId,
  columnsOf,
  SyncError,
  type AgentPayload,
  type IngestListQuery,
  type IngestListResponse,
  type IngestRecord,
  type IngestResponse,
  type IngestStore,
  type TableDef,
  type TableNames,
} from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';
import { quoteIdent as q } from '../storage/quote.js';
import type { Row, SqlExecutor, Storage } from '../storage/index.js';
import { decodeRow } from '../sync/index.js';
import {
  ingestTables,
  missingIngestColumns,
  payloadRows,
  type IngestTable,
  type PayloadRows,
} from './payload-rows.js';

/** Ids per `IN (…)` lookup. */
const idChunk = 500;

type IngestRow = {
  store_id: string;
  sync_id: string;
  machine_id: string;
  event_type: string;
  id_ponto_venda: number | null;
  id_filial: number | null;
  window_from: string;
  window_to: string;
  vendas: number;
  turnos: number;
  warnings: string;
  quebras: string;
  late: number;
  received_at: string;
};

type StoreRow = {
  store_id: string;
  machine_id: string;
  ingests: number;
  latest_window_to: string | null;
  last_ingest_at: string | null;
  last_seen_at: string;
};

/**
 * Stores the sync agent's payloads (seed 001) as rows of the sync tables, so they are
 * pulled, reconciled and listed like any pushed sale. Invariants:
 * - a payload has at most one effect per store: its `(store, sync_id)` key is inserted
 *   in the same transaction as its rows, after the store's ingest lock, so a resend, even
 *   concurrent, is answered `duplicate` from the stored key and writes nothing;
 * - a venda, turno or sangria is one row whatever the number of payloads it arrives in:
 *   ids are derived from (store, canal, source id) (`ingestRowId`);
 * - a later window's content replaces an earlier one's (a re-extracted sale, a shift
 *   closed since), but a payload older than the newest window already stored (an outbox
 *   backlog, a replayed dead letter) only adds the rows that are missing; a closed shift
 *   never reopens;
 * - rows are written with the store of the token (or the admin's explicit store), never
 *   one named by the payload.
 */
export class IngestService {
  private readonly tables: Record<IngestTable, TableDef> | null;
  /** Tables and columns the sync schema lacks for agent payloads; empty when it has them all. */
  readonly missing: string[];

  constructor(
    private readonly storage: Storage,
    private readonly names: TableNames,
  ) {
    this.missing = missingIngestColumns(names);
    this.tables =
      this.missing.length === 0
        ? (Object.fromEntries(ingestTables.map((t) => [t, names.resolve(t)])) as Record<
            IngestTable,
            TableDef
          >)
        : null;
  }

  /** The store the payload's rows belong to: the device's own, or the one the admin names. */
  storeFor(identity: Identity, requested: string | undefined): string {
    if (identity.role !== 'admin') {
      if (requested !== undefined && requested !== identity.storeId)
        throw new SyncError(
          'SCOPE_VIOLATION',
          `this token belongs to store ${identity.storeId}, not ${requested}`,
        );
      return identity.storeId;
    }
    if (requested === undefined)
      throw new SyncError(
        'STORE_REQUIRED',
        'the admin token is bound to no store: name the store with ?store=<storeId>',
      );
    return requested;
  }

  /**
   * Checks `integrity.sync_id` against the payload. The id is computed over the payload as
   * sent; the parsed form (defaults filled in, unknown keys dropped) is accepted too, so an
   * agent that hashes its typed object before serializing it matches either way.
   */
  checkSyncId(raw: unknown, payload: AgentPayload): void {
    const claimed = payload.integrity.sync_id;
    if (agentSyncId(payload) === claimed) return;
    let asSent: string;
    try {
      asSent = agentSyncId(raw as AgentPayload);
    } catch {
      // Keys the schema drops may nest deeper than the canonicalizer's recursion: that body's id is the parsed one.
      asSent = agentSyncId(payload);
    }
    if (asSent === claimed) return;
    throw new SyncError(
      'SYNC_ID_MISMATCH',
      'integrity.sync_id is not the SHA-256 of the canonical payload: the payload changed after its id was computed',
      { details: { expected: asSent, received: claimed } },
    );
  }

  async ingest(
    identity: Identity,
    storeId: string,
    payload: AgentPayload,
  ): Promise<IngestResponse> {
    const tables = this.tables;
    if (!tables)
      throw new SyncError(
        'SCHEMA_INVALID',
        `the sync schema lacks what agent payloads are stored into: ${this.missing.join(', ')}`,
      );
    const syncId = payload.integrity.sync_id;
    const answer = (status: IngestResponse['status'], row: IngestRow): IngestResponse => ({
      syncId,
      status,
      vendas: Number(row.vendas),
      turnos: Number(row.turnos),
      quebras: JSON.parse(row.quebras) as IngestResponse['quebras'],
    });
    // The common resend, answered without mapping the payload again (the transaction re-checks).
    const [seen] = await this.storage.read((tx) =>
      tx.all<IngestRow>(`SELECT * FROM _sync_ingests WHERE store_id = ? AND sync_id = ?`, [
        storeId,
        syncId,
      ]),
    );
    if (seen) {
      await this.storage.transaction((tx) =>
        tx.run(`UPDATE _sync_ingest_stores SET last_seen_at = ? WHERE store_id = ?`, [
          new Date().toISOString(),
          storeId,
        ]),
      );
      return answer('duplicate', seen);
    }
    const windowFrom = isoInstant(payload.window.from, 'body.window.from');
    const windowTo = isoInstant(payload.window.to, 'body.window.to');
    if (Date.parse(windowFrom) > Date.parse(windowTo))
      throw invalid([{ path: 'body.window', message: 'window.from is after window.to' }]);
    const mapped = payloadRows(this.names, storeId, payload);
    if ('issues' in mapped) throw invalid(mapped.issues);
    const now = new Date().toISOString();

    return this.storage.transaction(async (tx) => {
      // The store's lock: ingests of one store run one at a time, so "newest window" is exact.
      await tx.run(
        `INSERT INTO _sync_ingest_stores (store_id, machine_id, ingests, last_seen_at)
         VALUES (?, ?, 0, ?) ON CONFLICT (store_id) DO NOTHING`,
        [storeId, identity.machineId, now],
      );
      await tx.run(
        `UPDATE _sync_ingest_stores SET last_seen_at = ?, machine_id = ? WHERE store_id = ?`,
        [now, identity.machineId, storeId],
      );
      const [store] = await tx.all<{ latest_window_to: string | null }>(
        `SELECT latest_window_to FROM _sync_ingest_stores WHERE store_id = ?`,
        [storeId],
      );
      const latest = store?.latest_window_to ?? null;
      const late = latest !== null && Date.parse(windowTo) < Date.parse(latest);
      const row: IngestRow = {
        store_id: storeId,
        sync_id: syncId,
        machine_id: identity.machineId,
        event_type: payload.event_type,
        id_ponto_venda: payload.store.id_ponto_venda,
        id_filial: payload.store.id_filial,
        window_from: windowFrom,
        window_to: windowTo,
        vendas: payload.vendas.length,
        turnos: payload.turnos.length,
        warnings: JSON.stringify([...payload.integrity.warnings, ...mapped.notes]),
        quebras: JSON.stringify(mapped.quebras),
        late: late ? 1 : 0,
        received_at: now,
      };
      const cols = Object.keys(row);
      const claimed = await tx.all(
        `INSERT INTO _sync_ingests (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})
         ON CONFLICT (store_id, sync_id) DO NOTHING RETURNING sync_id`,
        cols.map((c) => row[c as keyof IngestRow]),
      );
      if (claimed.length === 0) {
        const [first] = await tx.all<IngestRow>(
          `SELECT * FROM _sync_ingests WHERE store_id = ? AND sync_id = ?`,
          [storeId, syncId],
        );
        if (!first) throw new SyncError('INTERNAL', `ingest ${syncId} vanished`);
        return answer('duplicate', first);
      }
      await this.write(tx, tables, mapped, late);
      await tx.run(
        `UPDATE _sync_ingest_stores SET ingests = ingests + 1, last_ingest_at = ?,
           latest_window_to = ? WHERE store_id = ?`,
        [now, late && latest !== null ? latest : windowTo, storeId],
      );
      return answer('stored', row);
    });
  }

  private async write(
    tx: SqlExecutor,
    tables: Record<IngestTable, TableDef>,
    mapped: PayloadRows,
    late: boolean,
  ): Promise<void> {
    // Late: a venda already stored keeps the lines a newer window gave it, none added back.
    let keptVendas = new Set<string>();
    for (const name of ingestTables) {
      const rows =
        late && (name === 'itens_venda' || name === 'pagamentos')
          ? mapped.rows[name].filter((r) => !keptVendas.has(String(r['venda_id'])))
          : mapped.rows[name];
      const existed = await this.upsert(
        tx,
        tables[name],
        rows,
        late ? 'insert-missing' : 'replace',
      );
      if (name === 'vendas') keptVendas = existed;
    }
    if (!late) {
      await this.removeLines(tx, 'itens_venda', mapped.vendaIds, mapped.rows.itens_venda);
      await this.removeLines(tx, 'pagamentos', mapped.vendaIds, mapped.rows.pagamentos);
    }
  }

  /**
   * New rows go in with multi-row INSERTs; an existing row is updated only where a value
   * differs, so a resent unchanged sale makes no change-log entry. No `ON CONFLICT` on sync
   * tables: in SQLite it would override the capture triggers' own conflict clause. Returns
   * the ids that were already there.
   */
  private async upsert(
    tx: SqlExecutor,
    table: TableDef,
    rows: Record<string, unknown>[],
    mode: 'replace' | 'insert-missing',
  ): Promise<Set<string>> {
    const existing = new Map<string, Record<string, unknown>>();
    const ids = rows.map((r) => String(r['id'])).sort();
    for (let i = 0; i < ids.length; i += idChunk) {
      const chunk = ids.slice(i, i + idChunk);
      const found = await tx.all<Row>(
        `SELECT * FROM ${q(table.name)} WHERE id IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      for (const r of found) existing.set(String(r['id']), decodeRow(this.storage, table, r));
    }
    const fresh = rows.filter((r) => !existing.has(String(r['id'])));
    await this.insert(tx, table, fresh);
    if (mode === 'insert-missing') return new Set(existing.keys());
    for (const row of rows) {
      const old = existing.get(String(row['id']));
      if (!old) continue;
      // A closed shift stays closed, whatever a later payload says.
      if (table.name === 'turnos' && old['fechado'] === true && row['fechado'] !== true) continue;
      const changed = Object.keys(row).filter(
        (c) => c !== 'id' && !isDeepStrictEqual(old[c], row[c]),
      );
      if (changed.length === 0) continue;
      await tx.run(
        `UPDATE ${q(table.name)} SET ${changed.map((c) => `${q(c)} = ?`).join(', ')} WHERE id = ?`,
        [...changed.map((c) => this.encode(table, c, row[c])), row['id']],
      );
    }
    return new Set(existing.keys());
  }

  private async insert(
    tx: SqlExecutor,
    table: TableDef,
    rows: Record<string, unknown>[],
  ): Promise<void> {
    if (rows.length === 0) return;
    const cols = Object.keys(rows[0] ?? {});
    const perChunk = Math.max(1, Math.floor(this.storage.capabilities.maxParams / cols.length));
    for (let i = 0; i < rows.length; i += perChunk) {
      const chunk = rows.slice(i, i + perChunk);
      await tx.run(
        `INSERT INTO ${q(table.name)} (${cols.map(q).join(', ')})
         VALUES ${chunk.map(() => `(${cols.map(() => '?').join(', ')})`).join(', ')}`,
        chunk.flatMap((r) => cols.map((c) => this.encode(table, c, r[c]))),
      );
    }
  }

  private encode(table: TableDef, column: string, value: unknown): unknown {
    const def = columnsOf(table).get(column);
    if (!def) throw new SyncError('INTERNAL', `no column ${column} in ${table.name}`);
    return this.storage.encode(def.type, value);
  }

  /** A sale read again whole with fewer lines: the lines no longer at the source go. */
  private async removeLines(
    tx: SqlExecutor,
    table: 'itens_venda' | 'pagamentos',
    vendaIds: string[],
    lines: Record<string, unknown>[],
  ): Promise<void> {
    const byVenda = new Map<string, string[]>(vendaIds.map((id) => [id, []]));
    for (const line of lines) byVenda.get(String(line['venda_id']))?.push(String(line['id']));
    let vendas: string[] = [];
    let keep: string[] = [];
    const flush = async () => {
      if (vendas.length === 0) return;
      await tx.run(
        `DELETE FROM ${q(table)} WHERE venda_id IN (${vendas.map(() => '?').join(', ')})${
          keep.length ? ` AND id NOT IN (${keep.map(() => '?').join(', ')})` : ''
        }`,
        [...vendas, ...keep],
      );
      vendas = [];
      keep = [];
    };
    for (const [venda, ids] of byVenda) {
      if (vendas.length + keep.length + 1 + ids.length > this.storage.capabilities.maxParams)
        await flush();
      vendas.push(venda);
      keep.push(...ids);
    }
    await flush();
  }

  /** Recent ingests and each store's agent health; a device sees its own store only. */
  async list(identity: Identity, query: IngestListQuery): Promise<IngestListResponse> {
    const store = identity.role !== 'admin' ? identity.storeId : (query.store ?? null);
    const where = store === null ? '' : 'WHERE store_id = ?';
    const params = store === null ? [] : [store];
    return this.storage.read(async (tx) => {
      const rows = await tx.all<IngestRow>(
        `SELECT * FROM _sync_ingests ${where} ORDER BY received_at DESC, sync_id LIMIT ?`,
        [...params, query.limit],
      );
      const stores = await tx.all<StoreRow>(
        `SELECT * FROM _sync_ingest_stores ${where} ORDER BY store_id`,
        params,
      );
      const ingests = rows.map(toRecord);
      return { ingests, count: ingests.length, stores: stores.map(toStore) };
    });
  }

  /** Every store's agent health, for `GET /api/stats`. */
  stores(): Promise<IngestStore[]> {
    return this.storage.read(async (tx) =>
      (await tx.all<StoreRow>(`SELECT * FROM _sync_ingest_stores ORDER BY store_id`)).map(toStore),
    );
  }
}

function toRecord(r: IngestRow): IngestRecord {
  return {
    syncId: r.sync_id,
    storeId: r.store_id,
    machineId: r.machine_id,
    eventType: r.event_type,
    idPontoVenda: r.id_ponto_venda === null ? null : Number(r.id_ponto_venda),
    idFilial: r.id_filial === null ? null : Number(r.id_filial),
    windowFrom: r.window_from,
    windowTo: r.window_to,
    vendas: Number(r.vendas),
    turnos: Number(r.turnos),
    warnings: JSON.parse(r.warnings) as string[],
    quebras: JSON.parse(r.quebras) as IngestRecord['quebras'],
    late: Number(r.late) === 1,
    receivedAt: r.received_at,
  };
}

function toStore(r: StoreRow): IngestStore {
  return {
    storeId: r.store_id,
    machineId: r.machine_id,
    ingests: Number(r.ingests),
    latestWindowTo: r.latest_window_to,
    lastIngestAt: r.last_ingest_at,
    lastSeenAt: r.last_seen_at,
  };
}

function invalid(issues: { path: string; message: string }[]): SyncError {
  return new SyncError(
    'VALIDATION_FAILED',
    `invalid body: ${issues[0]?.path}: ${issues[0]?.message}`,
    { details: { issues } },
  );
}

/** An ISO instant with an offset, as ISO UTC. */
function isoInstant(value: string, path: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalid([{ path, message: 'not a valid date and time' }]);
  return new Date(ms).toISOString();
}
