// Real-time fan-out (issue 4): commit-to-delivery latency of pdv-sync's WebSocket feed to
// 1,000 connected clients, beside a bare `ws` broadcast of a same-size message to the same
// number of clients in the same rounds; server memory per idle connection; reconnection of
// 100 terminals after a server restart.
//
//   npm run build && node bench/live-latency.mjs --dialect sqlite|postgres
// Options: --clients 1000 --stores 10 --rounds 50 --warmup 5 --runs 3
//          --reconnect-clients 100 --restarts 3 --reconnect auto|sdk|loop
//          --only latency,reconnect
//
// Processes: the pdv-sync server (`node dist/cli/main.js server`) and the bare ws server
// (this file with --role bare) each run in their own child process; this process holds
// every client socket and the writer, so t0 and the receive times are on one clock.
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { clearTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import WebSocket, { WebSocketServer } from 'ws';
import {
  adminToken,
  cliPath,
  cpuSecondsOf,
  createDevice,
  fmt,
  freshDatabase,
  log,
  machineLine,
  median,
  performance,
  printTable,
  projectDir,
  request,
  spawnUntil,
  terminalAgent,
} from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    role: { type: 'string', default: 'bench' },
    dialect: { type: 'string', default: 'sqlite' },
    clients: { type: 'string', default: '1000' },
    stores: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '5' },
    runs: { type: 'string', default: '3' },
    'reconnect-clients': { type: 'string', default: '100' },
    restarts: { type: 'string', default: '3' },
    reconnect: { type: 'string', default: 'auto' },
    only: { type: 'string', default: 'latency,reconnect' },
  },
});

// ---------------------------------------------------------------- role: bare ws server

/**
 * The baseline: a bare `ws` WebSocketServer. Clients say their store in the URL; a trigger
 * connection sends `{key, size, store}` and the server sends one message of exactly `size`
 * bytes to every client of that store (all clients when store is null), serialized once,
 * with the same readyState/bufferedAmount check pdv-sync's LiveConnection makes.
 */
async function runBareServer() {
  const maxBuffered = 1024 * 1024;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 * 1024 });
  const clients = new Set();
  wss.on('connection', (ws, req) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    ws.on('error', () => undefined);
    if (url.searchParams.get('role') === 'trigger') {
      ws.on('message', (raw) => {
        const { key, size, store } = JSON.parse(raw.toString('utf8'));
        const head = `{"type":"changes","key":${JSON.stringify(key)},"pad":"`;
        const data = `${head}${'x'.repeat(Math.max(0, size - head.length - 2))}"}`;
        for (const c of clients) {
          if (store !== null && c.store !== store) continue;
          if (c.ws.readyState !== WebSocket.OPEN || c.ws.bufferedAmount > maxBuffered) continue;
          c.ws.send(data);
        }
      });
      return;
    }
    const client = { ws, store: url.searchParams.get('store') };
    clients.add(client);
    ws.on('close', () => clients.delete(client));
    ws.send(JSON.stringify({ type: 'connection', status: 'connected' }));
  });
  await once(wss, 'listening');
  console.log(`bare listening on ws://127.0.0.1:${wss.address().port}`);
  process.on('SIGTERM', () => process.exit(0));
}

// ---------------------------------------------------------------- helpers

