// Time of the start-up migration that scopes idempotency keys by store: a database made when
// `_sync_events` was keyed by event_id alone is rebuilt keyed by (store_id, event_id).
// Seeds N old-layout keys (from 20 devices in 4 stores) with SQL, then times
// `idempotencyKeys.migrate(storage)` — the step the server runs at start — on the real engine.
//
//   npm run build && node bench/push-migration.mjs --dialect sqlite|postgres --rows 1000000
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { freshDatabase, fmt, importProject, log, performance, rootDir } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    rows: { type: 'string', default: '1000000' },
  },
});
const dialect = args.dialect;
const rows = Number(args.rows);
const { openStorage } = await importProject('dist/server/storage/index.js');
const { idempotencyKeys } = await importProject('dist/server/sync/index.js');
const { loadSchema } = await importProject('dist/server/load-schema.js');

const db = await freshDatabase(dialect, 'push-migration');
const storage = openStorage(db.url, db.pgSchema ? { pgSchema: db.pgSchema } : {});
try {
  await storage.migrate(loadSchema(join(rootDir, 'config', 'pos-schema.json')));
  log(`seeding ${fmt(rows)} old-layout keys on ${dialect}`);
  await storage.transaction(async (tx) => {
    await tx.run(`DROP TABLE _sync_events`);
    await tx.run(`CREATE TABLE _sync_events (event_id TEXT PRIMARY KEY, machine_id TEXT NOT NULL,
      table_name TEXT NOT NULL, row_id TEXT NOT NULL, status TEXT NOT NULL, version BIGINT,
      created_at TEXT NOT NULL)`);
    for (let d = 0; d < 20; d++)
      await tx.run(
        `INSERT INTO _sync_devices (machine_id, store_id, role, token_hash, created_at)
         VALUES (?, ?, 'device', ?, ?)`,
        [`m${d}`, `store-${d % 4}`, `hash-${d}`, new Date().toISOString()],
      );
    const chunk = 2000;
    const now = new Date().toISOString();
    for (let i = 0; i < rows; i += chunk) {
      const n = Math.min(chunk, rows - i);
      const params = [];
      for (let j = 0; j < n; j++)
        params.push(
          `e-${String(i + j).padStart(9, '0')}`,
          `m${(i + j) % 20}`,
          'vendas',
          `r-${i + j}`,
          now,
        );
      await tx.run(
        `INSERT INTO _sync_events (event_id, machine_id, table_name, row_id, status, version, created_at)
         VALUES ${Array.from({ length: n }, () => `(?, ?, ?, ?, 'applied', NULL, ?)`).join(', ')}`,
        params,
      );
    }
  });
  const t0 = performance.now();
  await idempotencyKeys.migrate(storage);
  const seconds = (performance.now() - t0) / 1000;
  const counted = await storage.read((tx) =>
    tx.all(`SELECT COUNT(*) AS n FROM _sync_events WHERE store_id <> ''`),
  );
  log(
    `migrated ${fmt(rows)} keys in ${fmt(seconds, 2)} s on ${dialect} ` +
      `(${fmt(seconds / (rows / 1e6), 2)} s per million; ${fmt(Number(counted[0].n))} given a store)`,
  );
} finally {
  await storage.close();
  await db.drop();
}
