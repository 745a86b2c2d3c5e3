import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  closeTurno,
  createStoreDatabases,
  offsetMinutes,
  openTurno,
  seedCatalog,
  seedSales,
  type SeededSale,
  type StoreDatabases,
} from '../testing/agent-sources.js';
import { killAllTracedProcesses, runProcess } from '../testing/kill-at-syscall.js';
import {
  cliPath,
  killAllServerProcesses,
  startServerProcess,
  type ServerProcess,
} from '../testing/server-process.js';
import { sqliteTestDatabase } from '../testing/test-database.js';
import { toIsoWithOffset } from './local-time.js';
import { readState, writeState } from './state-file.js';

const adminToken = 'agent-ingest-admin-token-0123456789';
const minute = 60_000;

after(() => {
  killAllTracedProcesses();
  killAllServerProcesses();
});

type Row = Record<string, unknown>;

async function api(server: ServerProcess, path: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(`${server.url}${path}`, {
    ...init,
    headers: { 'x-api-key': adminToken, 'content-type': 'application/json', ...init.headers },
  });
  const text = await res.text();
  assert.ok(res.ok, `${path}: ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

const startServer = (dbUrl: string, extra: string[] = []) =>
  startServerProcess(
    ['--db', dbUrl, '--port', '0', '--host', '127.0.0.1', '--log-file', '', ...extra],
    { env: { PDV_SYNC_ADMIN_TOKEN: adminToken, PDV_SYNC_LOG_LEVEL: 'warn' } },
  );

/** Rows of one store in a server table, through the admin API. */
async function serverRows(server: ServerProcess, table: string, store: string): Promise<Row[]> {
  const body = (await api(server, `/api/tables/${table}?limit=10000`)) as { rows: Row[] };
  return body.rows.filter((r) => r['store_id'] === store);
}

type Setup = {
  dbs: StoreDatabases;
  dir: string;
  sales: SeededSale[];
  t0: number;
  env(server: ServerProcess, token: string): NodeJS.ProcessEnv;
  close(): Promise<void>;
};

/** An hour of sales (and a closed shift) not yet synced, and an agent folder. */
async function setup(): Promise<Setup> {
  const dbs = await createStoreDatabases('sqlite');
  await seedCatalog(dbs);
  const dir = mkdtempSync(join(tmpdir(), 'pdv-agent-ingest-'));
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 60 * minute;
  await openTurno(dbs, 'T-E2E', t0 - minute);
  const sales = [
    ...(await seedSales(dbs, {
      db: 'caixa',
      firstId: 1,
      count: 200,
      fromMs: t0,
      spreadMs: 50 * minute,
      turno: 'T-E2E',
    })),
    ...(await seedSales(dbs, {
      db: 'gestao',
      firstId: 9001,
      count: 60,
      fromMs: t0,
      spreadMs: 50 * minute,
    })),
  ];
  await closeTurno(dbs, 5000, 'T-E2E', t0 + 55 * minute, 1000);
  mkdirSync(join(dir, 'data'), { recursive: true });
  await writeState(join(dir, 'data', 'state.json'), {
    last_sync_to: toIsoWithOffset(t0, offsetMinutes),
    gestao_pending: [],
  });
  return {
    dbs,
    dir,
    sales,
    t0,
    env: (server, token) => ({
      PATH: process.env['PATH'],
      PDV_SYNC_LANG: 'en',
      API_TOKEN: token,
      WEBHOOK_URL: `${server.url}/api/ingest/v4`,
      STORE_ID_PONTO_VENDA: '1',
      STORE_ID_FILIAL: '7',
      CAIXA_DB_URL: dbs.caixaUrl,
      GESTAO_DB_URL: dbs.gestaoUrl,
      AGENT_DATA_DIR: join(dir, 'data'),
      AGENT_LOG_DIR: join(dir, 'logs'),
      AGENT_INTERVAL: '200ms',
      AGENT_MAX_WINDOW: '2m',
      AGENT_SAFETY_LAG: '0s',
      AGENT_RETRIES: '0',
      AGENT_HTTP_TIMEOUT: '5s',
      // The server takes the outbox's gzip bytes as they are (Content-Encoding: gzip).
      AGENT_GZIP: 'true',
    }),
    async close() {
      await dbs.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function device(server: ServerProcess, store: string): Promise<string> {
  const body = (await api(server, '/api/admin/devices', {
    method: 'POST',
    body: JSON.stringify({ storeId: store, machineId: `agent-${store}` }),
  })) as { token: string };
  return body.token;
}

describe('pdv-sync agent → pdv-sync server (POST /api/ingest/v4)', () => {
  test('SIGKILLs mid-cycle, then the server down for several cycles and back: every sale stored once, windows contiguous', async () => {
    const s = await setup();
    const serverDb = sqliteTestDatabase();
    let server = await startServer(serverDb.url);
    try {
      const store = 'loja-agent';
      const token = await device(server, store);
      for (let i = 0; i < 4; i++) {
        const proc = spawn(process.execPath, [cliPath, 'agent'], {
          cwd: s.dir,
          env: s.env(server, token),
          stdio: 'ignore',
        });
        await new Promise((r) => setTimeout(r, 400 + Math.random() * 900));
        proc.kill('SIGKILL');
        await new Promise((r) => proc.once('exit', r));
      }
      // The server goes away: cycles queue their windows in the outbox.
      const downEnv = s.env(server, token);
      assert.equal(await server.stop(), 0);
      for (let i = 0; i < 3; i++) {
        const r = await runProcess(process.execPath, [cliPath, 'agent', '--once'], {
          cwd: s.dir,
          env: downEnv,
        });
        // Nothing delivered: a scheduled `--once` says so with its exit code.
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /Cycle failed: 1 delivery failure/);
      }
      const queued = readdirSync(join(s.dir, 'data', 'outbox')).filter((f) =>
        f.endsWith('.json.gz'),
      );
      assert.ok(queued.length > 0, 'payloads wait in the outbox while the server is down');
      // Back (on another port): the outbox drains oldest first.
      server = await startServer(serverDb.url);
      const r = await runProcess(process.execPath, [cliPath, 'agent', '--once'], {
        cwd: s.dir,
        env: s.env(server, token),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /0 in the outbox/);

      const vendas = await serverRows(server, 'vendas', store);
      assert.equal(vendas.length, s.sales.length, 'one server row per sale: none lost, none twice');
      assert.equal((await serverRows(server, 'itens_venda', store)).length, s.sales.length * 2);
      assert.equal((await serverRows(server, 'pagamentos', store)).length, s.sales.length);
      const turnos = await serverRows(server, 'turnos', store);
      assert.equal(turnos.length, 1);

      const listing = (await api(server, `/api/ingest/v4?store=${store}&limit=500`)) as {
        ingests: { windowFrom: string; windowTo: string }[];
      };
      const windows = listing.ingests
        .map((i) => [Date.parse(i.windowFrom), Date.parse(i.windowTo)] as const)
        .sort((a, b) => a[0] - b[0]);
      assert.equal(windows[0][0], s.t0);
      for (let i = 1; i < windows.length; i++)
        assert.equal(windows[i][0], windows[i - 1][1], `windows ${i - 1} and ${i} meet`);
      const state = readState(join(s.dir, 'data', 'state.json'))!;
      assert.equal(windows.at(-1)![1], Date.parse(state.last_sync_to));
    } finally {
      await server.stop();
      await serverDb.drop();
      await s.close();
    }
  });

  test('a payload the server refuses (413 over its body limit) goes to dead_letter; doctor checks the real API and token', async () => {
    const s = await setup();
    const serverDb = sqliteTestDatabase();
    const server = await startServer(serverDb.url, ['--body-limit', '4096']);
    try {
      const token = await device(server, 'loja-limit');
      const r = await runProcess(process.execPath, [cliPath, 'agent', '--once'], {
        cwd: s.dir,
        env: s.env(server, token),
      });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /refused and moved to dead_letter/);
      const dead = readdirSync(join(s.dir, 'data', 'dead_letter'));
      assert.ok(
        dead.some((f) => f.endsWith('.reason.json')),
        'refused payloads are dead-lettered with their reason',
      );
      assert.equal(
        readdirSync(join(s.dir, 'data', 'outbox')).filter((f) => f.endsWith('.gz')).length,
        0,
      );

      const env = { ...s.env(server, token), AGENT_UTC_OFFSET: '+00:00', TZ: 'UTC' };
      const ok = await runProcess(process.execPath, [cliPath, 'agent', '--doctor'], {
        cwd: s.dir,
        env,
      });
      assert.match(ok.stdout, /\[PASS\] API \(reachability and token\)/);
      const bad = await runProcess(process.execPath, [cliPath, 'agent', '--doctor'], {
        cwd: s.dir,
        env: { ...env, API_TOKEN: 'pdvs_dev_not-a-real-token' },
      });
      assert.equal(bad.code, 1);
      assert.match(bad.stdout, /\[FAIL\] API \(reachability and token\).*API_TOKEN refused/);
    } finally {
      await server.stop();
      await serverDb.drop();
      await s.close();
    }
  });
});
