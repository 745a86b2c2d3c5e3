import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ColumnType, SyncSchema, TableDef } from '../protocol/index.js';
import {
  addColumnDdl,
  bookkeepingDdl,
  createTableDdl,
  quoteLocal as q,
  triggerDdl,
} from './local-ddl.js';

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
};

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
    this.db.pragma('cache_size = -20000');
    this.db.pragma('foreign_keys = OFF');
    for (const ddl of bookkeepingDdl) this.db.exec(ddl);
    const cached = this.getMeta('schema');
    if (cached) this.schemaValue = JSON.parse(cached) as SyncSchema;
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
    })();
    this.schemaValue = schema;
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

  private readonly statements = new Map<string, Database.Statement>();
  private readonly upserts = new Map<string, Database.Statement>();
  private prepareCached(sql: string): Database.Statement {
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

export function encodeLocal(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'boolean') return value ? 1 : 0;
  if (type === 'json') return JSON.stringify(value);
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
