import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { SyncManager } from './index.js';
import { FaultProxy } from '../testing/fault-proxy.js';
import {
  countSyscalls,
  killAllTracedProcesses,
  runKilledAtSyscall,
  runProcess,
  type ProcessExit,
} from '../testing/kill-at-syscall.js';
import { cliPath } from '../testing/server-process.js';
import { sellLocally } from '../testing/pos-sale.js';
import { startServerFixture, type ServerFixture } from '../testing/terminal-fixture.js';
import type { TestDatabase } from '../testing/test-database.js';
import type { DialectName } from '../testing/test-server.js';

/*
 * Crash recovery of the terminal's push, end to end against a real server process:
 * the terminal killed at each of its disk writes, the server killed mid-push, the
 * network cut mid-push. After each, syncing again must converge: every sale on the
 * server exactly once, the outbox empty, nothing dead-lettered or in conflict.
 */

type Row = Record<string, unknown>;
const saleTables = ['vendas', 'itens_venda', 'pagamentos'] as const;
type SaleTable = (typeof saleTables)[number];
const amountColumn: Record<SaleTable, string> = {
  vendas: 'total',
  itens_venda: 'total',
  pagamentos: 'valor',
};
/** Per table: the sorted row ids and the sum of the amount column. */
type Snapshot = Record<SaleTable, { ids: string[]; sum: number }>;

/** What the running test must undo, last first; each test runs it when it ends, and so does the file. */
const cleanups: (() => Promise<void>)[] = [];
async function cleanUp(): Promise<void> {
  killAllTracedProcesses();
  for (let c = cleanups.pop(); c; c = cleanups.pop()) await c().catch(() => undefined);
}
after(cleanUp);

function localSnapshot(db: Database.Database): Snapshot {
  const out = {} as Snapshot;
  for (const t of saleTables) {
    const rows = db.prepare(`SELECT id, "${amountColumn[t]}" AS amount FROM "${t}"`).all() as {
      id: string;
      amount: number;
    }[];
    out[t] = { ids: rows.map((r) => r.id).sort(), sum: rows.reduce((a, r) => a + r.amount, 0) };
  }
  return out;
}

function emptySnapshot(): Snapshot {
  return {
    vendas: { ids: [], sum: 0 },
    itens_venda: { ids: [], sum: 0 },
    pagamentos: { ids: [], sum: 0 },
  };
}

function mergeSnapshots(snaps: Snapshot[]): Snapshot {
  const out = {} as Snapshot;
  for (const t of saleTables)
    out[t] = {
      ids: snaps.flatMap((s) => s[t].ids).sort(),
      sum: snaps.reduce((a, s) => a + s[t].sum, 0),
    };
  return out;
}

function localCounts(db: Database.Database): {
  outbox: number;
  deadLetters: number;
  conflicts: number;
} {
  const one = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
  return {
    outbox: one(`SELECT COUNT(*) AS n FROM _pdv_outbox`),
    deadLetters: one(`SELECT COUNT(*) AS n FROM _pdv_dead_letters`),
    conflicts: one(`SELECT COUNT(*) AS n FROM _pdv_conflicts`),
  };
}

/** Every sale row on the server (admin API, paged), grouped by store. */
async function serverSnapshots(fx: ServerFixture): Promise<Map<string, Snapshot>> {
  const byStore = new Map<string, Snapshot>();
  for (const t of saleTables) {
    const rows: Row[] = [];
    for (;;) {
      const page = await fx.admin<{ rows: Row[]; total: number }>(
        'GET',
        `/api/tables/${t}?limit=10000&offset=${rows.length}`,
      );
      rows.push(...page.rows);
      if (page.rows.length < 10000) {
        assert.equal(rows.length, page.total, `${t}: paging lost rows`);
        break;
      }
    }
    for (const r of rows) {
      const store = String(r['store_id']);
      let snap = byStore.get(store);
      if (!snap) {
        snap = emptySnapshot();
        byStore.set(store, snap);
      }
      snap[t].ids.push(String(r['id']));
      snap[t].sum += Number(r[amountColumn[t]]);
    }
  }
  for (const snap of byStore.values()) for (const t of saleTables) snap[t].ids.sort();
  return byStore;
}

