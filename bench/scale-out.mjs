// Scale-out on PostgreSQL: 1, 2 and 4 pdv-sync server processes on one database, 20 terminals
// in 4 stores pushing sales (5 mutations each) in batches, spread over the processes round-robin
// (as a balancer without sticky sessions would). Reports sales/s, batch latency, server CPU and
// the time batches spend waiting for a database lock: pg_stat_activity is sampled every
// `--sample-ms` for this schema's server connections (application_name
// `pdv-sync-server:<schema>`) whose wait_event_type is Lock; each sample counts as that long
// waited. The commit order comes from transaction ids, so this must stay ~0 at any process count.
//
//   npm run build && node bench/scale-out.mjs            # ~3 min
// Options: --processes 1,2,4  --runs 3  --sales 200 (per terminal)  --batch 50 (sales per push)
//          --sample-ms 5
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  createDevice,
  fmt,
  freshDatabase,
  log,
  machineLine,
  makeSale,
  median,
  performance,
  postgresUrl,
  printTable,
  request,
  saleRows,
  cpuSecondsOf,
  startPdvServer,
  terminalAgent,
  terminals,
  uuidv7,
} from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    processes: { type: 'string', default: '1,2,4' },
    runs: { type: 'string', default: '3' },
    sales: { type: 'string', default: '200' },
    batch: { type: 'string', default: '50' },
    'sample-ms': { type: 'string', default: '5' },
  },
});
const counts = args.processes.split(',').map(Number);
const runs = Number(args.runs);
const salesPerTerminal = Number(args.sales);
const batchSales = Number(args.batch);
const sampleMs = Number(args['sample-ms']);
const terms = terminals();

function bodiesFor(terminal) {
  const out = [];
  for (let start = 0; start < salesPerTerminal; start += batchSales) {
    const mutations = [];
    const updatedAt = new Date().toISOString();
    for (let n = start; n < Math.min(salesPerTerminal, start + batchSales); n++)
      for (const [table, record] of saleRows(makeSale(terminal, n)))
        mutations.push({ eventId: uuidv7(), table, op: 'upsert', record, updatedAt });
    out.push({
      body: JSON.stringify({ machineId: terminal.machineId, mutations }),
      count: mutations.length,
    });
  }
  return out;
}

/** Samples lock waits of the schema's server connections until stopped. */
function lockSampler(schema) {
  const client = new pg.Client({ connectionString: postgresUrl });
  let waitingSamples = 0;
  let samples = 0;
  let running = true;
  const done = (async () => {
    await client.connect();
    const name = `pdv-sync-server:${schema}`.slice(0, 63);
    while (running) {
      const { rows } = await client.query(
        `SELECT count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS waiting
           FROM pg_stat_activity WHERE application_name = $1`,
        [name],
      );
      waitingSamples += rows[0].waiting;
      samples++;
      await new Promise((r) => setTimeout(r, sampleMs));
    }
    await client.end();
  })();
  return {
    async stop() {
      running = false;
      await done;
      return { lockWaitMs: waitingSamples * sampleMs, samples };
    },
  };
}

async function once(processCount) {
  const db = await freshDatabase('postgres', `scale${processCount}`);
  const servers = [];
  try {
    // One after another: the first creates the tables, the others find them.
    for (let i = 0; i < processCount; i++) servers.push(await startPdvServer(db));
    for (const t of terms) t.token = await createDevice(servers[0].url, t.storeId, t.machineId);
    const agents = terms.map(() => terminalAgent());
    const bodies = terms.map(bodiesFor);
    const latencies = [];
    const push = async (t, i, { body, count }) => {
      const url = servers[i % servers.length].url;
      const t0 = performance.now();
      const res = await request(agents[i], 'POST', `${url}/api/sync/push`, {
        headers: { 'x-api-key': t.token, 'content-type': 'application/json' },
        body,
      });
      latencies.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`push ${res.status}: ${res.text.slice(0, 300)}`);
      const applied = JSON.parse(res.text).summary.applied;
      if (applied !== count) throw new Error(`applied ${applied} of ${count}`);
    };
    // Warm-up: one small batch per terminal (token caches, prepared plans).
    await Promise.all(terms.map((t, i) => push(t, i, bodiesFor({ ...t }).slice(0, 1)[0])));
    latencies.length = 0;
    const cpu0 = servers.map((s) => cpuSecondsOf(s.pid));
    const sampler = lockSampler(db.pgSchema);
    const t0 = performance.now();
    await Promise.all(
      terms.map(async (t, i) => {
        for (const b of bodies[i]) await push(t, i, b);
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const { lockWaitMs, samples } = await sampler.stop();
    const serverCpu = servers.reduce((sum, s, k) => sum + cpuSecondsOf(s.pid) - cpu0[k], 0);
    const sales = salesPerTerminal * terms.length;
    const batches = latencies.length;
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      salesPerSecond: sales / seconds,
      p50: sorted[Math.floor(batches * 0.5)],
      p99: sorted[Math.min(batches - 1, Math.floor(batches * 0.99))],
      cpuPer1k: (serverCpu / sales) * 1000 * 1000,
      lockWaitPerBatch: lockWaitMs / batches,
      samples,
    };
  } finally {
    for (const s of servers.reverse()) await s.stop();
    await db.drop();
  }
}

log(machineLine());
const results = new Map(counts.map((n) => [n, []]));
for (let r = 0; r < runs; r++) {
  // Rotate the order each round, so load drifting over the run does not favour one count.
  const order = counts.map((_, i) => counts[(i + r) % counts.length]);
  for (const n of order) {
    const res = await once(n);
    log(
      `round ${r + 1}, ${n} process(es): ${fmt(res.salesPerSecond)} sales/s, lock wait ${fmt(res.lockWaitPerBatch, 2)} ms per batch (${res.samples} samples)`,
    );
    results.get(n).push(res);
  }
}
const base = median(results.get(counts[0]).map((r) => r.salesPerSecond));
printTable(
  `Scale-out on PostgreSQL, ${terms.length} terminals, batches of ${batchSales} sales, median of ${runs} (${machineLine()})`,
  [
    'server processes',
    'sales/s',
    `vs ${counts[0]}`,
    'batch p50 ms',
    'batch p99 ms',
    'server CPU ms per 1k sales',
    'lock wait ms per batch',
  ],
  counts.map((n) => {
    const rs = results.get(n);
    const m = (k) => median(rs.map((r) => r[k]));
    return [
      String(n),
      fmt(m('salesPerSecond')),
      `${fmt(m('salesPerSecond') / base, 2)}×`,
      fmt(m('p50')),
      fmt(m('p99')),
      fmt(m('cpuPer1k')),
      fmt(m('lockWaitPerBatch'), 2),
    ];
  }),
);
