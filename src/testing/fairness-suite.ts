import assert from 'node:assert/strict';
import { Agent, get as httpGet } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { ServerMessage } from '../protocol/index.js';
import type { PedidosFeed } from '../server/live/pedidos-feed.js';
import { connectLive, liveUrl, type LiveTestClient } from './live-client.js';
import { rawSql } from './raw-sql.js';
import { adminToken, startTestServer, type DialectName, type TestServer } from './test-server.js';

type PedidosMessage = Extract<ServerMessage, { type: 'pedidos' }>;

const pedidosOf = (messages: ServerMessage[]) =>
  messages.filter((m): m is PedidosMessage => m.type === 'pedidos');

/** Inserts `n` rows with one statement, as a back office would (captured by the triggers). */
async function bulkInsert(
  ts: TestServer,
  dialect: DialectName,
  table: 'pedidos' | 'produtos',
  n: number,
  prefix: string,
  storeId?: string,
): Promise<void> {
  const sql = await rawSql(ts.db);
  try {
    const series =
      dialect === 'sqlite'
        ? `WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < ${n}) SELECT x FROM s`
        : `SELECT generate_series(1, ${n}) AS x`;
    if (table === 'pedidos')
      await sql.exec(
        `INSERT INTO pedidos (id, store_id, numero, status, observacao) SELECT '${prefix}' || x, ?, x, 'novo', 'pedido de teste com algum texto' FROM (${series}) AS g`,
        [storeId],
      );
    else
      await sql.exec(
        `INSERT INTO produtos (id, nome, preco) SELECT '${prefix}' || x, 'Produto ' || x, 9.9 FROM (${series}) AS g`,
      );
  } finally {
    await sql.close();
  }
}

