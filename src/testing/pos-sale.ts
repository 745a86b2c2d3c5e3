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
  const s = saleStatements(db);
  db.transaction(() => {
    for (let i = 0; i < 3; i++) {
      const price = 10 + i + (n % 7) * 0.25;
      total += price;
      s.item.run(uuidv7(), id, `p${i}`, `Produto ${i}`, price);
    }
    s.venda.run(id, new Date().toISOString(), total);
    s.pagamento.run(uuidv7(), id, total);
  })();
  return { id, total };
}

type SaleStatements = {
  item: Database.Statement;
  venda: Database.Statement;
  pagamento: Database.Statement;
};
/**
 * Prepared once per connection, as a POS app would: preparing an insert compiles the table's
 * capture triggers (about 1 ms each), which made writing 10,000 sales take minutes.
 */
const statements = new WeakMap<Database.Database, SaleStatements>();
function saleStatements(db: Database.Database): SaleStatements {
  let s = statements.get(db);
  if (!s) {
    s = {
      item: db.prepare(
        `INSERT INTO itens_venda (id, venda_id, id_produto, nome, qtd, total) VALUES (?, ?, ?, ?, 1, ?)`,
      ),
      venda: db.prepare(`INSERT INTO vendas (id, data_hora, total) VALUES (?, ?, ?)`),
      pagamento: db.prepare(
        `INSERT INTO pagamentos (id, venda_id, meio, valor) VALUES (?, ?, 'Dinheiro', ?)`,
      ),
    };
    statements.set(db, s);
  }
  return s;
}
