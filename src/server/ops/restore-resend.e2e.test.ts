import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { toIsoWithOffset } from '../../agent/local-time.js';
import { writeState } from '../../agent/state-file.js';
import {
  epochHeader,
  epochResponseSchema,
  resendMarginMs,
  type Mutation,
  type PushResponse,
} from '../../protocol/index.js';
import {
  createStoreDatabases,
  offsetMinutes,
  seedCatalog,
  seedSales,
} from '../../testing/agent-sources.js';
import {
  cliPath,
  killAllServerProcesses,
  startServerProcess,
} from '../../testing/server-process.js';
import {
  postgresTestDatabase,
  sqliteTestDatabase,
  type TestDatabase,
} from '../../testing/test-database.js';
import { openStorage } from '../storage/index.js';

after(() => killAllServerProcesses());

const adminToken = 'restore-e2e-admin-token-0123456789';
const storeId = 'loja-01';

type Run = { status: number | null; stdout: string; stderr: string };

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

/**
 * A till reduced to what contract C3 asks of it: it keeps what it delivered with
 * the time of delivery, remembers the epoch, and when an answer shows another one
 * asks the server since when it is missing data and re-sends from there.
 */
class RawTill {
  epoch: string | null = null;
  readonly delivered: { mutation: Mutation; at: number }[] = [];
  readonly saleIds: string[] = [];
  resent = 0;

  constructor(
    public url: string,
    private readonly token: string,
    private readonly machineId: string,
  ) {}

