// Where the time goes: an in-process cost ladder for push and pull, to back the
// bottleneck analysis in bench/README.md with numbers. No HTTP here (push-throughput.mjs
// and pull.mjs measure over loopback); each step adds one piece of what the server does.
//
//   npm run build && node bench/breakdown.mjs --dialect sqlite|postgres
// Options: --sales 400 (per terminal, 20 terminals)  --rows 100000 (pull)  --only push,pull
import { Buffer } from 'node:buffer';
import { parseArgs } from 'node:util';
import { gzipSync, constants as zlibConstants } from 'node:zlib';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  adminToken,
  fmt,
  importProject,
  freshDatabase,
  log,
  machineLine,
  makeSale,
  median,
  performance,
  postgresUrl,
  printTable,
  saleRows,
  saleTables,
  saleTablesDdl,
  terminals,
  uuidv7,
} from './lib.mjs';

const { pushRequestSchema } = await importProject('dist/protocol/index.js');
const { createServer, loadServerConfig } = await importProject('dist/server/index.js');
const { decodeRow } = await importProject('dist/server/sync/index.js');

const { values: args } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    sales: { type: 'string', default: '400' },
    rows: { type: 'string', default: '100000' },
    only: { type: 'string', default: 'push,variants,pull' },
    reps: { type: 'string', default: '3' },
  },
});
const dialect = args.dialect;
const salesPerTerminal = Number(args.sales);
const pullRows = Number(args.rows);
const reps = Number(args.reps);
const terms = terminals();
const batchSales = 200;
const totalSales = salesPerTerminal * terms.length;

/** The server in this process; drops `db` if it cannot start, so no scratch schema is left. */
async function startInProcess(db) {
  try {
    return await createInProcess(db);
  } catch (err) {
    await db.drop();
    throw err;
  }
}

async function createInProcess(db) {
  const config = loadServerConfig(
    {
      db: db.url,
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      logFile: '',
      adminToken,
      pgSchema: db.pgSchema,
    },
    {},
  );
  return createServer(config);
}

const deviceIdentity = (t) => ({
  role: 'device',
  machineId: t.machineId,
  storeId: t.storeId,
  tokenHash: `bench-${t.machineId}`,
});
const adminIdentity = {
  role: 'admin',
  machineId: 'admin',
  storeId: null,
  tokenHash: 'bench-admin',
};

/** Batches of 200 sales, interleaved across terminals as pushes would arrive. */
function workload() {
  const updatedAt = new Date().toISOString();
  const out = [];
  const per = terms.map((t) => Array.from({ length: salesPerTerminal }, (_, n) => makeSale(t, n)));
  for (let b = 0; b < salesPerTerminal; b += batchSales)
    for (const [i, t] of terms.entries()) {
      const mutations = per[i]
        .slice(b, b + batchSales)
        .flatMap(saleRows)
        .map(([table, record]) => ({ eventId: uuidv7(), table, op: 'upsert', record, updatedAt }));
      out.push({ terminal: t, mutations });
    }
  return out;
}

const cols = (t) => Object.keys(saleTables[t]);
const params = (t, r) => cols(t).map((c) => r[c] ?? null);
const insertSql = (t, mark = () => '?') =>
  `INSERT INTO ${t} (${cols(t).join(', ')}) VALUES (${cols(t)
    .map((_, i) => mark(i))
    .join(', ')})`;

// ------------------------------------------------------------------ push ladder, SQLite

