import Database from 'better-sqlite3';
import pg from 'pg';
import type { TestDatabase } from './test-database.js';

/** A separate connection to the server's database, as a back office writing SQL straight into it would use. */
export type RawSql = {
  exec(sql: string, params?: unknown[]): Promise<void>;
  close(): Promise<void>;
};

export async function rawSql(db: TestDatabase): Promise<RawSql> {
  if (db.url.startsWith('sqlite:')) {
    const conn = new Database(db.url.slice('sqlite:'.length));
    conn.pragma('busy_timeout = 10000');
    return {
      exec: async (sql, params = []) => {
        conn.prepare(sql).run(...params);
      },
      close: async () => {
        conn.close();
      },
    };
  }
  const client = new pg.Client({
    connectionString: db.url,
    ...(db.pgSchema ? { options: `-c search_path=${db.pgSchema}` } : {}),
  });
  await client.connect();
  return {
    exec: async (sql, params = []) => {
      let n = 0;
      await client.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      );
    },
    close: () => client.end(),
  };
}
