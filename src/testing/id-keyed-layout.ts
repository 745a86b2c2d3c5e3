import Database from 'better-sqlite3';
import pg from 'pg';
import type { TestDatabase } from './test-database.js';

/**
 * Turns a server database back into the layout of versions that keyed rows by id alone: the
 * store-scoped tables `tables` keyed by `id` (store column nullable), the change log keyed
 * (table_name, row_id) and the row origins (table_name, row_id). For the start-up migration's
 * tests and bench. The server must be stopped; its capture triggers are left to the next start.
 */
export async function toIdKeyedLayout(
  db: TestDatabase,
  tables: readonly { name: string; storeColumn: string }[],
  /** SQL run once the tables are keyed by id (e.g. a row without a store, as old versions allowed). */
  afterTables: readonly string[] = [],
): Promise<void> {
  if (db.url.startsWith('sqlite:')) {
    const conn = new Database(db.url.slice('sqlite:'.length));
    try {
      conn.transaction(() => {
        for (const { name } of conn
          .prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger'`)
          .all() as { name: string }[])
          conn.exec(`DROP TRIGGER "${name}"`);
        for (const t of tables) {
          const { sql } = conn
            .prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`)
            .get(t.name) as { sql: string };
          const old = sql
            .replace(`, PRIMARY KEY ("${t.storeColumn}", "id")`, '')
            .replace(`"id" TEXT NOT NULL`, `"id" TEXT PRIMARY KEY NOT NULL`)
            .replace(`"${t.storeColumn}" TEXT NOT NULL`, `"${t.storeColumn}" TEXT`)
            .replace(`"${t.name}"`, `"_old_${t.name}"`);
          conn.exec(old);
          conn.exec(`INSERT INTO "_old_${t.name}" SELECT * FROM "${t.name}"`);
          conn.exec(`DROP TABLE "${t.name}"`);
          conn.exec(`ALTER TABLE "_old_${t.name}" RENAME TO "${t.name}"`);
        }
        for (const sql of afterTables) conn.exec(sql);
        const counter = conn
          .prepare(`SELECT seq FROM sqlite_sequence WHERE name = '_sync_changes'`)
          .get() as { seq: number } | undefined;
        conn.exec(`CREATE TABLE _old_changes (
          seq INTEGER PRIMARY KEY AUTOINCREMENT, table_name TEXT NOT NULL, row_id TEXT NOT NULL,
          op TEXT NOT NULL, store_id TEXT, updated_at TEXT NOT NULL, action TEXT, first_seq INTEGER,
          UNIQUE (table_name, row_id))`);
        conn.exec(`INSERT INTO _old_changes SELECT seq, table_name, row_id, op, store_id, updated_at,
                     action, first_seq FROM _sync_changes`);
        conn.exec(`DROP TABLE _sync_changes`);
        conn.exec(`ALTER TABLE _old_changes RENAME TO _sync_changes`);
        if (counter)
          conn
            .prepare(`UPDATE sqlite_sequence SET seq = ? WHERE name = '_sync_changes'`)
            .run(counter.seq);
        conn.exec(
          `CREATE INDEX _sync_changes_deletes ON _sync_changes (updated_at) WHERE op = 'delete'`,
        );
        idKeyedOrigins((sql) => void conn.exec(sql));
      })();
    } finally {
      conn.close();
    }
    return;
  }
  const client = new pg.Client({
    connectionString: db.url,
    ...(db.pgSchema ? { options: `-c search_path=${db.pgSchema}` } : {}),
  });
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const t of tables)
      await client.query(
        `ALTER TABLE "${t.name}" DROP CONSTRAINT "${t.name}_pkey",
           ALTER COLUMN "${t.storeColumn}" DROP NOT NULL, ADD PRIMARY KEY (id)`,
      );
    for (const sql of afterTables) await client.query(sql);
    await client.query(`ALTER TABLE _sync_changes DROP CONSTRAINT _sync_changes_pkey`);
    await client.query(`ALTER TABLE _sync_changes DROP COLUMN row_store`);
    await client.query(`ALTER TABLE _sync_changes ADD PRIMARY KEY (table_name, row_id)`);
    const statements: string[] = [];
    idKeyedOrigins((sql) => statements.push(sql));
    for (const sql of statements) await client.query(sql);
    // The capture functions of this version name row_store; the next start replaces them.
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
}

function idKeyedOrigins(exec: (sql: string) => void): void {
  // Made by the row reconciler at start: absent from a database only migrated by its storage.
  exec(`CREATE TABLE IF NOT EXISTS _sync_row_origins (
     table_name TEXT NOT NULL, row_store TEXT NOT NULL DEFAULT '', row_id TEXT NOT NULL,
     machine_id TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (table_name, row_store, row_id))`);
  exec(
    `CREATE TABLE _old_origins AS SELECT table_name, row_id, machine_id, created_at FROM _sync_row_origins`,
  );
  exec(`DROP TABLE _sync_row_origins`);
  exec(`CREATE TABLE _sync_row_origins (
     table_name TEXT NOT NULL, row_id TEXT NOT NULL, machine_id TEXT NOT NULL,
     created_at TEXT NOT NULL, PRIMARY KEY (table_name, row_id))`);
  exec(`INSERT INTO _sync_row_origins SELECT * FROM _old_origins`);
  exec(`DROP TABLE _old_origins`);
}
