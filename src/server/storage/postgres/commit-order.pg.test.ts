import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { ChangesResponse } from '../../../protocol/index.js';
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

async function pull(since?: string): Promise<ChangesResponse> {
  const qs = new URLSearchParams({ tables: 'produtos', ...(since ? { since } : {}) });
  const res = await ts.request(adminToken, {
    method: 'GET',
    url: `/api/sync/changes?${qs.toString()}`,
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<ChangesResponse>();
}

test('a transaction that takes its seq first but commits last is not skipped by a reader (PITFALLS #1)', async () => {
  const start = await pull();
  const early = await connect();
  const late = await connect();
  try {
    await early.query('BEGIN');
    await early.query(`INSERT INTO produtos (id, nome, preco) VALUES ('early', 'primeiro', 1)`);
    await late.query('BEGIN');
    let lateDone = false;
    const lateWrite = late
      .query(`INSERT INTO produtos (id, nome, preco) VALUES ('late', 'segundo', 2)`)
      .then(() => late.query('COMMIT'))
      .then(() => (lateDone = true));
    await new Promise((r) => setTimeout(r, 300));
    // The later writer waits for the earlier one: seq order is commit order.
    assert.equal(lateDone, false);
    const during = await pull(start.cursor);
    assert.equal(during.changes.length, 0);
    await early.query('COMMIT');
    await lateWrite;
    const afterBoth = await pull(during.cursor);
    assert.deepEqual(
      afterBoth.changes.map((c) => c.record['id']),
      ['early', 'late'],
    );
  } finally {
    await early.end();
    await late.end();
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
  const rest = await pull(cursor);
  seen.push(...rest.changes.map((c) => String(c.record['id'])));
  assert.deepEqual([...seen].sort(), [...ids].sort());
});
