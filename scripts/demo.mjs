// `npm run demo`: a first look at pdv-sync in one command.
// A server on embedded SQLite in a temp folder, three tills of one store each
// behind a fault proxy, sales online and offline, a price change, and the
// proof that everything converged. Text in pt-BR first, English in parentheses.
// Exits 1 if anything did not converge. Everything is removed at the end.
/* global fetch, clearTimeout */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { SyncManager } from '../dist/client/index.js';
import { createServer, loadServerConfig } from '../dist/server/index.js';
import { FaultProxy } from '../dist/testing/fault-proxy.js';

const STORE = 'loja-01';
const TILLS = ['caixa-01', 'caixa-02', 'caixa-03'];
const OFFLINE_TILL = 'caixa-03';
const CATALOG = [
  { nome: 'Pão francês', preco: 0.9, unidade: 'un', codigo_barras: '2000000000015' },
  { nome: 'Café torrado 500 g', preco: 18.9, unidade: 'un', codigo_barras: '7891000100103' },
  { nome: 'Leite integral 1 L', preco: 5.49, unidade: 'un', codigo_barras: '7891000200204' },
  { nome: 'Açúcar refinado 1 kg', preco: 4.79, unidade: 'un', codigo_barras: '7891000300305' },
  { nome: 'Arroz tipo 1 5 kg', preco: 27.9, unidade: 'un', codigo_barras: '7891000400406' },
];
const CHANGED = 'Café torrado 500 g';
const NEW_PRICE = 21.5;
const PAYMENTS = ['Dinheiro', 'PIX', 'Cartão de débito'];

const started = Date.now();
const watchdog = setTimeout(() => {
  console.error('✘ A demonstração passou de 60 s e foi interrompida (the demo took over 60 s)');
  process.exit(1);
}, 60_000);
watchdog.unref();

const brl = (cents) => `R$ ${(cents / 100).toFixed(2).replace('.', ',')}`;
const cents = (value) => Math.round(Number(value) * 100);
const stateNames = {
  idle: 'ocioso (idle)',
  syncing: 'sincronizando (syncing)',
  synced: 'sincronizado (synced)',
  diverged: 'divergente (diverged)',
  offline: 'offline (offline)',
  error: 'erro (error)',
};

function step(n, text) {
  console.log(`\n${n}. ${text}`);
}

/** headers: [pt-BR, English] pairs, shown on two lines. */
function printTable(headers, rows) {
  const widths = headers.map((h, i) =>
    Math.max(h[0].length, h[1].length, ...rows.map((r) => String(r[i]).length)),
  );
  const line = (cells) =>
    `   ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' │ ')}`.trimEnd();
  console.log(line(headers.map((h) => h[0])));
  console.log(line(headers.map((h) => h[1])));
  console.log(`   ${widths.map((w) => '─'.repeat(w)).join('─┼─')}`);
  for (const r of rows) console.log(line(r));
}

