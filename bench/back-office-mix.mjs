// Back-office SQL mix against a live PostgreSQL server with three live terminals (issue 10).
// pgbench-style transactions driven from node with several connections, first on a copy of
// `produtos` without capture triggers (baseline), then on `produtos` itself: deadlocks and
// transactions/s of each, and how long after the load each terminal (WebSocket + pulls)
// holds exactly the server's table (checksum).
//   node bench/back-office-mix.mjs [seconds=10] [connections=8]
import { createHash } from 'node:crypto';
import { URLSearchParams } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';
import {
  adminToken,
  fmt,
  freshDatabase,
  log,
  machineLine,
  performance,
  startPdvServer,
} from './lib.mjs';

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 8);
const rowsTotal = 1000;
const hot = 5;

const db = await freshDatabase('postgres', 'bomix');
const server = await startPdvServer(db);
const connect = async () => {
  const c = new pg.Client({ connectionString: db.url, options: `-c search_path=${db.pgSchema}` });
  await c.connect();
  return c;
};
const admin = await connect();
await admin.query(
  `INSERT INTO produtos (id, nome, preco) SELECT 'p' || g, 'produto ' || g, g FROM generate_series(1, ${rowsTotal}) g`,
);
await admin.query(`CREATE TABLE produtos_plain (LIKE produtos INCLUDING ALL)`);
await admin.query(`INSERT INTO produtos_plain SELECT * FROM produtos`);

const checksum = (rows) =>
  createHash('sha256')
    .update(
      rows
        .map((r) => `${r.id}|${r.nome}|${Number(r.preco)}`)
        .sort()
        .join('\n'),
    )
    .digest('hex');
const serverChecksum = async () =>
  checksum((await admin.query(`SELECT id, nome, preco FROM produtos`)).rows);

/** A terminal: pulls on every live notification and keeps the table in memory. */
async function terminal(name) {
  const rows = new Map();
  let cursor = '';
  let pulling = null;
  let again = false;
  const pull = async () => {
    for (;;) {
      const qs = new URLSearchParams({
        tables: 'produtos',
        limit: '10000',
        ...(cursor ? { since: cursor } : {}),
      });
      const res = await globalThis.fetch(`${server.url}/api/sync/changes?${qs}`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      const page = await res.json();
      for (const c of page.changes)
        if (c.op === 'delete') rows.delete(c.record.id);
        else rows.set(c.record.id, c.record);
      cursor = page.cursor;
      if (!page.hasMore) return;
    }
  };
  const poke = () => {
    if (pulling) return void (again = true);
    pulling = pull()
      .catch((err) => log(`${name}: ${err.message}`))
      .finally(() => {
        pulling = null;
        if (again) {
          again = false;
          poke();
        }
      });
  };
  const ws = new WebSocket(
    `${server.url.replace('http', 'ws')}/ws?tables=produtos&token=${adminToken}`,
  );
  ws.on('message', () => poke());
  await new Promise((r) => ws.once('open', r));
  poke();
  return { name, rows, checksum: () => checksum([...rows.values()]), close: () => ws.terminate() };
}

async function mix(table) {
  const stats = { tx: 0, deadlocks: 0, errors: 0, latencies: [] };
  const until = performance.now() + seconds * 1000;
  const rand = (n) => 1 + Math.floor(Math.random() * n);
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = await connect();
      while (performance.now() < until) {
        const kind = Math.random();
        const started = performance.now();
        try {
          await c.query('BEGIN');
          if (kind < 0.3) {
            const id = rand(rowsTotal);
            await c.query(
              `INSERT INTO ${table} (id, nome, preco) VALUES ($1, $2, $3)
               ON CONFLICT (id) DO UPDATE SET nome = EXCLUDED.nome, preco = EXCLUDED.preco`,
              [`p${id}`, `produto ${id} v${Date.now()}`, rand(1000)],
            );
          } else if (kind < 0.55) {
            await c.query(`UPDATE ${table} SET preco = preco + 1 WHERE id = $1`, [`p${rand(hot)}`]);
          } else if (kind < 0.65) {
            await c.query(`DELETE FROM ${table} WHERE id = $1`, [
              `p${hot + rand(rowsTotal - hot)}`,
            ]);
          } else {
            // Two rows in ascending id order: cannot deadlock on a plain table.
            const a = rand(rowsTotal - 1);
            const b = a + rand(Math.min(20, rowsTotal - a));
            const [x, y] = [`p${a}`, `p${b}`].sort();
            await c.query(`UPDATE ${table} SET preco = preco + 1 WHERE id = $1`, [x]);
            await c.query(`UPDATE ${table} SET preco = preco - 1 WHERE id = $1`, [y]);
          }
          await c.query('COMMIT');
          stats.tx++;
          stats.latencies.push(performance.now() - started);
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          if (err.code === '40P01') stats.deadlocks++;
          else stats.errors++;
        }
      }
      await c.end();
    }),
  );
  return stats;
}

log(machineLine());
const plain = await mix('produtos_plain');
const terminals = await Promise.all(['t1', 't2', 't3'].map(terminal));
const captured = await mix('produtos');
const loadEnd = performance.now();
const target = await serverChecksum();
const converged = await Promise.all(
  terminals.map(async (t) => {
    while (t.checksum() !== target) {
      if (performance.now() - loadEnd > 30_000) return Infinity;
      await new Promise((r) => setTimeout(r, 10));
    }
    return performance.now() - loadEnd;
  }),
);
for (const t of terminals) t.close();
const p = (s) => s.latencies.sort((a, b) => a - b)[Math.floor(s.latencies.length * 0.99)] ?? 0;
console.log(`\n${seconds} s, ${connections} connections, ${rowsTotal} rows, ${hot} hot rows`);
console.log(`| table | transactions/s | deadlocks | other errors | p99 ms |`);
console.log(`| --- | ---: | ---: | ---: | ---: |`);
for (const [name, s] of [
  ['produtos_plain (no triggers)', plain],
  ['produtos (capture triggers)', captured],
])
  console.log(
    `| ${name} | ${fmt(s.tx / seconds)} | ${s.deadlocks} | ${s.errors} | ${fmt(p(s), 1)} |`,
  );
console.log(
  `terminals converged to the server's table after the load: ${converged.map((ms) => `${fmt(ms)} ms`).join(', ')}`,
);
await admin.end();
await server.stop();
await db.drop();
