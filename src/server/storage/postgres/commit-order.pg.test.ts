import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { ChangesResponse } from '../../../protocol/index.js';
import type { LogVisibility } from '../../sync/index.js';
import { adminToken, startTestServer, type TestServer } from '../../../testing/test-server.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer('postgres');
});
after(() => ts.close());

async function connect(): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: ts.db.url,
    options: `-c search_path=${ts.db.pgSchema ?? 'public'}`,
  });
  await client.connect();
  return client;
}

/**
 * Pulls until `want` ids have arrived (pages accumulated, in order): a change is
 * served once every lower transaction id in the cluster has ended, and tests of
 * other suites may hold one for a while.
 */
async function pullUntil(
  since: string,
  want: number,
  timeoutMs = 30_000,
): Promise<{ ids: string[]; names: unknown[]; cursor: string }> {
  const ids: string[] = [];
  const names: unknown[] = [];
  let cursor = since;
  const deadline = Date.now() + timeoutMs;
  while (ids.length < want && Date.now() < deadline) {
    const page = await pull(cursor);
    for (const c of page.changes) {
      ids.push(String(c.record['id']));
      names.push(c.record['nome']);
    }
    cursor = page.cursor;
    if (!page.hasMore && ids.length < want) await new Promise((r) => setTimeout(r, 50));
  }
  return { ids, names, cursor };
}

