import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { toIsoWithOffset } from '../../agent/local-time.js';
import { writeState } from '../../agent/state-file.js';
import { epochResponseSchema } from '../../protocol/index.js';
import {
  createStoreDatabases,
  offsetMinutes,
  seedCatalog,
  seedSales,
} from '../../testing/agent-sources.js';
import { sellLocally } from '../../testing/pos-sale.js';
import { cliPath, killAllServerProcesses } from '../../testing/server-process.js';
import {
  fixtureAdminToken,
  startServerFixture,
  type ServerFixture,
} from '../../testing/terminal-fixture.js';

after(() => killAllServerProcesses());

type Run = { status: number | null; stdout: string; stderr: string };
type Row = Record<string, unknown>;

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const proc = spawn(process.execPath, [cliPath, ...args], {
    env: { PATH: process.env['PATH'], PDV_SYNC_LANG: 'en', TZ: 'UTC', ...env },
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) =>
    proc.once('close', (status) => resolve({ status, stdout, stderr })),
  );
}

/** A till: the real terminal SDK on its own local SQLite database, selling with plain SQL. */
type Till = {
  store: string;
  token: string;
  m: ReturnType<ServerFixture['terminal']>;
  saleIds: string[];
};

async function sync(till: Till): Promise<number> {
  const result = await till.m.syncAllTables();
  assert.equal(result.summary.status, 'synced', till.m.state.lastError ?? '');
  return result.summary.pushed;
}

async function sell(till: Till, count: number): Promise<void> {
  for (let i = 0; i < count; i++) till.saleIds.push(sellLocally(till.m.db, i).id);
  await sync(till);
}

