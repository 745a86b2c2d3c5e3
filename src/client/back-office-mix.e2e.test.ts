import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { SyncClient } from './index.js';
import { startServerFixture, type ServerFixture } from '../testing/terminal-fixture.js';

/**
 * Back-office SQL written straight into a PostgreSQL server's tables while three live tills
 * listen: the capture triggers add no deadlock to the mix, and every till holds exactly the
 * server's table shortly after the load ends. A bounded version of `bench/back-office-mix.mjs`
 * (a few seconds of load, short transactions, its own schema).
 */
const rowsTotal = 300;
const hotRows = 5;
const connections = 6;
const loadMs = 2500;

type Row = Record<string, unknown>;
type MixStats = { transactions: number; deadlocks: number; otherErrors: string[] };

const checksum = (rows: Row[]): string =>
  createHash('sha256')
    .update(
      rows
        .map((r) => `${String(r['id'])}|${String(r['nome'])}|${Number(r['preco'])}`)
        .sort()
        .join('\n'),
    )
    .digest('hex');

describe('back-office SQL mix on PostgreSQL with three live tills', () => {
  let fx: ServerFixture;
  let admin: pg.Client;
  const tills: SyncClient[] = [];
  const connect = async (): Promise<pg.Client> => {
    const c = new pg.Client({
      connectionString: fx.db.url,
      options: `-c search_path=${fx.db.pgSchema}`,
    });
    await c.connect();
    return c;
  };

  /** pgbench-style transactions on several connections: upserts, hot rows, deletes, two-row updates. */
  async function mix(table: string): Promise<MixStats> {
    const stats: MixStats = { transactions: 0, deadlocks: 0, otherErrors: [] };
    const end = Date.now() + loadMs;
    const pick = (n: number) => 1 + Math.floor(Math.random() * n);
    await Promise.all(
      Array.from({ length: connections }, async () => {
        const c = await connect();
        try {
          while (Date.now() < end) {
            const kind = Math.random();
            try {
              await c.query('BEGIN');
              if (kind < 0.3) {
                const id = pick(rowsTotal);
                await c.query(
                  `INSERT INTO ${table} (id, nome, preco) VALUES ($1, $2, $3)
                   ON CONFLICT (id) DO UPDATE SET nome = EXCLUDED.nome, preco = EXCLUDED.preco`,
                  [`p${id}`, `produto ${id} v${Date.now()}`, pick(1000)],
                );
              } else if (kind < 0.55) {
                await c.query(`UPDATE ${table} SET preco = preco + 1 WHERE id = $1`, [
                  `p${pick(hotRows)}`,
                ]);
              } else if (kind < 0.65) {
                await c.query(`DELETE FROM ${table} WHERE id = $1`, [
                  `p${hotRows + pick(rowsTotal - hotRows)}`,
                ]);
              } else {
                // Two rows in ascending id order: this cannot deadlock on a table without triggers.
                const [x, y] = [`p${pick(rowsTotal)}`, `p${pick(rowsTotal)}`].sort();
                await c.query(`UPDATE ${table} SET preco = preco + 1 WHERE id = $1`, [x]);
                await c.query(`UPDATE ${table} SET preco = preco - 1 WHERE id = $1`, [y]);
              }
              await c.query('COMMIT');
              stats.transactions++;
            } catch (err) {
              await c.query('ROLLBACK').catch(() => undefined);
              const code = (err as { code?: string }).code;
              if (code === '40P01') stats.deadlocks++;
              else stats.otherErrors.push(`${code}: ${(err as Error).message}`);
            }
          }
        } finally {
          await c.end();
        }
      }),
    );
    return stats;
  }

  before(async () => {
    fx = await startServerFixture('postgres');
    admin = await connect();
    await admin.query(
      `INSERT INTO produtos (id, nome, preco)
       SELECT 'p' || g, 'produto ' || g, g FROM generate_series(1, ${rowsTotal}) g`,
    );
    await admin.query(`CREATE TABLE produtos_plain (LIKE produtos INCLUDING ALL)`);
    await admin.query(`INSERT INTO produtos_plain SELECT * FROM produtos`);
  });
  after(async () => {
    for (const t of tills) await t.stop().catch(() => undefined);
    await admin?.end();
    await fx?.close();
  });

  // The 2 s target is measured on a quiet machine by the bench; under a full test run sharing
  // two cores the bound here is 5 s, still far below a periodic sync (10 minutes here).
  test('the capture triggers add no deadlock, and every till converges to the exact table in seconds', async () => {
    for (const name of ['bo-1', 'bo-2', 'bo-3']) {
      const till = fx.liveTerminal(name, await fx.device('loja-bo', name));
      tills.push(till);
      till.start();
    }
    const deadline = Date.now() + 20_000;
    while (!tills.every((t) => t.liveState === 'connected')) {
      assert.ok(Date.now() < deadline, 'live connections');
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const t of tills) await t.syncNow();

    const plain = await mix('produtos_plain');
    const captured = await mix('produtos');
    const loadEnded = Date.now();
    assert.deepEqual(captured.otherErrors, []);
    assert.ok(captured.transactions > 50, `${captured.transactions} transactions ran`);
    assert.ok(
      captured.deadlocks <= plain.deadlocks,
      `deadlocks with triggers ${captured.deadlocks}, without ${plain.deadlocks}`,
    );

    const target = checksum((await admin.query<Row>(`SELECT id, nome, preco FROM produtos`)).rows);
    const converged = await Promise.all(
      tills.map(async (t) => {
        for (;;) {
          if (checksum(await t.fetch('produtos')) === target) return Date.now() - loadEnded;
          if (Date.now() - loadEnded > 10_000) return Infinity;
          await new Promise((r) => setTimeout(r, 25));
        }
      }),
    );
    assert.ok(
      converged.every((ms) => ms <= 5000),
      `converged after ${converged.join(', ')} ms`,
    );
  });
});