function percentile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function summary(samples) {
  const s = Float64Array.from(samples).sort();
  return {
    n: s.length,
    p50: percentile(s, 0.5),
    p95: percentile(s, 0.95),
    p99: percentile(s, 0.99),
    max: s.length ? s[s.length - 1] : NaN,
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

function cleanEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (k.startsWith('PDV_SYNC_') || k === 'DATABASE_URL') delete env[k];
  return env;
}

/**
 * Starts `pdv-sync server` on `port` (0: any) against `db`. With `inspect`, the node
 * inspector listens on a loopback port so the bench can force a GC before reading RSS.
 * `readyAt` is performance.now() when the listening line reached this process.
 */
async function startServer(db, port, { inspect = false } = {}) {
  const env = Object.assign(cleanEnv(), {
    PDV_SYNC_LANG: 'en',
    PDV_SYNC_DB: db.url,
    PDV_SYNC_ADMIN_TOKEN: adminToken,
    PDV_SYNC_PORT: String(port),
    PDV_SYNC_HOST: '127.0.0.1',
    PDV_SYNC_LOG_LEVEL: 'warn',
    PDV_SYNC_RATE_LIMIT: '1000000',
    PDV_SYNC_WS_MAX_CONNECTIONS: '100000',
    ...(db.pgSchema ? { PDV_SYNC_PG_SCHEMA: db.pgSchema } : {}),
  });
  // BENCH_SERVER_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=bench/.tmp/prof' profiles the server.
  const nodeOptions = (process.env['BENCH_SERVER_NODE_OPTIONS'] ?? '').split(' ').filter(Boolean);
  const proc = spawnUntil(
    process.execPath,
    [
      ...nodeOptions,
      ...(inspect ? ['--inspect=127.0.0.1:0'] : []),
      cliPath,
      'server',
      '--log-file',
      '',
    ],
    { env, cwd: projectDir, ready: /listening on (http:\/\/[^\s]+)/ },
  );
  const m = await proc.started;
  const readyAt = performance.now();
  const inspector = inspect ? /Debugger listening on (ws:\/\/\S+)/.exec(proc.stderr())?.[1] : null;
  return {
    url: m[1],
    port: Number(new URL(m[1]).port),
    pid: proc.child.pid,
    readyAt,
    inspector,
    stop: proc.stop,
  };
}

async function startBareServer() {
  // BENCH_SERVER_NODE_OPTIONS applies to the baseline too, so both can be profiled alike.
  const nodeOptions = (process.env['BENCH_SERVER_NODE_OPTIONS'] ?? '').split(' ').filter(Boolean);
  const proc = spawnUntil(
    process.execPath,
    [
      ...nodeOptions,
      '--inspect=127.0.0.1:0',
      join(import.meta.dirname, 'live-latency.mjs'),
      '--role',
      'bare',
    ],
    { env: cleanEnv(), cwd: projectDir, ready: /bare listening on (ws:\/\/[^\s]+)/ },
  );
  const m = await proc.started;
  return {
    url: m[1],
    pid: proc.child.pid,
    inspector: /Debugger listening on (ws:\/\/\S+)/.exec(proc.stderr())?.[1] ?? null,
    stop: proc.stop,
  };
}

/** Forces two full GCs in the process behind `inspectorUrl`; returns its process.memoryUsage(). */
async function collectGarbage(inspectorUrl) {
  const ws = new WebSocket(inspectorUrl);
  await once(ws, 'open');
  let id = 0;
  const pending = new Map();
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString('utf8'));
    pending.get(m.id)?.(m);
  });
  const call = (method, params = {}) =>
    new Promise((resolve) => {
      const i = ++id;
      pending.set(i, resolve);
      ws.send(JSON.stringify({ id: i, method, params }));
    });
  await call('HeapProfiler.collectGarbage');
  await call('HeapProfiler.collectGarbage');
  const r = await call('Runtime.evaluate', {
    expression: 'JSON.stringify(process.memoryUsage())',
    returnByValue: true,
  });
  ws.close();
  await once(ws, 'close');
  return JSON.parse(r.result.result.value);
}

function vmRssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]);
}

/** RSS (KiB) of a server after a forced GC and a short settle; median of three reads. */
async function settledMemory(server) {
  const usage = await collectGarbage(server.inspector);
  const reads = [];
  for (let i = 0; i < 3; i++) {
    await sleep(300);
    reads.push(vmRssKiB(server.pid));
  }
  return {
    rssKiB: median(reads),
    heapUsedKiB: usage.heapUsed / 1024,
    externalKiB: usage.external / 1024,
  };
}

function load1() {
  return os.loadavg()[0];
}

// ---------------------------------------------------------------- latency clients

/**
 * The bench's clients: each holds one socket, parses every message (as any client must)
 * and stamps its arrival. Deliveries are matched to the round's key and counted per client
 * so duplicates and deliveries to clients that should not hear a change are caught.
 */
class Fleet {
  constructor(name, keyOf) {
    this.name = name;
    this.keyOf = keyOf;
    this.sockets = [];
    this.stores = [];
    this.counts = new Map(); // key → Uint16Array per client
    this.unexpected = 0; // messages whose key no round announced
    this.round = null;
  }

