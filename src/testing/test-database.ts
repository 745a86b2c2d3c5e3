import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** The machine's real PostgreSQL; CI and developers have it at this address. */
export const postgresUrl =
  process.env['PDV_SYNC_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export type TestDatabase = {
  url: string;
  pgSchema?: string;
  drop(): Promise<void>;
};

/** A fresh SQLite file in its own temporary folder. */
export function sqliteTestDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'pdv-sync-test-'));
  return {
    url: `sqlite:${join(dir, 'server.db')}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A fresh schema in the real PostgreSQL, dropped afterwards. */
export async function postgresTestDatabase(): Promise<TestDatabase> {
  const schema = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  return {
    url: postgresUrl,
    pgSchema: schema,
    drop: async () => {
      const c = new pg.Client({ connectionString: postgresUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}