async function sqliteLadder() {
  const results = [];
  const step = async (label, fn) => {
    const times = [];
    for (let r = 0; r < reps; r++) {
      const batches = workload();
      const db = await freshDatabase('sqlite', 'ladder');
      try {
        times.push(await fn(db, batches));
      } finally {
        await db.drop();
      }
    }
    const s = median(times);
    results.push([label, fmt(totalSales / s), fmt((s * 1e6) / (totalSales * 5), 1)]);
    log(`${label}: ${fmt(totalSales / s)} sales/s`);
  };
  const open = (file) => {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    return db;
  };
  /** Opens a database migrated by pdv-sync itself (sync tables, triggers, bookkeeping). */
  const migrated = async (db) => {
    const server = await startInProcess(db);
    await server.stop();
    return open(db.file);
  };
  const timeBatches = (batches, fn) => {
    const t0 = performance.now();
    for (const b of batches) fn(b);
    return (performance.now() - t0) / 1000;
  };

  await step('1. raw rows, plain tables (no triggers)', async (dbi, batches) => {
    const db = open(dbi.file);
    for (const ddl of saleTablesDdl('sqlite')) db.exec(ddl);
    const st = Object.fromEntries(
      Object.keys(saleTables).map((t) => [t, db.prepare(insertSql(t))]),
    );
    const tx = db.transaction((b) => {
      for (const m of b.mutations) st[m.table].run(params(m.table, m.record));
    });
    const s = timeBatches(batches, tx);
    db.close();
    return s;
  });
  // pdv-sync's own tables (keyed (store, id), capture triggers), written as the push writes
  // new sale rows: one multi-row INSERT per table and batch, then their origins.
  const withSync = async (dbi, batches, { origins }) => {
    const db = await migrated(dbi);
    const multi = (t, n) =>
      db.prepare(
        `INSERT INTO ${t} (${cols(t).join(', ')}) VALUES ${Array.from(
          { length: n },
          () =>
            `(${cols(t)
              .map(() => '?')
              .join(', ')})`,
        ).join(', ')} ON CONFLICT DO NOTHING`,
      );
    const origin = (n) =>
      db.prepare(
        `INSERT INTO _sync_row_origins (table_name, row_store, row_id, machine_id, created_at)
         VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (table_name, row_store, row_id) DO NOTHING`,
      );
    const cache = new Map();
    const cached = (key, make) => cache.get(key) ?? cache.set(key, make()).get(key);
    const tx = db.transaction((b) => {
      const byTable = new Map();
      for (const m of b.mutations) {
        const list = byTable.get(m.table) ?? byTable.set(m.table, []).get(m.table);
        list.push(m.record);
      }
      const now = new Date().toISOString();
      for (const [t, rows] of byTable) {
        cached(`${t}:${rows.length}`, () => multi(t, rows.length)).run(
          rows.flatMap((r) => params(t, r)),
        );
        if (origins)
          cached(`o:${rows.length}`, () => origin(rows.length)).run(
            rows.flatMap((r) => [t, r.store_id ?? '', r.id, b.terminal.machineId, now]),
          );
      }
    });
    const s = timeBatches(batches, tx);
    db.close();
    return s;
  };
  await step(
    '2. pdv-sync tables: (store, id) keys + capture triggers, one INSERT per table',
    (db, b) => withSync(db, b, { origins: false }),
  );
  await step('3. + _sync_row_origins, one INSERT per table', (db, b) =>
    withSync(db, b, { origins: true }),
  );
  results.push(...(await serviceSteps('sqlite')));
  printTable(
    `Push cost ladder — sqlite (WAL, synchronous=FULL), ${fmt(totalSales)} sales in batches of ${batchSales}, one writer, median of ${reps}`,
    ['step', 'sales/s', 'µs per row'],
    results,
  );
}

/** PushService itself (pre-parsed mutations), then with JSON.parse + zod as the route does. */
async function serviceSteps(d) {
  const out = [];
  for (const [label, parse] of [
    ['4. PushService.push (decode, idempotency, set-based writes)', false],
    ['5. + JSON.parse + zod pushRequestSchema of the body', true],
  ]) {
    const times = [];
    for (let r = 0; r < reps; r++) {
      const db = await freshDatabase(d, 'svc');
      const server = await startInProcess(db);
      try {
        const batches = workload().map((b) => ({
          ...b,
          body: parse
            ? JSON.stringify({ machineId: b.terminal.machineId, mutations: b.mutations })
            : null,
        }));
        const t0 = performance.now();
        if (d === 'sqlite') for (const b of batches) await pushOne(server, b);
        else {
          // 20 terminals at once, as over HTTP.
          const queues = terms.map((t) => batches.filter((b) => b.terminal === t));
          await Promise.all(
            queues.map(async (q) => {
              for (const b of q) await pushOne(server, b);
            }),
          );
        }
        times.push((performance.now() - t0) / 1000);
      } finally {
        await server.stop();
        await db.drop();
      }
    }
    const s = median(times);
    out.push([label, fmt(totalSales / s), fmt((s * 1e6) / (totalSales * 5), 1)]);
    log(`${label}: ${fmt(totalSales / s)} sales/s`);
  }
  return out;
}

