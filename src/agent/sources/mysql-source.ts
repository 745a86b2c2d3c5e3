import mysql from 'mysql2/promise';
import { compileNamedParams } from './named-params.js';
import { maskUrl, type SourceDb, type SourceRow } from './source-db.js';

/** MySQL and MariaDB through `mysql2`; `dateStrings` keeps DATETIME as text. */
export class MysqlSource implements SourceDb {
  readonly dialect = 'mysql' as const;
  readonly description: string;
  private readonly pool: mysql.Pool;

  private constructor(url: string) {
    this.description = maskUrl(url);
    this.pool = mysql.createPool({
      uri: url.replace(/^mariadb:/i, 'mysql:'),
      connectionLimit: 2,
      connectTimeout: 15_000,
      dateStrings: true,
      // The pool's idle connections must not keep a finished agent (or test) alive.
      enableKeepAlive: false,
    });
  }

  static open(url: string): MysqlSource {
    return new MysqlSource(url);
  }

  async query(sql: string, params: Record<string, unknown>): Promise<SourceRow[]> {
    const compiled = compileNamedParams(sql, params, 'question');
    const [rows] = await this.pool.query(compiled.sql, compiled.values);
    return rows as SourceRow[];
  }

  async clock(): Promise<string> {
    const [row] = await this.query('SELECT CAST(NOW() AS CHAR) AS now', {});
    return String(row?.['now']);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