/** One sale as the POS app writes it: 1 venda + 3 itens_venda + 1 pagamento, plain SQL, one transaction. */
function sell(db, n) {
  const produtos = db.prepare(`SELECT id, nome, preco FROM produtos ORDER BY nome`).all();
  const id = uuidv7();
  let total = 0;
  db.transaction(() => {
    for (let i = 0; i < 3; i++) {
      const p = produtos[(n + i) % produtos.length];
      const qtd = 1 + ((n + i) % 3);
      const itemCents = cents(p.preco) * qtd;
      total += itemCents;
      db.prepare(
        `INSERT INTO itens_venda (id, venda_id, id_produto, nome, qtd, preco_unitario, total)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(uuidv7(), id, p.id, p.nome, qtd, p.preco, itemCents / 100);
    }
    db.prepare(
      `INSERT INTO vendas (id, data_hora, total, canal, status) VALUES (?, ?, ?, 'PDV', 'concluida')`,
    ).run(id, new Date().toISOString(), total / 100);
    db.prepare(`INSERT INTO pagamentos (id, venda_id, meio, valor) VALUES (?, ?, ?, ?)`).run(
      uuidv7(),
      id,
      PAYMENTS[n % PAYMENTS.length],
      total / 100,
    );
  })();
  return total;
}

const dir = mkdtempSync(join(tmpdir(), 'pdv-sync-demo-'));
let server = null;
const tills = [];
const checks = [];
const check = (ok, text) => checks.push({ ok: Boolean(ok), text });
const eq = (a, b) => (a === b ? '=' : '≠');

async function main() {
  // 1. Server: embedded SQLite in the temp folder, random free port, its own admin token.
  // The environment is not read (env = {}), so a developer's .env cannot change the demo.
  const config = loadServerConfig(
    {
      db: `sqlite:${join(dir, 'servidor.db')}`,
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      logFile: '',
    },
    {},
  );
  server = await createServer(config);
  const url = await server.listen();
  const adminToken = server.newAdminToken;
  if (!adminToken) throw new Error('the new database did not create an admin token');
  const admin = async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        'x-api-key': adminToken,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text);
  };

  console.log('pdv-sync — demonstração (demo)');
  console.log('==============================');
  step(1, `Servidor no ar em ${url} (server up), SQLite embutido em ${dir} (embedded SQLite)`);
  console.log(
    `   Token de administrador criado para esta demo (admin token): ${adminToken.slice(0, 14)}…`,
  );

  // 2. Device tokens, each till behind its own fault proxy.
  for (const machineId of TILLS) {
    const { token } = await admin('POST', '/api/admin/devices', { storeId: STORE, machineId });
    const proxy = await FaultProxy.start(url);
    const manager = new SyncManager(join(dir, `${machineId}.db`), {
      serverUrl: proxy.url,
      token,
      logFile: '',
      logLevel: 'silent',
      timeoutMs: 3000,
      retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 200 },
    });
    tills.push({ name: machineId, proxy, manager, sales: 0, soldCents: 0 });
  }
  step(
    2,
    `Loja ${STORE}: ${TILLS.join(', ')} com token próprio, cada um atrás de um proxy de falhas ` +
      `(device tokens, each till behind a fault proxy)`,
  );

  // 3. Catalog through the admin API.
  const ids = new Map();
  for (const p of CATALOG) {
    const id = uuidv7();
    ids.set(p.nome, id);
    await admin('PUT', `/api/tables/produtos/${id}`, { ...p, ativo: true });
  }
  step(3, `${CATALOG.length} produtos cadastrados pela API de administração (products seeded):`);
  console.log(`   ${CATALOG.map((p) => `${p.nome} ${brl(cents(p.preco))}`).join(' · ')}`);

  const changedId = ids.get(CHANGED);
  const snapshot = () =>
    tills.map((t) => {
      const db = t.manager.db;
      const produtos = db.prepare(`SELECT COUNT(*) AS n FROM produtos`).get().n;
      const price = db.prepare(`SELECT preco FROM produtos WHERE id = ?`).get(changedId)?.preco;
      const local = db.prepare(`SELECT COUNT(*) AS n, SUM(total) AS s FROM vendas`).get();
      return {
        name: t.name,
        state: t.manager.state.state,
        backlog: t.manager.state.backlog,
        conflicts: t.manager.state.conflicts,
        deadLetters: t.manager.state.deadLetters,
        produtos,
        priceCents: price === undefined ? null : cents(price),
        localSales: local.n,
        localCents: cents(local.s ?? 0),
      };
    });
  const show = () => {
    const rows = snapshot();
    printTable(
      [
        ['Caixa', '(till)'],
        ['Estado', '(state)'],
        ['Pendentes', '(backlog)'],
        ['Produtos', '(products)'],
        ['Preço do café', '(coffee price)'],
        ['Vendas', '(sales)'],
        ['Vendido', '(sold)'],
      ],
      rows.map((r) => [
        r.name,
        stateNames[r.state] ?? r.state,
        r.backlog,
        r.produtos,
        r.priceCents === null ? '—' : brl(r.priceCents),
        r.localSales,
        brl(r.localCents),
      ]),
    );
    return rows;
  };

  // 4. Every till pulls the catalog and sells online.
  for (const t of tills) {
    await t.manager.prepare();
    await t.manager.syncAllTables();
  }
  let n = 0;
  for (const t of tills)
    for (let i = 0; i < 2; i++) {
      t.soldCents += sell(t.manager.db, n++);
      t.sales++;
    }
  for (const t of tills) await t.manager.syncAllTables();
  step(
    4,
    'Os três caixas baixam o catálogo e vendem online: 2 vendas cada (all three sell online)',
  );
  show();

  // 5. caixa-03 loses its network and keeps selling.
  const offline = tills.find((t) => t.name === OFFLINE_TILL);
  let lastState = offline.manager.state.state;
  offline.manager.on('status', (s) => {
    if (s.state === lastState) return;
    console.log(
      `   [${offline.name}] estado (state): ${stateNames[lastState]} → ${stateNames[s.state]}`,
    );
    lastState = s.state;
  });
  offline.proxy.mode = { kind: 'reset' };
  step(5, `Rede do ${OFFLINE_TILL} cortada; ele continua vendendo (network cut, still selling)`);
  for (let i = 0; i < 3; i++) {
    offline.soldCents += sell(offline.manager.db, n++);
    offline.sales++;
  }
  const cut = await offline.manager.syncAllTables();
  console.log(
    `   3 vendas offline; syncAllTables() → ${cut.summary.status}, pendentes (backlog): ` +
      `${offline.manager.state.backlog} registros (records: 3 × (1 venda + 3 itens + 1 pagamento))`,
  );
  console.log(`   último erro (last error): ${offline.manager.state.lastError ?? '—'}`);
  check(
    cut.summary.status === 'offline' && offline.manager.state.backlog === 15,
    `${OFFLINE_TILL} ficou offline com 15 registros pendentes (went offline with a backlog of 15)`,
  );

  // 6. A price change made on caixa-01 with plain SQL.
  const first = tills[0];
  first.manager.db.prepare(`UPDATE produtos SET preco = ? WHERE id = ?`).run(NEW_PRICE, changedId);
  await first.manager.syncAllTables();
  await tills[1].manager.syncAllTables();
  step(
    6,
    `${first.name} muda o preço do ${CHANGED} para ${brl(cents(NEW_PRICE))} com um UPDATE comum ` +
      `(price changed with plain SQL); ${tills[1].name} já recebeu, ${OFFLINE_TILL} ainda não`,
  );
  show();

  // 7. caixa-03 is back; everyone syncs.
  step(7, `Rede do ${OFFLINE_TILL} de volta; todos sincronizam (network back, everyone syncs)`);
  offline.proxy.mode = { kind: 'pass' };
  for (const t of tills) await t.manager.syncAllTables();
  const final = show();

  // 8. The server's side.
  const vendas = await admin('GET', '/api/tables/vendas?limit=10000');
  const itens = await admin('GET', '/api/tables/itens_venda?limit=1');
  const pagamentos = await admin('GET', '/api/tables/pagamentos?limit=1');
  const produtos = await admin('GET', '/api/tables/produtos?limit=10000');
  const { terminals } = await admin('GET', '/api/sync/terminals');
  const serverCents = vendas.rows.reduce((a, r) => a + cents(r.total), 0);
  const serverPrice = produtos.rows.find((r) => r.id === changedId)?.preco;
  const madeSales = tills.reduce((a, t) => a + t.sales, 0);
  const madeCents = tills.reduce((a, t) => a + t.soldCents, 0);
  step(8, 'No servidor (on the server):');
  printTable(
    [
      ['Tabela', '(table)'],
      ['Registros', '(rows)'],
      ['Soma', '(sum)'],
    ],
    [
      ['vendas', vendas.total, brl(serverCents)],
      ['itens_venda', itens.total, ''],
      ['pagamentos', pagamentos.total, ''],
      ['produtos', produtos.total, ''],
    ],
  );
  console.log(
    `   Estado informado pelos caixas (reported by the tills): ` +
      terminals
        .filter((t) => t.storeId === STORE)
        .map((t) => `${t.machineId} ${t.state}/${t.backlog}`)
        .join(', '),
  );

  // 9. Convergence checks.
  check(
    final.every((r) => r.state === 'synced' && r.backlog === 0 && r.deadLetters === 0),
    `${TILLS.join(', ')}: sincronizados, 0 pendentes (all synced, backlog 0)`,
  );
  check(
    final.every((r) => r.conflicts === 0),
    'Nenhum conflito nem registro rejeitado (no conflicts, nothing rejected)',
  );
  const counts = [...new Set(final.map((r) => r.produtos))];
  check(
    counts.length === 1 && counts[0] === produtos.total,
    `Produtos iguais em todos os caixas: ${counts.join('/')} ${eq(counts[0], produtos.total)} ` +
      `servidor ${produtos.total} ` +
      `(same produto count on every till and the server)`,
  );
  const prices = [...new Set(final.map((r) => r.priceCents))];
  check(
    prices.length === 1 && prices[0] === cents(NEW_PRICE) && cents(serverPrice) === prices[0],
    `Novo preço do café em todos os caixas: ${prices.map((p) => (p === null ? '—' : brl(p))).join('/')}` +
      `, servidor ${serverPrice === undefined ? '—' : brl(cents(serverPrice))} (new price everywhere)`,
  );
  check(
    vendas.total === madeSales,
    `Vendas no servidor: ${vendas.total} ${eq(vendas.total, madeSales)} ${madeSales} feitas nos caixas ` +
      `(server venda count = sales made on the tills)`,
  );
  check(
    serverCents === madeCents,
    `Total no servidor: ${brl(serverCents)} ${eq(serverCents, madeCents)} ${brl(madeCents)} vendidos nos caixas ` +
      `(server sum = what the tills sold)`,
  );
  check(
    itens.total === 3 * madeSales && pagamentos.total === madeSales,
    `Itens e pagamentos no servidor: ${itens.total} ${eq(itens.total, 3 * madeSales)} 3 × ${madeSales}, ` +
      `${pagamentos.total} ${eq(pagamentos.total, madeSales)} ${madeSales} ` +
      `(items and payments, nothing lost or doubled)`,
  );
}

let failure = null;
try {
  await main();
} catch (err) {
  failure = err;
} finally {
  for (const t of tills) {
    await t.manager.close().catch(() => undefined);
    await t.proxy.close().catch(() => undefined);
  }
  await server?.stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
if (checks.length) {
  step(9, 'Verificações (checks):');
  for (const c of checks) console.log(`   ${c.ok ? '✔' : '✘'} ${c.text}`);
}
if (failure) {
  console.error(`\n✘ Erro (error): ${failure instanceof Error ? failure.stack : String(failure)}`);
}
if (failure || checks.some((c) => !c.ok)) {
  console.log(
    `\nRESULTADO (RESULT): algo não convergiu (something did not converge) — ${seconds} s`,
  );
  process.exitCode = 1;
} else {
  console.log(`\nRESULTADO (RESULT): tudo convergiu (everything converged) — ${seconds} s`);
  console.log(`Pasta temporária removida (temp folder removed): ${dir}`);
}
clearTimeout(watchdog);
