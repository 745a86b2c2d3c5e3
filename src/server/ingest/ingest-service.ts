import { isDeepStrictEqual } from 'node:util';
import {
  agentSyncId,
  columnsOf,
  SyncError,
  type AgentPayload,
  type AgentPayloadIngest,
  type IngestListQuery,
  type IngestNotStored,
  type IngestListResponse,
  type IngestRecord,
  type IngestResponse,
  type IngestStore,
  type TableDef,
  type TableNames,
} from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';
import { quoteIdent as q } from '../storage/quote.js';
import { encodeColumn, type Row, type SqlExecutor, type Storage } from '../storage/index.js';
import { decodeRow } from '../sync/index.js';
import { StoreTimeZones } from '../store-time-zones.js';
import {
  ingestTables,
  missingIngestColumns,
  payloadRows,
  type IngestTable,
  type PayloadRows,
} from './payload-rows.js';
import { findBadText } from './payload-text.js';

export type IngestOptions = {
  /** Compare `integrity.sync_id` with the content hash: warn (default), refuse, off. */
  verifySyncId: 'off' | 'warn' | 'refuse';
  /** Most sales in one payload (413 beyond). */
  maxSales: number;
  /** Days a payload's body is kept (the ingest keys' retention). */
  bodyRetentionDays: number;
  /** The zones naive timestamps are read in (the payload's store's). */
  timeZones: StoreTimeZones;
};

const defaultOptions: IngestOptions = {
  verifySyncId: 'warn',
  maxSales: 10_000,
  bodyRetentionDays: 90,
  timeZones: new StoreTimeZones('America/Sao_Paulo'),
};