  private async post(mutations: Mutation[]): Promise<PushResponse> {
    const res = await fetch(`${this.url}/api/sync/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': this.token },
      body: JSON.stringify({ machineId: this.machineId, mutations }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as PushResponse;
    const epoch = res.headers.get(epochHeader);
    assert.ok(epoch, 'every answer carries the epoch');
    if (this.epoch === null) this.epoch = epoch;
    else if (epoch !== this.epoch) await this.resend(epoch);
    return body;
  }

  private async resend(epoch: string): Promise<void> {
    const res = await fetch(`${this.url}/api/sync/epoch`, { headers: { 'x-api-key': this.token } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get(epochHeader), epoch);
    const info = epochResponseSchema.parse(await res.json());
    const since = info.restoredFrom ? Date.parse(info.restoredFrom.takenAt) - resendMarginMs : 0;
    const again = this.delivered.filter((d) => d.at >= since).map((d) => d.mutation);
    this.epoch = epoch; // before the re-send: its own answer carries the same epoch
    for (let i = 0; i < again.length; i += 100) await this.post(again.slice(i, i + 100));
    this.resent += again.length;
  }

  async sell(count: number): Promise<void> {
    const mutations: Mutation[] = [];
    for (let i = 0; i < count; i++) {
      const id = uuidv7();
      this.saleIds.push(id);
      mutations.push({
        eventId: uuidv7(),
        table: 'vendas',
        op: 'upsert',
        record: { id, store_id: storeId, data_hora: new Date().toISOString(), total: 10 + i },
      });
    }
    const body = await this.post(mutations);
    assert.equal(
      body.summary.applied + body.summary.duplicate,
      count,
      JSON.stringify(body.summary),
    );
    const at = Date.now();
    for (const mutation of mutations) this.delivered.push({ mutation, at });
  }
}

async function device(url: string, machineId: string): Promise<string> {
  const res = await fetch(`${url}/api/admin/devices`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': adminToken },
    body: JSON.stringify({ storeId, machineId }),
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { token: string }).token;
}

async function serverSales(db: TestDatabase): Promise<{ till: string[]; agent: string[] }> {
  const storage = openStorage(db.url, db.pgSchema ? { pgSchema: db.pgSchema } : {});
  try {
    const rows = await storage.read((tx) =>
      tx.all<{ id: string; canal: string | null }>(`SELECT id, canal FROM vendas`),
    );
    return {
      till: rows.filter((r) => r.canal === null).map((r) => r.id),
      agent: rows.filter((r) => r.canal !== null).map((r) => r.id),
    };
  } finally {
    await storage.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const engine of ['sqlite', 'postgres'] as const)
  describe(`restore from a backup loses no sale (${engine})`, () => {
    test('tills and an agent deliver, backup under writes, more sales, restore, reconnect: every sale exactly once', async () => {
      const db = engine === 'sqlite' ? sqliteTestDatabase() : await postgresTestDatabase();
      const dir = mkdtempSync(join(tmpdir(), 'pdv-restore-e2e-'));
      const sources = await createStoreDatabases('sqlite');
      const dbArgs = ['--db', db.url, ...(db.pgSchema ? ['--pg-schema', db.pgSchema] : [])];
      const serverArgs = [...dbArgs, '--port', '0', '--host', '127.0.0.1', '--log-file', ''];
      const serverEnv = { PDV_SYNC_ADMIN_TOKEN: adminToken, PDV_SYNC_LOG_LEVEL: 'warn' };
      try {
        let server = await startServerProcess(serverArgs, { env: serverEnv });
        const tills = [
          new RawTill(server.url, await device(server.url, 'caixa-01'), 'caixa-01'),
          new RawTill(server.url, await device(server.url, 'caixa-02'), 'caixa-02'),
        ];
        const agentToken = await device(server.url, 'agent-loja-01');

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
        const agentDir = join(dir, 'agent');
        mkdirSync(join(agentDir, 'data'), { recursive: true });
        await writeState(join(agentDir, 'data', 'state.json'), {
          last_sync_to: toIsoWithOffset(t0, offsetMinutes),
          gestao_pending: [],
        });
        const agentEnv = (url: string) => ({
          API_TOKEN: agentToken,
          WEBHOOK_URL: `${url}/api/ingest/v4`,
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
        const agentOnce = async (url: string) => {
          const r = await run(['agent', '--once'], agentEnv(url));
          assert.equal(r.status, 0, r.stdout + r.stderr);
          return r;
        };

        // Before the backup.
        for (const till of tills) await till.sell(30);
        await agentOnce(server.url);

        // The backup runs while both tills keep selling.
        const backupFile = join(dir, 'backups', 'before.backup');
        let writing = true;
        const writers = tills.map(async (till) => {
          while (writing) await till.sell(5);
        });
        const backup = await run(['backup', '--out', backupFile, ...dbArgs]);
        writing = false;
        await Promise.all(writers);
        assert.equal(backup.status, 0, backup.stdout + backup.stderr);
        assert.match(backup.stdout, /Backup written to .*taken at .*change-log position \d+/);
        assert.ok(existsSync(backupFile));

        // After the backup: more sales from the tills and the agent.
        for (const till of tills) await till.sell(25);
        await sleep(1100);
        await seedSales(sources, {
          db: 'caixa',
          firstId: 1001,
          count: 15,
          fromMs: Date.now(),
          spreadMs: 0,
        });
        await sleep(1100);
        await agentOnce(server.url);
        const before = await serverSales(db);
        const tillSales = tills.flatMap((t) => t.saleIds);
        assert.equal(before.till.length, tillSales.length);
        assert.equal(before.agent.length, 35);
        assert.equal(await server.stop(), 0);

        // Restore: refused onto a database with data, then forced.
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

        server = await startServerProcess(serverArgs, { env: serverEnv });
        const restored = await serverSales(db);
        assert.ok(
          restored.till.length < tillSales.length && restored.agent.length < 35,
          `the backup lacks the later sales (${restored.till.length}, ${restored.agent.length})`,
        );
        const epochRes = await fetch(`${server.url}/api/sync/epoch`, {
          headers: { 'x-api-key': adminToken },
        });
        const epoch = epochResponseSchema.parse(await epochRes.json());
        assert.notEqual(epoch.databaseId, tills[0].epoch);
        assert.equal(epoch.restoredFrom?.databaseId, tills[0].epoch);

        // Reconnect: each till sells once more and meets the new epoch; the agent runs.
        for (const till of tills) {
          till.url = server.url;
          await till.sell(1);
          assert.ok(till.resent > 0, 'the till re-sent what it delivered since the backup');
        }
        await sleep(1100);
        const agentRun = await agentOnce(server.url);
        assert.doesNotMatch(agentRun.stderr, /Cycle failed/);

        const final = await serverSales(db);
        const allTill = tills.flatMap((t) => t.saleIds);
        assert.deepEqual(
          [...final.till].sort(),
          [...allTill].sort(),
          'every till sale exactly once',
        );
        assert.equal(final.agent.length, 35, 'every agent sale exactly once');
        assert.equal(new Set(final.agent).size, 35);
        assert.equal(await server.stop(), 0);
      } finally {
        killAllServerProcesses();
        await sources.close();
        await db.drop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
