import pg from 'pg';
import { compileNamedParams } from './named-params.js';
import { maskUrl, type SourceDb, type SourceRow } from './source-db.js';

/** date, timestamp, timestamptz: kept as PostgreSQL's text, never turned into a local `Date`. */
const textTypes = new Set([1082, 1114, 1184]);
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    textTypes.has(oid)
      ? (v: string) => v
      : (pg.types.getTypeParser(oid, format as 'text') as (
          v: string,
        ) => unknown)) as typeof pg.types.getTypeParser,
};

/** PostgreSQL through `pg`; the URL may set `options=-c search_path=…`. */
export class PostgresSource implements SourceDb {
  readonly dialect = 'postgres' as const;
  readonly description: string;
  private readonly pool: pg.Pool;

  private constructor(url: string) {
    this.description = maskUrl(url);
    this.pool = new pg.Pool({
      connectionString: url,
      max: 2,
      connectionTimeoutMillis: 15_000,
      idleTimeoutMillis: 30_000,
      types,
    });
    // An idle client losing its server must not crash the agent; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  static open(url: string): PostgresSource {
    return new PostgresSource(url);
  }

  async query(sql: string, params: Record<string, unknown>): Promise<SourceRow[]> {
    const compiled = compileNamedParams(sql, params, 'dollar-n');
    const result = await this.pool.query<SourceRow>(compiled.sql, compiled.values);
    return result.rows;
  }

  async clock(): Promise<string> {
    const [row] = await this.query('SELECT LOCALTIMESTAMP::text AS now', {});
    return String(row?.['now']);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
