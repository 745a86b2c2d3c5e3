import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { ChangesMessage, LiveChange } from '../protocol/index.js';
import { connectLive, liveUrl, type LiveTestClient } from './live-client.js';
import { rawSql, type RawSql } from './raw-sql.js';
import { adminToken, startTestServer, type DialectName, type TestServer } from './test-server.js';

type Op = { kind: 'create' | 'update' | 'delete'; slot: number };
type Tx = { ops: Op[]; rollback: boolean; settle: boolean };

const changesOf = (client: LiveTestClient): LiveChange[] =>
  client.messages
    .filter((m): m is ChangesMessage => m.type === 'changes')
    .flatMap((m) => m.changes)
    .filter((c) => c.table === 'pedidos');

/**
 * Model-based: random create/update/delete sequences, in one or several
 * transactions (some rolled back), by SQL straight into the table, with a live
 * client listening. The client never misses a create (the first news of a row it
 * did not know is `create`, never `update`), never hears of a row that was never
 * committed, and ends knowing exactly the rows that exist.
 */
export function liveCreatesSuite(dialect: DialectName): void {
  describe(`every create announced (${dialect})`, () => {
    let ts: TestServer;
    let url: string;
    let sql: RawSql;
    let run = 0;

    before(async () => {
      ts = await startTestServer(dialect, { wsHeartbeatMs: 10_000 });
      url = await ts.server.listen();
      sql = await rawSql(ts.db);
    });
    after(async () => {
      await sql.close();
      await ts.close();
    });

    const op = fc.record({
      kind: fc.constantFrom('create' as const, 'update' as const, 'delete' as const),
      slot: fc.integer({ min: 0, max: 4 }),
    });
    const tx = fc.record({
      ops: fc.array(op, { minLength: 1, maxLength: 5 }),
      rollback: fc.boolean().map((b) => b && Math.random() < 0.3),
      settle: fc.boolean(),
    });

    test('a live client never misses a create and never hears of a row it cannot know', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(tx, { minLength: 1, maxLength: 6 }), async (txs: Tx[]) => {
          const prefix = `m${++run}-${Date.now()}`;
          const client = await connectLive(
            liveUrl(url, '/ws', { token: adminToken, tables: 'pedidos' }),
          );
          try {
            await client.waitFor((m) => m.some((x) => x.type === 'connection'));
            const exists = new Set<string>(); // committed model
            const everCommitted = new Set<string>();
            for (const t of txs) {
              const local = new Set(exists);
              await sql.exec(dialect === 'sqlite' ? 'BEGIN IMMEDIATE' : 'BEGIN');
              for (const o of t.ops) {
                const id = `${prefix}-${o.slot}`;
                if (o.kind === 'create' && !local.has(id)) {
                  await sql.exec(
                    `INSERT INTO pedidos (id, store_id, status, numero) VALUES (?, 's1', 'novo', ?)`,
                    [id, o.slot],
                  );
                  local.add(id);
                } else if (o.kind === 'update' && local.has(id)) {
                  await sql.exec(
                    `UPDATE pedidos SET status = 'pronto', numero = numero + 1 WHERE id = ?`,
                    [id],
                  );
                } else if (o.kind === 'delete' && local.has(id)) {
                  await sql.exec(`DELETE FROM pedidos WHERE id = ?`, [id]);
                  local.delete(id);
                }
              }
              await sql.exec(t.rollback ? 'ROLLBACK' : 'COMMIT');
              if (!t.rollback) {
                exists.clear();
                for (const id of local) {
                  exists.add(id);
                  everCommitted.add(id);
                }
                // Rows created and deleted in one transaction never existed for anyone.
              }
              if (t.settle) await new Promise((r) => setTimeout(r, 30));
            }
            const marker = `${prefix}-end`;
            await sql.exec(
              `INSERT INTO pedidos (id, store_id, status, numero) VALUES (?, 's1', 'novo', 0)`,
              [marker],
            );
            await client.waitFor(
              (m) => m.some((x) => x.type === 'changes' && x.changes.some((c) => c.id === marker)),
              30_000,
            );
            const known = new Set<string>();
            for (const c of changesOf(client)) {
              if (!c.id.startsWith(`${prefix}-`) || c.id === marker) continue;
              // Never a row that no committed transaction left existing at its end.
              assert.ok(
                everCommitted.has(c.id) || c.action === 'delete',
                `heard of ${c.id} (${c.action}), never committed`,
              );
              if (c.action === 'update')
                assert.ok(
                  known.has(c.id),
                  `"update" for ${c.id}, which the client was never told of`,
                );
              if (c.action === 'delete') known.delete(c.id);
              else known.add(c.id);
            }
            assert.deepEqual([...known].sort(), [...exists].sort());
          } finally {
            client.ws.terminate();
          }
        }),
        { numRuns: 25, includeErrorInReport: true },
      );
    });
  });
}