async function pushOne(server, b) {
  const mutations = b.body ? pushRequestSchema.parse(JSON.parse(b.body)).mutations : b.mutations;
  const results = await server.ctx.push.push(
    deviceIdentity(b.terminal),
    b.terminal.machineId,
    mutations,
  );
  const bad = results.find((x) => x.status !== 'applied');
  if (bad) throw new Error(JSON.stringify(bad));
}

// ------------------------------------------------------------------ push ladder, PostgreSQL

async function postgresLadder() {
  const results = [];
  const step = async (label, concurrency, fn) => {
    const times = [];
    for (let r = 0; r < reps; r++) {
      const db = await freshDatabase('postgres', 'ladder');
      const pool = new pg.Pool({
        connectionString: postgresUrl,
        max: 10,
        options: `-c search_path=${db.pgSchema}`,
      });
      try {
        const batches = workload();
        times.push(await fn(db, pool, batches, concurrency));
      } finally {
        await pool.end();
        await db.drop();
      }
    }
    const s = median(times);
    results.push([
      label,
      String(concurrency),
      fmt(totalSales / s),
      fmt((s * 1e6) / (totalSales * 5), 1),
    ]);
    log(`${label} x${concurrency}: ${fmt(totalSales / s)} sales/s`);
  };
  const run = async (pool, batches, concurrency, perBatch) => {
    const queue = [...batches];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let b = queue.shift(); b; b = queue.shift()) {
          const c = await pool.connect();
          try {
            await c.query('BEGIN');
            await perBatch(c, b);
            await c.query('COMMIT');
          } finally {
            c.release();
          }
        }
      }),
    );
    return (performance.now() - t0) / 1000;
  };
  const plain = async (db, pool, batches, conc) => {
    for (const ddl of saleTablesDdl('postgres')) await pool.query(ddl);
    return run(pool, batches, conc, async (c, b) => {
      for (const m of b.mutations)
        await c.query(
          insertSql(m.table, (i) => `$${i + 1}`),
          params(m.table, m.record),
        );
    });
  };
  // pdv-sync's own tables (keyed (store, id), capture triggers), then each row's origin.
  const synced = (opts) => async (db, pool, batches, conc) => {
    const server = await startInProcess(db);
    await server.stop();
    return run(pool, batches, conc, async (c, b) => {
      const now = new Date().toISOString();
      for (const m of b.mutations) {
        await c.query(
          `${insertSql(m.table, (i) => `$${i + 1}`)} ON CONFLICT DO NOTHING`,
          params(m.table, m.record),
        );
        if (opts.origins)
          await c.query(
            `INSERT INTO _sync_row_origins (table_name, row_store, row_id, machine_id, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (table_name, row_store, row_id) DO NOTHING`,
            [m.table, m.record.store_id, m.record.id, b.terminal.machineId, now],
          );
      }
    });
  };
  for (const conc of [1, 20]) {
    await step('1. raw rows, one INSERT per row, plain tables', conc, plain);
    await step('2. pdv-sync tables: (store, id) keys + capture triggers', conc, synced({}));
    await step('3. + _sync_row_origins row per row', conc, synced({ origins: true }));
  }
  for (const [label, sps, us] of await serviceSteps('postgres'))
    results.push([label, '20', sps, us]);
  printTable(
    `Push cost ladder — postgres, ${fmt(totalSales)} sales in batches of ${batchSales}, pool of 10`,
    ['step', 'concurrent batches', 'sales/s', 'µs per row'],
    results,
  );
}

// ------------------------------------------------------------------ change-log variants, SQLite