async function pull(since?: string): Promise<ChangesResponse> {
  const qs = new URLSearchParams({ tables: 'produtos', ...(since ? { since } : {}) });
  const res = await ts.request(adminToken, {
    method: 'GET',
    url: `/api/sync/changes?${qs.toString()}`,
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<ChangesResponse>();
}

test('the lower transaction id commits last: later writers do not wait for it, and no reader skips it (PITFALLS #1)', async () => {
  const start = await pull();
  const early = await connect();
  const late = await connect();
  const reader = await connect();
  try {
    // A long read-only transaction, opened first: it holds no id and must not be named.
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await reader.query('SELECT COUNT(*) FROM produtos');
    await early.query('BEGIN');
    await early.query(`INSERT INTO produtos (id, nome, preco) VALUES ('early', 'primeiro', 1)`);
    const [{ xid: earlyXid }] = (await early.query(`SELECT pg_current_xact_id()::text AS xid`))
      .rows as { xid: string }[];
    // Another backend process writes, and commits, while the lower id is still open.
    await late.query('BEGIN');
    await late.query(`INSERT INTO produtos (id, nome, preco) VALUES ('late', 'segundo', 2)`);
    const [{ xid: lateXid }] = (await late.query(`SELECT pg_current_xact_id()::text AS xid`))
      .rows as { xid: string }[];
    assert.ok(BigInt(lateXid) > BigInt(earlyXid));
    await late.query('COMMIT');
    // A till's push (a third process's transaction, higher id still) answers at once.
    const pushed = await ts.request(adminToken, {
      method: 'POST',
      url: '/api/sync/push',
      payload: {
        machineId: 'order-test',
        mutations: [
          {
            eventId: 'order-test-1',
            op: 'upsert',
            table: 'produtos',
            record: { id: 'api', nome: 'terceiro', preco: 3 },
          },
        ],
      },
    });
    assert.equal(pushed.statusCode, 200, pushed.body);
    // Neither committed change is served while a lower id may still commit.
    const during = await pull(start.cursor);
    assert.deepEqual(during.changes, []);
    assert.equal(during.cursor, start.cursor);
    // The lag metric names the open transaction (or an even older holder elsewhere in the cluster).
    const stats = await ts.request(adminToken, { method: 'GET', url: '/api/stats' });
    assert.equal(stats.statusCode, 200, stats.body);
    const { changeLog } = stats.json<{ changeLog: LogVisibility }>();
    assert.ok(changeLog.heldBackChanges >= 2, JSON.stringify(changeLog));
    const [{ pid: earlyPid, since: earlySince }] = (
      await early.query(`SELECT pg_backend_pid() AS pid, now()::text AS since`)
    ).rows as { pid: number; since: string }[];
    const [{ pid: readerPid }] = (await reader.query(`SELECT pg_backend_pid() AS pid`)).rows as {
      pid: number;
    }[];
    assert.notEqual(changeLog.oldest?.pid, readerPid);
    if (changeLog.oldest?.pid !== earlyPid)
      assert.ok(
        new Date(changeLog.oldest?.since ?? 0).getTime() <= new Date(earlySince).getTime(),
        JSON.stringify(changeLog),
      );
    assert.ok(changeLog.lagSeconds >= 0);
    await early.query(`UPDATE produtos SET nome = 'primeiro, editado' WHERE id = 'early'`);
    await early.query('COMMIT');
    const afterAll = await pullUntil(during.cursor, 3);
    assert.deepEqual(afterAll.ids, ['early', 'late', 'api']);
    assert.equal(afterAll.names[0], 'primeiro, editado');
    // No page overlaps the next.
    const again = await pull(afterAll.cursor);
    assert.deepEqual(again.changes, []);
  } finally {
    await early.end();
    await late.end();
    await reader.end();
  }
});

test('many concurrent SQL writers with random commit delays: a polling reader sees every row exactly once', async () => {
  const start = await pull();
  const seen: string[] = [];
  let cursor = start.cursor;
  let done = false;
  const reader = (async () => {
    while (!done) {
      const page = await pull(cursor);
      seen.push(...page.changes.map((c) => String(c.record['id'])));
      cursor = page.cursor;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: 6 }, async (_, w) => {
      const client = await connect();
      try {
        for (let i = 0; i < 15; i++) {
          const id = `w${w}-${i}`;
          ids.push(id);
          await client.query('BEGIN');
          await client.query(`INSERT INTO produtos (id, nome, preco) VALUES ($1, 'x', 1)`, [id]);
          await new Promise((r) => setTimeout(r, Math.random() * 20));
          await client.query('COMMIT');
        }
      } finally {
        await client.end();
      }
    }),
  );
  done = true;
  await reader;
  const rest = await pullUntil(cursor, ids.length - seen.length);
  seen.push(...rest.ids);
  assert.deepEqual([...seen].sort(), [...ids].sort());
});

test('back-office transactions that cannot deadlock on plain tables do not deadlock on captured ones', async () => {
  await ts.request(adminToken, { method: 'GET', url: '/api/stats' });
  const setup = await connect();
  const s1 = await connect();
  const s2 = await connect();
  try {
    await setup.query(
      `INSERT INTO produtos (id, nome, preco) VALUES ('bo-1', 'a', 1), ('bo-2', 'b', 2)
       ON CONFLICT (id) DO NOTHING`,
    );
    // The minimal case: S1 row 1, S2 row 2, S1 row 2 (waits for S2), S2 commits.
    // With a lock in the triggers S2 would also wait for S1: "deadlock detected".
    await s1.query('BEGIN');
    await s1.query(`UPDATE produtos SET preco = preco + 1 WHERE id = 'bo-1'`);
    await s2.query('BEGIN');
    await s2.query(`UPDATE produtos SET preco = preco + 1 WHERE id = 'bo-2'`);
    const s1Second = s1.query(`UPDATE produtos SET preco = preco + 1 WHERE id = 'bo-2'`);
    await new Promise((r) => setTimeout(r, 200));
    await s2.query(`UPDATE produtos SET nome = 'b2' WHERE id = 'bo-2'`);
    await s2.query('COMMIT');
    await s1Second;
    await s1.query('COMMIT');
    const { rows } = await setup.query(
      `SELECT id, preco FROM produtos WHERE id IN ('bo-1', 'bo-2') ORDER BY id`,
    );
    assert.deepEqual(
      rows.map((r: { preco: number }) => Number(r.preco)),
      [2, 4],
    );
  } finally {
    await setup.end();
    await s1.end();
    await s2.end();
  }
});

test('a transaction open in another database of the cluster does not hold pulls back', async () => {
  const start = await pull();
  // The cluster's maintenance database: another application's, as on a shared server.
  const url = new URL(ts.db.url);
  url.pathname = '/postgres';
  const elsewhere = new pg.Client({ connectionString: url.toString() });
  await elsewhere.connect();
  const here = await connect();
  try {
    await elsewhere.query('BEGIN');
    await elsewhere.query('SELECT pg_current_xact_id()');
    // The same in this database holds them back: the bound is per database, not gone.
    await here.query('BEGIN');
    await here.query('SELECT pg_current_xact_id()');
    await ts.request(adminToken, {
      method: 'PUT',
      url: '/api/tables/produtos/held-here',
      payload: { nome: 'retido', preco: 1 },
    });
    assert.deepEqual((await pull(start.cursor)).changes, []);
    await here.query('COMMIT');
    // Only the other database's transaction is open now: the change is served.
    const served = await pullUntil(start.cursor, 1);
    assert.deepEqual(served.ids, ['held-here']);
    const stats = await ts.request(adminToken, { method: 'GET', url: '/api/stats' });
    const { changeLog } = stats.json<{ changeLog: LogVisibility }>();
    assert.notEqual(changeLog.oldest?.database, 'postgres', JSON.stringify(changeLog));
  } finally {
    await elsewhere.query('ROLLBACK').catch(() => undefined);
    await elsewhere.end();
    await here.end();
  }
});
