// Push throughput: 20 terminals in 4 stores push sales (1 vendas + 3 itens_venda +
// 1 pagamentos = 5 mutations each, UUIDv7 ids and eventIds) to a real pdv-sync server
// process over loopback HTTP, in batches, and the same sales go through three
// baselines run in the same script, interleaved round by round so machine noise cancels:
//   (a) naive: one POST per sale, one transaction (fsync) each — bench/naive-server.mjs
//   (b) PouchDB: 20 local PouchDBs replicating to one pouchdb-server (LevelDB), 1 doc per sale
//   (c) raw: the same 5 rows per sale straight into the same engine, same batch size,
//       no HTTP, no validation, no change log
//   (d) floor: the same rows straight into pdv-sync's own tables, in the same engine: rows
//       keyed (store, id), the capture triggers writing the change log, each row's origin
//       recorded. What the guarantees (no-skip pulls, row-level reconcile) cost in storage
//       alone, with no HTTP, no validation and no Node work of the server's
//
//   npm run build && node bench/push-throughput.mjs --dialect sqlite|postgres
// Options: --runs 3  --sales 1000 (per terminal)  --batch 200 (sales per push)
//          --only ours,naive,pouchdb,raw,floor  --pouch-docs-per-sale 1|5  --gzip on|off
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  adminToken,
  benchDir,
  createDevice,
  fmt,
  freshDatabase,
  log,
  machineLine,
  makeSale,
  median,
  startMeter,
  performance,
  postgresUrl,
  printTable,
  request,
  rootDir,
  saleRows,
  saleTables,
  saleTablesDdl,
  scratchDir,
  spawnUntil,
  startPdvServer,
  terminalAgent,
  terminals,
  uuidv7,
  startPouchServer,
} from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    runs: { type: 'string', default: '3' },
    sales: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '200' },
    only: { type: 'string', default: 'ours,naive,pouchdb,raw,floor' },
    'pouch-docs-per-sale': { type: 'string', default: '1' },
    gzip: { type: 'string', default: 'on' },
  },
});
const dialect = args.dialect;
if (dialect !== 'sqlite' && dialect !== 'postgres') throw new Error('--dialect sqlite|postgres');
const runs = Number(args.runs);
const salesPerTerminal = Number(args.sales);
const batchSales = Number(args.batch);
const only = new Set(args.only.split(','));
const pouchDocsPerSale = Number(args['pouch-docs-per-sale']);
const warmupSales = 10;
const terms = terminals();
const totalSales = salesPerTerminal * terms.length;

function salesFor(terminal, count) {
  return Array.from({ length: count }, (_, n) => makeSale(terminal, n));
}

