// 5,000-row pushes into mutable tables, new rows then the same rows changed, on both engines
// in the same run (issue 10's figure): `pedidos` (store-scoped, last-write-wins) and `produtos`
// (global, server-wins), each pushed by one device as one POST /api/sync/push of 5,000
// mutations to a real server process, on a fresh database per run. Also reports server CPU.
//
//   npm run build && node bench/push-rows.mjs --dialects sqlite,postgres --runs 3 --rows 5000
import { parseArgs } from 'node:util';
import {
  createDevice,
  fmt,
  freshDatabase,
  log,
  median,
  performance,
  printTable,
  request,
  startMeter,
  startPdvServer,
  terminalAgent,
  uuidv7,
} from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    dialects: { type: 'string', default: 'sqlite,postgres' },
    runs: { type: 'string', default: '3' },
    rows: { type: 'string', default: '5000' },
  },
});
const dialects = args.dialects.split(',');
const runs = Number(args.runs);
const rows = Number(args.rows);
const cases = ['pedidos new', 'pedidos changed', 'produtos new', 'produtos changed'];

function mutations(table, ids, round) {
  // Later than the server's own write time of round 0, so changes apply (not stale).
  const at = new Date(Date.now() + round * 1000).toISOString();
  return ids.map((id, i) => ({
    eventId: uuidv7(),
    table,
    op: 'upsert',
    updatedAt: at,
    record:
      table === 'pedidos'
        ? {
            id,
            numero: i,
            cliente: `cliente ${i}`,
            status: round ? 'pronto' : 'aberto',
            total: 10 + i,
          }
        : { id, nome: `produto ${i}`, preco: 1 + i / 100 + round, ativo: true },
  }));
}

async function once(dialect, agent) {
  const db = await freshDatabase(dialect, 'push-rows');
  const server = await startPdvServer(db, { PDV_SYNC_MAX_BATCH: String(rows) });
  const out = {};
  try {
    const token = await createDevice(server.url, 'S1', 'bench-rows');
    for (const table of ['pedidos', 'produtos']) {
      const ids = Array.from({ length: rows }, () => uuidv7());
      for (const round of [0, 1]) {
        const body = JSON.stringify({
          machineId: 'bench-rows',
          mutations: mutations(table, ids, round),
        });
        const meter = startMeter(server.pid);
        const t0 = performance.now();
        const res = await request(agent, 'POST', `${server.url}/api/sync/push`, {
          headers: { 'x-api-key': token, 'content-type': 'application/json' },
          body,
        });
        const seconds = (performance.now() - t0) / 1000;
        const { serverCpu } = meter.stop();
        if (res.status !== 200) throw new Error(`${res.status} ${res.text.slice(0, 300)}`);
        const applied = JSON.parse(res.text).summary.applied;
        if (applied !== rows)
          throw new Error(`${table} round ${round}: ${applied} of ${rows} applied`);
        out[`${table} ${round ? 'changed' : 'new'}`] = {
          rate: rows / seconds,
          cpuMs: serverCpu * 1000,
        };
      }
    }
  } finally {
    await server.stop();
    await db.drop();
  }
  return out;
}

const agent = terminalAgent();
const results = Object.fromEntries(dialects.map((d) => [d, []]));
for (let r = 0; r < runs; r++)
  for (const d of dialects) {
    const got = await once(d, agent);
    results[d].push(got);
    log(
      `run ${r + 1}/${runs} ${d}: ${cases.map((c) => `${c} ${fmt(got[c].rate)} rows/s`).join(', ')}`,
    );
  }
const med = (d, c, k) => median(results[d].map((x) => x[c][k]));
printTable(
  `5,000-row pushes, rows/s (median of ${runs}) and server CPU ms per push`,
  [
    'case',
    ...dialects.flatMap((d) => [`${d} rows/s`, `${d} CPU ms`]),
    ...(dialects.length === 2 ? ['pg / sqlite'] : []),
  ],
  cases.map((c) => [
    c,
    ...dialects.flatMap((d) => [fmt(med(d, c, 'rate')), fmt(med(d, c, 'cpuMs'))]),
    ...(dialects.length === 2
      ? [`${fmt(med(dialects[1], c, 'rate') / med(dialects[0], c, 'rate'), 2)}×`]
      : []),
  ]),
);
agent.destroy();
