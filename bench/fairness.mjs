// Fair sharing between stores (issue 9, finding 5): one abusive client of store A runs each
// attack while a till of store B, in a loop, pushes one sale and pulls its changes. Reports
// that till's request latency p50/p99 per attack, beside a no-attack baseline in the same run.
//
//   npm run build && node bench/fairness.mjs --dialect sqlite|postgres
// Options: --seconds 6 (per attack) --pedidos 10000 --loops 60 (reads, flood) --only baseline,pedidos,reads,flood,ingest,slots,slowbody
import { connect } from 'node:net';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import {
  adminToken,
  createDevice,
  fmt,
  freshDatabase,
  importProject,
  log,
  machineLine,
  printTable,
  request,
  startPdvServer,
  terminalAgent,
  uuidv7,
} from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    seconds: { type: 'string', default: '6' },
    pedidos: { type: 'string', default: '10000' },
    loops: { type: 'string', default: '60' },
    only: { type: 'string', default: 'baseline,pedidos,reads,flood,ingest,slots,slowbody' },
  },
});
const seconds = Number(args.seconds);
const only = new Set(args.only.split(','));

const pct = (values, p) => {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const db = await freshDatabase(args.dialect, 'fairness');
const server = await startPdvServer(db, {
  PDV_SYNC_WS_MAX_CONNECTIONS: '100',
  ...JSON.parse(process.env.BENCH_FAIRNESS_ENV ?? '{}'),
});
const url = server.url;
log(`server ${url} (${args.dialect})`);

// Store A: 10,000 pedidos (the abuser's store); store B: the victim till.
const abuser = await createDevice(url, 'store-a', 'a-abuser');
const victim = await createDevice(url, 'store-b', 'b-till');
const seedAgent = terminalAgent();
for (let i = 0; i < Number(args.pedidos); i += 5000) {
  const mutations = [];
  for (let n = i; n < Math.min(Number(args.pedidos), i + 5000); n++)
    mutations.push({
      eventId: uuidv7(),
      table: 'pedidos',
      op: 'upsert',
      record: {
        id: `pa-${n}`,
        store_id: 'store-a',
        numero: n,
        status: 'novo',
        cliente: `Cliente ${n}`,
        total: 42.5,
        observacao: 'x'.repeat(300),
      },
    });
  const res = await request(seedAgent, 'POST', `${url}/api/sync/push`, {
    headers: { 'x-api-key': adminToken, 'content-type': 'application/json' },
    body: JSON.stringify({ machineId: 'back-office', mutations }),
  });
  if (res.status !== 200) throw new Error(`seed: ${res.status} ${res.text.slice(0, 200)}`);
}
seedAgent.destroy();
log(`seeded ${args.pedidos} pedidos in store A`);

/**
 * The victim till, in a worker thread of its own: latencies are measured on an event loop
 * that the abuser's client side (parsing its 5 MB answers, building its 8.8 MB payloads)
 * does not block, so they show the server's delay alone.
 */
function till(stopAfterMs) {
  const worker = new Worker(new URL('./fairness-victim.mjs', import.meta.url), {
    workerData: { url, victim, stopAfterMs },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/** `--loops` (60) loops of `GET /api/orders?limit=N` from the abuser's token, each asking again at once. */
async function readLoops(limit) {
  let running = true;
  const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 60 });
  const loop = async () => {
    while (running) {
      const res = await request(agent, 'GET', `${url}/api/orders?limit=${limit}`, {
        headers: { 'x-api-key': abuser },
      }).catch(() => ({ status: 'error' }));
      abuserStatuses.set(res.status, (abuserStatuses.get(res.status) ?? 0) + 1);
    }
  };
  const loops = Array.from({ length: Number(args.loops) }, loop);
  return async () => {
    running = false;
    await Promise.all(loops);
    agent.destroy();
  };
}

const attacks = {
  baseline: async () => () => undefined,
  /** 200 get_pedidos frames at once, again every 500 ms, on one connection that reads. */
  pedidos: async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/pedidos?token=${abuser}`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.on('message', () => undefined);
    const flood = () => {
      for (let i = 0; i < 200; i++) ws.send('{"type":"get_pedidos"}');
    };
    flood();
    const timer = setInterval(flood, 500);
    return () => {
      clearInterval(timer);
      ws.terminate();
    };
  },
  /** 60 concurrent GET /api/orders?limit=10000, kept in flight. */
  reads: () => readLoops(10_000),
  /** 60 concurrent GET /api/orders?limit=10, kept in flight: cheap requests, many of them. */
  flood: () => readLoops(10),
  /** One agent payload of 30,000 sales, sent again as soon as it is answered. */
  ingest: async () => {
    const { agentPayload, agentVenda, windowAt } = await importProject(
      'dist/testing/ingest-payload.js',
    );
    const vendas = Array.from({ length: 30_000 }, (_, i) => agentVenda(i + 1));
    let running = true;
    let round = 0;
    const loop = async () => {
      while (running) {
        const payload = agentPayload({ vendas, window: windowAt(round++) });
        await request(undefined, 'POST', `${url}/api/ingest/v4`, {
          headers: { 'x-api-key': abuser, 'content-type': 'application/json' },
          body: JSON.stringify(payload),
        }).catch(() => undefined);
      }
    };
    const done = loop();
    return async () => {
      running = false;
      await done;
    };
  },
  /** One token opens 200 WebSocket connections (the server has 100 slots). */
  slots: async () => {
    const sockets = [];
    for (let i = 0; i < 200; i++) {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${abuser}`);
      ws.on('error', () => undefined);
      sockets.push(ws);
    }
    await sleep(500);
    // The victim's screen must still get a slot.
    const mine = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${victim}`);
    const got = await new Promise((resolve) => {
      mine.once('message', () => resolve(true));
      mine.once('close', () => resolve(false));
      mine.once('error', () => resolve(false));
    });
    slotResult = got ? 'victim connected' : 'victim refused';
    return () => {
      for (const ws of [...sockets, mine]) ws.terminate();
    };
  },
  /** 100 request bodies trickling in at 1 byte every 500 ms. */
  slowbody: async () => {
    const { port, hostname } = new URL(url);
    const sockets = [];
    for (let i = 0; i < 100; i++) {
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          `POST /api/sync/push HTTP/1.1\r\nHost: x\r\nx-api-key: ${abuser}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{`,
        );
      });
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      sockets.push(socket);
    }
    const timer = setInterval(() => {
      for (const s of sockets) if (!s.destroyed) s.write(' ');
    }, 500);
    return () => {
      clearInterval(timer);
      for (const s of sockets) s.destroy();
    };
  },
};

let slotResult = '';
/** What the abuser was answered, per attack (shows how often it was turned away). */
let abuserStatuses = new Map();
const rows = [];
for (const name of Object.keys(attacks)) {
  if (!only.has(name)) continue;
  log(`attack: ${name}`);
  abuserStatuses = new Map();
  const stop = await attacks[name]();
  await sleep(300);
  const { latencies, statuses } = await till(seconds * 1000);
  await stop();
  await sleep(1000);
  rows.push([
    name,
    String(latencies.length),
    fmt(pct(latencies, 50), 1),
    fmt(pct(latencies, 99), 1),
    fmt(Math.max(...latencies), 0),
    [...statuses].map(([s, c]) => `${s}×${c}`).join(' ') +
      (name === 'slots' ? ` (${slotResult})` : ''),
    [...abuserStatuses].map(([s, c]) => `${s}×${c}`).join(' '),
  ]);
}
await server.stop();
await db.drop();
printTable(
  `Victim till (store B) latency per request while store A attacks — ${args.dialect}, ${seconds} s each. ${machineLine()}`,
  ['attack', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'victim statuses', 'abuser answers'],
  rows,
);
