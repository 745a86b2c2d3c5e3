import Database from 'better-sqlite3';
import { compileNamedParams } from './named-params.js';
import { sqlitePath, type SourceDb, type SourceRow } from './source-db.js';

/** A SQLite file, opened read-only (the till keeps writing to it). */
export class SqliteSource implements SourceDb {
  readonly dialect = 'sqlite' as const;
  readonly description: string;
  private db: Database.Database | undefined;

  private constructor(private readonly path: string) {
    this.description = `sqlite:${path}`;
  }

  static open(url: string): SqliteSource {
    return new SqliteSource(sqlitePath(url));
  }

  private connect(): Database.Database {
    this.db ??= new Database(this.path, { readonly: true, fileMustExist: true, timeout: 10_000 });
    return this.db;
  }

  async query(sql: string, params: Record<string, unknown>): Promise<SourceRow[]> {
    const compiled = compileNamedParams(sql, params, 'question');
    const values = compiled.values.map((v) => (typeof v === 'boolean' ? Number(v) : v));
    return this.connect()
      .prepare(compiled.sql)
      .all(...values) as SourceRow[];
  }

  async clock(): Promise<string> {
    const [row] = await this.query("SELECT datetime('now', 'localtime') AS now", {});
    return String(row?.['now']);
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }
}