  async connect(urls, stores, concurrency = 25) {
    this.stores = stores;
    this.sockets = await pool(urls, concurrency, (url, i) => this.open(url, i));
  }

  open(url, i) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      let greeted = false;
      ws.on('message', (raw) => {
        const t = performance.now();
        const msg = JSON.parse(raw.toString('utf8'));
        if (msg.type === 'connection') {
          greeted = true;
          return resolve(ws);
        }
        for (const key of this.keyOf(msg)) this.delivered(i, key, t, raw.length);
      });
      ws.on('error', (err) => (greeted ? undefined : reject(err)));
      ws.on('close', (code) => (greeted ? undefined : reject(new Error(`closed ${code}`))));
    });
  }

  delivered(i, key, t, bytes) {
    const counts = this.counts.get(key);
    if (!counts) {
      this.unexpected++;
      return;
    }
    counts[i]++;
    const r = this.round;
    if (r && r.key === key && r.hears(i) && counts[i] === 1) {
      r.latencies.push(t - r.t0);
      r.bytes = bytes;
      if (++r.received === r.expected) r.done();
    }
  }

  /** Announces a round, runs `send` (which stamps t0) and waits for every expected delivery. */
  async measure(key, store, send, timeoutMs = 10_000) {
    const n = this.sockets.length;
    this.counts.set(key, new Uint16Array(n));
    const hears = store === null ? () => true : (i) => this.stores[i] === store;
    let expected = 0;
    for (let i = 0; i < n; i++) if (hears(i)) expected++;
    let done;
    const finished = new Promise((resolve) => (done = resolve));
    const round = {
      key,
      store,
      hears,
      expected,
      received: 0,
      latencies: [],
      t0: 0,
      bytes: 0,
      done,
    };
    this.round = round;
    const ack = await send(round);
    const timer = setTimeout(done, timeoutMs);
    await finished;
    clearTimeout(timer);
    this.round = null;
    return {
      latencies: round.latencies,
      missing: expected - round.received,
      ack,
      bytes: round.bytes,
    };
  }

  /** Every client heard each announced key exactly once if it should, never if it should not. */
  check(storeOfKey) {
    let wrong = 0;
    let duplicates = 0;
    let missing = 0;
    for (const [key, counts] of this.counts) {
      const store = storeOfKey.get(key);
      for (let i = 0; i < counts.length; i++) {
        const should = store === null || this.stores[i] === store;
        if (!should && counts[i] > 0) wrong += counts[i];
        if (should && counts[i] === 0) missing++;
        if (counts[i] > 1) duplicates += counts[i] - 1;
      }
    }
    return { wrong, duplicates, missing, unexpected: this.unexpected };
  }

  close() {
    for (const ws of this.sockets) ws.terminate();
  }
}

// ---------------------------------------------------------------- phase 1+2: latency, memory