/** Asserts the server holds exactly the terminal's rows: same count, no id twice, same ids, same sums. */
function assertSameSales(server: Snapshot | undefined, local: Snapshot, label: string): void {
  assert.ok(server, `${label}: the server has no sales of this store`);
  for (const t of saleTables) {
    const s: { ids: string[]; sum: number } = server[t];
    const l: { ids: string[]; sum: number } = local[t];
    assert.equal(s.ids.length, l.ids.length, `${label}: ${t} count on the server vs the terminal`);
    assert.equal(new Set(s.ids).size, s.ids.length, `${label}: ${t} duplicated on the server`);
    const missing = l.ids.filter((id) => !s.ids.includes(id));
    const extra = s.ids.filter((id) => !l.ids.includes(id));
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${label}: ${t} ids differ`);
    assert.equal(s.sum, l.sum, `${label}: sum of ${t}.${amountColumn[t]}`);
  }
}

/** Read-only access to the server's database, to see what it committed while a terminal is down. */
async function serverReader(
  db: TestDatabase,
): Promise<{ storeRows(store: string): Promise<number>; close(): Promise<void> }> {
  const sql = `SELECT (SELECT COUNT(*) FROM vendas WHERE store_id = $1)
    + (SELECT COUNT(*) FROM itens_venda WHERE store_id = $1)
    + (SELECT COUNT(*) FROM pagamentos WHERE store_id = $1) AS n`;
  if (db.url.startsWith('sqlite:')) {
    const conn = new Database(db.url.slice('sqlite:'.length), { readonly: true });
    conn.pragma('busy_timeout = 10000');
    const stmt = conn.prepare(sql.replaceAll('$1', '@store'));
    return {
      storeRows: async (store) => Number((stmt.get({ store }) as { n: number }).n),
      close: async () => void conn.close(),
    };
  }
  const client = new pg.Client({
    connectionString: db.url,
    ...(db.pgSchema ? { options: `-c search_path=${db.pgSchema}` } : {}),
  });
  await client.connect();
  return {
    storeRows: async (store) =>
      Number((await client.query<{ n: string }>(sql, [store])).rows[0]?.n),
    close: () => client.end(),
  };
}

/** Syncs until the terminal reports 'synced' (or `run.stop`); counts the attempts that ended otherwise. */
async function syncUntilSynced(
  m: SyncManager,
  run: { deadline: number; stop: boolean },
  onFailure: (status: string) => void,
): Promise<string> {
  for (;;) {
    const r = await m.syncAllTables();
    if (r.summary.status === 'synced') return 'synced';
    onFailure(r.summary.status);
    if (Date.now() > run.deadline || run.stop)
      return `${r.summary.status}: ${m.state.lastError ?? ''}`;
    await sleep(100);
  }
}

async function waitUntil(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

const SALES = 50;
/** Outbox entries of SALES sales: 1 venda + 3 itens + 1 pagamento each. */
const ENTRIES = SALES * 5;
/**
 * Push batch of the killed terminal: 100 entries, so the 250 go in 3 requests,
 * each settled in its own local transaction, and the sweep also kills between
 * settled batches (the default 1000 would put them in one).
 */
const BATCH = 100;

for (const dialect of ['sqlite', 'postgres'] as DialectName[]) {
  describe(`crash recovery of the terminal's push (${dialect})`, () => {
    test('SIGKILL at each pwrite64 of a 50-sale `sync`, then sync again: every sale on the server once', async (t) => {
      t.after(cleanUp);
      const fx = await startServerFixture(dialect);
      cleanups.push(() => fx.close());
      const reader = await serverReader(fx.db);
      cleanups.push(() => reader.close());

      /** A terminal database with SALES sales in its outbox, of its own store, closed (WAL checkpointed). */
      const makeTerminal = async (label: string) => {
        const store = `crash-${label}`;
        const token = await fx.device(store, `caixa-${label}`);
        const m = fx.terminal(store, token);
        await m.prepare();
        for (let n = 0; n < SALES; n++) sellLocally(m.db, n);
        const snapshot = localSnapshot(m.db);
        const path = m.store.path;
        await m.close();
        assert.ok(
          !existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0,
          'the WAL must be checkpointed before the run',
        );
        return { store, token, path, snapshot };
      };
      const env = (token: string): NodeJS.ProcessEnv => ({
        ...process.env,
        PDV_SYNC_SERVER: fx.url,
        PDV_SYNC_TOKEN: token,
        PDV_SYNC_LOG_FILE: '',
        // Silent and a private HOME as well, so no run can write a log outside the fixture.
        PDV_SYNC_LOG_LEVEL: 'silent',
        HOME: fx.dir,
        PDV_SYNC_BATCH_SIZE: String(BATCH),
        PDV_SYNC_LANG: 'en',
      });
      const syncArgs = (path: string) => [cliPath, 'sync', '--db', path];

      // N: the pwrite64 calls of a whole sync of such a database.
      const probe = await makeTerminal('probe');
      const counted = await countSyscalls('pwrite64', process.execPath, syncArgs(probe.path), {
        env: env(probe.token),
      });
      assert.equal(counted.exit.code, 0, counted.exit.stdout + counted.exit.stderr);
      // strace counts when=K per thread: K means "the K-th write" only if one thread writes.
      assert.equal(counted.perTracee.size, 1, 'pwrite64 calls come from one thread');
      const N = [...counted.perTracee.values()][0] ?? 0;
      assert.ok(N > 2 * (ENTRIES / BATCH), `too few pwrite64 calls to cover the push: ${N}`);
      t.diagnostic(`a sync of ${SALES} sales makes ${N} pwrite64 calls`);

      // Measured: N = 155 (8 to size the -shm, 3 WAL transactions settling the 3 push
      // batches, then the checkpoint into the .db at close); each K costs ~0.85 s on a
      // loaded 2-core machine (a node process under strace, the in-process re-sync),
      // so every K on SQLite takes ~2 min 10 s. The terminal's writes are the same
      // whichever database the server uses, so PostgreSQL gets every 4th K (each phase
      // is hit) plus the last 3, keeping the file under ~4 min.
      // PDV_SYNC_CRASH_EVERY_K=1 runs every K on both.
      const every = dialect === 'sqlite' || process.env['PDV_SYNC_CRASH_EVERY_K'] === '1';
      const ks = Array.from({ length: N }, (_, i) => i + 1).filter(
        (k) => every || k % 4 === 1 || k > N - 3,
      );

      type Outcome = {
        k: number;
        killed: boolean;
        serverBefore: number;
        backlogBefore: number;
        error?: string;
      };
      const outcomes = await mapLimit(
        ks,
        Math.max(2, Math.min(4, availableParallelism())),
        async (k): Promise<Outcome> => {
          const o: Outcome = { k, killed: false, serverBefore: -1, backlogBefore: -1 };
          try {
            const term = await makeTerminal(`k${k}`);
            const crash = await runKilledAtSyscall(
              'pwrite64',
              k,
              process.execPath,
              syncArgs(term.path),
              { env: env(term.token) },
            );
            o.killed = crash.signal === 'SIGKILL';
            if (!o.killed) assert.equal(crash.code, 0, `not killed and failed: ${show(crash)}`);
            o.serverBefore = await reader.storeRows(term.store);
            // Sync again, in process: the same SyncManager.syncAllTables the `sync` command runs
            // (its exit 0 is status 'synced'); a second node process per K would double the
            // sweep's time. Opening the database recovers what the crash left in the WAL.
            const m = fx.terminal(term.store, term.token, { batchSize: BATCH });
            try {
              o.backlogBefore = m.state.backlog;
              const statuses: string[] = [];
              for (let attempt = 0; attempt < 3 && statuses.at(-1) !== 'synced'; attempt++)
                statuses.push((await m.syncAllTables()).summary.status);
              assert.equal(
                statuses.at(-1),
                'synced',
                `syncs after the crash: ${statuses.join(', ')}; ${m.state.lastError}`,
              );
            } finally {
              await m.close();
            }
            const db = new Database(term.path);
            try {
              assert.deepEqual(
                localCounts(db),
                { outbox: 0, deadLetters: 0, conflicts: 0 },
                'local outbox, dead letters and conflicts after recovery',
              );
              assert.deepEqual(localSnapshot(db), term.snapshot, 'the local sales survived');
            } finally {
              db.close();
            }
          } catch (err) {
            o.error = (err as Error).message;
          }
          return o;
        },
      );

      const failures = outcomes.filter((o) => o.error).map((o) => `K=${o.k}: ${o.error}`);
      assert.deepEqual(failures, [], 'every K recovers');
      const server = await serverSnapshots(fx);
      assertSameSales(server.get('crash-probe'), probe.snapshot, 'probe');
      for (const o of outcomes) {
        const db = new Database(join(fx.dir, `crash-k${o.k}.db`), { readonly: true });
        const local = localSnapshot(db);
        db.close();
        assert.equal(local.vendas.ids.length, SALES);
        assertSameSales(server.get(`crash-k${o.k}`), local, `K=${o.k}`);
      }
      assert.equal(server.size, outcomes.length + 1, 'no rows of any other store');

      // The sweep really cut the push at its dangerous points.
      const batchEdges = Array.from({ length: Math.ceil(ENTRIES / BATCH) + 1 }, (_, i) =>
        Math.min(i * BATCH, ENTRIES),
      );
      for (const o of outcomes) {
        const label = `K=${o.k} (server ${o.serverBefore}, outbox ${o.backlogBefore})`;
        // An entry leaves the outbox only after the server committed it.
        assert.ok(o.serverBefore + o.backlogBefore >= ENTRIES, `${label}: an entry was lost`);
        // Server batches and local settles are atomic.
        assert.ok(batchEdges.includes(o.serverBefore), `${label}: partial server batch`);
        assert.ok(batchEdges.includes(ENTRIES - o.backlogBefore), `${label}: partial local settle`);
        // Every K within the measured N kills it (a margin for a checkpoint page more or less).
        if (o.k <= N - 5) assert.ok(o.killed, `${label}: not killed`);
      }
      const before = outcomes.filter((o) => o.serverBefore === 0);
      const answerLost = outcomes.filter((o) => o.serverBefore + o.backlogBefore > ENTRIES);
      const betweenBatches = outcomes.filter(
        (o) => o.backlogBefore > 0 && o.backlogBefore < ENTRIES,
      );
      const settled = outcomes.filter((o) => o.killed && o.backlogBefore === 0);
      t.diagnostic(
        `K covered: ${ks.length} of ${N}; killed before the first push: ${before.length}, ` +
          `server committed but terminal not: ${answerLost.length}, between settled batches: ` +
          `${betweenBatches.length}, after the last settle: ${settled.length}`,
      );
      assert.ok(before.length > 0, 'some K killed the terminal before it pushed');
      assert.ok(answerLost.length > 0, 'some K killed it after the server committed a batch');
      assert.ok(betweenBatches.length > 0, 'some K killed it between settled batches');
      assert.ok(settled.length > 0, 'some K killed it after the last settle');
    });

    test('the server SIGKILLed and restarted three times during a push from 20 terminals', async (t) => {
      t.after(cleanUp);
      const fx = await startServerFixture(dialect);
      cleanups.push(() => fx.close());
      const terminals: { m: SyncManager; store: string }[] = [];
      cleanups.push(async () => {
        for (const { m } of terminals) await m.close();
      });
      for (let i = 0; i < 20; i++) {
        const store = `loja-${i % 5}`;
        const m = fx.terminal(`srv-${i}`, await fx.device(store, `caixa-${i}`), {
          batchSize: 10,
          timeoutMs: 5000,
          retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 200 },
        });
        terminals.push({ m, store });
        await m.prepare();
        for (let n = 0; n < 100; n++) sellLocally(m.db, n);
      }
      const backlog = () => terminals.reduce((a, { m }) => a + m.store.counts().backlog, 0);
      const total = backlog();
      assert.equal(total, 20 * 100 * 5);

      let failedAttempts = 0;
      const run = { deadline: Date.now() + 90_000, stop: false };
      const loops = terminals.map(({ m }) => syncUntilSynced(m, run, () => void failedAttempts++));
      cleanups.push(async () => {
        run.stop = true;
        await Promise.allSettled(loops);
      });
      const killedAt: number[] = [];
      for (const left of [0.8, 0.55, 0.3]) {
        await waitUntil('push progress', () => backlog() <= total * left, 60_000);
        killedAt.push(backlog());
        await fx.restart('SIGKILL');
      }
      const statuses = await Promise.all(loops);
      t.diagnostic(
        `killed with ${killedAt.join(', ')} of ${total} entries left; ${failedAttempts} failed syncs`,
      );

      assert.deepEqual(
        statuses,
        terminals.map(() => 'synced'),
      );
      for (const left of killedAt)
        assert.ok(left > 0 && left < total, `the server was killed mid-push (${left} left)`);
      assert.ok(failedAttempts > 0, 'the kills made syncs fail');
      for (const { m } of terminals)
        assert.deepEqual(localCounts(m.db), { outbox: 0, deadLetters: 0, conflicts: 0 });
      const server = await serverSnapshots(fx);
      const stores = [...new Set(terminals.map((x) => x.store))];
      for (const store of stores) {
        const local = mergeSnapshots(
          terminals.filter((x) => x.store === store).map((x) => localSnapshot(x.m.db)),
        );
        assert.equal(local.vendas.ids.length, 4 * 100);
        assertSameSales(server.get(store), local, store);
      }
      assert.equal(server.size, stores.length);
    });

    test('the network cut and restored mid-push (latency, answer cut, reset, blackhole, pass)', async (t) => {
      t.after(cleanUp);
      const fx = await startServerFixture(dialect);
      cleanups.push(() => fx.close());
      const proxy = await FaultProxy.start(fx.url);
      cleanups.push(() => proxy.close());
      const terminals: { m: SyncManager; store: string }[] = [];
      cleanups.push(async () => {
        for (const { m } of terminals) await m.close();
      });
      for (let i = 0; i < 4; i++) {
        const store = `loja-net-${i % 2}`;
        const m = fx.terminal(`net-${i}`, await fx.device(store, `caixa-net-${i}`), {
          serverUrl: proxy.url,
          batchSize: 10,
          timeoutMs: 400,
          retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 200 },
        });
        terminals.push({ m, store });
        await m.prepare();
        for (let n = 0; n < 100; n++) sellLocally(m.db, n);
      }
      const backlog = () => terminals.reduce((a, { m }) => a + m.store.counts().backlog, 0);
      const total = backlog();
      assert.equal(total, 4 * 100 * 5);

      proxy.mode = { kind: 'latency', ms: 25 };
      let failedAttempts = 0;
      // A liveness bound, not a speed target (catch-up speed is benchmarked in bench/): the
      // fault phases alone take ~15 s, and the 2,000 entries then drain in batches of 10
      // with 400 ms request timeouts on a 2-core machine that runs other suites beside this one.
      const run = { deadline: Date.now() + 150_000, stop: false };
      const loops = terminals.map(({ m }) => syncUntilSynced(m, run, () => void failedAttempts++));
      cleanups.push(async () => {
        run.stop = true;
        await Promise.allSettled(loops);
      });
      await waitUntil(
        'push progress through the slow link',
        () => backlog() <= total * 0.8,
        30_000,
      );
      const cutAt = backlog();
      // Requests reach the server, their answers are cut: applied there, still in the outboxes.
      proxy.mode = { kind: 'cut-response', afterBytes: 20 };
      await sleep(300);
      await waitUntil('a sync to lose its answer', () => failedAttempts > 0, 10_000);
      const failedWhileCut = failedAttempts;
      proxy.mode = { kind: 'reset' };
      await sleep(500);
      await waitUntil('a sync to fail on reset', () => failedAttempts > failedWhileCut, 10_000);
      const failedWhileReset = failedAttempts;
      proxy.mode = { kind: 'blackhole' };
      await sleep(1500);
      await waitUntil('a sync to time out', () => failedAttempts > failedWhileReset, 10_000);
      const failedWhileDown = failedAttempts;
      const restoredAt = backlog();
      const reader = await serverReader(fx.db);
      cleanups.push(() => reader.close());
      let onServerAtRestore = 0;
      for (const store of new Set(terminals.map((x) => x.store)))
        onServerAtRestore += await reader.storeRows(store);
      proxy.mode = { kind: 'pass' };
      const statuses = await Promise.all(loops);
      t.diagnostic(
        `cut with ${cutAt} of ${total} left, restored with ${restoredAt} (server had ` +
          `${onServerAtRestore}); failed syncs: ${failedWhileCut} answer cut, ` +
          `${failedWhileReset - failedWhileCut} reset, ${failedWhileDown - failedWhileReset} blackhole`,
      );

      assert.deepEqual(
        statuses,
        terminals.map(() => 'synced'),
      );
      assert.ok(cutAt > 0 && cutAt < total, `cut mid-push (${cutAt} of ${total} left)`);
      assert.ok(restoredAt > 0, 'work was left when the network came back');
      assert.ok(
        onServerAtRestore + restoredAt > total,
        'the server had applied entries whose answers were lost',
      );
      for (const { m } of terminals)
        assert.deepEqual(localCounts(m.db), { outbox: 0, deadLetters: 0, conflicts: 0 });
      const server = await serverSnapshots(fx);
      const stores = [...new Set(terminals.map((x) => x.store))];
      for (const store of stores)
        assertSameSales(
          server.get(store),
          mergeSnapshots(
            terminals.filter((x) => x.store === store).map((x) => localSnapshot(x.m.db)),
          ),
          store,
        );
      assert.equal(server.size, stores.length);
    });
  });
}

test('`sync` with PDV_SYNC_LOG_FILE="" writes no log file', async () => {
  const home = mkdtempSync(join(tmpdir(), 'pdv-sync-home-'));
  try {
    const exit = await runProcess(
      process.execPath,
      [cliPath, 'sync', '--db', join(home, 'pdv.db')],
      {
        env: {
          ...process.env,
          HOME: home,
          PDV_SYNC_SERVER: 'http://127.0.0.1:9',
          PDV_SYNC_TOKEN: 'unused',
          PDV_SYNC_MACHINE_ID: 'caixa-log',
          PDV_SYNC_RETRY_ATTEMPTS: '1',
          PDV_SYNC_LOG_FILE: '',
        },
      },
    );
    assert.equal(exit.code, 1, show(exit));
    assert.deepEqual(
      readdirSync(home).filter((f) => f.startsWith('pdv_sync')),
      [],
      'no log file in HOME',
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

function show(exit: ProcessExit | null): string {
  if (!exit) return 'never ran';
  return `code ${exit.code} signal ${exit.signal}\n${exit.stdout}\n${exit.stderr}`.slice(0, 2000);
}