/**
 * The change-log table and insert trigger as sqlite/ddl.ts ships them, then with one
 * piece changed at a time: what each costs per captured row (no events, no savepoints).
 */
async function triggerVariants() {
  const now = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;
  const variant = async (label, o) => {
    const times = [];
    for (let r = 0; r < reps; r++) {
      const dbi = await freshDatabase('sqlite', 'variant');
      const db = new Database(dbi.file);
      try {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        db.exec(`CREATE TABLE _sync_changes (
          seq INTEGER PRIMARY KEY ${o.autoincrement ? 'AUTOINCREMENT' : ''},
          table_name TEXT NOT NULL, row_id TEXT NOT NULL, op TEXT NOT NULL,
          store_id TEXT, updated_at TEXT NOT NULL, UNIQUE (table_name, row_id))`);
        if (o.tombstoneIndex === 'full')
          db.exec(`CREATE INDEX _sync_changes_tombstones ON _sync_changes (op, updated_at)`);
        if (o.tombstoneIndex === 'partial')
          db.exec(
            `CREATE INDEX _sync_changes_tombstones ON _sync_changes (updated_at) WHERE op = 'delete'`,
          );
        for (const ddl of saleTablesDdl('sqlite')) db.exec(ddl);
        for (const t of Object.keys(saleTables))
          db.exec(`CREATE TRIGGER _sync_${t}_ins AFTER INSERT ON ${t} BEGIN
            INSERT OR REPLACE INTO _sync_changes (table_name, row_id, op, store_id, updated_at)
            VALUES ('${t}', NEW.id, 'upsert', NEW.store_id, ${now}); END`);
        const st = Object.fromEntries(
          Object.keys(saleTables).map((t) => [t, db.prepare(insertSql(t))]),
        );
        const tx = db.transaction((b) => {
          for (const m of b.mutations) st[m.table].run(params(m.table, m.record));
        });
        const batches = workload();
        const t0 = performance.now();
        for (const b of batches) tx(b);
        times.push((performance.now() - t0) / 1000);
      } finally {
        db.close();
        await dbi.drop();
      }
    }
    const sec = median(times);
    log(`${label}: ${fmt(totalSales / sec)} sales/s`);
    return [label, fmt(totalSales / sec), fmt((sec * 1e6) / (totalSales * 5), 1)];
  };
  const rows = [
    await variant('as shipped: AUTOINCREMENT + index (op, updated_at)', {
      autoincrement: true,
      tombstoneIndex: 'full',
    }),
    await variant('without AUTOINCREMENT', { autoincrement: false, tombstoneIndex: 'full' }),
    await variant("tombstone index partial: (updated_at) WHERE op = 'delete'", {
      autoincrement: true,
      tombstoneIndex: 'partial',
    }),
    await variant('both changes', { autoincrement: false, tombstoneIndex: 'partial' }),
  ];
  printTable(
    `Change-log variants — sqlite, rows + capture trigger only, ${fmt(totalSales)} sales, median of ${reps}`,
    ['change log', 'sales/s', 'µs per row'],
    rows,
  );
}

// ------------------------------------------------------------------ pull breakdown

function produto(n) {
  return {
    id: uuidv7(),
    nome: `Produto ${n}`,
    preco: 1 + (n % 997) * 0.37,
    categoria_id: `cat-${n % 40}`,
    codigo_barras: String(7890000000000 + n),
    unidade: 'UN',
    ativo: true,
    descricao: `Descrição do produto ${n}`,
    preco_custo: 0.5 + (n % 997) * 0.21,
    updated_at: new Date(Date.UTC(2025, 0, 1) + n * 1000).toISOString(),
  };
}