function chunks(list, size) {
  const out = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

// ------------------------------------------------------------------ ours: pdv-sync

function pushBody(terminal, sales) {
  const updatedAt = new Date().toISOString();
  const mutations = [];
  for (const sale of sales)
    for (const [table, record] of saleRows(sale))
      mutations.push({ eventId: uuidv7(), table, op: 'upsert', record, updatedAt });
  return {
    body: JSON.stringify({ machineId: terminal.machineId, mutations }),
    count: mutations.length,
  };
}

async function pushAll(url, terminal, agent, bodies) {
  const headers = {
    'x-api-key': terminal.token,
    'content-type': 'application/json',
    ...(args.gzip === 'on' ? { 'accept-encoding': 'gzip' } : {}),
  };
  for (const { body, count } of bodies) {
    const res = await request(agent, 'POST', `${url}/api/sync/push`, { headers, body });
    if (res.status !== 200)
      throw new Error(`push failed (${res.status}): ${res.text.slice(0, 500)}`);
    const { summary, results } = JSON.parse(res.text);
    if (summary.applied !== count)
      throw new Error(
        `push applied ${summary.applied}/${count}: ${JSON.stringify(results.find((r) => r.status !== 'applied'))}`,
      );
  }
}

async function runOurs() {
  const db = await freshDatabase(dialect, 'ours');
  const server = await startPdvServer(db).catch(async (err) => {
    await db.drop();
    throw err;
  });
  try {
    for (const t of terms) t.token = await createDevice(server.url, t.storeId, t.machineId);
    const agents = terms.map(() => terminalAgent());
    await Promise.all(
      terms.map((t, i) =>
        pushAll(server.url, t, agents[i], [pushBody(t, salesFor(t, warmupSales))]),
      ),
    );
    const bodies = terms.map((t) =>
      chunks(salesFor(t, salesPerTerminal), batchSales).map((b) => pushBody(t, b)),
    );
    const meter = startMeter(server.pid);
    const t0 = performance.now();
    await Promise.all(terms.map((t, i) => pushAll(server.url, t, agents[i], bodies[i])));
    const seconds = (performance.now() - t0) / 1000;
    const metered = meter.stop();
    const stats = JSON.parse(
      (
        await request(undefined, 'GET', `${server.url}/api/stats`, {
          headers: { 'x-api-key': adminToken },
        })
      ).text,
    );
    const vendas = stats.tables.find((t) => t.table === 'vendas').rows;
    const expected = totalSales + warmupSales * terms.length;
    if (vendas !== expected) throw new Error(`server holds ${vendas} vendas, expected ${expected}`);
    for (const a of agents) a.destroy();
    return { seconds, ...metered };
  } finally {
    await server.stop();
    await db.drop();
  }
}

// ------------------------------------------------------------------ (a) naive server

async function runNaive() {
  const scratch = scratchDir('naive');
  const db = dialect === 'postgres' ? await freshDatabase('postgres', 'naive') : null;
  const proc = spawnUntil(
    process.execPath,
    [
      join(benchDir, 'naive-server.mjs'),
      '--dialect',
      dialect,
      ...(db ? ['--pg-schema', db.pgSchema] : ['--db', join(scratch.dir, 'naive.db')]),
    ],
    { cwd: rootDir, env: process.env, ready: /listening on (http:\/\/[^\s]+)/ },
  );
  try {
    const url = (await proc.started)[1];
    const agents = terms.map(() => terminalAgent());
    const post = async (agent, bodies) => {
      for (const body of bodies) {
        const res = await request(agent, 'POST', `${url}/api/sync/sale`, {
          headers: { 'content-type': 'application/json' },
          body,
        });
        if (res.status !== 201) throw new Error(`naive POST failed (${res.status}): ${res.text}`);
      }
    };
    await Promise.all(
      terms.map((t, i) =>
        post(
          agents[i],
          salesFor(t, warmupSales).map((s) => JSON.stringify(s)),
        ),
      ),
    );
    const bodies = terms.map((t) => salesFor(t, salesPerTerminal).map((s) => JSON.stringify(s)));
    const meter = startMeter(proc.child.pid);
    const t0 = performance.now();
    await Promise.all(terms.map((_, i) => post(agents[i], bodies[i])));
    const seconds = (performance.now() - t0) / 1000;
    const metered = meter.stop();
    for (const a of agents) a.destroy();
    return { seconds, ...metered };
  } finally {
    await proc.stop();
    scratch.remove();
    await db?.drop();
  }
}

// ------------------------------------------------------------------ (b) PouchDB

const require = createRequire(import.meta.url);
let PouchDB = null;
function loadPouch() {
  if (!PouchDB) {
    PouchDB = require('pouchdb');
    PouchDB.plugin(require('pouchdb-adapter-memory'));
  }
  return PouchDB;
}

function saleDocs(sale) {
  if (pouchDocsPerSale === 1)
    return [
      {
        _id: sale.venda.id,
        type: 'venda',
        ...sale.venda,
        itens: sale.itens,
        pagamento: sale.pagamento,
      },
    ];
  return saleRows(sale).map(([table, row]) => ({ _id: row.id, type: table, ...row }));
}

let pouchRound = 0;
async function runPouch() {
  const Pouch = loadPouch();
  const server = await startPouchServer();
  try {
    const base = server.base;
    const created = await request(undefined, 'PUT', `${base}/sales`);
    if (created.status !== 201) throw new Error(`PUT /sales: ${created.status} ${created.text}`);
    const round = ++pouchRound;
    const locals = terms.map(
      (t) => new Pouch(`pdv-${round}-${t.machineId}`, { adapter: 'memory' }),
    );
    const remote = `${base}/sales`;
    const opts = { batch_size: batchSales * pouchDocsPerSale, batches_limit: 10 };
    // Warm-up: a first replication of a few sales per terminal (also writes the checkpoints).
    await Promise.all(
      locals.map((db, i) => db.bulkDocs(salesFor(terms[i], warmupSales).flatMap(saleDocs))),
    );
    await Promise.all(locals.map((db) => db.replicate.to(remote, opts)));
    await Promise.all(
      locals.map((db, i) => db.bulkDocs(salesFor(terms[i], salesPerTerminal).flatMap(saleDocs))),
    );
    const meter = startMeter(server.pid);
    const t0 = performance.now();
    const results = await Promise.all(locals.map((db) => db.replicate.to(remote, opts)));
    const seconds = (performance.now() - t0) / 1000;
    const metered = meter.stop();
    const written = results.reduce((s, r) => s + r.docs_written, 0);
    if (written !== totalSales * pouchDocsPerSale)
      throw new Error(
        `pouchdb replicated ${written} docs, expected ${totalSales * pouchDocsPerSale}`,
      );
    const info = JSON.parse((await request(undefined, 'GET', `${base}/sales`)).text);
    const expected = (totalSales + warmupSales * terms.length) * pouchDocsPerSale;
    if (info.doc_count !== expected)
      throw new Error(`pouchdb-server holds ${info.doc_count} docs, expected ${expected}`);
    await Promise.all(locals.map((db) => db.destroy()));
    return { seconds, ...metered };
  } finally {
    await server.stop();
  }
}

// ------------------------------------------------------------------ (c) raw storage

function rawBatches() {
  // Interleaved across terminals, as the pushes arrive.
  const perTerminal = terms.map((t) => chunks(salesFor(t, salesPerTerminal), batchSales));
  const out = [];
  for (let b = 0; b < perTerminal[0].length; b++) for (const list of perTerminal) out.push(list[b]);
  return { perTerminal, interleaved: out };
}

const rowParams = (table, row) => Object.keys(saleTables[table]).map((c) => row[c] ?? null);

async function runRawSqlite() {
  const scratch = scratchDir('raw');
  const db = new Database(join(scratch.dir, 'raw.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    for (const ddl of saleTablesDdl('sqlite')) db.exec(ddl);
    const stmts = Object.fromEntries(
      Object.entries(saleTables).map(([t, cols]) => [
        t,
        db.prepare(
          `INSERT INTO ${t} (${Object.keys(cols).join(', ')}) VALUES (${Object.keys(cols)
            .map(() => '?')
            .join(', ')})`,
        ),
      ]),
    );
    const insertBatch = db.transaction((rows) => {
      for (const [table, params] of rows) stmts[table].run(params);
    });
    const toRows = (sales) => sales.flatMap(saleRows).map(([t, r]) => [t, rowParams(t, r)]);
    for (const t of terms) insertBatch(toRows(salesFor(t, warmupSales)));
    const batches = rawBatches().interleaved.map(toRows);
    const meter = startMeter(null);
    const t0 = performance.now();
    for (const rows of batches) insertBatch(rows);
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, ...meter.stop() };
  } finally {
    db.close();
    scratch.remove();
  }
}

async function runRawPostgres() {
  const db = await freshDatabase('postgres', 'raw');
  const pool = new pg.Pool({
    connectionString: postgresUrl,
    max: 10,
    options: `-c search_path=${db.pgSchema}`,
  });
  try {
    for (const ddl of saleTablesDdl('postgres')) await pool.query(ddl);
    // One multi-row INSERT per table per batch: the fastest plain-SQL way in.
    const statements = (sales) => {
      const byTable = new Map(Object.keys(saleTables).map((t) => [t, []]));
      for (const [t, r] of sales.flatMap(saleRows)) byTable.get(t).push(rowParams(t, r));
      return [...byTable].map(([t, rows]) => {
        const width = Object.keys(saleTables[t]).length;
        const values = rows.map(
          (_, i) =>
            `(${Array.from({ length: width }, (_, k) => `$${i * width + k + 1}`).join(', ')})`,
        );
        return {
          text: `INSERT INTO ${t} (${Object.keys(saleTables[t]).join(', ')}) VALUES ${values.join(', ')}`,
          values: rows.flat(),
        };
      });
    };
    const insertBatch = async (stmts) => {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        for (const s of stmts) await c.query(s);
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    };
    await Promise.all(terms.map((t) => insertBatch(statements(salesFor(t, warmupSales)))));
    const perTerminal = rawBatches().perTerminal.map((list) => list.map(statements));
    const meter = startMeter(null);
    const t0 = performance.now();
    await Promise.all(
      perTerminal.map(async (list) => {
        for (const stmts of list) await insertBatch(stmts);
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, ...meter.stop() };
  } finally {
    await pool.end();
    await db.drop();
  }
}

// ------------------------------------------------------------------ (d) the storage floor

/** A database migrated by pdv-sync itself: its sync tables, capture triggers, bookkeeping. */
async function migratedDatabase(name) {
  const db = await freshDatabase(dialect, name);
  try {
    const server = await startPdvServer(db);
    await server.stop();
    return db;
  } catch (err) {
    await db.drop();
    throw err;
  }
}

const originParams = (t, table, r, now) => [table, r.store_id, r.id, t.machineId, now];
const originColumns = '(table_name, row_store, row_id, machine_id, created_at)';

async function runFloorSqlite() {
  const dbi = await migratedDatabase('floor');
  const db = new Database(dbi.file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    const stmts = Object.fromEntries(
      Object.entries(saleTables).map(([t, cols]) => [
        t,
        db.prepare(
          `INSERT INTO ${t} (${Object.keys(cols).join(', ')}) VALUES (${Object.keys(cols)
            .map(() => '?')
            .join(', ')})`,
        ),
      ]),
    );
    const origin = db.prepare(
      `INSERT INTO _sync_row_origins ${originColumns} VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (table_name, row_store, row_id) DO NOTHING`,
    );
    const insertBatch = db.transaction((rows) => {
      const now = new Date().toISOString();
      for (const [t, table, record, params] of rows) {
        stmts[table].run(params);
        origin.run(originParams(t, table, record, now));
      }
    });
    const toRows = (t, sales) =>
      sales.flatMap(saleRows).map(([table, r]) => [t, table, r, rowParams(table, r)]);
    for (const t of terms) insertBatch(toRows(t, salesFor(t, warmupSales)));
    const perTerminal = terms.map((t) =>
      chunks(salesFor(t, salesPerTerminal), batchSales).map((b) => toRows(t, b)),
    );
    const batches = [];
    for (let b = 0; b < perTerminal[0].length; b++)
      for (const list of perTerminal) batches.push(list[b]);
    const meter = startMeter(null);
    const t0 = performance.now();
    for (const rows of batches) insertBatch(rows);
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, ...meter.stop() };
  } finally {
    db.close();
    await dbi.drop();
  }
}

async function runFloorPostgres() {
  const db = await migratedDatabase('floor');
  const pool = new pg.Pool({
    connectionString: postgresUrl,
    max: 10,
    options: `-c search_path=${db.pgSchema}`,
  });
  try {
    // As (c): one multi-row INSERT per table per batch, and one of the rows' origins.
    const values = (rows, width) =>
      rows
        .map(
          (_, i) =>
            `(${Array.from({ length: width }, (_, k) => `$${i * width + k + 1}`).join(', ')})`,
        )
        .join(', ');
    const statements = (t, sales) => {
      const now = new Date().toISOString();
      const byTable = new Map(Object.keys(saleTables).map((table) => [table, []]));
      const origins = [];
      for (const [table, r] of sales.flatMap(saleRows)) {
        byTable.get(table).push(rowParams(table, r));
        origins.push(originParams(t, table, r, now));
      }
      return [
        ...[...byTable].map(([table, rows]) => ({
          text: `INSERT INTO ${table} (${Object.keys(saleTables[table]).join(', ')})
                 VALUES ${values(rows, Object.keys(saleTables[table]).length)}`,
          values: rows.flat(),
        })),
        {
          text: `INSERT INTO _sync_row_origins ${originColumns} VALUES ${values(origins, 5)}
                 ON CONFLICT (table_name, row_store, row_id) DO NOTHING`,
          values: origins.flat(),
        },
      ];
    };
    const insertBatch = async (stmts) => {
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        for (const s of stmts) await c.query(s);
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    };
    await Promise.all(terms.map((t) => insertBatch(statements(t, salesFor(t, warmupSales)))));
    const perTerminal = terms.map((t) =>
      chunks(salesFor(t, salesPerTerminal), batchSales).map((b) => statements(t, b)),
    );
    const meter = startMeter(null);
    const t0 = performance.now();
    await Promise.all(
      perTerminal.map(async (list) => {
        for (const stmts of list) await insertBatch(stmts);
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, ...meter.stop() };
  } finally {
    await pool.end();
    await db.drop();
  }
}

// ------------------------------------------------------------------ main

const systems = [
  { key: 'ours', label: 'pdv-sync (batched push)', run: runOurs },
  { key: 'naive', label: '(a) naive: 1 POST + 1 txn per sale', run: runNaive },
  {
    key: 'pouchdb',
    label: `(b) PouchDB → pouchdb-server (${pouchDocsPerSale} doc/sale)`,
    run: runPouch,
  },
  {
    key: 'raw',
    label: '(c) raw inserts, same engine',
    run: dialect === 'sqlite' ? runRawSqlite : runRawPostgres,
  },
  {
    key: 'floor',
    label: "(d) floor: pdv-sync's tables, change log and origins, no server",
    run: dialect === 'sqlite' ? runFloorSqlite : runFloorPostgres,
  },
].filter((s) => only.has(s.key));

log(
  `push-throughput: dialect=${dialect} terminals=${terms.length} stores=4 sales/terminal=${salesPerTerminal} ` +
    `batch=${batchSales} sales (${batchSales * 5} mutations) runs=${runs}`,
);
log(machineLine());
const measured = new Map(systems.map((s) => [s.key, []]));
for (let r = 1; r <= runs; r++)
  for (const s of systems) {
    const { seconds, peakRss, serverCpu, clientCpu } = await s.run();
    const salesPerSecond = totalSales / seconds;
    const perK = (cpu) => (cpu === null ? null : (cpu * 1000) / (totalSales / 1000));
    measured
      .get(s.key)
      .push({ salesPerSecond, peakRss, serverCpu: perK(serverCpu), clientCpu: perK(clientCpu) });
    log(
      `run ${r}/${runs} ${s.key}: ${fmt(salesPerSecond)} sales/s in ${seconds.toFixed(2)} s, ` +
        `peak RSS ${fmt(peakRss, 0)} MiB, load ${os.loadavg()[0].toFixed(2)}`,
    );
  }

const med = (key, f) =>
  median(
    measured
      .get(key)
      .map(f)
      .filter((v) => v !== null),
  );
const optMed = (key, f) => (measured.get(key).some((m) => f(m) !== null) ? med(key, f) : null);
printTable(
  `Push throughput — ${dialect}, ${terms.length} terminals, ${fmt(totalSales)} sales (${fmt(totalSales * 5)} rows) per run, median of ${runs}`,
  [
    'system',
    'sales/s',
    'rows/s',
    'runs (sales/s)',
    'server peak RSS (MiB)',
    'server CPU ms / 1k sales',
    'client CPU ms / 1k sales',
  ],
  systems.map((s) => {
    const sps = med(s.key, (m) => m.salesPerSecond);
    const rss = optMed(s.key, (m) => m.peakRss);
    const clientCpu = optMed(s.key, (m) => m.clientCpu);
    return [
      s.label,
      fmt(sps),
      fmt(sps * 5),
      measured
        .get(s.key)
        .map((m) => fmt(m.salesPerSecond))
        .join(' / '),
      rss === null ? 'in-process' : fmt(rss),
      fmt(optMed(s.key, (m) => m.serverCpu)),
      clientCpu === null ? '—' : fmt(clientCpu),
    ];
  }),
);
if (dialect === 'postgres')
  console.log(
    '\nCPU columns count Node processes only; the CPU of the PostgreSQL backends is not included.',
  );

if (measured.has('ours')) {
  const ours = med('ours', (m) => m.salesPerSecond);
  const targets = { naive: 4, pouchdb: 4, raw: 0.5, floor: null };
  const rows = systems
    .filter((s) => s.key !== 'ours')
    .map((s) => {
      const ratio = ours / med(s.key, (m) => m.salesPerSecond);
      // Each round runs ours and the baseline back to back: the per-round ratio cancels slow drifts.
      const perRound = median(
        measured
          .get('ours')
          .map((m, i) => m.salesPerSecond / measured.get(s.key)[i].salesPerSecond),
      );
      return [
        `ours / ${s.key}`,
        `${ratio.toFixed(2)}×`,
        `${perRound.toFixed(2)}×`,
        targets[s.key] === null ? '—' : `≥ ${targets[s.key]}×`,
        targets[s.key] === null ? '—' : ratio >= targets[s.key] ? 'yes' : 'NO',
      ];
    });
  if (rows.length)
    printTable(
      `Ratios — ${dialect}`,
      ['ratio', 'of medians', 'median of per-round', 'target', 'met'],
      rows,
    );
}

// The binding target of the performance issue: server CPU per 1,000 sales ≤ 2× the raw inserts'.
// The floor says how much of that CPU the guarantees' own writes take, with no server at all.
// On PostgreSQL the CPU columns count Node only: compare wall clock there (the ratios above).
if (dialect === 'sqlite' && measured.has('raw')) {
  const cpu = (key) => (measured.has(key) ? med(key, (m) => m.serverCpu) : null);
  const raw = cpu('raw');
  const rows = [
    ['ours', cpu('ours'), 2],
    ['floor', cpu('floor'), null],
  ]
    .filter(([, v]) => v !== null)
    .map(([key, v, target]) => [
      `${key} / raw`,
      `${fmt(v)} / ${fmt(raw)} ms`,
      `${(v / raw).toFixed(2)}×`,
      target === null ? '—' : `≤ ${target}×`,
      target === null ? '—' : v / raw <= target ? 'yes' : 'NO',
    ]);
  if (cpu('ours') !== null && cpu('floor') !== null)
    rows.push([
      'ours / floor',
      `${fmt(cpu('ours'))} / ${fmt(cpu('floor'))} ms`,
      `${(cpu('ours') / cpu('floor')).toFixed(2)}×`,
      '—',
      '—',
    ]);
  printTable(
    'CPU per 1,000 sales — sqlite (all of it in one process: the server, or this script for raw and floor)',
    ['ratio', 'ms / 1k sales', 'ratio', 'target', 'met'],
    rows,
  );
}
console.log(`\n${machineLine()}`);
