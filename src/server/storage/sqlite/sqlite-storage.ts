import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ColumnType, SyncSchema } from '../../../protocol/index.js';
import { Mutex } from '../mutex.js';
import {
  classifyDriverError,
  CommitSignal,
  decodeCommon,
  type Row,
  type SqlExecutor,
  type Storage,
  type StorageCapabilities,
} from '../storage.js';
import { addColumnDdl, bookkeepingDdl, createTableDdl, storeIndexDdl, triggerDdl } from './ddl.js';

type Db = Database.Database;

/** Runs SQL on one better-sqlite3 connection with a cache of prepared statements. */
class SqliteExecutor implements SqlExecutor {
  private readonly statements = new Map<string, Database.Statement>();
  constructor(readonly db: Db) {}

  private prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  allSync<T extends Row>(sql: string, params: readonly unknown[] = []): T[] {
    const stmt = this.prepare(sql);
    return stmt.reader ? (stmt.all(...params) as T[]) : (stmt.run(...params), []);
  }

  runSync(sql: string, params: readonly unknown[] = []): number {
    return this.prepare(sql).run(...params).changes;
  }

  all<T extends Row>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return Promise.resolve(this.allSync<T>(sql, params));
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return Promise.resolve(this.runSync(sql, params));
  }
}

/**
 * Embedded SQLite: WAL with synchronous=FULL so an acknowledged write survives
 * power loss. One writer connection (transactions queued in FIFO order) and one
 * reader connection, so pulls read a committed snapshot while writes proceed.
 */
export class SqliteStorage implements Storage {
  readonly dialect = 'sqlite' as const;
  readonly capabilities: StorageCapabilities = {
    // SQLite allows 32,766 parameters per statement; the margin is for fixed parameters.
    maxParams: 30_000,
    bigint: 'INTEGER',
    multiRowUpsertReturning: true,
    classifyError: classifyDriverError,
    // Values keep the type they are bound with; the column's affinity does the rest.
    typedParam: () => '?',
  };
  private readonly writer: SqliteExecutor;
  private readonly reader: SqliteExecutor;
  private readonly writeLock = new Mutex();
  private readonly readLock = new Mutex();
  private readonly commits = new CommitSignal();

  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.writer = new SqliteExecutor(SqliteStorage.open(file));
    this.reader = new SqliteExecutor(SqliteStorage.open(file));
  }

  private static open(file: string): Db {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 10000');
    db.pragma('foreign_keys = OFF');
    return db;
  }

  async migrate(schema: SyncSchema): Promise<void> {
    await this.transaction(async () => {
      const db = this.writer.db;
      for (const ddl of bookkeepingDdl) db.exec(ddl);
      // Change logs created before real-time had no action column.
      const logColumns = db.prepare(`SELECT name FROM pragma_table_info('_sync_changes')`).all();
      if (!logColumns.some((c) => (c as { name: string }).name === 'action'))
        db.exec(`ALTER TABLE _sync_changes ADD COLUMN action TEXT`);
      // First appearance (live "create" announcements); NULL reads as the entry itself.
      if (!logColumns.some((c) => (c as { name: string }).name === 'first_seq'))
        db.exec(`ALTER TABLE _sync_changes ADD COLUMN first_seq INTEGER`);
      for (const table of schema.tables) {
        db.exec(createTableDdl(table));
        const existing = new Set(
          (
            db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table.name) as {
              name: string;
            }[]
          ).map((r) => r.name),
        );
        for (const c of table.columns)
          if (!existing.has(c.name)) db.exec(addColumnDdl(table, c.name));
        const index = storeIndexDdl(table);
        if (index) db.exec(index);
        for (const ddl of triggerDdl(table)) db.exec(ddl);
      }
    });
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.writeLock.run(async () => {
      this.writer.runSync('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.writer);
        this.writer.runSync('COMMIT');
        this.commits.fire();
        return result;
      } catch (err) {
        if (this.writer.db.inTransaction) this.writer.runSync('ROLLBACK');
        throw err;
      }
    });
  }

  async savepoint<T>(tx: SqlExecutor, fn: () => Promise<T>): Promise<T> {
    // One name: SQLite nests same-named savepoints, and one SQL text keeps the statement cache warm.
    const name = 'pdv_sp';
    await tx.run(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      await tx.run(`RELEASE ${name}`);
      return result;
    } catch (err) {
      await tx.run(`ROLLBACK TO ${name}`);
      await tx.run(`RELEASE ${name}`);
      throw err;
    }
  }

  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.readLock.run(async () => {
      this.reader.runSync('BEGIN');
      try {
        return await fn(this.reader);
      } finally {
        this.reader.runSync('COMMIT');
      }
    });
  }

  encode(type: ColumnType, value: unknown): unknown {
    if (value === null || value === undefined) return null;
    if (type === 'boolean') return value ? 1 : 0;
    if (type === 'json') return JSON.stringify(value);
    return value;
  }

  decode(type: ColumnType, value: unknown): unknown {
    return decodeCommon(type, value);
  }

  ping(): Promise<void> {
    return this.read(async (tx) => {
      await tx.all('SELECT 1');
    });
  }

  async watchCommits(listener: () => void): Promise<() => Promise<void>> {
    const remove = this.commits.add(listener);
    if (this.file === ':memory:') return async () => void remove();
    // Another process (a back office writing straight into the file) bumps data_version.
    const probe = SqliteStorage.open(this.file);
    let version = probe.pragma('data_version', { simple: true });
    const timer = setInterval(() => {
      try {
        const now = probe.pragma('data_version', { simple: true });
        if (now !== version) {
          version = now;
          listener();
        }
      } catch {
        // Busy or closing: the next tick tries again.
      }
    }, 250).unref();
    return async () => {
      clearInterval(timer);
      remove();
      probe.close();
    };
  }

  async close(): Promise<void> {
    await this.writeLock.run(async () => {
      await this.readLock.run(async () => {
        this.reader.db.close();
        this.writer.db.close();
      });
    });
  }
}