async function pullBreakdown() {
  const db = await freshDatabase(dialect, 'pullbd');
  const server = await startInProcess(db);
  try {
    for (let i = 0; i < pullRows; i += 5000) {
      const mutations = Array.from({ length: Math.min(5000, pullRows - i) }, (_, k) => ({
        eventId: uuidv7(),
        table: 'produtos',
        op: 'upsert',
        record: produto(i + k),
      }));
      await server.ctx.push.push(adminIdentity, 'back-office', mutations);
    }
    const t = terms[0];
    const identity = deviceIdentity(t);
    const tables = server.ctx.names.tables.filter((x) => x.direction !== 'up');
    const sums = { read: [], stringify: [], gzip6: [], gzip1: [], parse: [] };
    const bytes = { json: 0, gzip6: 0, gzip1: 0 };
    for (let r = 0; r < reps + 1; r++) {
      const s = { read: 0, stringify: 0, gzip6: 0, gzip1: 0, parse: 0 };
      let since;
      let rows = 0;
      for (;;) {
        let t0 = performance.now();
        const page = await server.ctx.feed.read(identity, tables, since, 10_000);
        s.read += performance.now() - t0;
        t0 = performance.now();
        const json = JSON.stringify(page);
        s.stringify += performance.now() - t0;
        t0 = performance.now();
        bytes.gzip6 += gzipSync(json, { level: zlibConstants.Z_DEFAULT_COMPRESSION }).length;
        s.gzip6 += performance.now() - t0;
        t0 = performance.now();
        bytes.gzip1 += gzipSync(json, { level: 1 }).length;
        bytes.json += Buffer.byteLength(json);
        s.gzip1 += performance.now() - t0;
        t0 = performance.now();
        JSON.parse(json);
        s.parse += performance.now() - t0;
        rows += page.changes.length;
        since = page.cursor;
        if (!page.hasMore) break;
      }
      if (rows !== pullRows) throw new Error(`pulled ${rows}`);
      if (r > 0) for (const k of Object.keys(sums)) sums[k].push(s[k]); // first pass is warm-up
    }
    const rowsPerS = (ms) => fmt(pullRows / (ms / 1000));
    const rowsOut = [
      ['ChangeFeed.read (change-log page + loadRows IN-lists + decodeRow)', sums.read],
      ['JSON.stringify of the pages (Fastify, no response schema)', sums.stringify],
      ['gzip, zlib default level 6 (@fastify/compress default)', sums.gzip6],
      ['gzip level 1 (for comparison)', sums.gzip1],
      ['client JSON.parse of the pages', sums.parse],
    ].map(([label, list]) => [label, fmt(median(list)), rowsPerS(median(list))]);
    // ChangeFeed.read split in its parts, with the same SQL it sends (change-feed.ts).
    const storage = server.ctx.storage;
    const produtos = tables.find((x) => x.name === 'produtos');
    const globals = tables.filter((x) => x.scope === 'global').map((x) => x.name);
    const logSql = `SELECT seq, table_name, row_id, op, updated_at FROM _sync_changes
        WHERE seq > ? AND table_name IN (${tables.map(() => '?').join(', ')})
          AND (table_name IN (${globals.map(() => '?').join(', ')}) OR store_id = ?) AND op = 'upsert'
        ORDER BY seq LIMIT ?`;
    const parts = { log: [], rows: [], decode: [] };
    for (let r = 0; r < reps + 1; r++) {
      const s = { log: 0, rows: 0, decode: 0 };
      let from = 0;
      for (;;) {
        const page = await storage.read(async (tx) => {
          let t0 = performance.now();
          const changes = await tx.all(logSql, [
            from,
            ...tables.map((x) => x.name),
            ...globals,
            t.storeId,
            10_001,
          ]);
          s.log += performance.now() - t0;
          const ids = changes.slice(0, 10_000).map((c) => c.row_id);
          const rows = [];
          t0 = performance.now();
          for (let i = 0; i < ids.length; i += 500) {
            const chunk = ids.slice(i, i + 500);
            rows.push(
              ...(await tx.all(
                `SELECT * FROM "produtos" WHERE id IN (${chunk.map(() => '?').join(', ')})`,
                chunk,
              )),
            );
          }
          s.rows += performance.now() - t0;
          t0 = performance.now();
          for (const row of rows) decodeRow(storage, produtos, row);
          s.decode += performance.now() - t0;
          return changes;
        });
        if (page.length <= 10_000) break;
        from = Number(page[9_999].seq);
      }
      if (r > 0) for (const k of Object.keys(parts)) parts[k].push(s[k]);
    }
    rowsOut.splice(
      1,
      0,
      ...[
        ['  ├ change-log page query (10,001 rows, scope filter)', parts.log],
        ['  ├ row fetch, SELECT … WHERE id IN (500 ids) × 20', parts.rows],
        ['  └ decodeRow (timestamps re-parsed via new Date)', parts.decode],
      ].map(([label, list]) => [label, fmt(median(list)), rowsPerS(median(list))]),
    );
    if (dialect === 'sqlite') {
      // For comparison: the same 100k rows read by one join per page, in seq order.
      const raw = new Database(db.file, { readonly: true });
      const stmt = raw.prepare(
        `SELECT c.seq, p.* FROM _sync_changes c JOIN produtos p ON p.id = c.row_id
          WHERE c.seq > ? AND c.table_name = 'produtos' AND c.op = 'upsert' ORDER BY c.seq LIMIT 10000`,
      );
      const times = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        let since = 0;
        for (;;) {
          const rows = stmt.all(since);
          if (rows.length === 0) break;
          since = rows.at(-1).seq;
        }
        times.push(performance.now() - t0);
      }
      // And with SQLite building each record's JSON (json_object) and the page assembled as
      // text: no JS row objects, no decodeRow, no JSON.stringify.
      const cols = produtos.columns.map((c) =>
        c.type === 'boolean'
          ? `'${c.name}', json(CASE WHEN p."${c.name}" IS NULL THEN NULL WHEN p."${c.name}" THEN 'true' ELSE 'false' END)`
          : `'${c.name}', p."${c.name}"`,
      );
      const jsonStmt = raw.prepare(
        `SELECT c.seq, c.updated_at, json_object(${cols.join(', ')}) AS record
           FROM _sync_changes c JOIN produtos p ON p.id = c.row_id
          WHERE c.seq > ? AND c.table_name = 'produtos' AND c.op = 'upsert' ORDER BY c.seq LIMIT 10000`,
      );
      const jsonTimes = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        let since = 0;
        let total = 0;
        for (;;) {
          const rows = jsonStmt.all(since);
          if (rows.length === 0) break;
          const body = `{"changes":[${rows
            .map(
              (x) =>
                `{"table":"produtos","op":"upsert","record":${x.record},"version":${x.seq},"updatedAt":"${x.updated_at}"}`,
            )
            .join(',')}],"cursor":"c1.x","hasMore":true}`;
          total += body.length;
          since = rows.at(-1).seq;
        }
        if (total === 0) throw new Error('no rows');
        jsonTimes.push(performance.now() - t0);
      }
      raw.close();
      rowsOut.push([
        '(alternative) JOIN + json_object in SQLite, page assembled as text (replaces read + stringify)',
        fmt(median(jsonTimes)),
        rowsPerS(median(jsonTimes)),
      ]);
      rowsOut.push([
        '(alternative) one JOIN query per page, no decode',
        fmt(median(times)),
        rowsPerS(median(times)),
      ]);
    }
    const passes = reps + 1;
    console.log(
      `\nPage bytes for one full pull: JSON ${fmt(bytes.json / passes / 1048576, 1)} MiB, ` +
        `gzip level 6 ${fmt(bytes.gzip6 / passes / 1048576, 2)} MiB, gzip level 1 ${fmt(bytes.gzip1 / passes / 1048576, 2)} MiB`,
    );
    printTable(
      `Full pull breakdown — ${dialect}, ${fmt(pullRows)} produtos in pages of 10,000, in process, median of ${reps}`,
      ['stage', 'ms for all pages', 'rows/s if alone'],
      rowsOut,
    );
  } finally {
    await server.stop();
    await db.drop();
  }
}

log(machineLine());
const only = new Set(args.only.split(','));
if (only.has('push')) await (dialect === 'sqlite' ? sqliteLadder() : postgresLadder());
if (only.has('variants') && dialect === 'sqlite') await triggerVariants();
if (only.has('pull')) await pullBreakdown();
console.log(`\n${machineLine()}`);