type BodyRow = { not_stored: string; server_warnings: string };
type BindingRow = { id_ponto_venda: number | string; id_filial: number | string | null };
type StoreIds = { idPontoVenda: number; idFilial: number | null };

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

  private readonly options: IngestOptions;

  constructor(
    private readonly storage: Storage,
    private readonly names: TableNames,
    options: Partial<IngestOptions> = {},
  ) {
    this.options = { ...defaultOptions, ...options };
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
   * Refusals that need no database: a string no engine stores (400 naming the field) and
   * more sales than one payload may carry (413 with the limit). Run on the body as sent,
   * before the schema, so an oversized payload costs no parsing.
   */
  checkBody(body: unknown): void {
    const vendas = (body as { vendas?: unknown } | null)?.vendas;
    if (Array.isArray(vendas) && vendas.length > this.options.maxSales)
      throw new SyncError(
        'BATCH_TOO_LARGE',
        `the payload carries ${vendas.length} sales; at most ${this.options.maxSales} are accepted in one payload: send shorter windows`,
        { details: { limit: this.options.maxSales, received: vendas.length } },
      );
    const bad = findBadText(body);
    if (bad) throw invalid([bad]);
  }

  /**
   * `integrity.sync_id` is the agent's idempotency key as sent: other agents hash their
   * payload their own way (PITFALLS #21). Comparing it with our canonical hash is a setting;
   * a mismatch is a warning (default) or, with `refuse`, 422 SYNC_ID_MISMATCH. The id is
   * computed over the payload as sent and over the parsed form (defaults filled in), so an
   * agent that hashes its typed object before serializing it matches either way. Returns
   * the warnings to record.
   */
  checkSyncId(raw: unknown, payload: AgentPayloadIngest): string[] {
    if (this.options.verifySyncId === 'off') return [];
    const claimed = payload.integrity.sync_id;
    let parsed: string | null = null;
    try {
      parsed = agentSyncId(payload as unknown as AgentPayload);
    } catch {
      // Unknown keys nested deeper than the canonicalizer's recursion: no parsed id.
    }
    if (parsed === claimed) return [];
    let asSent = parsed;
    try {
      asSent = agentSyncId(raw as AgentPayload);
    } catch {
      // The same: the body as sent cannot be hashed either.
    }
    if (asSent === claimed) return [];
    if (this.options.verifySyncId === 'refuse')
      throw new SyncError(
        'SYNC_ID_MISMATCH',
        'integrity.sync_id is not the SHA-256 of the canonical payload: the payload changed after its id was computed',
        { details: { expected: asSent, received: claimed } },
      );
    return [
      `SYNC_ID_UNVERIFIED: integrity.sync_id is not the SHA-256 of the payload's canonical JSON (expected ${asSent ?? 'no hash: too deep'}); kept as the idempotency key as sent`,
    ];
  }

  /**
   * Sets the source-system ids of a store's agent (the admin, when it creates the agent's
   * token): a later payload naming other ids is refused with 403.
   */
  async bindStore(storeId: string, ids: StoreIds, by: string): Promise<void> {
    const now = new Date().toISOString();
    await this.storage.transaction(async (tx) => {
      await tx.run(`DELETE FROM _sync_ingest_bindings WHERE store_id = ?`, [storeId]);
      await tx.run(
        `INSERT INTO _sync_ingest_bindings (store_id, id_ponto_venda, id_filial, bound_by, bound_at)
         VALUES (?, ?, ?, ?, ?)`,
        [storeId, ids.idPontoVenda, ids.idFilial, by, now],
      );
    });
  }

  /** The source-system ids a store is configured with, or null before its first payload. */
  async storeBinding(storeId: string, tx?: SqlExecutor): Promise<StoreIds | null> {
    const read = (ex: SqlExecutor) =>
      ex.all<BindingRow>(
        `SELECT id_ponto_venda, id_filial FROM _sync_ingest_bindings WHERE store_id = ?`,
        [storeId],
      );
    const [row] = tx ? await read(tx) : await this.storage.read(read);
    if (!row) return null;
    return {
      idPontoVenda: Number(row.id_ponto_venda),
      idFilial: row.id_filial === null ? null : Number(row.id_filial),
    };
  }

  /** 403 when the payload's store block names other source ids than the store's. */
  private checkBinding(storeId: string, bound: StoreIds | null, sent: StoreIds): void {
    if (!bound) return;
    const filialDiffers =
      bound.idFilial !== null && sent.idFilial !== null && bound.idFilial !== sent.idFilial;
    if (bound.idPontoVenda === sent.idPontoVenda && !filialDiffers) return;
    throw new SyncError(
      'AGENT_STORE_MISMATCH',
      `this payload is for id_ponto_venda ${sent.idPontoVenda}${sent.idFilial === null ? '' : ` / id_filial ${sent.idFilial}`}, but store ${storeId} is id_ponto_venda ${bound.idPontoVenda}${bound.idFilial === null ? '' : ` / id_filial ${bound.idFilial}`}: check the agent's store ids and token`,
      { details: { storeId, configured: bound, received: sent } },
    );
  }

  async ingest(
    identity: Identity,
    storeId: string,
    payload: AgentPayloadIngest,
    extra: { body?: unknown; warnings?: string[] } = {},
  ): Promise<IngestResponse> {
    const tables = this.tables;
    if (!tables)
      throw new SyncError(
        'SCHEMA_INVALID',
        `the sync schema lacks what agent payloads are stored into: ${this.missing.join(', ')}`,
      );
    const syncId = payload.integrity.sync_id;
    const sentIds: StoreIds = {
      idPontoVenda: payload.store.id_ponto_venda,
      idFilial: payload.store.id_filial,
    };
    const answer = (
      status: IngestResponse['status'],
      row: IngestRow,
      body: BodyRow | undefined,
    ): IngestResponse => {
      const out: IngestResponse = {
        syncId,
        status,
        vendas: Number(row.vendas),
        turnos: Number(row.turnos),
        quebras: JSON.parse(row.quebras) as IngestResponse['quebras'],
      };
      const notStored = body ? (JSON.parse(body.not_stored) as IngestNotStored[]) : [];
      const warnings = body ? (JSON.parse(body.server_warnings) as string[]) : [];
      if (notStored.length > 0) out.notStored = notStored;
      if (warnings.length > 0) out.warnings = warnings;
      return out;
    };
    const firstAnswer = async (ex: SqlExecutor) => {
      const [first] = await ex.all<
        IngestRow & { not_stored: string | null; server_warnings: string | null }
      >(
        `SELECT i.*, b.not_stored, b.server_warnings FROM _sync_ingests i
         LEFT JOIN _sync_ingest_bodies b ON b.store_id = i.store_id AND b.sync_id = i.sync_id
         WHERE i.store_id = ? AND i.sync_id = ?`,
        [storeId, syncId],
      );
      if (!first) return null;
      const body =
        first.not_stored === null || first.server_warnings === null
          ? undefined
          : { not_stored: first.not_stored, server_warnings: first.server_warnings };
      return answer('duplicate', first, body);
    };
    // A payload for another store is refused before anything, resends included.
    this.checkBinding(storeId, await this.storeBinding(storeId), sentIds);
    // The common resend, answered without mapping the payload again (the transaction re-checks).
    const seen = await this.storage.read(firstAnswer);
    if (seen) {
      await this.storage.transaction((tx) =>
        tx.run(`UPDATE _sync_ingest_stores SET last_seen_at = ? WHERE store_id = ?`, [
          new Date().toISOString(),
          storeId,
        ]),
      );
      return seen;
    }
    const windowFrom = isoInstant(payload.window.from, 'body.window.from');
    const windowTo = isoInstant(payload.window.to, 'body.window.to');
    if (Date.parse(windowFrom) > Date.parse(windowTo))
      throw invalid([{ path: 'body.window', message: 'window.from is after window.to' }]);
    const mapped = payloadRows(this.names, storeId, payload, this.options.timeZones.of(storeId));
    if ('issues' in mapped) throw invalid(mapped.issues);
    const now = new Date().toISOString();
    const bodyText = bodyTextOf(extra.body ?? payload);
    const serverWarnings = extra.warnings ?? [];

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
      // Under the lock: the first payload of a store binds its ids; a concurrent one is checked.
      const bound = await this.storeBinding(storeId, tx);
      this.checkBinding(storeId, bound, sentIds);
      if (!bound)
        await tx.run(
          `INSERT INTO _sync_ingest_bindings (store_id, id_ponto_venda, id_filial, bound_by, bound_at)
           VALUES (?, ?, ?, ?, ?)`,
          [storeId, sentIds.idPontoVenda, sentIds.idFilial, 'first-payload', now],
        );
      else if (bound.idFilial === null && sentIds.idFilial !== null)
        await tx.run(`UPDATE _sync_ingest_bindings SET id_filial = ? WHERE store_id = ?`, [
          sentIds.idFilial,
          storeId,
        ]);
      const [store] = await tx.all<{ latest_window_to: string | null }>(
        `SELECT latest_window_to FROM _sync_ingest_stores WHERE store_id = ?`,
        [storeId],
      );
      const latest = store?.latest_window_to ?? null;
      const late = latest !== null && Date.parse(windowTo) < Date.parse(latest);
      const dup = await firstAnswer(tx);
      if (dup) return dup;
      const notStored = await this.write(tx, storeId, tables, mapped, late);
      const row: IngestRow = {
        store_id: storeId,
        sync_id: syncId,
        machine_id: identity.machineId,
        event_type: payload.event_type,
        id_ponto_venda: payload.store.id_ponto_venda,
        id_filial: payload.store.id_filial,
        window_from: windowFrom,
        window_to: windowTo,
        vendas: mapped.vendaIds.length - notStored.filter((n) => n.kind === 'venda').length,
        turnos: mapped.rows.turnos.length - notStored.filter((n) => n.kind === 'turno').length,
        warnings: JSON.stringify([
          ...payload.integrity.warnings,
          ...mapped.notes,
          ...serverWarnings,
          ...notStored.map((n) => `NOT_STORED: ${n.kind} ${n.canal} ${n.sourceId}: ${n.reason}`),
        ]),
        quebras: JSON.stringify(
          mapped.quebras.filter(
            (q) =>
              !notStored.some(
                (n) => n.kind === 'turno' && n.canal === q.canal && n.sourceId === q.id_turno,
              ),
          ),
        ),
        late: late ? 1 : 0,
        received_at: now,
      };
      const cols = Object.keys(row);
      // The key goes in with the rows: the same transaction, so a resend sees both or neither.
      await tx.run(
        `INSERT INTO _sync_ingests (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
        cols.map((c) => row[c as keyof IngestRow]),
      );
      const bodyRow: BodyRow = {
        not_stored: JSON.stringify(notStored),
        server_warnings: JSON.stringify(serverWarnings),
      };
      // A key expired and sent again replaces its old body.
      await tx.run(`DELETE FROM _sync_ingest_bodies WHERE store_id = ? AND sync_id = ?`, [
        storeId,
        syncId,
      ]);
      await tx.run(
        `INSERT INTO _sync_ingest_bodies (store_id, sync_id, body, not_stored, server_warnings, received_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
        [storeId, syncId, bodyText, bodyRow.not_stored, bodyRow.server_warnings, now],
      );
      // Bodies age out with the ingest keys (indexed by store and time: cheap per ingest).
      await tx.run(`DELETE FROM _sync_ingest_bodies WHERE store_id = ? AND received_at < ?`, [
        storeId,
        new Date(Date.parse(now) - this.options.bodyRetentionDays * 86_400_000).toISOString(),
      ]);
      await tx.run(
        `UPDATE _sync_ingest_stores SET ingests = ingests + 1, last_ingest_at = ?,
           latest_window_to = ? WHERE store_id = ?`,
        [now, late && latest !== null ? latest : windowTo, storeId],
      );
      return answer('stored', row, bodyRow);
    });
  }

  /** The payload of one ingest as its agent sent it (unknown fields included), or null. */
  async body(storeId: string, syncId: string): Promise<unknown> {
    const [row] = await this.storage.read((tx) =>
      tx.all<{ body: string }>(
        `SELECT body FROM _sync_ingest_bodies WHERE store_id = ? AND sync_id = ?`,
        [storeId, syncId],
      ),
    );
    return row ? (JSON.parse(row.body) as unknown) : null;
  }

  /**
   * Writes the mapped rows of one store; returns what could not be stored (nothing today: the
   * list stays in the answer's shape). Rows are (store, id): an id another store's row also
   * uses (planted by a push, or numbered alike by its source system) names this store's own
   * row, so the other store's row is never overwritten, moved or deleted.
   */
  private async write(
    tx: SqlExecutor,
    storeId: string,
    tables: Record<IngestTable, TableDef>,
    mapped: PayloadRows,
    late: boolean,
  ): Promise<IngestNotStored[]> {
    // Rows are (store, id): only this store's rows are read and written, so another store's
    // row with the same id is never overwritten, moved or deleted (and never consulted).
    const existing = {} as Record<IngestTable, Map<string, Record<string, unknown>>>;
    for (const name of ingestTables)
      existing[name] = await this.existing(tx, storeId, tables[name], mapped.rows[name]);
    const notStored: IngestNotStored[] = [];
    const own = (name: IngestTable): Record<string, unknown>[] => mapped.rows[name];

    // Late: a venda already stored keeps the lines a newer window gave it, none added back.
    const keptVendas = new Set(existing.vendas.keys());
    for (const name of ingestTables) {
      const rows =
        late && (name === 'itens_venda' || name === 'pagamentos')
          ? own(name).filter((r) => !keptVendas.has(String(r['venda_id'])))
          : own(name);
      await this.upsert(
        tx,
        storeId,
        tables[name],
        rows,
        existing[name],
        late ? 'insert-missing' : 'replace',
      );
    }
    if (!late) {
      const vendaIds = mapped.vendaIds;
      await this.removeLines(tx, storeId, 'itens_venda', vendaIds, own('itens_venda'));
      await this.removeLines(tx, storeId, 'pagamentos', vendaIds, own('pagamentos'));
    }
    return notStored;
  }

  /** This store's rows already stored under the ids of `rows`. */
  private async existing(
    tx: SqlExecutor,
    storeId: string,
    table: TableDef,
    rows: Record<string, unknown>[],
  ): Promise<Map<string, Record<string, unknown>>> {
    const existing = new Map<string, Record<string, unknown>>();
    const ids = rows.map((r) => String(r['id'])).sort();
    for (let i = 0; i < ids.length; i += idChunk) {
      const chunk = ids.slice(i, i + idChunk);
      const found = await tx.all<Row>(
        `SELECT * FROM ${q(table.name)} WHERE store_id = ? AND id IN (${chunk.map(() => '?').join(', ')})`,
        [storeId, ...chunk],
      );
      for (const r of found) existing.set(String(r['id']), decodeRow(this.storage, table, r));
    }
    return existing;
  }

  /**
   * New rows go in with multi-row INSERTs; an existing row is updated only where a value
   * differs, so a resent unchanged sale makes no change-log entry. No `ON CONFLICT` on sync
   * tables: in SQLite it would override the capture triggers' own conflict clause. Every
   * UPDATE names the store: another store's row is never written.
   */
  private async upsert(
    tx: SqlExecutor,
    storeId: string,
    table: TableDef,
    rows: Record<string, unknown>[],
    existing: Map<string, Record<string, unknown>>,
    mode: 'replace' | 'insert-missing',
  ): Promise<void> {
    const fresh = rows.filter((r) => !existing.has(String(r['id'])));
    await this.insert(tx, table, fresh);
    if (mode === 'insert-missing') return;
    for (const row of rows) {
      const old = existing.get(String(row['id']));
      if (!old || old['store_id'] !== storeId) continue;
      // A closed shift stays closed, whatever a later payload says.
      if (table.name === 'turnos' && old['fechado'] === true && row['fechado'] !== true) continue;
      const changed = Object.keys(row).filter(
        (c) => c !== 'id' && c !== 'store_id' && !isDeepStrictEqual(old[c], row[c]),
      );
      if (changed.length === 0) continue;
      await tx.run(
        `UPDATE ${q(table.name)} SET ${changed.map((c) => `${q(c)} = ?`).join(', ')} WHERE id = ? AND store_id = ?`,
        [...changed.map((c) => this.encode(table, c, row[c])), row['id'], storeId],
      );
    }
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
    return encodeColumn(this.storage, def, value);
  }

  /** A sale read again whole with fewer lines: the lines no longer at the source go (this store's only). */
  private async removeLines(
    tx: SqlExecutor,
    storeId: string,
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
        `DELETE FROM ${q(table)} WHERE store_id = ? AND venda_id IN (${vendas.map(() => '?').join(', ')})${
          keep.length ? ` AND id NOT IN (${keep.map(() => '?').join(', ')})` : ''
        }`,
        [storeId, ...vendas, ...keep],
      );
      vendas = [];
      keep = [];
    };
    for (const [venda, ids] of byVenda) {
      if (vendas.length + keep.length + 2 + ids.length > this.storage.capabilities.maxParams)
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

/** The body as the agent sent it, as JSON text; one too deep to serialize keeps its parsed form. */
function bodyTextOf(body: unknown): string {
  try {
    return JSON.stringify(body);
  } catch {
    return JSON.stringify({ unserializable: true });
  }
}
