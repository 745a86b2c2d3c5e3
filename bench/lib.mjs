// Shared helpers for the hand-run benchmarks in bench/. Not part of the test suite.
import { spawn } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearInterval, clearTimeout, setInterval } from 'node:timers';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';

export { performance, uuidv7 };

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const rootDir = join(benchDir, '..');
/**
 * The built project to measure: this checkout, or BENCH_PROJECT (a copy built on its own,
 * e.g. `git archive HEAD`, so concurrent rebuilds of dist/ cannot change it mid-run).
 */
export const projectDir = process.env['BENCH_PROJECT']
  ? resolve(process.env['BENCH_PROJECT'])
  : rootDir;
export const cliPath = join(projectDir, 'dist', 'cli', 'main.js');
/** Imports a module of the measured build, e.g. `dist/server/index.js`. */
export const importProject = (path) => import(pathToFileURL(join(projectDir, path)).href);
export const postgresUrl =
  process.env['PDV_SYNC_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const adminToken = 'bench-admin-token-0123456789abcdef';

// ---------------------------------------------------------------- numbers and tables

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmt(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return n.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** Prints rows (arrays of cells) under a header as an aligned Markdown table. */
export function printTable(title, header, rows) {
  const all = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log(`\n${title}\n`);
  console.log(line(all[0]));
  console.log(
    `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
  );
  for (const r of all.slice(1)) console.log(line(r));
}

export function log(message) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------- scratch space

let scratchCounter = 0;
/** A fresh folder under bench/.tmp (git-ignored), removed by the returned function. */
export function scratchDir(name) {
  const dir = join(
    benchDir,
    '.tmp',
    `${name}-${process.pid}-${Date.now().toString(36)}-${++scratchCounter}`,
  );
  mkdirSync(dir, { recursive: true });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh schema in the machine's PostgreSQL, dropped by the returned function. */
export async function pgScratchSchema(prefix = 'bench') {
  const schema = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  return {
    schema,
    async drop() {
      const c = new pg.Client({ connectionString: postgresUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

/** A fresh database of the dialect: `{ url, pgSchema?, drop() }`. */
export async function freshDatabase(dialect, name) {
  if (dialect === 'sqlite') {
    const s = scratchDir(name);
    return {
      url: `sqlite:${join(s.dir, 'server.db')}`,
      file: join(s.dir, 'server.db'),
      drop: async () => s.remove(),
    };
  }
  const s = await pgScratchSchema(name.replace(/[^a-z0-9_]/g, '_'));
  return { url: postgresUrl, pgSchema: s.schema, drop: s.drop };
}

// ---------------------------------------------------------------- processes and memory

/** VmRSS and VmHWM (peak RSS) of a process, in MiB, from /proc. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return { rss: NaN, peak: NaN };
  }
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc/PID/stat.
 * Less sensitive than wall time to other work on the machine.
 */
export function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is stat field 3; utime and stime are fields 14 and 15, in USER_HZ (100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * Measures a timed window: peak RSS and CPU of the server process `pid`, and CPU of this
 * (client) process. With `pid` null the work runs in this process: its CPU is the server's.
 */
export function startMeter(pid) {
  const rss = pid ? peakRssTracker(pid) : null;
  const cpu0 = pid ? cpuSecondsOf(pid) : null;
  const own0 = ownCpuSeconds();
  return {
    stop() {
      const own = ownCpuSeconds() - own0;
      return {
        peakRss: rss ? rss.stop() : null,
        serverCpu: pid ? cpuSecondsOf(pid) - cpu0 : own,
        clientCpu: pid ? own : null,
      };
    },
  };
}

/** CPU seconds used by this process so far. */
export function ownCpuSeconds() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * Tracks the peak RSS of a process from now on: resets the kernel's high-water
 * mark (`clear_refs` 5) when allowed and also samples VmRSS every 20 ms.
 */
export function peakRssTracker(pid) {
  let sampled = 0;
  let resetOk = true;
  try {
    // Writing 5 resets VmHWM to the current RSS (Linux ≥ 4.0); needs the same user or root.
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    resetOk = false;
  }
  const timer = setInterval(() => {
    const { rss } = memoryOf(pid);
    if (rss > sampled) sampled = rss;
  }, 20);
  return {
    /** Peak RSS in MiB since the tracker started. */
    stop() {
      clearInterval(timer);
      const { rss, peak } = memoryOf(pid);
      const best = Math.max(sampled, Number.isNaN(rss) ? 0 : rss);
      return resetOk && !Number.isNaN(peak) ? Math.max(peak, best) : best;
    },
  };
}

/**
 * Spawns a process and resolves once a line of its stdout matches `ready`
 * (the match is returned). Its stderr is kept for error messages.
 */
export function spawnUntil(command, args, { env, cwd, ready, timeoutMs = 30_000 }) {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const started = new Promise((resolve, reject) => {
    if (!ready) {
      child.on('spawn', () => resolve(null));
      child.on('error', reject);
      return;
    }
    const timer = setTimeout(() => {
      reject(new Error(`${command} ${args.join(' ')} did not start in time:\n${out}\n${err}`));
    }, timeoutMs);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
      if (out.length > 100_000) out = out.slice(-10_000);
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
      if (err.length > 100_000) err = err.slice(-10_000);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before it was ready:\n${out}\n${err}`));
    });
  });
  return {
    child,
    started,
    /** SIGTERM, then SIGKILL after 15 s; resolves when it has exited. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
    stderr: () => err,
  };
}

/** Starts the real CLI (`pdv-sync server`) on port 0 against `db`; returns its URL, pid and stop(). */
export async function startPdvServer(db, extraEnv = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (k.startsWith('PDV_SYNC_') || k === 'DATABASE_URL') delete env[k];
  Object.assign(env, {
    PDV_SYNC_LANG: 'en',
    PDV_SYNC_ADMIN_TOKEN: adminToken,
    PDV_SYNC_LOG_LEVEL: 'warn',
    ...(db.pgSchema ? { PDV_SYNC_PG_SCHEMA: db.pgSchema } : {}),
    ...extraEnv,
  });
  // BENCH_SERVER_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=bench/.tmp/prof' profiles the server.
  const nodeOptions = (process.env['BENCH_SERVER_NODE_OPTIONS'] ?? '').split(' ').filter(Boolean);
  const proc = spawnUntil(
    process.execPath,
    [
      ...nodeOptions,
      cliPath,
      'server',
      '--db',
      db.url,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--log-file',
      '',
    ],
    { env, cwd: projectDir, ready: /listening on (http:\/\/[^\s]+)/ },
  );
  const m = await proc.started;
  return { url: m[1], pid: proc.child.pid, stop: proc.stop, stderr: proc.stderr };
}

// ---------------------------------------------------------------- HTTP over loopback

/** A free TCP port on loopback (for servers that cannot report the port they took). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls GET url until it answers 2xx. */
export async function waitForHttp(url, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await request(undefined, 'GET', url);
      if (res.status >= 200 && res.status < 300) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error(`${url} did not answer in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One keep-alive connection per simulated terminal, like a real till. */
export function terminalAgent() {
  return new http.Agent({ keepAlive: true, maxSockets: 1 });
}

/** A plain node:http request; resolves with status, headers and the (gunzipped) body text. */
export function request(agent, method, url, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(body);
    const allHeaders = payload ? { 'content-length': payload.length, ...headers } : headers;
    const req = http.request(url, { method, agent, headers: allHeaders }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const gz = res.headers['content-encoding'] === 'gzip';
        resolve({
          status: res.statusCode,
          headers: res.headers,
          wireBytes: raw.length,
          text: (gz ? gunzipSync(raw) : raw).toString('utf8'),
        });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export async function createDevice(serverUrl, storeId, machineId) {
  const res = await request(undefined, 'POST', `${serverUrl}/api/admin/devices`, {
    headers: { 'x-api-key': adminToken, 'content-type': 'application/json' },
    body: JSON.stringify({ storeId, machineId }),
  });
  if (res.status !== 201) throw new Error(`device creation failed (${res.status}): ${res.text}`);
  return JSON.parse(res.text).token;
}

// ---------------------------------------------------------------- the workload

export const storeCount = 4;
export const terminalCount = 20;

/** Terminal i of 20: 5 terminals in each of 4 stores. */
export function terminals() {
  return Array.from({ length: terminalCount }, (_, i) => ({
    index: i,
    storeId: `loja-${(i % storeCount) + 1}`,
    machineId: `pdv-${(i % storeCount) + 1}-${Math.floor(i / storeCount) + 1}`,
  }));
}

const meios = ['dinheiro', 'credito', 'debito', 'pix'];

/** One sale as its 5 rows: 1 vendas, 3 itens_venda, 1 pagamentos (UUIDv7 ids). */
export function makeSale(terminal, n) {
  const vendaId = uuidv7();
  const now = new Date().toISOString();
  const itens = [0, 1, 2].map((k) => {
    const qtd = 1 + ((n + k) % 3);
    const preco = 2.5 + ((n * 7 + k * 13) % 50);
    return {
      id: uuidv7(),
      store_id: terminal.storeId,
      venda_id: vendaId,
      id_produto: `prod-${(n * 3 + k) % 5000}`,
      nome: `Produto ${(n * 3 + k) % 5000}`,
      qtd,
      preco_unitario: preco,
      total: Math.round(qtd * preco * 100) / 100,
    };
  });
  const total = Math.round(itens.reduce((s, i) => s + i.total, 0) * 100) / 100;
  const venda = {
    id: vendaId,
    store_id: terminal.storeId,
    canal: 'balcao',
    id_operacao: n,
    id_turno: `turno-${terminal.machineId}-1`,
    data_hora: now,
    total,
    desconto: 0,
    cliente_id: null,
    operador: `operador-${terminal.index}`,
    status: 'concluida',
  };
  const pagamento = {
    id: uuidv7(),
    store_id: terminal.storeId,
    venda_id: vendaId,
    meio: meios[n % meios.length],
    valor: total,
    parcelas: 1,
  };
  return { venda, itens, pagamento };
}

export function saleRows(sale) {
  return [
    ['vendas', sale.venda],
    ...sale.itens.map((i) => ['itens_venda', i]),
    ['pagamentos', sale.pagamento],
  ];
}

/** Column lists of the three sale tables, as in config/pos-schema.json. */
export const saleTables = {
  vendas: {
    id: 'text',
    store_id: 'text',
    canal: 'text',
    id_operacao: 'integer',
    id_turno: 'text',
    data_hora: 'timestamp',
    total: 'number',
    desconto: 'number',
    cliente_id: 'text',
    operador: 'text',
    status: 'text',
  },
  itens_venda: {
    id: 'text',
    store_id: 'text',
    venda_id: 'text',
    id_produto: 'text',
    nome: 'text',
    qtd: 'number',
    preco_unitario: 'number',
    total: 'number',
  },
  pagamentos: {
    id: 'text',
    store_id: 'text',
    venda_id: 'text',
    meio: 'text',
    valor: 'number',
    parcelas: 'integer',
  },
};

const sqlTypes = {
  sqlite: { text: 'TEXT', integer: 'INTEGER', number: 'REAL', timestamp: 'TEXT' },
  postgres: {
    text: 'TEXT',
    integer: 'BIGINT',
    number: 'DOUBLE PRECISION',
    timestamp: 'TIMESTAMPTZ',
  },
};

/** The same tables and store index pdv-sync creates, without capture triggers or change log. */
export function saleTablesDdl(dialect) {
  const out = [];
  for (const [name, cols] of Object.entries(saleTables)) {
    const defs = Object.entries(cols).map(([c, t]) =>
      c === 'id' ? `id TEXT PRIMARY KEY NOT NULL` : `${c} ${sqlTypes[dialect][t]}`,
    );
    out.push(`CREATE TABLE IF NOT EXISTS ${name} (${defs.join(', ')})`);
    out.push(`CREATE INDEX IF NOT EXISTS ${name}_store ON ${name} (store_id)`);
  }
  return out;
}

/** Measures an async function's wall time in seconds. */
export async function timed(fn) {
  const t0 = performance.now();
  const result = await fn();
  return { seconds: (performance.now() - t0) / 1000, result };
}

/** One line about the machine, printed with the results: noise from other work shows in the load. */
export function machineLine() {
  const [l1, l5] = os.loadavg();
  return `node ${process.version}, ${os.cpus().length} cores, load average ${l1.toFixed(2)} (1 min) / ${l5.toFixed(2)} (5 min)`;
}

// ---------------------------------------------------------------- catalog (pull, first sync)

/** Produto n of the catalog: the same 10 columns pull.mjs and the client benchmarks use. */
export function produto(n) {
  return {
    id: uuidv7(),
    nome: `Produto ${n} — ${['Arroz 5kg', 'Feijão 1kg', 'Café 500g', 'Leite 1L', 'Pão francês'][n % 5]}`,
    preco: Math.round((1 + (n % 997) * 0.37) * 100) / 100,
    categoria_id: `cat-${n % 40}`,
    codigo_barras: String(7890000000000 + n),
    unidade: n % 3 ? 'UN' : 'KG',
    ativo: n % 17 !== 0,
    descricao: `Descrição do produto ${n}`,
    preco_custo: Math.round((0.5 + (n % 997) * 0.21) * 100) / 100,
    updated_at: new Date(Date.UTC(2025, 0, 1) + n * 1000).toISOString(),
  };
}

/**
 * Seeds `total` produtos into a pdv-sync server with admin pushes of `batch` mutations.
 * Returns the records (for baselines that need the same data) and the seconds it took.
 */
export async function seedProdutos(url, total, batch = 5000) {
  const agent = terminalAgent();
  const records = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i += batch) {
    const mutations = [];
    for (let n = i; n < Math.min(total, i + batch); n++) {
      const record = produto(n);
      records.push(record);
      mutations.push({ eventId: uuidv7(), table: 'produtos', op: 'upsert', record });
    }
    const res = await request(agent, 'POST', `${url}/api/sync/push`, {
      headers: { 'x-api-key': adminToken, 'content-type': 'application/json' },
      body: JSON.stringify({ machineId: 'back-office', mutations }),
    });
    if (res.status !== 200)
      throw new Error(`seed push failed (${res.status}): ${res.text.slice(0, 300)}`);
    const { summary } = JSON.parse(res.text);
    if (summary.applied !== mutations.length)
      throw new Error(`seed applied ${summary.applied}/${mutations.length}`);
  }
  agent.destroy();
  return { records, seconds: (performance.now() - t0) / 1000 };
}

// ---------------------------------------------------------------- pouchdb-server

/** Starts pouchdb-server 4.2 (LevelDB) on a free loopback port in a scratch folder. */
export async function startPouchServer() {
  const scratch = scratchDir('pouch-server');
  const port = await freePort();
  const proc = spawnUntil(
    process.execPath,
    [
      join(rootDir, 'node_modules', 'pouchdb-server', 'bin', 'pouchdb-server'),
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--dir',
      join(scratch.dir, 'data'),
      '--no-stdout-logs',
    ],
    { cwd: scratch.dir, env: process.env, ready: null },
  );
  try {
    await proc.started;
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/`);
    return {
      base,
      pid: proc.child.pid,
      async stop() {
        await proc.stop();
        scratch.remove();
      },
    };
  } catch (err) {
    await proc.stop();
    scratch.remove();
    throw err;
  }
}