/** The rows of a table as the till's own token reads them from the server (its scope). */
async function serverRows(fx: ServerFixture, token: string, table: string): Promise<Row[]> {
  const res = await fetch(`${fx.url}/api/tables/${table}?limit=10000`, {
    headers: { 'x-api-key': token },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { rows: Row[] }).rows;
}

const adminRows = async (fx: ServerFixture, table: string): Promise<Row[]> =>
  (await fx.admin<{ rows: Row[] }>('GET', `/api/tables/${table}?limit=10000`)).rows;

/** Every table the till pulls holds exactly the server's rows in the till's scope. */
async function assertConverged(fx: ServerFixture, till: Till): Promise<void> {
  const readable = (till.m.store.schema?.tables ?? []).filter((t) => t.direction !== 'up');
  assert.ok(readable.length > 0);
  for (const table of readable)
    assert.deepEqual(
      till.m.store.rows(table),
      await serverRows(fx, till.token, table.name),
      `${till.store}: ${table.name} on the till equals the server's`,
    );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const engine of ['sqlite', 'postgres'] as const)
  describe(`restore from a backup loses no sale (${engine})`, () => {
    test('tills and an agent deliver, backup under writes, more sales, restore, reconnect: every sale exactly once, every till converges', async () => {
      const fx = await startServerFixture(engine);
      const sources = await createStoreDatabases('sqlite');
      const dbArgs = [
        '--db',
        fx.db.url,
        ...(fx.db.pgSchema ? ['--pg-schema', fx.db.pgSchema] : []),
      ];
      const tills: Till[] = [];
      try {
        for (const [store, machine] of [
          ['loja-01', 'caixa-01'],
          ['loja-02', 'caixa-02'],
        ] as const) {
          const token = await fx.device(store, machine);
          const m = fx.terminal(machine, token);
          tills.push({ store, token, m, saleIds: [] });
          await m.prepare();
        }
        const agentToken = await fx.device('loja-01', 'agent-loja-01');

        // The agent's store: sales in the caixa database, read window by window.
        await seedCatalog(sources);
        const t0 = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000;
        await seedSales(sources, {
          db: 'caixa',
          firstId: 1,
          count: 20,
          fromMs: t0,
          spreadMs: 5 * 60_000,
        });
        const agentDir = join(fx.dir, 'agent');
        mkdirSync(join(agentDir, 'data'), { recursive: true });
        await writeState(join(agentDir, 'data', 'state.json'), {
          last_sync_to: toIsoWithOffset(t0, offsetMinutes),
          gestao_pending: [],
        });
        const agentOnce = async () => {
          const r = await run(['agent', '--once'], {
            API_TOKEN: agentToken,
            WEBHOOK_URL: `${fx.url}/api/ingest/v4`,
            STORE_ID_PONTO_VENDA: '1',
            STORE_ID_FILIAL: '7',
            CAIXA_DB_URL: sources.caixaUrl,
            GESTAO_DB_URL: sources.gestaoUrl,
            AGENT_DATA_DIR: join(agentDir, 'data'),
            AGENT_LOG_DIR: join(agentDir, 'logs'),
            AGENT_SAFETY_LAG: '0s',
            AGENT_RETRIES: '0',
            AGENT_GZIP: 'true',
            AGENT_UTC_OFFSET: '-03:00',
          });
          assert.equal(r.status, 0, r.stdout + r.stderr);
          return r;
        };

        // Before the backup: a produto, a despesa per store, sales from the tills and the agent.
        const produtoAntes = uuidv7();
        await fx.admin('PUT', `/api/tables/produtos/${produtoAntes}`, { nome: 'Antes', preco: 2 });
        const despesaEditada = new Map<Till, string>();
        for (const till of tills) {
          const id = uuidv7();
          despesaEditada.set(till, id);
          till.m.db
            .prepare(`INSERT INTO despesas (id, descricao, valor) VALUES (?, 'Luz', 100)`)
            .run(id);
          await sell(till, 10);
        }
        await agentOnce();

        // The backup runs while both tills keep selling.
        const backupFile = join(fx.dir, 'backups', 'before.backup');
        let writing = true;
        const writers = tills.map(async (till) => {
          while (writing) await sell(till, 2);
        });
        const backup = await run(['backup', '--out', backupFile, ...dbArgs]);
        writing = false;
        await Promise.all(writers);
        assert.equal(backup.status, 0, backup.stdout + backup.stderr);
        assert.match(backup.stdout, /Backup written to .*taken at .*change-log position \d+/);
        assert.ok(existsSync(backupFile));

        // After the backup: more sales, a despesa edited and one created at each till, an
        // admin edit (which no till keeps, so it is lost), and the agent's later sales.
        const despesaNova = new Map<Till, string>();
        for (const till of tills) {
          till.m.db
            .prepare(`UPDATE despesas SET valor = 130 WHERE id = ?`)
            .run(despesaEditada.get(till));
          const id = uuidv7();
          despesaNova.set(till, id);
          till.m.db
            .prepare(`INSERT INTO despesas (id, descricao, valor) VALUES (?, 'Água', 40)`)
            .run(id);
          await sell(till, 10);
        }
        const produtoPerdido = uuidv7();
        await fx.admin('PUT', `/api/tables/produtos/${produtoPerdido}`, {
          nome: 'Perdido',
          preco: 3,
        });
        for (const till of tills) await sync(till);
        assert.ok(tills[0].m.db.prepare(`SELECT 1 FROM produtos WHERE id = ?`).get(produtoPerdido));
        await sleep(1100);
        await seedSales(sources, {
          db: 'caixa',
          firstId: 1001,
          count: 15,
          fromMs: Date.now(),
          spreadMs: 0,
        });
        await sleep(1100);
        await agentOnce();
        const tillSales = tills.flatMap((t) => t.saleIds);
        const before = await adminRows(fx, 'vendas');
        assert.equal(before.filter((r) => r['canal'] === null).length, tillSales.length);
        assert.equal(before.filter((r) => r['canal'] !== null).length, 35);
        const oldEpoch = tills[0].m.store.getMeta('server_epoch');
        assert.ok(oldEpoch, 'the tills remember the epoch they delivered to');
        assert.equal(await fx.server.stop(), 0);

        // Restore: refused onto a database with data, then forced; it says what is lost.
        const refused = await run(['restore', backupFile, ...dbArgs]);
        assert.equal(refused.status, 1, refused.stdout + refused.stderr);
        assert.match(refused.stderr, /RESTORE_REFUSED.*--force/);
        const restore = await run(['restore', backupFile, '--force', ...dbArgs]);
        assert.equal(restore.status, 0, restore.stdout + restore.stderr);
        assert.match(restore.stdout, /New epoch: \w+/);
        assert.match(restore.stdout, /What does NOT come back/);
        assert.match(restore.stdout, /admin edits/);
        assert.match(restore.stdout, /back office/);
        assert.match(restore.stdout, /clients that keep no local copy/);

        // The server comes back on the same address, without what was written after the backup.
        await fx.restart();
        const restored = await adminRows(fx, 'vendas');
        const restoredTill = restored.filter((r) => r['canal'] === null).length;
        const restoredAgent = restored.filter((r) => r['canal'] !== null).length;
        assert.ok(
          restoredTill < tillSales.length && restoredAgent < 35,
          `the backup lacks the later sales (${restoredTill}, ${restoredAgent})`,
        );
        const epochRes = await fetch(`${fx.url}/api/sync/epoch`, {
          headers: { 'x-api-key': fixtureAdminToken },
        });
        const epoch = epochResponseSchema.parse(await epochRes.json());
        assert.notEqual(epoch.databaseId, oldEpoch);
        assert.equal(epoch.restoredFrom?.databaseId, oldEpoch);
        const produtoDepois = uuidv7();
        await fx.admin('PUT', `/api/tables/produtos/${produtoDepois}`, {
          nome: 'Depois',
          preco: 4,
        });

        // Reconnect: each till syncs, meets the new epoch and re-sends what it delivered since
        // the backup (its 10 later sales alone are 50 rows); the agent runs.
        for (const till of tills) {
          assert.ok((await sync(till)) >= 50, 'the till re-sent what it delivered');
          assert.equal(till.m.store.getMeta('server_epoch'), epoch.databaseId);
        }
        await sleep(1100);
        const agentRun = await agentOnce();
        assert.doesNotMatch(agentRun.stderr, /Cycle failed/);

        // Every sale exactly once, whole.
        const vendas = await adminRows(fx, 'vendas');
        const itens = await adminRows(fx, 'itens_venda');
        const pagamentos = await adminRows(fx, 'pagamentos');
        const fromTills = vendas.filter((r) => r['canal'] === null);
        assert.deepEqual(
          fromTills.map((r) => r['id']).sort(),
          [...tillSales].sort(),
          'every till sale exactly once',
        );
        for (const till of tills)
          for (const id of till.saleIds) {
            const venda = fromTills.find((r) => r['id'] === id);
            assert.equal(venda?.['store_id'], till.store);
            assert.equal(itens.filter((r) => r['venda_id'] === id).length, 3, `itens of ${id}`);
            assert.equal(pagamentos.filter((r) => r['venda_id'] === id).length, 1);
          }
        const fromAgent = vendas.filter((r) => r['canal'] !== null);
        assert.equal(fromAgent.length, 35, 'every agent sale exactly once');

        // Every till converges: its pulled tables are the server's rows in its scope.
        const produtos = await adminRows(fx, 'produtos');
        assert.ok(produtos.some((r) => r['id'] === produtoAntes));
        assert.ok(produtos.some((r) => r['id'] === produtoDepois));
        assert.ok(!produtos.some((r) => r['id'] === produtoPerdido), 'the admin edit is lost');
        for (const till of tills) {
          await assertConverged(fx, till);
          const despesas = till.m.store.rows(till.m.store.table('despesas')!);
          assert.equal(despesas.length, 2, `${till.store}: only its own despesas`);
          assert.equal(despesas.find((r) => r['id'] === despesaEditada.get(till))?.['valor'], 130);
          assert.ok(despesas.some((r) => r['id'] === despesaNova.get(till)));
          // A second sync sends nothing more.
          assert.equal((await till.m.syncAllTables()).summary.pushed, 0);
        }
        assert.equal(await fx.server.stop(), 0);
      } finally {
        for (const till of tills) await till.m.close();
        await fx.close();
        await sources.close();
      }
    });
  });
