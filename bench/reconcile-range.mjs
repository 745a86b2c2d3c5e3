// Row-level reconcile (range hashes) against the count-based one, on a terminal holding
// 100,000 produtos of which 3 diverge from the server. Bytes on the wire (request and response
// headers and bodies, as sent: gzip where the server compresses), requests and time, counted
// by an HTTP proxy between the terminal and the server.
//
//   npm run build && node bench/reconcile-range.mjs --dialect sqlite|postgres
// Options: --rows 100000  --runs 5  --scenario lost|changed
//   lost:    3 rows deleted on the terminal behind the outbox's back (the counts differ, so the
//            count-based reconcile notices; its repair re-pulls the whole table);
//   changed: 3 prices changed behind the outbox's back (the counts agree: the count-based
//            reconcile sees nothing).
import { Buffer } from 'node:buffer';
import { createServer, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createDevice,
  fmt,
  freshDatabase,
  importProject,
  log,
  machineLine,
  median,
  performance,
  printTable,
  scratchDir,
  seedProdutos,
  startPdvServer,
} from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    rows: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '5' },
    scenario: { type: 'string', default: 'lost' },
  },
});
const dialect = args.dialect;
const totalRows = Number(args.rows);
const runs = Number(args.runs);
const scenario = args.scenario;
if (!['lost', 'changed'].includes(scenario)) throw new Error('--scenario lost|changed');

/** A forwarding HTTP proxy that counts requests and bytes both ways. */
function countingProxy(target) {
  const counts = { requests: 0, bytes: 0 };
  const upstream = new URL(target);
  const headerBytes = (raw) => raw.reduce((n, h) => n + Buffer.byteLength(h) + 2, 0);
  const server = createServer((req, res) => {
    counts.requests++;
    counts.bytes +=
      Buffer.byteLength(`${req.method} ${req.url} HTTP/1.1\r\n`) + headerBytes(req.rawHeaders);
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (up) => {
        counts.bytes += 17 + headerBytes(up.rawHeaders);
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.on('data', (chunk) => (counts.bytes += chunk.length));
        up.pipe(res);
      },
    );
    req.on('data', (chunk) => (counts.bytes += chunk.length));
    req.pipe(out);
    out.on('error', () => res.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        counts,
        reset: () => Object.assign(counts, { requests: 0, bytes: 0 }),
        close: () => new Promise((r) => server.close(r)),
      }),
    ),
  );
}

log(`reconcile-range: dialect=${dialect} rows=${totalRows} runs=${runs} scenario=${scenario}`);
log(machineLine());
const { SyncManager } = await importProject('dist/client/index.js');
const { hashValues, RowIndex } = await importProject('dist/protocol/index.js');
const db = await freshDatabase(dialect, 'reconcile');
const scratch = scratchDir('reconcile-terminal');
let server = null;
let proxy = null;
let manager = null;
try {
  server = await startPdvServer(db);
  const seeded = await seedProdutos(server.url, totalRows);
  log(`seeded ${fmt(totalRows)} produtos in ${seeded.seconds.toFixed(1)} s`);
  const token = await createDevice(server.url, 'store-1', 'till-1');
  proxy = await countingProxy(server.url);
  manager = new SyncManager(join(scratch.dir, 'till.db'), {
    serverUrl: proxy.url,
    token,
    logFile: '',
    logLevel: 'silent',
    live: false,
    rowReconcileIntervalMs: 0,
  });
  const t0 = performance.now();
  await manager.syncAllTables();
  log(`terminal bootstrapped in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const engine = manager.engine;
  const ids = [17, Math.floor(totalRows / 2), totalRows - 2].map((i) => seeded.records[i].id);
  const local = manager.db;
  const plant = () =>
    manager.store.applying(() => {
      for (const id of ids)
        if (scenario === 'lost') local.prepare(`DELETE FROM produtos WHERE id = ?`).run(id);
        else local.prepare(`UPDATE produtos SET preco = preco + 1000 WHERE id = ?`).run(id);
    });
  const measure = async (fn) => {
    proxy.reset();
    const start = performance.now();
    const extra = await fn();
    return {
      ms: performance.now() - start,
      requests: proxy.counts.requests,
      bytes: proxy.counts.bytes,
      ...extra,
    };
  };
  const results = { rangeFind: [], rangeRepair: [], countFind: [], countRepair: [], hashOnly: [] };
  /** The terminal's share of the find: reading, hashing and indexing its rows, no network. */
  const hashLocal = () => {
    const start = performance.now();
    for (const t of manager.store.schema.tables) {
      const at = t.columns.findIndex((c) => c.name === 'id');
      new RowIndex(
        manager.store.rawRows(t).map((v) => ({ id: String(v[at]), hash: hashValues(t, v) })),
      );
    }
    return { ms: performance.now() - start, bytes: 0, requests: 0 };
  };
  // One warm-up of each, then the measured runs, alternating.
  for (let run = -1; run < runs; run++) {
    plant();
    let found = [];
    const rf = await measure(async () => {
      const outcome = await engine.rowReconcile();
      found = outcome.divergent;
      return { found: found.length };
    });
    if (found.length !== 3) throw new Error(`range reconcile found ${found.length} rows, not 3`);
    const rr = await measure(async () => ({ repaired: await engine.refreshRows(found) }));
    plant();
    let mismatched = [];
    const cf = await measure(async () => {
      const res = await engine.reconcile();
      mismatched = res.mismatches;
      return { found: res.mismatches.length };
    });
    const cr = await measure(async () => {
      const defs = mismatched.map((m) => manager.store.table(m.table)).filter(Boolean);
      const out = await engine.refreshTables(defs);
      return { repaired: out.pulled };
    });
    // Leave the terminal consistent for the next run whatever the count-based one did.
    await engine.refreshRows(ids.map((id) => ({ table: 'produtos', id })));
    if (run >= 0) {
      results.hashOnly.push(hashLocal());
      results.rangeFind.push(rf);
      results.rangeRepair.push(rr);
      results.countFind.push(cf);
      results.countRepair.push(cr);
      log(
        `run ${run + 1}: range ${fmt(rf.bytes + rr.bytes)} B / ${rf.requests + rr.requests} req / ` +
          `${(rf.ms + rr.ms).toFixed(0)} ms; count ${fmt(cf.bytes + cr.bytes)} B / ` +
          `${cf.requests + cr.requests} req / ${(cf.ms + cr.ms).toFixed(0)} ms (found ${cf.found} tables)`,
      );
    }
  }
  const med = (list, key) => median(list.map((r) => r[key]));
  const row = (label, list) => [
    label,
    fmt(med(list, 'bytes')),
    fmt(med(list, 'requests')),
    fmt(med(list, 'ms')),
  ];
  printTable(
    `reconcile, ${fmt(totalRows)} produtos, 3 divergent (${scenario}), ${dialect}, medians of ${runs}`,
    ['step', 'bytes', 'requests', 'ms'],
    [
      row('range-hash: find the 3 ids (and report them)', results.rangeFind),
      row('range-hash: repair (fetch the 3 rows)', results.rangeRepair),
      row('  of the find: terminal reads and hashes its rows (no network)', results.hashOnly),
      row('count-based: find (tables whose count differs)', results.countFind),
      row('count-based: repair (re-pull the tables)', results.countRepair),
    ],
  );
} finally {
  await manager?.close();
  await proxy?.close();
  await server?.stop();
  await db.drop();
  scratch.remove();
}