async function latencyRun(run, dialect, opts) {
  const { clients, stores, rounds, warmup } = opts;
  const db = await freshDatabase(dialect, 'live');
  const server = await startServer(db, 0, { inspect: true });
  const bare = await startBareServer();
  const agent = terminalAgent();
  try {
    log(`run ${run}: ${server.url}, bare ${bare.url}; creating ${clients} device tokens`);
    const tills = Array.from({ length: clients }, (_, i) => ({
      storeId: `loja-${(i % stores) + 1}`,
      machineId: `pdv-${(i % stores) + 1}-${Math.floor(i / stores) + 1}`,
    }));
    const tokens = await pool(tills, 8, (t) => createDevice(server.url, t.storeId, t.machineId));
    const storeOf = tills.map((t) => t.storeId);

    await sleep(1000);
    const mem0 = { ours: await settledMemory(server), bare: await settledMemory(bare) };
    const load0 = load1();

    const ours = new Fleet('pdv-sync', (msg) =>
      msg.type === 'changes' ? msg.changes.map((c) => c.id) : [],
    );
    const base = new Fleet('bare ws', (msg) => (msg.type === 'changes' ? [msg.key] : []));
    const t0 = performance.now();
    const wsBase = server.url.replace(/^http/, 'ws');
    await ours.connect(
      tokens.map((token) => `${wsBase}/ws?token=${encodeURIComponent(token)}`),
      storeOf,
    );
    const connectSeconds = (performance.now() - t0) / 1000;
    await base.connect(
      storeOf.map((s) => `${bare.url}/?store=${encodeURIComponent(s)}`),
      storeOf,
    );
    log(
      `run ${run}: ${clients} + ${clients} clients connected (pdv-sync in ${fmt(connectSeconds, 1)} s)`,
    );
    await sleep(2000);
    const memN = { ours: await settledMemory(server), bare: await settledMemory(bare) };
    const perConn = (a, b, k) => (b[k] - a[k]) / clients;

    const trigger = new WebSocket(`${bare.url}/?role=trigger`);
    await once(trigger, 'open');

    // The writer: one admin PUT per round over a keep-alive connection; t0 just before it.
    const put = async (round, table, id, record) => {
      const body = JSON.stringify(record);
      round.t0 = performance.now();
      const res = await request(agent, 'PUT', `${server.url}/api/tables/${table}/${id}`, {
        headers: { 'x-api-key': adminToken, 'content-type': 'application/json' },
        body,
      });
      const ack = performance.now() - round.t0;
      if (res.status !== 200) throw new Error(`PUT ${table}/${id}: ${res.status} ${res.text}`);
      return ack;
    };
    const fire = (round, size) => {
      round.t0 = performance.now();
      trigger.send(JSON.stringify({ key: round.key, size, store: round.store }));
      return null;
    };

    const storeOfKey = new Map();
    const samples = {
      oursGlobal: [],
      bareGlobal: [],
      oursStore: [],
      bareStore: [],
      ackGlobal: [],
      ackStore: [],
    };
    // Each round's own p99: its median over rounds is the tail of a typical round, which a few
    // rounds hit by other work on the machine do not move (the pooled p99 is those rounds).
    const roundP99 = { oursGlobal: [], bareGlobal: [], oursStore: [], bareStore: [] };
    // The bare message is as long as pdv-sync's last message for the same kind of change.
    const sizes = { global: 200, store: 200 };
    let missing = 0;
    const settle = () => sleep(20);
    let timedCpu = null;
    const timedWindow = [0, 0];
    for (let r = -warmup; r < rounds; r++) {
      if (r === 0) {
        timedCpu = { ours: cpuSecondsOf(server.pid), bare: cpuSecondsOf(bare.pid) };
        // CLOCK_MONOTONIC in µs, the clock of a --cpu-prof profile's timestamps.
        timedWindow[0] = Number(process.hrtime.bigint() / 1000n);
      }
      const keep = r >= 0;
      const store = `loja-${((r + warmup) % stores) + 1}`;
      const steps = [
        async () => {
          const id = `prod-${run}-${r + warmup}`;
          storeOfKey.set(id, null);
          const m = await ours.measure(id, null, (round) =>
            put(round, 'produtos', id, { id, nome: `Produto ${r}`, preco: 9.9 }),
          );
          missing += m.missing;
          sizes.global = m.bytes || sizes.global;
          if (keep) {
            samples.oursGlobal.push(...m.latencies);
            roundP99.oursGlobal.push(summary(m.latencies).p99);
            samples.ackGlobal.push(m.ack);
          }
        },
        async () => {
          const key = `bare-g-${run}-${r + warmup}`;
          const m = await base.measure(key, null, (round) => fire(round, sizes.global));
          missing += m.missing;
          if (keep) {
            samples.bareGlobal.push(...m.latencies);
            roundP99.bareGlobal.push(summary(m.latencies).p99);
          }
        },
        async () => {
          const id = `ped-${run}-${r + warmup}`;
          storeOfKey.set(id, store);
          const m = await ours.measure(id, store, (round) =>
            put(round, 'pedidos', id, {
              id,
              store_id: store,
              status: 'novo',
              numero: r + warmup + 1,
            }),
          );
          missing += m.missing;
          sizes.store = m.bytes || sizes.store;
          if (keep) {
            samples.oursStore.push(...m.latencies);
            roundP99.oursStore.push(summary(m.latencies).p99);
            samples.ackStore.push(m.ack);
          }
        },
        async () => {
          const key = `bare-s-${run}-${r + warmup}`;
          const m = await base.measure(key, store, (round) => fire(round, sizes.store));
          missing += m.missing;
          if (keep) {
            samples.bareStore.push(...m.latencies);
            roundP99.bareStore.push(summary(m.latencies).p99);
          }
        },
      ];
      // Alternate who goes first, so neither always runs right after the other's burst.
      const order = r % 2 === 0 ? [0, 1, 2, 3] : [1, 0, 3, 2];
      for (const i of order) {
        await steps[i]();
        await settle();
      }
    }
    const cpu1 = { ours: cpuSecondsOf(server.pid), bare: cpuSecondsOf(bare.pid) };
    timedWindow[1] = Number(process.hrtime.bigint() / 1000n);
    log(
      `run ${run}: timed rounds from ${timedWindow[0]} to ${timedWindow[1]} µs (CLOCK_MONOTONIC)`,
    );
    await sleep(500);
    const stats = JSON.parse(
      (
        await request(agent, 'GET', `${server.url}/ws/stats`, {
          headers: { 'x-api-key': adminToken },
        })
      ).text,
    );
    const bareKeys = new Map();
    for (const k of base.counts.keys())
      bareKeys.set(
        k,
        k.startsWith('bare-s-') ? `loja-${(Number(k.split('-').at(-1)) % stores) + 1}` : null,
      );
    const checkOurs = ours.check(storeOfKey);
    const checkBare = base.check(bareKeys);
    const load = load1();
    trigger.close();
    ours.close();
    base.close();
    return {
      run,
      load: [load0, load],
      connectSeconds,
      sizes: { ...sizes },
      oursGlobal: { ...summary(samples.oursGlobal), roundP99: median(roundP99.oursGlobal) },
      bareGlobal: { ...summary(samples.bareGlobal), roundP99: median(roundP99.bareGlobal) },
      oursStore: { ...summary(samples.oursStore), roundP99: median(roundP99.oursStore) },
      bareStore: { ...summary(samples.bareStore), roundP99: median(roundP99.bareStore) },
      ackGlobal: summary(samples.ackGlobal),
      ackStore: summary(samples.ackStore),
      missing,
      checkOurs,
      checkBare,
      stats,
      serverCpuMsPerRound: {
        ours: ((cpu1.ours - timedCpu.ours) * 1000) / rounds,
        bare: ((cpu1.bare - timedCpu.bare) * 1000) / rounds,
      },
      memory: {
        oursKiBPerConn: perConn(mem0.ours, memN.ours, 'rssKiB'),
        oursHeapKiBPerConn: perConn(mem0.ours, memN.ours, 'heapUsedKiB'),
        bareKiBPerConn: perConn(mem0.bare, memN.bare, 'rssKiB'),
        bareHeapKiBPerConn: perConn(mem0.bare, memN.bare, 'heapUsedKiB'),
        oursRss0MiB: mem0.ours.rssKiB / 1024,
        oursRssNMiB: memN.ours.rssKiB / 1024,
        bareRss0MiB: mem0.bare.rssKiB / 1024,
        bareRssNMiB: memN.bare.rssKiB / 1024,
      },
      tokens,
      storeOf,
      db,
      server,
    };
  } catch (err) {
    await server.stop();
    await db.drop();
    throw err;
  } finally {
    agent.destroy();
    await bare.stop();
  }
}

