// Baseline (a) of push-throughput.mjs: the naive sync server seed 003 describes — one
// POST per sale, each stored in its own transaction (and so its own fsync), no batching,
// no idempotency, no change log. Same engine and durability settings as pdv-sync:
// SQLite WAL with synchronous=FULL, or PostgreSQL with synchronous_commit on.
//
//   node bench/naive-server.mjs --dialect sqlite --db bench/.tmp/x/naive.db
//   node bench/naive-server.mjs --dialect postgres --pg-schema bench_x
// Prints "naive server listening on http://127.0.0.1:PORT" once ready.
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import pg from 'pg';
import { postgresUrl, saleRows, saleTables, saleTablesDdl } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    db: { type: 'string' },
    'pg-schema': { type: 'string' },
  },
});

const insertSql = (dialect, table) => {
  const cols = Object.keys(saleTables[table]);
  const marks = cols.map((_, i) => (dialect === 'sqlite' ? '?' : `$${i + 1}`));
  return `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${marks.join(', ')})`;
};
const params = (table, row) => Object.keys(saleTables[table]).map((c) => row[c] ?? null);

let store;
if (args.dialect === 'sqlite') {
  const db = new Database(args.db);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 10000');
  for (const ddl of saleTablesDdl('sqlite')) db.exec(ddl);
  const stmts = Object.fromEntries(
    Object.keys(saleTables).map((t) => [t, db.prepare(insertSql('sqlite', t))]),
  );
  const insertSale = db.transaction((sale) => {
    for (const [table, row] of saleRows(sale)) stmts[table].run(...params(table, row));
  });
  store = async (sale) => insertSale(sale);
} else {
  const pool = new pg.Pool({
    connectionString: postgresUrl,
    max: 10,
    options: `-c search_path=${args['pg-schema']}`,
  });
  const client = await pool.connect();
  for (const ddl of saleTablesDdl('postgres')) await client.query(ddl);
  client.release();
  store = async (sale) => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      for (const [table, row] of saleRows(sale))
        await c.query(insertSql('postgres', table), params(table, row));
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  };
}

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.post('/api/sync/sale', async (request, reply) => {
  await store(request.body);
  void reply.status(201);
  return { success: true, synced_at: new Date().toISOString() };
});
const address = await app.listen({ port: 0, host: '127.0.0.1' });
console.log(`naive server listening on ${address}`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
