import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import type { Change, ColumnType, SyncSchema, TableDef } from '../protocol/index.js';
import {
  addColumnDdl,
  bookkeepingColumns,
  bookkeepingDdl,
  createTableDdl,
  quoteLocal as q,
  localDdlVersion,
  rowChecks,
  triggerDdl,
} from './local-ddl.js';

export type DeadLetter = {
  id: number;
  eventId: string;
  table: string;
  rowId: string;
  op: string;
  record: unknown;
  code: string;
  reason: string;
  createdAt: string;
};

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export type OutboxEntry = {
  seq: number;
  event_id: string;
  table_name: string;
  row_id: string;
  op: 'upsert' | 'delete';
  record: string;
  base_version: number | null;
  deltas: string | null;
  created_at: string;
  /** The local transaction that wrote it, when the SDK knew it (sent as the mutation's `group`). */
  txn: string | null;
};

/** The columns an outbox entry keeps wherever it goes (delivered, dead letters). */
const entryColumns = 'event_id, table_name, row_id, op, record, base_version, deltas, txn';

function entryValues(entry: OutboxEntry): unknown[] {
  return [
    entry.event_id,
    entry.table_name,
    entry.row_id,
    entry.op,
    entry.record,
    entry.base_version,
    entry.deltas,
    entry.txn ?? null,
  ];
}

/**
 * The terminal's local SQLite database: the POS app's tables (created from the
 * server's schema), the outbox its triggers fill, the cursors, versions,
 * conflicts and dead letters. WAL with synchronous=FULL: a sale written
 * locally survives a power cut.
 */