// ---------------------------------------------------------------- phase 3: reconnection

/** The SDK's LiveLink if the measured build has it, else null. */
async function sdkLiveLink() {
  const file = join(projectDir, 'dist', 'client', 'live-link.js');
  if (!existsSync(file)) return null;
  return (await import(pathToFileURL(file).href)).LiveLink;
}

/**
 * A hand-written reconnect loop with the SDK's policy: after a close, wait a random time in
 * [0, min(3000, 250·2^attempt)) ("full jitter"), attempt counting failures since the last
 * `connection` message.
 */
function loopClient(url, token, onConnected) {
  let attempt = 0;
  let stopped = false;
  let ws = null;
  const connect = () => {
    if (stopped) return;
    ws = new WebSocket(url, { headers: { 'x-api-key': token }, perMessageDeflate: false });
    ws.on('message', (raw) => {
      const t = performance.now();
      if (JSON.parse(raw.toString('utf8')).type === 'connection') {
        attempt = 0;
        onConnected(t);
      }
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (stopped) return;
      const ceiling = Math.min(3000, 250 * 2 ** Math.min(attempt, 16));
      attempt++;
      setTimeout(connect, Math.random() * ceiling);
    });
  };
  connect();
  return {
    async stop() {
      stopped = true;
      ws?.terminate();
    },
  };
}

