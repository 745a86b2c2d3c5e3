// Pull throughput: seed 100,000 produtos into a real pdv-sync server process (admin
// pushes of 5,000 mutations), then time a terminal's full pull from cursor zero via
// GET /api/sync/changes?limit=10000, with `Accept-Encoding: gzip` (as a real client
// sends it) and without, alternating run by run. The client decompresses and parses
// every page, as a real terminal must.
//
//   npm run build && node bench/pull.mjs --dialect sqlite|postgres
// Options: --rows 100000  --runs 5  --limit 10000
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { gunzip } from 'node:zlib';
import {
  createDevice,
  fmt,
  freshDatabase,
  log,
  machineLine,
  median,
  peakRssTracker,
  startMeter,
  performance,
  printTable,
  seedProdutos,
  startPdvServer,
  terminalAgent,
  importProject,
} from './lib.mjs';
import http from 'node:http';
import { Buffer } from 'node:buffer';

const { protocolVersion } = await importProject('dist/protocol/index.js');

const { values: args } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    rows: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '5' },
    limit: { type: 'string', default: '10000' },
  },
});
const dialect = args.dialect;
if (dialect !== 'sqlite' && dialect !== 'postgres') throw new Error('--dialect sqlite|postgres');
const totalRows = Number(args.rows);
const runs = Number(args.runs);
const limit = Number(args.limit);
const seedBatch = 5000;
const gunzipAsync = promisify(gunzip);

/** GET returning the raw body (still compressed) so decompression is timed on the client side. */
function get(agent, url, headers) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            encoding: res.headers['content-encoding'],
            raw: Buffer.concat(chunks),
          }),
        );
      })
      .on('error', reject);
  });
}

async function fullPull(url, token, gzip) {
  const agent = terminalAgent();
  // The protocol version the SDK declares (decimals as text): without it the server answers
  // as to clients of protocol < 4 (decimals as numbers), a path pages built by the engine skip.
  const headers = {
    'x-api-key': token,
    'x-pdv-sync-protocol': String(protocolVersion),
    ...(gzip ? { 'accept-encoding': 'gzip' } : {}),
  };
  let since = '';
  let rows = 0;
  let wireBytes = 0;
  let pages = 0;
  const t0 = performance.now();
  for (;;) {
    const res = await get(
      agent,
      `${url}/api/sync/changes?limit=${limit}${since ? `&since=${encodeURIComponent(since)}` : ''}`,
      headers,
    );
    if (res.status !== 200)
      throw new Error(`pull failed (${res.status}): ${res.raw.toString().slice(0, 300)}`);
    if (gzip && res.encoding !== 'gzip')
      throw new Error(`asked for gzip, got ${res.encoding ?? 'identity'}`);
    wireBytes += res.raw.length;
    const text = (res.encoding === 'gzip' ? await gunzipAsync(res.raw) : res.raw).toString('utf8');
    const page = JSON.parse(text);
    rows += page.changes.length;
    pages++;
    since = page.cursor;
    if (!page.hasMore) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  if (rows !== totalRows) throw new Error(`pulled ${rows} rows, expected ${totalRows}`);
  return { seconds, wireBytes, pages };
}

log(`pull: dialect=${dialect} rows=${totalRows} limit=${limit} runs=${runs}`);
log(machineLine());
const db = await freshDatabase(dialect, 'pull');
// The pull's own speed, not the per-token byte budget: one token pulls every run back to back
// (38 MiB a run), past the default 128 MiB burst at 8 MiB/s.
const server = await startPdvServer(db, {
  PDV_SYNC_COST_BURST_BYTES: String(64 * 1024 ** 3),
  PDV_SYNC_COST_RATE_BYTES: String(1024 ** 3),
}).catch(async (err) => {
  await db.drop();
  throw err;
});
try {
  const seedRss = peakRssTracker(server.pid);
  const { seconds: seedSeconds } = await seedProdutos(server.url, totalRows, seedBatch);
  const seedPeak = seedRss.stop();
  log(
    `seeded ${fmt(totalRows)} produtos in ${seedSeconds.toFixed(2)} s (${fmt(totalRows / seedSeconds)} rows/s)`,
  );
  const token = await createDevice(server.url, 'loja-1', 'pdv-1-1');
  // Warm-up: one full pull of each kind, not counted.
  await fullPull(server.url, token, true);
  await fullPull(server.url, token, false);
  const results = { gzip: [], identity: [] };
  const peaks = { gzip: 0, identity: 0 };
  for (let r = 1; r <= runs; r++)
    for (const gzip of r % 2 ? [true, false] : [false, true]) {
      const meter = startMeter(server.pid);
      const m = await fullPull(server.url, token, gzip);
      const key = gzip ? 'gzip' : 'identity';
      const metered = meter.stop();
      peaks[key] = Math.max(peaks[key], metered.peakRss);
      results[key].push({ ...m, ...metered });
      log(
        `run ${r}/${runs} ${key}: ${fmt(totalRows / m.seconds)} rows/s in ${m.seconds.toFixed(2)} s, ${m.pages} pages, ${fmt(m.wireBytes / 1048576, 1)} MiB on the wire`,
      );
    }
  printTable(
    `Full pull from zero — ${dialect}, ${fmt(totalRows)} produtos, limit=${limit}, median of ${runs}`,
    [
      'encoding',
      'rows/s',
      'seconds',
      'runs (rows/s)',
      'MiB on the wire',
      'server peak RSS (MiB)',
      'server CPU ms / 10k rows',
      'client CPU ms / 10k rows',
      'target ≥ 200,000 rows/s',
    ],
    Object.entries(results).map(([key, list]) => {
      const secs = median(list.map((m) => m.seconds));
      const rps = totalRows / secs;
      return [
        key === 'gzip' ? 'Accept-Encoding: gzip' : 'none (identity)',
        fmt(rps),
        secs.toFixed(2),
        list.map((m) => fmt(totalRows / m.seconds)).join(' / '),
        fmt(median(list.map((m) => m.wireBytes)) / 1048576, 1),
        fmt(peaks[key]),
        fmt(median(list.map((m) => (m.serverCpu * 1000 * 10_000) / totalRows))),
        fmt(median(list.map((m) => (m.clientCpu * 1000 * 10_000) / totalRows))),
        rps >= 200_000 ? 'met' : 'NOT met',
      ];
    }),
  );
  printTable(
    `Seeding (admin push, ${seedBatch} mutations per POST) — ${dialect}`,
    ['phase', 'rows/s', 'seconds', 'server peak RSS (MiB)'],
    [['seed 100k produtos', fmt(totalRows / seedSeconds), seedSeconds.toFixed(2), fmt(seedPeak)]],
  );
  console.log(`\n${machineLine()}`);
} finally {
  await server.stop();
  await db.drop();
}
