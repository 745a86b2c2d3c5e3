import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SyncClient } from './index.js';
import { FaultProxy } from '../testing/fault-proxy.js';
import { connectLive, liveUrl } from '../testing/live-client.js';
import { startServerProcess, type ServerProcess } from '../testing/server-process.js';
import {
  fixtureAdminToken,
  startServerFixture,
  type ServerFixture,
} from '../testing/terminal-fixture.js';
import type { DialectName } from '../testing/test-server.js';

type Row = Record<string, unknown>;

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

const localPedidos = (t: SyncClient, store?: string): Row[] =>
  t.db
    .prepare(`SELECT * FROM pedidos ${store ? 'WHERE store_id = ?' : ''} ORDER BY id`)
    .all(...(store ? [store] : [])) as Row[];

const pedido = (id: string, store: string, status = 'novo') => ({
  id,
  store_id: store,
  status,
  numero: Number(id.replace(/\D/g, '')) || 1,
});

for (const dialect of ['sqlite', 'postgres'] as DialectName[]) {
  describe(`live updates between terminals (${dialect})`, () => {
    let fx: ServerFixture;
    const terminals: SyncClient[] = [];
    const terminal = (name: string, token: string, serverUrl?: string) => {
      const t = fx.liveTerminal(name, token, serverUrl ? { serverUrl } : {});
      terminals.push(t);
      t.start();
      return t;
    };
    before(async () => {
      fx = await startServerFixture(dialect);
    });
    after(async () => {
      for (const t of terminals) await t.stop().catch(() => undefined);
      await fx.close();
    });

    test('a pedido made on one till reaches the other tills of its store at once, and no other store', async () => {
      const a1 = terminal('a1', await fx.device('loja-a', 'a1'));
      const a2 = terminal('a2', await fx.device('loja-a', 'a2'));
      const b1 = terminal('b1', await fx.device('loja-b', 'b1'));
      for (const t of [a1, a2, b1])
        await until('live connection', () => t.liveState === 'connected');
      await a1.prepare();
      // The periodic sync is 10 minutes away: only a live notification makes a2 pull now.
      const sent = await a1.sendToServer('pedidos', [pedido('p-101', 'loja-a')]);
      assert.equal(sent.success, true);
      const ms = await until('a2 to receive p-101', () =>
        localPedidos(a2).some((r) => r['id'] === 'p-101'),
      );
      await fx.admin('PUT', '/api/tables/produtos/prod-live', {
        id: 'prod-live',
        nome: 'Café',
        preco: 7.5,
      });
      const count = (t: SyncClient) =>
        (
          t.db.prepare(`SELECT COUNT(*) AS n FROM produtos WHERE id = 'prod-live'`).get() as {
            n: number;
          }
        ).n;
      await until('every till to receive the product', () =>
        [a1, a2, b1].every((t) => count(t) === 1),
      );
      assert.equal(localPedidos(b1).length, 0, 'store B never sees store A’s pedidos');
      assert.ok(ms < 5000, `delivered in ${ms} ms`);
    });

    test('a till cut off during writes converges after reconnecting, with no gap and no duplicate', async () => {
      const proxy = await FaultProxy.start(fx.url);
      try {
        const token = await fx.device('loja-c', 'c1');
        const t = terminal('c1', token, proxy.url);
        await until('live connection', () => t.liveState === 'connected');
        await t.syncNow(); // the local tables exist once the first sync has fetched the schema
        const states: string[] = [];
        t.onLive((s) => states.push(s));
        proxy.mode = { kind: 'reset' };
        await until('the till to notice', () => t.liveState !== 'connected');
        for (let i = 0; i < 30; i++)
          await fx.admin('PUT', `/api/tables/pedidos/pc-${i}`, pedido(`pc-${i}`, 'loja-c'));
        for (let i = 0; i < 5; i++)
          await fx.admin('DELETE', `/api/tables/pedidos/pc-${i}?storeId=loja-c`);
        for (let i = 5; i < 10; i++)
          await fx.admin(
            'PUT',
            `/api/tables/pedidos/pc-${i}`,
            pedido(`pc-${i}`, 'loja-c', 'pronto'),
          );
        proxy.mode = { kind: 'pass' };
        const server = await fx.admin<{ rows: Row[] }>('GET', '/api/tables/pedidos?limit=10000');
        const expected = server.rows
          .filter((r) => r['store_id'] === 'loja-c')
          .map((r) => `${String(r['id'])}:${String(r['status'])}`)
          .sort();
        assert.equal(expected.length, 25);
        const local = () =>
          localPedidos(t, 'loja-c')
            .map((r) => `${String(r['id'])}:${String(r['status'])}`)
            .sort();
        await until('convergence', () => JSON.stringify(local()) === JSON.stringify(expected));
        assert.ok(states.includes('connected'), `went back to connected: ${states.join(' → ')}`);
        assert.equal(t.state.backlog, 0);
      } finally {
        await proxy.close();
      }
    });

    test('after a server restart every till is back within 3 s of the server', async () => {
      const t = terminal('r1', await fx.device('loja-r', 'r1'));
      await until('live connection', () => t.liveState === 'connected');
      await fx.server.stop('SIGTERM');
      await until('the till to notice', () => t.liveState !== 'connected');
      // Let the backoff grow to its cap before the server returns.
      await new Promise((r) => setTimeout(r, 4000));
      await fx.restart('SIGTERM');
      const ms = await until('reconnection', () => t.liveState === 'connected', 10_000);
      assert.ok(ms <= 3500, `reconnected ${ms} ms after the server was ready`);
      await fx.admin('PUT', '/api/tables/pedidos/pr-1', pedido('pr-1', 'loja-r'));
      await until('a change after the restart', () =>
        localPedidos(t).some((r) => r['id'] === 'pr-1'),
      );
    });

    if (dialect === 'postgres')
      test('two server processes on one PostgreSQL deliver to each other’s clients', async () => {
        const second: ServerProcess = await startServerProcess([], {
          cwd: fx.dir,
          env: { ...fx.env, PDV_SYNC_PORT: '0' },
        });
        try {
          const token = await fx.device('loja-s', 's1');
          // A till on process A; writes arrive through process B.
          const t = terminal('s1', token);
          // Its local tables exist before anything is read from them (live comes up first).
          await t.prepare();
          await until('live connection', () => t.liveState === 'connected');
          const onB = await connectLive(liveUrl(second.url, '/ws/pedidos', { token }));
          await onB.waitFor((m) => m.some((x) => x.type === 'connection'));
          const res = await fetch(`${second.url}/api/tables/pedidos/ps-1`, {
            method: 'PUT',
            headers: { 'x-api-key': fixtureAdminToken, 'content-type': 'application/json' },
            body: JSON.stringify(pedido('ps-1', 'loja-s')),
          });
          assert.equal(res.status, 200);
          await until('the till on A to receive a write made through B', () =>
            localPedidos(t).some((r) => r['id'] === 'ps-1'),
          );
          // And the other way: the till pushes through A, a client of B hears it.
          assert.equal((await t.sendToServer('pedidos', [pedido('ps-2', 'loja-s')])).success, true);
          await onB.waitFor((m) =>
            m.some((x) => x.type === 'pedido_update' && x.pedido_id === 'ps-2'),
          );
          await onB.close();
        } finally {
          await second.stop();
        }
      });
  });
}
