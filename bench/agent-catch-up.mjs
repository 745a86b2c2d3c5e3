// Sync agent catch-up after a 2-hour outage (seed 001): the store's databases hold 10,000
// sales (2 items and 1 payment each; 3/4 in caixa, 1/4 in gestao with origem = 2) spread
// over the 2 hours since state.json's last_sync_to. The clock runs from spawning
// `node dist/cli/main.js agent --once` (process start, the windows of at most 60 min read,
// payloads built, validated, queued durably and POSTed) until it exits; the receiver's
// count of distinct sales is then checked. The receiver is the webhook receiver of the
// tests (node:http, validates every payload with zod) or, with --receiver server, the real
// pdv-sync server's POST /api/ingest/v4 (its own process, a fresh database; AGENT_GZIP on).
//
//   npm run build && node bench/agent-catch-up.mjs --source sqlite|postgres|mariadb
// Options: --sales 10000  --runs 3  --receiver webhook|server
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  adminToken,
  cliPath,
  createDevice,
  freshDatabase,
  fmt,
  importProject,
  log,
  machineLine,
  median,
  peakRssTracker,
  performance,
  printTable,
  request,
  scratchDir,
  startPdvServer,
} from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    source: { type: 'string', default: 'sqlite' },
    sales: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    receiver: { type: 'string', default: 'webhook' },
  },
});
const totalSales = Number(args.sales);
const runs = Number(args.runs);
const kind = args.source;
const minute = 60_000;
const token = 'bench-agent-token-0123456789';

const fixtures = await importProject('dist/testing/agent-sources.js');
const { WebhookReceiver } = await importProject('dist/testing/webhook-receiver.js');
const { writeState } = await importProject('dist/agent/state-file.js');
const { toIsoWithOffset } = await importProject('dist/agent/local-time.js');

/**
 * `{ url, token, check(), close() }`: the tests' webhook receiver, or a real pdv-sync server
 * (fresh database of the source's family) with a device token of store `loja-bench`.
 */
async function startReceiver() {
  if (args.receiver === 'server') {
    const db = await freshDatabase(kind === 'postgres' ? 'postgres' : 'sqlite', 'agent-bench');
    const server = await startPdvServer(db);
    const deviceToken = await createDevice(server.url, 'loja-bench', 'agent-bench');
    const get = async (path) => {
      const res = await request(undefined, 'GET', `${server.url}${path}`, {
        headers: { 'x-api-key': adminToken },
      });
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
      return JSON.parse(res.text);
    };
    return {
      url: `${server.url}/api/ingest/v4`,
      token: deviceToken,
      async check() {
        const summary = (await get('/api/sync/reconcile')).serverSummary;
        const listing = await get('/api/ingest/v4?store=loja-bench&limit=500');
        return {
          sales: summary.find((t) => t.table === 'vendas')?.count ?? 0,
          payloads: listing.count,
          bytes: null,
        };
      },
      async close() {
        await server.stop();
        await db.drop();
      },
    };
  }
  const receiver = await WebhookReceiver.start(token);
  return {
    url: receiver.url,
    token,
    async check() {
      if (receiver.salesSeenTwice !== 0)
        throw new Error(`${receiver.salesSeenTwice} sales arrived twice`);
      return {
        sales: receiver.sales.size,
        payloads: receiver.payloads.length,
        bytes: receiver.payloads.reduce((s, p) => s + JSON.stringify(p).length, 0),
      };
    },
    close: () => receiver.close(),
  };
}

