// Where a terminal's first-sync time goes on the terminal side: applying 100,000 pulled
// produtos into the local SQLite DB, in process, without HTTP. Each step adds one piece of
// what SyncEngine.pullGroup does per page (one local transaction per page, WAL, synchronous=FULL).
//
//   npm run build && node bench/client-breakdown.mjs
// Options: --rows 100000  --page 5000 (the SDK's default pageSize)  --reps 3
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import {
  fmt,
  importProject,
  log,
  machineLine,
  median,
  performance,
  printTable,
  produto,
  scratchDir,
} from './lib.mjs';

const { LocalStore } = await importProject('dist/client/index.js');
const { loadSchema, defaultSchemaFile } = await importProject('dist/server/index.js');

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    page: { type: 'string', default: '5000' },
    reps: { type: 'string', default: '3' },
  },
});
const totalRows = Number(args.rows);
const pageSize = Number(args.page);
const reps = Number(args.reps);

const schema = loadSchema(defaultSchemaFile);
const produtos = schema.tables.find((t) => t.name === 'produtos');
const cols = produtos.columns.map((c) => c.name);

// Pages as the server sends them: { table, op, record, version }, then as JSON text.
const pages = [];
for (let i = 0; i < totalRows; i += pageSize) {
  const changes = [];
  for (let n = i; n < Math.min(totalRows, i + pageSize); n++)
    changes.push({ table: 'produtos', op: 'upsert', record: produto(n), version: 1 });
  pages.push(JSON.stringify({ changes, cursor: String(i + pageSize), hasMore: true }));
}
const parsedPages = () => pages.map((p) => JSON.parse(p));

const encode = (c, v) =>
  v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : v;
const params = (record) => produtos.columns.map((c) => encode(c, record[c.name]));
const upsertSql = `INSERT INTO "produtos" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})
  ON CONFLICT (id) DO UPDATE SET ${cols
    .filter((c) => c !== 'id')
    .map((c) => `"${c}" = excluded."${c}"`)
    .join(', ')}`;

/** A fresh LocalStore with the schema applied (tables, capture triggers, bookkeeping). */
function freshStore(dir, name) {
  const store = new LocalStore(join(dir, `${name}.db`));
  store.applySchema(schema);
  return store;
}

/** The SDK's earlier apply loop, kept as the baseline: one upsert and one version write per row. */
function perRow(dir) {
  const store = freshStore(dir, 'per-row');
  const input = parsedPages();
  const t0 = performance.now();
  for (const page of input)
    store.applying(() => {
      for (const change of page.changes) {
        store.upsertRow(produtos, change.record);
        store.setVersion('produtos', String(change.record.id), change.version);
      }
      store.setMeta('cursor:produtos', page.cursor);
    });
  const ms = performance.now() - t0;
  store.close();
  return ms;
}

/** What SyncEngine.pullGroup does with each page: `LocalStore.applyPage` (one transaction). */
function shipped(dir, parse) {
  const store = freshStore(dir, 'shipped');
  const input = parse ? pages : parsedPages();
  const group = [produtos];
  const t0 = performance.now();
  for (const item of input) {
    const page = parse ? JSON.parse(item) : item;
    store.applyPage(group, page.changes, 'cursor:produtos', page.cursor);
  }
  const ms = performance.now() - t0;
  store.close();
  return ms;
}

const steps = [
  {
    label: '1. one prepared INSERT per row, plain table (no triggers)',
    run(dir) {
      const db = new Database(join(dir, 'raw.db'));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(
        `CREATE TABLE produtos (${cols.map((c) => (c === 'id' ? '"id" TEXT PRIMARY KEY NOT NULL' : `"${c}"`)).join(', ')})`,
      );
      const stmt = db.prepare(upsertSql);
      const apply = db.transaction((page) => {
        for (const ch of page.changes) stmt.run(params(ch.record));
      });
      const input = parsedPages();
      const t0 = performance.now();
      for (const page of input) apply(page);
      const ms = performance.now() - t0;
      db.close();
      return ms;
    },
  },
  {
    label: '2. + the SDK schema: capture triggers (WHEN applying = 0), applying flag',
    run(dir) {
      const store = freshStore(dir, 'triggers');
      const stmt = store.db.prepare(upsertSql);
      const input = parsedPages();
      const t0 = performance.now();
      for (const page of input)
        store.applying(() => {
          for (const ch of page.changes) stmt.run(params(ch.record));
        });
      const ms = performance.now() - t0;
      store.close();
      return ms;
    },
  },
  {
    label: '3. + `_pdv_versions` upsert per row (prepared once)',
    run(dir) {
      const store = freshStore(dir, 'versions');
      const stmt = store.db.prepare(upsertSql);
      const version = store.db.prepare(
        `INSERT INTO _pdv_versions (table_name, row_id, version) VALUES (?, ?, ?)
         ON CONFLICT (table_name, row_id) DO UPDATE SET version = MAX(version, excluded.version)`,
      );
      const input = parsedPages();
      const t0 = performance.now();
      for (const page of input)
        store.applying(() => {
          for (const ch of page.changes) {
            stmt.run(params(ch.record));
            version.run('produtos', ch.record.id, ch.version);
          }
        });
      const ms = performance.now() - t0;
      store.close();
      return ms;
    },
  },
  {
    label: '4. per row: `LocalStore.upsertRow` + `setVersion` (the SDK before multi-row pages)',
    run: (dir) => perRow(dir),
  },
  {
    label: '5. as shipped: `LocalStore.applyPage` (multi-row upserts and versions, cursor)',
    run: (dir) => shipped(dir, false),
  },
  {
    label: '6. step 5 + `JSON.parse` of the page text',
    run: (dir) => shipped(dir, true),
  },
];

log(`client-breakdown: rows=${totalRows} page=${pageSize} reps=${reps}`);
log(machineLine());
const results = steps.map(() => []);
// CPU of this process over the whole step (setup included): steadier than wall time on a busy machine.
const cpuResults = steps.map(() => []);
for (let r = 0; r < reps; r++)
  for (const [i, step] of steps.entries()) {
    const scratch = scratchDir('client-breakdown');
    try {
      const cpu0 = process.cpuUsage();
      results[i].push(step.run(scratch.dir));
      const cpu = process.cpuUsage(cpu0);
      cpuResults[i].push((cpu.user + cpu.system) / 1000);
    } finally {
      scratch.remove();
    }
  }
printTable(
  `Applying ${fmt(totalRows)} pulled produtos locally, pages of ${fmt(pageSize)}, one transaction each — median of ${reps}`,
  ['step', 'ms', 'µs per row', 'CPU µs per row', 'rows/s', 'runs (ms)'],
  steps.map((s, i) => {
    const ms = median(results[i]);
    return [
      s.label,
      fmt(ms),
      fmt((ms * 1000) / totalRows, 1),
      fmt((median(cpuResults[i]) * 1000) / totalRows, 1),
      fmt(totalRows / (ms / 1000)),
      results[i].map((v) => fmt(v)).join(' / '),
    ];
  }),
);
console.log(`\n${machineLine()}`);