async function reconnectRun(run, latency, opts, LiveLink) {
  const { reconnectClients, restarts } = opts;
  const { db, tokens } = latency;
  let server = latency.server;
  const port = server.port;
  let connectedAt = new Array(reconnectClients).fill(null);
  // Connections made before the old server process has exited went to that process while it
  // was shutting down; they are counted apart, and the clock waits for the new process.
  let armedAt = -Infinity;
  let toDying = 0;
  const onConnected = (i) => (t) => {
    if (t < armedAt) return void toDying++;
    if (connectedAt[i] === null) connectedAt[i] = t;
  };
  const links = [];
  for (let i = 0; i < reconnectClients; i++) {
    if (LiveLink) {
      const link = new LiveLink({
        serverUrl: server.url,
        token: tokens[i],
        heartbeatMs: 30_000,
        reconnectBaseMs: 250,
        reconnectMaxMs: 3000,
      });
      link.on('connected', () => onConnected(i)(performance.now()));
      link.on('error', () => undefined);
      link.start();
      links.push(link);
    } else
      links.push(loopClient(`${server.url.replace(/^http/, 'ws')}/ws`, tokens[i], onConnected(i)));
  }
  const waitAll = async (timeoutMs) => {
    const until = performance.now() + timeoutMs;
    while (connectedAt.some((t) => t === null) && performance.now() < until) await sleep(10);
  };
  await waitAll(30_000);
  if (connectedAt.some((t) => t === null)) throw new Error('reconnect clients did not connect');
  const results = [];
  try {
    for (let k = 0; k < restarts; k++) {
      await sleep(1000);
      connectedAt = new Array(reconnectClients).fill(null);
      armedAt = Infinity;
      toDying = 0;
      const load0 = load1();
      const killAt = performance.now();
      await server.stop();
      const exitedAt = performance.now();
      armedAt = exitedAt;
      server = await startServer(db, port);
      const readyAt = server.readyAt;
      await waitAll(20_000);
      const samples = connectedAt.filter((t) => t !== null).map((t) => t - readyAt);
      results.push({
        ...summary(samples),
        missing: connectedAt.filter((t) => t === null).length,
        early: samples.filter((x) => x < 0).length,
        toDying,
        stopMs: exitedAt - killAt,
        downMs: readyAt - killAt,
        load: [load0, load1()],
      });
      log(
        `run ${run} restart ${k + 1}: down ${fmt(readyAt - killAt)} ms; ready→connected p50 ${fmt(results.at(-1).p50)} p99 ${fmt(results.at(-1).p99)} max ${fmt(results.at(-1).max)} ms`,
      );
    }
  } finally {
    for (const l of links) await l.stop();
    latency.server = server;
  }
  return results;
}

// ---------------------------------------------------------------- main

