import type Database from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';

/**
 * A sale as a POS app writes it into a terminal's local database with plain SQL:
 * 1 venda, 3 itens_venda and 1 pagamento in one transaction. Amounts vary with
 * `n` and stay exact in binary, so sums compare exactly.
 */
export function sellLocally(db: Database.Database, n = 0): { id: string; total: number } {
  const id = uuidv7();
  let total = 0;
  db.transaction(() => {
    for (let i = 0; i < 3; i++) {
      const price = 10 + i + (n % 7) * 0.25;
      total += price;
      db.prepare(
        `INSERT INTO itens_venda (id, venda_id, id_produto, nome, qtd, total) VALUES (?, ?, ?, ?, 1, ?)`,
      ).run(uuidv7(), id, `p${i}`, `Produto ${i}`, price);
    }
    db.prepare(`INSERT INTO vendas (id, data_hora, total) VALUES (?, ?, ?)`).run(
      id,
      new Date().toISOString(),
      total,
    );
    db.prepare(
      `INSERT INTO pagamentos (id, venda_id, meio, valor) VALUES (?, ?, 'Dinheiro', ?)`,
    ).run(uuidv7(), id, total);
  })();
  return { id, total };
}
