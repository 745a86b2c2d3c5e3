// One terminal in its own process, for the client benchmarks (client-first-sync.mjs,
// client-catch-up.mjs start it through lib.mjs `runTerminalChild`). Not run by hand.
//
// Protocol on stdout: `READY {...}` once the untimed setup is done (then it waits for a
// line on stdin), `RESULT {...}` after the timed work. The peak RSS it reports is its own
// VmHWM, reset (`clear_refs` 5) right before the timed work, so it covers that work only;
// `lifetimePeakRss` is the high-water mark of the setup, read before the reset.
//
// Modes (argv[2] is the JSON config):
//   first-sync  SyncManager on an empty local DB: syncAllTables() against the server
//   catch-up    SyncManager: prepare() online, `sales` sales written offline with plain SQL
//               (the statements of sellLocally() in src/testing/pos-sale.ts), then syncAllTables()
//   pouch       PouchDB.replicate(remote, local) into an empty local PouchDB
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { importProject, memoryOf, ownCpuSeconds, performance } from './lib.mjs';

const config = JSON.parse(process.argv[2]);
const lifetimePeak = () => memoryOf(process.pid).peak;

/** Prints READY, waits for the parent's go, resets the high-water mark and starts the meters. */
async function armed(info = {}) {
  const setupPeakRss = lifetimePeak();
  process.stdout.write(
    `READY ${JSON.stringify({ ...info, rssBefore: memoryOf(process.pid).rss })}\n`,
  );
  await once(process.stdin, 'data');
  process.stdin.destroy();
  let resetOk = true;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    resetOk = false;
  }
  const cpu0 = ownCpuSeconds();
  const t0 = performance.now();
  return {
    t0,
    stop: () => ({
      seconds: (performance.now() - t0) / 1000,
      cpuSeconds: ownCpuSeconds() - cpu0,
      peakRss: lifetimePeak(),
      peakRssReset: resetOk,
      setupPeakRss,
    }),
  };
}

function done(result) {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

/** Wraps engine methods to time the phases of one syncAllTables(). */
function timePhases(manager, t0) {
  const phases = {};
  const engine = manager.engine;
  for (const name of ['ready', 'push', 'pull', 'reconcile', 'reportStatus']) {
    const original = engine[name].bind(engine);
    engine[name] = async (...a) => {
      const start = performance.now();
      try {
        return await original(...a);
      } finally {
        const p = (phases[name] ??= { ms: 0, startMs: start - t0 });
        p.ms += performance.now() - start;
      }
    };
  }
  // Local transactions that apply pulled pages (CPU and the commit's fsync), wall time.
  const store = manager.store;
  const applying = store.applying.bind(store);
  store.applying = (fn) => {
    const start = performance.now();
    try {
      return applying(fn);
    } finally {
      const p = (phases.applyPages ??= { ms: 0, startMs: start - t0, count: 0 });
      p.ms += performance.now() - start;
      p.count++;
    }
  };
  let syncedAtMs = null;
  manager.on('status', (s) => {
    if (s.state === 'synced' && syncedAtMs === null) syncedAtMs = performance.now() - t0;
  });
  return { phases, syncedAtMs: () => syncedAtMs };
}

function managerOptions() {
  return {
    serverUrl: config.serverUrl,
    token: config.token,
    logFile: '',
    logLevel: 'silent',
    timeoutMs: 120_000,
    ...(config.pageSize ? { pageSize: config.pageSize } : {}),
    ...(config.batchSize ? { batchSize: config.batchSize } : {}),
  };
}

async function firstSync() {
  const { SyncManager } = await importProject('dist/client/index.js');
  const manager = new SyncManager(config.dbPath, managerOptions());
  const meter = await armed();
  const timing = timePhases(manager, meter.t0);
  const res = await manager.syncAllTables();
  const m = meter.stop();
  const rows = manager.db.prepare(`SELECT COUNT(*) AS n FROM produtos`).get().n;
  const backlog = manager.store.counts().backlog;
  await manager.close();
  done({
    ...m,
    status: res.summary.status,
    pulled: res.summary.pulled,
    rows,
    backlog,
    phases: timing.phases,
    syncedAtMs: timing.syncedAtMs(),
  });
}

async function catchUp() {
  const { SyncManager } = await importProject('dist/client/index.js');
  const manager = new SyncManager(config.dbPath, managerOptions());
  await manager.prepare();
  const w0 = performance.now();
  const sales = [];
  const { sellLocally } = await importProject('dist/testing/pos-sale.js');
  for (let i = 0; i < config.sales; i++) sales.push(sellLocally(manager.db, i));
  const writeSeconds = (performance.now() - w0) / 1000;
  const backlogBefore = manager.store.counts().backlog;
  const meter = await armed({ writeSeconds, backlogBefore });
  const timing = timePhases(manager, meter.t0);
  const res = await manager.syncAllTables();
  const m = meter.stop();
  const backlog = manager.store.counts().backlog;
  await manager.close();
  done({
    ...m,
    writeSeconds,
    backlogBefore,
    status: res.summary.status,
    pushed: res.summary.pushed,
    rejected: res.summary.rejected,
    lastError: manager.state.lastError,
    backlog,
    salesTotal: sales.reduce((s, x) => s + x.total, 0),
    phases: timing.phases,
    syncedAtMs: timing.syncedAtMs(),
  });
}

async function pouch() {
  const require = createRequire(import.meta.url);
  const PouchDB = require('pouchdb');
  if (config.adapter === 'memory') PouchDB.plugin(require('pouchdb-adapter-memory'));
  const local = new PouchDB(
    config.adapter === 'memory' ? `local-${process.pid}` : join(config.dir, 'local'),
    config.adapter === 'memory' ? { adapter: 'memory' } : {},
  );
  const remote = new PouchDB(config.remote);
  const meter = await armed({ adapter: local.adapter });
  const result = await PouchDB.replicate(remote, local, config.replicateOptions ?? {});
  const m = meter.stop();
  const info = await local.info();
  await local.close();
  done({ ...m, docsWritten: result.docs_written, docCount: info.doc_count, ok: result.ok });
}

const modes = { 'first-sync': firstSync, 'catch-up': catchUp, pouch };
await modes[config.mode]();
process.exit(0);
