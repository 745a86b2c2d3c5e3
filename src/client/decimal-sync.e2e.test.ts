import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { protocolVersion } from '../protocol/index.js';
import {
  fixtureAdminToken,
  startServerFixture,
  type ServerFixture,
} from '../testing/terminal-fixture.js';
import type { DialectName } from '../testing/test-server.js';

/** Amounts a POS app computes in floats, and what the server must hold for each. */
const amounts: [number, string][] = [
  [0.1, '0.10'],
  [0.2, '0.20'],
  [0.1 + 0.2, '0.30'],
  [10.99 * 3, '32.97'],
  [-2, '-2.00'],
  [9999999999999.99, '9999999999999.99'],
];

for (const dialect of ['sqlite', 'postgres'] as DialectName[]) {
  describe(`money from till to till, exactly (${dialect})`, () => {
    let fx: ServerFixture;
    let tokenA: string;
    let tokenB: string;
    before(async () => {
      fx = await startServerFixture(dialect);
      tokenA = await fx.device('loja-1', 'caixa-a');
      tokenB = await fx.device('loja-1', 'caixa-b');
    });
    after(() => fx.close());

    test('amounts written with plain SQL reach the server as exact decimals and the other till as the same numbers', async () => {
      const a = fx.terminal('money-a', tokenA);
      const b = fx.terminal('money-b', tokenB);
      try {
        await a.prepare();
        const ids = amounts.map(() => uuidv7());
        const insert = a.db.prepare(`INSERT INTO produtos (id, nome, preco) VALUES (?, 'p', ?)`);
        amounts.forEach(([value], i) => insert.run(ids[i], value));
        const sent = await a.syncAllTables();
        assert.notEqual(sent.summary.status, 'error', a.state.lastError ?? '');
        assert.deepEqual(a.deadLetters(), []);

        for (const [i, id] of ids.entries()) {
          const res = await fetch(`${fx.url}/api/tables/produtos/${id}`, {
            headers: {
              'x-api-key': fixtureAdminToken,
              'x-pdv-sync-protocol': String(protocolVersion),
            },
          });
          const body = (await res.json()) as { row: Record<string, unknown> };
          assert.equal(body.row['preco'], amounts[i]?.[1], `server holds ${amounts[i]?.[1]}`);
        }

        await b.prepare();
        const got = await b.syncAllTables();
        assert.notEqual(got.summary.status, 'error', b.state.lastError ?? '');
        for (const [i, id] of ids.entries()) {
          const row = b.db
            .prepare(`SELECT preco, typeof(preco) AS t FROM produtos WHERE id = ?`)
            .get(id) as { preco: number; t: string };
          assert.equal(row.t, 'real', 'the till keeps numbers for the POS app');
          assert.equal(row.preco, Number(amounts[i]?.[1]));
        }
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