/** Fair sharing between stores (PITFALLS #20), registered once per storage engine. */
export function fairnessSuite(dialect: DialectName): void {
  void describe(`fair sharing between stores (${dialect})`, () => {
    let ts: TestServer;
    let url: string;
    const clients: LiveTestClient[] = [];
    const open = async (path: string, token: string) => {
      const c = await connectLive(liveUrl(url, path, { token }));
      clients.push(c);
      return c;
    };

    before(async () => {
      ts = await startTestServer(dialect, {
        wsHeartbeatMs: 10_000,
        wsMaxConnectionsPerToken: 2,
        wsSnapshotMaxRows: 50,
        wsMessageRate: 5,
        costBurstBytes: 400_000,
        costRateBytes: 100_000,
        costMaxInFlight: 1,
        costMaxQueued: 2,
        costRefusalDelayMs: 300,
        bodyTimeoutMs: 400,
        bodyLimitBytes: 200_000,
        costBodyBurstBytes: 300_000,
        costBodyRateBytes: 30_000,
        rateLimit: 1_000_000,
        // Per-token request turns are tested on a server of their own below; here they stay
        // out of the way of the heavy-request turns under test.
        requestMaxInFlight: 16,
      });
      url = await ts.server.listen();
      await bulkInsert(ts, dialect, 'pedidos', 80, 'pa-', 'store-a');
      await bulkInsert(ts, dialect, 'pedidos', 3, 'pb-', 'store-b');
    });
    after(async () => {
      for (const c of clients) c.ws.terminate();
      await ts.close();
    });

    void test('get_pedidos answers the whole list up to the bound, marked truncated past it', async () => {
      const a = await open('/ws/pedidos', await ts.device('store-a', 'a-screen'));
      const b = await open('/ws/pedidos', await ts.device('store-b', 'b-screen'));
      a.send({ type: 'get_pedidos' });
      b.send({ type: 'get_pedidos' });
      await a.waitFor((m) => pedidosOf(m).length === 1);
      await b.waitFor((m) => pedidosOf(m).length === 1);
      const [big] = pedidosOf(a.messages);
      const [small] = pedidosOf(b.messages);
      assert.equal(big.pedidos.length, 50);
      assert.equal(big.truncated, true);
      // A normal store's screen sees its whole list, unmarked, and only its own rows.
      assert.equal(small.pedidos.length, 3);
      assert.equal(small.truncated, undefined);
      assert.ok(small.pedidos.every((p) => p['store_id'] === 'store-b'));
    });

    void test('a get_pedidos flood is coalesced and rate limited; the other store is still answered', async () => {
      const flooder = await open('/ws/pedidos', await ts.device('store-a', 'a-flood'));
      const victim = await open('/ws/pedidos', await ts.device('store-b', 'b-victim'));
      for (let i = 0; i < 200; i++) flooder.send({ type: 'get_pedidos' });
      await flooder.waitFor((m) =>
        m.some((x) => x.type === 'error' && (x as { code: string }).code === 'RATE_LIMITED'),
      );
      victim.send({ type: 'get_pedidos' });
      await victim.waitFor((m) => pedidosOf(m).length === 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // 200 requests: a burst of 10 messages at most was read, and repeats were coalesced.
      const answered = pedidosOf(flooder.messages).length;
      assert.ok(answered >= 1 && answered <= 10, `${answered} snapshots answered`);
      const notices = flooder.messages.filter((m) => m.type === 'error').length;
      assert.ok(notices <= 3, `${notices} notices: a flood must not be answered by a flood`);
    });

    void test('queued snapshot work of a connection that is gone is dropped', async () => {
      const hub = ts.server.ctx.live;
      // The real feed, slowed: the first list read holds the (one at a time) snapshot turn
      // long enough for the others to queue behind it and go away.
      const feed = (hub as unknown as { pedidos: PedidosFeed }).pedidos;
      const read = feed.snapshot.bind(feed);
      feed.snapshot = async (...args: Parameters<PedidosFeed['snapshot']>) => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        return read(...args);
      };
      try {
        const holder = await open('/ws/pedidos', await ts.device('store-hold', 'hold-1'));
        // Distinct stores: no cached list can be shared, each would need its own read.
        const gone: LiveTestClient[] = [];
        for (let i = 0; i < 6; i++)
          gone.push(await open('/ws/pedidos', await ts.device(`store-gone-${i}`, `gone-${i}`)));
        const before = hub.snapshotReads;
        holder.send({ type: 'get_pedidos' });
        await new Promise((resolve) => setTimeout(resolve, 50));
        for (const c of gone) c.send({ type: 'get_pedidos' });
        await new Promise((resolve) => setTimeout(resolve, 50));
        for (const c of gone) await c.close();
        await holder.waitFor((m) => pedidosOf(m).length === 1);
        await new Promise((resolve) => setTimeout(resolve, 600));
        assert.equal(hub.snapshotReads - before, 1, 'only the live connection was read for');
        // Control: a connection that stays gets its answer after the holder's.
        const stays = await open('/ws/pedidos', await ts.device('store-gone-0', 'stays'));
        stays.send({ type: 'get_pedidos' });
        await stays.waitFor((m) => pedidosOf(m).length === 1);
        assert.equal(hub.snapshotReads - before, 2);
      } finally {
        feed.snapshot = read;
      }
    });

    void test('one token cannot take every WebSocket slot: past its share, 1013', async () => {
      const token = await ts.device('store-a', 'a-grabber');
      await open('/ws', token);
      await open('/ws/pedidos', token);
      const third = await connectLive(liveUrl(url, '/ws', { token }));
      clients.push(third);
      assert.equal(await third.closed, 1013);
      // Another token of the same store still gets a slot; a freed slot can be reused.
      const other = await open('/ws', await ts.device('store-a', 'a-other'));
      await other.waitFor((m) => m.some((x) => x.type === 'connection'));
      await clients[clients.length - 3].close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const again = await open('/ws', token);
      await again.waitFor((m) => m.some((x) => x.type === 'connection'));
    });

    void test('heavy reads are charged by size: the heavy reader gets 429, another token does not', async () => {
      await bulkInsert(ts, dialect, 'produtos', 3000, 'heavy-');
      const heavy = await ts.device('store-a', 'a-heavy');
      const light = await ts.device('store-b', 'b-light');
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      let refusalMs = Infinity;
      for (let i = 0; i < 12; i++) {
        const started = performance.now();
        const res = await ts.request(heavy, { method: 'GET', url: '/api/products?limit=3000' });
        statuses.push(res.statusCode);
        if (res.statusCode === 429) {
          refusalMs = Math.min(refusalMs, performance.now() - started);
          retryAfter = res.headers['retry-after'];
          assert.equal(res.json<{ code: string }>().code, 'RATE_LIMITED');
        }
      }
      // A refusal comes after the pause: asking again at once cannot keep the server busy.
      assert.ok(refusalMs >= 280, `a 429 came after ${refusalMs} ms`);
      assert.ok(statuses.includes(200), statuses.join(','));
      assert.ok(statuses.includes(429), `never limited: ${statuses.join(',')}`);
      assert.ok(Number(retryAfter) >= 1, `Retry-After ${retryAfter}`);
      const res = await ts.request(light, { method: 'GET', url: '/api/products?limit=10' });
      assert.equal(res.statusCode, 200, res.body);
      // Cheap routes of the heavy reader are not charged: its schema still answers.
      const cheap = await ts.request(heavy, { method: 'GET', url: '/api/schema' });
      assert.equal(cheap.statusCode, 200);
    });

    void test('a large list is read in slices: a pull of another store is answered in between', async () => {
      await bulkInsert(ts, dialect, 'produtos', 2000, 'slice-');
      const storage = ts.server.ctx.storage;
      let slices = 0;
      let slicesBeforePull = -1;
      let pull: Promise<void> | undefined;
      let rows = 0;
      // Small slices, so the scan takes many turns (on PostgreSQL, many round trips) and the
      // window in which the pull must be answered is wide even on a loaded machine; a read
      // beforehand leaves an idle connection, so the pull does not wait for a new one.
      await storage.read((r) => r.all(`SELECT 1 AS one`));
      await storage.bulkRead((tx) =>
        tx.scan(`SELECT * FROM produtos WHERE id LIKE 'slice-%' ORDER BY id`, [], 4, (slice) => {
          slices++;
          rows += slice.length;
          // The first slice is in: a pull (its own read) starts now and must not wait for the rest.
          if (slices === 1)
            pull = storage
              .read((r) => r.all(`SELECT COUNT(*) AS n FROM pedidos`))
              .then(() => void (slicesBeforePull = slices));
        }),
      );
      await pull;
      assert.equal(rows, 2000);
      assert.equal(slices, 500);
      assert.ok(
        slicesBeforePull >= 1 && slicesBeforePull < slices,
        `the pull was answered after slice ${slicesBeforePull} of ${slices}`,
      );
    });

    void test('request bodies are charged as they inflate: large bodies back to back get 429, another store is served', async () => {
      const heavy = await ts.device('store-a', 'a-bodies');
      const light = await ts.device('store-b', 'b-bodies');
      const at = new Date().toISOString();
      const push = (token: string, machineId: string, prefix: string, n: number) => {
        const mutations = Array.from({ length: n }, (_, i) => ({
          eventId: `${prefix}-${i}`,
          table: 'pedidos',
          op: 'upsert',
          updatedAt: at,
          record: {
            id: `${prefix}-${i}`,
            store_id: machineId.startsWith('a-') ? 'store-a' : 'store-b',
            numero: i,
            status: 'novo',
            observacao: 'x'.repeat(200),
          },
        }));
        // gzip: ~100 KB of JSON in a few KB on the wire, so only the inflated size can count.
        return ts.request(token, {
          method: 'POST',
          url: '/api/sync/push',
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          payload: gzipSync(JSON.stringify({ machineId, mutations })),
        });
      };
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<typeof push>> | undefined;
      for (let i = 0; i < 6; i++) {
        const res = await push(heavy, 'a-bodies', `big-${i}`, 300);
        statuses.push(res.statusCode);
        if (res.statusCode === 429) limited ??= res;
      }
      // 300,000 bytes of budget: three ~100 KB bodies pass, then the token is in debt.
      assert.deepEqual(statuses.slice(0, 2), [200, 200], statuses.join(','));
      assert.ok(limited, `never limited: ${statuses.join(',')}`);
      assert.equal(limited.json<{ code: string }>().code, 'RATE_LIMITED');
      assert.ok(Number(limited.headers['retry-after']) >= 1, limited.body);
      const other = await push(light, 'b-bodies', 'small', 5);
      assert.equal(other.statusCode, 200, other.body);
    });

    void test('heavy requests of one token beyond its turns and queue are refused, not piled up', async () => {
      const token = await ts.device('store-c', 'c-parallel');
      // One request first, so the token's identity is cached and the eight below reach the
      // limiter together instead of one by one behind an asynchronous token lookup.
      assert.equal(
        (await ts.request(token, { method: 'GET', url: '/api/schema' })).statusCode,
        200,
      );
      const answers = await Promise.all(
        Array.from({ length: 8 }, () =>
          ts.request(token, { method: 'GET', url: '/api/orders?limit=5' }),
        ),
      );
      const codes = answers.map((r) => r.statusCode);
      // One running and two waiting (costMaxInFlight 1, costMaxQueued 2): the rest are 429.
      assert.ok(
        codes.every((c) => c === 200 || c === 429),
        codes.join(','),
      );
      assert.ok(codes.filter((c) => c === 200).length >= 3, codes.join(','));
      assert.ok(codes.filter((c) => c === 429).length >= 2, codes.join(','));
    });

    void test('a token keeping many cheap requests in flight does not hold another store up', async () => {
      const own = await startTestServer(dialect, { requestMaxInFlight: 1, rateLimit: 1_000_000 });
      const base = await own.server.listen();
      const abuser = await own.device('store-a', 'a-flood');
      const victim = await own.device('store-b', 'b-flood');
      const agent = new Agent({ keepAlive: true, maxSockets: 40 });
      const victimAgent = new Agent({ keepAlive: true, maxSockets: 1 });
      const get = (a: Agent, token: string, path: string) =>
        new Promise<number>((resolve, reject) => {
          httpGet(`${base}${path}`, { agent: a, headers: { 'x-api-key': token } }, (res) => {
            res.resume();
            res.once('end', () => resolve(res.statusCode ?? 0));
          }).once('error', reject);
        });
      try {
        assert.equal(await get(victimAgent, victim, '/api/orders?limit=5'), 200);
        // 40 connections, each asking again as soon as it is answered.
        let answered = 0;
        let running = true;
        const loops = Array.from({ length: 40 }, async () => {
          while (running) {
            assert.equal(await get(agent, abuser, '/api/orders?limit=5'), 200);
            answered++;
          }
        });
        while (answered < 200) await new Promise((r) => setTimeout(r, 5));
        // How many of the abuser's answers go out while one request of the victim waits: with
        // no turns, every request ready in one turn of the event loop (about 40) goes first.
        const between: number[] = [];
        for (let i = 0; i < 9; i++) {
          const before = answered;
          assert.equal(await get(victimAgent, victim, '/api/orders?limit=5'), 200);
          between.push(answered - before);
        }
        running = false;
        await Promise.all(loops);
        between.sort((a, b) => a - b);
        assert.ok(
          between[4] <= 8,
          `abuser answers during each victim request: ${between.join(',')}`,
        );
      } finally {
        agent.destroy();
        victimAgent.destroy();
        await own.close();
      }
    });

    void test('a request body that trickles in is cut with 408 REQUEST_TIMEOUT', async () => {
      const token = await ts.device('store-c', 'c-slow');
      const { port, hostname } = new URL(url);
      const started = Date.now();
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(
            `POST /api/sync/status HTTP/1.1\r\nHost: x\r\nx-api-key: ${token}\r\n` +
              `content-type: application/json\r\ncontent-length: 1000\r\n\r\n{"machineId":`,
          );
          const drip = setInterval(() => socket.write(' '), 100);
          socket.once('close', () => clearInterval(drip));
        });
        let out = '';
        socket.on('data', (d: Buffer) => (out += d.toString()));
        socket.once('close', () => resolve(out));
        socket.once('error', reject);
        setTimeout(() => {
          socket.destroy();
          reject(new Error(`still open after 10 s: ${out}`));
        }, 10_000).unref();
      });
      assert.match(answer, /^HTTP\/1\.1 408/);
      assert.match(answer, /"code":"REQUEST_TIMEOUT"/);
      assert.ok(Date.now() - started < 5000);
      // A body that arrives in time is unaffected.
      const ok = await ts.request(adminToken, { method: 'GET', url: '/health' });
      assert.equal(ok.statusCode, 200);
    });
  });

  void describe(`limits never throttle a legitimate till (${dialect})`, () => {
    let ts: TestServer;
    before(async () => {
      // Default limits: what a production server runs with.
      ts = await startTestServer(dialect);
    });
    after(() => ts.close());

    void test('a first sync of 100,000 rows, then a catch-up of 10,000 sales, without one 429', async () => {
      await bulkInsert(ts, dialect, 'produtos', 100_000, 'first-');
      const token = await ts.device('store-till', 'till-1');
      let cursor: string | undefined;
      let rows = 0;
      for (let pages = 0; pages < 30; pages++) {
        const res = await ts.request(token, {
          method: 'GET',
          url: `/api/sync/changes?limit=10000${cursor ? `&since=${encodeURIComponent(cursor)}` : ''}`,
        });
        assert.equal(res.statusCode, 200, res.body.slice(0, 300));
        const page = res.json<{ changes: unknown[]; cursor: string; hasMore: boolean }>();
        rows += page.changes.length;
        cursor = page.cursor;
        if (!page.hasMore) break;
      }
      assert.ok(rows >= 100_000, `${rows} rows pulled`);
      const at = new Date().toISOString();
      for (let batch = 0; batch < 10; batch++) {
        const mutations = [];
        for (let i = 0; i < 1000; i++) {
          const id = `v-${batch}-${i}`;
          mutations.push(
            {
              eventId: `e-${id}`,
              table: 'vendas',
              op: 'upsert',
              updatedAt: at,
              record: { id, store_id: 'store-till', total: 10, data_hora: at },
            },
            {
              eventId: `e-${id}-i`,
              table: 'itens_venda',
              op: 'upsert',
              updatedAt: at,
              record: {
                id: `${id}-i`,
                store_id: 'store-till',
                venda_id: id,
                id_produto: 'first-1',
                qtd: 1,
                total: 10,
              },
            },
          );
        }
        const res = await ts.request(token, {
          method: 'POST',
          url: '/api/sync/push',
          payload: { machineId: 'till-1', mutations },
        });
        assert.equal(res.statusCode, 200, res.body.slice(0, 300));
        const results = res.json<{ results: { status: string }[] }>().results;
        assert.equal(
          results.filter((r) => r.status === 'applied').length,
          2000,
          res.body.slice(0, 500),
        );
      }
    });
  });
}
