// Time of the start-up migration that keys the rows of store-scoped tables by (store, id): a
// database made when they were keyed by id alone gets the composite primary key (PostgreSQL:
// constraint dropped and added, ACCESS EXCLUSIVE on each table; SQLite: each table rebuilt, under
// the database write lock) and its change log keyed (table, store, id). Seeds N sales (one
// `vendas` row each, with its change-log entry, from 4 stores), turns the database back into
// the old layout, then times `storage.migrate(schema)` — the step the server runs at start.
//
//   npm run build && node bench/store-key-migration.mjs --dialect sqlite|postgres --rows 200000
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { freshDatabase, fmt, importProject, log, performance, rootDir } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    rows: { type: 'string', default: '200000' },
  },
});
const dialect = args.dialect;
const rows = Number(args.rows);
const { openStorage } = await importProject('dist/server/storage/index.js');
const { loadSchema } = await importProject('dist/server/load-schema.js');
const { toIdKeyedLayout } = await importProject('dist/testing/id-keyed-layout.js');

const schema = loadSchema(join(rootDir, 'config', 'pos-schema.json'));
const scoped = schema.tables
  .filter((t) => t.storeColumn)
  .map((t) => ({ name: t.name, storeColumn: t.storeColumn }));
const db = await freshDatabase(dialect, 'store-key-migration');
const open = () => openStorage(db.url, db.pgSchema ? { pgSchema: db.pgSchema } : {});
let storage = open();
try {
  await storage.migrate(schema);
  log(`seeding ${fmt(rows)} vendas (and their change-log entries) on ${dialect}`);
  const chunk = 2000;
  for (let i = 0; i < rows; i += chunk) {
    const n = Math.min(chunk, rows - i);
    const params = [];
    for (let j = 0; j < n; j++)
      params.push(String(i + j), `store-${(i + j) % 4}`, '2026-11-30T12:00:00.000Z', '10.00');
    await storage.transaction((tx) =>
      tx.run(
        `INSERT INTO vendas (id, store_id, data_hora, total)
         VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?)').join(', ')}`,
        params,
      ),
    );
  }
  await storage.close();
  await toIdKeyedLayout(db, scoped);
  storage = open();
  const t0 = performance.now();
  await storage.migrate(schema);
  const seconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  await storage.migrate(schema);
  const again = (performance.now() - t1) / 1000;
  log(
    `migrated ${fmt(rows)} rows in ${fmt(seconds, 2)} s on ${dialect} ` +
      `(${fmt(seconds / (rows / 1e6), 2)} s per million; a start with nothing to migrate: ${fmt(again, 2)} s)`,
  );
} finally {
  await storage.close();
  await db.drop();
}