// ---------------------------------------------------------------- terminal child processes

/**
 * Runs bench/terminal-child.mjs with `config` in its own process, so the terminal's peak RSS
 * is its own. The child sets up untimed, prints `READY {...}` and waits; `onReady(pid, info)`
 * may start meters (its return value is kept) before the child is told to go. The child then
 * runs the timed work and prints `RESULT {...}`; `onResult()` stops the meters.
 * Resolves with `{ ready, result, metered }` once the child has exited cleanly.
 */
export function runTerminalChild(config, { onReady, onResult, timeoutMs = 15 * 60_000 } = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (k.startsWith('PDV_SYNC_') || k === 'DATABASE_URL') delete env[k];
  // BENCH_TERMINAL_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=bench/.tmp/prof' profiles the terminal.
  const nodeOptions = (process.env['BENCH_TERMINAL_NODE_OPTIONS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeOptions, join(benchDir, 'terminal-child.mjs'), JSON.stringify(config)],
    { env, cwd: rootDir, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let ready = null;
    let result = null;
    let meters = null;
    let metered = null;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        if (line.startsWith('READY ')) {
          ready = JSON.parse(line.slice(6));
          meters = onReady ? onReady(child.pid, ready) : null;
          child.stdin.end('go\n');
        } else if (line.startsWith('RESULT ')) {
          result = JSON.parse(line.slice(7));
          metered = onResult ? onResult(meters) : null;
        } else if (line.trim()) process.stderr.write(`[terminal] ${line}\n`);
      }
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
      if (err.length > 100_000) err = err.slice(-20_000);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && result) resolve({ ready, result, metered });
      else reject(new Error(`terminal child exited with ${code ?? signal}:\n${err.slice(-4000)}`));
    });
  });
}
