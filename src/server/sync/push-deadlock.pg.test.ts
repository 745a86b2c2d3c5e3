import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import type { MutationResult, PushResponse } from '../../protocol/index.js';
import { adminToken, startTestServer } from '../../testing/test-server.js';

// A back office's transaction takes two estoque rows in the opposite order to a push's: PostgreSQL
// breaks the deadlock by undoing one of them. When the push is the victim, the server runs it
// again instead of answering 500, and the till gets its results.
test('a push chosen as a deadlock victim is run again and answered, not a 500', async (t) => {
  const ts = await startTestServer('postgres');
  t.after(() => ts.close());
  const device = await ts.device('S', 's1');
  const push = (mutations: unknown[]) =>
    ts.request(device, {
      method: 'POST',
      url: '/api/sync/push',
      payload: { machineId: 's1', mutations },
    });
  const at = () => new Date().toISOString();
  // estoque is client-wins: the push's write applies whatever the back office wrote first.
  const upsert = (id: string, quantidade: number) => ({
    eventId: `${id}-${quantidade}`,
    table: 'estoque',
    op: 'upsert',
    updatedAt: at(),
    record: { id, produto_id: 'p', quantidade },
  });
  const first = await push([upsert('dl-a', 1), upsert('dl-b', 1)]);
  assert.equal(first.statusCode, 200, first.body);

  const backOffice = new pg.Client({
    connectionString: ts.db.url,
    options: `-c search_path=${ts.db.pgSchema}`,
  });
  // Another session watches: pg_stat_activity is read once per transaction, and the back
  // office's stays open.
  const monitor = new pg.Client({ connectionString: ts.db.url });
  await Promise.all([backOffice.connect(), monitor.connect()]);
  t.after(() => Promise.all([backOffice.end(), monitor.end()]));
  const deadlocks = async () =>
    Number(
      (
        await monitor.query<{ n: string }>(
          `SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()`,
        )
      ).rows[0]?.n,
    );
  const before = await deadlocks();
  // The back office checks for deadlocks late, so the push (checking after the default 1 s)
  // is the one that finds the cycle and is undone.
  await backOffice.query(`SET deadlock_timeout = '20s'`);
  await backOffice.query('BEGIN');
  await backOffice.query(`UPDATE estoque SET quantidade = 7 WHERE id = 'dl-b'`);

  // The push locks dl-a, then waits for dl-b.
  // Started now (an injected request runs once awaited or `then`-ed).
  const pushed = Promise.resolve(push([upsert('dl-a', 2), upsert('dl-b', 2)]));
  for (let waited = 0; ; waited += 20) {
    const { rows } = await monitor.query(
      `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'
          AND datname = current_database()`,
    );
    if (rows.length > 0) break;
    assert.ok(waited < 10_000, 'the push never waited for the back office');
    await new Promise((r) => setTimeout(r, 20));
  }
  // The back office now wants dl-a: a cycle. The push is undone; this statement then proceeds.
  await backOffice.query(`UPDATE estoque SET quantidade = 7 WHERE id = 'dl-a'`);
  await backOffice.query('COMMIT');

  const res = await pushed;
  assert.equal(res.statusCode, 200, res.body);
  const results: MutationResult[] = res.json<PushResponse>().results;
  assert.deepEqual(
    results.map((r) => r.status),
    ['applied', 'applied'],
    JSON.stringify(results),
  );
  // The victim's backend reports its statistics within about a second of its transaction.
  for (let waited = 0; (await deadlocks()) <= before; waited += 100) {
    assert.ok(waited < 5_000, 'no deadlock happened: the test proves nothing');
    await new Promise((r) => setTimeout(r, 100));
  }
  // Its run again came after the back office's commit: the push's values are the last ones.
  const rows = await ts.request(adminToken, {
    method: 'GET',
    url: '/api/tables/estoque?limit=100',
  });
  const stock = Object.fromEntries(
    rows
      .json<{ rows: { id: string; quantidade: unknown }[] }>()
      .rows.map((r) => [r.id, Number(r.quantidade)]),
  );
  assert.deepEqual(stock, { 'dl-a': 2, 'dl-b': 2 });
});