async function main() {
  const dialect = args.dialect;
  if (dialect !== 'sqlite' && dialect !== 'postgres') throw new Error('--dialect sqlite|postgres');
  const opts = {
    clients: Number(args.clients),
    stores: Number(args.stores),
    rounds: Number(args.rounds),
    warmup: Number(args.warmup),
    reconnectClients: Number(args['reconnect-clients']),
    restarts: Number(args.restarts),
  };
  const runs = Number(args.runs);
  const only = new Set(args.only.split(','));
  let LiveLink = null;
  if (only.has('reconnect') && args.reconnect !== 'loop') {
    LiveLink = await sdkLiveLink();
    if (!LiveLink && args.reconnect === 'sdk') throw new Error('no dist/client/live-link.js');
  }
  console.log(
    `live fan-out, ${dialect}: ${opts.clients} clients in ${opts.stores} stores, ${opts.rounds} rounds (+${opts.warmup} warm-up), ${runs} runs; reconnection: ${opts.reconnectClients} clients × ${opts.restarts} restarts per run, ${LiveLink ? "the SDK's LiveLink" : 'hand-written loop'}`,
  );
  console.log(`project ${projectDir}; ${machineLine()}`);

  const results = [];
  for (let run = 1; run <= runs; run++) {
    const latency = await latencyRun(run, dialect, opts);
    let reconnect = [];
    try {
      if (only.has('reconnect')) reconnect = await reconnectRun(run, latency, opts, LiveLink);
    } finally {
      await latency.server.stop();
      await latency.db.drop();
    }
    const kept = { ...latency, reconnect };
    for (const k of ['tokens', 'storeOf', 'db', 'server']) delete kept[k];
    results.push(kept);
    const g = latency;
    console.log(
      `run ${run}: global p50/p99 ours ${fmt(g.oursGlobal.p50, 1)}/${fmt(g.oursGlobal.p99, 1)} ms, bare ${fmt(g.bareGlobal.p50, 1)}/${fmt(g.bareGlobal.p99, 1)} ms; store ours ${fmt(g.oursStore.p50, 1)}/${fmt(g.oursStore.p99, 1)}, bare ${fmt(g.bareStore.p50, 1)}/${fmt(g.bareStore.p99, 1)}; write ack p50 ${fmt(g.ackGlobal.p50, 1)} ms; ${fmt(g.memory.oursKiBPerConn, 1)} KiB/conn (bare ${fmt(g.memory.bareKiBPerConn, 1)}); load ${g.load.map((x) => x.toFixed(2)).join('→')}; checks ${JSON.stringify(g.checkOurs)} missing ${g.missing}`,
    );
  }
  report(results, opts);
  process.exit();
}