export class LocalStore {
  readonly db: Database.Database;
  private schemaValue: SyncSchema | null = null;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma(`cache_size = -${cacheKiB}`);
    this.db.pragma('foreign_keys = OFF');
    for (const ddl of bookkeepingDdl) this.db.exec(ddl);
    for (const { table, column, ddl } of bookkeepingColumns) {
      const has = this.db
        .prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = ?`)
        .get(table, column);
      if (!has) this.db.exec(ddl);
    }
    // A crash cannot leave a transaction id behind (it is set and cleared in one transaction).
    this.db.exec(`UPDATE _pdv_control SET txn = NULL`);
    const cached = this.getMeta('schema');
    if (cached) this.schemaValue = JSON.parse(cached) as SyncSchema;
    // Triggers written by an older SDK are replaced by this version's (same schema, new guards).
    if (this.schemaValue && this.getMeta('ddl_version') !== localDdlVersion)
      this.applySchema(this.schemaValue);
  }

  /**
   * Runs fn in one local transaction whose outbox entries share one group id: the server
   * applies them all or none (a sale arrives whole). Nested calls join the outer transaction.
   */
  transaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    return this.db.transaction(() => {
      this.prepareCached(`UPDATE _pdv_control SET txn = ? WHERE id = 1`).run(uuidv7());
      try {
        return fn();
      } finally {
        this.prepareCached(`UPDATE _pdv_control SET txn = NULL WHERE id = 1`).run();
      }
    })();
  }

  get schema(): SyncSchema | null {
    return this.schemaValue;
  }

  table(name: string): TableDef | undefined {
    return this.schemaValue?.tables.find((t) => t.name === name || t.aliases.includes(name));
  }

  /** Creates or migrates the local tables and their capture triggers; caches the schema for offline starts. */
  applySchema(schema: SyncSchema): void {
    this.db.transaction(() => {
      for (const table of schema.tables) {
        this.db.exec(createTableDdl(table));
        const existing = new Set(
          (
            this.db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table.name) as {
              name: string;
            }[]
          ).map((r) => r.name),
        );
        for (const c of table.columns)
          if (!existing.has(c.name)) this.db.exec(addColumnDdl(table, c.name));
        for (const ddl of triggerDdl(table)) this.db.exec(ddl);
      }
      this.setMeta('schema', JSON.stringify(schema));
      this.setMeta('ddl_version', localDdlVersion);
    })();
    this.schemaValue = schema;
  }

  /**
   * Rows already in the database that break the write-time checks (written before they existed,
   * or with the triggers bypassed): reported, never deleted. At most `limit` per table and check.
   */
  invalidRows(limit = 100): { table: string; id: string; column: string; problem: string }[] {
    const out: { table: string; id: string; column: string; problem: string }[] = [];
    for (const table of this.schemaValue?.tables ?? []) {
      if (table.direction === 'down') continue;
      for (const check of rowChecks(table, 'r')) {
        const rows = this.db
          .prepare(`SELECT id FROM ${q(table.name)} AS r WHERE ${check.failsSql} LIMIT ?`)
          .all(limit) as { id: unknown }[];
        for (const r of rows)
          out.push({
            table: table.name,
            id: String(r.id),
            column: check.column,
            problem: `${check.pt} / ${check.en}`,
          });
      }
    }
    return out;
  }

  getMeta(key: string): string | null {
    const row = this.db.prepare(`SELECT value FROM _pdv_meta WHERE key = ?`).get(key) as
      { value: string } | undefined;
    return row?.value ?? null;
  }

  setMeta(key: string, value: string | null): void {
    if (value === null) this.db.prepare(`DELETE FROM _pdv_meta WHERE key = ?`).run(key);
    else
      this.db
        .prepare(
          `INSERT INTO _pdv_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        )
        .run(key, value);
  }

  outboxBatch(limit: number): OutboxEntry[] {
    return this.db
      .prepare(`SELECT * FROM _pdv_outbox ORDER BY seq LIMIT ?`)
      .all(limit) as OutboxEntry[];
  }

  /** Up to `limit` outbox entries after `seq`, oldest first. */
  outboxAfter(seq: number, limit: number): OutboxEntry[] {
    // Rows read as arrays and made into objects of one shape here: the driver builds each row
    // object key by key, which cost more than SQLite's own reading of a catch-up's outbox.
    const rows = this.prepareCached(
      `SELECT seq, event_id, table_name, row_id, op, record, base_version, deltas, created_at, txn
       FROM _pdv_outbox WHERE seq > ? ORDER BY seq LIMIT ?`,
    )
      .raw(true)
      .all(Number.isFinite(seq) ? seq : Number.MIN_SAFE_INTEGER, limit) as unknown[][];
    return rows.map((r): OutboxEntry => ({
      seq: r[0] as number,
      event_id: r[1] as string,
      table_name: r[2] as string,
      row_id: r[3] as string,
      op: r[4] as OutboxEntry['op'],
      record: r[5] as string,
      base_version: r[6] as number | null,
      deltas: r[7] as string | null,
      created_at: r[8] as string,
      txn: r[9] as string | null,
    }));
  }

  /**
   * Records the server's plain acknowledgment of these outbox entries, in one transaction:
   * kept as delivered (when `deliveredAt` is given: the retention), their rows' versions
   * raised, and the entries removed from the outbox. Set-based, for a batch of any size.
   */
  acknowledge(
    seqs: readonly number[],
    versions: readonly (readonly [string, string, number])[],
    deliveredAt: string | null,
  ): void {
    const seqList = JSON.stringify(seqs);
    // Committed without waiting for an fsync (see relaxedCommit): a power cut can only undo
    // the acknowledgment, with its versions, so the entries are sent again and the server
    // answers `duplicate` for them. Never the other way round: nothing leaves the outbox
    // before the server has answered for it.
    this.relaxedCommit(() =>
      this.db.transaction(() => {
        if (deliveredAt !== null)
          this.prepareCached(
            `INSERT OR REPLACE INTO _pdv_delivered (event_id, table_name, row_id, op, record, base_version, deltas, txn, created_at, delivered_at)
           SELECT event_id, table_name, row_id, op, record, base_version, deltas, txn, created_at, ?
           FROM _pdv_outbox WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq`,
          ).run(deliveredAt, seqList);
        if (versions.length)
          this.prepareCached(
            `INSERT INTO _pdv_versions (table_name, row_id, version)
           SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')
           FROM json_each(?) WHERE true
           ON CONFLICT (table_name, row_id) DO UPDATE SET version = MAX(version, excluded.version)`,
          ).run(JSON.stringify(versions));
        this.prepareCached(
          `DELETE FROM _pdv_outbox WHERE seq IN (SELECT value FROM json_each(?))`,
        ).run(seqList);
      })(),
    );
  }

  /** Remembers a delivered outbox entry (same event id), for a re-send after a server restore. */
  keepDelivered(entry: OutboxEntry, deliveredAt: string): void {
    this.prepareCached(
      `INSERT OR REPLACE INTO _pdv_delivered (${entryColumns}, created_at, delivered_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(...entryValues(entry), entry.created_at, deliveredAt);
  }

  /** Moves an outbox entry the server refused to the dead letters, with the refusal's reason. */
  keepDeadLetter(entry: OutboxEntry, reason: { code: string; message: string }, at: string): void {
    this.prepareCached(
      `INSERT INTO _pdv_dead_letters (${entryColumns}, reason_code, reason_message, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(...entryValues(entry), reason.code, reason.message, at);
  }

  /** The till's dead letters (records the server refused), oldest first. */
  deadLetters(): DeadLetter[] {
    return (
      this.db.prepare(`SELECT * FROM _pdv_dead_letters ORDER BY id`).all() as Record<
        string,
        unknown
      >[]
    ).map((r) => ({
      id: Number(r['id']),
      eventId: String(r['event_id']),
      table: String(r['table_name']),
      rowId: String(r['row_id']),
      op: String(r['op']),
      record: parseJson(String(r['record'])),
      code: String(r['reason_code']),
      reason: String(r['reason_message']),
      createdAt: String(r['created_at']),
    }));
  }

  /**
   * Puts dead letters back in the outbox (all when `ids` is empty) with a new event id: the
   * server answered the old one, and a corrected server or schema must see a new event.
   */
  retryDeadLetters(ids: number[] = []): number {
    return this.db.transaction(() => {
      const rows = (
        ids.length
          ? ids.map((id) => this.db.prepare(`SELECT * FROM _pdv_dead_letters WHERE id = ?`).get(id))
          : this.db.prepare(`SELECT * FROM _pdv_dead_letters ORDER BY id`).all()
      ).filter(Boolean) as Record<string, unknown>[];
      for (const r of rows) {
        this.db
          .prepare(
            `INSERT INTO _pdv_outbox (event_id, table_name, row_id, op, record, base_version, deltas, created_at, txn)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            uuidv7(),
            r['table_name'],
            r['row_id'],
            r['op'],
            r['record'],
            r['base_version'] ?? null,
            r['deltas'] ?? null,
            new Date().toISOString(),
            r['txn'] ?? null,
          );
        this.db.prepare(`DELETE FROM _pdv_dead_letters WHERE id = ?`).run(r['id']);
      }
      return rows.length;
    })();
  }

  /** Deletes dead letters for good (all when `ids` is empty). */
  discardDeadLetters(ids: number[] = []): number {
    return this.db.transaction(() => {
      if (!ids.length) return this.db.prepare(`DELETE FROM _pdv_dead_letters`).run().changes;
      let n = 0;
      for (const id of ids)
        n += this.db.prepare(`DELETE FROM _pdv_dead_letters WHERE id = ?`).run(id).changes;
      return n;
    })();
  }

  /**
   * Puts delivered entries back at the head of the outbox, with their own event ids (the server
   * answers `duplicate` for those it still has), oldest first: all of them, or those delivered
   * at or after `since`. Returns how many.
   */
  requeueDelivered(since: string | null): number {
    return this.db.transaction(() => {
      const rows = this.db
        .prepare(
          `SELECT * FROM _pdv_delivered WHERE delivered_at >= ? AND event_id NOT IN (SELECT event_id FROM _pdv_outbox)
           ORDER BY created_at, event_id`,
        )
        .all(since ?? '') as Record<string, unknown>[];
      const min = (
        this.db.prepare(`SELECT MIN(seq) AS m FROM _pdv_outbox`).get() as {
          m: number | null;
        }
      ).m;
      // Ahead of what is still pending: these writes happened before it.
      let seq = (min ?? 1) - rows.length;
      const insert = this.db.prepare(
        `INSERT INTO _pdv_outbox (seq, event_id, table_name, row_id, op, record, base_version, deltas, created_at, txn)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const r of rows)
        insert.run(
          seq++,
          r['event_id'],
          r['table_name'],
          r['row_id'],
          r['op'],
          r['record'],
          r['base_version'] ?? null,
          r['deltas'] ?? null,
          r['created_at'],
          r['txn'] ?? null,
        );
      return rows.length;
    })();
  }

  /** Forgets delivered entries older than the retention. */
  purgeDelivered(olderThan: string): number {
    return this.prepareCached(`DELETE FROM _pdv_delivered WHERE delivered_at < ?`).run(olderThan)
      .changes;
  }

  counts(): { backlog: number; deadLetters: number; conflicts: number } {
    const one = (sql: string) => (this.db.prepare(sql).get() as { n: number }).n;
    return {
      backlog: one(`SELECT COUNT(*) AS n FROM _pdv_outbox`),
      deadLetters: one(`SELECT COUNT(*) AS n FROM _pdv_dead_letters`),
      conflicts: one(`SELECT COUNT(*) AS n FROM _pdv_conflicts`),
    };
  }

  /** Runs fn with capture turned off: rows written there came from the server and must not be pushed back. */
  applying<T>(fn: () => T): T {
    return this.db.transaction(() => {
      this.db.prepare(`UPDATE _pdv_control SET applying = 1 WHERE id = 1`).run();
      try {
        return fn();
      } finally {
        this.db.prepare(`UPDATE _pdv_control SET applying = 0 WHERE id = 1`).run();
      }
    })();
  }

  /** Writes a server row locally (inside `applying`). */
  upsertRow(table: TableDef, record: Record<string, unknown>): void {
    const cols = table.columns.filter((c) => record[c.name] !== undefined);
    const key = `${table.name}:${cols.map((c) => c.name).join(',')}`;
    // Pulls write thousands of rows of one shape: build and prepare each shape's statement once.
    let stmt = this.upserts.get(key);
    if (!stmt) {
      const names = cols.map((c) => c.name);
      const sets = names.filter((c) => c !== 'id').map((c) => `${q(c)} = excluded.${q(c)}`);
      stmt = this.db.prepare(
        `INSERT INTO ${q(table.name)} (${names.map(q).join(', ')}) VALUES (${names.map(() => '?').join(', ')})
         ON CONFLICT (id) DO ${sets.length ? `UPDATE SET ${sets.join(', ')}` : 'NOTHING'}`,
      );
      this.upserts.set(key, stmt);
    }
    stmt.run(...cols.map((c) => encodeLocal(c.type, record[c.name])));
  }

  /**
   * Applies one pulled page in one local transaction, with capture off, and moves the cursor in
   * the same transaction: a crash leaves the page applied with its cursor, or neither. Rows with
   * local edits still in the outbox keep them (the push settles them). Upserts go in multi-row
   * statements prepared once per table, column set and size, versions likewise: a page holds at
   * most one change per row (the server's log keeps one entry per row), so their order within
   * the page does not matter. Returns how many changes of each table were applied.
   */
  applyPage(
    group: readonly TableDef[],
    changes: readonly Change[],
    cursorKey: string,
    cursor: string,
  ): Map<string, number> {
    const applied = new Map<string, number>();
    this.smallCache(() =>
      this.relaxedCommit(() =>
        this.applying(() => {
          const anyPending = this.counts().backlog > 0;
          const batches = new Map<string, PageBatch>();
          const versions: unknown[] = [];
          const flush = () => {
            for (const batch of batches.values()) batch.writer.flush(batch);
            if (versions.length) this.versionsStatement(versions.length / 3).run(versions);
            versions.length = 0;
          };
          for (const change of changes) {
            const table = group.find((t) => t.name === change.table);
            if (!table) continue;
            const id = String(change.record['id']);
            if (anyPending && this.hasPending(table.name, id)) continue;
            applied.set(table.name, (applied.get(table.name) ?? 0) + 1);
            if (change.op === 'delete') {
              // Written in page order, should a page ever hold a row twice.
              flush();
              this.deleteRow(table, id);
              continue;
            }
            const writer = this.writerFor(table);
            const mask = writer.mask(change.record);
            const key = `${table.name}\u0000${mask}`;
            let batch = batches.get(key);
            if (!batch) batches.set(key, (batch = { writer, mask, params: [], rows: 0 }));
            writer.add(batch, change.record);
            versions.push(table.name, id, change.version);
            if (versions.length === rowsPerStatement * 3) {
              this.versionsStatement(rowsPerStatement).run(versions);
              versions.length = 0;
            }
          }
          flush();
          this.setMeta(cursorKey, cursor);
        }),
      ),
    );
    return applied;
  }

  /**
   * Runs one transaction of server rows with `synchronous = NORMAL`: in WAL mode its commit
   * is atomic and survives a crash of the process, but waits for no fsync. A power cut may
   * undo the last such transactions, each with its cursor (a page and its cursor commit
   * together), so the pull fetches those pages again: the cursor is never ahead of the rows.
   * The same holds for a push's plain acknowledgments (`acknowledge`): undone, the entries
   * are sent again. Everything else (a sale, the outbox's entries, dead letters, conflicts)
   * still commits with FULL, whose fsync of the WAL also makes every earlier transaction durable.
   */
  private relaxedCommit<T>(fn: () => T): T {
    if (this.db.inTransaction || this.path === ':memory:') return fn();
    this.db.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /**
   * Runs fn with a page cache of 2 MB instead of the connection's 20 MB. Pulled rows are
   * appended in id order, so their inserts touch few pages again; a first sync of 100,000
   * rows otherwise filled the whole cache with pages written once, which was most of the
   * terminal's growth in memory. The POS app's reads keep the larger cache between pages.
   */
  private smallCache<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    this.db.pragma(`cache_size = -${applyCacheKiB}`);
    try {
      return fn();
    } finally {
      this.db.pragma(`cache_size = -${cacheKiB}`);
    }
  }

  private readonly writers = new Map<string, PageWriter>();
  private writerFor(table: TableDef): PageWriter {
    let w = this.writers.get(table.name);
    if (!w || w.table !== table) this.writers.set(table.name, (w = new PageWriter(this.db, table)));
    return w;
  }

  private readonly versionStatements = new Map<number, Database.Statement>();
  private versionsStatement(rows: number): Database.Statement {
    let stmt = this.versionStatements.get(rows);
    if (!stmt) {
      stmt = this.db.prepare(
        `INSERT INTO _pdv_versions (table_name, row_id, version) VALUES ${Array(rows).fill('(?, ?, ?)').join(', ')}
         ON CONFLICT (table_name, row_id) DO UPDATE SET version = MAX(version, excluded.version)`,
      );
      this.versionStatements.set(rows, stmt);
    }
    return stmt;
  }

  deleteRow(table: TableDef, id: string): void {
    this.prepareCached(`DELETE FROM ${q(table.name)} WHERE id = ?`).run(id);
    this.prepareCached(`DELETE FROM _pdv_versions WHERE table_name = ? AND row_id = ?`).run(
      table.name,
      id,
    );
  }

  setVersion(table: string, id: string, version: number): void {
    this.prepareCached(
      `INSERT INTO _pdv_versions (table_name, row_id, version) VALUES (?, ?, ?)
       ON CONFLICT (table_name, row_id) DO UPDATE SET version = MAX(version, excluded.version)`,
    ).run(table, id, version);
  }

  hasPending(table: string, id: string): boolean {
    return (
      this.prepareCached(
        `SELECT 1 FROM _pdv_outbox WHERE table_name = ? AND row_id = ? LIMIT 1`,
      ).get(table, id) !== undefined
    );
  }

  /** Rows of a table decoded to their JSON form. */
  rows(table: TableDef): Record<string, unknown>[] {
    const rows = this.db.prepare(`SELECT * FROM ${q(table.name)} ORDER BY id`).all() as Record<
      string,
      unknown
    >[];
    return rows.map((r) => decodeLocalRow(table, r));
  }

  /** Rows as stored, each the array of its values in schema column order, in id order. */
  rawRows(table: TableDef): unknown[][] {
    return this.db
      .prepare(
        `SELECT ${table.columns.map((c) => q(c.name)).join(', ')} FROM ${q(table.name)} ORDER BY id`,
      )
      .raw(true)
      .all() as unknown[][];
  }

  /** One row decoded to its JSON form, or null. */
  rowById(table: TableDef, id: string): Record<string, unknown> | null {
    const row = this.prepareCached(`SELECT * FROM ${q(table.name)} WHERE id = ?`).get(id) as
      Record<string, unknown> | undefined;
    return row ? decodeLocalRow(table, row) : null;
  }

  private readonly statements = new Map<string, Database.Statement>();
  private readonly upserts = new Map<string, Database.Statement>();
  /** A statement prepared once per SQL text (preparing one is costly and holds native memory). */
  prepareCached(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** The connection's page cache (KiB), and the smaller one while pulled pages are applied. */
const cacheKiB = 20_000;
const applyCacheKiB = 2_000;

/** Rows per multi-row statement of versions (3 parameters a row). */
const rowsPerStatement = 256;

/** SQLite's limit on a statement's parameters (32,766 since 3.32), with a margin. */
const maxParameters = 32_000;

/** Pulled rows of one table and column set waiting for their multi-row upsert. */
type PageBatch = { writer: PageWriter; mask: string; params: unknown[]; rows: number };

/**
 * Writes pulled rows of one table: each row's present columns (a record may leave some out)
 * form a mask, and each mask and row count gets one prepared multi-row upsert. Rows are
 * encoded straight into the statement's flat parameter list (no array per row).
 */
class PageWriter {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly encoders: ((v: unknown) => unknown)[];
  private readonly names: string[];
  /** Rows per statement: as many as fit the parameter limit for a full row, at most 256. */
  private readonly rowsPerStatement: number;

  constructor(
    private readonly db: Database.Database,
    readonly table: TableDef,
  ) {
    this.encoders = table.columns.map((c) => encoderFor(c.type));
    this.names = table.columns.map((c) => c.name);
    this.rowsPerStatement = Math.max(
      1,
      Math.min(256, Math.floor(maxParameters / Math.max(1, this.names.length))),
    );
  }

  /** The row's present columns as a mask of '1'/'0' in column order. */
  mask(record: Record<string, unknown>): string {
    let mask = '';
    for (const name of this.names) mask += record[name] === undefined ? '0' : '1';
    return mask;
  }

  /** Adds a row of this batch's mask; runs the batch's upsert when it is full. */
  add(batch: PageBatch, record: Record<string, unknown>): void {
    const names = this.names;
    for (let i = 0; i < names.length; i++) {
      const v = record[names[i]];
      if (v !== undefined) batch.params.push(this.encoders[i](v));
    }
    if (++batch.rows === this.rowsPerStatement) this.flush(batch);
  }

  /** Runs the upsert of the rows waiting in this batch. */
  flush(batch: PageBatch): void {
    if (batch.rows === 0) return;
    this.statement(batch.mask, batch.rows).run(batch.params);
    batch.params = [];
    batch.rows = 0;
  }

  private statement(mask: string, rows: number): Database.Statement {
    const key = `${mask}:${rows}`;
    let stmt = this.statements.get(key);
    if (!stmt) {
      const names = this.names.filter((_, i) => mask[i] === '1');
      const sets = names.filter((c) => c !== 'id').map((c) => `${q(c)} = excluded.${q(c)}`);
      const tuple = `(${names.map(() => '?').join(', ')})`;
      stmt = this.db.prepare(
        `INSERT INTO ${q(this.table.name)} (${names.map(q).join(', ')}) VALUES ${Array(rows).fill(tuple).join(', ')}
         ON CONFLICT (id) DO ${sets.length ? `UPDATE SET ${sets.join(', ')}` : 'NOTHING'}`,
      );
      this.statements.set(key, stmt);
    }
    return stmt;
  }
}

/** `encodeLocal` for one column type, with the type's test done once. */
function encoderFor(type: ColumnType): (v: unknown) => unknown {
  if (type === 'boolean' || type === 'json' || type === 'decimal')
    return (v) => encodeLocal(type, v);
  return (v) => (v === undefined ? null : v);
}

export function encodeLocal(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'boolean') return value ? 1 : 0;
  if (type === 'json') return JSON.stringify(value);
  // A decimal arrives as canonical text ("10.50"); the till's column is REAL, for the POS app.
  if (type === 'decimal' && typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value))
    return Number(value);
  return value;
}

export function decodeLocalRow(
  table: TableDef,
  row: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of table.columns) {
    const v = row[c.name];
    if (v === null || v === undefined) out[c.name] = null;
    else if (c.type === 'boolean') out[c.name] = Number(v) !== 0;
    else if (c.type === 'json' && typeof v === 'string') {
      try {
        out[c.name] = JSON.parse(v) as unknown;
      } catch {
        out[c.name] = v;
      }
    } else out[c.name] = v;
  }
  return out;
}