async function oneRun(i) {
  const dbs = await fixtures.createStoreDatabases(kind);
  const scratch = scratchDir('agent-catch-up');
  const receiver = await startReceiver();
  try {
    await fixtures.seedCatalog(dbs);
    const now = Math.floor(Date.now() / 1000) * 1000;
    const t0 = now - 120 * minute;
    const caixaCount = Math.round(totalSales * 0.75);
    log(`run ${i + 1}: seeding ${fmt(totalSales)} sales into ${kind}`);
    await fixtures.openTurno(dbs, 'T-BENCH', t0 - minute);
    await fixtures.seedSales(dbs, {
      db: 'caixa',
      firstId: 1,
      count: caixaCount,
      fromMs: t0,
      spreadMs: 118 * minute,
      turno: 'T-BENCH',
    });
    await fixtures.seedSales(dbs, {
      db: 'gestao',
      firstId: 1_000_000,
      count: totalSales - caixaCount,
      fromMs: t0,
      spreadMs: 118 * minute,
    });
    const dataDir = join(scratch.dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    await writeState(join(dataDir, 'state.json'), {
      last_sync_to: toIsoWithOffset(t0, fixtures.offsetMinutes),
      gestao_pending: [],
    });
    const env = {
      PATH: process.env['PATH'],
      PDV_SYNC_LANG: 'en',
      API_TOKEN: receiver.token,
      WEBHOOK_URL: receiver.url,
      STORE_ID_PONTO_VENDA: '1',
      STORE_ID_FILIAL: '7',
      CAIXA_DB_URL: dbs.caixaUrl,
      GESTAO_DB_URL: dbs.gestaoUrl,
      AGENT_DATA_DIR: dataDir,
      AGENT_LOG_DIR: join(scratch.dir, 'logs'),
      AGENT_UTC_OFFSET: '-03:00',
      // The pdv-sync server takes the outbox's gzip bytes as they are.
      AGENT_GZIP: args.receiver === 'server' ? 'true' : 'false',
    };
    const t = performance.now();
    const spawnedAt = Date.now();
    const proc = spawn(process.execPath, [cliPath, 'agent', '--once'], {
      env,
      cwd: scratch.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const rss = peakRssTracker(proc.pid);
    let out = '';
    proc.stdout.on('data', (c) => (out += c));
    proc.stderr.on('data', (c) => (out += c));
    const code = await new Promise((r) => proc.once('exit', r));
    const seconds = (performance.now() - t) / 1000;
    const peak = rss.stop();
    if (code !== 0) throw new Error(`agent exited ${code}\n${out}`);
    const { sales: stored, payloads, bytes } = await receiver.check();
    if (stored !== totalSales)
      throw new Error(`receiver has ${stored} sales, expected ${totalSales}\n${out.slice(-2000)}`);
    // Where the time went, from the agent's own JSON log (pino's `time`, epoch ms).
    const logDir = join(scratch.dir, 'logs');
    const lines = readdirSync(logDir)
      .filter((f) => f.startsWith('pdv-sync-agent'))
      .flatMap((f) => readFileSync(join(logDir, f), 'utf8').trim().split('\n'))
      .map((l) => JSON.parse(l));
    const at = (msg, last = false) => {
      const hits = lines.filter((l) => l.msg.startsWith(msg));
      return (last ? hits.at(-1) : hits[0])?.time;
    };
    const phases = {
      startup: (at('agent started') - spawnedAt) / 1000,
      read: (at('window queued', true) - at('agent started')) / 1000,
      deliver: (at('payload delivered', true) - at('window queued', true)) / 1000,
      exit: (spawnedAt + seconds * 1000 - at('payload delivered', true)) / 1000,
    };
    return { seconds, peak, windows: payloads, bytes, phases };
  } finally {
    await receiver.close();
    await dbs.close();
    scratch.remove();
  }
}

const results = [];
for (let i = 0; i < runs; i++) {
  const r = await oneRun(i);
  log(
    `run ${i + 1}: ${r.seconds.toFixed(2)} s, ${r.windows} payloads, peak RSS ${fmt(r.peak)} MiB`,
  );
  results.push(r);
}
const s = median(results.map((r) => r.seconds));
printTable(
  `Agent catch-up after a 2-hour outage: ${fmt(totalSales)} sales, source ${kind}, receiver ${args.receiver} (median of ${runs}; ${machineLine()})`,
  ['measure', 'value'],
  [
    ['end to end (spawn → exit, all sales stored)', `${s.toFixed(2)} s`],
    ['runs', results.map((r) => r.seconds.toFixed(2)).join(' / ') + ' s'],
    ['sales/s', fmt(totalSales / s)],
    ...['startup', 'read', 'deliver', 'exit'].map((k) => [
      {
        startup: '· process start, config, lock, drivers loaded',
        read: '· windows read, built, validated, queued (fsync)',
        deliver: '· POSTs after the last window was queued',
        exit: '· close sources, flush log, exit',
      }[k],
      `${median(results.map((r) => r.phases[k])).toFixed(2)} s`,
    ]),
    ['payloads (windows of ≤ 60 min)', String(results[0].windows)],
    [
      'JSON sent',
      results[0].bytes === null ? '—' : `${(results[0].bytes / 1024 / 1024).toFixed(1)} MiB`,
    ],
    ['agent peak RSS', `${fmt(median(results.map((r) => r.peak)))} MiB`],
    ['target', '≤ 10 s'],
  ],
);