function report(results, opts) {
  const med = (f) => median(results.map(f));
  const runsOf = (f, d = 1) => results.map((r) => fmt(f(r), d)).join(' / ');
  const row = (label, key) => [
    label,
    fmt(
      med((r) => r[key].p50),
      1,
    ),
    fmt(
      med((r) => r[key].p95),
      1,
    ),
    fmt(
      med((r) => r[key].p99),
      1,
    ),
    fmt(
      med((r) => r[key].max),
      1,
    ),
    runsOf((r) => r[key].p99),
    fmt(
      med((r) => r[key].roundP99),
      1,
    ),
    fmt(results[0][key].n),
  ];
  printTable(
    `Commit-to-delivery latency, ms (median over ${results.length} runs of each run's pooled per-client percentiles)`,
    [
      'system, change',
      'p50',
      'p95',
      'p99',
      'max',
      'runs (p99)',
      'typical round p99',
      'samples per run',
    ],
    [
      row(`pdv-sync, produtos (global) → all ${opts.clients}`, 'oursGlobal'),
      row(`bare ws, same size → all ${opts.clients}`, 'bareGlobal'),
      row(
        `pdv-sync, pedidos of one store → its ${Math.ceil(opts.clients / opts.stores)}`,
        'oursStore',
      ),
      row(`bare ws, same size → same ${Math.ceil(opts.clients / opts.stores)}`, 'bareStore'),
      row('pdv-sync write ack (PUT → 200), produtos', 'ackGlobal'),
      row('pdv-sync write ack (PUT → 200), pedidos', 'ackStore'),
    ],
  );
  const ratio = (a, b, q) => results.map((r) => r[a][q] / r[b][q]);
  const ratioRow = (label, a, b) => {
    const p99 = ratio(a, b, 'p99');
    return [
      label,
      `${fmt(median(p99), 2)}×`,
      `${fmt(med((r) => r[a].p99) / med((r) => r[b].p99), 2)}×`,
      p99.map((x) => fmt(x, 2)).join(' / '),
      `${fmt(median(ratio(a, b, 'roundP99')), 2)}×`,
      `${fmt(median(ratio(a, b, 'p50')), 2)}×`,
      median(p99) <= 1.5 ? 'yes' : 'no',
    ];
  };
  printTable(
    'Ratio p99(pdv-sync) / p99(bare ws), target ≤ 1.5×',
    [
      'change',
      'p99: median of per-run ratios',
      'of medians',
      'runs',
      'typical round p99',
      'p50',
      'met (pooled p99)',
    ],
    [
      ratioRow('produtos → all', 'oursGlobal', 'bareGlobal'),
      ratioRow('pedidos → one store', 'oursStore', 'bareStore'),
    ],
  );
  printTable(
    `Server memory per idle connection (RSS after forced GC, ${opts.clients} connections − 0)`,
    [
      'server',
      'KiB / connection (RSS)',
      'KiB / connection (JS heap)',
      'RSS 0 → N (MiB)',
      'runs (KiB RSS)',
    ],
    [
      [
        'pdv-sync',
        fmt(
          med((r) => r.memory.oursKiBPerConn),
          1,
        ),
        fmt(
          med((r) => r.memory.oursHeapKiBPerConn),
          1,
        ),
        `${fmt(
          med((r) => r.memory.oursRss0MiB),
          1,
        )} → ${fmt(
          med((r) => r.memory.oursRssNMiB),
          1,
        )}`,
        runsOf((r) => r.memory.oursKiBPerConn),
      ],
      [
        'bare ws',
        fmt(
          med((r) => r.memory.bareKiBPerConn),
          1,
        ),
        fmt(
          med((r) => r.memory.bareHeapKiBPerConn),
          1,
        ),
        `${fmt(
          med((r) => r.memory.bareRss0MiB),
          1,
        )} → ${fmt(
          med((r) => r.memory.bareRssNMiB),
          1,
        )}`,
        runsOf((r) => r.memory.bareKiBPerConn),
      ],
    ],
  );
  const restarts = results.flatMap((r) => r.reconnect);
  if (restarts.length) {
    const m = (f) => median(restarts.map(f));
    printTable(
      `Reconnection after a server restart: server ready → client's connection message, ms (median over ${restarts.length} restarts)`,
      [
        'clients',
        'p50',
        'p99',
        'max',
        'runs (max)',
        'server down (SIGTERM → ready)',
        'accepted by the stopping process',
        'not back',
        'met (≤ 3 s)',
      ],
      [
        [
          String(opts.reconnectClients),
          fmt(m((r) => r.p50)),
          fmt(m((r) => r.p99)),
          fmt(m((r) => r.max)),
          restarts.map((r) => fmt(r.max)).join(' / '),
          `${fmt(m((r) => r.downMs))} ms (stop ${fmt(m((r) => r.stopMs))} ms)`,
          restarts.map((r) => r.toDying).join(' / '),
          String(restarts.reduce((s, r) => s + r.missing, 0)),
          Math.max(...restarts.map((r) => r.max)) <= 3000 ? 'yes' : 'no',
        ],
      ],
    );
  }
  printTable(
    'Checks and context',
    [
      'run',
      'load (1 min) start → end',
      'connect all (s)',
      'msg bytes g/s',
      'server CPU ms/round ours / bare',
      'wrong store',
      'duplicates',
      'missing',
      'ws/stats sent / dropped',
    ],
    results.map((r) => [
      String(r.run),
      r.load.map((x) => x.toFixed(2)).join(' → '),
      fmt(r.connectSeconds, 1),
      `${r.sizes.global} / ${r.sizes.store}`,
      `${fmt(r.serverCpuMsPerRound.ours, 1)} / ${fmt(r.serverCpuMsPerRound.bare, 1)}`,
      `${r.checkOurs.wrong} (bare ${r.checkBare.wrong})`,
      `${r.checkOurs.duplicates} (bare ${r.checkBare.duplicates})`,
      `${r.checkOurs.missing + r.missing} (bare ${r.checkBare.missing})`,
      `${r.stats.messages_sent} / ${r.stats.messages_dropped}`,
    ]),
  );
  console.log(`\n${machineLine()}`);
  const bad = results.some(
    (r) =>
      r.checkOurs.wrong ||
      r.checkOurs.duplicates ||
      r.checkOurs.missing ||
      r.checkOurs.unexpected ||
      r.missing,
  );
  if (bad) {
    console.log('CORRECTNESS CHECK FAILED (see the table above)');
    process.exitCode = 1;
  }
}

if (args.role === 'bare') await runBareServer();
else await main();
