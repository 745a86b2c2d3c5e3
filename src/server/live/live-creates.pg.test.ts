import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChangesMessage } from '../../protocol/index.js';
import { connectLive, liveUrl } from '../../testing/live-client.js';
import { liveCreatesSuite } from '../../testing/live-creates-suite.js';
import { rawSql } from '../../testing/raw-sql.js';
import { adminToken, startTestServer } from '../../testing/test-server.js';

liveCreatesSuite('postgres');

// The schedule the property above found once, made deterministic: T1 creates A then B; a
// transaction W takes an id after T1's and stays open; T2 (a higher id still) updates A. T1 is
// servable and T2 waits behind W, while A's only entry is already T2's. B may not be announced
// before A's create: A's first news, once W ends, would then be an "update".
test('a row whose entry waits behind an open transaction is still announced as a create', async (t) => {
  const ts = await startTestServer('postgres', { wsHeartbeatMs: 10_000 });
  t.after(() => ts.close());
  const url = await ts.server.listen();
  const t1 = await rawSql(ts.db);
  const w = await rawSql(ts.db);
  t.after(() => Promise.all([t1.close(), w.close()]));
  const client = await connectLive(liveUrl(url, '/ws', { token: adminToken, tables: 'pedidos' }));
  t.after(() => client.ws.terminate());
  await client.waitFor((m) => m.some((x) => x.type === 'connection'));

  const insert = `INSERT INTO pedidos (id, store_id, status, numero) VALUES (?, 's1', 'novo', 1)`;
  await t1.exec('BEGIN');
  await t1.exec(insert, ['wait-a']);
  await w.exec('BEGIN');
  await w.exec('SELECT pg_current_xact_id()');
  await t1.exec(insert, ['wait-b']);
  await t1.exec('COMMIT');
  await t1.exec(`UPDATE pedidos SET status = 'pronto' WHERE id = 'wait-a'`);
  // Let the watcher run while W is open (every commit wakes it; its safety net polls every 2 s).
  await new Promise((r) => setTimeout(r, 2500));
  await w.exec('COMMIT');
  await t1.exec(insert, ['wait-end']);
  await client.waitFor(
    (m) => m.some((x) => x.type === 'changes' && x.changes.some((c) => c.id === 'wait-end')),
    30_000,
  );
  const news = client.messages
    .filter((m): m is ChangesMessage => m.type === 'changes')
    .flatMap((m) => m.changes)
    .filter((c) => c.id.startsWith('wait-'));
  const first = (id: string) => news.find((c) => c.id === id)?.action;
  assert.equal(first('wait-a'), 'create', JSON.stringify(news));
  assert.equal(first('wait-b'), 'create', JSON.stringify(news));
});
